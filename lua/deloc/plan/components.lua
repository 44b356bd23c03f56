-- deloc.plan.components: the planner's third stage.  Within each service,
-- the enabled components in dependency order, the primary one (what a
-- dependency on the whole service means) and one DNS name each.
--
--   components.run(st) -> true | nil, err; sets
--     st.comp_order = { [svc] = { components, dependencies first } },
--     st.primary = { [svc] = component }
local errors = require("deloc.errors")
local dag = require("deloc.dag")
local facts = require("deloc.plan.facts")

local M = {}

local function invalid(msg, extra)
  return errors.new("CONFIG_INVALID", msg, extra)
end

-- the components' graph inside one service (a dependency on another
-- component of the same service must be enabled too)
local function component_graph(r, svc, enabled)
  local g, on = {}, {}
  for _, c in ipairs(enabled) do on[c] = true end
  for _, cname in ipairs(enabled) do
    local deps = {}
    for _, d in ipairs(r.components[cname].depends_on) do
      if r.components[d] then
        if not on[d] then
          return nil, invalid(("component '%s' of '%s' depends on '%s', which is not enabled"):format(
            cname, svc, d))
        end
        deps[#deps + 1] = d
      end
    end
    g[cname] = deps
  end
  return g, on
end

-- the component named like the service, else the first that is not a
-- one-shot, else the first
local function primary_of(r, svc, corder, on)
  if on[svc] then return svc end
  for _, c in ipairs(corder) do
    if not r.components[c].oneshot then return c end
  end
  return corder[1]
end

function M.run(st)
  st.comp_order, st.primary = {}, {}
  local names_taken = {}
  for _, svc in ipairs(st.order) do
    local r = st.recipes[svc]
    local g, on = component_graph(r, svc, st.enabled[svc])
    if not g then return nil, on end
    local corder, err = dag.order(g)
    if not corder then
      return nil, invalid(("%s: components: %s"):format(svc, err.message))
    end
    st.comp_order[svc] = corder
    st.primary[svc] = primary_of(r, svc, corder, on)
    for _, c in ipairs(corder) do
      local a = facts.id(svc, c)
      if names_taken[a] then
        return nil, invalid(("two components are named '%s': %s and %s"):format(a, names_taken[a],
          svc .. "." .. c), { hint = "rename one of the services or components" })
      end
      names_taken[a] = svc .. "." .. c
    end
  end
  return true
end

return M
