-- `deloc logs --since` with RFC 3339 times on the real engine: lines before
-- the time are left out, whatever the zone the time is written in.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local RECIPES = e2e.root .. "/spec/fixtures/docker/recipes"

describe("docker: logs --since #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("takes RFC 3339 times in UTC, with an offset and with a fraction", function()
    local project = e2e.project("since")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    assert(sys.write_atomic(dir .. "/deloc.yaml",
      ("project: %s\nrecipes: [ %s ]\nservices:\n  alpha: {}\n"):format(project, RECIPES)))
    local before = math.floor(sys.time()) - 1
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    sys.sleep(1.5)
    -- alpha says "started" once, when it starts
    local after = math.floor(sys.time())
    local function logs(since)
      local st, out, e = e2e.deloc({ "logs", "alpha", "--since", since }, { cwd = dir })
      assert.equal(0, st, e)
      return out
    end
    assert.matches("alpha | started", logs(os.date("!%Y-%m-%dT%H:%M:%SZ", before)), 1, true)
    assert.equal("", logs(os.date("!%Y-%m-%dT%H:%M:%SZ", after)))
    assert.equal("", logs(os.date("!%Y-%m-%dT%H:%M:%S.5Z", after)))
    -- the same instants written at +02:30
    assert.matches("alpha | started", logs(os.date("!%Y-%m-%dT%H:%M:%S+02:30", before + 9000)), 1, true)
    assert.equal("", logs(os.date("!%Y-%m-%dT%H:%M:%S+02:30", after + 9000)))
    code, _, err = e2e.deloc({ "logs", "--since", "2026-13-01T00:00:00Z" }, { cwd = dir })
    assert.equal(2, code)
    assert.matches("RFC 3339", err, 1, true)
  end)
end)
