-- deloc.plan.sizing: the planner's fourth stage.  The capacity, each
-- component's replicas, memory and CPU, shrunk fairly to the budget and the
-- capacity, and whether the minimums fit (the memory and CPU part of the
-- verdict; deloc.plan.verdict adds disk, placement and choices).
--
-- Each component starts at its recipe's value for the profile (or the
-- built-in profile it derives from), capped at the profile's per-service
-- limit, never below the recipe's min nor above its max; a value given in the
-- project file or a flag is fixed.  Needed memory is the sum over running
-- components (times replicas) plus the largest one-shot.  Over the target
-- (the smaller of the profile budget and the usable capacity) every component
-- gives up the same fraction of its room above its min.
--
--   sizing.run(st) -> true | nil, err; sets st.capacity, st.pv (profile values),
--     st.items = { { svc=, comp=, oneshot=, replicas=, memory = { want=, min= },
--                    cpu = {...}, final_memory=, final_cpu=, why = {...} } },
--     st.item_of = { [svc] = { [comp] = item } }, st.verdict, st.mem_min_total
local array = require("deloc.array")
local errors = require("deloc.errors")
local quantity = require("deloc.quantity")
local profiles = require("deloc.profiles")
local overrides = require("deloc.plan.overrides")

local M = {}

local Mi = 1024 * 1024
local fmt_mem = quantity.format_memory

local function capacity_of(opts, reserve)
  local c = opts.capacity
  if not c or not c.memory or not c.cpu or not c.disk then
    local r, err = require("deloc.sys").resources()
    if not r then return nil, err end
    c = c or {}
    local src = r.source or {}
    c = { cpu = c.cpu or r.cpu, memory = c.memory or r.memory, disk = c.disk or r.disk,
          source = c.source or {}, nodes = c.nodes }
    for k, v in pairs(src) do if c.source[k] == nil then c.source[k] = v end end
  end
  local cap = { cpu = c.cpu, memory = c.memory, disk = c.disk, source = c.source or {}, reserve = reserve }
  cap.usable = {
    cpu = math.floor(c.cpu * (1 - reserve) * 100) / 100,
    memory = math.floor(c.memory * (1 - reserve)),
    disk = c.disk and math.floor(c.disk * (1 - reserve)) or nil,
  }
  return cap, c.nodes
end

-- Fair shrinking: every item gives up the same fraction f of (value - min);
-- the total is sum over running items (value * replicas) + the largest one-shot.
local function total_at(items, key, f)
  local steady, oneshot = 0, 0
  for i = 1, #items do
    local it = items[i]
    local v = it[key].min + f * (it[key].want - it[key].min)
    if it.oneshot then
      if v > oneshot then oneshot = v end
    else
      steady = steady + v * it.replicas
    end
  end
  return steady + oneshot
end
M.total_at = total_at

local function shrink(items, key, target)
  local full = total_at(items, key, 1)
  if full <= target then return 1, full end
  local low = total_at(items, key, 0)
  if low >= target then return 0, low end
  local lo, hi = 0, 1
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    if total_at(items, key, mid) <= target then lo = mid else hi = mid end
  end
  return lo, total_at(items, key, lo)
end

local function pick_value(res, base, key)
  local p = res.profiles
  for _, name in ipairs({ base, "development", "minimal", "production" }) do
    if p[name] and p[name][key] then return p[name][key], name end
  end
  return nil
end

local function replicas_of(svc, cname, c, ov, cov, single)
  local want = cov.replicas
  if want == nil and ov.replicas ~= nil and (single or c.scalable) then want = ov.replicas end
  if want == nil then return c.replicas, "recipe" end
  if want > 1 and not c.scalable then
    return nil, errors.new("CONFIG_INVALID",
      ("%s.%s cannot run %d replicas: it is not scalable"):format(svc, cname, want))
  end
  return want, "override"
end

local function fmt(key, v) return key == "memory" and fmt_mem(v) or quantity.format_cpu(v) end

-- the wanted value and the floor of one resource of one component
local function want_and_min(st, it, res, rov, key)
  local profile = st.profile
  local v, from = pick_value(res, profile.base, key)
  local src
  if v then
    src = ("recipe %s"):format(from)
  else
    v = key == "memory" and (profile.per_service.memory or 256 * Mi) or 0.5
    src = "profile default"
  end
  local cap = profile.per_service[key]
  if cap and v > cap then
    v = cap
    src = src .. (", capped by profile %s per-service %s"):format(profile.name, fmt(key, cap))
  end
  local lo = res.min[key]
  if not lo then
    lo = key == "memory" and math.min(v, math.max(32 * Mi, math.floor(v / 2))) or math.min(v, 0.1)
  end
  local hi = res.max[key]
  if v < lo then v = lo; src = src .. ", raised to the recipe min" end
  if hi and v > hi then v = hi; src = src .. ", lowered to the recipe max" end
  if rov[key] ~= nil then
    v = quantity[key](rov[key])
    src = "override"
    if v < lo then
      st.warnings[#st.warnings + 1] = ("%s.%s: %s %s is below the recipe's minimum %s"):format(it.svc, it.comp,
        key, fmt(key, v), fmt(key, lo))
    end
    lo = v
  end
  it[key] = { want = v, min = lo }
  it.why[key] = src
end

