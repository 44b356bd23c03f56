-- deloc.k8s.objects: the Kubernetes objects of a plan, built once for both
-- the Helm renderer (which templates them) and the Kubernetes driver (which
-- applies them): one piece of code, so a chart and `deloc up --target
-- kubernetes` run the very same objects.
--
--   objects.build(plan [, params]) -> { object, ... }   (apply order)
--   objects.values(plan) -> { [component key] = { image=, replicas=, resources=, ports= } }
--   objects.quantity_cpu(0.5) -> "500m";  objects.quantity_bytes(536870912) -> "512Mi"
--   objects.names(plan, service, component) -> { workload=, service=, key = {path...} }
--   objects.params(plan) -> the default params below (the driver overrides some)
--
-- `params` decides what is a concrete value and what the chart makes a
-- values reference; the default (the driver's) is concrete everywhere:
--   params.value(path, concrete, how) -> value   path = { "services", svc[, comp], "image" },
--       how = "string" | "int" | "yaml"; the Helm renderer returns a placeholder
--   params.labels(service, component, version) -> labels table (all recommended labels)
--   params.selector(service, component | nil) -> selector labels table
--   params.secret(secret_name, service, key, length) -> base64 value (data of a Secret)
--   params.annotate(object, note) -> adds Helm-only annotations (resource policy)
--
-- What is built, per component: a Job (one-shot), a StatefulSet with volume
-- claim templates (a component with data volumes) or a Deployment; a Service
-- for each DNS alias of a component with ports; a NetworkPolicy admitting
-- only the service's own pods and the components that declare a dependency
-- on it; per service a Secret with its generated credentials; one
-- ServiceAccount without token automount.  Ordering: a component's pod has
-- an init container per dependency that waits for it: for a dependency with
-- ports, a TCP connect to its Service (which answers only once a pod passes
-- its readiness probe); for a one-shot (or a dependency without ports),
-- `kubectl wait` / `rollout status` with a token projected into that init
-- container only, under a Role that may only read jobs and workloads.
-- Every pod runs under Pod Security "restricted" unless the recipe says it
-- cannot (restricted = false), which the pod's annotation then explains.
local array = require("deloc.array")
local facts = require("deloc.plan.facts")

local M = {}

M.WAIT_IMAGE = "busybox:1.37.0"
M.KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.37.2"
M.WAIT_TIMEOUT = 600
M.ANNOTATION_NOT_RESTRICTED = "deloc.dev/not-restricted"

local Ki, Mi, Gi = 1024, 1024 * 1024, 1024 * 1024 * 1024

local sorted_keys, strings, list = array.sorted_keys, array.strings, array.of

-- ---- quantities ----

function M.quantity_cpu(cpu)
  cpu = tonumber(cpu) or 0
  local m = math.floor(cpu * 1000 + 0.5)
  if m % 1000 == 0 then return tostring(m / 1000) end
  return ("%dm"):format(m)
end

function M.quantity_bytes(n)
  n = math.floor(tonumber(n) or 0)
  if n > 0 and n % Gi == 0 then return ("%dGi"):format(n / Gi) end
  if n > 0 and n % Mi == 0 then return ("%dMi"):format(n / Mi) end
  if n > 0 and n % Ki == 0 then return ("%dKi"):format(n / Ki) end
  return ("%d"):format(n)
end

-- ---- names ----

-- a DNS-1123 label from anything (names in the plan already are; keys of
-- volumes and ports may hold '_')
local function dns(s, max)
  s = tostring(s)
  -- already a label (most names are): as it is, without five passes over it
  if #s <= (max or 63) and not s:find("[^a-z0-9-]") and s:byte(1) ~= 45 and s:byte(-1) ~= 45
    and s ~= "" then
    return s
  end
  s = s:lower():gsub("[^a-z0-9-]+", "-"):gsub("^-+", ""):gsub("-+$", "")
  s = s:sub(1, max or 63):gsub("-+$", "")
  return s ~= "" and s or "x"
end

-- IANA service name for a container port: <= 15 chars, a letter, no "--"
local function port_name(name)
  local s = dns(name, 15):gsub("%-%-+", "-")
  if not s:match("%a") or #s > 15 then return nil end
  return s
end

local function workload_name(service, component)
  if component == nil or component == service then return dns(service) end
  return dns(service .. "-" .. component)
end

-- the values path of a component: { "services", svc } when the component is
-- named like its service, { "services", svc, comp } otherwise
local function key_of(service, component)
  if component == service then return { "services", service } end
  return { "services", service, component }
end

local function path(base, ...)
  local p = {}
  for i, v in ipairs(base) do p[i] = v end
  for _, v in ipairs({ ... }) do p[#p + 1] = v end
  return p
end

local function image_version(image)
  local tag = tostring(image or ""):match(":([%w][%w._-]*)$") or "latest"
  return (tag:sub(1, 63):gsub("[^%w]+$", ""))
end

function M.names(plan, service, component)
  local comp = plan.services[service].components[component]
  local w = workload_name(service, component)
  if comp.kind == "oneshot" and comp.config_hash then
    -- a Job's template cannot change: a new configuration is a new Job
    w = dns(w:sub(1, 54) .. "-" .. tostring(comp.config_hash):sub(1, 8))
  end
  local aliases = {}
  for _, a in ipairs(comp.aliases or {}) do aliases[#aliases + 1] = dns(a) end
  if #aliases == 0 then aliases[1] = workload_name(service, component) end
  return { workload = w, services = aliases, key = key_of(service, component) }
end

-- ---- default parameters: concrete values (the driver) ----

local function concrete_params(plan)
  local p = {}
  function p.value(_, concrete) return concrete end
  function p.selector(service, component)
    local t = {
      ["app.kubernetes.io/name"] = service,
      ["app.kubernetes.io/instance"] = plan.project,
    }
    if component then t["app.kubernetes.io/component"] = component end
    return t
  end
  function p.labels(service, component, version)
    local t = p.selector(service, component)
    t["app.kubernetes.io/part-of"] = plan.project
    t["app.kubernetes.io/managed-by"] = "deloc"
    t["app.kubernetes.io/version"] = version
    return t
  end
  function p.secret() return nil end
  function p.annotate() end
  return p
end

-- ---- helpers for pods ----

local function user_ids(user)
  if type(user) ~= "string" and type(user) ~= "number" then return nil end
  local u, g = tostring(user):match("^(%d+):(%d+)$")
  if not u then u = tostring(user):match("^(%d+)$") end
  return tonumber(u), tonumber(g)
end

-- Kubernetes expands $(VAR) in command, args and env values; `$$` is a `$`.
-- (In a gsub replacement only '%' is special: "$$" is two dollars.)
local function kescape(s) return (tostring(s):gsub("%$", "$$")) end

local function restricted_container_context(comp, uid, gid)
  local caps = { drop = strings(comp.cap_drop) }
  if #comp.cap_add > 0 then caps.add = strings(comp.cap_add) end
  local sc = {
    allowPrivilegeEscalation = not comp.no_new_privileges,
    capabilities = caps,
    readOnlyRootFilesystem = comp.read_only,
    seccompProfile = { type = "RuntimeDefault" },
  }
  if comp.restricted ~= false and (uid == nil or uid ~= 0) then sc.runAsNonRoot = true end
  if uid then sc.runAsUser = uid end
  if gid then sc.runAsGroup = gid end
  return sc
end

local function probe_handler(h)
  if not h then return nil end
  if h.kind == "exec" and h.exec then
    return { exec = { command = strings(h.exec) } }
  elseif h.kind == "http" and h.port then
    return { httpGet = { path = h.path or "/", port = math.floor(h.port),
                         scheme = (h.scheme or "http"):upper() } }
  elseif h.kind == "tcp" and h.port then
    return { tcpSocket = { port = math.floor(h.port) } }
  end
  return nil -- a log pattern: nothing Kubernetes can run
end

local function probes(h)
  local handler = probe_handler(h)
  if not handler then return nil end
  local interval = math.max(math.floor(tonumber(h.interval) or 10), 1)
  local timeout = math.max(math.floor(tonumber(h.timeout) or 3), 1)
  local retries = math.max(math.floor(tonumber(h.retries) or 3), 1)
  local start = math.max(tonumber(h.start_period) or 0, 0)
  local function with(t)
    for k, v in pairs(handler) do t[k] = v end
    return t
  end
  return {
    startup = with({ periodSeconds = interval, timeoutSeconds = timeout,
                     failureThreshold = retries + math.ceil(start / interval) }),
    readiness = with({ periodSeconds = interval, timeoutSeconds = timeout, failureThreshold = 3 }),
    liveness = with({ periodSeconds = interval * 2, timeoutSeconds = timeout,
                      failureThreshold = retries }),
  }
end

-- the component a planned dependency names (the plan resolved a dependency
-- on a whole service to its primary component)
local function find_component(plan, dep)
  local svc = plan.services[dep.service]
  if not svc then return nil end
  local comp = svc.components[dep.component]
  return comp and svc, comp
end

local function first_port(comp)
  local names = sorted_keys(comp.ports)
  if #names == 0 then return nil end
  return names[1], comp.ports[names[1]]
end

-- { service = "postgres", key = "password" } from a planned secret
local function secret_owner(name, s)
  local id = (s.source or s.file or name):match("([^/]+)$")
  local svc, key = id:match("^([^.]+)%.(.+)$")
  return s.service or svc, s.name or key or id
end

local function secret_name(service) return dns(service .. "-secrets") end

-- ---- the builder ----

local function build_context(plan, params)
  return { plan = plan, p = params, project = plan.project, sa = dns(plan.project),
           wait_sa = dns(plan.project .. "-wait"), needs_api = false,
           config_maps = {}, mount_notes = {} }
end

local function metadata(name, labels, annotations)
  local m = { name = name, labels = labels }
  if annotations and next(annotations) then m.annotations = annotations end
  return m
end

-- init containers that wait for each dependency of comp
local function waits(ctx, svc, comp)
  local plan, p = ctx.plan, ctx.p
  local inits, needs_token = array.of({}), false
  local seen = {}
  for _, d in ipairs(comp.depends_on or {}) do
    local dsvc, dcomp = find_component(plan, d)
    if dcomp and not (dsvc.name == svc.name and dcomp.name == comp.name) then
      local n = M.names(plan, dsvc.name, dcomp.name)
      local pname, port = first_port(dcomp)
      local cname = dns("wait-" .. workload_name(dsvc.name, dcomp.name))
      if not seen[cname] then
        seen[cname] = true
        local c
        local sc = { allowPrivilegeEscalation = false, capabilities = { drop = array.of({ "ALL" }) },
                     readOnlyRootFilesystem = true, runAsNonRoot = true, runAsUser = 65534,
                     runAsGroup = 65534, seccompProfile = { type = "RuntimeDefault" } }
        local resources = { requests = { cpu = "10m", memory = "32Mi" },
                            limits = { cpu = "100m", memory = "64Mi" } }
        if dcomp.kind ~= "oneshot" and d.condition ~= "completed" and port then
          local host = n.services[1]
          local portv = p.value(path(n.key, "ports", pname), math.floor(port.container), "string")
          c = {
            name = cname,
            image = p.value({ "waitImages", "tcp" }, M.WAIT_IMAGE, "string"),
            command = strings({ "sh", "-c",
              ('until nc -z -w 2 "$HOST" "$PORT"; do echo "waiting for $HOST:$PORT"; sleep 2; done') }),
            env = list({ { name = "HOST", value = host }, { name = "PORT", value = portv } }),
          }
          if type(portv) == "number" then c.env[2].value = tostring(portv) end
        else
          needs_token = true
          local args
          if dcomp.kind == "oneshot" then
            args = { "wait", "--for=condition=complete", "job/" .. n.workload,
                     ("--timeout=%ds"):format(M.WAIT_TIMEOUT) }
          else
            local stateful = false
            for _, v in pairs(dcomp.volumes or {}) do if v.data then stateful = true end end
            args = { "rollout", "status", (stateful and "statefulset/" or "deployment/") .. n.workload,
                     ("--timeout=%ds"):format(M.WAIT_TIMEOUT) }
          end
          c = {
            name = cname,
            image = p.value({ "waitImages", "kubectl" }, M.KUBECTL_IMAGE, "string"),
            args = strings(args),
            volumeMounts = list({ { name = "kube-api-access", mountPath = "/var/run/secrets/kubernetes.io/serviceaccount",
                                    readOnly = true } }),
          }
        end
        c.resources = resources
        c.securityContext = sc
        inits[#inits + 1] = c
      end
    end
  end
  return inits, needs_token
end

local function pod_template(ctx, svc, comp, n)
  local p = ctx.p
  local uid, gid = user_ids(comp.user)
  local container = {
    name = dns(comp.name),
    image = p.value(path(n.key, "image"), comp.image, "string"),
  }
  if comp.entrypoint then
    container.command = array.of({})
    for i, a in ipairs(comp.entrypoint) do container.command[i] = kescape(a) end
  end
  if comp.command then
    container.args = array.of({})
    for i, a in ipairs(comp.command) do container.args[i] = kescape(a) end
  end
  local env = array.of({})
  for _, k in ipairs(sorted_keys(comp.env)) do
    env[#env + 1] = { name = k, value = kescape(comp.env[k]) }
  end
  if #env > 0 then container.env = env end
  local ports = array.of({})
  for _, name in ipairs(sorted_keys(comp.ports)) do
    local pt = comp.ports[name]
    ports[#ports + 1] = { name = port_name(name), containerPort = math.floor(pt.container),
                          protocol = (pt.protocol or "tcp"):upper() }
  end
  if #ports > 0 then container.ports = ports end
  container.resources = p.value(path(n.key, "resources"), M.resources(comp), "yaml")
  if comp.kind ~= "oneshot" then
    local pr = probes(comp.health)
    if pr then
      container.startupProbe = pr.startup
      container.readinessProbe = pr.readiness
      container.livenessProbe = pr.liveness
    end
  end
  container.securityContext = restricted_container_context(comp, uid, gid)

  local mounts, volumes, claims = array.of({}), array.of({}), array.of({})
  for _, vname in ipairs(sorted_keys(comp.volumes)) do
    local v = comp.volumes[vname]
    local vn = dns("vol-" .. vname)
    if v.data and comp.kind ~= "oneshot" then
      -- a fresh claim may hold lost+found: the data lives one level down
      mounts[#mounts + 1] = { name = vn, mountPath = v.path, subPath = "data" }
      claims[#claims + 1] = {
        metadata = { name = vn, labels = p.selector(svc.name, comp.name) },
        spec = { accessModes = array.of({ "ReadWriteOnce" }),
                 resources = { requests = { storage = M.quantity_bytes(v.size or Gi) } } },
      }
    else
      mounts[#mounts + 1] = { name = vn, mountPath = v.path }
      local ed = {}
      if v.size then ed.sizeLimit = M.quantity_bytes(v.size) end
      volumes[#volumes + 1] = { name = vn, emptyDir = ed }
    end
  end
  for i, t in ipairs(comp.tmpfs or {}) do
    local tpath = type(t) == "table" and t.path or t
    local vn = ("tmpfs-%d"):format(i)
    mounts[#mounts + 1] = { name = vn, mountPath = tpath }
    local ed = { medium = "Memory" }
    if type(t) == "table" and t.size then ed.sizeLimit = M.quantity_bytes(t.size) end
    volumes[#volumes + 1] = { name = vn, emptyDir = ed }
  end
  -- secrets: one volume per owning service, each key mounted as its file
  local by_owner, owners = {}, {}
  for _, name in ipairs(sorted_keys(comp.secrets)) do
    local s = comp.secrets[name]
    local owner, key = secret_owner(name, s)
    if not by_owner[owner] then by_owner[owner] = {}; owners[#owners + 1] = owner end
    by_owner[owner][#by_owner[owner] + 1] = { key = key, file = s.file }
  end
  table.sort(owners)
  for _, owner in ipairs(owners) do
    local vn = dns("secret-" .. owner)
    local items, seen = array.of({}), {}
    for _, e in ipairs(by_owner[owner]) do
      if not seen[e.key] then
        seen[e.key] = true
        items[#items + 1] = { key = e.key, path = e.key }
      end
      mounts[#mounts + 1] = { name = vn, mountPath = e.file, subPath = e.key, readOnly = true }
    end
    volumes[#volumes + 1] = { name = vn, secret = { secretName = secret_name(owner), items = items,
                                                    defaultMode = 288 } } -- 0440, group = fsGroup
  end
  -- the project's own files: small read-only ones as ConfigMaps (deloc.k8s.files)
  for _, key in ipairs(sorted_keys(comp.mounts or {})) do
    local m = comp.mounts[key]
    local cm, why = require("deloc.k8s.files").config_map(m)
    local cname = dns(workload_name(svc.name, comp.name) .. "-files-" .. key)
    if cm then
      local vn = dns("files-" .. key)
      local items = array.of({})
      for _, k in ipairs(cm.keys) do items[#items + 1] = { key = k, path = k } end
      volumes[#volumes + 1] = { name = vn, configMap = { name = cname, items = items } }
      if m.kind == "directory" then
        mounts[#mounts + 1] = { name = vn, mountPath = m.path, readOnly = true }
      else
        mounts[#mounts + 1] = { name = vn, mountPath = m.path, subPath = cm.keys[1], readOnly = true }
      end
      ctx.config_maps[#ctx.config_maps + 1] = { apiVersion = "v1", kind = "ConfigMap",
        metadata = metadata(cname, ctx.p.labels(svc.name, comp.name, nil)),
        data = next(cm.data) and cm.data or nil, binaryData = next(cm.binary) and cm.binary or nil }
    else
      ctx.mount_notes[#ctx.mount_notes + 1] = ("%s: %s (%s) is not mounted: %s"):format(
        workload_name(svc.name, comp.name), m.path, m.source, why)
    end
  end
  if #mounts > 0 then container.volumeMounts = mounts end

  local inits, needs_token = waits(ctx, svc, comp)
  if needs_token then
    ctx.needs_api = true
    volumes[#volumes + 1] = { name = "kube-api-access", projected = { defaultMode = 292, sources = list({
      { serviceAccountToken = { path = "token", expirationSeconds = 3600 } },
      { configMap = { name = "kube-root-ca.crt", items = list({ { key = "ca.crt", path = "ca.crt" } }) } },
      { downwardAPI = { items = list({ { path = "namespace",
                                         fieldRef = { apiVersion = "v1", fieldPath = "metadata.namespace" } } }) } },
    }) } }
  end

  local pod_sc = { seccompProfile = { type = "RuntimeDefault" } }
  if comp.restricted ~= false and uid ~= 0 then pod_sc.runAsNonRoot = true end
  if uid then pod_sc.runAsUser = uid end
  if gid then pod_sc.runAsGroup = gid end
  if gid or uid then
    pod_sc.fsGroup = gid or uid
    pod_sc.fsGroupChangePolicy = "OnRootMismatch"
  end

  local annotations = {}
  if comp.restricted == false then
    annotations[M.ANNOTATION_NOT_RESTRICTED] = comp.restricted_reason or "the recipe says it cannot run restricted"
  end
  local spec = {
    serviceAccountName = needs_token and ctx.wait_sa or ctx.sa,
    automountServiceAccountToken = false,
    enableServiceLinks = false,
    securityContext = pod_sc,
    containers = list({ container }),
  }
  if #inits > 0 then spec.initContainers = inits end
  if #volumes > 0 then spec.volumes = volumes end
  if comp.kind == "oneshot" then spec.restartPolicy = "OnFailure" end
  local template = {
    metadata = metadata(nil, p.labels(svc.name, comp.name, image_version(comp.image)), annotations),
    spec = spec,
  }
  template.metadata.name = nil
  return template, claims
end

-- resources(comp) -> { requests = {cpu=, memory=}, limits = {cpu=, memory=} }
function M.resources(comp)
  local r = { requests = {}, limits = {} }
  if comp.cpu then
    r.requests.cpu = M.quantity_cpu(comp.cpu)
    r.limits.cpu = M.quantity_cpu(comp.cpu)
  end
  if comp.memory then
    r.requests.memory = M.quantity_bytes(comp.memory)
    r.limits.memory = M.quantity_bytes(comp.memory)
  end
  return r
end

local function workload(ctx, svc, comp)
  local p = ctx.p
  local n = M.names(ctx.plan, svc.name, comp.name)
  local template, claims = pod_template(ctx, svc, comp, n)
  local labels = p.labels(svc.name, comp.name, image_version(comp.image))
  local selector = { matchLabels = p.selector(svc.name, comp.name) }
  local obj
  if comp.kind == "oneshot" then
    obj = { apiVersion = "batch/v1", kind = "Job", metadata = metadata(n.workload, labels),
            spec = { backoffLimit = 6, template = template } }
  elseif #claims > 0 then
    obj = { apiVersion = "apps/v1", kind = "StatefulSet", metadata = metadata(n.workload, labels),
            spec = { serviceName = n.services[1],
                     replicas = p.value(path(n.key, "replicas"), math.floor(comp.replicas or 1), "int"),
                     selector = selector, template = template, volumeClaimTemplates = claims } }
  else
    obj = { apiVersion = "apps/v1", kind = "Deployment", metadata = metadata(n.workload, labels),
            spec = { replicas = p.value(path(n.key, "replicas"), math.floor(comp.replicas or 1), "int"),
                     selector = selector, template = template } }
  end
  if comp.restricted == false then
    obj.metadata.annotations = { [M.ANNOTATION_NOT_RESTRICTED] =
      comp.restricted_reason or "the recipe says it cannot run restricted" }
  end
  return obj
end

local function services_of(ctx, svc, comp)
  local p = ctx.p
  if comp.kind == "oneshot" or not next(comp.ports or {}) then return {} end
  local n = M.names(ctx.plan, svc.name, comp.name)
  local out = {}
  for _, sname in ipairs(n.services) do
    local ports = array.of({})
    for _, pn in ipairs(sorted_keys(comp.ports)) do
      local pt = comp.ports[pn]
      local name = port_name(pn) or ("p" .. math.floor(pt.container))
      ports[#ports + 1] = { name = name,
        port = p.value(path(n.key, "ports", pn), math.floor(pt.container), "int"),
        targetPort = port_name(pn) or math.floor(pt.container),
        protocol = (pt.protocol or "tcp"):upper() }
    end
    out[#out + 1] = { apiVersion = "v1", kind = "Service",
      metadata = metadata(sname, p.labels(svc.name, comp.name, image_version(comp.image))),
      spec = { type = "ClusterIP", selector = p.selector(svc.name, comp.name), ports = ports } }
  end
  return out
end

-- who declared a dependency on (service, component)
local function dependents(plan, service, component)
  local out, seen = {}, {}
  for _, sname in ipairs(plan.order or sorted_keys(plan.services)) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order or sorted_keys(s.components)) do
      local c = s.components[cname]
      for _, d in ipairs(c.depends_on or {}) do
        local _, dc = find_component(plan, d)
        if d.service == service and dc and dc.name == component and sname ~= service then
          local k = sname .. "/" .. cname
          if not seen[k] then seen[k] = true; out[#out + 1] = { sname, cname } end
        end
      end
    end
  end
  return out
end

local function network_policy(ctx, svc, comp)
  local p = ctx.p
  if comp.kind == "oneshot" then return nil end
  local spec = { podSelector = { matchLabels = p.selector(svc.name, comp.name) },
                 policyTypes = array.of({ "Ingress" }), ingress = array.of({}) }
  if next(comp.ports or {}) then
    local from = array.of({ { podSelector = { matchLabels = p.selector(svc.name, nil) } } })
    for _, d in ipairs(dependents(ctx.plan, svc.name, comp.name)) do
      from[#from + 1] = { podSelector = { matchLabels = p.selector(d[1], d[2]) } }
    end
    local ports = array.of({})
    for _, pn in ipairs(sorted_keys(comp.ports)) do
      local pt = comp.ports[pn]
      ports[#ports + 1] = { port = math.floor(pt.container), protocol = (pt.protocol or "tcp"):upper() }
    end
    spec.ingress[1] = { from = from, ports = ports }
  end
  return { apiVersion = "networking.k8s.io/v1", kind = "NetworkPolicy",
           metadata = metadata(workload_name(svc.name, comp.name),
             p.labels(svc.name, comp.name, image_version(comp.image))),
           spec = spec }
end

local function secrets(ctx)
  local plan, p = ctx.plan, ctx.p
  local owners, keys = {}, {}
  for _, sname in ipairs(plan.order or sorted_keys(plan.services)) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order or sorted_keys(s.components)) do
      for name, sec in pairs(s.components[cname].secrets or {}) do
        local owner, key = secret_owner(name, sec)
        if not keys[owner] then keys[owner] = {}; owners[#owners + 1] = owner end
        keys[owner][key] = math.max(keys[owner][key] or 0, tonumber(sec.length) or 32)
      end
    end
  end
  table.sort(owners)
  local out = {}
  for _, owner in ipairs(owners) do
    local data = {}
    for _, key in ipairs(sorted_keys(keys[owner])) do
      data[key] = p.secret(secret_name(owner), owner, key, keys[owner][key])
    end
    local obj = { apiVersion = "v1", kind = "Secret",
      metadata = metadata(secret_name(owner), p.labels(owner, nil, nil)),
      type = "Opaque", data = data }
    p.annotate(obj, "secret")
    out[#out + 1] = obj
  end
  return out
end

-- objects.build(plan [, params]) -> list of objects, in the order to apply them
function M.build(plan, params)
  if type(plan) ~= "table" or type(plan.services) ~= "table" then
    error("k8s.objects.build: expects a plan", 2)
  end
  facts.complete(plan)
  params = params or concrete_params(plan)
  local ctx = build_context(plan, params)
  local sa = { apiVersion = "v1", kind = "ServiceAccount",
    metadata = metadata(ctx.sa, params.labels(plan.project, nil, nil)),
    automountServiceAccountToken = false }
  local objs, workloads, svcs, policies = { sa }, {}, {}, {}
  for _, sname in ipairs(plan.order or sorted_keys(plan.services)) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order or sorted_keys(s.components)) do
      local c = s.components[cname]
      workloads[#workloads + 1] = workload(ctx, s, c)
      for _, o in ipairs(services_of(ctx, s, c)) do svcs[#svcs + 1] = o end
      local np = network_policy(ctx, s, c)
      if np then policies[#policies + 1] = np end
    end
  end
  if ctx.needs_api then
    local labels = params.labels(plan.project, "wait", nil)
    objs[#objs + 1] = { apiVersion = "v1", kind = "ServiceAccount",
      metadata = metadata(ctx.wait_sa, labels), automountServiceAccountToken = false }
    objs[#objs + 1] = { apiVersion = "rbac.authorization.k8s.io/v1", kind = "Role",
      metadata = metadata(ctx.wait_sa, params.labels(plan.project, "wait", nil)),
      rules = list({
        { apiGroups = strings({ "batch" }), resources = strings({ "jobs" }),
          verbs = strings({ "get", "list", "watch" }) },
        { apiGroups = strings({ "apps" }), resources = strings({ "deployments", "statefulsets", "replicasets" }),
          verbs = strings({ "get", "list", "watch" }) },
      }) }
    objs[#objs + 1] = { apiVersion = "rbac.authorization.k8s.io/v1", kind = "RoleBinding",
      metadata = metadata(ctx.wait_sa, params.labels(plan.project, "wait", nil)),
      roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "Role", name = ctx.wait_sa },
      subjects = list({ { kind = "ServiceAccount", name = ctx.wait_sa } }) }
  end
  for _, o in ipairs(secrets(ctx)) do objs[#objs + 1] = o end
  for _, o in ipairs(ctx.config_maps) do objs[#objs + 1] = o end
  objs.mount_notes = ctx.mount_notes -- what could not be mounted, and why
  for _, o in ipairs(policies) do objs[#objs + 1] = o end
  for _, o in ipairs(svcs) do objs[#objs + 1] = o end
  for _, o in ipairs(workloads) do objs[#objs + 1] = o end
  return objs
end

-- objects.values(plan) -> { { key = {path}, image=, replicas=, resources=, ports= }, ... }
-- The planned values a chart exposes, component by component, in plan order.
function M.values(plan)
  local out = {}
  for _, sname in ipairs(plan.order or sorted_keys(plan.services)) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order or sorted_keys(s.components)) do
      local c = s.components[cname]
      local v = { key = key_of(sname, cname), image = c.image, resources = M.resources(c) }
      if c.kind ~= "oneshot" then v.replicas = math.floor(c.replicas or 1) end
      if next(c.ports or {}) then
        v.ports = {}
        for pn, pt in pairs(c.ports) do v.ports[pn] = math.floor(pt.container) end
      end
      out[#out + 1] = v
    end
  end
  return out
end

M.secret_name = secret_name
M.secret_owner = secret_owner
-- objects.params(plan) -> the default (concrete) params, for a caller that
-- changes one or two of them (the Kubernetes driver: secrets and labels)
M.params = concrete_params
M.dns = dns

return M
