-- deloc generate helm / deloc.generate.helm, and the Kubernetes objects the
-- chart and the Kubernetes driver share (deloc.k8s.objects).
local yaml = require("deloc.yaml")
local sys = require("deloc.sys")
local objects = require("deloc.k8s.objects")
local helm = require("deloc.adapters.helm")
local generate = require("deloc.generate")
local g = dofile("spec/support/generate.lua")

local function by_kind_name(list)
  local t = {}
  for _, o in ipairs(list) do t[o.kind .. "/" .. o.metadata.name] = o end
  return t
end

local function find(list, name)
  for _, x in ipairs(list or {}) do if x.name == name then return x end end
end

local function subset(small, big)
  for k, v in pairs(small) do if big[k] ~= v then return false end end
  return true
end

describe("k8s objects (concrete, as the driver applies them)", function()
  local objs = by_kind_name(objects.build(g.plan()))

  it("makes a StatefulSet for stateful components, a Deployment for stateless ones, a Job for one-shots", function()
    local pg = objs["StatefulSet/postgres"]
    assert.truthy(pg)
    assert.equal("postgres", pg.spec.serviceName)
    assert.equal(1, pg.spec.replicas)
    local claim = pg.spec.volumeClaimTemplates[1]
    assert.equal("vol-data", claim.metadata.name)
    assert.equal("1Gi", claim.spec.resources.requests.storage)
    assert.same({ "ReadWriteOnce" }, claim.spec.accessModes)
    assert.equal(2, objs["Deployment/app-api"].spec.replicas)
    local job = objs["Job/app-init-3b2c3d4e"]
    assert.truthy(job)
    assert.equal("OnFailure", job.spec.template.spec.restartPolicy)
    assert.is_nil(job.spec.template.spec.containers[1].readinessProbe)
  end)

  it("selects every workload's pods by labels its template carries", function()
    for key, o in pairs(objs) do
      if o.kind == "Deployment" or o.kind == "StatefulSet" then
        assert.is_true(subset(o.spec.selector.matchLabels, o.spec.template.metadata.labels), key)
      end
      if o.kind == "Service" then
        local hit = false
        for _, w in pairs(objs) do
          if w.spec and w.spec.template and subset(o.spec.selector, w.spec.template.metadata.labels) then hit = true end
        end
        assert.is_true(hit, key .. " selects no pods")
      end
    end
  end)

  it("sizes containers as planned, requests = limits", function()
    local c = objs["StatefulSet/postgres"].spec.template.spec.containers[1]
    assert.same({ requests = { cpu = "500m", memory = "512Mi" }, limits = { cpu = "500m", memory = "512Mi" } },
      c.resources)
    assert.equal("postgres:16.4-bookworm", c.image)
    assert.same({ { name = "postgres", containerPort = 5432, protocol = "TCP" } }, c.ports)
    assert.equal("-Xmx179m -Xms179m", find(objs["Deployment/app-api"].spec.template.spec.containers[1].env,
      "JAVA_OPTS").value)
    assert.equal("500m", objects.quantity_cpu(0.5))
    assert.equal("2", objects.quantity_cpu(2))
    assert.equal("1536Mi", objects.quantity_bytes(1536 * 1024 * 1024))
    assert.equal("1000", objects.quantity_bytes(1000))
  end)

  it("turns health checks into startup, readiness and liveness probes", function()
    local c = objs["StatefulSet/postgres"].spec.template.spec.containers[1]
    assert.equal("pg_isready", c.readinessProbe.exec.command[1])
    assert.equal(5, c.readinessProbe.periodSeconds)
    assert.equal(12 + 2, c.startupProbe.failureThreshold) -- retries + start_period / interval
    assert.equal(12, c.livenessProbe.failureThreshold)
    local api = objs["Deployment/app-api"].spec.template.spec.containers[1]
    assert.same({ path = "/health", port = 8080, scheme = "HTTP" }, api.readinessProbe.httpGet)
    -- a log pattern is nothing the kubelet can run
    assert.is_nil(objs["Deployment/app-worker"].spec.template.spec.containers[1].readinessProbe)
  end)

  it("runs pods under Pod Security restricted, unless the recipe says why not", function()
    local pod = objs["StatefulSet/postgres"].spec.template.spec
    assert.is_false(pod.automountServiceAccountToken)
    assert.equal("gen", pod.serviceAccountName)
    assert.same({ runAsNonRoot = true, runAsUser = 999, runAsGroup = 999, fsGroup = 999,
                  fsGroupChangePolicy = "OnRootMismatch", seccompProfile = { type = "RuntimeDefault" } },
      pod.securityContext)
    local sc = pod.containers[1].securityContext
    assert.is_false(sc.allowPrivilegeEscalation)
    assert.same({ "ALL" }, sc.capabilities.drop)
    assert.is_true(sc.readOnlyRootFilesystem)
    assert.is_true(sc.runAsNonRoot)
    local worker = objs["Deployment/app-worker"]
    assert.equal("binds port 80 as a non-root user", worker.metadata.annotations["deloc.dev/not-restricted"])
    assert.equal("binds port 80 as a non-root user",
      worker.spec.template.metadata.annotations["deloc.dev/not-restricted"])
    local wsc = worker.spec.template.spec.containers[1].securityContext
    assert.is_nil(wsc.runAsNonRoot)
    assert.same({ "NET_BIND_SERVICE" }, wsc.capabilities.add)
    assert.is_false(wsc.readOnlyRootFilesystem)
    assert.is_false(objs["ServiceAccount/gen"].automountServiceAccountToken)
  end)

  it("mounts secrets as files from per-service Secrets, never as values", function()
    local pod = objs["Deployment/app-api"].spec.template.spec
    local mounts = pod.containers[1].volumeMounts
    local m = find(mounts, "secret-postgres")
    assert.same({ name = "secret-postgres", mountPath = "/run/secrets/postgres.password", subPath = "password",
                  readOnly = true }, m)
    assert.equal("postgres-secrets", find(pod.volumes, "secret-postgres").secret.secretName)
    assert.equal("app-secrets", find(pod.volumes, "secret-app").secret.secretName)
    assert.truthy(objs["Secret/postgres-secrets"])
    assert.is_nil(next(objs["Secret/postgres-secrets"].data)) -- the driver fills data from .deloc/secrets
  end)

  it("makes a component wait for its dependencies with init containers", function()
    local inits = objs["Deployment/app-api"].spec.template.spec.initContainers
    local job = find(inits, "wait-app-init")
    assert.same({ "wait", "--for=condition=complete", "job/app-init-3b2c3d4e", "--timeout=600s" }, job.args)
    assert.equal("kube-api-access", job.volumeMounts[1].name)
    local tcp = find(inits, "wait-redis")
    assert.same({ { name = "HOST", value = "redis" }, { name = "PORT", value = "6379" } }, tcp.env)
    assert.is_true(tcp.securityContext.runAsNonRoot)
    -- the token is projected into the waiting init container only
    local pod = objs["Deployment/app-api"].spec.template.spec
    assert.is_false(pod.automountServiceAccountToken)
    assert.is_nil(pod.containers[1].volumeMounts[1].name == "kube-api-access" or nil)
    assert.equal("gen-wait", pod.serviceAccountName)
    assert.same({ "get", "list", "watch" }, objs["Role/gen-wait"].rules[1].verbs)
    assert.equal("gen-wait", objs["RoleBinding/gen-wait"].subjects[1].name)
  end)

  it("makes no Role where nothing needs the API", function()
    local plan = g.plan()
    plan.services.app = nil
    plan.order = { "postgres", "redis" }
    for _, o in ipairs(objects.build(plan)) do
      assert.is_not.equal("Role", o.kind)
      assert.is_not.equal("RoleBinding", o.kind)
    end
  end)

  it("lets only the service itself and declared dependents connect", function()
    local np = objs["NetworkPolicy/redis"]
    assert.same({ "Ingress" }, np.spec.policyTypes)
    local from = np.spec.ingress[1].from
    assert.same({ ["app.kubernetes.io/name"] = "redis", ["app.kubernetes.io/instance"] = "gen" },
      from[1].podSelector.matchLabels)
    local names = {}
    for i = 2, #from do names[#names + 1] = from[i].podSelector.matchLabels["app.kubernetes.io/component"] end
    assert.same({ "api", "worker" }, names)
    assert.same({ { port = 6379, protocol = "TCP" } }, np.spec.ingress[1].ports)
    -- no ports: nobody may connect, and the empty list stays a list
    assert.same({}, objs["NetworkPolicy/app-worker"].spec.ingress)
    local text = assert(yaml.dump(objs["NetworkPolicy/app-worker"]))
    assert.matches("\n  ingress: %[%]\n", text)
  end)
end)

