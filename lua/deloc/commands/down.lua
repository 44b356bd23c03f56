-- deloc down [SERVICES...] [--volumes]: remove the project's containers.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "down",
  order = 28,
  usage = "deloc down [SERVICES...] [--volumes] [--timeout DURATION]",
  summary = "stop and remove services (--volumes: their data too)",
  help = [[
Removes containers in reverse dependency order (what depends on a service goes
first; independent ones together), then the project network.  Data volumes
stay unless --volumes is given.  Secrets stay in .deloc/secrets/.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "volumes", help = "remove the data volumes too" },
    { "timeout", arg = "DURATION", help = "how long a container may take to stop (default 5s)" },
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local t
  t, err = cmdutil.duration(opts.timeout, 5)
  if not t then return nil, err end
  local docker = require("deloc.adapters.docker")
  local out
  out, err = cmdutil.locked(opts, project, docker.connect, function(c, on_event)
    return docker.remove(c, project.name, { services = rest, volumes = opts.volumes,
      timeout = math.floor(t + 0.5), on_event = on_event })
  end, function()
    cmdutil.record_stopped(project, rest, "down", { services = rest, volumes = opts.volumes or nil })
  end)
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json(out)
  elseif #out.removed == 0 and not out.network then
    io.stdout:write(cmdutil.nothing_deployed(project), "\n")
  end
  return 0
end

return M
