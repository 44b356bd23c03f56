-- deloc.adapters.docker.backup: a service's data out to a file and back.
--
--   backup.backup(c, plan, service, write) -> { kind = "exec"|"volumes", bytes = n } | nil, err
--     write(chunk) receives the backup as it streams.
--   backup.restore(c, plan, service, data) -> { kind=, bytes= } | nil, err
--   backup.file_sink(path) -> sink | nil, err   where a backup streams to:
--     sink:write(chunk) -> true | nil, err;  sink:commit() -> true | nil, err
--     (fsync, rename into place);  sink:abort() removes what was written
--     (deloc.sys.atomic_writer does the work).
--
-- Service-aware where the recipe says (plan.services[s].backup = { exec=,
-- restore=, component= }): the dump command runs in the service's running
-- container through exec and its stdout streams to the file (Postgres
-- pg_dump, Redis SAVE + dump.rdb).  Restore puts the file into the
-- container's data volume (PUT /archive: a volume is writable even with a
-- read-only root), runs the restore command with the file on stdin, and
-- removes the file.
-- Otherwise a tar archive of the component's data volumes, read and written
-- by a helper container made from the service's own image and never started
-- (labelled dev.deloc.helper, so `clean` finds it if deloc dies meanwhile);
-- restore stops the component, unpacks the archive over the volumes and
-- starts it again.
local errors = require("deloc.errors")
local stream = require("deloc.adapters.docker.stream")
local build = require("deloc.adapters.docker.build")
local apply = require("deloc.adapters.docker.apply")

local L = build.LABEL
local M = {}

M.HELPER_ROOT = "/deloc-backup"

-- ---- tar (ustar), just enough for one file ----

local function octal(n, width)
  return ("%0" .. (width - 1) .. "o"):format(n) .. "\0"
end

