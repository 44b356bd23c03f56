-- deloc.adapters.kubernetes.backup: a service's data out to a file and back
-- through pods/exec, where its recipe says how (backup = { exec=, restore=,
-- component= }: Postgres pg_dump / pg_restore, Redis SAVE and reload).  The
-- bytes are the dump command's own output, as on the Docker target, so a
-- backup taken on one target restores on the other.
--
--   backup.backup(c, plan, service, write) -> { kind = "exec", bytes = n } | nil, err
--   backup.restore(c, plan, service, data) -> { kind = "exec", bytes = n } | nil, err
--
-- A volume archive (a service without a dump command) needs a container
-- that mounts the claim while the service is stopped: not done here, and
-- said so.  Restore streams the file to the command's stdin, which needs the
-- v5.channel.k8s.io protocol (Kubernetes 1.30 and later).
local errors = require("deloc.errors")
local exec = require("deloc.adapters.kubernetes.exec")

local M = {}

local function pick(plan, service, what)
  local svc = plan.services and plan.services[service]
  if not svc then
    return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in the plan"):format(service))
  end
  local b = svc.backup
  if not (b and b[what == "backup" and "exec" or "restore"]) then
    return nil, errors.new("USAGE", ("%s of %s on Kubernetes: its recipe has no %s command, and a "
      .. "volume archive is made only on the Docker target"):format(what, service, what == "backup" and "dump" or "restore"),
      { hint = "give the recipe backup = { exec = {...}, restore = {...} }, or use --target docker" })
  end
  local cname = b.component or svc.primary or (svc.component_order or {})[1] or service
  if not (svc.components or {})[cname] then
    return nil, errors.new("CONFIG_INVALID", ("%s has no component '%s' to back up"):format(service, cname))
  end
  return b, cname
end

local function failed(what, service, code, stderr)
  stderr = table.concat(stderr):gsub("%s+$", "")
  local msg = ("%s of %s failed: exit code %s"):format(what, service, tostring(code))
  if stderr ~= "" then msg = msg .. "\n" .. stderr end
  return errors.new("DEPLOYMENT_FAILED", msg)
end

local function run(c, plan, service, what, argv, opts)
  local b, cname = pick(plan, service, what)
  if not b then return nil, cname end
  local pod, container = exec.find(c, plan.project, { service = service, component = cname })
  if not pod then return nil, container end
  local errs = {}
  opts.on_stderr = function(s) errs[#errs + 1] = s end
  opts.timeout = 3600
  local r, err = exec.capture(c, pod, container, argv(b), opts)
  if not r then return nil, err end
  if r.code ~= 0 then return nil, failed(what, service, r.code, errs) end
  return true
end

function M.backup(c, plan, service, write)
  local bytes = 0
  local ok, err = run(c, plan, service, "backup", function(b) return b.exec end, {
    on_stdout = function(s) bytes = bytes + #s; write(s) end })
  if not ok then return nil, err end
  return { kind = "exec", bytes = bytes }
end

function M.restore(c, plan, service, data)
  local ok, err = run(c, plan, service, "restore", function(b) return b.restore end, { input = data })
  if not ok then return nil, err end
  return { kind = "exec", bytes = #data }
end

return M
