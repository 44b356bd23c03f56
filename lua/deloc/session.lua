-- deloc.session: what a lifecycle command works in, from the CLI or the Lua
-- API alike: the project, its lock, its state file, the target's driver and
-- its connection, and where progress goes.  Nothing here prints.
--
--   local s, err = session.open(opts, { lock = true, sink = fn(ev), tick = fn() })
--     opts: file=, target=, context=, profile=, wait_lock=, set = {...}, reserve=, explain=
--     how:  lock (take the project's lock), connect (default true), lazy (no
--           request until one is needed), sink (progress events), tick
--   s.project, s.target, s.driver, s.conn, s.notes (warnings to show now)
--   s:state() -> the state file (loaded once; s.state_warning when it was unreadable)
--   s:plan(services, { previous=, scale=, live= }) -> plan | nil, err
--   s:close()  releases the lock (idempotent)
local errors = require("deloc.errors")

local M = {}
local Session = {}
Session.__index = Session

local function noop() end

local function lock(root, opts)
  local wait
  if opts.wait_lock then
    wait = tonumber(opts.wait_lock)
    if not wait then return nil, errors.new("USAGE", "--wait-lock needs a number of seconds") end
  end
  return require("deloc.state").lock(root, { wait = wait })
end

function M.open(opts, how)
  opts, how = opts or {}, how or {}
  local project, err = require("deloc.api").project(opts.file)
  if not project then return nil, err end
  local name
  name, err = require("deloc.targets").name(opts, project)
  if not name then return nil, err end
  local s = setmetatable({ opts = opts, project = project, target = name,
    driver = require("deloc.targets").driver(name), emit = how.sink or noop, tick = how.tick, notes = {},
    cache = {} }, Session)
  if how.lock then
    s.lock, err = lock(project.dir or ".", opts)
    if not s.lock then return nil, err end
  end
  if how.connect ~= false then
    s.conn, err = s.driver.connect({ context = opts.context, lazy = how.lazy })
    if not s.conn then s:close(); return nil, err end
    for _, w in ipairs(s.conn.notes or {}) do s.notes[#s.notes + 1] = w end
  end
  return s
end

function Session:close()
  if self.lock then self.lock:unlock(); self.lock = nil end
end

function Session:state()
  if self.st then return self.st end
  local st, warn = require("deloc.state").load(self.project.dir or ".", self.project.name)
  if not st then return nil, warn end
  self.st, self.state_warning = st, warn
  return st
end

function Session:save()
  return require("deloc.state").save(self.project.dir or ".", self.st)
end

-- Replica counts set by `deloc scale` ({ ["spark.worker"] = 3, redis = 1 })
-- as planner overrides; nil when there are none.
function M.scale_overrides(scale)
  if type(scale) ~= "table" or next(scale) == nil then return nil end
  local o = {}
  for key, n in pairs(scale) do
    local svc, comp = key:match("^([^.]+)%.(.+)$")
    if svc then
      o[svc] = o[svc] or {}
      o[svc].components = o[svc].components or {}
      o[svc].components[comp] = { replicas = n }
    else
      o[key] = o[key] or {}
      o[key].replicas = n
    end
  end
  return o
end

-- The overrides of a run: the sticky scale counts, then --set.
local function overrides(opts, scale)
  local o = M.scale_overrides(scale) or {}
  if opts.set and #opts.set > 0 then
    local sets, err = require("deloc.commands.plan").parse_sets(opts.set)
    if not sets then return nil, err end
    for svc, v in pairs(sets) do
      o[svc] = o[svc] and require("deloc.planner").merge_override(o[svc], v) or v
    end
  end
  return next(o) and o or nil
end

-- s:plan(services, ctx) -> plan | nil, err: the plan for this target, sized
-- to what the driver says is there.  ctx.live: the plan is about to be
-- applied (the driver's live inputs count, e.g. ports our containers hold).
function Session:plan(services, ctx)
  ctx = ctx or {}
  local opts = self.opts
  -- live inputs first: for a lazily connected driver they are the first
  -- request, so an unreachable engine fails here, and a reachable one is
  -- settled before capacity asks it (no fallback to this machine's size)
  local inputs = {}
  if ctx.live then
    local ierr
    inputs, ierr = self.driver.plan_inputs(self)
    if not inputs then return nil, ierr end
  end
  local cap, err = self.driver.capacity(self)
  if not cap then return nil, err end
  local o
  o, err = overrides(opts, ctx.scale)
  if err then return nil, err end
  local plan
  plan, err = require("deloc.api").plan({
    services = (services and #services > 0) and services or nil,
    profile = opts.profile, file = opts.file, target = self.target, project = self.project,
    capacity = cap.cpu and { cpu = cap.cpu, memory = cap.memory, disk = cap.disk, source = cap.source,
      engine = cap.engine, nodes = cap.nodes } or nil,
    listening = inputs.listening, previous = ctx.previous, overrides = o,
    reserve = opts.reserve, explain = opts.explain, mounts = opts.mount,
  })
  if not plan then return nil, err end
  if cap.warning then
    plan.warnings = plan.warnings or require("deloc.array").of({})
    table.insert(plan.warnings, cap.warning)
  end
  return plan
end

-- The plan a command about a running project acts on: the last applied one
-- (state file), else planned afresh (the state file may be gone).
function Session:current_plan()
  local st = self:state()
  if st and type(st.plan) == "table" and st.plan.services then return st.plan end
  return self:plan(nil)
end

-- The error of a plan that does not fit where it goes.
function Session:not_fitting(plan, hint)
  local v = plan.verdict or {}
  local choices = v.choices or {}
  return errors.new("RESOURCE_EXHAUSTED", ("the stack does not fit %s (see 'deloc plan')%s")
    :format(self.driver.where or "the target", (v.reasons or {})[1] and (": " .. tostring(v.reasons[1])) or ""),
    { hint = hint or (#choices > 0 and ("try: " .. table.concat(choices, "; ")) or nil) })
end

-- Whether Ctrl-C or TERM asked the run to stop (the CLI catches them).
function Session.interrupted()
  local sig = require("deloc.sys").signal_pending()
  return sig == "INT" or sig == "TERM"
end

return M
