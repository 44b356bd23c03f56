-- The state file on the real engine: per-service lifecycle (Deploying while
-- a run changes a service, Scaling while `scale` does, then Running or
-- Failed) with a short history, and no write at all when nothing changes.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local project_file = e2e.project_file

local function read_state(dir)
  local text = sys.read_file(dir .. "/.deloc/state.json")
  return text and json.decode(text), text
end

-- inode and content of the state file: a rewrite (temp + rename) changes the inode
local function fingerprint(dir)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%i %Y", dir .. "/.deloc/state.json" } }))
  return r.stdout .. (sys.read_file(dir .. "/.deloc/state.json") or "")
end

local function tos(history)
  local out = {}
  for _, h in ipairs(history or {}) do out[#out + 1] = h.to end
  return table.concat(out, " ")
end

describe("docker: lifecycle states in the state file #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("is Deploying while up changes a service, Running after, and a no-op up writes nothing", function()
    local project = e2e.project("lifecycle")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  slow: {}\n  alpha: {}\n")
    -- slow takes ~3 s to become healthy: look at the file while up runs
    local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--wait" }, cwd = dir,
      env = { NO_COLOR = "1" }, stdout = "", stderr = "" }))
    local seen
    local deadline = sys.now() + 20
    while sys.now() < deadline do
      local st = read_state(dir)
      if st and st.services and st.services.slow then seen = st; break end
      sys.sleep(0.05)
    end
    local done = sys.waitpid(pid)
    assert.equal(0, done.status)
    assert.truthy(seen, "the state file was not written while up ran")
    assert.equal("Deploying", seen.services.slow.state)
    assert.equal("new", seen.services.slow.detail)

    local st = assert(read_state(dir))
    for _, s in ipairs({ "slow", "alpha" }) do
      assert.equal("Running", st.services[s].state, s)
      assert.equal("Deploying Running", tos(st.services[s].history), s)
      assert.equal("new", st.services[s].history[1].reason)
      assert.equal("healthy", st.services[s].history[2].reason)
      assert.is_true(st.services[s].history[2].time >= st.services[s].history[1].time)
    end

    -- nothing to change: the file is not touched
    local before = fingerprint(dir)
    sys.sleep(1.1) -- so a rewrite would show in the mtime as well
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    assert.equal(before, fingerprint(dir))

    -- one service changed: only it goes through Deploying again
    project_file(dir, project, "services:\n  slow: {}\n  alpha:\n    env: { X: '1' }\n")
    code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    st = assert(read_state(dir))
    assert.equal("Deploying Running Deploying Running", tos(st.services.alpha.history))
    assert.equal("changed", st.services.alpha.history[3].reason)
    assert.equal("Deploying Running", tos(st.services.slow.history))

    -- a stopped service is started again: Stopped -> Deploying (stopped) -> Running
    code, _, err = e2e.deloc({ "stop", "slow" }, { cwd = dir })
    assert.equal(0, code, err)
    code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    st = assert(read_state(dir))
    assert.equal("Deploying Running Stopped Deploying Running", tos(st.services.slow.history))
    assert.equal("stopped", st.services.slow.history[4].reason)

    -- status --json shows what was recorded, still from one engine request
    local trace = dir .. "/trace"
    local out
    code, out, err = e2e.deloc({ "status", "--json" }, { cwd = dir, env = { DELOC_TRACE_API = trace } })
    assert.equal(0, code, err)
    local status = assert(json.decode(out))
    for _, r in ipairs(status.services) do assert.equal("Running", r.lifecycle, r.name) end
    assert.equal("Running", status.lifecycle.slow.state)
    assert.equal(5, #status.lifecycle.slow.history)
    local n = 0
    for _ in io.lines(trace) do n = n + 1 end
    assert.equal(1, n)
  end)

  it("is Failed with the reason when a service does not come up", function()
    local project = e2e.project("lcfail")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  alpha: {}\n  never: {}\n")
    local code = e2e.deloc({ "up", "--wait", "--timeout", "3s" }, { cwd = dir })
    assert.are_not.equal(0, code)
    local st = assert(read_state(dir))
    assert.equal("Running", st.services.alpha.state)
    assert.equal("Failed", st.services.never.state)
    assert.equal("Deploying Failed", tos(st.services.never.history))
    assert.matches("never", st.services.never.history[2].reason, 1, true)
  end)

  it("is Scaling while scale changes the replicas, then Running", function()
    local project = e2e.project("lcscale")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    project_file(dir, project, "services:\n  workers: {}\n")
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    code, _, err = e2e.deloc({ "scale", "workers.worker=2" }, { cwd = dir })
    assert.equal(0, code, err)
    local st = assert(read_state(dir))
    local h = st.services.workers.history
    assert.equal("Deploying Running Scaling Running", tos(h))
    assert.equal("worker=2", h[3].reason)
    assert.equal("Running", st.services.workers.state)
  end)
end)
