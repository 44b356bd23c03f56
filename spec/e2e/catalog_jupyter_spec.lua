-- The catalog's jupyter recipe, unchanged, on deloc-test/jupyter (Debian's
-- Jupyter Server behind the Docker Stacks contract; only the image is
-- overridden): up, healthy, `deloc smoke` passes (a cell run through the
-- server's REST and websocket API), and `down --volumes` leaves nothing.
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local catalog = dofile("spec/support/catalog.lua")

describe("catalog: jupyter on its stand-in image #e2e", function()
  local stack = catalog.stack({ "jupyter" }, "catjup", "services:\n  jupyter: {}\n")
  setup(function() stack:start() end)
  teardown(function() stack:stop() end)

  it("comes up healthy as jovyan (1000:100) and passes its smoke", function()
    local st, _, err = stack:deloc({ "up", "--wait", "--timeout", "180s" })
    assert.equal(0, st, err)
    local out
    st, out, err = stack:deloc({ "smoke", "--json" })
    assert.equal(0, st, (err or "") .. (out or ""))
    local doc = assert(json.decode(out))
    assert.is_true(doc.passed)
    assert.equal("jupyter", doc.smokes[1].service)
  end)

  it("mounts every image VOLUME as a project volume (no anonymous ones)", function()
    local n, anonymous = stack:volumes()
    assert.same({}, anonymous)
    assert.equal(1, n) -- /home/jovyan/work
  end)

  it("down --volumes leaves nothing of the project", function()
    local st, _, err = stack:deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(stack.project))
  end)
end)
