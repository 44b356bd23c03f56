-- deloc.profiles: how big a stack should be.  The three built-in profiles are
-- the memory profiles of the architecture document:
--
--   profile       budget  per service  JVM heap  buffer  cache
--   minimal       512Mi   128Mi        0.5       16Mi    32Mi
--   development   2Gi     512Mi        0.7       64Mi    128Mi
--   production    8Gi     2Gi          0.8       256Mi   512Mi
--
-- How the planner uses them: a component gets its recipe's value for the
-- profile (or for the built-in profile it derives from), capped at the
-- per-service limit but never below the recipe's minimum; the stack is then
-- shrunk fairly towards the minimums to stay within the budget (a soft target:
-- when the minimums alone exceed it the plan warns) and within the machine
-- (a hard limit: the plan refuses).  JVM heaps are the heap ratio of the
-- final container memory.  Buffer and cache sizes reach recipes as
-- `s.profile_values.buffer_mb` / `cache_mb`.
--
-- A project derives its own in deloc.yaml:
--   profiles:
--     laptop: { from: development, budget: { memory: 6Gi }, per_service: { memory: 1Gi } }
local quantity = require("deloc.quantity")
local errors = require("deloc.errors")

local M = {}

local Mi, Gi = 1024 ^ 2, 1024 ^ 3

M.builtin = {
  minimal = {
    name = "minimal", base = "minimal",
    budget = { memory = 512 * Mi }, per_service = { memory = 128 * Mi },
    jvm_heap_ratio = 0.5, buffer = 16 * Mi, cache = 32 * Mi,
  },
  development = {
    name = "development", base = "development",
    budget = { memory = 2 * Gi }, per_service = { memory = 512 * Mi },
    jvm_heap_ratio = 0.7, buffer = 64 * Mi, cache = 128 * Mi,
  },
  production = {
    name = "production", base = "production",
    budget = { memory = 8 * Gi }, per_service = { memory = 2 * Gi },
    jvm_heap_ratio = 0.8, buffer = 256 * Mi, cache = 512 * Mi,
  },
}
M.names = { "minimal", "development", "production" }
M.default = "development"

-- The keys of a user profile, for did-you-mean.
M.keys = { from = 1, budget = 1, per_service = 1, jvm_heap_ratio = 1, buffer = 1, cache = 1,
  description = 1 }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = type(v) == "table" and copy(v) or v end
  return c
end

-- check(def) -> true | nil, keypath, message: a user profile's shape
function M.check(def)
  if type(def) ~= "table" then return nil, nil, "a profile must be a mapping" end
  for k in pairs(def) do
    if not M.keys[k] then
      return nil, { k }, ("unknown profile key '%s'%s"):format(tostring(k), require("deloc.recipe").hint(tostring(k), M.keys))
    end
  end
  if def.from ~= nil and type(def.from) ~= "string" then
    return nil, { "from" }, "'from' must be a profile name"
  end
  for _, group in ipairs({ "budget", "per_service" }) do
    local g = def[group]
    if g ~= nil then
      if type(g) ~= "table" then return nil, { group }, ("'%s' must be a mapping"):format(group) end
      for k, v in pairs(g) do
        if k == "memory" then
          local _, err = quantity.memory(v)
          if err then return nil, { group, k }, err end
        elseif k == "cpu" then
          local _, err = quantity.cpu(v)
          if err then return nil, { group, k }, err end
        else
          return nil, { group, k }, ("unknown key '%s' in %s (memory or cpu)"):format(tostring(k), group)
        end
      end
    end
  end
  local r = def.jvm_heap_ratio
  if r ~= nil and (type(r) ~= "number" or r <= 0 or r >= 1) then
    return nil, { "jvm_heap_ratio" }, "'jvm_heap_ratio' must be a number between 0 and 1"
  end
  for _, k in ipairs({ "buffer", "cache" }) do
    if def[k] ~= nil then
      local _, err = quantity.memory(def[k])
      if err then return nil, { k }, err end
    end
  end
  return true
end

-- resolve(name, user_profiles) -> profile | nil, err
-- profile = { name=, base= (the built-in it derives from), from=, budget = { memory=, cpu= },
--             per_service = { memory=, cpu= }, jvm_heap_ratio=, buffer=, cache= }  (bytes)
function M.resolve(name, user, seen)
  user = user or {}
  seen = seen or {}
  if seen[name] then
    return nil, errors.new("CONFIG_INVALID", ("profile '%s' derives from itself"):format(name))
  end
  seen[name] = true
  local def = user[name]
  if def == nil then
    local b = M.builtin[name]
    if b then return copy(b) end
    local known = {}
    for _, n in ipairs(M.names) do known[#known + 1] = n end
    for n in pairs(user) do known[#known + 1] = n end
    table.sort(known)
    local c = require("deloc.recipe").closest(name, known)
    return nil, errors.new("CONFIG_INVALID", ("unknown profile '%s'"):format(name), {
      hint = (c and ("did you mean '" .. c .. "'? ") or "") .. "profiles: " .. table.concat(known, ", "),
    })
  end
  local ok, key, msg = M.check(def)
  if not ok then
    return nil, errors.new("CONFIG_INVALID", ("profile '%s': %s%s"):format(name,
      key and (table.concat(key, ".") .. ": ") or "", msg))
  end
  local p, err
  if M.builtin[name] and (def.from == nil or def.from == name) then
    p = copy(M.builtin[name]) -- a project may retune a built-in profile
  else
    p, err = M.resolve(def.from or M.default, user, seen)
    if not p then return nil, err end
    p.from = def.from or M.default
  end
  p.name = name
  for _, group in ipairs({ "budget", "per_service" }) do
    for k, v in pairs(def[group] or {}) do
      p[group][k] = k == "memory" and quantity.memory(v) or quantity.cpu(v)
    end
  end
  if def.jvm_heap_ratio then p.jvm_heap_ratio = def.jvm_heap_ratio end
  if def.buffer then p.buffer = quantity.memory(def.buffer) end
  if def.cache then p.cache = quantity.memory(def.cache) end
  return p
end

-- The values recipes see as s.profile_values.
function M.values(p)
  return {
    name = p.name, base = p.base,
    buffer_mb = math.floor(p.buffer / Mi), cache_mb = math.floor(p.cache / Mi),
    jvm_heap_ratio = p.jvm_heap_ratio,
    budget_mb = p.budget.memory and math.floor(p.budget.memory / Mi) or nil,
    per_service_mb = p.per_service.memory and math.floor(p.per_service.memory / Mi) or nil,
  }
end

return M
