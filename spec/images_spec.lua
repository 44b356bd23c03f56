-- The end-to-end test images (spec/images/build) honour the official images'
-- contracts the recipes rely on, run the way the recipes run them.
local sys = require("deloc.sys")
local images = dofile("spec/support/images.lua")
local e2e = dofile("spec/support/e2e.lua")

local function docker(args, timeout)
  return e2e.docker(args, { timeout = timeout or 120 })
end

-- Polls fn() until it returns true or `seconds` pass; -> true | false, last result.
local function eventually(seconds, fn)
  local deadline = sys.now() + seconds
  local last
  repeat
    local ok, v = fn()
    if ok then return true end
    last = v
    sys.sleep(0.2)
  until sys.now() > deadline
  return false, last
end

describe("test images #e2e", function()
  local tags, project, net, dir

  lazy_setup(function()
    tags = assert(images.ensure({ "postgres", "redis", "busybox" }))
    project = e2e.project("images")
    net = project
    dir = e2e.tmpdir()
    local status, _, err = docker({ "network", "create", "--label",
      "dev.deloc.project=" .. project, net })
    assert(status == 0, err)
  end)

  lazy_teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  -- docker run -d with the project label on the project network; -> name
  local function start(name, args)
    local argv = { "run", "-d", "--name", project .. "-" .. name, "--network", net,
      "--network-alias", name, "--label", "dev.deloc.project=" .. project }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local status, out, err = docker(argv)
    assert(status == 0, "docker run " .. name .. ": " .. err .. out)
    return project .. "-" .. name
  end

  local function secret(name, value)
    local path = dir .. "/" .. name
    assert(sys.write_atomic(path, value, tonumber("644", 8)))
    return path
  end

  it("builds nothing when the inputs are unchanged", function()
    local r = assert(sys.spawn({ argv = { images.root .. "/spec/images/build", "--status" } }))
    assert.equal(0, r.status)
    assert.equal("postgres deloc-test/postgres:16 fresh\n" ..
      "redis deloc-test/redis:7 fresh\n" ..
      "busybox deloc-test/busybox:1.35 fresh\n", r.stdout)
    assert.same({ postgres = tags.postgres }, images.ensure("postgres"))
  end)

  it("refuses an unknown image name", function()
    local r = assert(sys.spawn({ argv = { images.root .. "/spec/images/build", "mysql" } }))
    assert.equal(2, r.status)
    assert.matches("unknown image 'mysql'", r.stderr)
    assert.has_error(function() images.ensure({ "mysql" }) end,
      "images: unknown image 'mysql' (known: postgres, redis, busybox, zookeeper, jupyter, minio, mc)")
  end)

  it("maps the recipes' services to the local images", function()
    assert.equal("postgres=deloc-test/postgres:16,redis=deloc-test/redis:7",
      images.overrides(tags))
    assert.equal("db=deloc-test/postgres:16,postgres=deloc-test/postgres:16",
      images.overrides({ postgres = tags.postgres }, { db = "postgres" }))
    assert.has_error(function() images.overrides({}, { db = "postgres" }) end)
  end)

  it("postgres initialises from POSTGRES_PASSWORD_FILE, non-root on a read-only root, " ..
     "and accepts a password login from another container", function()
    local pw = "pw-" .. e2e.project("x"):sub(-6) .. "-Z9"
    local file = secret("postgres.password", pw)
    local name = start("postgres", {
      "--user", "999:999", "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/var/run/postgresql",
      "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
      "-v", file .. ":/run/secrets/postgres.password:ro",
      "-e", "POSTGRES_USER=deloc", "-e", "POSTGRES_DB=deloc",
      "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres.password",
      tags.postgres })
    local ready, last = eventually(120, function()
      local status, out, err = docker({ "exec", name, "pg_isready", "-h", "127.0.0.1",
        "-p", "5432", "-U", "deloc", "-d", "deloc" })
      return status == 0, out .. err
    end)
    local _, logs, logerr = docker({ "logs", "--tail", "20", name })
    assert(ready, "pg_isready never passed: " .. tostring(last) .. "\n" .. logs .. logerr)

    local status, out, err = docker({ "run", "--rm", "--network", net,
      "-e", "PGPASSWORD=" .. pw, tags.postgres,
      "psql", "-h", "postgres", "-U", "deloc", "-d", "deloc", "-Atc",
      "select current_user || ' ' || current_database()" })
    assert.equal(0, status, err)
    assert.equal("deloc deloc\n", out)

    status, _, err = docker({ "run", "--rm", "--network", net,
      "-e", "PGPASSWORD=not-" .. pw, tags.postgres,
      "psql", "-h", "postgres", "-U", "deloc", "-d", "deloc", "-Atc", "select 1" })
    assert.equal(2, status)
    assert.matches('password authentication failed for user "deloc"', err, 1, true)

    -- The password stays out of the server's environment.
    status, out = docker({ "exec", name, "cat", "/proc/1/environ" })
    assert.equal(0, status)
    assert.is_nil(out:find(pw, 1, true))
  end)

  it("postgres started as root runs the server as 999:999", function()
    local name = start("pgroot", { "-e", "POSTGRES_PASSWORD=secret", tags.postgres })
    local ok, last = eventually(120, function()
      local status, out, err = docker({ "exec", name, "pg_isready", "-h", "127.0.0.1" })
      return status == 0, out .. err
    end)
    assert(ok, tostring(last))
    local status, out = docker({ "exec", name, "sh", "-c",
      "grep -E '^(Uid|Gid):' /proc/1/status; id -u postgres; id -g postgres" })
    assert.equal(0, status)
    assert.equal("Uid:\t999\t999\t999\t999\nGid:\t999\t999\t999\t999\n999\n999\n", out)
  end)

  it("postgres refuses to initialise without a password", function()
    local status, _, err = docker({ "run", "--rm", "--label", "dev.deloc.project=" .. project,
      tags.postgres })
    assert.equal(1, status)
    assert.matches("superuser password is not specified", err, 1, true)
  end)

  it("redis answers PING only with its requirepass password", function()
    local pw = "r-" .. e2e.project("x"):sub(-6)
    local file = secret("redis.password", pw)
    -- As the recipe runs it: password fed on stdin, never in argv or env.
    local name = start("redis", {
      "--user", "999:999", "--read-only", "--tmpfs", "/tmp",
      "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
      "-v", file .. ":/run/secrets/redis.password:ro",
      tags.redis, "sh", "-c",
      "exec redis-server - --dir /data --port 6379 <<EOF\n" ..
      "requirepass $(cat /run/secrets/redis.password)\nEOF\n" })
    local health = 'REDISCLI_AUTH="$(cat /run/secrets/redis.password)"; export REDISCLI_AUTH; ' ..
      "redis-cli -h 127.0.0.1 -p 6379 PING | grep -q PONG"
    local ok, last = eventually(20, function()
      local status, out, err = docker({ "exec", name, "sh", "-c", health })
      return status == 0, out .. err
    end)
    assert(ok, "redis health never passed: " .. tostring(last))

    local _, out = docker({ "run", "--rm", "--network", net, tags.redis,
      "redis-cli", "-h", "redis", "PING" })
    assert.matches("NOAUTH", out)
    local status
    status, out = docker({ "run", "--rm", "--network", net, "-e", "REDISCLI_AUTH=" .. pw,
      tags.redis, "redis-cli", "-h", "redis", "PING" })
    assert.equal(0, status)
    assert.equal("PONG\n", out)

    status, out = docker({ "exec", name, "sh", "-c",
      "grep -E '^Uid:' /proc/1/status; stat -c '%u:%g' /data" })
    assert.equal(0, status)
    assert.equal("Uid:\t999\t999\t999\t999\n999:999\n", out)
  end)

  it("busybox runs sh and passes the exit status through", function()
    local status = docker({ "run", "--rm", "--label", "dev.deloc.project=" .. project,
      tags.busybox, "sh", "-c", "exit 3" })
    assert.equal(3, status)
    local out
    status, out = docker({ "run", "--rm", "--label", "dev.deloc.project=" .. project,
      tags.busybox, "sh", "-c", "sleep 0.1; echo ok | cat; true && nc --help 2>&1 | head -n 1; " ..
      "for a in sh sleep nc wget cat echo true false; do test -x /bin/$a || echo no $a; done" })
    assert.equal(0, status)
    assert.matches("^ok\nBusyBox v1%.35", out)
    assert.is_nil(out:find("no "), out)
  end)

  it("leaves nothing behind", function()
    assert.is_true(e2e.cleanup(project))
    assert.same({}, e2e.leftovers(project))
    assert.is_true(e2e.cleanup(project)) -- twice is fine
  end)
end)
