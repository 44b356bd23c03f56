-- JSON rules in one place: empty arrays, null, determinism, bad input.
local json = require("deloc.json")

describe("deloc.json", function()
  local cases = {
    { "empty marked array stays []", json.array({}), "[]" },
    { "empty unmarked table is {}", {}, "{}" },
    { "array of scalars", { 1, "a", true }, '[1,"a",true]' },
    { "null", json.null, "null" },
    { "keys sorted", { b = 1, a = 2, c = { z = 1, y = 2 } }, '{"a":2,"b":1,"c":{"y":2,"z":1}}' },
    { "slash not escaped", "a/b", '"a/b"' },
    { "backslash then slash", "a\\/b", '"a\\\\/b"' },
    { "integers without .0", 3, "3" },
    { "fractions in their shortest exact form", 0.1, "0.1" },
    { "0.15 stays 0.15", 0.15, "0.15" },
    { "a fraction that needs 17 digits", 0.1 + 0.2, "0.30000000000000004" },
    { "control characters escaped", "a\nb\0", '"a\\nb\\u0000"' },
    { "nested empty array in object", { Cmd = json.array({}) }, '{"Cmd":[]}' },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      assert.equal(c[3], assert(json.encode(c[2])))
    end)
  end

  it("round-trips through decode", function()
    local text = '{"a":[1,2,3],"b":{"c":"d/e"},"e":null}'
    local v = assert(json.decode(text))
    assert.equal(json.null, v.e)
    assert.equal('{"a":[1,2,3],"b":{"c":"d/e"},"e":null}', json.encode(v))
  end)

  it("refuses NaN, infinities, functions and cycles with a message", function()
    assert.matches("cannot encode", select(2, json.encode(0 / 0)))
    assert.matches("cannot encode", select(2, json.encode(math.huge)))
    assert.matches("cannot encode a function", select(2, json.encode({ f = print })))
    local t = {}
    t.self = t
    assert.matches("contains itself", select(2, json.encode(t)))
  end)

  it("reports invalid JSON without raising", function()
    local v, err = json.decode('{"a":')
    assert.is_nil(v)
    assert.matches("^invalid JSON", err)
  end)

  it("indents when asked, deterministically", function()
    local v = { b = { 1, 2 }, a = "x" }
    local one = json.encode(v, { indent = true })
    assert.equal('{\n  "a": "x",\n  "b": [\n    1,\n    2\n  ]\n}', one)
    assert.equal(one, json.encode(v, { indent = true }))
  end)
end)
