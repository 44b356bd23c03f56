-- The rest of the lifecycle on the real engine: health, logs, stop, update,
-- Ctrl-C, clean.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local _ -- the placeholder for results a test does not look at
local images = dofile("spec/support/images.lua")

local project_file = e2e.project_file

local function ids(project)
  local _, out = e2e.docker({ "ps", "-a", "--no-trunc", "--filter", "label=dev.deloc.project=" .. project,
    "--format", "{{.Names}}\t{{.ID}}\t{{.State}}" }, { timeout = 30 })
  local by = {}
  for name, id, state in out:gmatch("([^\t\n]+)\t([^\t\n]+)\t([^\n]+)") do by[name] = { id = id, state = state } end
  return by
end

describe("docker: lifecycle #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("health exits 0 when all are healthy and 8 naming the one that is not", function()
    local project = e2e.project("health")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  never: {}\n")
    e2e.deloc({ "up", "--wait", "--timeout", "3s" }, { cwd = dir })
    local st, out, err = e2e.deloc({ "health", "alpha" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.matches("alpha%s+healthy", out)
    st, out, err = e2e.deloc({ "health" }, { cwd = dir })
    assert.equal(8, st)
    assert.matches("never%s+%a+%s+not ready yet: port 1234 closed", out)
    assert.matches("not healthy: " .. project .. "-never-1", err, 1, true)
    st, _, err = e2e.deloc({ "health", "nosuch" }, { cwd = dir })
    assert.equal(3, st)
    assert.matches("no service 'nosuch'", err, 1, true)
  end)

  it("logs are prefixed per service and merged in time order", function()
    local project = e2e.project("logs")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  beta: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    local st, out, err = e2e.deloc({ "logs", "--timestamps" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.matches("alpha | %S+Z started", out)
    assert.matches("beta  | %S+Z started", out)
    local stamps = {}
    for ts in out:gmatch("| (%S+Z) ") do stamps[#stamps + 1] = ts end
    assert.equal(2, #stamps)
    assert.is_true(stamps[1] <= stamps[2])
    st, out = e2e.deloc({ "logs", "beta", "--tail", "1" }, { cwd = dir })
    assert.equal(0, st)
    assert.equal("beta | started\n", out)
  end)

  it("stop keeps the containers and up starts the same ones again", function()
    local project = e2e.project("stop")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  beta: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    local before = ids(project)
    local st, _, err = e2e.deloc({ "stop" }, { cwd = dir })
    assert.equal(0, st, err)
    for name, c in pairs(ids(project)) do assert.equal("exited", c.state, name) end
    st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    local after = ids(project)
    for name, c in pairs(before) do
      assert.equal(c.id, after[name].id)
      assert.equal("running", after[name].state)
    end
  end)

  it("update rolls out only the changed service", function()
    local project = e2e.project("update")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  beta: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    local before = ids(project)
    local st, out = e2e.deloc({ "update" }, { cwd = dir })
    assert.equal(0, st)
    assert.matches("everything is up to date", out, 1, true)
    project_file(dir, project, "services:\n  alpha: {}\n  beta:\n    env: { NEW: 'yes' }\n")
    local err
    st, _, err = e2e.deloc({ "update" }, { cwd = dir })
    assert.equal(0, st, err)
    local after = ids(project)
    assert.equal(before[project .. "-alpha-1"].id, after[project .. "-alpha-1"].id)
    assert.are_not.equal(before[project .. "-beta-1"].id, after[project .. "-beta-1"].id)
    assert.equal("running", after[project .. "-beta-1"].state)
  end)

  it("Ctrl-C stops an up with exit 130; the next up converges", function()
    local project = e2e.project("sigint")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  slow: {}\n  alpha: {}\n")
    local out = dir .. "/out.txt"
    local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--wait" }, cwd = dir,
      env = { NO_COLOR = "1" }, stdout = out, stderr = out }))
    sys.sleep(1.2)
    sys.kill(pid, "INT")
    local r = sys.waitpid(pid)
    assert.equal(130, r.status, sys.read_file(out))
    assert.matches("interrupted", sys.read_file(out))
    assert.truthy(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "30s" }, { cwd = dir })
    assert.equal(0, st, err)
    local n = 0
    for _ in pairs(ids(project)) do n = n + 1 end
    assert.equal(2, n)
  end)

  it("clean removes everything labelled for the project, helpers included", function()
    local project = e2e.project("clean")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  workers: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    -- something a crashed backup would leave: a helper container and a volume
    local label = e2e.label(project)
    assert.equal(0, (e2e.docker({ "create", label[1], label[2], "--label", "dev.deloc.helper=backup",
      "deloc-test/busybox:1.35", "true" })))
    assert.equal(0, (e2e.docker({ "volume", "create", label[1], label[2], project .. "-stray" })))
    local st, _, err = e2e.deloc({ "clean" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(project))
    assert.is_true(sys.exists(dir .. "/.deloc/state.json"))
  end)
end)
