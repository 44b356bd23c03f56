-- The Docker driver's pure parts, without an engine: request bodies made
-- from a plan, convergence decisions by config hash, the multiplexed stream,
-- the state file, endpoints, tar, progress lines.
local json = require("deloc.json")
local sys = require("deloc.sys")
local build = require("deloc.adapters.docker.build")
local apply = require("deloc.adapters.docker.apply")
local stream = require("deloc.adapters.docker.stream")
local engine = require("deloc.adapters.docker.engine")
local backup = require("deloc.adapters.docker.backup")
local state = require("deloc.state")

local function sample_plan()
  return {
    project = "demo", network = "deloc-demo", order = { "postgres", "app" },
    services = {
      postgres = {
        name = "postgres", component_order = { "postgres" },
        components = {
          postgres = {
            name = "postgres", service = "postgres", kind = "service",
            image = "deloc-test/postgres:16", replicas = 1,
            cpu = 0.5, memory = 536870912,
            env = { POSTGRES_USER = "deloc", POSTGRES_PASSWORD_FILE = "/run/secrets/postgres.password" },
            ports = { postgres = { container = 5432, host = 5433, protocol = "tcp", publish = true } },
            volumes = { data = { path = "/var/lib/postgresql/data", name = "deloc-demo-postgres-data", data = true } },
            tmpfs = { "/tmp", "/var/run/postgresql" },
            secrets = { password = { file = "/run/secrets/postgres.password",
                                     source = ".deloc/secrets/postgres.password" } },
            health = { kind = "exec", exec = { "pg_isready" }, interval = 1, timeout = 3,
                       retries = 10, start_period = 10 },
            user = "999:999", read_only = true, capabilities = {},
            depends_on = {}, aliases = { "postgres" },
          },
        },
      },
      app = {
        name = "app", component_order = { "migrate", "web" },
        components = {
          migrate = { name = "migrate", service = "app", kind = "oneshot", image = "app:1",
            replicas = 1, cpu = 0.1, memory = 64 * 2 ^ 20, env = {}, command = { "migrate" },
            depends_on = { { service = "postgres", component = "postgres", condition = "healthy" } },
            aliases = { "app-migrate" }, capabilities = { "NET_BIND_SERVICE" } },
          web = { name = "web", service = "app", kind = "service", image = "app:1",
            replicas = 2, scalable = true, cpu = 0.25, memory = 128 * 2 ^ 20, env = { A = "1" },
            ports = { http = { container = 8080, host = 18080, publish = true } },
            health = { kind = "http", port = 8080, path = "/health", interval = 10 },
            depends_on = { { service = "app", component = "migrate", condition = "completed" } },
            aliases = { "app" } },
        },
      },
    },
  }
end

