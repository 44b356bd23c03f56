-- deloc.kubeconfig: which Kubernetes cluster to talk to and how to prove who
-- we are, read from the kubeconfig files kubectl uses.
--
--   local kc = require("deloc.kubeconfig")
--   local cfg, err = kc.load{ context = "kind-dev" }
--   --> { server = "https://127.0.0.1:6443", context = "kind-dev", cluster = "kind",
--   --    user = "admin", namespace = nil | "ns", cacert = path | nil,
--   --    cert = path | nil, key = path | nil, token = string | nil,
--   --    insecure = false, files = { path... }, warnings = { "..." } }
--   -- cfg.cacert/cert/key/token go straight into deloc.http.request
--
-- kc.load{ path =, context =, env = {NAME = value}, home = } -> cfg | nil, err
--   path: a file or a ':'-separated list (default $KUBECONFIG, else
--   ~/.kube/config).  Several files merge like kubectl: the first file that
--   names a cluster, user or context wins, and so does the first
--   current-context.  Missing files in the list are skipped; none at all is
--   an error, unless deloc runs in a pod: with neither KUBECONFIG nor
--   ~/.kube/config, KUBERNETES_SERVICE_HOST/PORT and the service account's
--   token (opts.service_account, default M.SERVICE_ACCOUNT) are used, as
--   kubectl does.  opts.env / opts.home stand in for the environment (specs).
--
-- What is understood: cluster server, certificate-authority(-data),
-- insecure-skip-tls-verify (with a warning), disable-compression and
-- extensions (ignored); user client-certificate(-data), client-key(-data),
-- token, tokenFile, exec (a credential plugin, run by argv without a shell,
-- whose ExecCredential gives a token or a client certificate).  Relative
-- paths are relative to the file that names them.  Inline *-data is base64:
-- it is written to 0600 files in a 0700 directory of our own, removed at
-- exit (kc.cleanup() removes them earlier).  Everything else (auth-provider,
-- username/password, impersonation, proxy-url, tls-server-name, unknown
-- keys) is an error naming the field and where it is.
--
-- kc.base64_decode(s) -> bytes | nil, err;  kc.base64_encode(bytes) -> s
local sys = require("deloc.sys")
local yaml = require("deloc.yaml")
local json = require("deloc.json")
local errors = require("deloc.errors")

local M = {}

M.EXEC_TIMEOUT = 60

local function invalid(msg, hint)
  return errors.new("CONFIG_INVALID", msg, { hint = hint })
end

-- ---- base64 ----

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local DEC = {}
for i = 1, 64 do DEC[B64:byte(i)] = i - 1 end
DEC[("-"):byte()] = 62 -- the URL-safe alphabet too
DEC[("_"):byte()] = 63

