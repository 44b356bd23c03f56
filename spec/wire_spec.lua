-- The C halves of the plan's hot path: deloc.native.wire (the sandbox
-- child's answer, read by deloc as hostile bytes), deloc.native.json (the
-- encoder and the config hash, which must give what the Lua ones give).
local wire = require("deloc.native.wire")
local native_json = require("deloc.native.json")
local array = require("deloc.array")
local errors = require("deloc.errors")

local ERROR_MT = getmetatable(errors.new("IO_ERROR", "x"))
local function stub() end
local function keep(t) return t end

local function roundtrip(v)
  return wire.decode(wire.encode(v, array.metatable, ERROR_MT, 2 ^ 30), array.metatable, stub, keep, 2 ^ 30)
end

-- the Lua encoder and hash, loaded without their C halves
local function lua_versions()
  local saved = { package.loaded["deloc.json"], package.loaded["deloc.plan.facts"],
    package.preload["deloc.native.json"], package.loaded["deloc.native.json"] }
  package.loaded["deloc.json"], package.loaded["deloc.plan.facts"] = nil, nil
  package.loaded["deloc.native.json"] = nil
  package.preload["deloc.native.json"] = function() error("off") end
  local lj, lf = require("deloc.json"), require("deloc.plan.facts")
  package.loaded["deloc.json"], package.loaded["deloc.plan.facts"] = saved[1], saved[2]
  package.preload["deloc.native.json"], package.loaded["deloc.native.json"] = saved[3], saved[4]
  return lj, lf
end

