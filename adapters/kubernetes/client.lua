-- deloc.adapters.kubernetes.client: a small Kubernetes API client on
-- deloc.http, configured from the kubeconfig (deloc.kubeconfig).
--
--   local client = require("deloc.adapters.kubernetes.client")
--   local c, err = client.connect{ context = "kind-dev" }   -- GET /version
--   c:get("/api/v1/nodes")                      -> decoded body | nil, err
--   c:request{ method=, path=, query = {k = v}, body = table | string,
--              content_type=, accept=, on_data=fn(chunk), timeout= }
--     -> decoded body (or raw text), resp { status=, headers=, warnings = {...} } | nil, err
--   c:apply(obj, { dry_run = true, strict = true }) -> live object, resp | nil, err
--     server-side apply: PATCH application/apply-patch+yaml (JSON is YAML),
--     fieldManager=deloc, force=true
--   c:delete(obj_or_path [, query]) -> true (gone or going) | nil, err
--   client.path(obj | {apiVersion=, kind=, namespace=, name=}) -> API path
--   client.KINDS[kind] -> { api=, plural=, namespaced= }
--
-- Errors are deloc.errors: an unreachable server is ENGINE_UNAVAILABLE
-- ("cannot reach the Kubernetes API server at ..."), a TLS failure
-- NETWORK_ERROR, 401 ENGINE_UNAVAILABLE naming the user and the context,
-- anything else the server's Status message (err.status, err.reason,
-- err.details).  Warning headers are kept in resp.warnings and c.warnings.
local errors = require("deloc.errors")
local json = require("deloc.json")
local http = require("deloc.http")

local M = {}

M.FIELD_MANAGER = "deloc"

-- What deloc makes, and where each lives.
M.KINDS = {
  Namespace = { api = "v1", plural = "namespaces", namespaced = false },
  Node = { api = "v1", plural = "nodes", namespaced = false },
  Pod = { api = "v1", plural = "pods", namespaced = true },
  ServiceAccount = { api = "v1", plural = "serviceaccounts", namespaced = true },
  Secret = { api = "v1", plural = "secrets", namespaced = true },
  ConfigMap = { api = "v1", plural = "configmaps", namespaced = true },
  Service = { api = "v1", plural = "services", namespaced = true },
  PersistentVolumeClaim = { api = "v1", plural = "persistentvolumeclaims", namespaced = true },
  Deployment = { api = "apps/v1", plural = "deployments", namespaced = true },
  StatefulSet = { api = "apps/v1", plural = "statefulsets", namespaced = true },
  ReplicaSet = { api = "apps/v1", plural = "replicasets", namespaced = true },
  Job = { api = "batch/v1", plural = "jobs", namespaced = true },
  NetworkPolicy = { api = "networking.k8s.io/v1", plural = "networkpolicies", namespaced = true },
  Role = { api = "rbac.authorization.k8s.io/v1", plural = "roles", namespaced = true },
  RoleBinding = { api = "rbac.authorization.k8s.io/v1", plural = "rolebindings", namespaced = true },
  PodDisruptionBudget = { api = "policy/v1", plural = "poddisruptionbudgets", namespaced = true },
}

M.urlencode = http.urlencode

-- The API server takes true for a flag; a false one is left out.
local function api_value(v)
  if v == false then return nil end
  return v == true and "true" or v
end

local function query_string(q)
  return http.query(q, api_value)
end

local function api_base(api)
  if api == "v1" then return "/api/v1" end
  return "/apis/" .. api
end

-- client.collection(kind, namespace) -> "/apis/apps/v1/namespaces/ns/deployments"
function M.collection(kind, namespace)
  local k = M.KINDS[kind]
  if not k then error("kubernetes client: unknown kind " .. tostring(kind), 2) end
  local p = api_base(k.api)
  if k.namespaced then
    if not namespace then error("kubernetes client: " .. kind .. " needs a namespace", 2) end
    p = p .. "/namespaces/" .. namespace
  end
  return p .. "/" .. k.plural
