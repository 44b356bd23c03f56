-- deloc.converge: the one converge loop every driver uses.  A task per
-- component starts the moment what it depends on is ready, so the critical
-- path, not the sum of the levels, sets the time.  Drivers supply only the
-- target's steps:
--
--   steps.prepare(run) -> true | nil, err      shared resources, before any component
--   steps.deploy(run, svc, comp, emit) -> true [, done_state] | nil, err
--     make the component match the plan; done_state ("unchanged", "completed")
--     when it is known ready already and need not be waited for
--   steps.ready(run, svc, comp, emit) -> state | nil, err   wait until it is ready
--   steps.finish(run) -> true | nil, err       after every task (orphans, stale objects)
--   steps.rollback(run)                        undo what this run made (after a failure)
--   steps.wait_needed: false when a dependent needs its dependencies applied,
--     not ready, unless the user asked to wait (default true)
--   steps.oneshots_finish: a one-shot is always waited for (its exit code is
--     its result)
--
--   converge.run(plan, steps, opts, result) -> result | nil, err (err.result = result)
--     opts = { wait=, timeout= (seconds), rollback=, only = { svc... }, on_event=, tick= }
--     result: the driver's counters; converge adds components = { ["svc/comp"] =
--       { service=, component=, state=, ready=, error=, ids = {} } }, failed = { keys },
--       elapsed
--   run = { plan=, opts=, emit=, deadline=, result=, interrupted = fn(), ... } is the
--     drivers' to add to.
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local sched = require("deloc.sched")

local M = {}

local function key_of(service, component) return service .. "/" .. component end
M.key = key_of

