-- spec/support/kube.lua: a real Kubernetes API server for the specs: etcd and
-- kube-apiserver (built once by spec/k8s/build from the test-only Go module)
-- on 127.0.0.1, in a temporary directory, stopped by their pids afterwards.
--
--   local kube = dofile("spec/support/kube.lua")
--   local k = kube.start()              -- builds the binaries the first time (20-35 min)
--   finally(function() k:stop() end)
--   k.server       --> "https://127.0.0.1:34121"
--   k.kubeconfig   --> path: contexts "admin" (current; token in group system:masters),
--                  --   "viewer" (a second token, no RBAC rights) and "cert" (an inline
--                  --   client certificate of CN=cert-admin, O=system:masters)
--   k.ca, k.dir, k.admin_token, k.viewer_token
--   k:request(method, path [, body_table, {token=, headers=, content_type=}])
--     -> status, decoded body (or text), response headers
--   k:write_kubeconfig(name, text) -> path   (a kubeconfig of the spec's own in k.dir)
--   k:add_node(name, {cpu = "4", memory = "8Gi", pods = "110"})  -- a Node object with
--     that allocatable (nothing runs on it: there is no kubelet)
--   k:service_account_token(name, lifetime) -> a signed bound token (expired when
--     lifetime < 3600: it starts an hour ago)
--   k:stop()       -- TERM, then KILL after 10 s, to the two pids; removes the directory
--
-- The API server: serving certificate from a throw-away CA (openssl CLI), static
-- tokens (--token-auth-file), client certificates from the same CA, RBAC
-- authorization, service-account signing keys, the default admission plugins
-- (Pod Security among them).  No controller-manager, scheduler or kubelet: objects
-- are stored and validated, but no pod runs and a deleted namespace stays
-- Terminating.
local KEY = "spec.support.kube"
if package.loaded[KEY] then return package.loaded[KEY] end

local sys = require("deloc.sys")
local http = require("deloc.http")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")

local M = {}

M.READY_TIMEOUT = 180

local function run(argv, opts)
  opts = opts or {}
  local r, err = sys.spawn({ argv = argv, cwd = opts.cwd, timeout = opts.timeout or 120, env = opts.env })
  if not r then error(("%s: %s"):format(argv[1], tostring(err)), 2) end
  if r.status ~= 0 then
    error(("%s failed (%s): %s"):format(table.concat(argv, " "), tostring(r.status or r.signal),
      (r.stderr or ""):sub(-2000)), 2)
  end
  return r.stdout
end

-- M.bin() -> directory holding kube-apiserver and etcd (builds them when missing)
function M.bin()
  local script = e2e.root .. "/spec/k8s/build"
  local r = sys.spawn({ argv = { script, "--check" }, timeout = 30 })
  if r and r.status == 0 then return (r.stdout:gsub("%s+$", "")) end
  io.stderr:write("spec/support/kube: building kube-apiserver and etcd (first time only, 20-35 min)\n")
  local out = run({ script }, { timeout = 3 * 3600 })
  return (out:gsub("%s+$", ""):match("([^\n]+)$"))
end

local function free_ports(n)
  local listening = require("deloc.planner").listening()
  local out, used = {}, {}
  local seed = sys.pid() * 7919 + math.floor(sys.now() * 1000)
  math.randomseed(seed)
  while #out < n do
    -- below the kernel's ephemeral range (32768-60999), where outgoing
    -- connections take their local ports
    local p = math.random(20000, 32000)
    if not listening[p] and not used[p] then
      used[p] = true
      out[#out + 1] = p
    end
  end
  return out
end

local function openssl(dir, ...)
  return run({ "openssl", ... }, { cwd = dir })
end

local function make_pki(dir)
  local ec = { "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes" }
  local function req(extra)
    local argv = { "req" }
    for _, a in ipairs(ec) do argv[#argv + 1] = a end
    for _, a in ipairs(extra) do argv[#argv + 1] = a end
    openssl(dir, unpack(argv))
  end
  req({ "-x509", "-days", "2", "-subj", "/CN=deloc-test-ca", "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign" })
  local function leaf(name, subj, ext)
    req({ "-subj", subj, "-keyout", name .. ".key", "-out", name .. ".csr" })
    assert(sys.write_atomic(dir .. "/" .. name .. ".ext", ext))
    openssl(dir, "x509", "-req", "-in", name .. ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
      "-CAcreateserial", "-days", "2", "-extfile", name .. ".ext", "-out", name .. ".pem")
  end
  leaf("serving", "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
  leaf("client", "/CN=cert-admin/O=system:masters",
    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
  openssl(dir, "genrsa", "-out", "sa.key", "2048")
  openssl(dir, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
end

local function random_token()
  local f = assert(io.open("/dev/urandom", "rb"))
  local b = f:read(16)
  f:close()
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local Cluster = {}
Cluster.__index = Cluster

local function b64(path)
  return require("deloc.kubeconfig").base64_encode(assert(sys.read_file(path)))
end

function Cluster:write_kubeconfig(name, text)
  local path = self.dir .. "/" .. name
  assert(sys.write_atomic(path, text, 384))
  return path
end

function Cluster:request(method, path, body, opts)
  opts = opts or {}
  local headers = { Accept = "application/json" }
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local data
  if body ~= nil then
    data = type(body) == "string" and body or assert(json.encode(body))
    headers["Content-Type"] = opts.content_type or "application/json"
  end
  local r, err = http.request({ url = self.server .. path, method = method, body = data,
    headers = headers, token = opts.token or self.admin_token, cacert = self.ca, timeout = 30 })
  if not r then error(("kube %s %s: %s"):format(method, path, tostring(err)), 2) end
  local decoded = json.decode(r.body)
  return r.status, decoded ~= nil and decoded or r.body, r.headers
end

function Cluster:add_node(name, alloc)
  alloc = alloc or {}
  local status = { capacity = { cpu = alloc.cpu or "4", memory = alloc.memory or "8Gi",
                                pods = alloc.pods or "110", ["ephemeral-storage"] = alloc.disk or "50Gi" },
                   conditions = { { type = "Ready", status = "True", reason = "KubeletReady",
                                    message = "fake node for deloc specs" } } }
  status.allocatable = status.capacity
  local code, body = self:request("POST", "/api/v1/nodes", {
    apiVersion = "v1", kind = "Node", metadata = { name = name, labels = { ["deloc-spec"] = "true" } },
  })
  assert(code == 201, ("create node %s: %s"):format(name, json.encode(body)))
  code, body = self:request("PATCH", "/api/v1/nodes/" .. name .. "/status",
    { status = status }, { content_type = "application/merge-patch+json" })
  assert(code == 200, ("node %s status: %s"):format(name, json.encode(body)))
  -- admission taints a new node not-ready until a node controller (absent
  -- here) sees it Ready; this is that controller's step
  code, body = self:request("PATCH", "/api/v1/nodes/" .. name,
    { spec = { taints = json.null } }, { content_type = "application/merge-patch+json" })
  assert(code == 200, ("node %s taints: %s"):format(name, json.encode(body)))
  return body
end

local function b64url(bytes)
  return (require("deloc.kubeconfig").base64_encode(bytes):gsub("=+$", ""):gsub("+", "-"):gsub("/", "_"))
end

-- k:service_account_token(name, lifetime) -> a bound service-account token
-- for default/<name> (the account is made when missing), signed with the
-- server's signing key and valid from an hour ago for `lifetime` seconds
-- after that: a negative-enough lifetime gives a token that has expired.
function Cluster:service_account_token(name, lifetime)
  local code, sa = self:request("GET", "/api/v1/namespaces/default/serviceaccounts/" .. name)
  if code == 404 then
    code, sa = self:request("POST", "/api/v1/namespaces/default/serviceaccounts",
      { apiVersion = "v1", kind = "ServiceAccount", metadata = { name = name } })
  end
  assert(code == 200 or code == 201, ("service account %s: %s"):format(name, json.encode(sa)))
  local iat = math.floor(sys.time()) - 3600
  local issuer = "https://kubernetes.default.svc.cluster.local"
  local header = b64url(assert(json.encode({ alg = "RS256", typ = "JWT" })))
  local claims = b64url(assert(json.encode({
    aud = { issuer }, iss = issuer, iat = iat, nbf = iat, exp = iat + lifetime,
    sub = "system:serviceaccount:default:" .. name,
    ["kubernetes.io"] = { namespace = "default", serviceaccount = { name = name, uid = sa.metadata.uid } },
  })))
  local input = header .. "." .. claims
  local r = assert(sys.spawn({ argv = { "openssl", "dgst", "-sha256", "-sign", self.dir .. "/sa.key" },
    stdin = input, timeout = 30 }))
  assert(r.status == 0, r.stderr)
  return input .. "." .. b64url(r.stdout)
end

local function alive(pid)
  local r = sys.waitpid(pid, true)
  return r == false
end

local function stop_pid(pid)
  if not pid then return end
  if not alive(pid) then return end
  sys.kill(pid, "TERM")
  local deadline = sys.now() + 10
  while sys.now() < deadline do
    if not alive(pid) then return end
    sys.sleep(0.1)
  end
  sys.kill(pid, "KILL")
  sys.waitpid(pid)
end

function Cluster:stop()
  if self.stopped then return end
  self.stopped = true
  stop_pid(self.apiserver_pid)
  stop_pid(self.etcd_pid)
  if os.getenv("DELOC_KEEP_KUBE") ~= "1" then e2e.rmdir(self.dir) end
end

local function tail(path, n)
  local text = sys.read_file(path) or ""
  return text:sub(-(n or 3000))
end

local function wait_ready(k)
  local deadline = sys.now() + M.READY_TIMEOUT
  local last = "no answer"
  while sys.now() < deadline do
    if not alive(k.apiserver_pid) then
      error("kube-apiserver exited:\n" .. tail(k.dir .. "/apiserver.log"), 3)
    end
    if not alive(k.etcd_pid) then error("etcd exited:\n" .. tail(k.dir .. "/etcd.log"), 3) end
    local r, err = http.request({ url = k.server .. "/readyz", token = k.admin_token, cacert = k.ca,
      timeout = 5, connect_timeout = 2 })
    if r and r.status == 200 then
      -- RBAC's bootstrap roles and the default namespace are in once /readyz is
      return true
    end
    last = r and (r.status .. " " .. r.body:sub(1, 500)) or tostring(err)
    sys.sleep(0.5)
  end
  error(("kube-apiserver not ready after %ds: %s\n%s"):format(M.READY_TIMEOUT, last,
    tail(k.dir .. "/apiserver.log")), 3)
end

-- kube.start() -> cluster (see the top of the file)
-- A port taken between our look at /proc/net/tcp and the bind is a retry.
function M.start()
  for attempt = 1, 3 do
    local ok, k = pcall(M.start_once)
    if ok then return k end
    if attempt == 3 or not tostring(k):find("address already in use", 1, true) then error(k, 2) end
  end
end

function M.start_once()
  local bin = M.bin()
  local dir = e2e.tmpdir()
  local k = setmetatable({ dir = dir, bin = bin }, Cluster)
  local ok, err = pcall(function()
    make_pki(dir)
    k.ca = dir .. "/ca.pem"
    k.admin_token, k.viewer_token = random_token(), random_token()
    assert(sys.write_atomic(dir .. "/tokens.csv", ('%s,admin,admin-uid,"system:masters"\n%s,viewer,viewer-uid\n')
      :format(k.admin_token, k.viewer_token), 384))
    local ports = free_ports(3)
    local client, peer, secure = ports[1], ports[2], ports[3]
    k.etcd_pid = assert(sys.spawn_bg({ argv = {
      bin .. "/etcd", "--name", "deloc-spec", "--data-dir", dir .. "/etcd",
      "--listen-client-urls", "http://127.0.0.1:" .. client,
      "--advertise-client-urls", "http://127.0.0.1:" .. client,
      "--listen-peer-urls", "http://127.0.0.1:" .. peer,
      "--initial-advertise-peer-urls", "http://127.0.0.1:" .. peer,
      "--initial-cluster", "deloc-spec=http://127.0.0.1:" .. peer,
      "--unsafe-no-fsync", "--log-level", "warn",
    }, stdout = dir .. "/etcd.log", stderr = dir .. "/etcd.log" }))
    k.server = "https://127.0.0.1:" .. secure
    k.apiserver_pid = assert(sys.spawn_bg({ argv = {
      bin .. "/kube-apiserver",
      "--etcd-servers", "http://127.0.0.1:" .. client,
      "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
      "--secure-port", tostring(secure),
      "--tls-cert-file", dir .. "/serving.pem", "--tls-private-key-file", dir .. "/serving.key",
      "--client-ca-file", k.ca,
      "--token-auth-file", dir .. "/tokens.csv",
      "--authorization-mode", "RBAC",
      "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
      "--service-account-key-file", dir .. "/sa.pub",
      "--service-account-signing-key-file", dir .. "/sa.key",
      "--service-cluster-ip-range", "10.96.0.0/24",
      "--cert-dir", dir .. "/certs",
      "--enable-priority-and-fairness=false",
      "--endpoint-reconciler-type", "none",
      "--v", "1",
    }, stdout = dir .. "/apiserver.log", stderr = dir .. "/apiserver.log" }))
    wait_ready(k)
    k.kubeconfig = k:write_kubeconfig("kubeconfig", ([[
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: spec
  cluster:
    server: %s
    certificate-authority: %s
contexts:
- name: admin
  context: { cluster: spec, user: admin }
- name: viewer
  context: { cluster: spec, user: viewer }
- name: cert
  context: { cluster: spec, user: cert }
users:
- name: admin
  user: { token: %s }
- name: viewer
  user: { token: %s }
- name: cert
  user:
    client-certificate-data: %s
    client-key-data: %s
]]):format(k.server, k.ca, k.admin_token, k.viewer_token, b64(dir .. "/client.pem"), b64(dir .. "/client.key")))
  end)
  if not ok then
    k:stop()
    error(err, 2)
  end
  return k
end

package.loaded[KEY] = M
return M
