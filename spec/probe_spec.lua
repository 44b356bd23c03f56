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

-- A scripted engine: each inspect answers the next state in turn; exec of
-- the health command always passes (as `true` does in a running container).
local function scripted(states)
  local n = 0
  local c = {}
  function c.get(_, path)
    if path:find("^/containers/") then
      n = math.min(n + 1, #states)
      return states[n]
    end
    if path:find("^/exec/") then return { ExitCode = 0 } end
  end
  function c.post(_, path)
    if path:find("/exec$") then return { Id = "e1" } end
    return {}
  end
  function c.request(_, req)
    if req.path:find("/events") then
      return { body = '{"Actor":{"Attributes":{"exitCode":"3"}}}\n' }
    end
    return { body = "" }
  end
  return c
end

local function running(count, started)
  return { RestartCount = count, State = { Status = "running", Running = true, StartedAt = started } }
end

describe("docker readiness wait", function()
  local comp = { name = "crashy", health = { kind = "exec", exec = { "true" } } }

  it("a container this run started that the engine already restarted has crashed", function()
    -- deloc created and started it; by the first look the engine had
    -- restarted it once, and the health command passes in its new life
    local c = scripted({ running(1, "t1") })
    local ok, err = probe.wait_ready(c, "id", comp, { fresh = true, deadline = os.time() + 5 })
    assert.is_nil(ok)
    assert.equal("DEPLOYMENT_FAILED", err.code)
    assert.matches("crashy exited with exit code 3", err.message, 1, true)
  end)

  it("a container that dies while its health command runs is not ready", function()
    local c = scripted({ running(0, "t0"), running(1, "t1") })
    local ok, err = probe.wait_ready(c, "id", comp, { fresh = true, deadline = os.time() + 5 })
    assert.is_nil(ok)
    assert.equal("DEPLOYMENT_FAILED", err.code)
  end)

  it("one that stays up through its check is ready", function()
    local c = scripted({ running(0, "t0"), running(0, "t0") })
    assert.is_true((probe.wait_ready(c, "id", comp, { fresh = true, deadline = os.time() + 5 })))
  end)

  it("a container left running by an earlier run counts restarts from the first look", function()
    local c = scripted({ running(4, "t4"), running(4, "t4") })
    assert.is_true((probe.wait_ready(c, "id", comp, { deadline = os.time() + 5 })))
  end)
end)
