-- Fail fast (issue 11 point 6), tried as a new user would: a service whose
-- container exits at once fails `deloc up` within seconds, naming the exit
-- code and its last log lines, instead of waiting out the timeout while the
-- engine restarts it; the rest of the run goes on as for any failed service.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local RECIPES = e2e.root .. "/spec/fixtures/docker/recipes"

local function workdir(project, services)
  local lines = { "recipes: [ " .. RECIPES .. " ]", "services:" }
  for _, s in ipairs(services) do lines[#lines + 1] = "  " .. s .. ": {}" end
  return e2e.workdir(project, table.concat(lines, "\n") .. "\n")
end

describe("docker: fail fast #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("a service that exits at once fails the wait in seconds, with its exit code and log lines", function()
    local project = e2e.project("crashy")
    local dir = workdir(project, { "crashy", "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local t0 = sys.now()
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "90s" }, { cwd = dir, timeout = 120 })
    local took = sys.now() - t0
    assert.equal(6, st, err)
    assert.is_true(took < 30, ("took %.1fs"):format(took))
    assert.matches("crashy exited with exit code 3", err, 1, true)
    assert.matches("| bad config", err, 1, true)
    -- the other service is up, as after any failed service
    local _, out = e2e.deloc({ "status", "--json" }, { cwd = dir })
    local by = {}
    for _, r in ipairs(assert(json.decode(out)).services) do by[r.service] = r end
    assert.equal("healthy", by.alpha.state)
    local state = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    assert.equal("Failed", state.services.crashy.state)
  end)

  it("with --rollback, what the run created goes", function()
    local project = e2e.project("crashy-rb")
    local dir = workdir(project, { "crashy", "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local t0 = sys.now()
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "90s", "--rollback" }, { cwd = dir, timeout = 120 })
    assert.equal(6, st, err)
    assert.is_true(sys.now() - t0 < 30, ("took %.1fs"):format(sys.now() - t0))
    assert.same({}, e2e.leftovers(project))
  end)
end)
