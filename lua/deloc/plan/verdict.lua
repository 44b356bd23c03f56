-- deloc.plan.verdict: the planner's last stage.  Sizing said whether the
-- memory and CPU minimums fit; this adds the disk the volumes need, the
-- choices when the stack does not fit (drop a service nobody needs, lower
-- the biggest component, fewer replicas, more capacity, a lower reserve),
-- and, on a cluster, replicas no node has room for.
--
--   verdict.run(st) -> true; completes st.verdict
--     = { fits=, needed = { cpu=, memory=, disk=, cpu_min=, memory_min= },
--         available=, shrunk=, choices = { "drop trino (frees 2.0 GiB)", ... }, reasons = { ... } }
local quantity = require("deloc.quantity")

local M = {}

local Mi = 1024 * 1024
local fmt_mem = quantity.format_memory

local function disk(st)
  local v, usable = st.verdict, st.capacity.usable
  v.needed.disk = st.disk_needed
  if usable.disk and st.disk_needed > usable.disk then
    v.fits = false
    v.reasons[#v.reasons + 1] = ("disk: volumes need %s, %s is free where they live%s"):format(
      fmt_mem(st.disk_needed), fmt_mem(usable.disk),
      st.capacity.source.disk and (" (" .. st.capacity.source.disk .. ")") or "")
  end
end

-- services no other planned service depends on, biggest first, that would
-- free at least `over` each
local function drops(st, over, choices)
  local needed_by = {}
  for _, svc in ipairs(st.order) do
    for _, d in ipairs(st.graph[svc]) do needed_by[d] = true end
  end
  local list = {}
  for _, svc in ipairs(st.order) do
    if not needed_by[svc] then
      local m = 0
      for _, it in ipairs(st.items) do
        if it.svc == svc and not it.oneshot then m = m + it.memory.min * it.replicas end
      end
      list[#list + 1] = { svc = svc, mem = m }
    end
  end
  table.sort(list, function(a, b) if a.mem ~= b.mem then return a.mem > b.mem end return a.svc < b.svc end)
  for _, d in ipairs(list) do
    if d.mem >= over then choices[#choices + 1] = ("drop %s (frees %s)"):format(d.svc, fmt_mem(d.mem)) end
  end
end

-- lowering the biggest component below its recipe min (at its own risk),
-- or running fewer replicas
local function smaller(st, over, choices)
  local items = {}
  for i, it in ipairs(st.items) do items[i] = it end
  table.sort(items, function(a, b)
    if a.memory.min ~= b.memory.min then return a.memory.min > b.memory.min end
    return a.svc .. a.comp < b.svc .. b.comp
  end)
  local big = items[1]
  if not big then return end
  local to = math.floor((big.memory.min - over / big.replicas) / Mi) * Mi
  if to >= 64 * Mi then
    choices[#choices + 1] = ("set %s memory <= %s (below its recipe minimum %s)"):format(
      big.comp == big.svc and big.svc or (big.svc .. "." .. big.comp), fmt_mem(to), fmt_mem(big.memory.min))
  end
  for _, it in ipairs(items) do
    if it.replicas > 1 then
      choices[#choices + 1] = ("run fewer replicas of %s.%s (now %d)"):format(it.svc, it.comp, it.replicas)
    end
  end
end

local function memory_choices(st, choices)
  local over = st.mem_min_total - st.capacity.usable.memory
  if over <= 0 then return end
  if st.profile.name ~= "minimal" then
    -- the minimal profile does not go below the mins, but flags and
    -- project values it would not cap may be the cause
    for _, it in ipairs(st.items) do
      if it.why.memory == "override" then
        choices[#choices + 1] = "remove the memory overrides in deloc.yaml or flags"
        break
      end
    end
  end
  drops(st, over, choices)
  smaller(st, over, choices)
  choices[#choices + 1] = ("%s: %s more is needed"):format(st.traits.more_memory, fmt_mem(over))
  choices[#choices + 1] = ("lower the reserve (now %d%%)"):format(math.floor(st.reserve * 100 + 0.5))
end

local function choices(st)
  local v, usable, c = st.verdict, st.capacity.usable, st.verdict.choices
  memory_choices(st, c)
  if usable.disk and st.disk_needed > usable.disk then
    c[#c + 1] = ("free %s of disk"):format(fmt_mem(st.disk_needed - usable.disk))
  end
  if v.needed.cpu_min > usable.cpu and st.traits.cpu == "request" then
    c[#c + 1] = ("add %s CPUs to %s"):format(quantity.format_cpu(v.needed.cpu_min - usable.cpu), st.traits.where)
  end
end

-- replicas without a node: does not fit (reported when nothing else was)
local function placement(st)
  local v, pl = st.verdict, st.placement
  if not pl or st.placement_fits or not v.fits then return end
  v.fits = false
  for _, name in ipairs(pl.unplaced) do
    v.reasons[#v.reasons + 1] = ("%s: %s"):format(name, pl.reasons[name] or "no node has room")
  end
end

function M.run(st)
  disk(st)
  if not st.verdict.fits then choices(st) end
  placement(st)
  return true
end

return M