-- random plan-like values: strings with escapes, odd numbers, marked and
-- plain lists, maps with string and number keys, the names the hash skips
local function generator(seed)
  local state = seed
  local function rand(n) -- deterministic whatever math.random is
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  end
  local specials = { "/", "\\", '"', "\127", "\n", "é", "\0", "replicas", "labels", "config_hash" }
  local function str()
    local t = {}
    for i = 1, rand(6) do
      t[i] = rand(4) == 0 and specials[rand(#specials) + 1] or string.char(97 + rand(26))
    end
    return table.concat(t)
  end
  local nums = { 0, -0.0, 1, -7, 0.1, 0.15, 0.1 + 0.2, 1 / 3, 2 ^ 53, 2 ^ 60, -2 ^ 70, 1e-300, 123456789012345, 1e14 }
  local function num() return rand(3) == 0 and nums[rand(#nums) + 1] or (rand(200000) - 100000) / (rand(9) + 1) end
  local function val(d)
    local r = rand(10)
    if d > 4 or r < 3 then return str() end
    if r < 5 then return num() end
    if r == 5 then return rand(2) == 0 end
    local t, n = {}, rand(6)
    local kind = rand(4)
    for i = 1, n do
      if kind < 2 then t[i] = val(d + 1)
      elseif kind == 2 then t[str()] = val(d + 1)
      else t[rand(2) == 0 and str() or num() + 0.5] = val(d + 1) end
    end
    if kind == 1 then array.of(t) end
    return t
  end
  return val
end

describe("deloc.native.wire", function()
  it("keeps marked arrays, errors, exact numbers, sharing, functions as the stub", function()
    local shared = array.of({ 0.1 + 0.2, array.of({}) })
    local v = roundtrip({ a = shared, b = shared, n = -0.0, big = 2 ^ 60, f = print,
      e = errors.new("CONFIG_INVALID", "m"), [3] = "three", null = require("deloc.json").null })
    assert.equal(v.a, v.b)
    assert.is_true(array.is(v.a) and array.is(v.a[2]))
    assert.equal(0.1 + 0.2, v.a[1])
    assert.equal(-math.huge, 1 / v.n)
    assert.equal(2 ^ 60, v.big)
    assert.equal(stub, v.f)
    assert.equal("three", v[3])
    assert.equal(require("deloc.json").null, v.null)
    assert.equal("m", v.e.message) -- on_error got it (here: kept as it is)
  end)

  it("refuses what cannot be handed back", function()
    local t = {}
    t.x = { t }
    assert.has_error(function() wire.encode(t, array.metatable, ERROR_MT, 2 ^ 30) end,
      "cannot hand back a table that contains itself")
    assert.has_error(function() wire.encode({ 0 / 0 }, array.metatable, ERROR_MT, 2 ^ 30) end,
      "cannot hand back nan")
    assert.has_error(function() wire.encode({ [true] = 1 }, array.metatable, ERROR_MT, 2 ^ 30) end,
      "cannot hand back a boolean key")
    assert.has_error(function() wire.encode({ ("x"):rep(100) }, array.metatable, ERROR_MT, 64) end,
      "the answer is too large")
  end)

  it("reads hostile bytes without raising, and builds no cycle", function()
    local bytes = wire.encode({ a = array.of({ 1, 2 }), b = { c = "d", e = 1.5 }, f = print,
      g = errors.new("CONFIG_INVALID", "m") }, array.metatable, ERROR_MT, 2 ^ 30)
    for i = 0, #bytes - 1 do
      local v, err = wire.decode(bytes:sub(1, i), array.metatable, stub, keep, 2 ^ 30)
      assert.is_nil(v)
      assert.is_string(err)
    end
    local _, err = wire.decode(bytes .. "x", array.metatable, stub, keep, 2 ^ 30)
    assert.equal("bytes follow the value", err)
    -- a table naming itself, or a table not yet begun
    local function u32(n) return string.char(n % 256, math.floor(n / 256) % 256, 0, 0) end
    _, err = wire.decode("T\0" .. u32(1) .. "s" .. u32(1) .. "xR" .. u32(0), array.metatable, stub, keep, 2 ^ 30)
    assert.equal("a table contains itself", err)
    _, err = wire.decode("T\0" .. u32(1) .. "s" .. u32(1) .. "xR" .. u32(5), array.metatable, stub, keep, 2 ^ 30)
    assert.equal("a reference to no table", err)
    _, err = wire.decode("T\0" .. u32(4000000), array.metatable, stub, keep, 2 ^ 30)
    assert.matches("more pairs than there are bytes", err)
    _, err = wire.decode(("T\0" .. u32(1) .. "i\0\0\0\0"):rep(1100), array.metatable, stub, keep, 2 ^ 30)
    assert.matches("deeper than 1000", err)
    -- 80 tables, each naming the one before twice: 1 KB that is 2^80
    -- bytes written out; refused at the bound instead of walked
    local pairs_ = { "i" .. u32(0) .. "T\0" .. u32(0) }
    for n = 1, 80 do
      -- (the outer table is number 0: the one before is number n)
      pairs_[n + 1] = "i" .. u32(n) .. "T\0" .. u32(2) .. "i" .. u32(1) .. "R" .. u32(n)
        .. "i" .. u32(2) .. "R" .. u32(n)
    end
    local bomb = "T\0" .. u32(81) .. table.concat(pairs_)
    _, err = wire.decode(bomb, array.metatable, stub, keep, 2 ^ 30)
    assert.matches("larger than the bound", err)
    local whole = wire.decode(bomb, array.metatable, stub, keep, 2 ^ 100)
    assert.equal(whole[80][1], whole[80][2]) -- shared, not copied
    -- random damage: an answer or an error, never a raise
    local state = 7
    for _ = 1, 20000 do
      local b = { bytes:byte(1, -1) }
      for _ = 1, 3 do
        state = (state * 1103515245 + 12345) % 2147483648
        b[state % #b + 1] = state % 256
      end
      local ok, res, e = pcall(wire.decode, string.char(unpack(b)), array.metatable, stub, keep, 2 ^ 30)
      assert(ok, res)
      assert(res ~= nil or type(e) == "string")
    end
  end)

  it("round-trips random values exactly", function()
    local json = require("deloc.json")
    local val = generator(11)
    for _ = 1, 2000 do
      local v = { x = val(0) }
      assert.equal(json.encode(v), json.encode(roundtrip(v)))
    end
  end)
end)

describe("deloc.native.json", function()
  it("encodes byte for byte as the Lua encoder, errors included", function()
    local lj = lua_versions()
    local json = require("deloc.json")
    local val = generator(3)
    for _ = 1, 3000 do
      local v = val(0)
      for _, indent in ipairs({ false, true }) do
        local a, ae = lj.encode(v, { indent = indent })
        local b, be = json.encode(v, { indent = indent })
        assert.equal(a, b)
        assert.equal(ae, be)
      end
    end
    local cyc = {}
    cyc.x = { cyc }
    local deep = {}
    local c = deep
    for _ = 1, 300 do c.x = {}; c = c.x end
    for _, bad in ipairs({ 0 / 0, math.huge, { f = print }, { [true] = 1 }, cyc, deep }) do
      assert.same({ lj.encode(bad) }, { json.encode(bad) })
    end
  end)

  it("writes and hashes tables of more keys than a C function has stack", function()
    local lj, lf = lua_versions()
    local json, facts = require("deloc.json"), require("deloc.plan.facts")
    local t = {}
    for i = 1, 12000 do t["k" .. i] = { a = i, [i + 0.5] = "x" } end
    local v = { t = t, u = { v = t } }
    assert.equal(lj.encode(v), json.encode(v))
    assert.equal(lf.config_hash(v), facts.config_hash(v))
  end)

  it("hashes as deloc.plan.facts' canonical text does", function()
    local _, lf = lua_versions()
    local facts = require("deloc.plan.facts")
    local val = generator(5)
    for _ = 1, 3000 do
      local v = { a = val(0), b = val(0), replicas = 3, labels = { x = "y" } }
      assert.equal(lf.config_hash(v), facts.config_hash(v))
    end
    assert.is_function(native_json.hash)
  end)
end)
