-- deloc.pack: placements, what does not fit and why, strategies, bad input.
local pack = require("deloc.pack")
local array = require("deloc.array")

local Gi, Mi = 2 ^ 30, 2 ^ 20

local function item(name, memory, cpu) return { name = name, memory = memory, cpu = cpu } end
local bin = item

-- every bin holds what was placed in it and no more than it has
local function assert_consistent(items, bins, r)
  local sum = {}
  for _, b in ipairs(bins) do sum[b.name] = { memory = 0, cpu = 0, items = {} } end
  local unplaced = {}
  for _, it in ipairs(items) do
    local where = r.placement[it.name]
    if where then
      sum[where].memory = sum[where].memory + it.memory
      sum[where].cpu = sum[where].cpu + it.cpu
      table.insert(sum[where].items, it.name)
    else
      table.insert(unplaced, it.name)
      assert.is_string(r.reasons[it.name])
    end
  end
  assert.same(unplaced, r.unplaced)
  assert.equal(#unplaced == 0, r.fits)
  for _, b in ipairs(bins) do
    local got = r.bins[b.name]
    assert.equal(sum[b.name].memory, got.used_memory)
    assert.near(sum[b.name].cpu, got.used_cpu, 1e-9)
    assert.same(sum[b.name].items, got.items)
    assert.equal(b.memory - got.used_memory, got.free_memory)
    assert.near(b.cpu - got.used_cpu, got.free_cpu, 1e-9)
    assert.is_true(got.free_memory >= 0 and got.free_cpu >= 0)
  end
end

describe("deloc.pack", function()
  local cases = {
    { "nothing into nothing", {}, {}, {}, {} },
    {
      "no items leaves bins empty", {}, { bin("a", Gi, 1) }, {}, {},
    },
    {
      "no bins leaves everything out", { item("x", Gi, 1) }, {}, {},
      { x = "there are no bins" },
    },
    {
      "exact fit in memory and cpu (0.7 + 0.3 cpu)",
      { item("x", 3 * Gi, 0.7), item("y", Gi, 0.3) }, { bin("a", 4 * Gi, 1) },
      { x = "a", y = "a" }, {},
    },
    {
      "one millicore over does not fit",
      { item("x", Gi, 1.001) }, { bin("a", 4 * Gi, 1) }, {},
      { x = "needs 1.001 cpu, the largest bin has 1 cpu" },
    },
    {
      "more memory than any bin",
      { item("big", 8 * Gi, 1), item("small", Gi, 1) }, { bin("a", 4 * Gi, 2), bin("b", 2 * Gi, 2) },
      { small = "b" }, { big = "needs 8Gi memory, the largest bin has 4Gi" },
    },
    {
      "more cpu than any bin",
      { item("wide", 512 * Mi, 6) }, { bin("a", 4 * Gi, 2), bin("b", 2 * Gi, 4) },
      {}, { wide = "needs 6 cpu, the largest bin has 4 cpu" },
    },
    {
      "more of both than any bin",
      { item("huge", 16 * Gi, 8) }, { bin("a", 4 * Gi, 2) },
      {}, { huge = "needs 16Gi memory and 8 cpu, the largest bins have 4Gi and 2 cpu" },
    },
    {
      "no single bin has both",
      { item("x", 3 * Gi, 3) }, { bin("mem", 4 * Gi, 1), bin("cpu", Gi, 4) },
      {}, { x = "needs 3Gi memory and 3 cpu, no bin has both" },
    },
    {
      "room taken by larger items",
      { item("x", 3 * Gi, 1), item("y", 2 * Gi, 0.5) }, { bin("a", 4 * Gi, 2) },
      { x = "a" }, { y = "needs 2Gi memory and 0.5 cpu, no bin has that much left" },
    },
    {
      "largest first lets everything fit",
      { item("s1", Gi, 0.5), item("s2", Gi, 0.5), item("l", 2 * Gi, 1) }, { bin("a", 2 * Gi, 1), bin("b", 2 * Gi, 1) },
      { l = "a", s1 = "b", s2 = "b" }, {},
    },
    {
      "zero sizes fit a full bin",
      { item("fill", 2 * Gi, 1), item("free", 0, 0) }, { bin("a", 2 * Gi, 1) },
      { fill = "a", free = "a" }, {},
    },
    {
      "a cpu share counts as much as a memory share",
      { item("mem", 3 * Gi, 1), item("cpu", 2 * Gi, 3.5) }, { bin("a", 4 * Gi, 4) },
      { cpu = "a" }, { mem = "needs 3Gi memory and 1 cpu, no bin has that much left" },
    },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local r = pack.pack(c[2], c[3])
      assert.same(c[4], r.placement)
      assert.same(c[5], r.reasons)
      assert_consistent(c[2], c[3], r)
    end)
  end

  describe("strategies", function()
    local items = { item("x", Gi, 0.5), item("y", Gi, 0.5) }
    local bins = { bin("big", 8 * Gi, 4), bin("small", 2 * Gi, 1), bin("other", 8 * Gi, 4) }
    local strategy_cases = {
      { "best fills the tightest bin (the default)", nil, { x = "small", y = "small" } },
      { "best, asked for", "best", { x = "small", y = "small" } },
      { "first takes bins in list order", "first", { x = "big", y = "big" } },
      { "worst spreads over the roomiest", "worst", { x = "big", y = "other" } },
    }
    for _, c in ipairs(strategy_cases) do
      it(c[1], function()
        local r = pack.pack(items, bins, { strategy = c[2] })
        assert.same(c[3], r.placement)
        assert_consistent(items, bins, r)
      end)
    end
  end)

  it("marks lists as arrays, so empty ones encode as []", function()
    local r = pack.pack({}, { bin("a", Gi, 1) })
    assert.is_true(array.is(r.unplaced))
    assert.is_true(array.is(r.bins.a.items))
    assert.is_true(r.fits)
  end)

  it("leaves its arguments alone", function()
    local items, bins = { item("x", Gi, 1) }, { bin("a", 2 * Gi, 2) }
    pack.pack(items, bins)
    assert.same({ item("x", Gi, 1) }, items)
    assert.same({ bin("a", 2 * Gi, 2) }, bins)
  end)

  describe("many items", function()
    local function workload(seed, n, nb)
      math.randomseed(seed)
      local items, bins = {}, {}
      for i = 1, n do
        items[i] = item(("item%04d"):format(i), math.random(64, 2048) * Mi, math.random(50, 2000) / 1000)
      end
      for i = 1, nb do bins[i] = bin(("node%02d"):format(i), math.random(4, 32) * Gi, math.random(2, 16)) end
      return items, bins
    end

    for _, strategy in ipairs({ "best", "first", "worst" }) do
      it("packs 1000 items into 50 bins within capacity (" .. strategy .. ")", function()
        local items, bins = workload(11, 1000, 50)
        local t0 = os.clock()
        local r = pack.pack(items, bins, { strategy = strategy })
        local ms = (os.clock() - t0) * 1000
        assert_consistent(items, bins, r)
        assert.is_true(#r.unplaced > 0 and #r.unplaced < 1000)
        -- nothing left out would still fit anywhere
        for _, name in ipairs(r.unplaced) do
          local it = items[tonumber(name:sub(5))]
          for _, b in pairs(r.bins) do
            assert.is_false(it.memory <= b.free_memory and it.cpu <= b.free_cpu + 1e-9)
          end
        end
        print(("  pack.pack: 1000 items into 50 bins (%s) in %.2f ms, %d unplaced"):format(strategy, ms, #r.unplaced))
      end)
    end

    it("gives the same answer every time", function()
      local items, bins = workload(5, 300, 10)
      local first = pack.pack(items, bins)
      for _ = 1, 3 do assert.same(first, pack.pack(items, bins)) end
    end)

    it("breaks ties between equal items by list order", function()
      local items = {}
      for i = 1, 10 do items[i] = item("i" .. i, Gi, 1) end
      local r = pack.pack(items, { bin("a", 4 * Gi, 8), bin("b", 3 * Gi, 8) })
      assert.same({ "i8", "i9", "i10" }, r.unplaced)
      assert.same({ "i1", "i2", "i3" }, r.bins.b.items)
      assert.same({ "i4", "i5", "i6", "i7" }, r.bins.a.items)
    end)
  end)

  describe("bad input is a programming error", function()
    local ok_bins = { bin("a", Gi, 1) }
    local bad_cases = {
      { "items not a table", "x", ok_bins, nil, "items must be a list, got string" },
      { "bins not a table", {}, nil, nil, "bins must be a list, got nil" },
      { "an item without a name", { { memory = 1, cpu = 1 } }, ok_bins, nil, "items%[1%]%.name: expected a string, got nil" },
      { "an item that is not a table", { 3 }, ok_bins, nil, "items%[1%]%.name: expected a string, got a number" },
      { "duplicate item names", { item("x", 1, 1), item("x", 2, 2) }, ok_bins, nil, "items%[2%]: duplicate name 'x' %(also items%[1%]%)" },
      { "duplicate bin names", {}, { bin("a", 1, 1), bin("a", 1, 1) }, nil, "bins%[2%]: duplicate name 'a'" },
      { "negative memory", { item("x", -1, 1) }, ok_bins, nil, "items%[1%]%.memory: expected a number >= 0, got %-1" },
      { "negative bin cpu", {}, { bin("a", Gi, -0.5) }, nil, "bins%[1%]%.cpu: expected a number >= 0, got %-0%.5" },
      { "NaN", { item("x", 0 / 0, 1) }, ok_bins, nil, "items%[1%]%.memory: expected a number >= 0, got %-?nan" },
      { "infinite", { item("x", 1, math.huge) }, ok_bins, nil, "items%[1%]%.cpu: expected a number >= 0, got inf" },
      { "past 2^53", { item("x", 2 ^ 54, 1) }, ok_bins, nil, "items%[1%]%.memory: expected a number >= 0" },
      { "a quantity string", { item("x", "1Gi", 1) }, ok_bins, nil, "items%[1%]%.memory: expected a number >= 0, got '1Gi'" },
      { "a missing size", { { name = "x", memory = 1 } }, ok_bins, nil, "items%[1%]%.cpu: expected a number >= 0, got nil" },
      { "an unknown strategy", {}, ok_bins, { strategy = "random" }, "opts.strategy must be best, first or worst, got random" },
      { "opts not a table", {}, ok_bins, "best", "opts must be a table, got string" },
    }
    for _, c in ipairs(bad_cases) do
      it(c[1], function()
        local ok, msg = pcall(function()
          local r = pack.pack(c[2], c[3], c[4])
          return r
        end)
        assert.is_false(ok)
        assert.matches("^spec/pack_spec.lua:%d+: pack.pack: " .. c[5], msg)
      end)
    end
  end)
end)
