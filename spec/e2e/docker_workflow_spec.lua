-- The workflow on the real Docker engine: your files mounted (a postgres init
-- script run at first start), a secret given from a file, ${VAR} from .env,
-- deloc env for a host client, no recreate for new content and a recreate for
-- a new mapping; and a Compose file imported, brought up healthy and down.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local function write(path, text)
  assert(sys.mkdir_p(path:match("^(.*)/[^/]*$")))
  assert(sys.write_atomic(path, text))
end

local function free_port()
  local used = require("deloc.planner").listening()
  local p = 20000 + (sys.pid() % 20000)
  while used[p] do p = p + 1 end
  return p
end

describe("docker: your files, secrets and settings #e2e", function()
  local project, dir, env, port
  local function deloc(args)
    return e2e.deloc(args, { cwd = dir, env = env, timeout = 240 })
  end
  local function container_id()
    local st, out = e2e.docker({ "ps", "-aq", "--filter", "label=dev.deloc.project=" .. project,
      "--filter", "label=dev.deloc.service=postgres" })
    assert.equal(0, st)
    return (out:gsub("%s+$", ""))
  end

  setup(function()
    local tags = assert(images.ensure({ "postgres" }))
    project = e2e.project("workflow")
    dir = e2e.tmpdir()
    port = free_port()
    env = { DELOC_IMAGES = images.overrides(tags), DELOC_TARGET = false }
    write(dir .. "/initdb/01-schema.sql", "CREATE TABLE greeting (word text);\n")
    write(dir .. "/initdb/02-data.sh",
      'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "INSERT INTO greeting VALUES (\'hello from initdb\')"\n')
    write(dir .. "/initdb/03-more.sql", "INSERT INTO greeting VALUES ('and from a .sql.gz');\n")
    assert.equal(0, sys.spawn({ argv = { "gzip", dir .. "/initdb/03-more.sql" } }).status)
    write(dir .. "/pw.txt", "it's a $ecret\n")
    write(dir .. "/.env", ("PG_HOST_PORT=%d\n"):format(port))
    write(dir .. "/deloc.yaml", table.concat({
      "project: " .. project,
      "services:",
      "  postgres:",
      "    ports:",
      "      postgres: ${PG_HOST_PORT}",
      "    mounts:",
      "      initdb: ./initdb",
      "secrets:",
      "  postgres.password: { file: ./pw.txt }",
      "",
    }, "\n"))
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  it("runs the project's init scripts at first start and connects with deloc env", function()
    local st, _, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    local out
    st, out, err = deloc({ "env", "postgres", "--format", "json" })
    assert.equal(0, st, err)
    local e = json.decode(out)
    assert.equal("it's a $ecret", e.PGPASSWORD) -- the given secret, not a generated one
    assert.equal(tostring(port), e.PGPORT) -- ${PG_HOST_PORT} from .env
    local r = assert(sys.spawn({ argv = { "psql", "-tA", "-c", "select word from greeting order by 1 desc" },
      env = { PGHOST = e.PGHOST, PGPORT = e.PGPORT, PGUSER = e.PGUSER, PGPASSWORD = e.PGPASSWORD,
        PGDATABASE = e.PGDATABASE, PGCONNECT_TIMEOUT = "5" }, timeout = 30 }))
    assert.equal(0, r.status, r.stderr)
    assert.equal("hello from initdb\nand from a .sql.gz\n", r.stdout)
    -- and through eval "$(deloc env)" in a shell, with the quote and the $ intact
    st, out = deloc({ "env", "postgres" })
    assert.equal(0, st)
    r = assert(sys.spawn({ argv = { "sh", "-c", 'eval "$1"; psql -tA -c "select current_user"', "sh", out },
      env = { PGCONNECT_TIMEOUT = "5" }, timeout = 30 }))
    assert.equal("deloc\n", r.stdout, r.stderr)
  end)

  it("keeps the container when the content changes and recreates it when the mapping does", function()
    local before = container_id()
    write(dir .. "/initdb/04-more.sql", "SELECT 1;\n")
    local st, out, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, err)
    assert.equal(before, container_id(), out)
    write(dir .. "/extra/note.txt", "mounted\n")
    local text = assert(sys.read_file(dir .. "/deloc.yaml"))
    assert(sys.write_atomic(dir .. "/deloc.yaml", (text:gsub("      initdb: ./initdb\n",
      "      initdb: ./initdb\n      /srv/extra: ./extra\n"))))
    st, out, err = deloc({ "up", "--wait", "--timeout", "120s" })
    assert.equal(0, st, (err or "") .. out)
    local after = container_id()
    assert.not_equal(before, after)
    local r
    st, r = e2e.docker({ "exec", after, "cat", "/srv/extra/note.txt" })
    assert.equal(0, st)
    assert.equal("mounted\n", r)
    -- read-only unless asked
    st = e2e.docker({ "exec", after, "sh", "-c", "echo x > /srv/extra/new.txt" })
    assert.not_equal(0, st)
  end)

  it("refuses a project file that mounts what is outside the project", function()
    local text = assert(sys.read_file(dir .. "/deloc.yaml"))
    assert(sys.write_atomic(dir .. "/deloc.yaml", (text:gsub("/srv/extra: ./extra", "/srv/extra: ../"))))
    local st, _, err = deloc({ "plan" })
    assert.not_equal(0, st)
    assert.matches("deloc.yaml:%d+:%d+: services.postgres.mounts./srv/extra: '../' resolves to .*outside the project", err)
    assert(sys.write_atomic(dir .. "/deloc.yaml", text))
  end)
end)

