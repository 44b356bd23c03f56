-- Fail fast on Kubernetes (issue 11 point 6): a pod in CrashLoopBackOff or
-- ImagePullBackOff fails `deloc up --wait` at once, naming the reason and
-- the last exit code, instead of waiting out the timeout.  The real
-- kube-apiserver has no kubelet here, so the test plays the kubelet's part:
-- it makes the StatefulSet's pod and writes the status a kubelet writes.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local kube = dofile("spec/support/kube.lua")

describe("kubernetes: fail fast #e2e", function()
  local k, project, dir, ns
  local build = require("deloc.adapters.kubernetes.build")

  local function deloc(args)
    return e2e.deloc(args, { cwd = dir, timeout = 120,
      env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" } })
  end

  -- The pod a StatefulSet's controller would make, with a kubelet's status.
  local function pod(name, waiting, last_exit, restarts)
    local labels = { ["dev.deloc.project"] = project, ["dev.deloc.service"] = "redis",
      ["dev.deloc.component"] = "redis" }
    local code, body = k:request("POST", "/api/v1/namespaces/" .. ns .. "/pods", {
      apiVersion = "v1", kind = "Pod", metadata = { name = name, labels = labels },
      spec = { serviceAccountName = project, automountServiceAccountToken = false,
        securityContext = { runAsNonRoot = true, runAsUser = 999, seccompProfile = { type = "RuntimeDefault" } },
        containers = { { name = "redis", image = "redis:7",
          securityContext = { allowPrivilegeEscalation = false, capabilities = { drop = { "ALL" } } } } } } })
    assert.equal(201, code, json.encode(body))
    body.status = { phase = "Running", containerStatuses = { {
      name = "redis", ready = false, restartCount = restarts, image = "redis:7", imageID = "",
      state = { waiting = waiting },
      lastState = last_exit and { terminated = { exitCode = last_exit, reason = "Error" } } or nil } } }
    code, body = k:request("PUT", "/api/v1/namespaces/" .. ns .. "/pods/" .. name .. "/status", body)
    assert.equal(200, code, json.encode(body))
  end

  setup(function()
    k = kube.start()
    k:add_node("node-a", { cpu = "4", memory = "16Gi" })
    project = e2e.project("k8s-fast")
    dir = e2e.workdir(project, "services:\n  redis: {}\n")
    ns = build.namespace(project)
  end)

  teardown(function()
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  it("a pod in CrashLoopBackOff fails the wait in seconds, with the reason and exit code", function()
    local st, _, err = deloc({ "up", "--no-wait" })
    assert.equal(0, st, err)
    pod("redis-0", { reason = "CrashLoopBackOff", message = "back-off 20s restarting failed container" }, 3, 2)
    local t0 = sys.now()
    st, _, err = deloc({ "up", "--wait", "--timeout", "90s" })
    assert.equal(6, st, err)
    assert.is_true(sys.now() - t0 < 30, ("took %.1fs"):format(sys.now() - t0))
    assert.matches("statefulset redis failed: pod redis-0: redis: CrashLoopBackOff", err, 1, true)
    assert.matches("last exit code 3", err, 1, true)
    local state = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    assert.equal("Failed", state.services.redis.state)
    local code = k:request("DELETE", "/api/v1/namespaces/" .. ns .. "/pods/redis-0")
    assert.equal(200, code)
  end)

  it("a pod that cannot pull its image fails at once too", function()
    pod("redis-0", { reason = "ImagePullBackOff", message = "Back-off pulling image \"redis:7\"" }, nil, 0)
    local t0 = sys.now()
    local st, _, err = deloc({ "up", "--wait", "--timeout", "90s" })
    assert.equal(6, st, err)
    assert.is_true(sys.now() - t0 < 30, ("took %.1fs"):format(sys.now() - t0))
    assert.matches("redis: ImagePullBackOff", err, 1, true)
  end)
end)
