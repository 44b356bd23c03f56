-- deloc.adapters.kubernetes.build: the objects `deloc up --target kubernetes`
-- applies, from deloc.k8s.objects (the same code the Helm chart templates)
-- plus what only the driver knows: the project's namespace, deloc's labels,
-- the config hash and the generated secret values.
--
--   build.namespace(project) -> "deloc-<project>" (the project itself past 57 chars)
--   build.objects(plan, root) -> { namespace object, object... } | nil, err
--     every object carries metadata.namespace (but the Namespace) and the labels
--     dev.deloc.project, dev.deloc.service, dev.deloc.component where they apply;
--     workloads the label dev.deloc.config-hash
--   build.selector(project [, service [, component]]) -> "dev.deloc.project=x,..."
--   build.pod_security(plan) -> "restricted" | "baseline", { "svc/comp: why", ... }
--   build.key(obj) -> "Kind/name"
local errors = require("deloc.errors")
local objects = require("deloc.k8s.objects")

local M = {}

M.LABEL = {
  project = "dev.deloc.project",
  service = "dev.deloc.service",
  component = "dev.deloc.component",
  hash = "dev.deloc.config-hash",
}
local L = M.LABEL

M.POD_SECURITY = "pod-security.kubernetes.io/"

function M.namespace(project)
  local ns = "deloc-" .. project
  if #ns > 63 then ns = project end
  return ns
end

function M.selector(project, service, component)
  local s = L.project .. "=" .. project
  if service then s = s .. "," .. L.service .. "=" .. service end
  if component then s = s .. "," .. L.component .. "=" .. component end
  return s
end

function M.key(obj)
  return obj.kind .. "/" .. ((obj.metadata or {}).name or "?")
end

-- pod_security(plan) -> level, reasons
function M.pod_security(plan)
  local reasons = {}
  for _, sname in ipairs(plan.order or {}) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order or {}) do
      local c = s.components[cname]
      if c.restricted == false then
        reasons[#reasons + 1] = ("%s: %s"):format(sname == cname and sname or (sname .. "/" .. cname),
          c.restricted_reason or "the recipe says it cannot run restricted")
      end
    end
  end
  return #reasons > 0 and "baseline" or "restricted", reasons
end

function M.namespace_object(plan)
  local level = M.pod_security(plan)
  local labels = { [L.project] = plan.project, ["app.kubernetes.io/managed-by"] = "deloc" }
  for _, mode in ipairs({ "enforce", "warn", "audit" }) do
    labels[M.POD_SECURITY .. mode] = level
    labels[M.POD_SECURITY .. mode .. "-version"] = "latest"
  end
  return { apiVersion = "v1", kind = "Namespace",
           metadata = { name = M.namespace(plan.project), labels = labels } }
end

local function add_labels(t, labels)
  if type(t) ~= "table" then return end
  t.labels = t.labels or {}
  for k, v in pairs(labels) do t.labels[k] = v end
end

-- The API server stores an empty list as no list at all, so a server-side
-- apply that sends `[]` is a change every time (a new resourceVersion);
-- sending nothing is the same object and keeps re-applies free.
local function strip_empty_lists(t)
  for k, v in pairs(t) do
    if type(v) == "table" then
      if require("deloc.array").is(v) and #v == 0 then
        t[k] = nil
      else
        strip_empty_lists(v)
      end
    end
  end
end
M.strip_empty_lists = strip_empty_lists

-- objects(plan, root) -> list | nil, err
function M.objects(plan, root)
  local given, gerr = require("deloc.secrets").provide(plan, root or ".")
  if not given then return nil, gerr end
  local params = objects.params(plan)
  local base_labels = params.labels
  local failure
  params.labels = function(service, component, version)
    local t = base_labels(service, component, version)
    t[L.project] = plan.project
    if plan.services[service] then
      t[L.service] = service
      if component then t[L.component] = component end
    end
    return t
  end
  params.secret = function(_, service, key, length)
    local value, err = require("deloc.state").secret(root or ".", service .. "." .. key, length)
    if not value then
      failure = failure or err
      return ""
    end
    return require("deloc.kubeconfig").base64_encode(value)
  end
  local list = objects.build(plan, params)
  if failure then return nil, errors.wrap("IO_ERROR", failure) end
  local ns = M.namespace(plan.project)
  local out = { M.namespace_object(plan) }
  for _, o in ipairs(list) do
    o.metadata.namespace = ns
    local lab = o.metadata.labels or {}
    local svc = plan.services[lab[L.service] or ""]
    local comp = svc and svc.components[lab[L.component] or ""]
    if comp and (o.kind == "Deployment" or o.kind == "StatefulSet" or o.kind == "Job") then
      o.metadata.labels[L.hash] = comp.config_hash
      -- claims made from the templates carry the project's labels too, so
      -- down --volumes and clean find them
      for _, claim in ipairs(o.spec.volumeClaimTemplates or {}) do
        add_labels(claim.metadata, { [L.project] = plan.project, [L.service] = svc.name,
                                     [L.component] = comp.name })
      end
    end
    strip_empty_lists(o)
    out[#out + 1] = o
  end
  return out
end

-- workloads(list) -> { ["svc/comp"] = object } from build.objects' list
function M.workloads(list)
  local out = {}
  for _, o in ipairs(list) do
    if o.kind == "Deployment" or o.kind == "StatefulSet" or o.kind == "Job" then
      local lab = o.metadata.labels or {}
      if lab[L.service] and lab[L.component] then
        out[lab[L.service] .. "/" .. lab[L.component]] = o
      end
    end
  end
  return out
end

return M