describe("docker request bodies", function()
  local plan = sample_plan()
  local pg = plan.services.postgres
  local body, hash = build.container(plan, pg, pg.components.postgres, 1, { root = "/proj" })

  it("carries the labels, limits and security settings", function()
    assert.equal("demo", body.Labels["dev.deloc.project"])
    assert.equal("postgres", body.Labels["dev.deloc.service"])
    assert.equal("postgres", body.Labels["dev.deloc.component"])
    assert.equal(hash, body.Labels["dev.deloc.config-hash"])
    assert.matches("^%x+$", hash)
    local hc = body.HostConfig
    assert.equal(536870912, hc.Memory)
    assert.equal(500000000, hc.NanoCpus)
    assert.is_true(hc.PidsLimit > 0)
    assert.same({ Name = "unless-stopped" }, hc.RestartPolicy)
    assert.same({ "no-new-privileges:true" }, hc.SecurityOpt)
    assert.same({ "ALL" }, hc.CapDrop)
    assert.is_true(hc.ReadonlyRootfs)
    assert.same({ "/tmp", "/var/run/postgresql" }, (function()
      local k = {}
      for p in pairs(hc.Tmpfs) do k[#k + 1] = p end
      table.sort(k)
      return k
    end)())
    assert.equal("999:999", body.User)
    assert.same({ { HostIp = "127.0.0.1", HostPort = "5433" } }, hc.PortBindings["5432/tcp"])
    assert.same({ "postgres" }, body.NetworkingConfig.EndpointsConfig["deloc-demo"].Aliases)
    assert.equal("deloc-demo", hc.NetworkMode)
  end)

  it("writes empty lists as JSON arrays (the engine tells [] from {})", function()
    local text = json.encode(body)
    assert.matches('"CapAdd":%[%]', text)
  end)

  it("mounts volumes and the secret file read-only, never a secret value", function()
    local mounts = body.HostConfig.Mounts
    assert.same({ Type = "volume", Source = "deloc-demo-postgres-data", Target = "/var/lib/postgresql/data" }, mounts[1])
    assert.same({ Type = "bind", Source = "/proj/.deloc/secrets/postgres.password",
                  Target = "/run/secrets/postgres.password", ReadOnly = true }, mounts[2])
    for _, e in ipairs(body.Env) do assert.is_nil(e:match("PASSWORD=[^/]")) end
  end)

  it("keeps the steady-state health check at 5 s or slower", function()
    assert.same({ "CMD", "pg_isready" }, body.Healthcheck.Test)
    assert.equal(5e9, body.Healthcheck.Interval)
    assert.equal(3e9, body.Healthcheck.Timeout)
    assert.equal(10, body.Healthcheck.Retries)
    assert.equal(10e9, body.Healthcheck.StartPeriod)
  end)

  it("gives one-shots no restart and no health check, and adds back declared capabilities", function()
    local app = plan.services.app
    local b = build.container(plan, app, app.components.migrate, 1, {})
    assert.equal("no", b.HostConfig.RestartPolicy.Name)
    assert.is_nil(b.Healthcheck)
    assert.same({ "NET_BIND_SERVICE" }, b.HostConfig.CapAdd)
    assert.equal("oneshot", b.Labels["dev.deloc.kind"])
    assert.same({ "migrate" }, b.Cmd)
    assert.equal("postgres", b.Labels["dev.deloc.depends-on"])
  end)

  it("publishes a fixed host port on the first replica only; the hash is the same for all", function()
    local app = plan.services.app
    local b1, h1 = build.container(plan, app, app.components.web, 1, {})
    local b2, h2 = build.container(plan, app, app.components.web, 2, {})
    assert.equal(h1, h2)
    assert.equal("18080", b1.HostConfig.PortBindings["8080/tcp"][1].HostPort)
    assert.equal("", b2.HostConfig.PortBindings["8080/tcp"][1].HostPort)
    assert.equal("2", b2.Labels["dev.deloc.replica"])
  end)

  it("changes the hash when the configuration changes, not when replicas do", function()
    local p2 = sample_plan()
    p2.services.postgres.components.postgres.replicas = 3
    local _, h_rep = build.container(p2, p2.services.postgres, p2.services.postgres.components.postgres, 1, { root = "/proj" })
    assert.equal(hash, h_rep)
    p2.services.postgres.components.postgres.env.POSTGRES_USER = "other"
    local _, h_env = build.container(p2, p2.services.postgres, p2.services.postgres.components.postgres, 1, { root = "/proj" })
    assert.are_not.equal(hash, h_env)
    local p3 = sample_plan()
    p3.services.postgres.components.postgres.memory = 2 ^ 30
    local _, h_mem = build.container(p3, p3.services.postgres, p3.services.postgres.components.postgres, 1, { root = "/proj" })
    assert.are_not.equal(hash, h_mem)
  end)

  it("names containers by project, service, component and replica", function()
    assert.equal("demo-postgres-1", build.container_name("demo", "postgres", "postgres", 1))
    assert.equal("demo-app-web-2", build.container_name("demo", "app", "web", 2))
  end)

  it("builds the network and label filter", function()
    assert.same({ label = { "dev.deloc.project=demo" } }, json.decode(build.filters("demo")))
    assert.equal("deloc-demo", build.network(plan).Name)
  end)
end)

describe("docker convergence decisions", function()
  local plan = sample_plan()
  local pg = plan.services.postgres
  local comp = pg.components.postgres
  local _, hash = build.container(plan, pg, comp, 1, {})
  local function ctr(engine_state, h, status, replica)
    return { Id = "id" .. (replica or 1), State = engine_state, Status = status or "Up 1 minute",
      Labels = { ["dev.deloc.config-hash"] = h, ["dev.deloc.replica"] = tostring(replica or 1) } }
  end

  it("keeps a running container with the same hash", function()
    local actions, surplus, unchanged = apply.decide(plan, pg, comp, { ctr("running", hash) }, {})
    assert.equal("keep", actions[1].action)
    assert.same({}, surplus)
    assert.is_true(unchanged)
  end)

  it("recreates a container with another hash, creates a missing one, starts a stopped one", function()
    assert.equal("recreate", apply.decide(plan, pg, comp, { ctr("running", "0000") }, {})[1].action)
    assert.equal("create", apply.decide(plan, pg, comp, {}, {})[1].action)
    assert.equal("start", apply.decide(plan, pg, comp, { ctr("exited", hash, "Exited (0) 2s ago") }, {})[1].action)
    assert.equal("start", apply.decide(plan, pg, comp, { ctr("created", hash, "Created") }, {})[1].action)
  end)

  it("removes replicas above the count and duplicates", function()
    local have = { ctr("running", hash, nil, 1), [2] = ctr("running", hash, nil, 2) }
    have.extra = { ctr("running", hash, nil, 1) }
    local actions, surplus, unchanged = apply.decide(plan, pg, comp, have, {})
    assert.equal(1, #actions)
    assert.equal(2, #surplus)
    assert.is_false(unchanged)
  end)

  it("keeps a one-shot that completed, reruns one that failed", function()
    local app = plan.services.app
    local m = app.components.migrate
    local _, mh = build.container(plan, app, m, 1, {})
    assert.equal("keep", apply.decide(plan, app, m, { ctr("exited", mh, "Exited (0) 1 minute ago") }, {})[1].action)
    assert.equal("recreate", apply.decide(plan, app, m, { ctr("exited", mh, "Exited (3) 1 minute ago") }, {})[1].action)
    assert.equal("wait", apply.decide(plan, app, m, { ctr("running", mh) }, {})[1].action)
  end)

  it("lists the services that changed", function()
    local existing = { by = { ["postgres/postgres"] = { ctr("running", hash) } } }
    local changes = apply.changes(plan, existing, nil)
    assert.is_nil(changes.postgres)
    assert.equal("new", changes.app)
  end)

  it("restricts a plan to some services", function()
    local sub = apply.subplan(plan, { "app" })
    assert.same({ "app" }, sub.order)
    assert.is_nil(sub.services.postgres)
    assert.equal("demo", sub.project)
  end)
end)

describe("docker multiplexed stream", function()
  local function frame(kind, data)
    local n = #data
    return string.char(kind, 0, 0, 0, math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
      math.floor(n / 256) % 256, n % 256) .. data
  end

  it("splits frames into stdout and stderr", function()
    local out = assert(stream.demux(frame(1, "hello\n") .. frame(2, "oops\n") .. frame(1, "bye")))
    assert.same({ { "stdout", "hello\n" }, { "stderr", "oops\n" }, { "stdout", "bye" } }, out)
  end)

  it("reassembles frames cut at every possible byte", function()
    local text = frame(1, "abc") .. frame(2, ("x"):rep(300)) .. frame(1, "\n")
    for cut = 1, #text - 1 do
      local got = {}
      local d = stream.demuxer(function(k, data) got[#got + 1] = k .. ":" .. data end)
      d:feed(text:sub(1, cut))
      d:feed(text:sub(cut + 1))
      assert.is_true(d:finish())
      assert.equal("stdout:abc" .. "stderr:" .. ("x"):rep(300) .. "stdout:\n", table.concat(got))
    end
  end)

  it("reads a large frame (length over 65535)", function()
    local big = ("y"):rep(70000)
    local out = assert(stream.demux(frame(1, big)))
    assert.equal(big, out[1][2])
  end)

  it("reports a truncated frame", function()
    local text = frame(1, "hello")
    local out, err = stream.demux(text:sub(1, #text - 2))
    assert.is_nil(out)
    assert.matches("truncated frame", err)
  end)

  it("passes a TTY container's raw output through", function()
    local out = assert(stream.demux("plain text from a tty\n"))
    assert.same({ { "stdout", "plain text from a tty\n" } }, out)
  end)

  it("splits lines per stream across frames", function()
    local lines = {}
    local d = stream.line_demuxer(function(k, l) lines[#lines + 1] = k .. ":" .. l end)
    d:feed(frame(1, "one\ntw") .. frame(2, "err\n") .. frame(1, "o\nthree"))
    d:finish()
    assert.same({ "stdout:one", "stderr:err", "stdout:two", "stdout:three" }, lines)
  end)
end)

describe("docker logs timestamps", function()
  local logs = require("deloc.adapters.docker.logs")
  it("splits the engine's timestamp from the text", function()
    local ts, text = logs.split_timestamp("2024-05-01T10:00:00.5Z hello world")
    assert.equal("2024-05-01T10:00:00.5Z", ts)
    assert.equal("hello world", text)
    assert.same({ nil, "no stamp" }, { logs.split_timestamp("no stamp") })
  end)
  it("reads --since as a duration or a unix time, and refuses anything else", function()
    assert.equal(1700000000, logs.since("1700000000"))
    assert.is_true(math.abs(logs.since("10m") - (sys.time() - 600)) < 2)
    local v, err = logs.since("yesterday")
    assert.is_nil(v)
    assert.equal("USAGE", err.code)
  end)
end)

describe("docker engine endpoint", function()
  local saved = {}
  local names = { "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH" }
  before_each(function()
    for _, n in ipairs(names) do saved[n] = os.getenv(n); sys.setenv(n, nil) end
  end)
  after_each(function()
    for _, n in ipairs(names) do sys.setenv(n, saved[n]) end
  end)

  it("defaults to the unix socket", function()
    local e = assert(engine.endpoint())
    assert.equal("/var/run/docker.sock", e.unix_socket)
    assert.equal("unix:///var/run/docker.sock", e.display)
  end)
  it("reads DOCKER_HOST, with TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", function()
    sys.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    sys.setenv("DOCKER_TLS_VERIFY", "1")
    sys.setenv("DOCKER_CERT_PATH", "/certs")
    local e = assert(engine.endpoint())
    assert.equal("https://10.0.0.5:2376", e.base)
    assert.equal("/certs/ca.pem", e.cacert)
    assert.equal("/certs/cert.pem", e.cert)
    assert.equal("/certs/key.pem", e.key)
    sys.setenv("DOCKER_TLS_VERIFY", nil)
    assert.equal("http://10.0.0.5:2376", assert(engine.endpoint()).base)
  end)
  it("refuses an address it cannot use", function()
    local e, err = engine.endpoint("ssh://host")
    assert.is_nil(e)
    assert.equal("ENGINE_UNAVAILABLE", err.code)
    assert.matches("cannot reach the Docker engine at ssh://host", err.message, 1, true)
  end)
  it("fails to connect with one clear line and its own code", function()
    local c, err = engine.connect({ host = "unix:///nonexistent/docker.sock" })
    assert.is_nil(c)
    assert.equal("ENGINE_UNAVAILABLE", err.code)
    assert.matches("^cannot reach the Docker engine at unix:///nonexistent/docker.sock: ", err.message)
    assert.is_nil(err.message:find("\n"))
    assert.truthy(err.hint)
  end)
  it("encodes queries and compares versions", function()
    assert.equal("?a=1&filters=%7B%22x%22%3A1%7D", engine.query_string({ filters = '{"x":1}', a = true }))
    assert.is_true(engine.version_less("1.40", "1.41"))
    assert.is_false(engine.version_less("1.43", "1.41"))
  end)
end)

describe("state file", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(sys.mkdir_p(dir))
  end)
  after_each(function()
    sys.spawn({ argv = { "rm", "-rf", dir } })
  end)

  it("starts fresh without a file and round-trips what it saves", function()
    local st = assert(state.load(dir, "p"))
    assert.equal("p", st.project)
    state.set_service(st, "postgres", "Running")
    state.record(st, "up", { result = "ok" })
    assert(state.save(dir, st))
    local again = assert(state.load(dir, "p"))
    assert.equal("Running", again.services.postgres.state)
    assert.equal("up", again.history[1].action)
    local r = sys.spawn({ argv = { "stat", "-c", "%a", dir .. "/.deloc/state.json" } })
    assert.equal("600", (r.stdout:gsub("%s+$", "")))
  end)

  for what, text in pairs({ ["not JSON"] = "{ broken", ["not an object"] = "[1,2]",
    ["of another version"] = '{"version": 99, "services": {}}',
    ["without services"] = '{"version": 1}', ["empty"] = "" }) do
    it("sets aside a state file that is " .. what .. " and starts fresh, saying so", function()
      assert(sys.mkdir_p(dir .. "/.deloc"))
      assert(sys.write_atomic(dir .. "/.deloc/state.json", text))
      local st, warn = state.load(dir, "p")
      assert.truthy(st)
      assert.same({}, st.services)
      assert.matches("was corrupt", warn)
      assert.is_false(sys.exists(dir .. "/.deloc/state.json"))
      local aside = false
      for _, n in ipairs(sys.listdir(dir .. "/.deloc")) do
        if n:match("^state%.json%.corrupt%-") then aside = true end
      end
      assert.is_true(aside)
    end)
  end

  it("only reports a corrupt file when peeking", function()
    assert(sys.mkdir_p(dir .. "/.deloc"))
    assert(sys.write_atomic(dir .. "/.deloc/state.json", "nope"))
    local st, warn = state.load(dir, "p", { peek = true })
    assert.truthy(st)
    assert.matches("is corrupt", warn)
    assert.is_true(sys.exists(dir .. "/.deloc/state.json"))
  end)

  it("generates a secret once, 0600 in a 0700 directory, letters and digits", function()
    local v1, created = assert(state.secret(dir, "postgres.password", 24))
    assert.is_true(created)
    assert.equal(24, #v1)
    assert.matches("^[%w]+$", v1)
    local v2, created2 = state.secret(dir, "postgres.password", 24)
    assert.equal(v1, v2)
    assert.is_false(created2)
    local r = sys.spawn({ argv = { "stat", "-c", "%a", dir .. "/.deloc/secrets/postgres.password",
      dir .. "/.deloc/secrets" } })
    assert.equal("600\n700\n", r.stdout)
    assert.are_not.equal(v1, state.random_string(24))
  end)

  it("gives a second locker BUSY with the holder's pid and time", function()
    local lock = assert(state.lock(dir))
    -- another process tries
    local r = sys.spawn({ argv = { "./deloc", "-e", ([[
      local l, err = require("deloc.state").lock(%q)
      io.write(l and "got it" or (err.code .. " " .. err.message))]]):format(dir) } })
    lock:unlock()
    assert.matches("^BUSY busy: held by pid " .. sys.pid() .. " since %d%d%d%d%-%d%d%-%d%d", r.stdout)
  end)
end)

describe("backup archive", function()
  it("writes a ustar archive tar can list", function()
    local data = backup.tar_file(".deloc-restore", "hello", { uid = 999, gid = 999, mode = 384 })
    assert.equal(0, #data % 512)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    local r = sys.spawn({ argv = { "tar", "-tvf", path } })
    os.remove(path)
    assert.equal(0, r.status, r.stderr)
    assert.matches("%-rw%-%-%-%-%-%-%- 999/999%s+5 .* %.deloc%-restore", r.stdout)
  end)
end)

describe("progress output", function()
  local progress = require("deloc.ui.progress")
  local function sink()
    local parts = {}
    return { write = function(_, ...) for _, s in ipairs({ ... }) do parts[#parts + 1] = s end end,
             flush = function() end, text = function() return table.concat(parts) end }
  end

  it("prints plain lines when piped, one per change, without colour", function()
    local s = sink()
    local p = progress.new({ mode = "plain", stream = s, color = false })
    p:event({ service = "postgres", component = "postgres", state = "creating" })
    p:event({ service = "postgres", component = "postgres", state = "creating" })
    p:event({ service = "app", component = "web", state = "healthy", elapsed = 1.5 })
    assert.equal("postgres: creating  0.0s\napp/web: healthy  1.5s\n",
      (s.text():gsub("creating  0%.%ds", "creating  0.0s")))
    assert.is_nil(s.text():find("\27", 1, true))
  end)

  it("prints JSON events for machines", function()
    local s = sink()
    local p = progress.new({ mode = "json", out = s })
    p:event({ service = "redis", component = "redis", state = "healthy", elapsed = 2 })
    local ev = json.decode(s.text())
    assert.equal("redis", ev.service)
    assert.equal("healthy", ev.state)
  end)

  it("rewrites one line per service on a terminal", function()
    local s = sink()
    local p = progress.new({ mode = "live", stream = s, color = true })
    p:event({ service = "a", state = "creating" })
    p:event({ service = "b", state = "creating" })
    p:event({ service = "a", state = "healthy", elapsed = 1 })
    local text = s.text()
    assert.matches("\27%[2A", text) -- back up over the two lines
    assert.matches("\27%[32mhealthy", text)
  end)
end)

describe("docker health check in the container", function()
  it("passes a plain argv as CMD", function()
    local h = build.healthcheck({ kind = "exec", exec = { "pg_isready", "-h", "127.0.0.1" },
      interval = 5, timeout = 3, retries = 10, start_period = 10 })
    assert.same({ "CMD", "pg_isready", "-h", "127.0.0.1" }, h.Test)
  end)

  it("sends `sh -c SCRIPT` as CMD-SHELL, so engines that split CMD arguments on spaces (Podman 4) keep the script whole", function()
    local h = build.healthcheck({ kind = "exec", exec = { "sh", "-c", "redis-cli PING | grep -q PONG" } })
    assert.same({ "CMD-SHELL", "redis-cli PING | grep -q PONG" }, h.Test)
  end)

  it("quotes other arguments with spaces for the shell", function()
    local h = build.healthcheck({ kind = "exec", exec = { "check", "a b", "it's" } })
    assert.same({ "CMD-SHELL", "exec 'check' 'a b' 'it'\\''s'" }, h.Test)
  end)
end)

describe("docker request slots", function()
  it("limits the requests that make the engine work, not reads, streams or waits", function()
    assert.is_true(engine.limited("POST", "/containers/create"))
    assert.is_true(engine.limited("POST", "/containers/abc/start"))
    assert.is_true(engine.limited("DELETE", "/containers/abc"))
    assert.is_false(engine.limited("GET", "/containers/json"))
    assert.is_false(engine.limited("POST", "/containers/abc/stop"))
    assert.is_false(engine.limited("POST", "/containers/abc/wait"))
    assert.is_false(engine.limited("POST", "/exec/e1/start"))
    assert.is_false(engine.limited("POST", "/images/create", true))
  end)
end)
