-- deloc.dag: the order in which things that depend on each other start, the
-- levels that may start together, and a cycle named as a path.
--
--   local order, levels = dag.order{ airflow = { "postgres", "redis" },
--                                    postgres = {}, redis = {} }
--   --> { "postgres", "redis", "airflow" }, { { "postgres", "redis" }, { "airflow" } }
--
-- A graph maps each node name to the list of names it depends on; those come
-- first.  Every name a list mentions must be a node of the graph itself.
--
-- dag.order(graph) -> order, levels | nil, err
--   order: every name once, dependencies first; whenever several names are
--   ready, the smallest (byte order) goes next, so the result depends only on
--   the graph.  levels[1] holds the names without dependencies, levels[k] those
--   whose deepest dependency is in level k - 1; each level is sorted.
-- dag.reverse_order(graph) -> order, levels | nil, err
--   for shutdown, dependents first: order is dag.order's, reversed; levels[1]
--   holds the names nothing depends on, levels[k] those whose deepest
--   dependent is in level k - 1; each level is sorted.
-- dag.closure(graph, roots) -> names, why | nil, err
--   names: the roots and all they need, transitively, sorted; why[name] is
--   "asked for" for a root, else "needed by X" where X is the first name that
--   reaches it breadth-first from the roots in the given order (so the
--   shortest chain).  A closure does not look for cycles; order it to do so.
--
-- err (deloc.errors, code CONFIG_INVALID; prints as its message):
--   { kind = "cycle", cycle = { "a", "b", "c", "a" },
--     message = "dependency cycle: a -> b -> c -> a" }   (a self loop: a -> a)
--   { kind = "missing", node = "y", from = "x",
--     message = "'x' depends on 'y', which does not exist" }
--   { kind = "missing", node = "y", message = "'y' does not exist" }  (a root)
-- A missing name is reported before any cycle.  Which one is fixed by the
-- graph alone: the smallest name with a missing dependency, its first one in
-- list order; the cycle is rotated to start at its smallest name.
--
-- Passing something that is not a graph (a non-table, a non-string name or
-- dependency, a node whose value is not a list) is a programming error and
-- raises.  The order itself runs in C (src/dag.c) over ids given in name order.
local native = require("deloc.native.dag")
local errors = require("deloc.errors")
local array = require("deloc.array")

local M = {}

local function cycle_error(path)
  return errors.new("CONFIG_INVALID", "dependency cycle: " .. table.concat(path, " -> "),
    { kind = "cycle", cycle = array.of(path) })
end

local function missing_error(from, name)
  if from == nil then
    return errors.new("CONFIG_INVALID", ("'%s' does not exist"):format(name),
      { kind = "missing", node = name })
  end
  return errors.new("CONFIG_INVALID", ("'%s' depends on '%s', which does not exist"):format(from, name),
    { kind = "missing", node = name, from = from })
end

-- `level` is error()'s level of the public function's caller, seen from here
local function check_graph(graph, fn, level)
  if type(graph) ~= "table" then
    error(("dag.%s: graph must be a table, got %s"):format(fn, type(graph)), level + 1)
  end
end

local function run_order(graph, fn, level)
  check_graph(graph, fn, level + 1)
  local ok, a, b, c, d = pcall(native.order, graph)
  if not ok then error("dag." .. fn .. ": " .. tostring(a), level + 1) end
  if a then
    array.of(a)
    array.of(b)
    for i = 1, #b do array.of(b[i]) end
    return a, b
  end
  if b == "cycle" then return nil, cycle_error(c) end
  return nil, missing_error(c, d)
end

function M.order(graph)
  local order, levels = run_order(graph, "order", 2)
  return order, levels
end

function M.reverse_order(graph)
  local order, err = run_order(graph, "reverse_order", 2)
  if not order then return nil, err end
  local n, rorder, level, deepest = #order, array.of({}), {}, 0
  for i = 1, n do
    local name = order[n + 1 - i]
    rorder[i] = name
    -- every dependent of `name` came earlier in rorder, so its level is final
    local lv = level[name] or 1
    level[name] = lv
    if lv > deepest then deepest = lv end
    local deps = graph[name]
    for j = 1, #deps do
      local d = deps[j]
      if (level[d] or 1) <= lv then level[d] = lv + 1 end
    end
  end
  local levels = array.of({})
  for k = 1, deepest do levels[k] = array.of({}) end
  for i = n, 1, -1 do
    local l = levels[level[order[i]]]
    l[#l + 1] = order[i]
  end
  for k = 1, deepest do table.sort(levels[k]) end
  return rorder, levels
end

function M.closure(graph, roots)
  check_graph(graph, "closure", 2)
  if type(roots) ~= "table" then
    error(("dag.closure: roots must be a list of names, got %s"):format(type(roots)), 2)
  end
  local why, names, queue = {}, array.of({}), {}
  for i, root in ipairs(roots) do
    if type(root) ~= "string" then
      error(("dag.closure: roots[%d] must be a name, got %s"):format(i, type(root)), 2)
    end
    if graph[root] == nil then return nil, missing_error(nil, root) end
    if not why[root] then
      why[root] = "asked for"
      queue[#queue + 1] = root
    end
  end
  local head = 1
  while queue[head] do
    local name = queue[head]
    head = head + 1
    names[#names + 1] = name
    local deps = graph[name]
    if type(deps) ~= "table" then
      error(("dag.closure: graph['%s']: expected a list of names, got a %s"):format(name, type(deps)), 2)
    end
    for i = 1, #deps do
      local dep = deps[i]
      if type(dep) ~= "string" then
        error(("dag.closure: graph['%s'][%d]: expected a name, got a %s"):format(name, i, type(dep)), 2)
      end
      if not why[dep] then
        if graph[dep] == nil then return nil, missing_error(name, dep) end
        why[dep] = "needed by " .. name
        queue[#queue + 1] = dep
      end
    end
  end
  table.sort(names)
  return names, why
end

return M
