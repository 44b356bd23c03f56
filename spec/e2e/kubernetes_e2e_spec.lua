-- `deloc --target kubernetes` against a real kube-apiserver and etcd
-- (spec/support/kube.lua; built once from the test-only Go module).  There is
-- no scheduler, controller-manager or kubelet: objects are stored, validated
-- and admitted for real, but no pod runs, so workloads never become ready
-- and `up` is run with --no-wait (a wait can only time out, which the
-- rollback spec uses).  Fake Node objects give the cluster its capacity.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local _ -- the placeholder for results a test does not look at
local kube = dofile("spec/support/kube.lua")

local KINDS = { "Job", "Deployment", "StatefulSet", "Service", "NetworkPolicy", "RoleBinding", "Role",
                "Secret", "ConfigMap", "ServiceAccount", "PersistentVolumeClaim", "PodDisruptionBudget" }

describe("kubernetes: up, re-apply, validation, down against a real API server #e2e", function()
  local k, project, dir, env
  local client = require("deloc.adapters.kubernetes.client")
  local build = require("deloc.adapters.kubernetes.build")

  local function deloc(args, extra)
    local e = {}
    for key, v in pairs(env) do e[key] = v end
    for key, v in pairs(extra or {}) do e[key] = v end
    return e2e.deloc(args, { cwd = dir, env = e, timeout = 120 })
  end

  -- the objects the last up applied, from the plan it saved
  -- the last JSON document of an output (--json prints events before it)
  local function last_json(out)
    local at = 1
    for pos in out:gmatch("()\n{\n") do at = pos + 1 end
    return assert(json.decode(out:sub(at)))
  end

  local function planned_objects()
    local st = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    assert.is_table(st.plan, "up saved no plan")
    return assert(build.objects(st.plan, dir)), st.plan
  end

  local function live(obj)
    local code, body = k:request("GET", client.path(obj))
    return code == 200 and body or nil, code
  end

  -- every object of any kind labelled with the project, in its namespace
  local function labelled(ns, selector)
    local found = {}
    for _, kind in ipairs(KINDS) do
      local code, body = k:request("GET", client.collection(kind, ns) .. "?labelSelector=" .. selector)
      if code == 200 then
        for _, it in ipairs(body.items) do found[#found + 1] = kind .. "/" .. it.metadata.name end
      else
        assert.equal(404, code, json.encode(body))
      end
    end
    table.sort(found)
    return found
  end

  setup(function()
    k = kube.start()
    k:add_node("node-a", { cpu = "4", memory = "16Gi" })
    k:add_node("node-b", { cpu = "4", memory = "16Gi" })
    project = e2e.project("k8s")
    dir = e2e.workdir(project, "target: kubernetes\nservices:\n  postgres: {}\n  redis: {}\n  airflow: {}\n")
    env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = false }
  end)

  teardown(function()
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  it("plans against the cluster's nodes and places every component on one", function()
    local st, out, err = deloc({ "plan", "--json" })
    assert.equal(0, st, err)
    local plan = assert(json.decode(out))
    assert.equal("kubernetes", plan.target)
    assert.equal(8, plan.capacity.cpu)
    assert.equal(32 * 2 ^ 30, plan.capacity.memory)
    assert.matches("2 schedulable nodes", plan.capacity.source.cpu, 1, true)
    local placed = 0
    for _, n in ipairs(plan.placement.nodes) do placed = placed + #n.components end
    local comps = 0
    for _, s in pairs(plan.services) do for _ in pairs(s.components) do comps = comps + 1 end end
    assert.equal(comps, placed)
    assert.same({}, plan.placement.unplaced)
  end)

  it("up creates every object, and a second up changes none (same resourceVersions)", function()
    local st, out, err = deloc({ "up", "--no-wait" })
    assert.equal(0, st, err .. out)
    assert.not_matches("API server said", err, 1, true)
    local objs = planned_objects()
    local versions = {}
    for _, o in ipairs(objs) do
      local obj = live(o)
      assert.is_table(obj, "missing " .. build.key(o))
      assert.equal(project, obj.metadata.labels["dev.deloc.project"], build.key(o))
      versions[build.key(o)] = obj.metadata.resourceVersion
    end
    -- postgres, redis, airflow: workloads, services, secrets, RBAC for the waits
    local kinds = {}
    for _, o in ipairs(objs) do kinds[o.kind] = (kinds[o.kind] or 0) + 1 end
    for _, kind in ipairs({ "Namespace", "StatefulSet", "Job", "Service", "Secret", "NetworkPolicy",
                            "ServiceAccount", "Role", "RoleBinding" }) do
      assert.is_true((kinds[kind] or 0) > 0, "no " .. kind)
    end

    st, out, err = deloc({ "up", "--no-wait", "--json" })
    assert.equal(0, st, err)
    local doc = last_json(out)
    assert.equal(0, doc.result.created)
    assert.equal(0, doc.result.configured)
    assert.equal(#objs, doc.result.unchanged)
    for _, o in ipairs(objs) do
      assert.equal(versions[build.key(o)], live(o).metadata.resourceVersion, build.key(o) .. " was written again")
    end
  end)

  it("every object passes dryRun=All with strict field validation and no warning", function()
    local objs = planned_objects()
    local c = client.new({ server = k.server, cacert = k.ca, token = k.admin_token, context = "admin" })
    for _, o in ipairs(objs) do
      local obj, resp = c:apply(o, { dry_run = true, strict = true })
      assert.is_table(obj, build.key(o) .. ": " .. tostring(resp))
      assert.same({}, resp.warnings, build.key(o))
    end
    -- the check is live: a misspelled field is refused
    local bad
    for _, o in ipairs(objs) do if o.kind == "StatefulSet" then bad = o end end
    bad = json.decode(json.encode(bad))
    bad.spec.replicsa = 2
    local obj, err = c:apply(bad, { dry_run = true, strict = true })
    assert.is_nil(obj)
    assert.matches(".spec.replicsa: field not declared in schema", err.message, 1, true)
    -- and the strict decoding itself: the same object as a create is refused
    -- with Strict and accepted with Ignore
    bad.metadata.name = "typo-check"
    local base = client.collection("StatefulSet", bad.metadata.namespace) .. "?dryRun=All&fieldValidation="
    local code, body = k:request("POST", base .. "Strict", bad)
    assert.equal(400, code)
    assert.matches('unknown field "spec.replicsa"', body.message, 1, true)
    code, body = k:request("POST", base .. "Ignore", bad)
    assert.equal(201, code, json.encode(body))
  end)

  it("the namespace enforces Pod Security restricted, and nothing was refused or warned", function()
    local ns = build.namespace(project)
    local code, body = k:request("GET", "/api/v1/namespaces/" .. ns)
    assert.equal(200, code)
    assert.equal("restricted", body.metadata.labels["pod-security.kubernetes.io/enforce"])
    -- live: a pod without the restricted settings is refused there, and a workload that would make one is warned about
    local pod = { apiVersion = "v1", kind = "Pod", metadata = { name = "root", namespace = ns },
      spec = { serviceAccountName = project, automountServiceAccountToken = false, containers = { { name = "c", image = "busybox:1.37.0" } } } }
    code, body = k:request("POST", "/api/v1/namespaces/" .. ns .. "/pods?dryRun=All", pod)
    assert.equal(403, code, json.encode(body))
    assert.matches("violates PodSecurity \"restricted", body.message, 1, true)
    local dep = { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "root", namespace = ns },
      spec = { selector = { matchLabels = { a = "b" } }, template = { metadata = { labels = { a = "b" } },
        spec = pod.spec } } }
    local headers
    code, _, headers = k:request("POST", "/apis/apps/v1/namespaces/" .. ns .. "/deployments?dryRun=All", dep)
    assert.equal(201, code)
    assert.matches("would violate PodSecurity", headers.warning or "", 1, true)
  end)

  it("status lists every workload; endpoints name the Service and the port-forward", function()
    local st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    local doc = assert(json.decode(out))
    local names = {}
    for _, r in ipairs(doc.services) do names[#names + 1] = r.service .. "/" .. r.component end
    assert.is_true(#names >= 3)
    assert.matches("postgres/postgres", table.concat(names, " "), 1, true)
    -- nothing runs without a kubelet: health says so, with exit status 8
    st, _, err = deloc({ "health" })
    assert.equal(8, st)
    assert.matches("not healthy: ", err, 1, true)
    st, out, err = deloc({ "up", "--no-wait" })
    assert.equal(0, st, err)
    local ns = build.namespace(project)
    assert.matches("postgres." .. ns .. ".svc:5432", out, 1, true)
    assert.matches("kubectl -n " .. ns .. " port-forward svc/postgres ", out, 1, true)
  end)

  it("a client certificate given inline in the kubeconfig works (private temp files)", function()
    local st, out, err = deloc({ "status", "--context", "cert" })
    assert.equal(0, st, err)
    assert.matches("postgres", out, 1, true)
  end)

  it("down --volumes leaves no object with the project's labels", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    local ns = build.namespace(project)
    assert.same({}, labelled(ns, "dev.deloc.project=" .. project))
    -- the namespace goes too (it stays Terminating here: there is no namespace controller)
    local code, body = k:request("GET", "/api/v1/namespaces/" .. ns)
    assert.is_true(code == 404 or (code == 200 and body.metadata.deletionTimestamp ~= nil))
  end)
end)

describe("kubernetes: credentials, reachability, rollback #e2e", function()
  local k, dir, project

  local function deloc(args, kubeconfig, extra)
    local e = { KUBECONFIG = kubeconfig or k.kubeconfig, DELOC_TARGET = "kubernetes" }
    for key, v in pairs(extra or {}) do e[key] = v end
    return e2e.deloc(args, { cwd = dir, env = e, timeout = 120 })
  end

  local function kubeconfig(name, server, user_yaml)
    return k:write_kubeconfig(name, ([[
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
  user: %s
]]):format(server, k.ca, user_yaml))
  end

  setup(function()
    k = kube.start()
    k:add_node("node-a", { cpu = "4", memory = "16Gi" })
    project = e2e.project("k8s-creds")
    dir = e2e.workdir(project, "services:\n  redis: {}\n")
  end)

  teardown(function()
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  it("an unknown token is refused with a clear error", function()
    local st, _, err = deloc({ "status" }, kubeconfig("unknown", k.server, "{ token: not-a-real-token }"))
    assert.equal(5, st)
    assert.matches("rejected the credentials of user 'u'", err, 1, true)
    assert.matches("unknown or has expired", err, 1, true)
  end)

  it("an expired service-account token is refused; the same token unexpired is accepted", function()
    local fresh = k:service_account_token("deloc-spec", 7200)
    local expired = k:service_account_token("deloc-spec", 60)
    local st, _, err = deloc({ "status" }, kubeconfig("expired", k.server, ("{ token: %s }"):format(expired)))
    assert.equal(5, st)
    assert.matches("rejected the credentials", err, 1, true)
    -- authenticated, then refused by RBAC: the expiry alone made the difference
    st, _, err = deloc({ "status" }, kubeconfig("fresh", k.server, ("{ token: %s }"):format(fresh)))
    assert.not_equal(0, st)
    assert.matches("forbidden", err, 1, true)
    assert.matches("system:serviceaccount:default:deloc-spec", err, 1, true)
  end)

  it("a user without rights gets the server's reason", function()
    local st, _, err = deloc({ "status", "--context", "viewer" })
    assert.not_equal(0, st)
    assert.matches('User "viewer" cannot list resource', err, 1, true)
  end)

  it("an unreachable server says so", function()
    local port = 1
    local st, _, err = deloc({ "status" }, kubeconfig("unreachable", "https://127.0.0.1:" .. port,
      "{ token: x }"))
    assert.equal(5, st)
    assert.matches("cannot reach the Kubernetes API server at https://127.0.0.1:1", err, 1, true)
  end)

  it("a server whose certificate the CA did not sign is refused", function()
    local path = k:write_kubeconfig("wrong-ca", ([[
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster: { server: "%s", certificate-authority: /etc/ssl/certs/ca-certificates.crt }
contexts:
- name: x
  context: { cluster: c, user: u }
users:
- name: u
  user: { token: %s }
]]):format(k.server, k.admin_token))
    local st, _, err = deloc({ "status" }, path)
    assert.not_equal(0, st)
    assert.matches("TLS with the Kubernetes API server", err, 1, true)
  end)

  it("insecure-skip-tls-verify works with a warning", function()
    local path = k:write_kubeconfig("insecure", ([[
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster: { server: "%s", insecure-skip-tls-verify: true }
contexts:
- name: x
  context: { cluster: c, user: u }
users:
- name: u
  user: { token: %s }
]]):format(k.server, k.admin_token))
    local st, _, err = deloc({ "status" }, path)
    assert.equal(0, st, err)
    assert.matches("insecure-skip-tls-verify is set", err, 1, true)
  end)

  it("a stack bigger than the cluster does not fit, and nothing is applied", function()
    local big = e2e.workdir(project, "services:\n  redis:\n    resources: { memory: 64Gi }\n")
    finally(function() e2e.rmdir(big) end)
    local st, _, err = e2e.deloc({ "up", "--no-wait" }, { cwd = big, timeout = 60,
      env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" } })
    assert.equal(4, st, err)
    assert.matches("does not fit the cluster", err, 1, true)
    local code = k:request("GET", "/api/v1/namespaces/" .. require("deloc.adapters.kubernetes.build").namespace(project))
    assert.equal(404, code)
  end)

  it("--rollback after a failed fresh install removes what it created", function()
    -- no kubelet: redis never becomes ready, so the wait times out
    local st, _, err = deloc({ "up", "--wait", "--timeout", "3s", "--rollback" })
    assert.equal(6, st, err)
    assert.matches("not ready after 3s", err, 1, true)
    local build = require("deloc.adapters.kubernetes.build")
    local ns = build.namespace(project)
    for _, kind in ipairs({ "StatefulSet", "Service", "Secret", "NetworkPolicy", "ServiceAccount" }) do
      local code, body = k:request("GET", require("deloc.adapters.kubernetes.client").collection(kind, ns))
      assert.same({}, code == 200 and body.items or {}, kind)
    end
    local code, body = k:request("GET", "/api/v1/namespaces/" .. ns)
    assert.is_true(code == 404 or body.metadata.deletionTimestamp ~= nil)
  end)

  it("--rollback after a failed upgrade re-applies the previous revision", function()
    local p = e2e.project("k8s-upgrade")
    local d = e2e.workdir(p, "services:\n  redis:\n    resources: { memory: 200Mi }\n")
    finally(function() e2e.rmdir(d) end)
    local env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" }
    local st, _, err = e2e.deloc({ "up", "--no-wait" }, { cwd = d, env = env, timeout = 60 })
    assert.equal(0, st, err)
    local ns = require("deloc.adapters.kubernetes.build").namespace(p)
    local path = "/apis/apps/v1/namespaces/" .. ns .. "/statefulsets/redis"
    local function memory()
      local code, body = k:request("GET", path)
      assert.equal(200, code)
      return body.spec.template.spec.containers[1].resources.limits.memory, body.metadata.resourceVersion
    end
    local before, rv = memory()
    assert.equal("200Mi", before)
    assert(sys.write_atomic(d .. "/deloc.yaml", ("project: %s\nservices:\n  redis:\n    resources: { memory: 300Mi }\n"):format(p)))
    st, _, err = e2e.deloc({ "up", "--wait", "--timeout", "3s", "--rollback" }, { cwd = d, env = env, timeout = 60 })
    assert.equal(6, st, err)
    assert.matches("re-applying the previous revision", err, 1, true)
    local after, rv2 = memory()
    assert.equal("200Mi", after)
    assert.not_equal(rv, rv2) -- it was upgraded, then rolled back
    -- and nothing is stuck: the upgrade goes through when asked again
    st, _, err = e2e.deloc({ "up", "--no-wait" }, { cwd = d, env = env, timeout = 60 })
    assert.equal(0, st, err)
    assert.equal("300Mi", (memory()))
  end)

  it("a killed deloc leaves nothing stuck: the next up just converges", function()
    local project2 = e2e.project("k8s-kill")
    local dir2 = e2e.workdir(project2, "services:\n  redis: {}\n")
    finally(function() e2e.rmdir(dir2) end)
    local argv = { e2e.bin(), "up", "--wait", "--timeout", "60s" }
    local pid = assert(sys.spawn_bg({ argv = argv, cwd = dir2, stdout = "", stderr = "",
      env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" } }))
    -- until it is waiting (the StatefulSet exists), then kill it hard
    local ns = require("deloc.adapters.kubernetes.build").namespace(project2)
    local deadline = sys.now() + 30
    while sys.now() < deadline do
      local code = k:request("GET", "/apis/apps/v1/namespaces/" .. ns .. "/statefulsets/redis")
      if code == 200 then break end
      sys.sleep(0.2)
    end
    sys.kill(pid, "KILL")
    sys.waitpid(pid)
    local st, out, err = e2e.deloc({ "up", "--no-wait", "--json" }, { cwd = dir2, timeout = 60,
      env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" } })
    assert.equal(0, st, err)
    local at = 1
    for pos in out:gmatch("()\n{\n") do at = pos + 1 end
    local doc = assert(json.decode(out:sub(at)))
    assert.equal(0, doc.result.configured)
    st, _, err = e2e.deloc({ "clean" }, { cwd = dir2, timeout = 60,
      env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = "kubernetes" } })
    assert.equal(0, st, err)
  end)
end)
