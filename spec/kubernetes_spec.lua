-- The Kubernetes driver's own logic, without a cluster: quantities, the
-- readiness rules, placement on nodes, the objects it applies (labels,
-- namespace, Pod Security), warning headers and the choice of target.
-- (spec/e2e/kubernetes_e2e_spec.lua runs it against a real API server.)
local planner = require("deloc.planner")
local registry = require("deloc.registry")
local ops = require("deloc.adapters.kubernetes.ops")
local apply = require("deloc.adapters.kubernetes.apply")
local build = require("deloc.adapters.kubernetes.build")
local client = require("deloc.adapters.kubernetes.client")
local e2e = dofile("spec/support/e2e.lua")

local Gi = 1024 ^ 3

local function plan_of(services, cap)
  local reg = assert(registry.new({ dirs = {}, builtin = true }))
  return assert(planner.plan({ services = services, registry = reg, target = "kubernetes", listening = {},
    capacity = cap or { cpu = 16, memory = 64 * Gi, disk = 500 * Gi, source = { cpu = "t", memory = "t", disk = "t" } },
    project = { name = "shop", dir = "/tmp/shop", services = {}, profiles = {} } }))
end

describe("kubernetes driver", function()
  it("reads the API's quantities", function()
    local cases = {
      { "3800m", 3.8 }, { "2", 2 }, { "0.5", 0.5 }, { "16Gi", 16 * Gi }, { "16384Ki", 16 * 2 ^ 20 },
      { "129M", 129e6 }, { "1e3", 1000 }, { "128974848", 128974848 }, { "100u", 1e-4 },
    }
    for _, c in ipairs(cases) do
      assert.near(c[2], ops.quantity(c[1]), 1e-9, c[1])
    end
    assert.is_nil(ops.quantity("12 apples"))
    assert.is_nil(ops.quantity("Gi"))
  end)

  it("decides readiness like kubectl rollout status", function()
    local function dep(spec_n, st, gen)
      return { kind = "Deployment", metadata = { generation = gen or 1 }, spec = { replicas = spec_n }, status = st }
    end
    assert.equal("ready", (apply.ready(dep(2, { observedGeneration = 1, replicas = 2, updatedReplicas = 2,
      readyReplicas = 2, availableReplicas = 2 }))))
    -- an old replica still there, a generation not observed, one not ready
    assert.is_nil((apply.ready(dep(2, { observedGeneration = 1, replicas = 3, updatedReplicas = 2,
      readyReplicas = 3, availableReplicas = 3 }))))
    assert.is_nil((apply.ready(dep(1, { observedGeneration = 1, replicas = 1, updatedReplicas = 1,
      readyReplicas = 1, availableReplicas = 1 }, 2))))
    local _, detail = apply.ready(dep(2, { observedGeneration = 1, replicas = 2, updatedReplicas = 2, readyReplicas = 1 }))
    assert.equal("1/2 ready", detail)
    local state, why = apply.ready(dep(1, { observedGeneration = 1, conditions = {
      { type = "Progressing", status = "False", reason = "ProgressDeadlineExceeded", message = "too slow" } } }))
    assert.equal("failed", state)
    assert.equal("too slow", why)
    local sts = { kind = "StatefulSet", metadata = { generation = 3 }, spec = { replicas = 1 },
      status = { observedGeneration = 3, replicas = 1, readyReplicas = 1, updatedReplicas = 1 } }
    assert.equal("ready", (apply.ready(sts)))
    local job = { kind = "Job", metadata = {}, status = { conditions = { { type = "Complete", status = "True" } } } }
    assert.equal("completed", (apply.ready(job)))
    job.status.conditions = { { type = "Failed", status = "True", message = "BackoffLimitExceeded" } }
    state, why = apply.ready(job)
    assert.equal("failed", state)
    assert.equal("BackoffLimitExceeded", why)
  end)

  it("places every replica on a node, and names what has no room", function()
    local plan = plan_of({ "postgres", "redis" })
    local r = ops.place(plan, { nodes = { { name = "a", cpu = 4, memory = 8 * Gi }, { name = "b", cpu = 4, memory = 8 * Gi } } })
    assert.is_true(r.fits)
    assert.is_string(r.placement.postgres)
    assert.is_string(r.placement.redis)
    r = ops.place(plan, { nodes = { { name = "tiny", cpu = 0.1, memory = 64 * 2 ^ 20 } } })
    assert.is_false(r.fits)
    assert.same({ "postgres", "redis" }, (function() local t = {}
      for _, n in ipairs(r.unplaced) do t[#t + 1] = n end table.sort(t) return t end)())
    assert.matches("needs", r.reasons.postgres)
  end)

  describe("objects", function()
    local dir
    before_each(function() dir = e2e.tmpdir() end)
    after_each(function() e2e.rmdir(dir) end)

    it("puts every object in the project's namespace with deloc's labels; secrets from .deloc/secrets", function()
      local plan = plan_of({ "postgres", "airflow" })
      local objs = assert(build.objects(plan, dir))
      local ns = objs[1]
      assert.equal("Namespace", ns.kind)
      assert.equal("deloc-shop", ns.metadata.name)
      assert.equal("restricted", ns.metadata.labels["pod-security.kubernetes.io/enforce"])
      assert.equal("shop", ns.metadata.labels["dev.deloc.project"])
      local secret_value = assert(require("deloc.sys").read_file(dir .. "/.deloc/secrets/postgres.password"))
      local seen = {}
      for i = 2, #objs do
        local o = objs[i]
        seen[o.kind] = true
        assert.equal("deloc-shop", o.metadata.namespace, build.key(o))
        assert.equal("shop", o.metadata.labels["dev.deloc.project"], build.key(o))
        if o.kind == "StatefulSet" or o.kind == "Deployment" or o.kind == "Job" then
          local comp = plan.services[o.metadata.labels["dev.deloc.service"]]
            .components[o.metadata.labels["dev.deloc.component"]]
          assert.equal(comp.config_hash, o.metadata.labels["dev.deloc.config-hash"])
          assert.equal("shop", o.spec.template.metadata.labels["dev.deloc.project"])
          for _, claim in ipairs(o.spec.volumeClaimTemplates or {}) do
            assert.equal("shop", claim.metadata.labels["dev.deloc.project"])
          end
        end
        if o.kind == "Secret" and o.metadata.name == "postgres-secrets" then
          assert.equal(secret_value, require("deloc.kubeconfig").base64_decode(o.data.password))
        end
      end
      for _, kind in ipairs({ "StatefulSet", "Job", "Service", "Secret", "ServiceAccount", "NetworkPolicy" }) do
        assert.is_true(seen[kind], kind)
      end
      -- the same plan builds the same objects (secrets are kept, not regenerated)
      assert.same(objs, assert(build.objects(plan, dir)))
    end)

    it("sends no empty list (the server would record a change on every apply)", function()
      local objs = assert(build.objects(plan_of({ "airflow" }), dir))
      local function walk(t, path)
        for k, v in pairs(t) do
          if type(v) == "table" then
            assert.is_false(require("deloc.array").is(v) and #v == 0, path .. "." .. tostring(k))
            walk(v, path .. "." .. tostring(k))
          end
        end
      end
      for _, o in ipairs(objs) do walk(o, build.key(o)) end
    end)

    -- the kubelet expands $(VAR) in command, args and env and turns $$ into $:
    -- a shell's $(...) must reach the container as written (a real kubelet
    -- ran redis-server with "requirepass 1(cat ..." when $ became $$$$)
    it("escapes every $ once, so the container's shell sees $(...) as written", function()
      local objs = assert(build.objects(plan_of({ "redis" }), dir))
      local sts
      for _, o in ipairs(objs) do if o.kind == "StatefulSet" then sts = o end end
      local script = sts.spec.template.spec.containers[1].args[3]
      assert.matches("requirepass $$(cat /run/secrets/redis.password)", script, 1, true)
      assert.is_nil(script:find("$$$", 1, true), script)
      -- what the kubelet makes of it: $$ -> $
      assert.matches("requirepass $(cat /run/secrets/redis.password)\n", (script:gsub("%$%$", "$")), 1, true)
    end)

    it("drops the namespace to baseline, with the reason, when a recipe cannot run restricted", function()
      local plan = plan_of({ "minio" })
      local level, reasons = build.pod_security(plan)
      assert.equal("baseline", level)
      assert.matches("^minio/server: .*root", reasons[1])
      assert.equal("baseline", build.namespace_object(plan).metadata.labels["pod-security.kubernetes.io/enforce"])
    end)
  end)

  it("gives the address in the cluster and the port-forward line for each port", function()
    local eps = ops.endpoints(plan_of({ "postgres" }))
    assert.equal("postgres.deloc-shop.svc:5432", eps[1].address)
    assert.matches("^kubectl %-n deloc%-shop port%-forward svc/postgres %d+:5432$", eps[1].forward)
  end)

  it("reads Warning headers", function()
    assert.same({ 'would violate PodSecurity "restricted:latest": x', "second" },
      client.parse_warnings('299 - "would violate PodSecurity \\"restricted:latest\\": x", 299 - "second"'))
    assert.same({}, client.parse_warnings(nil))
  end)

  it("maps objects to API paths", function()
    assert.equal("/apis/apps/v1/namespaces/n/statefulsets/pg",
      client.path({ kind = "StatefulSet", metadata = { name = "pg", namespace = "n" } }))
    assert.equal("/api/v1/namespaces/n", client.path({ kind = "Namespace", metadata = { name = "n" } }))
    assert.equal("/apis/rbac.authorization.k8s.io/v1/namespaces/n/roles",
      client.collection("Role", "n"))
  end)

  describe("target choice", function()
    local targets = require("deloc.targets")
    it("takes the flag, then DELOC_TARGET, and refuses unknown names", function()
      assert.equal("kubernetes", (targets.name({ target = "kubernetes" })))
      local t, err = targets.name({ target = "kubernetis" })
      assert.is_nil(t)
      assert.equal("USAGE", err.code)
      assert.equal("did you mean 'kubernetes'?", err.hint)
    end)
    it("what the kubernetes target cannot do is a clear error from its driver", function()
      local drivers = require("deloc.drivers")
      assert.same({ "docker", "kubernetes" }, require("deloc.targets").names())
      for _, name in ipairs({ "docker", "kubernetes" }) do
        assert.same({}, drivers.missing(assert(require("deloc.targets").get(name))), name)
      end
      -- a backup goes through pods/exec where the recipe has a dump command;
      -- a volume archive is the Docker target's alone, and said so
      local plan = { project = "p", services = { minio = { components = { minio = {} } } } }
      local code, err = require("deloc.adapters.kubernetes.backup").backup({}, plan, "minio", function() end)
      assert.is_nil(code)
      assert.equal("USAGE", err.code)
      assert.matches("volume archive is made only on the Docker target", err.message, 1, true)
    end)
  end)
end)
