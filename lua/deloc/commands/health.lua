-- deloc health [SERVICES...]: healthy or not, with the last probe output.
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "health",
  order = 23,
  usage = "deloc health [SERVICES...] [--json]",
  summary = "check the services' health; exit status 8 if any is not healthy",
  help = [[
Shows each container's (or workload's) health and the output of its last
check.  Where the engine has not run its check yet, deloc runs it now.  Exits 0 when every
service is healthy (one-shot components: completed), else 8.]],
  options = { require("deloc.targets").option, require("deloc.targets").context_option },
}

function M.run(opts, rest)
  local s, err = cmdutil.open(opts)
  if not s then return nil, err end
  local rows, bad = require("deloc.stack").health(s, { services = rest })
  if not rows then return nil, bad end
  local ok
  ok, err = cmdutil.check_services(rows, rest)
  if not ok then return nil, err end
  if opts.json then
    local out = {}
    for _, r in ipairs(rows) do
      out[#out + 1] = { service = r.service, component = r.component, replica = r.replica,
        name = r.name, state = r.state, healthy = r.healthy, output = r.output }
    end
    cmdutil.print_json({ project = s.project.name, healthy = #bad == 0 and #rows > 0,
      services = require("deloc.array").of(out) })
  elseif #rows > 0 then
    local on = cmdutil.color(opts)
    local term = require("deloc.term")
    local t = {}
    for _, r in ipairs(rows) do
      local name = r.service
      if r.component and r.component ~= r.service then name = name .. "/" .. r.component end
      if (r.replica or 1) > 1 then name = name .. "#" .. r.replica end
      local verdict = r.healthy and "healthy" or (r.state == "starting" and "starting" or "unhealthy")
      if r.state == "completed" then verdict = "completed" end
      if r.state == "exited" or r.state == "created" then verdict = r.state end
      if on then verdict = term.colorize(true, r.healthy and "green" or "red", verdict) end
      t[#t + 1] = { name, verdict, (tostring(r.output or ""):gsub("\n", " | ")) }
    end
    cmdutil.table({ "SERVICE", "HEALTH", "LAST CHECK" }, t)
  end
  if #rows == 0 then
    return nil, errors.new("UNHEALTHY", cmdutil.nothing_deployed(s.project), { hint = "deloc up starts it" })
  end
  if #bad > 0 then
    return nil, errors.new("UNHEALTHY", ("not healthy: %s"):format(table.concat(bad, ", ")))
  end
  return 0
end

return M