end

-- client.path(obj) -> the object's API path
function M.path(obj)
  local kind = obj.kind
  local md = obj.metadata or {}
  local ns = obj.namespace or md.namespace
  local name = obj.name or md.name
  if type(name) ~= "string" then error("kubernetes client: object without a name", 2) end
  return M.collection(kind, ns) .. "/" .. name
end

-- "Warning: 299 - \"text\", 299 - \"other\"" -> { "text", "other" }
local function parse_warnings(h)
  local out = {}
  if not h or h == "" then return out end
  for text in h:gmatch('%d%d%d%s+%S+%s+"(.-[^\\])"') do
    out[#out + 1] = (text:gsub('\\"', '"'))
  end
  if #out == 0 then out[1] = h end
  return out
end
M.parse_warnings = parse_warnings

local Client = {}
Client.__index = Client

function Client:describe()
  return ("the Kubernetes API server at %s (context '%s')"):format(self.server, self.context or "?")
end

local function transport_error(c, err, kind)
  local why = tostring(err):gsub("^https?://%S+: ", "")
  if kind == "tls" then
    return errors.new("NETWORK_ERROR", ("TLS with %s failed: %s"):format(c:describe(), why),
      { hint = "check the cluster's certificate-authority in the kubeconfig (" ..
        table.concat(c.files or {}, ":") .. ")" })
  elseif kind == "timeout" then
    return errors.new("TIMEOUT", ("%s did not answer in time: %s"):format(c:describe(), why))
  elseif kind == "interrupted" then
    return errors.new("INTERRUPTED", ("request to %s interrupted"):format(c:describe()))
  end
  return errors.new("ENGINE_UNAVAILABLE", ("cannot reach %s: %s"):format(c:describe(), why),
    { hint = "is the cluster running, and is this the right context? ('--context NAME' or KUBECONFIG)" })
end

local function status_error(c, method, path, resp, body)
  local st = type(body) == "table" and body or {}
  local msg = st.message
  if type(msg) ~= "string" or msg == "" then
    msg = (type(body) == "string" and body ~= "" and body:sub(1, 300)) or ("HTTP " .. resp.status)
  end
  msg = msg:gsub("%s+$", "")
  local code, hint = "DEPLOYMENT_FAILED", nil
  if resp.status >= 500 then
    -- a server-side failure: say which request (after deloc.http's retries)
    msg = ("%s answered HTTP %d to %s %s: %s"):format(c:describe(), resp.status, method, path, msg)
    if resp.status ~= 500 then hint = "the API server is busy or restarting; run the command again" end
  elseif resp.status == 401 then
    code = "ENGINE_UNAVAILABLE"
    msg = ("%s rejected the credentials of user '%s': %s"):format(c:describe(), c.user or "?", msg)
    hint = "the token or certificate is unknown or has expired; get fresh credentials for this context"
  elseif resp.status == 403 then
    hint = ("user '%s' lacks the rights; ask the cluster's admin for them (RBAC)"):format(c.user or "?")
  elseif resp.status == 404 then
    code = "SERVICE_NOT_FOUND"
  end
  return errors.new(code, msg, { status = resp.status, reason = st.reason, details = st.details,
    hint = hint, context = { method = method, path = path } })
end

-- c:request{...} -> value, resp | nil, err
function Client:request(o)
  local method = (o.method or "GET"):upper()
  local url = self.server .. o.path .. query_string(o.query)
  local headers = { Accept = o.accept or "application/json" }
  local body = o.body
  if body ~= nil and type(body) ~= "string" then
    local err
    body, err = json.encode(body)
    if not body then error("kubernetes client: cannot encode the body: " .. tostring(err), 2) end
  end
  if body ~= nil then headers["Content-Type"] = o.content_type or "application/json" end
  local resp, err, kind = http.request({
    url = url, method = method, headers = headers, body = body, token = self.token,
    cacert = self.cacert, cert = self.cert, key = self.key, insecure = self.insecure,
    timeout = o.timeout or (not o.on_data and self.timeout or nil), connect_timeout = 10,
    on_data = o.on_data,
  })
  self.calls = self.calls + 1
  if method ~= "GET" and method ~= "HEAD" then self.mutating = self.mutating + 1 end
  if not resp then return nil, transport_error(self, err, kind) end
  resp.warnings = parse_warnings(resp.headers and resp.headers.warning)
  for _, w in ipairs(resp.warnings) do self.warnings[#self.warnings + 1] = w end
  local value = resp.body
  local ctype = resp.headers and resp.headers["content-type"] or ""
  if ctype:find("json", 1, true) and value ~= "" then
    local decoded = json.decode(value)
    if decoded ~= nil then value = decoded end
  end
  if resp.status >= 400 then return nil, status_error(self, method, o.path, resp, value) end
  return value, resp
end

function Client:get(path, query, opts)
  local o = { method = "GET", path = path, query = query }
  for k, v in pairs(opts or {}) do o[k] = v end
  return self:request(o)
end

-- c:list(kind, namespace, selector) -> items | nil, err
function Client:list(kind, namespace, selector, extra)
  local q = { labelSelector = selector }
  for k, v in pairs(extra or {}) do q[k] = v end
  local v, err = self:get(M.collection(kind, namespace), q)
  if not v then return nil, err end
  local items = v.items or {}
  for _, it in ipairs(items) do
    it.kind = it.kind or kind
    it.apiVersion = it.apiVersion or M.KINDS[kind].api
  end
  return items
end

-- c:apply(obj [, {dry_run=, strict=}]) -> live, resp | nil, err
function Client:apply(obj, opts)
  opts = opts or {}
  return self:request({ method = "PATCH", path = M.path(obj), body = obj,
    content_type = "application/apply-patch+yaml",
    query = { fieldManager = M.FIELD_MANAGER, force = true,
              dryRun = opts.dry_run and "All" or nil,
              fieldValidation = opts.strict and "Strict" or nil } })
end

-- c:delete(obj | path [, query]) -> true | nil, err (404 counts as done)
function Client:delete(obj, query)
  local path = type(obj) == "string" and obj or M.path(obj)
  local q = { propagationPolicy = "Background" }
  for k, v in pairs(query or {}) do q[k] = v end
  local _, err = self:request({ method = "DELETE", path = path, query = q })
  if not _ and err.status ~= 404 then return nil, err end
  return true
end

-- client.new(cfg) -> c   (cfg from deloc.kubeconfig.load)
function M.new(cfg)
  return setmetatable({
    -- DELOC_KUBE_TIMEOUT=SECONDS bounds each request without its own (default 60)
    timeout = tonumber(os.getenv("DELOC_KUBE_TIMEOUT") or ""),
    server = cfg.server, context = cfg.context, user = cfg.user, files = cfg.files,
    cacert = cfg.cacert, cert = cfg.cert, key = cfg.key, token = cfg.token,
    insecure = cfg.insecure, config_warnings = cfg.warnings or {},
    calls = 0, mutating = 0, warnings = {},
  }, Client)
end

-- client.connect{ context=, kubeconfig=, env= } -> c | nil, err
-- Reads the kubeconfig and checks the server answers and accepts us.
function M.connect(opts)
  opts = opts or {}
  local cfg, err = require("deloc.kubeconfig").load({ context = opts.context, path = opts.kubeconfig,
    env = opts.env })
  if not cfg then return nil, err end
  local c = M.new(cfg)
  if opts.check == false then return c end
  local v
  v, err = c:get("/version", nil, { timeout = 15 })
  if not v then return nil, err end
  c.version = type(v) == "table" and v.gitVersion or nil
  -- /version answers anyone; a namespaced read proves the credentials
  local ns
  ns, err = c:get("/api/v1/namespaces/default", nil, { timeout = 15 })
  if not ns and err.status ~= 403 and err.status ~= 404 then return nil, err end
  return c
end

return M
