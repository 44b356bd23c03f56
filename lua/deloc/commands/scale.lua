-- deloc scale SERVICE[.COMPONENT][=N] ...
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")
local cli = require("deloc.adapters.docker.cli")

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

local function find_component(plan, svc_name, comp_name)
  local svc = plan.services[svc_name]
  if not svc then return nil end
  if comp_name then return svc, svc.components[comp_name] end
  -- the service's scalable component, else its only one
  local only, scalable, n = nil, nil, 0
  for _, comp in pairs(svc.components) do
    n = n + 1
    only = comp
    if comp.scalable then scalable = comp end
  end
  return svc, scalable or (n == 1 and only or nil)
end

-- "worker=3": the replica counts asked of a service's components.
function M.describe(scale, service)
  local parts = {}
  for key, n in pairs(scale) do
    local svc, comp = key:match("^([^.]+)%.(.+)$")
    if (svc or key) == service then parts[#parts + 1] = ("%s=%d"):format(comp or key, n) end
  end
  table.sort(parts)
  return #parts > 0 and table.concat(parts, " ") or nil
end

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  if #rest == 0 then return nil, errors.new("USAGE", "scale needs SERVICE=N", { hint = M.usage }) end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local timeout
  timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local function fail(e) lock:unlock(); return nil, e end
  local state = require("deloc.state")
  local st = state.load(project.dir, project.name)
  local requests = {}
  for _, a in ipairs(rest) do
    local target, n = a:match("^([%w._-]+)=(%d+)$")
    if not target then target = a:match("^([%w._-]+)$") end
    if not target then return fail(errors.new("USAGE", ("'%s' is not SERVICE[.COMPONENT]=N"):format(a))) end
    local svc, comp = target:match("^([^.]+)%.(.+)$")
    requests[#requests + 1] = { service = svc or target, component = comp, n = tonumber(n) }
  end

  local docker = require("deloc.adapters.docker")
  local apply = require("deloc.adapters.docker.apply")
  local c
  c, err = docker.connect()
  if not c then return fail(err) end
  local existing
  existing, err = cmdutil.in_task(apply.existing, c, project.name)
  if not existing then return fail(err) end
  -- The services of the running project (the last applied plan's), so the
  -- new plan covers the same stack.
  local services = st.plan and st.plan.order or nil
  local plan
  plan, err = cli.plan(opts, services, project, { containers = existing.list, previous = st.plan,
    scale = st.scale })
  if not plan then return fail(err) end

  st.scale = st.scale or {}
  local scale = {}
  for k, v in pairs(st.scale) do scale[k] = v end
  local show = {}
  for _, r in ipairs(requests) do
    local svc, comp = find_component(plan, r.service, r.component)
    if not svc then
      return fail(errors.new("SERVICE_NOT_FOUND", ("no service '%s' in this project"):format(r.service)))
    end
    if not comp then
      return fail(errors.new("USAGE", ("%s has several components: say which, e.g. %s.%s=N")
        :format(r.service, r.service, (svc.component_order or {})[1] or "worker")))
    end
    local key = svc.name .. "." .. comp.name
    if not r.n then
      show[#show + 1] = { key, tostring(comp.replicas or 1), comp.scalable and "scalable" or "fixed" }
    else
      if not comp.scalable then
        return fail(errors.new("USAGE", ("%s cannot be scaled: its recipe does not mark it scalable"):format(key)))
      end
      scale[(comp.name == svc.name) and svc.name or key] = r.n
    end
  end
  if #show > 0 then
    lock:unlock()
    cmdutil.table({ "COMPONENT", "REPLICAS", "" }, show)
    return 0
  end

  plan, err = cli.plan(opts, services, project, { containers = existing.list, previous = st.plan,
    scale = scale })
  if not plan then return fail(err) end
  if plan.verdict and plan.verdict.fits == false then
    local reasons = plan.verdict.reasons or {}
    return fail(errors.new("RESOURCE_EXHAUSTED", "no room for that many replicas on this machine"
      .. (reasons[1] and (": " .. tostring(reasons[1])) or ""), { hint = "nothing was changed; see 'deloc plan'" }))
  end
  local changed = apply.changes(plan, existing, project.dir)
  local names = {}
  for _, s in ipairs(plan.order) do if changed[s] then names[#names + 1] = s end end
  local progress = cmdutil.progress(opts)
  local result
  if #names > 0 then
    -- Scaling while the replicas change (written before the first mutating
    -- call), then Running or Failed.
    for _, s in ipairs(names) do state.set_service(st, s, "Scaling", M.describe(scale, s)) end
    local ok_save, serr = state.save(project.dir, st)
    if not ok_save then progress:finish(); return fail(serr) end
    cmdutil.catch_signals()
    result, err = docker.apply(c, apply.subplan(plan, names), { root = project.dir,
      on_event = function(ev) progress:event(ev) end, tick = function() progress:tick() end,
      wait = true, timeout = timeout, existing = existing, partial = true })
    cmdutil.release_signals()
  end
  progress:finish()
  if not err then
    st.scale = scale
    st.plan = plan
  end
  local res = result or (err and err.result)
  local failed = {}
  for _, key in ipairs(res and res.failed or {}) do failed[key:match("^[^/]+")] = true end
  for _, s in ipairs(names) do
    if err and (failed[s] or not res) then
      local why = errors.is(err) and err.message or tostring(err)
      state.set_service(st, s, "Failed", (why:gsub("\n.*", "")))
    else
      state.set_service(st, s, "Running", M.describe(scale, s))
    end
  end
  state.record(st, "scale", { scale = scale, result = err and err.code or "ok" })
  local ok_save, serr = state.save(project.dir, st)
  if not ok_save and not err then err = serr end
  lock:unlock()
  if err then return nil, cmdutil.failure(err) end
  if opts.json then cmdutil.print_json({ scale = scale, changed = require("deloc.array").of(names) }) end
  return 0
end

return M
