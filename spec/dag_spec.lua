-- deloc.dag: orders, levels, cycles named as paths, missing nodes, closures.
local dag = require("deloc.dag")
local errors = require("deloc.errors")
local array = require("deloc.array")

-- every node once, each after all it depends on
local function assert_valid(graph, order)
  local pos, n = {}, 0
  for i, name in ipairs(order) do
    assert.is_nil(pos[name], "twice in order: " .. name)
    pos[name] = i
  end
  for name, deps in pairs(graph) do
    n = n + 1
    assert.is_not_nil(pos[name], "left out: " .. name)
    for _, d in ipairs(deps) do
      assert.is_true(pos[d] < pos[name], d .. " must come before " .. name)
    end
  end
  assert.equal(n, #order)
end

local function random_dag(n, seed)
  math.randomseed(seed)
  local names, graph = {}, {}
  for i = 1, n do names[i] = ("svc-%05d"):format((i * 7919) % n) end
  for i = 1, n do
    local deps = {}
    for _ = 1, math.random(0, 4) do
      if i > 1 then deps[#deps + 1] = names[math.random(1, i - 1)] end
    end
    graph[names[i]] = deps
  end
  return graph
end

local function ms(f)
  local t0 = os.clock()
  local a, b = f()
  return (os.clock() - t0) * 1000, a, b
end

describe("deloc.dag", function()
  describe("order", function()
    local cases = {
      { "empty graph", {}, {}, {} },
      { "one node", { a = {} }, { "a" }, { { "a" } } },
      { "chain", { a = { "b" }, b = { "c" }, c = {} }, { "c", "b", "a" }, { { "c" }, { "b" }, { "a" } } },
      {
        "diamond", { top = { "left", "right" }, left = { "base" }, right = { "base" }, base = {} },
        { "base", "left", "right", "top" }, { { "base" }, { "left", "right" }, { "top" } },
      },
      {
        "ready names leave smallest first", { z = {}, y = {}, b = { "z" }, a = { "y" } },
        { "y", "a", "z", "b" }, { { "y", "z" }, { "a", "b" } },
      },
      {
        "level is the deepest dependency plus one", { a = {}, b = { "a" }, c = { "b" }, d = { "a", "c" } },
        { "a", "b", "c", "d" }, { { "a" }, { "b" }, { "c" }, { "d" } },
      },
      { "a repeated dependency", { a = { "b", "b" }, b = {} }, { "b", "a" }, { { "b" }, { "a" } } },
      {
        "names sort by bytes", { B = {}, a = {}, ["a-1"] = {}, ["a 1"] = {} },
        { "B", "a", "a 1", "a-1" }, { { "B", "a", "a 1", "a-1" } },
      },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local order, levels = dag.order(c[2])
        assert.same(c[3], order)
        assert.same(c[4], levels)
        assert_valid(c[2], order)
      end)
    end

    it("marks the results as arrays, so empty ones encode as []", function()
      local order, levels = dag.order({})
      assert.is_true(array.is(order))
      assert.is_true(array.is(levels))
      local _, l2 = dag.order({ a = {} })
      assert.is_true(array.is(l2[1]))
    end)

    it("does not change the graph", function()
      local g = { a = { "b" }, b = {} }
      dag.order(g)
      assert.same({ a = { "b" }, b = {} }, g)
    end)

    it("is the same for the same graph built in another order", function()
      local g1, g2, names = {}, {}, {}
      for i = 1, 200 do names[i] = "n" .. i end
      for i = 1, 200 do g1[names[i]] = { names[(i * 13) % 200 + 1] < names[i] and names[(i * 13) % 200 + 1] or nil } end
      for i = 200, 1, -1 do g2[names[i]] = g1[names[i]] end
      for i = 1, 200 do g2[names[i]] = nil end
      for i = 200, 1, -1 do g2[names[i]] = g1[names[i]] end
      local o1, l1 = dag.order(g1)
      local o2, l2 = dag.order(g2)
      assert.same(o1, o2)
      assert.same(l1, l2)
    end)
  end)

  describe("cycles", function()
    local cases = {
      { "self loop", { a = { "a" } }, { "a", "a" } },
      { "two nodes", { a = { "b" }, b = { "a" } }, { "a", "b", "a" } },
      { "three nodes", { a = { "b" }, b = { "c" }, c = { "a" } }, { "a", "b", "c", "a" } },
      { "rotated to the smallest name", { c = { "a" }, a = { "b" }, b = { "c" } }, { "a", "b", "c", "a" } },
      {
        "the cycle only, not the path into it",
        { app = { "web" }, web = { "queue" }, queue = { "worker" }, worker = { "queue" }, db = {} },
        { "queue", "worker", "queue" },
      },
      {
        "beside a valid part", { base = {}, x = { "base", "y" }, y = { "x" } }, { "x", "y", "x" },
      },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local order, err = dag.order(c[2])
        assert.is_nil(order)
        assert.is_true(errors.is(err))
        assert.equal("CONFIG_INVALID", err.code)
        assert.equal("cycle", err.kind)
        assert.same(c[3], err.cycle)
        assert.equal("dependency cycle: " .. table.concat(c[3], " -> "), err.message)
        assert.equal(err.message, tostring(err))
      end)
    end

    it("names a cycle that goes through all of 10000 nodes", function()
      local g = {}
      for i = 1, 10000 do g[("n%05d"):format(i)] = { ("n%05d"):format(i % 10000 + 1) } end
      local _, err = dag.order(g)
      assert.equal(10001, #err.cycle)
      assert.equal("n00001", err.cycle[1])
      assert.equal("n00002", err.cycle[2])
      assert.equal("n00001", err.cycle[10001])
    end)
  end)

  describe("missing dependencies", function()
    it("names the node and who needs it", function()
      local order, err = dag.order({ web = { "db" } })
      assert.is_nil(order)
      assert.equal("missing", err.kind)
      assert.equal("db", err.node)
      assert.equal("web", err.from)
      assert.equal("'web' depends on 'db', which does not exist", err.message)
    end)

    it("reports the smallest name first, then its first missing dependency", function()
      local g = { zed = { "nope" }, alpha = { "ok", "gone", "lost" }, ok = {} }
      for _ = 1, 3 do
        local _, err = dag.order(g)
        assert.equal("'alpha' depends on 'gone', which does not exist", err.message)
      end
    end)

    it("is reported before a cycle", function()
      local _, err = dag.order({ a = { "b" }, b = { "a", "c" } })
      assert.equal("missing", err.kind)
    end)
  end)

  describe("bad input is a programming error", function()
    local cases = {
      { "not a table", "a=b", "graph must be a table, got string" },
      { "nil", nil, "graph must be a table, got nil" },
      { "a name that is not a string", { [1] = {} }, "node names must be strings, got a number" },
      { "a value that is not a list", { a = "b" }, "graph%['a'%]: expected a list of names, got a string" },
      { "a dependency that is not a string", { a = { "b", 3 }, b = {} }, "graph%['a'%]%[2%]: expected a name, got a number" },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        -- called from a Lua line (not a tail call), whose place the message names
        local function call(fn, ...)
          local r = fn(...)
          return r
        end
        for _, name in ipairs({ "order", "reverse_order", "closure" }) do
          if name ~= "closure" or type(c[2]) ~= "table" then
            local ok, msg = pcall(call, dag[name], c[2], {})
            assert.is_false(ok)
            assert.matches(c[3], msg)
            assert.matches("^spec/dag_spec.lua:%d+: dag." .. name .. ": ", msg)
          end
        end
      end)
    end
  end)

  describe("reverse_order", function()
    it("stops dependents first", function()
      local g = { app = { "db", "cache" }, db = {}, cache = { "db" }, tool = {} }
      local order, levels = dag.reverse_order(g)
      assert.same({ "tool", "app", "cache", "db" }, order)
      assert.same({ { "app", "tool" }, { "cache" }, { "db" } }, levels)
      local fwd = dag.order(g)
      for i = 1, #fwd do assert.equal(fwd[i], order[#fwd + 1 - i]) end
    end)

    it("passes errors through", function()
      local _, err = dag.reverse_order({ a = { "a" } })
      assert.equal("dependency cycle: a -> a", err.message)
    end)

    it("of an empty graph is empty", function()
      local order, levels = dag.reverse_order({})
      assert.same({}, order)
      assert.same({}, levels)
    end)
  end)

  describe("closure", function()
    local g = {
      airflow = { "postgres", "redis" }, superset = { "postgres", "redis" },
      postgres = {}, redis = {}, kafka = { "zookeeper" }, zookeeper = {},
    }

    it("collects what the roots need and says why", function()
      local names, why = dag.closure(g, { "superset", "airflow" })
      assert.same({ "airflow", "postgres", "redis", "superset" }, names)
      assert.same({
        superset = "asked for", airflow = "asked for",
        postgres = "needed by superset", redis = "needed by superset",
      }, why)
    end)

    it("keeps the shortest chain as the reason", function()
      local names, why = dag.closure({ a = { "b", "d" }, b = { "c" }, c = { "d" }, d = {} }, { "a" })
      assert.same({ "a", "b", "c", "d" }, names)
      assert.equal("needed by a", why.d)
      assert.equal("needed by b", why.c)
    end)

    it("of no roots is empty", function()
      local names, why = dag.closure(g, {})
      assert.same({}, names)
      assert.same({}, why)
    end)

    it("reports a root or a dependency that does not exist", function()
      local _, err = dag.closure(g, { "postgres", "mysql" })
      assert.equal("'mysql' does not exist", err.message)
      assert.equal("mysql", err.node)
      assert.is_nil(err.from)
      _, err = dag.closure({ a = { "b" } }, { "a" })
      assert.equal("'a' depends on 'b', which does not exist", err.message)
    end)

    it("stops on cycles instead of looping", function()
      local names = dag.closure({ a = { "b" }, b = { "a" } }, { "a" })
      assert.same({ "a", "b" }, names)
    end)

    it("raises on roots that are not names", function()
      assert.has_error(function() dag.closure(g, "airflow") end)
      assert.has_error(function() dag.closure(g, { 1 }) end)
    end)
  end)

  describe("large graphs", function()
    it("orders a 10000-node chain", function()
      local g = { ["n00001"] = {} }
      for i = 2, 10000 do g[("n%05d"):format(i)] = { ("n%05d"):format(i - 1) } end
      local t, order, levels = ms(function() return dag.order(g) end)
      assert.equal(10000, #order)
      assert.equal(10000, #levels)
      assert.equal("n00001", order[1])
      assert.equal("n10000", order[10000])
      assert.same({ "n05000" }, levels[5000])
      print(("  dag.order: 10000-node chain in %.2f ms"):format(t))
    end)

    it("orders a random 10000-node DAG correctly", function()
      local g = random_dag(10000, 7)
      local t, order, levels = ms(function() return dag.order(g) end)
      assert_valid(g, order)
      local level_of, count = {}, 0
      for k, names in ipairs(levels) do
        for i, name in ipairs(names) do
          level_of[name] = k
          count = count + 1
          if i > 1 then assert.is_true(names[i - 1] < name) end
        end
      end
      assert.equal(10000, count)
      for name, deps in pairs(g) do
        local want = 1
        for _, d in ipairs(deps) do want = math.max(want, level_of[d] + 1) end
        assert.equal(want, level_of[name])
      end
      print(("  dag.order: random 10000-node DAG (%d levels) in %.2f ms"):format(#levels, t))
    end)
  end)
end)
