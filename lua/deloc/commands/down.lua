-- deloc down [SERVICES...] [--volumes]: remove the project's containers.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "down",
  order = 28,
  usage = "deloc down [SERVICES...] [--volumes] [--timeout DURATION]",
  summary = "stop and remove services (--volumes: their data too)",
  help = [[
Removes containers in reverse dependency order (what depends on a service goes
first; independent ones together), then the project network (on Kubernetes:
the project's objects, and with --volumes its claims and namespace).  Data volumes
stay unless --volumes is given.  Secrets stay in .deloc/secrets/.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "volumes", help = "remove the data volumes too" },
    { "timeout", arg = "DURATION", help = "how long a container may take to stop (default 5s)" },
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local t, err = cmdutil.duration(opts.timeout, 5)
  if not t then return nil, err end
  local out, s
  out, err, s = cmdutil.remove(opts, { services = rest, volumes = opts.volumes, timeout = math.floor(t + 0.5) })
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json(out)
  elseif #out.removed == 0 and #(out.volumes or {}) == 0 and not out.network and not out.namespace then
    io.stdout:write(cmdutil.nothing_deployed(s.project), "\n")
  end
  return 0
end

return M
