-- A real Postgres and Redis through `deloc up` on the Docker engine: healthy,
-- reachable with the generated password, idempotent, secure, data kept.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function mutating(trace_file)
  local n, lines = 0, {}
  local f = io.open(trace_file, "r")
  if not f then return 0, lines end
  for line in f:lines() do
    if not line:match("^GET ") and not line:match("^HEAD ") then
      n = n + 1
      lines[#lines + 1] = line
    end
  end
  f:close()
  return n, lines
end

describe("docker: postgres and redis #e2e", function()
  local project, dir, env, tags
  local function deloc(args, extra)
    local e = {}
    for k, v in pairs(env) do e[k] = v end
    for k, v in pairs(extra or {}) do e[k] = v end
    return e2e.deloc(args, { cwd = dir, env = e, timeout = 240 })
  end
  local function status()
    local st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    local doc = assert(json.decode(out))
    local by = {}
    for _, r in ipairs(doc.services) do by[r.service] = r end
    return by
  end
  local function port_of(row)
    return tonumber(row.ports[1]:match("^127%.0%.0%.1:(%d+)%->"))
  end
  local function psql(sql)
    local by = status()
    local password = read(dir .. "/.deloc/secrets/postgres.password")
    return sys.spawn({ argv = { "psql", "-h", "127.0.0.1", "-p", tostring(port_of(by.postgres)),
      "-U", "deloc", "-d", "deloc", "-tA", "-c", sql },
      env = { PGPASSWORD = password, PGCONNECT_TIMEOUT = "5" }, timeout = 30 })
  end

  setup(function()
    tags = assert(images.ensure({ "postgres", "redis" }))
    project = e2e.project("stack")
    dir = e2e.workdir(project, "services:\n  postgres: {}\n  redis: {}\n")
    env = { DELOC_IMAGES = images.overrides(tags) }
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  it("comes up healthy and prints endpoints without secret values", function()
    local st, out, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    assert.matches("postgres%s+healthy%s+127%.0%.0%.1:%d+", out)
    assert.matches("redis%s+healthy%s+127%.0%.0%.1:%d+", out)
    assert.matches("<secret postgres.password>", out, 1, true)
    local by = status()
    assert.equal("healthy", by.postgres.state)
    assert.equal("healthy", by.redis.state)
  end)

  it("lets a client log in to postgres with the generated password", function()
    local r = assert(psql("select current_user"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("deloc", (r.stdout:gsub("%s+$", "")))
    -- and a wrong password is refused: the secret really is the password
    local by = status()
    local bad = assert(sys.spawn({ argv = { "psql", "-h", "127.0.0.1", "-p",
      tostring(port_of(by.postgres)), "-U", "deloc", "-d", "deloc", "-c", "select 1" },
      env = { PGPASSWORD = "wrong", PGCONNECT_TIMEOUT = "5" }, timeout = 30 }))
    assert.are_not.equal(0, bad.status)
  end)

  it("lets a client talk to redis with the generated password", function()
    local password = read(dir .. "/.deloc/secrets/redis.password")
    local name = project .. "-redis-1"
    local st, out = e2e.docker({ "exec", "-e", "REDISCLI_AUTH=" .. password, name,
      "redis-cli", "-h", "127.0.0.1", "SET", "k", "v" }, { timeout = 30 })
    assert.equal(0, st)
    assert.matches("OK", out)
    out = select(2, e2e.docker({ "exec", name, "redis-cli", "-h", "127.0.0.1", "GET", "k" }, { timeout = 30 }))
    assert.matches("NOAUTH", out)
  end)

  it("a second up makes no mutating engine call and keeps every container id", function()
    local before = status()
    local trace = dir .. "/trace.log"
    local st, _, err = deloc({ "up", "--wait" }, { DELOC_TRACE_API = trace })
    assert.equal(0, st, err)
    local n, lines = mutating(trace)
    assert.equal(0, n, table.concat(lines, "\n"))
    local after = status()
    assert.equal(before.postgres.id, after.postgres.id)
    assert.equal(before.redis.id, after.redis.id)
  end)

  it("runs every container with the security settings", function()
    for _, svc in ipairs({ "postgres", "redis" }) do
      local st, out = e2e.docker({ "inspect", project .. "-" .. svc .. "-1" }, { timeout = 30 })
      assert.equal(0, st)
      local info = assert(json.decode(out))[1]
      local hc, cfg = info.HostConfig, info.Config
      assert.same({ "no-new-privileges:true" }, hc.SecurityOpt)
      assert.same({ "ALL" }, hc.CapDrop)
      assert.is_true(hc.ReadonlyRootfs)
      assert.is_true(hc.Memory > 0)
      assert.is_true(hc.NanoCpus > 0)
      assert.is_true(hc.PidsLimit > 0)
      assert.equal("unless-stopped", hc.RestartPolicy.Name)
      assert.equal("999:999", cfg.User)
      assert.equal(project, cfg.Labels["dev.deloc.project"])
      assert.equal(svc, cfg.Labels["dev.deloc.service"])
      assert.truthy(cfg.Labels["dev.deloc.config-hash"])
      assert.truthy(cfg.Healthcheck and cfg.Healthcheck.Interval >= 5e9)
      for _, b in pairs(hc.PortBindings) do
        assert.equal("127.0.0.1", b[1].HostIp)
      end
      local aliases = info.NetworkSettings.Networks["deloc-" .. project].Aliases
      assert.truthy(table.concat(aliases, ","):find(svc, 1, true))
    end
  end)

  it("keeps each secret only in its 0600 file and the container's secret file", function()
    local secret = read(dir .. "/.deloc/secrets/postgres.password")
    assert.is_true(#secret >= 16)
    local r = assert(sys.spawn({ argv = { "stat", "-c", "%a", dir .. "/.deloc/secrets/postgres.password" } }))
    assert.equal("600", (r.stdout:gsub("%s+$", "")))
    -- nowhere in inspect (env, labels, args), the state file, status, logs
    local _, inspect = e2e.docker({ "inspect", project .. "-postgres-1" }, { timeout = 30 })
    assert.is_nil(inspect:find(secret, 1, true))
    assert.is_nil(read(dir .. "/.deloc/state.json"):find(secret, 1, true))
    local _, out = deloc({ "status", "--json" })
    assert.is_nil(out:find(secret, 1, true))
    local _, logs, logs_err = deloc({ "logs", "--tail", "200" })
    assert.is_nil(((logs or "") .. (logs_err or "")):find(secret, 1, true))
    -- the container reads it from its file
    local st, inside = e2e.docker({ "exec", project .. "-postgres-1", "cat",
      "/run/secrets/postgres.password" }, { timeout = 30 })
    assert.equal(0, st)
    assert.equal(secret, inside)
  end)

  it("keeps data across down and up", function()
    local r = assert(psql("create table kept (v text); insert into kept values ('still here')"))
    assert.equal(0, r.status, r.stderr)
    local st, _, err = deloc({ "down" })
    assert.equal(0, st, err)
    local left = e2e.leftovers(project)
    for _, l in ipairs(left) do assert.matches("^volume ", l) end
    st, _, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    r = assert(psql("select v from kept"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("still here", (r.stdout:gsub("%s+$", "")))
  end)

  it("backup, down --volumes, up and restore give the data back", function()
    local file = dir .. "/pg.backup"
    local st, _, err = deloc({ "backup", "postgres", "-o", file })
    assert.equal(0, st, err)
    assert.is_true(#read(file) > 0)
    local rfile = dir .. "/redis.backup"
    st, _, err = deloc({ "backup", "redis", "-o", rfile })
    assert.equal(0, st, err)
    st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(project))
    st, _, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    local r = assert(psql("select count(*) from pg_tables where tablename = 'kept'"))
    assert.equal("0", (r.stdout:gsub("%s+$", "")))
    st, _, err = deloc({ "restore", "postgres", file })
    assert.equal(0, st, err)
    r = assert(psql("select v from kept"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("still here", (r.stdout:gsub("%s+$", "")))
    st, _, err = deloc({ "restore", "redis", rfile })
    assert.equal(0, st, err)
    local password = read(dir .. "/.deloc/secrets/redis.password")
    local out
    st, out = e2e.docker({ "exec", "-e", "REDISCLI_AUTH=" .. password, project .. "-redis-1",
      "redis-cli", "-h", "127.0.0.1", "GET", "k" }, { timeout = 30 })
    assert.equal(0, st)
    assert.matches("^v", out)
  end)

  it("down --volumes leaves nothing behind", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(project))
  end)
end)