function M.base64_encode(s)
  local out = {}
  local band, rshift, lshift, bor = bit.band, bit.rshift, bit.lshift, bit.bor
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = bor(lshift(a, 16), lshift(b or 0, 8), c or 0)
    local c1 = rshift(n, 18) + 1
    local c2 = band(rshift(n, 12), 63) + 1
    local c3 = band(rshift(n, 6), 63) + 1
    local c4 = band(n, 63) + 1
    out[#out + 1] = B64:sub(c1, c1) .. B64:sub(c2, c2)
      .. (b and B64:sub(c3, c3) or "=") .. (c and B64:sub(c4, c4) or "=")
  end
  return table.concat(out)
end

function M.base64_decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  s = s:gsub("%s+", ""):gsub("=+$", "")
  if #s % 4 == 1 then return nil, "not base64 (bad length)" end
  local out = {}
  local bor, lshift, rshift, band = bit.bor, bit.lshift, bit.rshift, bit.band
  for i = 1, #s, 4 do
    local n, count = 0, 0
    for j = i, math.min(i + 3, #s) do
      local v = DEC[s:byte(j)]
      if not v then return nil, ("not base64 (character %q at %d)"):format(s:sub(j, j), j) end
      n = bor(lshift(n, 6), v)
      count = count + 1
    end
    n = lshift(n, 6 * (4 - count))
    local bytes = string.char(band(rshift(n, 16), 255), band(rshift(n, 8), 255), band(n, 255))
    out[#out + 1] = bytes:sub(1, count - 1)
  end
  return table.concat(out)
end

-- ---- private files for inline data (libcurl wants paths) ----

local private = { dir = nil, files = {} }

local function remove_private()
  for i = #private.files, 1, -1 do
    os.remove(private.files[i])
    private.files[i] = nil
  end
  if private.dir then
    os.remove(private.dir)
    private.dir = nil
  end
end

-- Removed when the Lua state closes (deloc's main closes it on every exit).
local sentinel = newproxy(true)
getmetatable(sentinel).__gc = remove_private
private.sentinel = sentinel

function M.cleanup() remove_private() end

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(n) or tostring(sys.now()):rep(n)
  if f then f:close() end
  return (bytes:sub(1, n):gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function private_file(name, data)
  if not private.dir then
    local base = os.getenv("TMPDIR")
    if not base or base == "" then base = "/tmp" end
    local dir = ("%s/deloc-kube-%d-%s"):format(base:gsub("/+$", ""), sys.pid(), random_hex(6))
    local ok, err = sys.mkdir_p(dir, 448) -- 0700
    if not ok then return nil, err end
    private.dir = dir
  end
  local path = ("%s/%s"):format(private.dir, name)
  local ok, err = sys.write_atomic(path, data, 384) -- 0600
  if not ok then return nil, err end
  private.files[#private.files + 1] = path
  return path
end

M._private = private -- for specs

-- ---- reading the files ----

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

local function expand_home(path, home)
  if path:sub(1, 2) == "~/" and home then return home .. path:sub(2) end
  return path
end

local function resolve(path, base_dir, home)
  path = expand_home(path, home)
  if path:sub(1, 1) == "/" then return path end
  return base_dir .. "/" .. path
end

-- where(file, marks, t, key) -> "file:line:col"
local function where(file, marks, t, key)
  local line, col = yaml.locate(marks, t, key)
  if line then return ("%s:%d:%d"):format(file, line, col) end
  return file
end

local function is_null(v) return v == nil or v == yaml.null end

-- Reads one kubeconfig; merges into `into` where names are new.
local function read_one(path, into)
  local doc, marks = yaml.load_file(path, { marks = true })
  if doc == nil then
    return nil, invalid(("cannot read kubeconfig %s"):format(tostring(marks)))
  end
  if is_null(doc) then return true end -- an empty file is no config
  if type(doc) ~= "table" then
    return nil, invalid(("%s: a kubeconfig must be a mapping"):format(path))
  end
  into.files[#into.files + 1] = path
  local function entries(key, inner)
    local list = doc[key]
    if is_null(list) then return end
    if type(list) ~= "table" then
      into.problem = into.problem or invalid(("%s: '%s' must be a list"):format(where(path, marks, doc, key), key))
      return
    end
    for _, e in ipairs(list) do
      local name = type(e) == "table" and e.name
      if type(name) ~= "string" then
        into.problem = into.problem or invalid(("%s: an entry of '%s' has no name"):format(where(path, marks, e), key))
      elseif not into[key][name] then
        local body = e[inner]
        if is_null(body) then body = {} end
        into[key][name] = { body = body, file = path, dir = dirname(path), marks = marks, entry = e }
      end
    end
  end
  entries("clusters", "cluster")
  entries("users", "user")
  entries("contexts", "context")
  local cc = doc["current-context"]
  if into.current == nil and type(cc) == "string" and cc ~= "" then
    into.current = cc
    into.current_file = path
  end
  return true
end

local function names_of(t)
  local n = {}
  for k in pairs(t) do n[#n + 1] = k end
  table.sort(n)
  return n
end

local function unknown_name(kind, name, have, field_where)
  local list = names_of(have)
  local near = require("deloc.suggest").closest(name, list)
  return nil, invalid(("%s: no %s named '%s' in the kubeconfig"):format(field_where, kind, name),
    near and ("did you mean '" .. near .. "'?")
      or (#list > 0 and (kind .. "s: " .. table.concat(list, ", ")) or nil))
end

-- ---- fields ----

local CLUSTER_FIELDS = {
  server = true, ["certificate-authority"] = true, ["certificate-authority-data"] = true,
  ["insecure-skip-tls-verify"] = true, ["disable-compression"] = true, extensions = true,
  ["tls-server-name"] = "deloc cannot check the certificate against another name; remove it or point 'server' at that name",
  ["proxy-url"] = "deloc does not use a proxy for the API server; remove it or reach the server directly",
}

local USER_FIELDS = {
  ["client-certificate"] = true, ["client-certificate-data"] = true,
  ["client-key"] = true, ["client-key-data"] = true,
  token = true, tokenFile = true, exec = true, extensions = true,
  ["auth-provider"] = "auth-provider plugins were removed from kubectl; use an exec credential plugin",
  username = "basic authentication was removed from Kubernetes (1.19); use a token, a client certificate or an exec plugin",
  password = "basic authentication was removed from Kubernetes (1.19); use a token, a client certificate or an exec plugin",
  as = "impersonation is not supported by deloc",
  ["as-uid"] = "impersonation is not supported by deloc",
  ["as-groups"] = "impersonation is not supported by deloc",
  ["as-user-extra"] = "impersonation is not supported by deloc",
}

local EXEC_FIELDS = {
  apiVersion = true, command = true, args = true, env = true, installHint = true,
  provideClusterInfo = true, interactiveMode = true,
}

local function check_fields(e, kind, name, allowed)
  local keys = names_of(e.body)
  for _, k in ipairs(keys) do
    local a = allowed[k]
    local v = e.body[k]
    if not is_null(v) and a ~= true then
      local what = a or ("unknown field '%s'"):format(k)
      if a then what = ("field '%s' is not supported: %s"):format(k, a) end
      local near = not a and require("deloc.suggest").closest(k, names_of(allowed)) or nil
      return nil, invalid(("%s: %s %s '%s': %s"):format(where(e.file, e.marks, e.body, k),
        "in", kind, name, what), near and ("did you mean '" .. near .. "'?") or nil)
    end
  end
  return true
end

local function field_string(e, key, kind, name)
  local v = e.body[key]
  if is_null(v) then return nil end
  if type(v) ~= "string" or v == "" then
    return nil, invalid(("%s: %s '%s': '%s' must be a non-empty string")
      :format(where(e.file, e.marks, e.body, key), kind, name, key))
  end
  return v
end

-- A file named by the kubeconfig, or the inline data written to a private file.
local function material(e, kind, name, file_key, data_key, private_name, home)
  local path, err = field_string(e, file_key, kind, name)
  if err then return nil, err end
  local data
  data, err = field_string(e, data_key, kind, name)
  if err then return nil, err end
  if data then
    local bytes, why = M.base64_decode(data)
    if not bytes then
      return nil, invalid(("%s: %s '%s': '%s' is %s"):format(where(e.file, e.marks, e.body, data_key),
        kind, name, data_key, why))
    end
    return private_file(private_name, bytes)
  end
  if path then
    path = resolve(path, e.dir, home)
    if not sys.exists(path) then
      return nil, invalid(("%s: %s '%s': %s '%s' does not exist"):format(
        where(e.file, e.marks, e.body, file_key), kind, name, file_key, path))
    end
    return path
  end
  return nil
end

-- ---- exec credential plugins ----

local EXEC_API = {
  ["client.authentication.k8s.io/v1"] = true,
  ["client.authentication.k8s.io/v1beta1"] = true,
}

local function run_exec(e, user, cfg, home, env)
  local x = e.body.exec
  local at = where(e.file, e.marks, e.body, "exec")
  if type(x) ~= "table" then
    return nil, invalid(("%s: user '%s': 'exec' must be a mapping"):format(at, user))
  end
  for _, k in ipairs(names_of(x)) do
    if not EXEC_FIELDS[k] then
      return nil, invalid(("%s: user '%s': unknown field 'exec.%s'"):format(
        where(e.file, e.marks, x, k), user, k))
    end
  end
  local api = x.apiVersion
  if not EXEC_API[api] then
    return nil, invalid(("%s: user '%s': exec.apiVersion '%s' is not supported"):format(at, user, tostring(api)),
      "use client.authentication.k8s.io/v1 or v1beta1")
  end
  if type(x.command) ~= "string" or x.command == "" then
    return nil, invalid(("%s: user '%s': exec.command must be a non-empty string"):format(at, user))
  end
  if x.interactiveMode == "Always" then
    return nil, invalid(("%s: user '%s': exec.interactiveMode 'Always' is not supported (deloc runs the plugin without a terminal)"):format(at, user))
  end
  local command = x.command
  if command:find("/", 1, true) then command = resolve(command, e.dir, home) end
  local argv = { command }
  for i, a in ipairs(type(x.args) == "table" and x.args or {}) do
    if type(a) ~= "string" and type(a) ~= "number" then
      return nil, invalid(("%s: user '%s': exec.args[%d] must be a string"):format(at, user, i))
    end
    argv[#argv + 1] = tostring(a)
  end
  local spec = { interactive = false }
  if x.provideClusterInfo == true then
    spec.cluster = { server = cfg.server, ["insecure-skip-tls-verify"] = cfg.insecure or nil }
    if cfg.cacert then
      local pem = sys.read_file(cfg.cacert)
      if pem then spec.cluster["certificate-authority-data"] = M.base64_encode(pem) end
    end
  end
  local child_env = {}
  for k, v in pairs(env or {}) do child_env[k] = v end
  child_env.KUBERNETES_EXEC_INFO = json.encode({ apiVersion = api, kind = "ExecCredential", spec = spec })
  for i, ev in ipairs(type(x.env) == "table" and x.env or {}) do
    if type(ev) ~= "table" or type(ev.name) ~= "string" or type(ev.value) ~= "string" then
      return nil, invalid(("%s: user '%s': exec.env[%d] needs a name and a value"):format(at, user, i))
    end
    child_env[ev.name] = ev.value
  end
  local r, err = sys.spawn({ argv = argv, env = child_env, timeout = M.EXEC_TIMEOUT, cwd = nil })
  if not r then
    local hint = type(x.installHint) == "string" and x.installHint or (errors.is(err) and err.hint) or nil
    return nil, errors.new("CONFIG_INVALID", ("user '%s': cannot run the exec credential plugin '%s': %s")
      :format(user, x.command, errors.is(err) and err.message or tostring(err)), { hint = hint })
  end
  if r.status ~= 0 then
    local why = (r.stderr or ""):gsub("%s+$", "")
    return nil, errors.new("CONFIG_INVALID", ("user '%s': the exec credential plugin '%s' failed (exit %s)%s")
      :format(user, x.command, tostring(r.status or r.signal), why ~= "" and (": " .. why) or ""))
  end
  local cred = json.decode(r.stdout or "")
  local function bad(why)
    return nil, errors.new("CONFIG_INVALID", ("user '%s': the exec credential plugin '%s' printed %s")
      :format(user, x.command, why))
  end
  if type(cred) ~= "table" or cred.kind ~= "ExecCredential" then
    return bad("no ExecCredential JSON")
  end
  if cred.apiVersion ~= api then
    return bad(("apiVersion '%s', not '%s'"):format(tostring(cred.apiVersion), api))
  end
  local st = type(cred.status) == "table" and cred.status or {}
  local out = {}
  if type(st.token) == "string" and st.token ~= "" then out.token = st.token end
  if type(st.clientCertificateData) == "string" or type(st.clientKeyData) == "string" then
    if type(st.clientCertificateData) ~= "string" or type(st.clientKeyData) ~= "string" then
      return bad("a client certificate without its key (or a key without its certificate)")
    end
    local err2
    out.cert, err2 = private_file("exec-" .. user:gsub("[^%w.-]", "_") .. ".crt", st.clientCertificateData)
    if not out.cert then return nil, err2 end
    out.key, err2 = private_file("exec-" .. user:gsub("[^%w.-]", "_") .. ".key", st.clientKeyData)
    if not out.key then return nil, err2 end
  end
  if not out.token and not out.cert then return bad("neither a token nor a client certificate") end
  if type(st.expirationTimestamp) == "string" then out.expires = st.expirationTimestamp end
  return out
end

-- ---- load ----

-- In a pod with no kubeconfig, the pod's service account, as kubectl and
-- client-go do (rest.InClusterConfig): the API server's address from
-- KUBERNETES_SERVICE_HOST/PORT, the mounted token, CA and namespace.
M.SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

local function in_cluster(getenv, sa_dir)
  local host, port = getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
  if not host or not port then return nil end
  local token = sys.read_file(sa_dir .. "/token")
  if not token then return nil end
  token = token:gsub("%s+$", "")
  if token == "" or token:find("[%c ]") then
    return nil, invalid(("the service account token %s/token is empty or not a token"):format(sa_dir))
  end
  if not port:match("^%d+$") or host:find("[/@%s]") then
    return nil, invalid(("KUBERNETES_SERVICE_HOST/PORT '%s' '%s' is not an address"):format(host, port))
  end
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  local cfg = { context = "in-cluster", cluster = "in-cluster", user = "serviceaccount",
    server = ("https://%s:%s"):format(host, port), token = token, insecure = false,
    files = {}, warnings = {}, in_cluster = true }
  if sys.exists(sa_dir .. "/ca.crt") then cfg.cacert = sa_dir .. "/ca.crt" end
  local ns = sys.read_file(sa_dir .. "/namespace")
  ns = ns and ns:gsub("%s+$", "")
  if ns and ns:match("^[a-z0-9][a-z0-9-]*$") then cfg.namespace = ns end
  return cfg
end

local function split_paths(s)
  local out = {}
  for p in s:gmatch("[^:]+") do out[#out + 1] = p end
  return out
end

function M.load(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("kubeconfig.load: options must be a table", 2) end
  local env = opts.env
  local function getenv(name)
    local v
    if env then v = env[name] else v = os.getenv(name) end
    if v == "" then return nil end
    return v
  end
  local home = opts.home or getenv("HOME")
  local source, paths
  if opts.path then
    source, paths = "the kubeconfig", split_paths(opts.path)
  elseif getenv("KUBECONFIG") then
    source, paths = "KUBECONFIG", split_paths(getenv("KUBECONFIG"))
  else
    if not home then
      return nil, invalid("no kubeconfig: KUBECONFIG is not set and HOME is unknown")
    end
    source, paths = "~/.kube/config", { home .. "/.kube/config" }
  end
  local merged = { clusters = {}, users = {}, contexts = {}, files = {} }
  local found = 0
  for _, p in ipairs(paths) do
    p = expand_home(p, home)
    if sys.exists(p) then
      found = found + 1
      local ok, err = read_one(p, merged)
      if not ok then return nil, err end
      if merged.problem then return nil, merged.problem end
    end
  end
  if found == 0 and source == "~/.kube/config" and not opts.context then
    local cfg, err = in_cluster(getenv, opts.service_account or M.SERVICE_ACCOUNT)
    if cfg or err then return cfg, err end
  end
  if found == 0 then
    return nil, errors.new("CONFIG_INVALID", ("no kubeconfig: %s"):format(source == "KUBECONFIG"
      and ("none of the files in KUBECONFIG exists (%s)"):format(table.concat(paths, ":"))
      or ("'%s' does not exist"):format(paths[1])),
      { hint = "point KUBECONFIG at your cluster's kubeconfig, or write ~/.kube/config" })
  end

  local ctx_name = opts.context
  local ctx_where = "--context"
  if not ctx_name then
    ctx_name = merged.current
    ctx_where = merged.current_file and (merged.current_file .. ": current-context") or "current-context"
    if not ctx_name then
      local list = names_of(merged.contexts)
      return nil, invalid("the kubeconfig has no current-context",
        #list > 0 and ("choose one with --context: " .. table.concat(list, ", "))
          or "the kubeconfig has no contexts either")
    end
  end
  local ctx = merged.contexts[ctx_name]
  if not ctx then return unknown_name("context", ctx_name, merged.contexts, ctx_where) end
  for _, k in ipairs(names_of(ctx.body)) do
    if k ~= "cluster" and k ~= "user" and k ~= "namespace" and k ~= "extensions" then
      return nil, invalid(("%s: in context '%s': unknown field '%s'"):format(
        where(ctx.file, ctx.marks, ctx.body, k), ctx_name, k))
    end
  end
  local cluster_name, user_name = ctx.body.cluster, ctx.body.user
  if type(cluster_name) ~= "string" then
    return nil, invalid(("%s: context '%s' names no cluster"):format(where(ctx.file, ctx.marks, ctx.entry), ctx_name))
  end
  local cl = merged.clusters[cluster_name]
  if not cl then
    return unknown_name("cluster", cluster_name, merged.clusters, where(ctx.file, ctx.marks, ctx.body, "cluster"))
  end
  local ok, err = check_fields(cl, "cluster", cluster_name, CLUSTER_FIELDS)
  if not ok then return nil, err end

  local cfg = { context = ctx_name, cluster = cluster_name, user = user_name,
                files = merged.files, warnings = {} }
  if type(ctx.body.namespace) == "string" and ctx.body.namespace ~= "" then
    cfg.namespace = ctx.body.namespace
  end
  local server
  server, err = field_string(cl, "server", "cluster", cluster_name)
  if err then return nil, err end
  if not server then
    return nil, invalid(("%s: cluster '%s' has no 'server'"):format(where(cl.file, cl.marks, cl.entry), cluster_name))
  end
  if not server:match("^https?://[^/]") then
    return nil, invalid(("%s: cluster '%s': server '%s' is not an http(s):// URL"):format(
      where(cl.file, cl.marks, cl.body, "server"), cluster_name, server))
  end
  cfg.server = server:gsub("/+$", "")
  local insecure = cl.body["insecure-skip-tls-verify"]
  if not is_null(insecure) and type(insecure) ~= "boolean" then
    return nil, invalid(("%s: cluster '%s': 'insecure-skip-tls-verify' must be true or false"):format(
      where(cl.file, cl.marks, cl.body, "insecure-skip-tls-verify"), cluster_name))
  end
  cfg.insecure = insecure == true
  cfg.cacert, err = material(cl, "cluster", cluster_name, "certificate-authority",
    "certificate-authority-data", "ca-" .. cluster_name:gsub("[^%w.-]", "_") .. ".crt", home)
  if err then return nil, err end
  if cfg.insecure then
    if cfg.cacert then
      return nil, invalid(("%s: cluster '%s' sets both insecure-skip-tls-verify and a certificate authority"):format(
        where(cl.file, cl.marks, cl.body, "insecure-skip-tls-verify"), cluster_name),
        "remove one: the server certificate is either checked or not")
    end
    cfg.warnings[#cfg.warnings + 1] = ("cluster '%s': insecure-skip-tls-verify is set; the API server's certificate is not checked")
      :format(cluster_name)
  end

  if user_name ~= nil and not is_null(user_name) then
    if type(user_name) ~= "string" then
      return nil, invalid(("%s: context '%s': 'user' must be a name"):format(
        where(ctx.file, ctx.marks, ctx.body, "user"), ctx_name))
    end
    local u = merged.users[user_name]
    if not u then
      return unknown_name("user", user_name, merged.users, where(ctx.file, ctx.marks, ctx.body, "user"))
    end
    ok, err = check_fields(u, "user", user_name, USER_FIELDS)
    if not ok then return nil, err end
    local safe = user_name:gsub("[^%w.-]", "_")
    cfg.cert, err = material(u, "user", user_name, "client-certificate", "client-certificate-data",
      "user-" .. safe .. ".crt", home)
    if err then return nil, err end
    cfg.key, err = material(u, "user", user_name, "client-key", "client-key-data", "user-" .. safe .. ".key", home)
    if err then return nil, err end
    if (cfg.cert == nil) ~= (cfg.key == nil) then
      return nil, invalid(("%s: user '%s' has a client %s but no client %s"):format(where(u.file, u.marks, u.entry),
        user_name, cfg.cert and "certificate" or "key", cfg.cert and "key" or "certificate"))
    end
    local token
    token, err = field_string(u, "token", "user", user_name)
    if err then return nil, err end
    if not token then
      local tf
      tf, err = field_string(u, "tokenFile", "user", user_name)
      if err then return nil, err end
      if tf then
        tf = resolve(tf, u.dir, home)
        local text, rerr = sys.read_file(tf)
        if not text then
          return nil, invalid(("%s: user '%s': cannot read tokenFile '%s': %s"):format(
            where(u.file, u.marks, u.body, "tokenFile"), user_name, tf,
            tostring(errors.is(rerr) and rerr.message or rerr)))
        end
        token = text:gsub("^%s+", ""):gsub("%s+$", "")
        if token == "" then
          return nil, invalid(("%s: user '%s': tokenFile '%s' is empty"):format(
            where(u.file, u.marks, u.body, "tokenFile"), user_name, tf))
        end
      end
    end
    cfg.token = token
    if not is_null(u.body.exec) then
      local cred
      cred, err = run_exec(u, user_name, cfg, home, env)
      if not cred then return nil, err end
      cfg.token = cred.token or cfg.token
      if cred.cert then cfg.cert, cfg.key = cred.cert, cred.key end
      cfg.expires = cred.expires
      cfg.exec = true
    end
  end
  return cfg
end

-- kc.describe(cfg) -> "context 'x' (cluster 'y' at https://..., user 'z')"
function M.describe(cfg)
  return ("context '%s' (server %s%s)"):format(cfg.context, cfg.server,
    cfg.user and (", user '" .. cfg.user .. "'") or "")
end

return M
