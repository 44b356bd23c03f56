-- spec/support/kube.lua: a real Kubernetes API server for the specs: etcd and
-- kube-apiserver (built once by spec/k8s/build from the test-only Go module)
-- on 127.0.0.1, in a temporary directory, stopped by their pids afterwards.
--
--   local kube = dofile("spec/support/kube.lua")
--   local k = kube.start()              -- builds the binaries the first time (minutes)
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
--   k:stop()       -- TERM, then KILL after 10 s, to every pid it started; removes the directory
--
-- With workloads that run (make test-k8s-full; binaries from spec/k8s/build-full):
--   local k = kube.start({ full = true })
--     also kube-controller-manager (--controllers=*, the service-account key) and
--     kube-scheduler on the admin kubeconfig, and kwok (spec/k8s/full/kwok-stages.yaml:
--     kwokctl's default Stages) managing the nodes annotated kwok.x-k8s.io/node=fake
--   k:add_node(name, alloc)   -- then a kwok node: kwok makes it Ready, the node
--     controller lifts its not-ready taint; returns once pods can be scheduled on it.
--     Pods scheduled there become Running and Ready at once; a Job's pods then
--     Succeeded; deleted pods go (nothing is pulled or run: any image name works)
--   k:add_volumes(n [, size])  -- n PersistentVolumes (no storage class, Retain,
--     default size 100Gi) for StatefulSets' claims to bind (there is no provisioner);
--     a claim deleted leaves its volume Released, not reused
--   k:check()      -- raises with the log's tail when a process it started has exited
--   k.full         --> true
--
-- With pods that really run (make test-k8s-pods; binaries from spec/k8s/build-pods):
--   local k = kube.start({ pods = true })
--     kube-controller-manager and kube-scheduler as with `full` (no kwok), and one
--     real node (spec/k8s/pods-node): containerd 2.x, Debian's runc and CNI plugins,
--     kubelet, kube-proxy and CoreDNS; the test images (opts.images, default
--     deloc-test/postgres:16, redis:7 and busybox:1.35, built by spec/images/build)
--     and a pause image are imported into containerd, nothing is pulled.  Returns
--     once the node is Ready.  One such cluster runs on a machine at a time (a
--     lock, waited for); leftovers of a killed run are swept first.
--   k.node         --> node name;  k.pods_bin --> the build-pods directory (kubectl)
--   k:add_local_volumes(n [, size])  -- n local PersistentVolumes on the node
--     (directories owned by root, mode 0755, as a fresh disk: fsGroup applies)
--   k:stop()       -- the node first (pods-node stop: containers, mounts, cgroups,
--                  -- bridge, nft tables, iptables rules), then the rest
--
-- The API server: serving certificate from a throw-away CA (openssl CLI), static
-- tokens (--token-auth-file), client certificates from the same CA, RBAC
-- authorization, service-account signing keys, the default admission plugins
-- (Pod Security among them).  Without `full`: no controller-manager, scheduler or
-- kubelet: objects are stored and validated, but no pod runs and a deleted
-- namespace stays Terminating.
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
  io.stderr:write("spec/support/kube: building kube-apiserver and etcd (first time only: 3.5 min on 2 quiet cores)\n")
  local out = run({ script }, { timeout = 3 * 3600 })
  return (out:gsub("%s+$", ""):match("([^\n]+)$"))
end

-- M.bin_full() -> directory holding kube-controller-manager, kube-scheduler and kwok
function M.bin_full()
  local script = e2e.root .. "/spec/k8s/build-full"
  local r = sys.spawn({ argv = { script, "--check" }, timeout = 30 })
  if r and r.status == 0 then return (r.stdout:gsub("%s+$", "")) end
  io.stderr:write("spec/support/kube: building kube-controller-manager, kube-scheduler and kwok (first time only)\n")
  local out = run({ script }, { timeout = 3 * 3600 })
  return (out:gsub("%s+$", ""):match("([^\n]+)$"))
end

-- M.bin_pods() -> directory holding kubelet, kube-proxy, the controllers, kubectl,
-- coredns, containerd, its shim and ctr, and pause
function M.bin_pods()
  local script = e2e.root .. "/spec/k8s/build-pods"
  local r = sys.spawn({ argv = { script, "--check" }, timeout = 30 })
  if r and r.status == 0 then return (r.stdout:gsub("%s+$", "")) end
  io.stderr:write("spec/support/kube: building kubelet, kube-proxy, controllers, CoreDNS, containerd (first time only)\n")
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

local function tail(path, n)
  local text = sys.read_file(path) or ""
  return text:sub(-(n or 3000))
end

local function alive(pid)
  local r = sys.waitpid(pid, true)
  return r == false
end

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

local function kwok_node(self, name, alloc)
  local res = { cpu = alloc.cpu or "4", memory = alloc.memory or "8Gi", pods = alloc.pods or "110",
                ["ephemeral-storage"] = alloc.disk or "50Gi" }
  local code, body = self:request("POST", "/api/v1/nodes", {
    apiVersion = "v1", kind = "Node",
    metadata = { name = name, labels = { ["deloc-spec"] = "true", type = "kwok",
                                         ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux" },
                 annotations = { ["kwok.x-k8s.io/node"] = "fake", ["node.alpha.kubernetes.io/ttl"] = "0" } },
    -- in the create (a node's status may be set there): kwok's node-initialize
    -- keeps the allocatable it finds, and gives 1k CPUs and 1Ti when there is none
    status = { capacity = res, allocatable = res },
  })
  assert(code == 201, ("create node %s: %s"):format(name, json.encode(body)))
  local deadline = sys.now() + 90
  local last = "not seen"
  while sys.now() < deadline do
    self:check()
    code, body = self:request("GET", "/api/v1/nodes/" .. name)
    if code == 200 then
      local ready = false
      for _, c in ipairs((body.status or {}).conditions or {}) do
        if c.type == "Ready" and c.status == "True" then ready = true end
      end
      local taints = body.spec and body.spec.taints or {}
      if ready and #taints == 0 then
        local got = body.status.allocatable or {}
        assert(got.cpu == res.cpu and got.memory == res.memory and got.pods == res.pods,
          ("node %s: allocatable %s, not %s"):format(name, json.encode(got), json.encode(res)))
        return body
      end
      last = ("ready=%s taints=%s"):format(tostring(ready), json.encode(taints))
    end
    sys.sleep(0.5)
  end
  error(("kwok node %s not schedulable after 90s (%s)\nkwok:\n%s\ncontroller-manager:\n%s"):format(name, last,
    tail(self.dir .. "/kwok.log", 1500), tail(self.dir .. "/controller-manager.log", 1500)), 3)
end

function Cluster:add_node(name, alloc)
  alloc = alloc or {}
  if self.full then return kwok_node(self, name, alloc) end
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

function Cluster:add_volumes(n, size)
  self.volumes = self.volumes or 0
  for _ = 1, n do
    self.volumes = self.volumes + 1
    local name = ("deloc-spec-pv-%d"):format(self.volumes)
    local code, body = self:request("POST", "/api/v1/persistentvolumes", {
      apiVersion = "v1", kind = "PersistentVolume",
      metadata = { name = name, labels = { ["deloc-spec"] = "true" } },
      spec = { capacity = { storage = size or "100Gi" }, accessModes = { "ReadWriteOnce" },
               persistentVolumeReclaimPolicy = "Retain", storageClassName = "",
               -- never mounted: there is no kubelet
               hostPath = { path = "/nonexistent/deloc-spec/" .. name } },
    })
    assert(code == 201, ("create volume %s: %s"):format(name, json.encode(body)))
  end
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

-- the processes start_full adds, in the order they are stopped
local EXTRA = { { "kwok_pid", "kwok" }, { "scheduler_pid", "scheduler" },
                { "controller_manager_pid", "controller-manager" } }

-- k:record(name, pid): with a node, the process goes into its ledger too, so
-- `pods-node sweep` stops it when this test process was killed
function Cluster:record(name, pid)
  if not self.node then return end
  local f = assert(io.open(self.dir .. "/node/ledger", "a"))
  f:write(("pid %s %d\n"):format(name, pid))
  f:close()
end

-- the node's processes, from the ledger spec/k8s/pods-node keeps
local function node_pids(k)
  local out = {}
  for line in (sys.read_file(k.dir .. "/node/ledger") or ""):gmatch("[^\n]+") do
    local name, pid = line:match("^pid (%S+) (%d+)$")
    if not name then pid = line:match("^containerd %S+ (%d+) ") name = pid and "containerd" end
    if name then out[#out + 1] = { name, tonumber(pid) } end
  end
  return out
end

function Cluster:check()
  local procs = { { "etcd_pid", "etcd" }, { "apiserver_pid", "apiserver" } }
  for _, p in ipairs(EXTRA) do procs[#procs + 1] = p end
  for _, p in ipairs(procs) do
    local pid = self[p[1]]
    if pid and not alive(pid) then
      self[p[1]] = nil
      error(("%s exited:\n%s"):format(p[2], tail(self.dir .. "/" .. p[2] .. ".log")), 2)
    end
  end
  for _, p in ipairs(self.node and node_pids(self) or {}) do
    local log = self.dir .. "/node/" .. p[1] .. ".log"
    if sys.exists(log) and not sys.exists("/proc/" .. p[2]) then
      error(("%s exited:\n%s"):format(p[1], tail(log)), 2)
    end
  end
end

function Cluster:stop()
  if self.stopped then return end
  self.stopped = true
  if self.prepare_pid then sys.waitpid(self.prepare_pid) end -- its ledger must be complete
  if self.pods_bin and sys.exists(self.dir .. "/node/ledger") then
    local r = sys.spawn({ argv = { e2e.root .. "/spec/k8s/pods-node", "stop", self.dir .. "/node" }, timeout = 300 })
    if not r or r.status ~= 0 then
      io.stderr:write(("spec/support/kube: pods-node stop: %s\n"):format(r and r.stderr or "did not run"))
    end
  end
  for _, p in ipairs(EXTRA) do stop_pid(self[p[1]]) end
  stop_pid(self.apiserver_pid)
  stop_pid(self.etcd_pid)
  if os.getenv("DELOC_KEEP_KUBE") ~= "1" then e2e.rmdir(self.dir) end
  if self.lock then self.lock:unlock() end
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

-- kube-controller-manager, kube-scheduler and kwok on the admin kubeconfig;
-- returns once the controllers run (the service-account controller has made
-- default/default).  Their secure ports are off: nothing else listens.
local function start_full(k, fbin, kwok)
  local dir = k.dir
  k.full = true
  k.controller_manager_pid = assert(sys.spawn_bg({ argv = {
    fbin .. "/kube-controller-manager",
    "--kubeconfig", k.kubeconfig,
    "--secure-port", "0",
    "--leader-elect=false",
    "--controllers", "*",
    "--service-account-private-key-file", dir .. "/sa.key",
    "--root-ca-file", k.ca,
    "--use-service-account-credentials=false",
    "--concurrent-deployment-syncs", "2", "--concurrent-statefulset-syncs", "2",
    "--v", "1",
  }, stdout = dir .. "/controller-manager.log", stderr = dir .. "/controller-manager.log" }))
  k.scheduler_pid = assert(sys.spawn_bg({ argv = {
    fbin .. "/kube-scheduler",
    "--kubeconfig", k.kubeconfig,
    "--secure-port", "0",
    "--leader-elect=false",
    "--v", "1",
  }, stdout = dir .. "/scheduler.log", stderr = dir .. "/scheduler.log" }))
  if kwok then k.kwok_pid = assert(sys.spawn_bg({ argv = {
    fbin .. "/kwok",
    "--kubeconfig", k.kubeconfig,
    "--config", e2e.root .. "/spec/k8s/full/kwok-stages.yaml",
    "--manage-all-nodes=false",
    "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
    "--node-ip", "127.0.0.1",
    "--node-lease-duration-seconds", "40",
    "--cidr", "10.244.0.0/16",
  }, stdout = dir .. "/kwok.log", stderr = dir .. "/kwok.log", env = { HOME = dir } })) end
  k:record("controller-manager", k.controller_manager_pid)
  k:record("scheduler", k.scheduler_pid)
  local deadline = sys.now() + M.READY_TIMEOUT
  while sys.now() < deadline do
    k:check()
    local code = k:request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
    if code == 200 then return end
    sys.sleep(0.5)
  end
  error(("kube-controller-manager made no default service account after %ds:\n%s"):format(M.READY_TIMEOUT,
    tail(dir .. "/controller-manager.log")), 3)
end

-- one cluster with a real node at a time on a machine: its bridge, subnet,
-- cgroup root and kube-proxy's nft tables have fixed names
local function pods_lock()
  local root = os.getenv("DELOC_K8S_CACHE") or "/var/cache/deloc-test/k8s"
  assert(sys.mkdir_p(root))
  local l, err = sys.lock(root .. "/pods-cluster.lock", { wait = 1800 })
  if not l then error("spec/support/kube: another pods cluster runs: " .. tostring(err.message or err), 3) end
  return l
end

local function node_ready(k)
  local code, body = k:request("GET", "/api/v1/nodes/" .. k.node)
  if code ~= 200 then return false, "not registered" end
  for _, c in ipairs((body.status or {}).conditions or {}) do
    if c.type == "Ready" then
      if c.status == "True" and #(body.spec.taints or {}) == 0 then return true end
      return false, ("Ready=%s (%s) taints=%s"):format(c.status, tostring(c.message), json.encode(body.spec.taints or {}))
    end
  end
  return false, "no Ready condition"
end

local NODE_SCRIPT = "/spec/k8s/pods-node"

local function node_env(k)
  return { BIN = k.pods_bin, KUBECONFIG = k.dir .. "/kubeconfig", NODE = k.node, OWNER = tostring(sys.pid()),
           CA = k.dir .. "/ca.pem", IMAGES = table.concat(k.images, " ") }
end

-- the part of the node that needs no API server (bridge, containerd, the
-- images), in the background while etcd and the API server start
local function prepare_node(k, opts)
  local script = e2e.root .. NODE_SCRIPT
  -- a run killed before its cleanup left things behind: undo them first
  local r = assert(sys.spawn({ argv = { script, "sweep" }, timeout = 300 }))
  if r.status ~= 0 then error("pods-node sweep: " .. r.stderr, 3) end
  k.node = "deloc-pods"
  k.images = opts.images or { "deloc-test/postgres:16", "deloc-test/redis:7", "deloc-test/busybox:1.35" }
  local ndir = k.dir .. "/node"
  assert(sys.mkdir_p(ndir))
  k.node_t0 = sys.now()
  k.prepare_pid = assert(sys.spawn_bg({ argv = { script, "prepare", ndir }, env = node_env(k),
    stdout = k.dir .. "/node-prepare.log", stderr = k.dir .. "/node-prepare.log" }))
end

-- the rest of the node (kube-proxy, CoreDNS, the kubelet); returns once the
-- node is Ready and schedulable
local function start_node(k)
  local script = e2e.root .. NODE_SCRIPT
  local ndir = k.dir .. "/node"
  local done = assert(sys.waitpid(k.prepare_pid))
  k.prepare_pid = nil
  if done.status ~= 0 then
    error(("pods-node prepare failed:\n%s"):format(tail(k.dir .. "/node-prepare.log")), 3)
  end
  local r = assert(sys.spawn({ argv = { script, "start", ndir }, timeout = 300, env = node_env(k) }))
  if r.status ~= 0 then error(("pods-node start failed:\n%s"):format(r.stderr:sub(-3000)), 3) end
  local deadline = sys.now() + M.READY_TIMEOUT
  local ok, why
  while sys.now() < deadline do
    k:check()
    ok, why = node_ready(k)
    if ok then
      k.node_started = sys.now() - k.node_t0
      return
    end
    sys.sleep(0.5)
  end
  error(("node %s not Ready after %ds: %s\nkubelet:\n%s"):format(k.node, M.READY_TIMEOUT, why,
    tail(ndir .. "/kubelet.log")), 3)
end

-- k:add_local_volumes(n [, size]): local PersistentVolumes on the node, each a
-- directory owned by root with mode 0755 (what a fresh disk looks like to a
-- pod: only fsGroup makes it writable), Retain, no storage class
function Cluster:add_local_volumes(n, size)
  self.volumes = self.volumes or 0
  for _ = 1, n do
    self.volumes = self.volumes + 1
    local name = ("deloc-spec-pv-%d"):format(self.volumes)
    local path = self.dir .. "/node/pv/" .. name
    assert(sys.mkdir_p(path, tonumber("755", 8)))
    local code, body = self:request("POST", "/api/v1/persistentvolumes", {
      apiVersion = "v1", kind = "PersistentVolume",
      metadata = { name = name, labels = { ["deloc-spec"] = "true" } },
      spec = { capacity = { storage = size or "10Gi" }, accessModes = { "ReadWriteOnce" },
               persistentVolumeReclaimPolicy = "Retain", storageClassName = "",
               ["local"] = { path = path },
               nodeAffinity = { required = { nodeSelectorTerms = { { matchExpressions = { {
                 key = "kubernetes.io/hostname", operator = "In", values = { self.node } } } } } } } },
    })
    assert(code == 201, ("create volume %s: %s"):format(name, json.encode(body)))
  end
end

-- kube.start([{ full = true } | { pods = true }]) -> cluster (see the top of the file)
-- A port taken between our look at /proc/net/tcp and the bind is a retry.
function M.start(opts)
  for attempt = 1, 3 do
    local ok, k = pcall(M.start_once, opts)
    if ok then return k end
    if attempt == 3 or not tostring(k):find("address already in use", 1, true) then error(k, 2) end
  end
end

function M.start_once(opts)
  opts = opts or {}
  local bin = M.bin()
  if opts.full then M.bin_full() end -- a build before anything runs
  local pods_bin = opts.pods and M.bin_pods()
  local lock = opts.pods and pods_lock()
  local dir = e2e.tmpdir()
  local k = setmetatable({ dir = dir, bin = bin, pods_bin = pods_bin, lock = lock }, Cluster)
  local ok, err = pcall(function()
    if opts.pods then prepare_node(k, opts) end
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
      -- logs, exec and port-forward: the API server calls the kubelet with this
      -- client certificate (system:masters; the kubelet asks the API server)
      "--kubelet-client-certificate", dir .. "/client.pem", "--kubelet-client-key", dir .. "/client.key",
      "--kubelet-preferred-address-types", "InternalIP", -- the node's name resolves nowhere
      "--v", "1",
    }, stdout = dir .. "/apiserver.log", stderr = dir .. "/apiserver.log" }))
    k:record("etcd", k.etcd_pid)
    k:record("apiserver", k.apiserver_pid)
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
    if opts.full then start_full(k, M.bin_full(), true) end
    if opts.pods then
      start_full(k, k.pods_bin, false)
      start_node(k)
    end
  end)
  if not ok then
    k:stop()
    error(err, 2)
  end
  return k
end

package.loaded[KEY] = M
return M
