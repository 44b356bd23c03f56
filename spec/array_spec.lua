-- deloc.array: sequences that stay sequences when written, and the two
-- helpers the plan renderers share.
local array = require("deloc.array")
local json = require("deloc.json")

describe("array", function()
  it("marks a table so that an empty one is written as a list", function()
    assert.equal("[]", json.encode(array.of({})))
    assert.equal("{}", json.encode({}))
    assert.is_true(array.is(array.of()))
    assert.is_false(array.is({}))
  end)

  it("strings: a new marked list of the values as strings", function()
    local src = { 1, "a", 2.5, true }
    local out = array.strings(src)
    assert.same({ "1", "a", "2.5", "true" }, out)
    assert.is_true(array.is(out))
    assert.are_not.equal(src, out)
    assert.equal("[]", json.encode(array.strings(nil)))
  end)

  it("sorted_keys: keys in the order of their string forms, whatever pairs() gives", function()
    assert.same({ "a", "b", "c" }, array.sorted_keys({ c = 1, a = 2, b = 3 }))
    assert.same({ 10, 9, "x" }, array.sorted_keys({ [9] = 1, [10] = 1, x = 1 }))
    assert.same({}, array.sorted_keys(nil))
    assert.is_false(array.is(array.sorted_keys({ a = 1 })))
  end)
end)