local function item(st, svc, cname, ov, single)
  local c = st.recipes[svc].components[cname]
  local cov = ov.components and ov.components[cname] or {}
  local it = { svc = svc, comp = cname, oneshot = c.oneshot, why = {} }
  local replicas, src = replicas_of(svc, cname, c, ov, cov, single)
  if not replicas then return nil, src end
  it.replicas, it.why.replicas = replicas, src
  local rov = overrides.merge(ov.resources or {}, cov.resources or {})
  if not single and ov.resources and not cov.resources then rov = ov.resources end
  want_and_min(st, it, c.resources, rov, "memory")
  want_and_min(st, it, c.resources, rov, "cpu")
  return it
end

-- every component at its recipe/profile/override values, with its floor
local function wanted(st)
  st.items, st.item_of = {}, {}
  for _, svc in ipairs(st.order) do
    local ov = st.override_of(svc) or {}
    local single = #st.comp_order[svc] == 1
    st.item_of[svc] = {}
    for _, cname in ipairs(st.comp_order[svc]) do
      local it, err = item(st, svc, cname, ov, single)
      if not it then return nil, err end
      st.items[#st.items + 1] = it
      st.item_of[svc][cname] = it
    end
  end
  return true
end

-- each component's final memory and CPU after shrinking to the targets
local function shrunk(st, fm, fc, mem_why)
  local shrunk_list = st.verdict.shrunk
  for _, it in ipairs(st.items) do
    local m, c = it.memory, it.cpu
    local v = math.floor((m.min + fm * (m.want - m.min)) / Mi) * Mi
    if v < m.min then v = m.min end
    local cv = math.floor((c.min + fc * (c.want - c.min)) * 100) / 100
    if cv < c.min then cv = c.min end
    it.final_memory, it.final_cpu = v, cv
    if v < m.want or cv < c.want then
      shrunk_list[#shrunk_list + 1] = { service = it.svc, component = it.comp,
        from = { memory = m.want, cpu = c.want }, to = { memory = v, cpu = cv } }
      if v < m.want then it.why.memory = it.why.memory .. (", shrunk from %s %s"):format(fmt_mem(m.want), mem_why) end
      if cv < c.want then it.why.cpu = it.why.cpu .. (", shrunk from %s to fit the CPUs"):format(quantity.format_cpu(c.want)) end
    end
  end
end

local function needed(st)
  local steady_m, one_m, steady_c, one_c = 0, 0, 0, 0
  for _, it in ipairs(st.items) do
    if it.oneshot then
      if it.final_memory > one_m then one_m = it.final_memory end
      if it.final_cpu > one_c then one_c = it.final_cpu end
    else
      steady_m = steady_m + it.final_memory * it.replicas
      steady_c = steady_c + it.final_cpu * it.replicas
    end
  end
  return { memory = steady_m + one_m, cpu = math.floor((steady_c + one_c) * 100 + 0.5) / 100,
           memory_min = st.mem_min_total,
           cpu_min = math.floor(total_at(st.items, "cpu", 0) * 100 + 0.5) / 100 }
end

-- Still over the capacity at the mins: the plan does not fit.  Over only the
-- budget: a warning.  CPU over the capacity at the mins is a warning where
-- the target's CPU is a limit (a cap: containers share the CPUs) and does not
-- fit where it is a request (reserved: it must be schedulable).
local function fit(st)
  local v, cap, profile, warnings = st.verdict, st.capacity, st.profile, st.warnings
  if st.mem_min_total > cap.usable.memory then
    v.fits = false
    v.reasons[#v.reasons + 1] = ("memory: the stack needs at least %s, %s is usable (%s detected, %d%% kept in reserve)")
      :format(fmt_mem(st.mem_min_total), fmt_mem(cap.usable.memory), fmt_mem(cap.memory),
        math.floor(st.reserve * 100 + 0.5))
  elseif profile.budget.memory and st.mem_min_total > profile.budget.memory then
    warnings[#warnings + 1] = ("the stack's minimum memory %s is above profile %s's budget %s"):format(
      fmt_mem(st.mem_min_total), profile.name, fmt_mem(profile.budget.memory))
  end
  if v.needed.cpu_min > cap.usable.cpu then
    local msg = ("cpu: the stack needs at least %s CPUs, %s are usable"):format(
      quantity.format_cpu(v.needed.cpu_min), quantity.format_cpu(cap.usable.cpu))
    if st.traits.cpu == "request" then
      v.fits = false
      v.reasons[#v.reasons + 1] = msg
    else
      warnings[#warnings + 1] = msg .. "; containers will share them"
    end
  end
end

function M.run(st)
  local err
  st.capacity, err = capacity_of(st.opts, st.reserve)
  if not st.capacity then return nil, err end
  st.nodes = err
  local ok
  ok, err = wanted(st)
  if not ok then return nil, err end
  st.pv = profiles.values(st.profile)
  local cap, profile = st.capacity, st.profile
  st.verdict = { fits = true, shrunk = array.of({}), choices = array.of({}), reasons = array.of({}) }
  local mem_target = cap.usable.memory
  if profile.budget.memory and profile.budget.memory < mem_target then mem_target = profile.budget.memory end
  local mem_why = mem_target < cap.usable.memory
    and ("to fit profile %s's budget %s"):format(profile.name, fmt_mem(mem_target)) or "to fit this machine"
  local fm = shrink(st.items, "memory", mem_target)
  st.mem_min_total = total_at(st.items, "memory", 0)
  local cpu_target = cap.usable.cpu
  if profile.budget.cpu and profile.budget.cpu < cpu_target then cpu_target = profile.budget.cpu end
  local fc = shrink(st.items, "cpu", cpu_target)
  shrunk(st, fm, fc, mem_why)
  st.verdict.needed = needed(st)
  st.verdict.available = { memory = cap.usable.memory, cpu = cap.usable.cpu, disk = cap.usable.disk }
  fit(st)
  return true
end

return M
