-- deloc.adapters.docker.archive: `cp` through the Engine's archive API
-- (GET/HEAD/PUT /containers/{id}/archive), the archives written and read
-- by deloc.tar (which also has archive.pack and archive.unpacker's story).
--
--   archive.pack / archive.unpacker = deloc.tar.pack / deloc.tar.unpacker
--   archive.copy_from(c, id, cpath, local_path [, opts]) -> summary | nil, err
--   archive.copy_to(c, id, local_path, cpath [, opts]) -> summary | nil, err
--     like `docker cp`: into an existing directory under the source's own
--     name, else as the new name.  opts.on_progress(bytes, name).
--   archive.for_driver(c, project, from, to [, opts]) -> summary | nil, err
--     the driver interface's cp: from/to a local path or
--     { service=, component=, replica=, path= }
local errors = require("deloc.errors")
local json = require("deloc.json")
local tarlib = require("deloc.tar")

local M = {}

local function fsat() return require("deloc.native.fsat") end

M.pack = tarlib.pack
M.unpacker = tarlib.unpacker

-- ---- cp through the Engine ----

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64decode(s)
  local map = {}
  for i = 1, 64 do map[B64:byte(i)] = i - 1 end
  local out, bits, n = {}, 0, 0
  for i = 1, #s do
    local v = map[s:byte(i)]
    if v then
      bits, n = bits * 64 + v, n + 6
      if n >= 8 then
        n = n - 8
        local byte = math.floor(bits / 2 ^ n)
        out[#out + 1] = string.char(byte)
        bits = bits - byte * 2 ^ n
      end
    end
  end
  return table.concat(out)
end

-- HEAD /containers/{id}/archive: { name=, size=, mode=, dir= } | nil (absent) | nil, err
function M.stat(c, id, cpath)
  local res, err = c:request({ method = "HEAD", path = "/containers/" .. id .. "/archive",
    query = { path = cpath } })
  if not res then
    if errors.is(err) and err.status == 404 then return nil end
    return nil, err
  end
  local h = res.headers or {}
  local raw = h["x-docker-container-path-stat"] or h["X-Docker-Container-Path-Stat"]
  if not raw then return { name = cpath:match("[^/]*$") } end
  local st = json.decode(b64decode(raw)) or {}
  local mode = tonumber(st.mode) or 0
  return { name = st.name, size = st.size, mode = mode, dir = mode >= 2 ^ 31 }
end

local basename, dirname = tarlib.basename, tarlib.dirname

function M.copy_from(c, id, cpath, local_path, opts)
  opts = opts or {}
  local u, err = tarlib.unpack_to(local_path, { on_progress = opts.on_progress })
  if not u then return nil, err end
  local uerr
  local res
  res, err = c:request({ method = "GET", path = "/containers/" .. id .. "/archive",
    query = { path = cpath }, timeout = false,
    on_data = function(chunk)
      local ok, e = u:feed(chunk)
      if not ok then uerr = e; return false end
    end })
  if uerr then return nil, uerr end
  if not res then
    if errors.is(err) and err.status == 404 then
      return nil, errors.new("USAGE", ("no '%s' in the container"):format(cpath))
    end
    return nil, err
  end
  return u:finish()
end

-- Who should own what is copied in: the container's user.  A numeric
-- "uid[:gid]" goes into the archive's headers (the Engine applies them); a
-- name is left to the Engine to look up in the container (copyUIDGID),
-- which needs it in the image's passwd.
-- -> { uid=, gid= }, query | nil, nil, err
function M.owner(c, id)
  local info, err = c:get("/containers/" .. id .. "/json")
  if not info then return nil, nil, err end
  local user = (info.Config or {}).User or ""
  if user == "" then return { uid = 0, gid = 0 }, {} end
  local uid, gid = user:match("^(%d+):?(%d*)$")
  if uid then return { uid = tonumber(uid), gid = tonumber(gid) or tonumber(uid) }, {} end
  return { uid = 0, gid = 0 }, { copyUIDGID = 1 }
end

function M.copy_to(c, id, local_path, cpath, opts)
  opts = opts or {}
  local lst = fsat().lstat(local_path)
  if not lst then return nil, errors.new("USAGE", ("no '%s' here to copy"):format(local_path)) end
  local cst, err = M.stat(c, id, cpath)
  if err then return nil, err end
  local into, name
  if cst and cst.dir then
    into, name = cpath, basename(local_path)
  else
    into, name = dirname(cpath), basename(cpath)
    local pst
    pst, err = M.stat(c, id, into)
    if err then return nil, err end
    if not pst or not pst.dir then
      return nil, errors.new("USAGE", ("no directory '%s' in the container to copy into"):format(into))
    end
  end
  local owner, query
  owner, query, err = M.owner(c, id)
  if err then return nil, err end
  query.path = into
  local tar, summary = tarlib.pack_for_copy(local_path, name, owner, opts.on_progress)
  if not tar then return nil, summary end
  local ok
  ok, err = c:put("/containers/" .. id .. "/archive", query, tar,
    "application/x-tar")
  if not ok then
    if errors.is(err) and tostring(err.message):find("read%-only") then
      err.hint = "the container's root file system is read-only: copy into one of its volumes"
    end
    return nil, err
  end
  return summary
end

function M.for_driver(c, project, from, to, opts)
  local remote = type(from) == "table" and from or to
  if type(remote) ~= "table" or (type(from) == "table") == (type(to) == "table") then
    return nil, errors.new("USAGE", "cp: one side is a service path, the other a local path")
  end
  local row, err = require("deloc.adapters.docker.exec").find(c, project, remote)
  if not row then return nil, err end
  if type(from) == "table" then return M.copy_from(c, row.id, from.path, to, opts) end
  return M.copy_to(c, row.id, from, to.path, opts)
end

return M
