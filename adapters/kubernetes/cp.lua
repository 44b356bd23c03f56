-- deloc.adapters.kubernetes.cp: `deloc cp` on Kubernetes, as kubectl does
-- it: tar over pods/exec (the container needs a tar on its PATH).  The
-- archive is written and read by deloc.tar, as the Docker driver's, so a
-- hostile archive from the container is refused the same way (no "..", no
-- absolute names, no link out, nothing followed).
--
--   cp.for_driver(c, project, from, to [, opts]) -> summary | nil, err
--     from/to: a local path or { service=, component=, replica=, path= };
--     like `docker cp`: into an existing directory under the source's own
--     name, else as the new name.
local errors = require("deloc.errors")
local tar = require("deloc.tar")
local exec = require("deloc.adapters.kubernetes.exec")

local M = {}

local function fsat() return require("deloc.native.fsat") end

local basename, dirname = tar.basename, tar.dirname

local function usage(msg) return nil, errors.new("USAGE", msg) end

local function tar_failed(r, what)
  local why = (r.stderr or ""):gsub("%s+$", "")
  if why:find("No such file", 1, true) then return usage(("no '%s' in the container"):format(what)) end
  if r.code == 126 or r.code == 127 then
    return nil, errors.new("DEPLOYMENT_FAILED", "cp needs a 'tar' in the container, and it has none: " .. why,
      { hint = "copy through a volume another way, or use an image with tar" })
  end
  return nil, errors.new("DEPLOYMENT_FAILED", ("tar in the container exited %d: %s"):format(r.code, why))
end

function M.copy_from(c, pod, ctr, cpath, local_path, opts)
  if basename(cpath) == "" or basename(cpath) == "." or basename(cpath) == ".." then
    return usage(("'%s': name a file or directory in the container"):format(cpath))
  end
  local u, err = tar.unpack_to(local_path, { on_progress = (opts or {}).on_progress })
  if not u then return nil, err end
  local uerr
  local r
  r, err = exec.capture(c, pod, ctr, { "tar", "cf", "-", "-C", dirname(cpath), "--", basename(cpath) }, {
    on_stdout = function(chunk)
      if uerr then return end
      local ok, e = u:feed(chunk)
      if not ok then uerr = e end
    end })
  if not r then return nil, err end
  if uerr then return nil, uerr end
  if r.code ~= 0 then return tar_failed(r, cpath) end
  return u:finish()
end

local function is_dir(c, pod, ctr, path)
  local r, err = exec.capture(c, pod, ctr, { "test", "-d", path })
  if not r then return nil, err end
  return r.code == 0
end

-- Files copied in belong to the container's user (its id -u / id -g).
local function owner(c, pod, ctr)
  local r, err = exec.capture(c, pod, ctr, { "id" })
  if not r then return nil, err end
  local uid, gid = r.stdout:match("uid=(%d+).-gid=(%d+)")
  if not uid then return { uid = 0, gid = 0 } end
  return { uid = tonumber(uid), gid = tonumber(gid) }
end

function M.copy_to(c, pod, ctr, local_path, cpath, opts)
  opts = opts or {}
  if not fsat().lstat(local_path) then return usage(("no '%s' here to copy"):format(local_path)) end
  local into, name
  local d, err = is_dir(c, pod, ctr, cpath)
  if d == nil then return nil, err end
  if d then
    into, name = cpath, basename(local_path)
  else
    into, name = dirname(cpath), basename(cpath)
    d, err = is_dir(c, pod, ctr, into)
    if d == nil then return nil, err end
    if not d then return usage(("no directory '%s' in the container to copy into"):format(into)) end
  end
  local who
  who, err = owner(c, pod, ctr)
  if not who then return nil, err end
  local archive, summary = tar.pack_for_copy(local_path, name, who, opts.on_progress)
  if not archive then return nil, summary end
  local r
  r, err = exec.capture(c, pod, ctr, { "tar", "xf", "-", "-C", into }, { input = archive })
  if not r then return nil, err end
  if r.code ~= 0 then
    if r.stderr:find("Read%-only file system") then
      return nil, errors.new("DEPLOYMENT_FAILED", "the container's root file system is read-only: " .. r.stderr,
        { hint = "copy into one of its volumes" })
    end
    return tar_failed(r, into)
  end
  return summary
end

function M.for_driver(c, project, from, to, opts)
  local remote = type(from) == "table" and from or to
  if type(remote) ~= "table" or (type(from) == "table") == (type(to) == "table") then
    return usage("cp: one side is a service path, the other a local path")
  end
  local pod, ctr = exec.find(c, project, remote)
  if not pod then return nil, ctr end
  if type(from) == "table" then return M.copy_from(c, pod, ctr, from.path, to, opts) end
  return M.copy_to(c, pod, ctr, from, to.path, opts)
end

return M
