-- deloc stop [SERVICES...]: stop containers, keep them (up starts them again).
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "stop",
  order = 29,
  usage = "deloc stop [SERVICES...] [--timeout DURATION]",
  summary = "stop services without removing them ('deloc up' starts them again)",
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "timeout", arg = "DURATION", help = "how long a container may take to stop (default 10s)" },
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local t
  t, err = cmdutil.duration(opts.timeout, 10)
  if not t then return nil, err end
  local docker = require("deloc.adapters.docker")
  local out
  out, err = cmdutil.locked(opts, project, docker.connect, function(c, on_event)
    return docker.remove(c, project.name, { services = rest, stop_only = true,
      timeout = math.floor(t + 0.5), on_event = on_event })
  end, function()
    cmdutil.record_stopped(project, rest, "stop", { services = rest })
  end)
  if not out then return nil, err end
  if opts.json then cmdutil.print_json(out)
  elseif #(out.stopped or {}) == 0 and #(out.removed or {}) == 0 then
    io.stdout:write(cmdutil.nothing_deployed(project), "\n")
  end
  return 0
end

return M
