-- `deloc --target kubernetes` on a cluster where workloads become Ready: the
-- real kube-apiserver and etcd of spec/support/kube.lua plus
-- kube-controller-manager, kube-scheduler and kwok's fake nodes (built once by
-- spec/k8s/build-full).  Pods are scheduled onto the kwok nodes and marked
-- Running and Ready (a Job's pods then Succeeded); nothing is pulled or run,
-- so the recipes' official image names are fine.  An image tagged
-- `deloc-spec-crash` gives a crash-looping pod (spec/k8s/full/kwok-stages.yaml).
--
-- Tagged #k8sfull, not #e2e: run by `make test-k8s-full` (spec/run k8sfull).
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local _ -- the placeholder for results a test does not look at
local kube = dofile("spec/support/kube.lua")

local KINDS = { "Job", "Deployment", "StatefulSet", "Service", "NetworkPolicy", "RoleBinding", "Role",
                "Secret", "ConfigMap", "ServiceAccount", "PersistentVolumeClaim", "PodDisruptionBudget", "Pod" }
local NODES = { ["node-a"] = true, ["node-b"] = true }

describe("kubernetes with controllers, a scheduler and kwok nodes: --wait, scale, rollback, down #k8sfull", function()
  local k, project, dir, env, ns
  local client = require("deloc.adapters.kubernetes.client")
  local build = require("deloc.adapters.kubernetes.build")

  -- every command with --target kubernetes (the project file names no target)
  local function deloc(args, timeout)
    local argv = { args[1], "--target", "kubernetes" }
    for i = 2, #args do argv[#argv + 1] = args[i] end
    return e2e.deloc(argv, { cwd = dir, env = env, timeout = timeout or 300 })
  end

  -- the JSON lines of an --json run: progress events, then the result document
  local function json_run(out)
    local events, at = {}, 1
    for pos in out:gmatch("()\n{\n") do at = pos + 1 end
    for line in out:sub(1, at - 1):gmatch("[^\n]+") do
      local ev = json.decode(line)
      if type(ev) == "table" then events[#events + 1] = ev end
    end
    return events, assert(json.decode(out:sub(at)))
  end

  local function get(path)
    local code, body = k:request("GET", path)
    assert.equal(200, code, path .. ": " .. json.encode(body))
    return body
  end

  local function pods(selector)
    local out = {}
    for _, p in ipairs(get("/api/v1/namespaces/" .. ns .. "/pods?labelSelector=" .. selector).items) do
      if not p.metadata.deletionTimestamp then out[#out + 1] = p end
    end
    return out
  end

  local function ready_pod(p)
    for _, c in ipairs(p.status.conditions or {}) do
      if c.type == "Ready" then return c.status == "True" end
    end
    return false
  end

  -- polls fn() until it returns a true value (what the controllers do
  -- after deloc returns: scaling down, a rollback's rollout)
  local function eventually(what, fn, seconds)
    local deadline = sys.now() + (seconds or 60)
    local last
    while true do
      local ok, v = pcall(fn)
      if ok and v then return v end
      last = ok and "not yet" or v
      if sys.now() > deadline then error(("%s: still not after %ds (%s)"):format(what, seconds or 60, tostring(last)), 2) end
      k:check()
      sys.sleep(0.5)
    end
  end

  local function deployment(name) return get("/apis/apps/v1/namespaces/" .. ns .. "/deployments/" .. name) end

  local function labelled(selector)
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
    k = kube.start({ full = true })
    k:add_node("node-a", { cpu = "16", memory = "64Gi" })
    k:add_node("node-b", { cpu = "16", memory = "64Gi" })
    k:add_volumes(6)
    project = e2e.project("k8s-full")
    dir = e2e.workdir(project, "services:\n  postgres: {}\n  redis: {}\n  spark: {}\n  airflow: {}\n")
    env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = false }
    ns = build.namespace(project)
  end)

  teardown(function()
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  it("up --wait brings every workload to ready and the job to completion, in dependency order", function()
    local st, out, err = deloc({ "up", "--wait", "--timeout", "240s", "--json" })
    assert.equal(0, st, err .. out)
    local events, doc = json_run(out)
    assert.is_true(doc.ok)
    -- progress: every component applied, then reported ready (the job completed)
    local seen, order = {}, {}
    for i, ev in ipairs(events) do
      if ev.state then -- (notes have none)
        local key = tostring(ev.service) .. "/" .. tostring(ev.component)
        seen[key] = seen[key] or {}
        seen[key][ev.state] = seen[key][ev.state] or i
        order[#order + 1] = key .. ":" .. ev.state
      end
    end
    local trace = table.concat(order, " ")
    local st_doc = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    local plan = st_doc.plan
    local n_jobs = 0
    for _, sname in ipairs(plan.order) do
      for _, cname in ipairs(plan.services[sname].component_order) do
        local key = sname .. "/" .. cname
        local comp = plan.services[sname].components[cname]
        local final = comp.kind == "oneshot" and "completed" or "ready"
        if comp.kind == "oneshot" then n_jobs = n_jobs + 1 end
        assert.is_table(seen[key], "no progress for " .. key .. ": " .. trace)
        assert.is_number(seen[key].applying, key .. " never applying: " .. trace)
        assert.is_number(seen[key][final], key .. " never " .. final .. ": " .. trace)
        assert.is_true(seen[key].applying < seen[key][final], trace)
      end
    end
    assert.is_true(n_jobs > 0, "airflow's init job is a oneshot")
    -- dependencies first: airflow's init ran after postgres was ready, and
    -- the api-server started only once init had completed
    assert.is_true(seen["postgres/postgres"].ready < seen["airflow/init"].applying, trace)
    assert.is_true(seen["airflow/init"].completed < seen["airflow/api-server"].applying, trace)

    -- and it is real: the cluster agrees, the pods are on the kwok nodes
    for _, sname in ipairs(plan.order) do
      for _, cname in ipairs(plan.services[sname].component_order) do
        local comp = plan.services[sname].components[cname]
        local ps = pods(build.selector(project, sname, cname))
        assert.is_true(#ps >= 1, sname .. "/" .. cname .. " has no pod")
        for _, p in ipairs(ps) do
          assert.is_true(NODES[p.spec.nodeName] or false, p.metadata.name .. " on " .. tostring(p.spec.nodeName))
          if comp.kind == "oneshot" then
            assert.equal("Succeeded", p.status.phase, p.metadata.name)
          else
            assert.equal("Running", p.status.phase, p.metadata.name)
            assert.is_true(ready_pod(p), p.metadata.name .. " not Ready")
          end
        end
      end
    end
    -- the statefulsets' claims are bound (to the spec's volumes)
    for _, c in ipairs(get("/api/v1/namespaces/" .. ns .. "/persistentvolumeclaims").items) do
      assert.equal("Bound", c.status.phase, c.metadata.name)
    end
    st, out, err = deloc({ "health" })
    assert.equal(0, st, err .. out)
    st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    for _, r in ipairs(assert(json.decode(out)).services) do
      assert.is_true(r.state == "ready" or r.state == "completed", r.service .. "/" .. r.component .. ": " .. r.state)
    end
  end)

  it("a second up --wait changes nothing and reports every component ready at once", function()
    local t0 = sys.now()
    local st, out, err = deloc({ "up", "--wait" })
    assert.equal(0, st, err .. out)
    assert.matches("0 created, 0 changed, %d+ unchanged", out)
    assert.is_true(sys.now() - t0 < 60, "took " .. (sys.now() - t0) .. " s")
    -- the plain progress names the components as ready
    assert.matches("postgres", err, 1, true)
    assert.matches("ready", err, 1, true)
  end)

  it("scale spark.worker=3 runs three ready workers, status shows them, up keeps them, =1 scales back", function()
    local st, out, err = deloc({ "scale", "spark.worker=3" })
    assert.equal(0, st, err .. out)
    local d = deployment("spark-worker")
    assert.equal(3, d.spec.replicas)
    assert.equal(3, d.status.readyReplicas) -- scale waited for them
    local sel = build.selector(project, "spark", "worker")
    local ps = pods(sel)
    assert.equal(3, #ps)
    for _, p in ipairs(ps) do assert.is_true(ready_pod(p), p.metadata.name) end
    st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    local row
    for _, r in ipairs(assert(json.decode(out)).services) do
      if r.service == "spark" and r.component == "worker" then row = r end
    end
    assert.is_table(row, out)
    assert.equal("ready", row.state)
    assert.equal("3/3", row.ready)
    assert.equal(3, #row.pods)
    for _, p in ipairs(row.pods) do
      assert.is_true(p.ready, p.name)
      assert.is_true(NODES[p.node] or false, tostring(p.node))
    end
    st, out, err = deloc({ "status" })
    assert.equal(0, st, err)
    assert.matches("spark/worker%s+deployment/spark%-worker%s+ready%s+3/3", out)

    -- the count sticks: a later up keeps three
    st, out, err = deloc({ "up", "--wait" })
    assert.equal(0, st, err .. out)
    assert.equal(3, deployment("spark-worker").spec.replicas)

    -- what cannot be scaled, and what does not fit, change nothing
    st, _, err = deloc({ "scale", "postgres=2" })
    assert.equal(2, st, err)
    assert.matches("postgres cannot be scaled", err, 1, true)
    st, _, err = deloc({ "scale", "spark.worker=500" })
    assert.equal(4, st, err)
    assert.matches("does not fit the cluster", err, 1, true)
    st, _, err = deloc({ "scale", "nosuch=2" })
    assert.equal(3, st, err)
    assert.matches("no service 'nosuch'", err, 1, true)
    assert.equal(3, deployment("spark-worker").spec.replicas)

    st, out, err = deloc({ "scale", "spark.worker=1" })
    assert.equal(0, st, err .. out)
    assert.equal(1, deployment("spark-worker").spec.replicas)
    eventually("two workers gone", function() return #pods(sel) == 1 end)
    st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    for _, r in ipairs(assert(json.decode(out)).services) do
      if r.service == "spark" and r.component == "worker" then
        assert.equal("1/1", r.ready)
        assert.equal(1, #r.pods)
      end
    end
  end)

  it("a failed upgrade with --rollback puts the previous revision back, and it is ready again", function()
    local before = deployment("spark-master")
    local image = before.spec.template.spec.containers[1].image
    assert.equal("apache/spark:3.5.3", image)
    local yaml = assert(sys.read_file(dir .. "/deloc.yaml"))
    finally(function() assert(sys.write_atomic(dir .. "/deloc.yaml", yaml)) end)
    -- the new image's pods crash-loop (kwok stage deloc-spec-crash-loop)
    assert(sys.write_atomic(dir .. "/deloc.yaml", yaml .. "images:\n  spark: apache/spark:deloc-spec-crash\n"))
    local st, out, err = deloc({ "up", "--wait", "--timeout", "25s", "--rollback" })
    assert.equal(6, st, err .. out)
    -- fail fast (issue 11 point 6): the crash loop fails the wait at once,
    -- where it used to wait out the 25 s
    assert.matches("deployment spark-master failed: pod spark-master-", err, 1, true)
    assert.matches("CrashLoopBackOff", err, 1, true)
    assert.matches("re-applying the previous revision", err, 1, true)
    local master_sel = build.selector(project, "spark", "master")
    -- the previous template is back, and the controllers roll to it
    local d = deployment("spark-master")
    assert.equal(image, d.spec.template.spec.containers[1].image)
    assert.is_true(d.metadata.generation > before.metadata.generation, "never upgraded")
    eventually("spark-master rolled back and ready", function()
      local x = deployment("spark-master")
      local s = x.status
      if (s.observedGeneration or 0) < x.metadata.generation then return false end
      if (s.updatedReplicas or 0) ~= x.spec.replicas or (s.readyReplicas or 0) ~= x.spec.replicas then return false end
      if (s.replicas or 0) ~= x.spec.replicas then return false end
      for _, p in ipairs(pods(master_sel)) do
        if p.spec.containers[1].image ~= image or not ready_pod(p) then return false end
      end
      return true
    end, 90)
    st, out, err = deloc({ "health" })
    assert.equal(0, st, err .. out)
    -- the project file still names the bad image: the state kept the good plan,
    -- so a plain up (project file restored) changes nothing
    assert(sys.write_atomic(dir .. "/deloc.yaml", yaml))
    st, out, err = deloc({ "up", "--wait" })
    assert.equal(0, st, err .. out)
    assert.matches("0 created, 0 changed", out, 1, true)
  end)

  -- A StatefulSet (OrderedReady) does not replace a pod that is not Ready when
  -- its template is reverted (Kubernetes' "forced rollback" rule): the pods the
  -- bad revision made have to be deleted for the rollback to take.
  it("a failed StatefulSet upgrade with --rollback runs the previous revision's pods again", function()
    local path = "/apis/apps/v1/namespaces/" .. ns .. "/statefulsets/redis"
    local before = get(path)
    local image = before.spec.template.spec.containers[1].image
    local yaml = assert(sys.read_file(dir .. "/deloc.yaml"))
    finally(function() assert(sys.write_atomic(dir .. "/deloc.yaml", yaml)) end)
    assert(sys.write_atomic(dir .. "/deloc.yaml", yaml .. "images:\n  redis: redis:deloc-spec-crash\n"))
    local st, out, err = deloc({ "up", "--wait", "--timeout", "20s", "--rollback" })
    assert.equal(6, st, err .. out)
    assert.matches("statefulset redis failed: pod redis-", err, 1, true)
    assert.matches("CrashLoopBackOff", err, 1, true)
    assert.equal(image, get(path).spec.template.spec.containers[1].image)
    eventually("redis rolled back and ready", function()
      local x = get(path)
      local s = x.status
      if (s.observedGeneration or 0) < x.metadata.generation or s.currentRevision ~= s.updateRevision then return false end
      for _, p in ipairs(pods(build.selector(project, "redis", "redis"))) do
        if p.spec.containers[1].image ~= image or not ready_pod(p) then return false end
      end
      return (s.readyReplicas or 0) == x.spec.replicas
    end, 60)
    st, out, err = deloc({ "health" })
    assert.equal(0, st, err .. out)
  end)

  it("down --volumes leaves nothing: no labelled object, no pod, and the namespace is gone", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    -- claims go once the pods using them have (the protection finalizer)
    eventually("every labelled object gone", function()
      local left = labelled(build.selector(project))
      assert.same({}, left)
      return true
    end, 60)
    -- with a namespace controller, the namespace really goes
    eventually("namespace " .. ns .. " deleted", function()
      return (k:request("GET", "/api/v1/namespaces/" .. ns)) == 404
    end, 120)
    st, _, err = deloc({ "status" })
    assert.equal(0, st, err)
  end)
end)
