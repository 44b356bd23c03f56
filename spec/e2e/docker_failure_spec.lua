-- How `deloc up` fails on the real engine: fast, naming the service and why,
-- and without taking down what did come up.
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

local function status_of(dir)
  local st, out, err = e2e.deloc({ "status", "--json" }, { cwd = dir })
  assert.equal(0, st, err)
  local by = {}
  for _, r in ipairs(assert(json.decode(out)).services) do
    by[r.component ~= r.service and (r.service .. "/" .. r.component) or r.service] = r
  end
  return by
end

describe("docker: failures #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("fails a never-healthy service within the timeout, naming it with its last probe output", function()
    local project = e2e.project("never")
    local dir = workdir(project, { "never", "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local t0 = sys.now()
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "5s" }, { cwd = dir, timeout = 60 })
    local took = sys.now() - t0
    assert.equal(6, st)
    assert.is_true(took < 12, ("took %.1fs"):format(took))
    assert.matches("never did not become healthy in time", err, 1, true)
    assert.matches("last probe: not ready yet: port 1234 closed", err, 1, true)
    assert.matches("| started", err, 1, true) -- its log lines
    -- the other service stays up (like compose, unless --rollback)
    local by = status_of(dir)
    assert.equal("healthy", by.alpha.state)
  end)

  it("fails the dependents of a one-shot that exits 3, naming the exit code", function()
    local project = e2e.project("oneshot")
    local dir = workdir(project, { "dependent", "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "30s" }, { cwd = dir, timeout = 90 })
    assert.equal(6, st)
    assert.matches("initfail/init exited with exit code 3", err, 1, true)
    assert.matches("migration failed: table x exists", err, 1, true)
    assert.matches("dependent: needs initfail/init, which failed", err, 1, true)
    assert.matches("initfail/main: needs initfail/init", err, 1, true)
    local by = status_of(dir)
    assert.is_nil(by.dependent) -- never created
    assert.is_nil(by["initfail/main"])
    assert.equal("exited", by["initfail/init"].state)
    assert.equal("healthy", by.alpha.state)
  end)

  it("fails only the service whose image cannot be had, naming the image and the override", function()
    local project = e2e.project("badimage")
    local dir = workdir(project, { "badimage", "alpha", "beta" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "30s" }, { cwd = dir, timeout = 90 })
    assert.equal(6, st)
    assert.matches("cannot pull image 'deloc-test/no-such-image:0.0.1' for badimage", err, 1, true)
    assert.matches("DELOC_IMAGES=badimage=IMAGE", err, 1, true)
    local by = status_of(dir)
    assert.equal("healthy", by.alpha.state)
    assert.equal("healthy", by.beta.state)
    assert.is_nil(by.badimage)
  end)

  it("--rollback removes what the failed run created", function()
    local project = e2e.project("rollback")
    local dir = workdir(project, { "never", "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local st = e2e.deloc({ "up", "--wait", "--timeout", "3s", "--rollback" }, { cwd = dir, timeout = 60 })
    assert.equal(6, st)
    assert.same({}, e2e.leftovers(project))
  end)

  it("says clearly when the engine cannot be reached, and changes nothing", function()
    local project = e2e.project("noengine")
    local dir = workdir(project, { "alpha" })
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local st, _, err = e2e.deloc({ "up" }, { cwd = dir,
      env = { DOCKER_HOST = "unix:///nonexistent/docker.sock" } })
    assert.equal(5, st)
    assert.matches("^deloc: cannot reach the Docker engine at unix:///nonexistent/docker.sock: ", err)
    assert.matches("\nhint: ", err)
    assert.is_false(sys.exists(dir .. "/.deloc/state.json"))
    st, _, err = e2e.deloc({ "status" }, { cwd = dir, env = { DOCKER_HOST = "tcp://127.0.0.1:1" } })
    assert.equal(5, st)
    assert.matches("cannot reach the Docker engine at tcp://127.0.0.1:1", err, 1, true)
  end)
end)