describe("helm renderer", function()
  local files = assert(helm.render(g.plan()))

  it("writes Chart.yaml, values.yaml, helpers and one template per object", function()
    assert.is_true(helm.MARKER == files["Chart.yaml"]:sub(1, #helm.MARKER))
    local chart = assert(yaml.load(files["Chart.yaml"]))
    assert.same({ "v2", "gen", "0.1.0", "application" }, { chart.apiVersion, chart.name, chart.version, chart.type })
    assert.matches('define "gen.labels"', files["templates/_helpers.tpl"], 1, true)
    assert.matches("helm.sh/chart:", files["templates/_helpers.tpl"], 1, true)
    assert.matches("app.kubernetes.io/managed-by:", files["templates/_helpers.tpl"], 1, true)
    for _, f in ipairs({ "templates/statefulset-postgres.yaml", "templates/deployment-app-api.yaml",
                         "templates/job-app-init-3b2c3d4e.yaml", "templates/service-redis.yaml",
                         "templates/networkpolicy-redis.yaml", "templates/secret-postgres-secrets.yaml",
                         "templates/serviceaccount-gen.yaml", "templates/role-gen-wait.yaml" }) do
      assert.truthy(files[f], f)
    end
  end)

  it("puts images, resources, replicas and ports in values.yaml and refers to them", function()
    local v = assert(yaml.load(files["values.yaml"]))
    assert.equal("postgres:16.4-bookworm", v.services.postgres.image)
    assert.equal(1, v.services.postgres.replicas)
    assert.same({ requests = { cpu = "500m", memory = "512Mi" }, limits = { cpu = "500m", memory = "512Mi" } },
      v.services.postgres.resources)
    assert.same({ postgres = 5432 }, v.services.postgres.ports)
    assert.equal(2, v.services.app.api.replicas)
    assert.is_nil(v.services.app.init.replicas)
    assert.same({ password = "" }, v.secrets.postgres)
    assert.is_true(v.networkPolicy.enabled)
    local t = files["templates/statefulset-postgres.yaml"]
    assert.matches('image: {{ (index .Values "services" "postgres" "image") | quote }}', t, 1, true)
    assert.matches('replicas: {{ (index .Values "services" "postgres" "replicas") | int }}', t, 1, true)
    assert.matches('{{- toYaml (index .Values "services" "postgres" "resources") | nindent 12 }}', t, 1, true)
    assert.matches('port: {{ (index .Values "services" "redis" "ports" "redis") | int }}',
      files["templates/service-redis.yaml"], 1, true)
  end)

  it("generates credentials in the cluster, kept across upgrades, never in the chart", function()
    local t = files["templates/secret-postgres-secrets.yaml"]
    assert.matches('include "gen.secretValue"', t, 1, true)
    assert.matches("helm.sh/resource-policy: keep", t, 1, true)
    assert.matches('lookup "v1" "Secret"', files["templates/_helpers.tpl"], 1, true)
  end)

  it("says in the chart why a component cannot run restricted", function()
    assert.matches('^# app%-worker does not run under Pod Security "restricted": binds port 80',
      files["templates/deployment-app-worker.yaml"])
  end)

  it("escapes plan text that would read as a template action", function()
    local plan = g.plan()
    plan.services.app.components.api.env.TEMPLATE = "{{ ds }}"
    local f = assert(helm.render(plan))
    assert.matches('value: "{{ "{{" }} ds }}"', f["templates/deployment-app-api.yaml"], 1, true)
  end)

  it("adds values-<profile>.yaml for the plans it is given", function()
    local small = g.plan()
    small.services.postgres.components.postgres.memory = 256 * 1024 * 1024
    local f = assert(helm.render(g.plan(), { plans = { minimal = small } }))
    local v = assert(yaml.load(f["values-minimal.yaml"]))
    assert.equal("256Mi", v.services.postgres.resources.limits.memory)
  end)
end)

describe("deloc generate helm", function()
  local dir
  before_each(function()
    dir = g.tempdir()
    g.project(dir, "project: shop\nservices:\n  postgres: {}\n  redis: {}\n")
  end)
  after_each(function() g.rm_tree(dir) end)

  local function tree(root)
    local out = {}
    local function walk(d, prefix)
      for _, n in ipairs(sys.listdir(d)) do
        local p = d .. "/" .. n
        if sys.isdir(p) then walk(p, prefix .. n .. "/") else out[prefix .. n] = g.read(p) end
      end
    end
    walk(root, "")
    return out
  end

  it("writes a chart with values for every profile", function()
    local status, out, err = g.deloc(dir, nil, "generate", "helm")
    assert.equal(0, status, err)
    assert.matches("wrote chart", out, 1, true)
    local files = tree(dir .. "/chart")
    for _, f in ipairs({ "Chart.yaml", "values.yaml", "values-minimal.yaml", "values-development.yaml",
                         "values-production.yaml", "templates/_helpers.tpl", "templates/statefulset-postgres.yaml" }) do
      assert.truthy(files[f], f)
    end
    local minimal = assert(yaml.load(files["values-minimal.yaml"]))
    local production = assert(yaml.load(files["values-production.yaml"]))
    local development = assert(yaml.load(files["values-development.yaml"]))
    local values = assert(yaml.load(files["values.yaml"]))
    assert.same(values.services.postgres.resources, development.services.postgres.resources)
    assert.not_same(minimal.services.postgres.resources, production.services.postgres.resources)
    assert.equal("2Gi", production.services.postgres.resources.limits.memory)
    -- no secret value anywhere, even when the project has them
    sys.mkdir_p(dir .. "/.deloc/secrets", 448)
    g.write(dir .. "/.deloc/secrets/postgres.password", "S3cretValueXYZ123")
    status = g.deloc(dir, nil, "generate", "helm")
    assert.equal(0, status)
    for name, text in pairs(tree(dir .. "/chart")) do
      assert.is_nil(text:find("S3cretValueXYZ123", 1, true), name)
    end
  end)

  it("writes the same bytes whatever the locale or time zone", function()
    local s1 = g.deloc(dir, { LC_ALL = "C", TZ = "UTC" }, "generate", "helm", "-o", "a")
    local s2 = g.deloc(dir, { LC_ALL = "C.UTF-8", LANG = "de_DE.UTF-8", TZ = "Pacific/Chatham" },
      "generate", "helm", "-o", "b")
    assert.equal(0, s1)
    assert.equal(0, s2)
    assert.same(tree(dir .. "/a"), tree(dir .. "/b"))
  end)

  it("does not replace a directory it did not generate, unless --force, and never leaves a half chart", function()
    sys.mkdir_p(dir .. "/chart")
    g.write(dir .. "/chart/mine.txt", "keep me")
    local status, _, err = g.deloc(dir, nil, "generate", "helm")
    assert.equal(1, status)
    assert.matches("'chart' exists and was not generated by deloc; not overwriting it", err, 1, true)
    assert.equal("keep me", g.read(dir .. "/chart/mine.txt"))
    status, _, err = g.deloc(dir, nil, "generate", "helm", "--force")
    assert.equal(0, status, err)
    assert.is_nil(g.read(dir .. "/chart/mine.txt"))
    -- ours: replaced as a whole; nothing of the old chart or the temp dirs stays
    g.write(dir .. "/chart/templates/stale.yaml", "x")
    status, _, err = g.deloc(dir, nil, "generate", "helm", "redis")
    assert.equal(0, status, err)
    assert.is_nil(g.read(dir .. "/chart/templates/stale.yaml"))
    assert.is_nil(g.read(dir .. "/chart/templates/statefulset-postgres.yaml"))
    assert.same({ "chart", "deloc.yaml" }, sys.listdir(dir))
  end)

  it("says clearly when the directory cannot be written", function()
    g.write(dir .. "/file", "x")
    local status, _, err = g.deloc(dir, nil, "generate", "helm", "-o", "file/chart")
    assert.equal(1, status)
    assert.matches("deloc: cannot write 'file/chart': 'file' is not a directory", err, 1, true)
    status, _, err = g.deloc(dir, nil, "generate", "helm", "-o", "file")
    assert.equal(1, status)
    assert.matches("'file' exists and was not generated by deloc", err, 1, true)
    assert.same({ "deloc.yaml", "file" }, sys.listdir(dir))
  end)

  it("is the same from Lua: deloc.generate.helm(plan, dir)", function()
    local out = dir .. "/lua-chart"
    local list = assert(generate.helm(g.plan(), out))
    assert.truthy(g.read(out .. "/templates/deployment-app-api.yaml"))
    local count = 0
    for _ in pairs(tree(out)) do count = count + 1 end
    assert.equal(#list, count)
    g.write(dir .. "/file", "x")
    local again, err = generate.helm(g.plan(), dir .. "/file/x")
    assert.is_nil(again)
    assert.equal("IO_ERROR", err.code)
  end)
end)
