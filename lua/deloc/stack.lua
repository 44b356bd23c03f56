-- deloc.stack: the lifecycle verbs on any target, for the CLI commands and
-- the Lua API alike (deloc.up{...} is these).  Each takes an open session
-- (deloc.session) and returns data; nothing here prints or knows a target.
--
--   stack.up(s, services, o)      -> { plan=, result=, changes=, endpoints= } | nil, err (err.result)
--     o = { wait=, timeout=, rollback=, remove_orphans=, on_plan = fn(plan) }
--   stack.update(s, services, o)  -> { plan=, updated = { svc... } } | nil, err
--   stack.scale(s, requests, o)   -> { scale=, changed=, show= } | nil, err
--     requests = { { service=, component=, n= } }  (n nil: show the count)
--   stack.remove(s, o)            -> summary (stop, down and clean: o.stop_only, o.all)
--   stack.status(s, o)            -> rows, lifecycle
--   stack.health(s, o)            -> rows, bad
--   stack.exec(s, target, argv, o) -> { code=, stdout=, stderr= } | nil, err
--   stack.backup(s, service, write) / stack.restore(s, service, data) -> info | nil, err
local errors = require("deloc.errors")
local array = require("deloc.array")
local state = require("deloc.state")

local M = {}

-- the target as the state file's history records it: only when not the default
local function target_note(s)
  return s.target ~= require("deloc.targets").DEFAULT and s.target or nil
end

local function first_line(e)
  local why = errors.is(e) and e.message or tostring(e or "failed")
  return (why:gsub("\n.*", ""))
end

-- The reason a deployed service is Running: how its components ended.
local function ready_reason(res, sname)
  local healthy, completed = false, false
  for _, r in pairs(res.components) do
    if r.service == sname then
      if r.state == "healthy" or r.state == "ready" then healthy = true end
      if r.state == "completed" then completed = true end
    end
  end
  return healthy and "healthy" or (completed and "completed" or "started")
end
M.ready_reason = ready_reason

-- Marks what a run will change (one write, before the first mutating call).
local function mark(s, st, plan, changes, lifecycle, reason_of)
  local marked = false
  for _, sname in ipairs(plan.order) do
    if changes.services[sname] then
      local _, moved = state.set_service(st, sname, lifecycle, reason_of(sname))
      marked = marked or moved
    end
  end
  if marked then return s:save() end
  return true
end

