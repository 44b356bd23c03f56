-- deloc.plan.overrides: what a project file or a flag may change of a
-- service (deloc.yaml services.<name>, --set), and the reserve.  Shared by
-- the project loader (which reports marks) and the planner.
--
--   overrides.check(o) -> true | nil, keypath, message
--   overrides.merge(a, b) -> b layered over a, key by key
--   overrides.reserve(v) -> fraction | nil, err: 0.15, "15%", 15 (percent when > 1)
--   overrides.KEYS, overrides.COMPONENT_KEYS, overrides.DEFAULT_RESERVE
-- (the targets there are: deloc.plan.traits, from the drivers)
local array = require("deloc.array")
local errors = require("deloc.errors")
local quantity = require("deloc.quantity")
local recipe_mod = require("deloc.recipe")

local M = {}

M.DEFAULT_RESERVE = 0.15
M.KEYS = { options = 1, env = 1, ports = 1, replicas = 1, resources = 1, image = 1, components = 1, mounts = 1,
  build = 1 }
M.COMPONENT_KEYS = { replicas = 1, resources = 1, env = 1, image = 1, enabled = 1, build = 1 }

local function is_map(v)
  return type(v) == "table" and not array.is(v) and (next(v) == nil or v[1] == nil)
end

local function with(path, k)
  local p = { unpack(path) }
  p[#p + 1] = k
  return p
end

local function check_env(v, p)
  if not is_map(v) then return nil, p, "'env' must be a mapping of NAME: value" end
  for ek, ev in pairs(v) do
    local tv = type(ev)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      return nil, { unpack(p) }, ("env '%s' must be a string, number or boolean"):format(tostring(ek))
    end
  end
  return true
end

local function check_resources(v, p)
  if not is_map(v) then return nil, p, "'resources' must be a mapping (memory, cpu)" end
  for rk, rv in pairs(v) do
    local rp = with(p, rk)
    if rk == "memory" or rk == "cpu" then
      local _, err = quantity[rk](rv)
      if err then return nil, rp, err end
    else
      return nil, rp, ("unknown key '%s' in resources (memory, cpu)%s"):format(tostring(rk),
        recipe_mod.hint(tostring(rk), { memory = 1, cpu = 1 }))
    end
  end
  return true
end

local function check_ports(v, p)
  if not is_map(v) then return nil, p, "'ports' must be a mapping of port name: host port" end
  local seen = {}
  for pk, pv in pairs(v) do
    local pp = with(p, pk)
    if type(pv) ~= "number" or pv ~= math.floor(pv) or pv < 1 or pv > 65535 then
      return nil, pp, ("host port %s for '%s' is out of range (1-65535)"):format(tostring(pv), tostring(pk))
    end
    if seen[pv] then
      return nil, pp, ("host port %d is given to both '%s' and '%s'"):format(pv, seen[pv], tostring(pk))
    end
    seen[pv] = tostring(pk)
  end
  return true
end

local check_keys

local function check_components(v, p)
  if not is_map(v) then return nil, p, "'components' must be a mapping" end
  for ck, cv in pairs(v) do
    local cp = with(p, ck)
    if not is_map(cv) then return nil, cp, "must be a mapping" end
    local ok, kp, msg = check_keys(cv, cp, M.COMPONENT_KEYS)
    if not ok then return nil, kp, msg end
  end
  return true
end

-- one checker a key: (value, keypath) -> true | nil, keypath, message
local CHECK = {
  env = check_env,
  resources = check_resources,
  ports = check_ports,
  components = check_components,
  replicas = function(v, p)
    if type(v) ~= "number" or v ~= math.floor(v) or v < 1 or v > 1000 then
      return nil, p, "'replicas' must be a whole number from 1 to 1000"
    end
    return true
  end,
  image = function(v, p)
    if type(v) ~= "string" or v == "" then return nil, p, "'image' must be an image reference" end
    return true
  end,
  enabled = function(v, p)
    if type(v) ~= "boolean" then return nil, p, "'enabled' must be true or false" end
    return true
  end,
  options = function(v, p)
    if not is_map(v) then return nil, p, "'options' must be a mapping" end
    return true
  end,
  build = function(v, p) -- { context=, dockerfile= }, as a recipe says it
    local ok, err = pcall(recipe_mod.build_def, v, p)
    if ok then return true end
    if type(err) ~= "table" then error(err, 0) end
    return nil, err.path or p, err.msg
  end,
  mounts = function(v, p) -- resolved by deloc.mounts (project file, --mount)
    for mk, mv in pairs(is_map(v) and v or { false }) do
      if type(mv) ~= "table" or type(mv.source) ~= "string" then
        return nil, p, ("mount '%s' must be resolved by deloc.mounts"):format(tostring(mk))
      end
    end
    return true
  end,
}

function check_keys(t, path, keys)
  for k, v in pairs(t) do
    local p = with(path, k)
    if not keys[k] then
      return nil, p, ("unknown key '%s'%s"):format(tostring(k), recipe_mod.hint(tostring(k), keys))
    end
    local ok, kp, msg = CHECK[k](v, p)
    if not ok then return nil, kp, msg end
  end
  return true
end

function M.check(o)
  if not is_map(o) then return nil, {}, "must be a mapping" end
  return check_keys(o, {}, M.KEYS)
end

function M.merge(a, b)
  if not a then return b end
  if not b then return a end
  local r = {}
  for k, v in pairs(a) do r[k] = v end
  for k, v in pairs(b) do
    if type(v) == "table" and type(r[k]) == "table" then
      r[k] = M.merge(r[k], v)
    else
      r[k] = v
    end
  end
  return r
end

function M.reserve(v)
  local n
  if type(v) == "number" then n = v > 1 and v / 100 or v
  elseif type(v) == "string" then
    local p = v:match("^%s*(%d+%.?%d*)%%%s*$")
    if p then n = tonumber(p) / 100 else n = tonumber(v) end
  end
  if not n or n < 0 or n >= 0.9 then
    return nil, errors.new("CONFIG_INVALID",
      ("invalid reserve %s (a percentage below 90%%, like 15%%)"):format(tostring(v)))
  end
  return n
end

return M
