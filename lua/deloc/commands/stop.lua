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
  local t, err = cmdutil.duration(opts.timeout, 10)
  if not t then return nil, err end
  local out, s
  out, err, s = cmdutil.remove(opts, { services = rest, stop_only = true, timeout = math.floor(t + 0.5) })
  if not out then return nil, err end
  if opts.json then cmdutil.print_json(out)
  elseif #(out.stopped or {}) == 0 and #(out.removed or {}) == 0 then
    io.stdout:write(cmdutil.nothing_deployed(s.project), "\n")
  end
  return 0
end

return M