-- Every component of the plan in start order (the plan's own list when it
-- has one), restricted to `only` when given.
function M.components(plan, only)
  local want
  for _, n in ipairs(only or {}) do want = want or {}; want[n] = true end
  local out = {}
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
    if not want or want[sname] then
      for _, cname in ipairs(svc.component_order or {}) do out[#out + 1] = { svc, svc.components[cname] } end
    end
  end
  return out
end

-- Who needs whom: a component is waited for when a dependent needs it.
local function needed_by_someone(comps)
  local needed = {}
  for _, pair in ipairs(comps) do
    for _, d in ipairs(pair[2].depends_on or {}) do
      needed[key_of(d.service, d.component or d.service)] = true
    end
  end
  return needed
end

local function first_line(e)
  local m = errors.is(e) and e.message or tostring(e or "failed")
  return (m:gsub("\n.*", ""))
end

-- Waits for the component's dependencies; an error names the one that failed.
local function dependencies(run, svc, comp, emit)
  local key = key_of(svc.name, comp.name)
  local waiting = {}
  for _, d in ipairs(comp.depends_on or {}) do
    local dk = key_of(d.service, d.component or d.service)
    local ev = run.ready[dk]
    if ev and dk ~= key then
      waiting[#waiting + 1] = { d = d, key = dk, ev = ev }
    end
  end
  local names = {}
  for _, w in ipairs(waiting) do
    if not w.ev:is_set() then names[#names + 1] = w.d.component ~= w.d.service and w.key or w.d.service end
  end
  if #names > 0 then emit("waiting", "for " .. table.concat(names, ", ")) end
  for _, w in ipairs(waiting) do
    local ok, derr = w.ev:wait()
    if not ok then
      local who = (w.d.component and w.d.component ~= w.d.service) and w.key or w.d.service
      local me = comp.name == svc.name and svc.name or key
      return nil, errors.new("DEPLOYMENT_FAILED", ("%s: needs %s, which failed: %s")
        :format(me, who, (first_line(derr))), { dependency = who, cause = derr })
    end
  end
  return true
end

local function one(run, steps, svc, comp)
  local key = key_of(svc.name, comp.name)
  local out = run.result.components[key]
  local started = sys.now()
  local function emit(state, detail)
    out.state, out.detail = state, detail
    run.emit({ service = svc.name, component = comp.name, state = state, detail = detail,
      elapsed = sys.now() - started })
  end
  local ok, err = dependencies(run, svc, comp, emit)
  if not ok then return nil, err end
  started = sys.now()
  if run.interrupted() then return nil, errors.new("INTERRUPTED", "interrupted") end
  local done
  ok, done = steps.deploy(run, svc, comp, emit)
  if not ok then return nil, done end
  if done then return true end
  if not run.must_wait(key) and not (comp.kind == "oneshot" and steps.oneshots_finish) then return true end
  return steps.ready(run, svc, comp, emit)
end

-- One line per failure: causes first (with their last log lines), then the
-- components that failed only because they needed one of them.
local function failure(result)
  local causes, dependents = {}, {}
  for _, key in ipairs(result.failed) do
    local e = result.components[key].error
    if errors.is(e) and e.dependency then dependents[#dependents + 1] = e else causes[#causes + 1] = e end
  end
  local first = causes[1] or dependents[1]
  local lines = {}
  local function add(e)
    lines[#lines + 1] = errors.is(e) and e.message or tostring(e)
    for i, l in ipairs(errors.is(e) and e.logs or {}) do
      if i == 1 then lines[#lines + 1] = "  last log lines:" end
      lines[#lines + 1] = "  | " .. l
    end
  end
  for _, e in ipairs(causes) do add(e) end
  for _, e in ipairs(dependents) do add(e) end
  local msg
  if #lines == 1 or (#causes == 1 and #dependents == 0) then
    msg = table.concat(lines, "\n")
  else
    msg = ("%d components failed:\n  "):format(#result.failed) .. table.concat(lines, "\n  ")
  end
  local code = "DEPLOYMENT_FAILED"
  if #causes == 1 and errors.is(causes[1]) and causes[1].code == "TIMEOUT" then code = "TIMEOUT" end
  return errors.new(code, msg, { result = result, probe = errors.is(first) and first.probe or nil,
    details_added = true, hint = errors.is(first) and first.hint or nil })
end

local function ticker(tasks, tick, run)
  return sched.spawn(function()
    while true do
      local alive = false
      for _, t in ipairs(tasks) do if t.state ~= "done" then alive = true end end
      if not alive or run.interrupted() then return end
      tick()
      sched.sleep(0.2)
    end
  end)
end

function M.run(plan, steps, opts, result)
  opts = opts or {}
  local t0 = sys.now()
  result = result or {}
  result.components, result.failed = {}, {}
  local run = { plan = plan, opts = opts, emit = opts.on_event or function() end, ready = {},
    result = result, t0 = t0, timeout = opts.timeout or 300 }
  run.deadline = t0 + run.timeout
  local stop = false
  function run.interrupted()
    if stop then return true end
    local sig = sys.signal_pending()
    if sig == "INT" or sig == "TERM" then stop = true end
    return stop
  end
  local comps = M.components(plan, opts.only)
  local needed = steps.wait_needed ~= false and needed_by_someone(comps) or {}
  function run.must_wait(key) return opts.wait ~= false or needed[key] or false end
  for _, pair in ipairs(comps) do
    local key = key_of(pair[1].name, pair[2].name)
    run.ready[key] = sched.event()
    result.components[key] = { service = pair[1].name, component = pair[2].name, ids = {} }
  end
  local ok, err = steps.prepare(run)
  if not ok then
    if opts.rollback then steps.rollback(run) end
    return nil, err
  end

  local tasks = {}
  for _, pair in ipairs(comps) do
    local svc, comp = pair[1], pair[2]
    local key = key_of(svc.name, comp.name)
    tasks[#tasks + 1] = sched.spawn(function()
      local okc, errc = one(run, steps, svc, comp)
      local r = result.components[key]
      if okc then
        r.ready = true
      else
        r.state, r.error = "failed", errc
        if errors.is(errc) and errc.code == "INTERRUPTED" then r.state = "interrupted" end
        run.emit({ service = svc.name, component = comp.name, state = r.state,
          detail = errors.is(errc) and errc.message or tostring(errc) })
      end
      run.ready[key]:set(okc and true or false, errc)
    end)
  end
  if opts.tick then ticker(tasks, opts.tick, run) end
  for _, t in ipairs(tasks) do
    local okw, e = sched.wait(t)
    if not okw then
      return nil, errors.is(e) and e or errors.new("DEPLOYMENT_FAILED", tostring(e), { traceback = t.traceback })
    end
  end

  local interrupted = run.interrupted()
  for _, pair in ipairs(comps) do
    local key = key_of(pair[1].name, pair[2].name)
    local e = result.components[key].error
    if e then
      result.failed[#result.failed + 1] = key
      if errors.is(e) and e.code == "INTERRUPTED" then interrupted = true end
    end
  end
  ok, err = steps.finish(run, #result.failed > 0)
  result.elapsed = sys.now() - t0
  if #result.failed > 0 and opts.rollback then steps.rollback(run) end
  if interrupted then return nil, errors.new("INTERRUPTED", "interrupted", { result = result }) end
  if #result.failed > 0 then return nil, failure(result) end
  if not ok then
    if errors.is(err) then err.result = result end
    return nil, err
  end
  return result
end

return M
