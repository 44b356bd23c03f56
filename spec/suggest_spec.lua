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

describe("deloc.suggest on hostile input", function()
  local names = {}
  for i = 1, 200 do names[i] = ("service-%03d"):format(i) end

  it("does no edit-distance work for names longer than any real name", function()
    -- a megabyte name against 200 names was 2e9 cell updates (minutes);
    -- how long it takes now is in bench/ (no timing in specs)
    local long = ("x"):rep(1024 * 1024)
    assert.is_nil(suggest.closest(long, names))
    assert.equal("", suggest.hint(long, names))
    assert.is_nil(require("deloc.recipe").closest(long, names))
    assert.is_nil(suggest.closest(("s"):rep(65), { ("s"):rep(64) }))
  end)

  it("skips candidates whose length alone rules them out, and keeps prefixes", function()
    assert.equal("service-042", suggest.closest("servce-042", names))
    assert.equal("service-042", suggest.closest("servcie-042", names))
    assert.equal("postgres", suggest.closest("post", { "postgres", "redis" }))
    assert.is_nil(suggest.closest("redis", { ("r"):rep(60) .. "edis" }))
  end)

  it("does not reorder the caller's list", function()
    local list = { "b", "a" }
    suggest.closest("c", list)
    assert.same({ "b", "a" }, list)
  end)
end)
