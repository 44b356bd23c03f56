-- "did you mean": typos, swaps, prefixes, and no wild guesses.
local suggest = require("deloc.suggest")

describe("deloc.suggest", function()
  local names = { "image", "profile", "services", "postgres", "redis", "kafka" }
  local cases = {
    { "imgae", "image" },      -- two letters swapped
    { "profil", "profile" },   -- one missing
    { "servics", "services" },
    { "postgre", "postgres" },
    { "reddis", "redis" },
    { "zzzzzz", nil },         -- nothing close
    { "ka", nil },             -- too short to guess from
  }
  for _, c in ipairs(cases) do
    it(("%s -> %s"):format(c[1], tostring(c[2])), function()
      assert.equal(c[2], suggest.closest(c[1], names))
    end)
  end

  it("counts a swap as one edit", function()
    assert.equal(1, suggest.distance("ab", "ba"))
    assert.equal(3, suggest.distance("kitten", "sitting"))
  end)

  it("words a hint", function()
    assert.equal(" (did you mean 'image'?)", suggest.hint("imgae", names))
    assert.equal("", suggest.hint("zzzzzz", names))
  end)
end)
