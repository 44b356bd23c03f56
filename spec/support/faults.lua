-- spec/support/faults.lua: a fault-injecting proxy (spec/support/faultproxy,
-- Go, standard library only) between deloc and the Docker Engine socket or
-- the Kubernetes API, for spec/e2e/faults_*_spec.lua.
--
--   local faults = dofile("spec/support/faults.lua")
--   local p = faults.start()                      -- DOCKER_HOST=p.docker_host reaches the engine through it
--   local p = faults.start({ upstream = "https://127.0.0.1:6443", tls = true })  -- p.server, p.ca
--   finally(function() p:stop() end)
--   p:rules({ { method = "GET", path = "^/v[0-9.]+/containers/json", action = "status", status = 503, times = 2 } })
--   p:down()  p:up()   -- the engine goes away (connect refused, open connections dropped) / comes back
--   p:stats() -> { requests =, faults = { ["0"] = hits }, log = { "GET /v1.41/... 200", ... } }
--   faults.wait_exit(pid, seconds) -> wait result | nil (still running then: killed)
--
-- Actions (see faultproxy's main.go): delay (delay_ms), status (status),
-- close_mid_body, truncate_chunked (bytes), stall_response (bytes),
-- stall_request, reset.  `times` N: the rule fires N times (0: always).
-- The binary is built once by `go build` and cached by the hash of its
-- sources in /var/cache/deloc-test/bin (DELOC_TOOLS_DIR), under a lock.
local KEY = "spec.support.faults"
if package.loaded[KEY] then return package.loaded[KEY] end

local sys = require("deloc.sys")
local http = require("deloc.http")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")

local M = {}

local SRC = e2e.root .. "/spec/support/faultproxy"
local CACHE = os.getenv("DELOC_TOOLS_DIR") or "/var/cache/deloc-test/bin"
local ENV = { PATH = (os.getenv("PATH") or "") .. ":/usr/local/go/bin", GOFLAGS = "-p=2 -buildvcs=false",
              CGO_ENABLED = "0" }

local function source_hash()
  local r = assert(sys.spawn({ argv = { "sha256sum", SRC .. "/go.mod", SRC .. "/main.go" } }))
  assert(r.status == 0, r.stderr)
  local r2 = assert(sys.spawn({ argv = { "sha256sum" }, stdin = r.stdout:gsub("%S+/", "") }))
  return r2.stdout:sub(1, 12)
end

local built
-- faults.binary() -> path of the built proxy
function M.binary()
  if built then return built end
  assert(sys.mkdir_p(CACHE, 493))
  local path = ("%s/faultproxy-%s"):format(CACHE, source_hash())
  if not sys.exists(path) then
    local lock = assert(sys.lock(CACHE .. "/.lock-faultproxy", { wait = 600 }))
    if not sys.exists(path) then
      local tmp = path .. ".tmp" .. sys.pid()
      local r, err = sys.spawn({ argv = { "go", "build", "-o", tmp, "." }, cwd = SRC, env = ENV, timeout = 600 })
      assert(r, tostring(err))
      assert(r.status == 0, "building faultproxy failed:\n" .. r.stderr)
      assert(os.rename(tmp, path))
    end
    lock:unlock()
  end
  built = path
  return path
end

local Proxy = {}
Proxy.__index = Proxy

function Proxy:control(method, path, body)
  local res, err = http.request({ url = "http://faultproxy" .. path, method = method,
    unix_socket = self.ctl, body = body and json.encode(body) or nil, timeout = 10 })
  assert(res, tostring(err))
  assert(res.status == 200, ("faultproxy %s %s: %d %s"):format(method, path, res.status, res.body))
  return json.decode(res.body)
end

-- p:rules(list) replaces every rule; {} forwards everything again
function Proxy:rules(list)
  local body = #list == 0 and "[]" or json.encode(list)
  local res, err = http.request({ url = "http://faultproxy/rules", method = "PUT",
    unix_socket = self.ctl, body = body, timeout = 10 })
  assert(res and res.status == 200, tostring(err or (res and res.body)))
end

function Proxy:down() return self:control("POST", "/down") end
function Proxy:up() return self:control("POST", "/up") end
function Proxy:stats() return self:control("GET", "/stats") end

local function alive(pid)
  local r = sys.waitpid(pid, true)
  return r == false
end

function Proxy:stop()
  if not self.pid then return end
  if alive(self.pid) then
    sys.kill(self.pid, "TERM")
    local deadline = sys.now() + 5
    while sys.now() < deadline and alive(self.pid) do sys.sleep(0.05) end
    if alive(self.pid) then sys.kill(self.pid, "KILL"); sys.waitpid(self.pid) end
  end
  self.pid = nil
  e2e.rmdir(self.dir)
end

-- faults.start([{ upstream =, tls = }]) -> proxy
--   default upstream: the Docker socket (unix); an https:// upstream listens
--   on 127.0.0.1 with a new certificate (p.ca) and gives p.server
function M.start(opts)
  opts = opts or {}
  local bin = M.binary()
  local dir = e2e.tmpdir()
  local p = setmetatable({ dir = dir, ctl = dir .. "/ctl.sock" }, Proxy)
  local upstream = opts.upstream or "unix:/var/run/docker.sock"
  local argv = { bin, "-upstream", upstream, "-control", "unix:" .. p.ctl }
  if opts.tls then
    for _, a in ipairs({ "-listen", "tcp:127.0.0.1:0", "-tls-cert", dir, "-port-file", dir .. "/port" }) do
      argv[#argv + 1] = a
    end
  else
    p.sock = dir .. "/engine.sock"
    argv[#argv + 1] = "-listen"
    argv[#argv + 1] = "unix:" .. p.sock
    p.docker_host = "unix://" .. p.sock
  end
  p.pid = assert(sys.spawn_bg({ argv = argv, stdout = dir .. "/proxy.log", stderr = dir .. "/proxy.log" }))
  local deadline = sys.now() + 10
  while sys.now() < deadline do
    if sys.exists(p.ctl) and (not opts.tls or sys.exists(dir .. "/port")) then break end
    if not alive(p.pid) then break end
    sys.sleep(0.02)
  end
  if not sys.exists(p.ctl) then
    local log = sys.read_file(dir .. "/proxy.log") or ""
    p:stop()
    error("faultproxy did not start: " .. log)
  end
  if opts.tls then
    p.server = "https://127.0.0.1:" .. assert(sys.read_file(dir .. "/port"))
    p.ca = dir .. "/ca.pem"
  end
  return p
end

-- faults.wait_exit(pid, seconds) -> { status= | signal= } | nil when it
-- had not ended by then (it hung: it is killed)
function M.wait_exit(pid, seconds)
  local t0 = sys.now()
  while sys.now() - t0 < seconds do
    local r = sys.waitpid(pid, true)
    if r then return r end
    sys.sleep(0.1)
  end
  sys.kill(pid, "KILL")
  sys.waitpid(pid)
  return nil
end

package.loaded[KEY] = M
return M
