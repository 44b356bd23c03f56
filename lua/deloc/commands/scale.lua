-- deloc scale SERVICE[.COMPONENT][=N] ...
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "scale",
  order = 24,
  usage = "deloc scale SERVICE[.COMPONENT]=N ... | deloc scale SERVICE",
  summary = "add or remove replicas of scalable components (e.g. spark.worker=3)",
  help = [[
Only components the recipe marks scalable (Spark workers, ...) can be scaled.
The plan is made again with the new count: if the machine has no room for it,
nothing changes.  Other services are not touched.  The count sticks: later
'deloc up' runs keep it until you scale again.  Without =N, shows the
current replicas.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    cmdutil.timeout_option,
    cmdutil.wait_lock_option,
  },
}

-- "worker=3": the replica counts asked of a service's components.
function M.describe(scale, service)
  return require("deloc.stack").describe_scale(scale, service)
end

function M.run(opts, rest)
  if #rest == 0 then return nil, errors.new("USAGE", "scale needs SERVICE=N", { hint = M.usage }) end
  local timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local requests = {}
  for _, a in ipairs(rest) do
    local target, n = a:match("^([%w._-]+)=(%d+)$")
    if not target then target = a:match("^([%w._-]+)$") end
    if not target then return nil, errors.new("USAGE", ("'%s' is not SERVICE[.COMPONENT]=N"):format(a)) end
    local svc, comp = target:match("^([^.]+)%.(.+)$")
    requests[#requests + 1] = { service = svc or target, component = comp, n = tonumber(n) }
  end
  local s
  s, err = cmdutil.open(opts, { lock = true, progress = true })
  if not s then return nil, err end
  cmdutil.catch_signals()
  local out
  out, err = require("deloc.stack").scale(s, requests, { timeout = timeout })
  cmdutil.release_signals()
  cmdutil.close(s)
  if err then return nil, cmdutil.failure(err) end
  if out.show then
    cmdutil.table({ "COMPONENT", "REPLICAS", "" }, out.show)
  elseif opts.json then
    cmdutil.print_json({ scale = out.scale, changed = out.changed })
  end
  return 0
end

return M
