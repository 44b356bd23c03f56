-- deloc graph [SERVICES...]: the dependency graph of a stack, as text, dot or
-- mermaid.
local errors = require("deloc.errors")

local M = {
  name = "graph",
  order = 25,
  usage = "deloc graph [SERVICES...] [--format text|dot|mermaid] [--components]",
  summary = "print the dependency graph (text, Graphviz dot or Mermaid)",
  options = {
    { "format", arg = "FORMAT", help = "text (default), dot or mermaid" },
    { "components", help = "one node per component instead of per service" },
    { "profile", "p", arg = "NAME", help = "sizing profile (options may change dependencies)" },
  },
}

local formats = { text = true, dot = true, mermaid = true }

-- edges(plan, components) -> nodes, edges ({from, to, label})
local function graph_of(plan, components)
  local nodes, edges = {}, {}
  for _, svc in ipairs(plan.order) do
    local s = plan.services[svc]
    if components then
      for _, cn in ipairs(s.component_order) do
        local id = cn == svc and svc or (svc .. "." .. cn)
        nodes[#nodes + 1] = id
        for _, d in ipairs(s.components[cn].depends_on) do
          edges[#edges + 1] = { id, d.component == d.service and d.service or (d.service .. "." .. d.component),
            d.condition }
        end
      end
    else
      nodes[#nodes + 1] = svc
      for _, d in ipairs(s.depends_on) do edges[#edges + 1] = { svc, d } end
    end
  end
  return nodes, edges
end

function M.render(plan, format, components)
  local nodes, edges = graph_of(plan, components)
  local out = {}
  if format == "dot" then
    out[#out + 1] = ('digraph "%s" {\n  rankdir=BT;\n'):format(plan.project)
    for _, n in ipairs(nodes) do out[#out + 1] = ('  "%s";\n'):format(n) end
    for _, e in ipairs(edges) do
      out[#out + 1] = ('  "%s" -> "%s"%s;\n'):format(e[1], e[2], e[3] == "completed" and ' [style=dashed]' or "")
    end
    out[#out + 1] = "}\n"
  elseif format == "mermaid" then
    out[#out + 1] = "graph BT\n"
    local id = {}
    for i, n in ipairs(nodes) do
      id[n] = "n" .. i
      out[#out + 1] = ('  n%d["%s"]\n'):format(i, n)
    end
    for _, e in ipairs(edges) do
      out[#out + 1] = ("  %s %s %s\n"):format(id[e[1]], e[3] == "completed" and "-.->" or "-->", id[e[2]])
    end
  else
    local level_of = {}
    for i, l in ipairs(plan.levels) do for _, s in ipairs(l) do level_of[s] = i end end
    local deps = {}
    for _, e in ipairs(edges) do
      deps[e[1]] = deps[e[1]] or {}
      table.insert(deps[e[1]], e[2] .. (e[3] == "completed" and " (completed)" or ""))
    end
    for _, n in ipairs(nodes) do
      local svc = n:match("^[^.]+")
      out[#out + 1] = ("%d  %s%s\n"):format(level_of[svc], n,
        deps[n] and ("  <- " .. table.concat(deps[n], ", ")) or "")
    end
  end
  return table.concat(out)
end

function M.run(opts, args)
  local format = opts.format or "text"
  if not formats[format] then
    return nil, errors.new("USAGE", ("unknown format '%s'"):format(format), { hint = "formats: text, dot, mermaid" })
  end
  local plan, err = require("deloc.api").plan({ services = args, file = opts.file, profile = opts.profile })
  if not plan then return nil, err end
  if opts.json then
    local nodes, edges = graph_of(plan, opts.components)
    local e = {}
    for i, x in ipairs(edges) do e[i] = { from = x[1], to = x[2], condition = x[3] } end
    local array = require("deloc.array")
    io.stdout:write(require("deloc.json").encode({ nodes = array.of(nodes), edges = array.of(e),
      order = plan.order, levels = plan.levels }, { indent = true }), "\n")
    return 0
  end
  io.stdout:write(M.render(plan, format, opts.components))
  return 0
end

return M
