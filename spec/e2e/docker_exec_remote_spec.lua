-- deloc exec and cp with DOCKER_HOST over TCP and over TLS with client
-- certificates: the engine's socket behind socat on loopback (a plain TCP
-- relay, and a TLS endpoint that demands a client certificate from our CA).
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local SOCKET = "/var/run/docker.sock"

local function free_port()
  -- a port from the ephemeral range nobody listens on (per /proc/net/tcp)
  local used = {}
  for _, f in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    for port in (sys.read_file(f) or ""):gmatch(":(%x%x%x%x) %x+:%x+ 0A") do used[tonumber(port, 16)] = true end
  end
  for p = 41000 + sys.pid() % 5000, 49000 do if not used[p] then return p end end
  error("no free port")
end

local function wait_listening(port)
  local hex = (":%04X "):format(port)
  local deadline = sys.now() + 10
  while sys.now() < deadline do
    if (sys.read_file("/proc/net/tcp") or ""):find(hex, 1, true) then return true end
    sys.sleep(0.05)
  end
  error("socat never listened on " .. port)
end

local function run(argv)
  local r = assert(sys.spawn({ argv = argv }))
  assert.equal(0, r.status, r.stderr)
end

describe("docker: exec over TCP and TLS #e2e", function()
  local project, dir, certs
  local relays = {}

  setup(function()
    assert(images.ensure({ "busybox" }))
    project = e2e.project("remote")
    dir = e2e.tmpdir()
    certs = e2e.tmpdir()
    e2e.project_file(dir, project, "services:\n  box: {}\n", e2e.root .. "/spec/fixtures/shell/recipes")
    local code, out, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, out .. err)
    -- a CA, a server certificate for 127.0.0.1 and a client certificate
    local function ossl(...) run({ "openssl", ... }) end
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=deloc test CA",
      "-keyout", certs .. "/ca-key.pem", "-out", certs .. "/ca.pem")
    assert(sys.write_atomic(certs .. "/ext", "subjectAltName=IP:127.0.0.1\n"))
    for _, who in ipairs({ "server", "cert" }) do
      local key = who == "cert" and "key" or who .. "-key"
      ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" .. who, "-keyout", certs .. "/" .. key .. ".pem",
        "-out", certs .. "/" .. who .. ".csr")
      ossl("x509", "-req", "-in", certs .. "/" .. who .. ".csr", "-CA", certs .. "/ca.pem", "-CAkey",
        certs .. "/ca-key.pem", "-CAcreateserial", "-days", "1", "-extfile", certs .. "/ext",
        "-out", certs .. "/" .. who .. ".pem")
    end
  end)

  teardown(function()
    for _, pid in ipairs(relays) do sys.kill(pid); sys.waitpid(pid) end
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
    if certs then e2e.rmdir(certs) end
  end)

  local function relay(listen)
    -- -t: after one side's end (our stdin's half-close) socat keeps relaying
    -- the other way this long instead of its default half second
    local pid = assert(sys.spawn_bg({ argv = { "socat", "-t", "60", listen, "UNIX-CONNECT:" .. SOCKET },
      stdout = "", stderr = "" }))
    relays[#relays + 1] = pid
  end

  local function check(env)
    local code, out, err, _ = e2e.deloc({ "exec", "box", "--", "sh", "-c", "cat; echo done; exit 5" },
      { cwd = dir, env = env, stdin = "through the relay\n" })
    assert.equal(5, code, "stdout: " .. tostring(out) .. " stderr: " .. tostring(err))
    assert.equal("through the relay\ndone\n", out)
    assert(sys.write_atomic(dir .. "/f.txt", "remote copy\n"))
    code, _, err = e2e.deloc({ "cp", "f.txt", "box:/data/" }, { cwd = dir, env = env })
    assert.equal(0, code, err)
    code, out = e2e.deloc({ "exec", "box", "cat", "/data/f.txt" }, { cwd = dir, env = env, stdin = "" })
    assert.equal(0, code)
    assert.equal("remote copy\n", out)
  end

  it("works with DOCKER_HOST=tcp://", function()
    local port = free_port()
    relay(("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork"):format(port))
    wait_listening(port)
    check({ DOCKER_HOST = "tcp://127.0.0.1:" .. port })
  end)

  it("works over TLS with a client certificate, and refuses without one", function()
    local port = free_port()
    relay(("OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s/server.pem,key=%s/server-key.pem,cafile=%s/ca.pem,verify=1")
      :format(port, certs, certs, certs))
    wait_listening(port)
    check({ DOCKER_HOST = "tcp://127.0.0.1:" .. port, DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = certs })
    local other = e2e.tmpdir()
    finally(function() e2e.rmdir(other) end)
    run({ "cp", certs .. "/ca.pem", other .. "/ca.pem" })
    local code, _, err = e2e.deloc({ "exec", "box", "true" }, { cwd = dir, stdin = "",
      env = { DOCKER_HOST = "tcp://127.0.0.1:" .. port, DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = other } })
    assert.equal(5, code)
    assert.matches("Docker engine", err, 1, true)
  end)
end)
