-- `deloc up` converges like compose: only what changed is recreated, a killed
-- run leaves nothing half-made, and two runs at once do not mix.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local project_file = e2e.project_file

-- name -> id of every container of the project, from the engine itself
local function containers(project)
  local st, out = e2e.docker({ "ps", "-a", "--no-trunc", "--filter", "label=dev.deloc.project=" .. project,
    "--format", "{{.Names}}\t{{.ID}}" }, { timeout = 30 })
  assert.equal(0, st)
  local by, n = {}, 0
  for name, id in out:gmatch("([^\t\n]+)\t([^\n]+)") do by[name] = id; n = n + 1 end
  return by, n
end

local function names_of(by)
  local list = {}
  for name in pairs(by) do list[#list + 1] = name end
  table.sort(list)
  return list
end

-- The requests of a trace but a stale-cache GET /info (the engine's size
-- is cached for 10 minutes; a round may straddle the expiry).
local function requests(trace)
  local list = {}
  local f = io.open(trace)
  if not f then return list end
  for line in f:lines() do
    local what = line:match("^(%u+ [^ ?]+)")
    if what ~= "GET /info" then list[#list + 1] = what end
  end
  f:close()
  return list
end

local function mutating(trace)
  local n = 0
  local f = io.open(trace)
  if not f then return 0 end
  for line in f:lines() do
    if not line:match("^GET ") then n = n + 1 end
  end
  f:close()
  return n
end

describe("docker: converge #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("recreates only the service whose environment changed", function()
    local project = e2e.project("envchange")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha:\n    env: { X: '1' }\n  beta: {}\n")
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    local before = containers(project)
    project_file(dir, project, "services:\n  alpha:\n    env: { X: '2' }\n  beta: {}\n")
    st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    local after = containers(project)
    assert.same(names_of(before), names_of(after))
    assert.are_not.equal(before[project .. "-alpha-1"], after[project .. "-alpha-1"])
    assert.equal(before[project .. "-beta-1"], after[project .. "-beta-1"])
    local _, out = e2e.docker({ "inspect", "--format", "{{json .Config.Env}}", project .. "-alpha-1" })
    assert.matches('"X=2"', out, 1, true)
  end)

  it("changing only replicas recreates nothing; scale adds and removes replicas", function()
    local project = e2e.project("replicas")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  workers: {}\n")
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    local before = containers(project)
    project_file(dir, project, "services:\n  workers:\n    components: { worker: { replicas: 2 } }\n")
    st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    local after, n = containers(project)
    assert.equal(3, n)
    for name, id in pairs(before) do assert.equal(id, after[name], name) end
    assert.truthy(after[project .. "-workers-worker-2"])
    -- scale: only the worker pool changes, the head is untouched
    st, _, err = e2e.deloc({ "scale", "workers.worker=3" }, { cwd = dir })
    assert.equal(0, st, err)
    local scaled
    scaled, n = containers(project)
    assert.equal(4, n)
    for name, id in pairs(after) do assert.equal(id, scaled[name], name) end
    st, _, err = e2e.deloc({ "scale", "workers.head=2" }, { cwd = dir })
    assert.equal(2, st)
    assert.matches("cannot be scaled", err, 1, true)
    st, _, err = e2e.deloc({ "scale", "workers.worker=1" }, { cwd = dir })
    assert.equal(0, st, err)
    local _, n2 = containers(project)
    assert.equal(2, n2)
  end)

  it("reports orphans and removes them only with --remove-orphans", function()
    local project = e2e.project("orphans")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  beta: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    project_file(dir, project, "services:\n  alpha: {}\n")
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.matches(project .. "-beta-1 is not in the plan", err, 1, true)
    assert.truthy(containers(project)[project .. "-beta-1"])
    st, _, err = e2e.deloc({ "up", "--wait", "--remove-orphans" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.is_nil(containers(project)[project .. "-beta-1"])
  end)

  it("converges without leftovers after deloc is killed mid-way (several points)", function()
    local project = e2e.project("sigkill")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    local services = "services:\n  alpha:\n    env: { V: '%d' }\n  beta:\n    env: { V: '%d' }\n"
      .. "  workers:\n    components: { worker: { replicas: 2 } }\n  slow: {}\n"
    local expected = { project .. "-alpha-1", project .. "-beta-1", project .. "-slow-1",
      project .. "-workers-head-1", project .. "-workers-worker-1", project .. "-workers-worker-2" }
    table.sort(expected)
    for round, delay in ipairs({ 0.05, 0.25, 0.6, 1.2 }) do
      -- every round changes alpha and beta, so the kill can land mid-recreate
      project_file(dir, project, services:format(round, round))
      local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--wait" }, cwd = dir,
        env = { NO_COLOR = "1" }, stdout = "", stderr = "" }))
      sys.sleep(delay)
      sys.kill(pid, "KILL")
      sys.waitpid(pid)
      local st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "60s" }, { cwd = dir })
      assert.equal(0, st, ("round %d: %s"):format(round, err))
      local by = containers(project)
      assert.same(expected, names_of(by), "round " .. round)
      local _, nets = e2e.docker({ "network", "ls", "-q", "--filter", "label=dev.deloc.project=" .. project })
      local n = 0
      for _ in nets:gmatch("%S+") do n = n + 1 end
      assert.equal(1, n, "round " .. round .. ": one project network")
      -- and the converged state is stable: another up changes nothing
      local trace = dir .. "/trace" .. round
      st = e2e.deloc({ "up", "--wait" }, { cwd = dir, env = { DELOC_TRACE_API = trace } })
      assert.equal(0, st)
      assert.equal(0, mutating(trace), "round " .. round)
      -- and asks no more than it must: one labelled list, no ping, no
      -- inspect, no health probe of containers the engine calls healthy
      assert.same({ "GET /containers/json" }, requests(trace), "round " .. round)
    end
    local _, out = e2e.deloc({ "status", "--json" }, { cwd = dir })
    for _, r in ipairs(assert(json.decode(out)).services) do
      assert.truthy(r.state == "healthy" or r.state == "running", r.name .. " " .. r.state)
    end
    assert.equal(0, (e2e.deloc({ "down", "--volumes" }, { cwd = dir })))
    assert.same({}, e2e.leftovers(project))
  end)

  it("lets one of two concurrent ups work and tells the other it is busy", function()
    local project = e2e.project("busy")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  slow: {}\n")
    local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--wait" }, cwd = dir,
      env = { NO_COLOR = "1" }, stdout = "", stderr = "" }))
    sys.sleep(0.5)
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    local first = sys.waitpid(pid)
    assert.equal(0, first.status)
    assert.equal(7, st)
    assert.matches("^deloc: busy: held by pid " .. pid .. " since %d%d%d%d%-", err)
    local text = assert(sys.read_file(dir .. "/.deloc/state.json"))
    local state = assert(json.decode(text))
    assert.equal(project, state.project)
    assert.equal("Running", state.services.slow.state)
  end)

  it("reports a corrupt state file and rebuilds it from the engine's labels", function()
    local project = e2e.project("corrupt")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n")
    assert.equal(0, (e2e.deloc({ "up", "--wait" }, { cwd = dir })))
    local before = containers(project)
    write(dir .. "/.deloc/state.json", "{ this is not json")
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, st, err)
    assert.matches("state file '.-state.json' was corrupt", err)
    assert.same(before, containers(project))
    assert.truthy(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
  end)
end)
