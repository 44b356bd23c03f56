-- Faults between deloc and a real kube-apiserver (spec/support/kube.lua): the
-- fault-injecting proxy (spec/support/faults.lua) terminates TLS with a
-- certificate of its own and forwards to the API server, adding 503 answers,
-- bodies cut mid-way, resets, stalls and an API server that goes away.
-- Reads retry what is safe; a write is never sent twice; every command
-- fails with a clear error within its timeout; state.json always parses; the
-- next `up` after the API server vanished mid-run converges.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local kube = dofile("spec/support/kube.lua")
local faults = dofile("spec/support/faults.lua")

describe("faults: the Kubernetes API through a faulty connection #e2e", function()
  local k, p, kubeconfig, dir, project

  local function deloc(args, extra, timeout)
    local env = { KUBECONFIG = kubeconfig, DELOC_TARGET = "kubernetes" }
    for key, v in pairs(extra or {}) do env[key] = v end
    local t0 = sys.now()
    local st, out, err, why = e2e.deloc(args, { cwd = dir, env = env, timeout = timeout or 120 })
    assert(st ~= nil, ("deloc %s did not finish: %s"):format(table.concat(args, " "), tostring(why)))
    local text = sys.read_file(dir .. "/.deloc/state.json")
    if text then assert(json.decode(text), "state.json does not parse:\n" .. text) end
    return st, out, err, sys.now() - t0
  end

  local function hits(i)
    return (p:stats().faults or {})[tostring(i or 0)] or 0
  end

  setup(function()
    k = kube.start()
    k:add_node("node-a", { cpu = "4", memory = "16Gi" })
    p = faults.start({ upstream = k.server, tls = true })
    kubeconfig = k:write_kubeconfig("faults", ([[
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster: { server: "%s", certificate-authority: "%s" }
contexts:
- name: x
  context: { cluster: c, user: u }
users:
- name: u
  user: { token: "%s" }
]]):format(p.server, p.ca, k.admin_token))
    project = e2e.project("k8s-faults")
    dir = e2e.workdir(project, "services:\n  redis: {}\n")
  end)

  teardown(function()
    if p then p:stop() end
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  after_each(function() if p then p:up(); p:rules({}) end end)

  it("retries idempotent reads after 503s, a cut body and a reset: plan succeeds", function()
    for _, rule in ipairs({ { action = "status", status = 503, times = 2 },
                            { action = "close_mid_body", times = 1 },
                            { action = "reset", times = 1 } }) do
      rule.method, rule.path = "GET", "^/api/v1/nodes$"
      p:rules({ rule })
      local st, out, err = deloc({ "plan", "--json" })
      assert.equal(0, st, rule.action .. "\n" .. err)
      assert.equal("kubernetes", assert(json.decode(out)).target)
      assert.equal(rule.times, hits(), rule.action .. ": the fault did not fire")
    end
  end)

  it("fails a read within seconds, naming the request, when the API server stays busy", function()
    p:rules({ { method = "GET", path = "^/api/v1/nodes$", action = "status", status = 503 } })
    local st, _, err, elapsed = deloc({ "plan" })
    assert.is_not.equal(0, st)
    assert.matches("answered HTTP 503 to GET /api/v1/nodes", err, 1, true)
    assert.matches("busy or restarting", err, 1, true)
    assert.equal(3, hits())
    assert.is_true(elapsed < 20, "took " .. elapsed)
  end)

  it("gives up on a stalled API server at its timeout", function()
    p:rules({ { method = "GET", path = "^/api/v1/nodes$", action = "stall_response" } })
    local st, _, err, elapsed = deloc({ "plan" }, { DELOC_KUBE_TIMEOUT = "4" })
    assert.is_not.equal(0, st)
    assert.matches("did not answer in time", err, 1, true)
    assert.is_true(elapsed >= 4 and elapsed < 30, "took " .. elapsed)
  end)

  it("never sends a write twice: a 503 on an apply fails up clearly, and the next up converges", function()
    p:rules({ { method = "PATCH", path = "/statefulsets/", action = "status", status = 503, times = 1 } })
    local st, _, err = deloc({ "up", "--no-wait" })
    assert.is_not.equal(0, st)
    assert.matches("answered HTTP 503 to PATCH", err, 1, true)
    assert.equal(1, hits(), "the apply was sent again")
    p:rules({})
    st, _, err = deloc({ "up", "--no-wait" })
    assert.equal(0, st, err)
    local code, body = k:request("GET", ("/apis/apps/v1/namespaces/deloc-%s/statefulsets"):format(project))
    assert.equal(200, code)
    assert.equal(1, #body.items)
  end)

  it("converges on the next up after the API server went away during up", function()
    -- hold the applies so that the server vanishes under them
    p:rules({ { method = "PATCH", action = "delay", delay_ms = 1500 } })
    local env = { KUBECONFIG = kubeconfig, DELOC_TARGET = "kubernetes", NO_COLOR = "1" }
    local fresh = e2e.workdir(project, "services:\n  redis: {}\n  postgres: {}\n")
    local old = dir
    dir = fresh
    finally(function() deloc({ "down" }); e2e.rmdir(fresh); dir = old end)
    local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--no-wait" }, cwd = dir, env = env,
      stdout = dir .. "/up.out", stderr = dir .. "/up.err" }))
    local t0 = sys.now()
    while sys.now() - t0 < 30 and hits() == 0 do sys.sleep(0.05) end
    p:down()
    local r = faults.wait_exit(pid, 60)
    local err = sys.read_file(dir .. "/up.err") or ""
    assert.truthy(r, "up hung after the API server went away:\n" .. err)
    assert.is_not.equal(0, r.status, err)
    assert.matches("Kubernetes API server", err, 1, true)
    local state = sys.read_file(dir .. "/.deloc/state.json")
    if state then assert(json.decode(state), state) end
    p:up()
    p:rules({})
    local st, _, err2 = deloc({ "up", "--no-wait" })
    assert.equal(0, st, err2)
    local code, body = k:request("GET", ("/apis/apps/v1/namespaces/deloc-%s/statefulsets"):format(project))
    assert.equal(200, code)
    assert.equal(2, #body.items)
  end)
end)
