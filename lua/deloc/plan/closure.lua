-- deloc.plan.closure: the planner's second stage.  Breadth-first from what
-- was asked for, loading recipes as they are needed: each service's options,
-- enabled components and dependencies, then the dependency order.
--
--   closure.run(st) -> true | nil, err; sets
--     st.recipes = { [svc] = recipe }, st.why = { [svc] = "asked for" | "needed by X" },
--     st.graph = { [svc] = { deps, sorted } }, st.options = { [svc] = { resolved } },
--     st.enabled = { [svc] = { component names, recipe order } },
--     st.order = { services, dependencies first }, st.levels
local errors = require("deloc.errors")
local recipe_mod = require("deloc.recipe")
local dag = require("deloc.dag")
local array = require("deloc.array")

local M = {}

local function invalid(msg, extra)
  return errors.new("CONFIG_INVALID", msg, extra)
end

local function resolve_options(r, given, svc)
  local opt = {}
  for k, o in pairs(r.options) do opt[k] = o.default end
  for k, v in pairs(given or {}) do
    local o = r.options[k]
    if not o then
      return nil, invalid(("service '%s' has no option '%s'%s"):format(svc, tostring(k),
        recipe_mod.hint(tostring(k), r.options)), {
        hint = next(r.options) and ("options: " .. table.concat(array.sorted_keys(r.options), ", ")) or nil })
    end
    if o.choices then
      local ok = false
      for _, c in ipairs(o.choices) do if c == v then ok = true end end
      if not ok then
        return nil, invalid(("option '%s' of '%s' cannot be '%s' (one of: %s)"):format(k, svc,
          tostring(v), table.concat(o.choices, ", ")))
      end
    elseif o.default ~= nil and type(v) ~= type(o.default) then
      return nil, invalid(("option '%s' of '%s' must be a %s"):format(k, svc, type(o.default)))
    end
    opt[k] = v
  end
  return opt
end

-- the recipe's depends_on (a list, or a function of the options)
local function declared_deps(r, name, opt)
  local deps = r.depends_on
  if type(deps) == "function" then
    local err
    deps, err = recipe_mod.call(deps, (r.path or name) .. ": depends_on", opt)
    if err then return nil, err end
    if type(deps) ~= "table" then
      return nil, invalid(("%s: depends_on must return a list of service names"):format(r.path or name))
    end
  end
  return deps
end

-- enabled components (recipe, then overrides), calling add_dep for the
-- services their depends_on name
local function enabled_components(r, name, opt, ov, add_dep)
  local enabled = {}
  local cov_all = ov and ov.components or {}
  for cname in pairs(cov_all) do
    if not r.components[cname] then
      return nil, invalid(("service '%s' has no component '%s'%s"):format(name, cname,
        recipe_mod.hint(cname, r.component_names)))
    end
  end
  for _, cname in ipairs(r.component_names) do
    local c = r.components[cname]
    local on = c.enabled
    if type(on) == "function" then
      local err
      on, err = recipe_mod.call(on, (r.path or name) .. ": components." .. cname .. ".enabled", opt)
      if err then return nil, err end
    end
    if cov_all[cname] and cov_all[cname].enabled ~= nil then on = cov_all[cname].enabled end
    if on then
      enabled[#enabled + 1] = cname
      for _, d in ipairs(c.depends_on) do
        if not r.components[d] then add_dep((d:match("^([^.]+)"))) end
      end
    end
  end
  if #enabled == 0 then
    return nil, invalid(("service '%s' has no enabled component"):format(name))
  end
  return enabled
end

-- one service: its recipe, options, components and dependency list
local function visit(st, name)
  local r, err = st.registry:get(name, st.why[name]:match("^needed by (.+)$"))
  if not r then return nil, err end
  st.recipes[name] = r
  local ov = st.override_of(name)
  local opt
  opt, err = resolve_options(r, ov and ov.options, name)
  if not opt then return nil, err end
  st.options[name] = opt
  local deps
  deps, err = declared_deps(r, name, opt)
  if not deps then return nil, err end
  local dep_list, dep_seen = {}, {}
  local function add_dep(d)
    if not dep_seen[d] then
      dep_seen[d] = true
      dep_list[#dep_list + 1] = d
    end
  end
  for _, d in ipairs(deps) do add_dep(d) end
  st.enabled[name], err = enabled_components(r, name, opt, ov, add_dep)
  if not st.enabled[name] then return nil, err end
  table.sort(dep_list)
  return dep_list
end

function M.run(st)
  st.recipes, st.why, st.graph, st.options, st.enabled = {}, {}, {}, {}, {}
  local queue, head = {}, 1
  for _, name in ipairs(st.asked) do
    st.why[name] = "asked for"
    queue[#queue + 1] = name
  end
  while queue[head] do
    local name = queue[head]
    head = head + 1
    local dep_list, err = visit(st, name)
    if not dep_list then return nil, err end
    st.graph[name] = dep_list
    for _, d in ipairs(dep_list) do
      if d == name then
        return nil, invalid(("dependency cycle: %s -> %s"):format(name, name))
      end
      if not st.why[d] then
        st.why[d] = "needed by " .. name
        queue[#queue + 1] = d
      end
    end
  end
  local order, levels = dag.order(st.graph)
  if not order then return nil, levels end
  st.order, st.levels = order, levels
  return true
end

return M
