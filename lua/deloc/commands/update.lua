-- deloc update [SERVICES...]: re-plan and roll changed services one at a time.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "update",
  order = 25,
  usage = "deloc update [SERVICES...] [--timeout DURATION]",
  summary = "re-plan and roll out changed services one at a time, waiting for health",
  help = [[
Plans again (recipes, deloc.yaml, this machine) and recreates the services
whose configuration changed, one service at a time in dependency order,
waiting until each is healthy before the next.  Stops at the first that fails;
the ones before it stay updated.  Unchanged services are not touched.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    cmdutil.profile_option,
    cmdutil.timeout_option,
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local s
  s, err = cmdutil.open(opts, { lock = true, progress = true })
  if not s then return nil, err end
  cmdutil.catch_signals()
  local out
  out, err = require("deloc.stack").update(s, rest, { timeout = timeout })
  cmdutil.release_signals()
  cmdutil.close(s)
  if err then return nil, cmdutil.failure(err) end
  if opts.json then
    cmdutil.print_json({ updated = out.updated })
  elseif #out.updated == 0 then
    io.stdout:write("everything is up to date\n")
  end
  return 0
end

return M
