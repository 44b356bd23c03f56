-- deloc generate compose / deloc.generate.compose: the plan as a Compose file.
local yaml = require("deloc.yaml")
local array = require("deloc.array")
local sys = require("deloc.sys")
local compose = require("deloc.adapters.compose")
local generate = require("deloc.generate")
local g = dofile("spec/support/generate.lua")

local function doc_of(plan, opts)
  local text = assert(compose.text(plan, opts))
  return assert(yaml.load(text)), text
end

describe("compose renderer", function()
  it("writes one Compose service per component, with the planned images, limits and settings", function()
    local doc = doc_of(g.plan({ images = { postgres = "deloc-test/postgres:16" } }))
    local names = {}
    for k in pairs(doc.services) do names[#names + 1] = k end
    table.sort(names)
    assert.same({ "app-api", "app-init", "app-worker", "postgres", "redis" }, names)
    local pg = doc.services.postgres
    assert.equal("deloc-test/postgres:16", pg.image)
    assert.equal(512 * 1024 * 1024, pg.mem_limit)
    assert.equal(0.5, pg.cpus)
    assert.equal(4096, pg.pids_limit)
    assert.equal("unless-stopped", pg.restart)
    assert.equal("999:999", pg.user)
    assert.is_true(pg.read_only)
    assert.same({ "ALL" }, pg.cap_drop)
    assert.is_nil(pg.cap_add)
    assert.same({ "no-new-privileges:true" }, pg.security_opt)
    assert.same({ "127.0.0.1:5432:5432/tcp" }, pg.ports)
    assert.same({ { type = "volume", source = "deloc-gen-postgres-data", target = "/var/lib/postgresql/data" } },
      pg.volumes)
    assert.same({ "/tmp:rw,nosuid,nodev", "/var/run/postgresql:rw,nosuid,nodev" }, pg.tmpfs)
    assert.same({ aliases = { "postgres" } }, pg.networks["deloc-gen"])
    assert.equal("deloc-gen", doc.networks["deloc-gen"].name)
    assert.equal("deloc-gen-postgres-data", doc.volumes["deloc-gen-postgres-data"].name)
    assert.same({ ["dev.deloc.project"] = "gen", ["dev.deloc.service"] = "postgres",
                  ["dev.deloc.component"] = "postgres", ["dev.deloc.kind"] = "service",
                  ["dev.deloc.config-hash"] = "1b2c3d4e5f601234" }, pg.labels)
    -- heaps reach the environment as planned; entrypoint and command are kept apart
    local api = doc.services["app-api"]
    assert.equal("-Xmx179m -Xms179m", api.environment.JAVA_OPTS)
    assert.equal("", api.environment.EMPTY)
    assert.same({ "sh", "-c" }, api.entrypoint)
    assert.equal(2, api.scale)
    -- two replicas cannot share a host port: Docker picks the second one's
    assert.same({ "127.0.0.1::8080/tcp" }, api.ports)
    assert.same({ "NET_BIND_SERVICE" }, doc.services["app-worker"].cap_add)
    assert.is_false(doc.services["app-worker"].read_only)
  end)

  it("keeps health checks and orders start-up with depends_on conditions", function()
    local doc = doc_of(g.plan())
    local hc = doc.services.postgres.healthcheck
    assert.same({ "CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "deloc", "-d", "deloc" }, hc.test)
    assert.same({ "5s", "3s", 12, "10s" }, { hc.interval, hc.timeout, hc.retries, hc.start_period })
    assert.equal("CMD-SHELL", doc.services["app-api"].healthcheck.test[1])
    assert.matches("http://127.0.0.1:8080/health", doc.services["app-api"].healthcheck.test[2], 1, true)
    -- one-shots: no health check, no restart, and dependents wait for success
    assert.is_nil(doc.services["app-init"].healthcheck)
    assert.equal("no", doc.services["app-init"].restart)
    assert.same({ postgres = { condition = "service_healthy" } }, doc.services["app-init"].depends_on)
    assert.same({ ["app-init"] = { condition = "service_completed_successfully" },
                  redis = { condition = "service_healthy" } }, doc.services["app-api"].depends_on)
    -- a log-pattern health check is nothing Compose can run: "started" is all it can wait for
    local plan = g.plan()
    plan.services.app.components.api.health = { kind = "log", pattern = "listening" }
    doc = doc_of(plan)
    assert.is_nil(doc.services["app-api"].healthcheck)
    assert.same({ condition = "service_started" }, doc.services["app-worker"].depends_on["app-api"])
  end)

  it("hands secrets over as files under .deloc/secrets, never as values", function()
    local doc, text = doc_of(g.plan())
    assert.same({ file = "./.deloc/secrets/postgres.password" }, doc.secrets["postgres.password"])
    assert.same({ file = "./.deloc/secrets/app.session_key" }, doc.secrets["app.session_key"])
    assert.same({ { source = "postgres.password", target = "postgres.password" } }, doc.services.postgres.secrets)
    assert.same({ { source = "postgres.password", target = "postgres.password" },
                  { source = "app.session_key", target = "app.session_key" } }, doc.services["app-api"].secrets)
    assert.equal("/run/secrets/postgres.password", doc.services.postgres.environment.POSTGRES_PASSWORD_FILE)
    assert.not_matches("[^.%w_]password:", text) -- no value anywhere
    doc = doc_of(g.plan(), { secrets_dir = "/srv/proj/.deloc/secrets" })
    assert.equal("/srv/proj/.deloc/secrets/redis.password", doc.secrets["redis.password"].file)
  end)

  it("escapes $ so Compose does not interpolate what the plan means literally", function()
    local doc, text = doc_of(g.plan())
    assert.matches("requirepass $$(cat /run/secrets/redis.password)", doc.services.redis.command[3], 1, true)
    -- the check is the Docker driver's: `sh -c SCRIPT` is CMD-SHELL SCRIPT
    assert.same("CMD-SHELL", doc.services.redis.healthcheck.test[1])
    assert.matches('REDISCLI_AUTH="$$(cat', doc.services.redis.healthcheck.test[2], 1, true)
    assert.not_matches("[^$]%$%(cat", text)
  end)

  it("keeps an empty list a list", function()
    local plan = g.plan()
    plan.services.app.components.worker.entrypoint = array.of({})
    local _, text = doc_of(plan)
    assert.matches("\n    entrypoint: %[%]\n", text)
  end)

  it("starts with deloc's marker, and render names the file", function()
    local files = compose.render(g.plan())
    assert.truthy(files["compose.yaml"])
    assert.is_true(compose.is_ours(files["compose.yaml"]))
    assert.is_false(compose.is_ours("services: {}\n"))
    assert.equal(files["compose.yaml"], generate.compose(g.plan()))
  end)

  it("rejects what is not a plan", function()
    assert.has_error(function() generate.compose({}) end,
      "deloc.generate.compose: expects a plan (from deloc.plan{...})")
  end)
end)

describe("deloc generate compose", function()
  local dir
  before_each(function()
    dir = g.tempdir()
    g.project(dir, "project: shop\nservices:\n  postgres: {}\n  redis: {}\n")
  end)
  after_each(function() g.rm_tree(dir) end)

  it("writes compose.yaml, creates the secret files it names, and never writes their values", function()
    local status, out, err = g.deloc(dir, nil, "generate", "compose")
    assert.equal(0, status, err)
    assert.matches("wrote compose.yaml (2 services)", out, 1, true)
    local text = assert(g.read(dir .. "/compose.yaml"))
    assert.is_true(compose.is_ours(text))
    local doc = assert(yaml.load(text))
    assert.same({ "postgres", "redis" }, (function()
      local n = {}
      for k in pairs(doc.services) do n[#n + 1] = k end
      table.sort(n)
      return n
    end)())
    for _, name in ipairs({ "postgres.password", "redis.password" }) do
      local value = assert(g.read(dir .. "/.deloc/secrets/" .. name))
      assert.is_true(#value >= 16)
      assert.equal("./.deloc/secrets/" .. name, doc.secrets[name].file)
      assert.is_nil(text:find(value, 1, true))
    end
  end)

  it("prints the same bytes whatever the locale or time zone", function()
    local s1, a = g.deloc(dir, { LC_ALL = "C", TZ = "UTC" }, "generate", "compose", "-o", "-")
    local s2, b = g.deloc(dir, { LC_ALL = "C.UTF-8", LANG = "de_DE.UTF-8", TZ = "Pacific/Chatham" },
      "generate", "compose", "-o", "-")
    assert.equal(0, s1)
    assert.equal(0, s2)
    assert.is_true(#a > 500)
    assert.equal(a, b)
  end)

  it("does not overwrite a file it did not generate, unless --force", function()
    g.write(dir .. "/compose.yaml", "services:\n  mine: {image: x}\n")
    local status, _, err = g.deloc(dir, nil, "generate", "compose")
    assert.equal(1, status)
    assert.matches("'compose.yaml' exists and was not generated by deloc; not overwriting it", err, 1, true)
    assert.matches("hint: .*%-%-force", err)
    assert.equal("services:\n  mine: {image: x}\n", g.read(dir .. "/compose.yaml"))
    status, _, err = g.deloc(dir, nil, "generate", "compose", "--force")
    assert.equal(0, status, err)
    assert.is_true(compose.is_ours(g.read(dir .. "/compose.yaml")))
    -- its own file it replaces without asking
    status, _, err = g.deloc(dir, nil, "generate", "compose", "redis")
    assert.equal(0, status, err)
    assert.is_nil(g.read(dir .. "/compose.yaml"):find("postgres:", 1, true))
  end)

  it("says clearly when the path cannot be written, and leaves nothing behind", function()
    g.write(dir .. "/file", "x")
    local status, _, err = g.deloc(dir, nil, "generate", "compose", "-o", "file/compose.yaml")
    assert.equal(1, status)
    assert.matches("deloc: cannot write 'file/compose.yaml': 'file' is not a directory", err, 1, true)
    status, _, err = g.deloc(dir, nil, "generate", "compose", "-o", "nope/compose.yaml")
    assert.equal(1, status)
    assert.matches("cannot write 'nope/compose.yaml': no such directory 'nope'", err, 1, true)
    sys.mkdir_p(dir .. "/d")
    status, _, err = g.deloc(dir, nil, "generate", "compose", "-o", "d")
    assert.equal(1, status)
    assert.matches("cannot write 'd': it is a directory", err, 1, true)
    assert.same({ "d", "deloc.yaml", "file" }, sys.listdir(dir))
  end)

  it("names secret files by absolute path when the file is written elsewhere", function()
    local other = g.tempdir()
    local status, _, err = g.deloc(dir, nil, "generate", "compose", "-o", other .. "/c.yaml")
    assert.equal(0, status, err)
    local doc = assert(yaml.load(g.read(other .. "/c.yaml")))
    assert.equal(sys.realpath(dir) .. "/.deloc/secrets/postgres.password", doc.secrets["postgres.password"].file)
    g.rm_tree(other)
  end)

  it("explains bad usage", function()
    local status, _, err = g.deloc(dir, nil, "generate")
    assert.equal(2, status)
    assert.matches("generate needs what to write: compose or helm", err, 1, true)
    status, _, err = g.deloc(dir, nil, "generate", "kompose")
    assert.equal(2, status)
    assert.matches("unknown kind 'kompose': expected compose or helm", err, 1, true)
    status, _, err = g.deloc(dir, nil, "generate", "compose", "nosuch")
    assert.equal(3, status)
    assert.matches("nosuch", err, 1, true)
  end)
end)
