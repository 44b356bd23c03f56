-- The catalog's postgres and redis recipes, unchanged, on the stand-in
-- images (only the image is overridden): up, healthy, `deloc smoke` passes
-- (a real select and a SET/GET), a smoke that fails is reported as failed,
-- and `down --volumes` leaves nothing of the project.
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local catalog = dofile("spec/support/catalog.lua")

describe("catalog: postgres and redis smoke #e2e", function()
  local stack = catalog.stack({ "postgres", "redis" }, "catpr", "services:\n  postgres: {}\n  redis: {}\n", 240)
  setup(function() stack:start() end)
  teardown(function() stack:stop() end)
  local function deloc(args) return stack:deloc(args) end

  it("comes up healthy and passes its smokes", function()
    local st, _, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    local out
    st, out, err = deloc({ "smoke" })
    assert.equal(0, st, err)
    assert.matches("postgres%s+pass", out)
    assert.matches("redis%s+pass", out)
  end)

  it("says --json which smokes passed", function()
    local st, out, err = deloc({ "smoke", "redis", "--json" })
    assert.equal(0, st, err)
    local doc = assert(json.decode(out))
    assert.is_true(doc.passed)
    assert.equal(1, #doc.smokes)
    assert.equal("redis", doc.smokes[1].service)
    assert.is_true(doc.smokes[1].passed)
    assert.equal(0, doc.smokes[1].exit_code)
  end)

  it("fails with exit status 8 when a smoke fails (redis stopped)", function()
    local st, _, err = e2e.docker({ "stop", "-t", "1", stack.project .. "-redis-1" })
    if st ~= 0 then
      -- the container name scheme is the driver's; find it by label instead
      local _, ids = e2e.docker({ "ps", "-q", "--filter", "label=dev.deloc.project=" .. stack.project,
        "--filter", "label=dev.deloc.service=redis" })
      st, _, err = e2e.docker({ "stop", "-t", "1", (ids:gsub("%s+$", "")) })
    end
    assert.equal(0, st, err)
    local out
    st, out = deloc({ "smoke", "--json" })
    assert.equal(8, st)
    local doc = assert(json.decode(out))
    assert.is_false(doc.passed)
    local by = {}
    for _, r in ipairs(doc.smokes) do by[r.service] = r end
    assert.is_true(by.postgres.passed)
    assert.is_false(by.redis.passed)
  end)

  it("down --volumes leaves nothing of the project", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(stack.project))
  end)
end)