local function pad(s, n) return s .. ("\0"):rep(n - #s) end

-- tar_file(name, data, {uid=, gid=, mode=, mtime=}) -> archive text
function M.tar_file(name, data, o)
  o = o or {}
  assert(#name < 100, "tar name too long")
  local head = pad(name, 100) .. octal(o.mode or 384, 8) .. octal(o.uid or 0, 8)
    .. octal(o.gid or 0, 8) .. octal(#data, 12) .. octal(o.mtime or 0, 12)
  local rest = "0" .. pad("", 100) .. "ustar\0" .. "00" .. pad("", 32) .. pad("", 32)
    .. octal(0, 8) .. octal(0, 8) .. pad("", 155)
  local sum = 0
  local blank = head .. "        " .. rest
  for i = 1, #blank do sum = sum + blank:byte(i) end
  local header = pad(head .. ("%06o"):format(sum) .. "\0 " .. rest, 512)
  local padding = (512 - #data % 512) % 512
  return header .. data .. ("\0"):rep(padding) .. ("\0"):rep(1024)
end

-- ---- the backup file ----

-- Written mode 0600, beside the target and renamed into place when
-- complete (deloc.filesink; here too for what already writes through it).
M.file_sink = require("deloc.filesink").new

-- ---- finding the container ----

local function component_container(c, project, service, component)
  local ctrs, err = c:get("/containers/json", { all = 1,
    filters = build.filters(project, service, { L.component .. "=" .. component }) })
  if not ctrs then return nil, err end
  table.sort(ctrs, function(a, b)
    return (tonumber((a.Labels or {})[L.replica]) or 1) < (tonumber((b.Labels or {})[L.replica]) or 1)
  end)
  for _, ctr in ipairs(ctrs) do
    if not (ctr.Labels or {})[L.helper] then return ctr end
  end
  return nil, errors.new("SERVICE_NOT_FOUND", ("%s is not deployed in project '%s'"):format(service, project),
    { hint = "'deloc up " .. service .. "' first" })
end

local function service_of(plan, service)
  local svc = plan.services and plan.services[service]
  if not svc then
    return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in the plan"):format(service))
  end
  return svc
end

local function data_volumes(comp)
  local out = {}
  for name, v in pairs(comp.volumes or {}) do
    if v.data ~= false then out[#out + 1] = { key = name, name = v.name, path = v.path } end
  end
  table.sort(out, function(a, b) return a.key < b.key end)
  return out
end

local function exec_failed(what, service, code, stderr)
  stderr = (stderr or ""):gsub("%s+$", "")
  local msg = ("%s of %s failed: exit code %s"):format(what, service, tostring(code))
  if stderr ~= "" then msg = msg .. "\n" .. stderr end
  return errors.new("DEPLOYMENT_FAILED", msg)
end

-- Runs argv in a container; stdout to `write`, stderr collected.
local function exec_stream(c, id, argv, write)
  local r, err = c:post("/containers/" .. id .. "/exec", nil, {
    AttachStdout = true, AttachStderr = true, Tty = false, Cmd = argv })
  if not r then return nil, err end
  local errs = {}
  local bytes = 0
  local d = stream.demuxer(function(kind, data)
    if kind == "stdout" then
      bytes = bytes + #data
      write(data)
    else
      errs[#errs + 1] = data
    end
  end)
  local res
  res, err = c:request({ method = "POST", path = "/exec/" .. r.Id .. "/start",
    body = { Detach = false, Tty = false }, on_data = function(ch) d:feed(ch) end, timeout = 3600,
    idle_timeout = 600 })
  if not res then return nil, err end
  local ok, derr = d:finish()
  if not ok then return nil, errors.new("IO_ERROR", "exec output: " .. derr) end
  local info
  info, err = c:get("/exec/" .. r.Id .. "/json")
  if not info then return nil, err end
  return info.ExitCode, table.concat(errs), bytes
end

-- ---- helper containers for volume archives ----

local function make_helper(c, plan, svc, comp, vols)
  local mounts = {}
  for _, v in ipairs(vols) do
    mounts[#mounts + 1] = { Type = "volume", Source = v.name, Target = M.HELPER_ROOT .. "/" .. v.key }
  end
  local body = {
    Image = comp.image, Cmd = { "true" }, Entrypoint = { "" },
    Labels = { [L.project] = plan.project, [L.service] = svc.name, [L.component] = comp.name,
               [L.helper] = "backup" },
    HostConfig = { Mounts = mounts, NetworkMode = "none" },
  }
  local r, err = c:post("/containers/create", nil, body)
  if not r then return nil, err end
  return r.Id
end

local function pick(plan, service)
  local svc, err = service_of(plan, service)
  if not svc then return nil, err end
  local b = svc.backup
  local cname = (b and b.component) or svc.primary or (svc.component_order or {})[1] or service
  local comp = svc.components[cname]
  if not comp then
    return nil, errors.new("CONFIG_INVALID", ("%s has no component '%s' to back up"):format(service, cname))
  end
  return svc, comp, b
end

-- backup.backup(c, plan, service, write) -> info | nil, err
function M.backup(c, plan, service, write)
  local svc, comp, b = pick(plan, service)
  if not svc then return nil, comp end
  if b and b.exec then
    local ctr, err = component_container(c, plan.project, service, comp.name)
    if not ctr then return nil, err end
    if ctr.State ~= "running" then
      return nil, errors.new("DEPLOYMENT_FAILED", ("%s is not running (%s)"):format(service, ctr.State),
        { hint = "'deloc up " .. service .. "' first" })
    end
    local code, stderr, bytes = exec_stream(c, ctr.Id, b.exec, write)
    if code == nil then return nil, stderr end
    if code ~= 0 then return nil, exec_failed("backup", service, code, stderr) end
    return { kind = "exec", bytes = bytes }
  end
  local vols = data_volumes(comp)
  if #vols == 0 then
    return nil, errors.new("CONFIG_INVALID", ("%s keeps no data: nothing to back up"):format(service))
  end
  local id, err = make_helper(c, plan, svc, comp, vols)
  if not id then return nil, err end
  local bytes = 0
  local res
  res, err = c:request({ method = "GET", path = "/containers/" .. id .. "/archive",
    query = { path = M.HELPER_ROOT }, on_data = function(ch) bytes = bytes + #ch; write(ch) end,
    timeout = 3600 })
  c:delete("/containers/" .. id, { force = 1, v = 0 })
  if not res then return nil, err end
  return { kind = "volumes", bytes = bytes }
end

-- backup.restore(c, plan, service, data) -> info | nil, err
function M.restore(c, plan, service, data)
  local svc, comp, b = pick(plan, service)
  if not svc then return nil, comp end
  local ctr, err = component_container(c, plan.project, service, comp.name)
  if not ctr then return nil, err end
  if b and b.restore then
    if ctr.State ~= "running" then
      return nil, errors.new("DEPLOYMENT_FAILED", ("%s is not running (%s)"):format(service, ctr.State))
    end
    local vols = data_volumes(comp)
    if #vols == 0 then
      return nil, errors.new("CONFIG_INVALID", ("%s has no data volume to stage the restore in"):format(service))
    end
    local dir = vols[1].path
    local fname = ".deloc-restore"
    local uid, gid = require("deloc.adapters.docker.secrets").owner_of(comp.user)
    local ok
    ok, err = c:put("/containers/" .. ctr.Id .. "/archive", { path = dir },
      M.tar_file(fname, data, { uid = uid, gid = gid, mode = 384, mtime = os.time() }),
      "application/x-tar")
    if not ok then return nil, err end
    local path = dir .. "/" .. fname
    local argv = { "sh", "-c", '"$@" < "$0"; rc=$?; rm -f "$0"; exit $rc', path }
    for _, a in ipairs(b.restore) do argv[#argv + 1] = a end
    local code, stderr = exec_stream(c, ctr.Id, argv, function() end)
    if code == nil then return nil, stderr end
    if code ~= 0 then return nil, exec_failed("restore", service, code, stderr) end
    return { kind = "exec", bytes = #data }
  end
  local vols = data_volumes(comp)
  if #vols == 0 then
    return nil, errors.new("CONFIG_INVALID", ("%s keeps no data: nothing to restore"):format(service))
  end
  local was_running = ctr.State == "running"
  if was_running then
    local ok, serr = c:post("/containers/" .. ctr.Id .. "/stop", { t = 10 }, nil, { timeout = 60 })
    if not ok and not (errors.is(serr) and serr.status == 304) then return nil, serr end
  end
  local id
  id, err = make_helper(c, plan, svc, comp, vols)
  if not id then return nil, err end
  local ok
  ok, err = c:put("/containers/" .. id .. "/archive", { path = "/" }, data, "application/x-tar")
  c:delete("/containers/" .. id, { force = 1, v = 0 })
  if not ok then return nil, err end
  if was_running then
    ok, err = c:post("/containers/" .. ctr.Id .. "/start")
    if not ok and not (errors.is(err) and err.status == 304) then return nil, err end
  end
  return { kind = "volumes", bytes = #data }
end

M.remove_container = apply.remove_container

return M