-- After a run: per service Running or Failed (with the first line of why),
-- and the ids deloc saw ready.
local function record_outcome(st, plan, changes, res, err)
  local failed = {}
  for _, key in ipairs(res and res.failed or {}) do
    local sname = key:match("^[^/]+")
    if not failed[sname] then
      failed[sname] = first_line(res.components[key] and res.components[key].error or err)
    end
  end
  for _, sname in ipairs(plan.order) do
    if failed[sname] then
      state.set_service(st, sname, "Failed", failed[sname])
    elseif res then
      state.set_service(st, sname, "Running", changes.services[sname] and ready_reason(res, sname) or nil)
    elseif changes.services[sname] then
      -- the run ended before it deployed anything (e.g. secrets, interrupted)
      state.set_service(st, sname, "Failed", first_line(err))
    end
    if res and st.services[sname] then
      local ids = {}
      for _, r in pairs(res.components) do
        if r.service == sname and r.ready then
          for _, id in ipairs(r.ids or {}) do ids[#ids + 1] = id end
        end
      end
      table.sort(ids)
      st.services[sname].ready = array.of(ids)
    end
  end
end

function M.up(s, services, o)
  o = o or {}
  local st, err = s:state()
  if not st then return nil, err end
  local plan
  plan, err = s:plan(services, { previous = st.plan, scale = st.scale, live = true })
  if not plan then return nil, err end
  if plan.verdict and plan.verdict.fits == false then return nil, s:not_fitting(plan) end
  if o.on_plan then o.on_plan(plan) end
  local changes
  changes, err = s.driver.diff(s, plan)
  if not changes then return nil, err end

  -- The engine is the truth while the run goes on; the state file records
  -- the lifecycle around it: Deploying for what this run changes, then
  -- Running or Failed.  A run that changes nothing writes nothing.
  local before = require("deloc.json").encode(st.services)
  local plan_saved = st.plan ~= nil
  st.project = plan.project
  local ok
  ok, err = mark(s, st, plan, changes, "Deploying", function(n) return changes.services[n] end)
  if not ok then return nil, err end
  local known_ready = {}
  for _, sv in pairs(st.services or {}) do
    for _, id in ipairs(type(sv.ready) == "table" and sv.ready or {}) do known_ready[id] = true end
  end

  local res
  res, err = s.driver.apply(s, plan, changes, { wait = o.wait, timeout = o.timeout,
    rollback = o.rollback, remove_orphans = o.remove_orphans, partial = services and #services > 0,
    known_ready = known_ready, previous = st.plan })
  res = res or (err and err.result)
  record_outcome(st, plan, changes, res, err)
  for _, sname in ipairs(res and res.removed_services or {}) do st.services[sname] = nil end
  local changed = err or not res or (res.created or 0) > 0 or (res.changed or 0) > 0
    or #(res.removed or {}) > 0
  if not err then st.plan = plan end
  if changed then
    state.record(st, "up", { services = plan.order, target = target_note(s),
      result = err and (err.code or "failed") or "ok",
      created = res and res.created, recreated = res and res.recreated, configured = res and res.configured })
  end
  if changed or not plan_saved or require("deloc.json").encode(st.services) ~= before then
    local ok_save, serr = s:save()
    if not ok_save and not err then err = serr end
  end
  local out = { plan = plan, result = res, changes = changes, endpoints = s.driver.endpoints(s, plan) }
  if err then
    if errors.is(err) then err.up = out end
    return nil, err
  end
  return out
end

-- Plans again and rolls the changed services out one at a time, in
-- dependency order, each healthy before the next.
function M.update(s, services, o)
  o = o or {}
  local st, err = s:state()
  if not st then return nil, err end
  local names = (services and #services > 0 and services) or (st.plan and st.plan.order) or nil
  local plan
  plan, err = s:plan(names, { previous = st.plan, scale = st.scale, live = true })
  if not plan then return nil, err end
  local changes
  changes, err = s.driver.diff(s, plan)
  if not changes then return nil, err end
  local done = {}
  for _, name in ipairs(plan.order) do
    if changes.services[name] then
      local _
      _, err = s.driver.apply(s, plan, changes, { only = { name }, wait = true, timeout = o.timeout,
        partial = true, previous = st.plan })
      if err then
        state.set_service(st, name, "Failed", first_line(err))
        break
      end
      state.set_service(st, name, "Running")
      done[#done + 1] = name
    end
  end
  if #done == 0 and not err then return { plan = plan, updated = array.of({}) } end
  if not err then st.plan = plan end
  state.record(st, "update", { services = done, result = err and err.code or "ok" })
  s:save()
  if err then return nil, err end
  return { plan = plan, updated = array.of(done) }
end

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
function M.describe_scale(scale, service)
  local parts = {}
  for key, n in pairs(scale) do
    local svc, comp = key:match("^([^.]+)%.(.+)$")
    if (svc or key) == service then parts[#parts + 1] = ("%s=%d"):format(comp or key, n) end
  end
  table.sort(parts)
  return #parts > 0 and table.concat(parts, " ") or nil
end

-- The sticky counts with the requests applied; show = rows for requests without a count.
local function scaled(plan, current, requests)
  local scale, show = {}, {}
  for k, v in pairs(current or {}) do scale[k] = v end
  for _, r in ipairs(requests) do
    local svc, comp = find_component(plan, r.service, r.component)
    if not svc then
      return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in this project"):format(r.service))
    end
    if not comp then
      return nil, errors.new("USAGE", ("%s has several components: say which, e.g. %s.%s=N")
        :format(r.service, r.service, (svc.component_order or {})[1] or "worker"))
    end
    local key = svc.name .. "." .. comp.name
    if not r.n then
      show[#show + 1] = { key, tostring(comp.replicas or 1), comp.scalable and "scalable" or "fixed" }
    elseif not comp.scalable then
      return nil, errors.new("USAGE", ("%s cannot be scaled: its recipe does not mark it scalable")
        :format(comp.name == svc.name and svc.name or key))
    else
      scale[(comp.name == svc.name) and svc.name or key] = r.n
    end
  end
  return scale, show
end

function M.scale(s, requests, o)
  o = o or {}
  local st, err = s:state()
  if not st then return nil, err end
  -- the services of the running project, so the new plan covers the same stack
  local services = st.plan and st.plan.order or nil
  local plan
  plan, err = s:plan(services, { previous = st.plan, scale = st.scale, live = true })
  if not plan then return nil, err end
  local scale, show = scaled(plan, st.scale, requests)
  if not scale then return nil, show end
  if #show > 0 then return { show = show } end
  plan, err = s:plan(services, { previous = st.plan, scale = scale, live = true })
  if not plan then return nil, err end
  if plan.verdict and plan.verdict.fits == false then
    return nil, s:not_fitting(plan, "nothing was changed; see 'deloc plan'")
  end
  local changes
  changes, err = s.driver.diff(s, plan)
  if not changes then return nil, err end
  local names = {}
  for _, n in ipairs(plan.order) do if changes.services[n] then names[#names + 1] = n end end
  local ok
  ok, err = mark(s, st, plan, changes, "Scaling", function(n) return M.describe_scale(scale, n) end)
  if not ok then return nil, err end
  local res
  if #names > 0 then
    res, err = s.driver.scale(s, plan, changes, { timeout = o.timeout, previous = st.plan })
    res = res or (err and err.result)
  end
  if not err then st.scale, st.plan = scale, plan end
  local failed = {}
  for _, key in ipairs(res and res.failed or {}) do failed[key:match("^[^/]+")] = true end
  for _, n in ipairs(names) do
    if err and (failed[n] or not res) then
      state.set_service(st, n, "Failed", first_line(err))
    else
      state.set_service(st, n, "Running", M.describe_scale(scale, n))
    end
  end
  state.record(st, "scale", { scale = scale, target = target_note(s),
    result = err and err.code or "ok" })
  local ok_save, serr = s:save()
  if err then return nil, err end
  if not ok_save then return nil, serr end
  return { scale = scale, changed = array.of(names), result = res }
end

-- stop (o.stop_only), down, clean (o.all): the driver removes, then the
-- state file says so (while the lock is still held).
function M.remove(s, o)
  local out, err = s.driver.remove(s, o)
  if not out then return nil, err end
  local st = state.load(s.project.dir, s.project.name)
  if o.all then
    st = state.new(s.project.name)
    state.record(st, "clean", { target = target_note(s) })
    state.save(s.project.dir, st)
    if o.secrets then
      -- never through a link: a cloned project's .deloc/secrets -> ~/x
      local ok, rerr = state.remove_secrets(s.project.dir)
      if not ok then return nil, rerr end
    end
    return out
  end
  if not st then return out end
  local named = o.services and #o.services > 0
  local want = {}
  for _, n in ipairs(o.services or {}) do want[n] = true end
  for n in pairs(st.services) do
    if not named or want[n] then state.set_service(st, n, "Stopped") end
  end
  state.record(st, o.stop_only and "stop" or "down", { services = o.services,
    volumes = o.volumes or nil, target = target_note(s) })
  state.save(s.project.dir, st)
  return out
end

-- Rows from the target, with what deloc recorded: its readiness checks
-- (the engine's own may not have run yet) and each service's lifecycle.
function M.status(s, o)
  local rows, err = s.driver.status(s, o)
  if not rows then return nil, err end
  local st = state.load(s.project.dir, s.project.name, { peek = true })
  local ready, lifecycle = {}, {}
  for _, sv in pairs(st and st.services or {}) do
    for _, id in ipairs(type(sv.ready) == "table" and sv.ready or {}) do ready[id] = true end
  end
  for _, r in ipairs(rows) do
    if r.state == "starting" and r.id and ready[r.id] then r.state, r.health = "healthy", "healthy" end
    if type(r.ports) == "table" then r.ports = array.of(r.ports) end
    if type(r.nodes) == "table" then r.nodes = array.of(r.nodes) end
    local sv = st and st.services[r.service or ""]
    if type(sv) == "table" and sv.state then
      r.lifecycle = sv.state
      lifecycle[r.service] = { state = sv.state, since = sv.since, reason = sv.detail,
        history = array.of(type(sv.history) == "table" and sv.history or {}) }
    end
  end
  return rows, lifecycle
end

function M.health(s, o)
  local rows, err = s.driver.health(s, o)
  if not rows then return nil, err end
  local bad = {}
  for _, r in ipairs(rows) do
    if not r.healthy then bad[#bad + 1] = r.name or r.service end
  end
  return rows, bad
end

function M.exec(s, target, argv, o)
  if type(argv) ~= "table" or #argv == 0 then
    return nil, errors.new("USAGE", "exec needs a command (a list of strings)")
  end
  return s.driver.exec(s, target, argv, o or {})
end

function M.backup(s, service, write)
  local plan, err = s:current_plan()
  if not plan then return nil, err end
  return s.driver.backup(s, plan, service, write)
end

function M.restore(s, service, data)
  local plan, err = s:current_plan()
  if not plan then return nil, err end
  return s.driver.restore(s, plan, service, data)
end

return M