describe("docker: a Compose file imported #e2e", function()
  local project, dir, env

  setup(function()
    local tags = assert(images.ensure({ "postgres", "busybox" }))
    project = e2e.project("import")
    dir = e2e.tmpdir()
    env = { DELOC_TARGET = false, APP_GREETING = "from the environment" }
    write(dir .. "/docker-compose.yml", table.concat({
      "name: " .. project,
      "x-common: &common",
      "  image: " .. tags.busybox,
      "services:",
      "  db:",
      "    image: " .. tags.postgres,
      "    user: \"999:999\"",
      "    environment:",
      "      POSTGRES_PASSWORD: ${DB_PASSWORD:-not-secret}",
      "      POSTGRES_DB: app",
      "    volumes:",
      "      - dbdata:/var/lib/postgresql/data",
      "    tmpfs:",
      "      - /var/run/postgresql",
      "    healthcheck:",
      "      test: [\"CMD-SHELL\", \"pg_isready -h 127.0.0.1 -U postgres -d app\"]",
      "      interval: 2s",
      "      retries: 60",
      "  setup:",
      "    <<: *common",
      "    command: >-",
      "      sh -c 'echo \"setup ran: $$APP_GREETING\"'",
      "    environment:",
      "      - APP_GREETING",
      "    depends_on:",
      "      db: { condition: service_healthy }",
      "  app:",
      "    <<: *common",
      "    command: [\"sh\", \"-c\", \"touch /tmp/ready; exec sleep 3600\"]",
      "    mem_limit: 64m",
      "    healthcheck:",
      "      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]",
      "      interval: 1s",
      "      retries: 30",
      "    depends_on:",
      "      setup: { condition: service_completed_successfully }",
      "    restart: unless-stopped",
      "volumes:",
      "  dbdata: {}",
      "",
    }, "\n"))
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  it("writes recipes that plan, come up healthy in order and go down", function()
    local st, out, err = e2e.deloc({ "import" }, { cwd = dir, env = env })
    assert.equal(0, st, err)
    assert.matches("wrote ./deloc.yaml and 3 recipes", out, 1, true)
    st, out, err = e2e.deloc({ "plan", "--json" }, { cwd = dir, env = env })
    assert.equal(0, st, err)
    local plan = json.decode(out)
    assert.same({ "db", "setup", "app" }, plan.order)
    assert.equal("oneshot", plan.services.setup.components.setup.kind)
    assert.equal(64 * 2 ^ 20, plan.services.app.components.app.memory)
    st, out, err = e2e.deloc({ "up", "--wait", "--timeout", "180s" }, { cwd = dir, env = env, timeout = 240 })
    assert.equal(0, st, (err or "") .. out)
    st, out, err = e2e.deloc({ "status", "--json" }, { cwd = dir, env = env })
    assert.equal(0, st, err)
    local by = {}
    for _, r in ipairs(json.decode(out).services) do by[r.service] = r.state end
    assert.equal("healthy", by.db)
    assert.equal("healthy", by.app)
    assert.equal("completed", by.setup)
    st, out = e2e.deloc({ "logs", "setup" }, { cwd = dir, env = env })
    assert.equal(0, st)
    assert.matches("setup ran: from the environment", out, 1, true)
    st, out, err = e2e.deloc({ "down" }, { cwd = dir, env = env, timeout = 120 })
    assert.equal(0, st, (err or "") .. out)
    local left = {}
    for _, l in ipairs(e2e.leftovers(project)) do
      if l:match("^container") then left[#left + 1] = l end
    end
    assert.same({}, left)
  end)
end)
