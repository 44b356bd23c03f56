-- deloc.plan.placement: the planner's eighth stage.  When the capacity has
-- nodes (a Kubernetes cluster: opts.capacity.nodes = { { name=, cpu=, memory= } }),
-- every replica is packed onto a node (deloc.pack, memory x CPU, each node
-- less the reserve); the verdict stage turns replicas without room into
-- "does not fit".  Without nodes (one machine) there is nothing to place.
--
--   placement.run(st) -> true; sets st.placement = { nodes = { { node=, components = { names } } },
--       unplaced = { names }, reasons = { [name] = why } } | nil, st.placement_fits
--   placement.place(plan, nodes [, strategy]) -> { placement = { [name] = node },
--       by_node = { [node] = { names } }, unplaced=, reasons=, fits= }
-- A replica's name: "svc" or "svc/comp", with "#i" when there are several.
local array = require("deloc.array")
local pack = require("deloc.pack")

local M = {}

local function replicas(plan)
  local items = {}
  for _, sname in ipairs(plan.order) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order) do
      local comp = s.components[cname]
      local n = comp.kind == "oneshot" and 1 or (comp.replicas or 1)
      for i = 1, n do
        local name = sname == cname and sname or (sname .. "/" .. cname)
        if n > 1 then name = name .. "#" .. i end
        -- a wait init container asks for 10m/32Mi at most: below the main one
        items[#items + 1] = { name = name, cpu = comp.cpu or 0, memory = comp.memory or 0 }
      end
    end
  end
  return items
end

function M.place(plan, nodes, strategy)
  local reserve = (plan.capacity or {}).reserve or 0
  local bins = {}
  for _, node in ipairs(nodes or {}) do
    bins[#bins + 1] = { name = node.name, cpu = math.floor(node.cpu * (1 - reserve) * 1000) / 1000,
                        memory = math.floor(node.memory * (1 - reserve)) }
  end
  local r = pack.pack(replicas(plan), bins, { strategy = strategy or "best" })
  r.by_node = {}
  for _, b in ipairs(bins) do r.by_node[b.name] = (r.bins[b.name] or {}).items or {} end
  return r
end

function M.run(st)
  if not st.nodes then return true end
  local placed = M.place({ order = st.order, services = st.services, capacity = st.capacity }, st.nodes)
  local nodes = array.of({})
  for _, n in ipairs(st.nodes) do
    nodes[#nodes + 1] = { node = n.name, components = array.of(placed.by_node[n.name] or {}) }
  end
  st.placement = { nodes = nodes, unplaced = array.of(placed.unplaced or {}), reasons = placed.reasons }
  st.placement_fits = placed.fits
  return true
end

return M
