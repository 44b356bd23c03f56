-- The host-side health probe asks only the planned port on 127.0.0.1: a
-- health path from a crafted plan cannot name another host (issue 11,
-- point 4).  Recipes are checked on load too (spec/recipe_spec.lua).
local probe = require("deloc.adapters.docker.probe")

describe("docker health probe", function()
  it("does not send a request when the path is not a URL path", function()
    local ports = { web = { container = 80, host = 1, publish = true } }
    for _, p in ipairs({ "@127.0.0.2:1/", "x", "/a b", "/\r\n" }) do
      local ready, why = probe.once(nil, "id", { kind = "http", port = 80, path = p }, ports)
      assert.is_false(ready)
      assert.equal("health path is not a URL path; not probed", why)
    end
  end)
end)
