-- deloc import: real-world Compose files carried over, value by value, and a
-- hostile one that must not get code into a recipe.
local import = require("deloc.import")
local recipe = require("deloc.recipe")
local project = require("deloc.project")
local sys = require("deloc.sys")

local F = "spec/fixtures/compose-import/"

local e2e = dofile("spec/support/e2e.lua")
local tmpdir, rmtree = e2e.tmpdir, e2e.rmdir

local function copy_tree(from, to)
  assert(sys.mkdir_p(to))
  for _, n in ipairs(sys.listdir(from)) do
    if sys.isdir(from .. "/" .. n) then copy_tree(from .. "/" .. n, to .. "/" .. n)
    else assert(sys.write_atomic(to .. "/" .. n, assert(sys.read_file(from .. "/" .. n)))) end
  end
end

-- imports fixture `name` (copied to a temp dir) with `deloc import`, then plans it
local function import_fixture(name, file)
  local dir = tmpdir()
  copy_tree(F .. name, dir)
  local r = assert(sys.spawn({ argv = { "./deloc", "import", dir .. "/" .. file, "--json" },
    env = { DELOC_LUA_DIR = false } }))
  assert.equal("", r.stderr)
  assert.equal(0, r.status)
  local report = require("deloc.json").decode(r.stdout)
  local recipes = {}
  for _, f in ipairs(sys.listdir(dir .. "/recipes")) do
    local rr = assert(recipe.load_file(dir .. "/recipes/" .. f))
    recipes[rr.name] = rr
  end
  local p = assert(project.load(dir .. "/deloc.yaml"))
  local plan = assert(require("deloc.api").plan({ project = p,
    capacity = { cpu = 16, memory = 64 * 2 ^ 30, disk = 2 ^ 40 }, listening = {} }))
  return dir, recipes, p, plan, report
end

local function skipped(report, svc, key)
  for _, s in ipairs(report.skipped) do
    if s.service == svc and s.key == key then return s.why end
  end
end

describe("deloc import", function()
  local dir
  after_each(function() if dir then rmtree(dir) end dir = nil end)

  it("carries the Airflow guide's stack over: anchors, merges, conditions, one-shot, binds", function()
    local recipes, p, plan, report
    dir, recipes, p, plan, report = import_fixture("airflow", "docker-compose.yaml")
    local api = recipes["airflow-apiserver"].components["airflow-apiserver"]
    assert.same({ "api-server" }, api.command)
    assert.equal("50000:0", api.user) -- ${AIRFLOW_UID:-50000}:0
    assert.equal("apache/airflow:|version|", api.image) -- the guide's own placeholder
    assert.equal("CeleryExecutor", api.env.AIRFLOW__CORE__EXECUTOR) -- from the << merge
    assert.same({ "curl", "--fail", "http://localhost:8080/api/v2/monitor/health" }, api.health.exec)
    assert.equal(30, api.health.interval)
    assert.equal(10, api.health.timeout)
    assert.equal(5, api.health.retries)
    assert.equal("/opt/airflow/dags", api.mounts.dags.path)
    assert.equal(8080, api.ports.p8080.port)
    -- environment with ${...} stays live in deloc.yaml (Compose's empty default for a bare one)
    local ov = p.services["airflow-apiserver"]
    assert.equal("", ov.env.AIRFLOW__CORE__FERNET_KEY) -- interpolated at load: unset -> ""
    assert.matches("AIRFLOW__CORE__FERNET_KEY: ${FERNET_KEY:-}", assert(sys.read_file(dir .. "/deloc.yaml")), 1, true)
    local comp = plan.services["airflow-apiserver"].components["airflow-apiserver"]
    assert.equal("", comp.env.AIRFLOW__CORE__FERNET_KEY)
    assert.equal("airflow_jwt_secret", comp.env.AIRFLOW__API_AUTH__JWT_SECRET)
    assert.equal("/opt/airflow/dags", comp.mounts.dags.path)
    assert.equal(dir .. "/dags", comp.mounts.dags.source)
    assert.is_true(comp.mounts.dags.writable) -- a Compose bind is read-write unless :ro
    -- service_completed_successfully -> a one-shot the others wait for
    assert.equal("oneshot", plan.services["airflow-init"].components["airflow-init"].kind)
    local waits = {}
    for _, d in ipairs(comp.depends_on) do waits[d.service] = d.condition end
    assert.same({ ["airflow-init"] = "completed", postgres = "healthy", redis = "healthy" }, waits)
    -- $$ in the init script is a literal $; the entrypoint string is split
    local init = recipes["airflow-init"].components["airflow-init"]
    assert.same({ "/bin/bash" }, init.entrypoint)
    assert.matches("export AIRFLOW_UID=$(id -u)", init.command[2], 1, true)
    assert.equal("0:0", init.user)
    -- CMD-SHELL health with $${HOSTNAME}
    local dp = recipes["airflow-dag-processor"].components["airflow-dag-processor"]
    assert.same({ "sh", "-c", 'airflow jobs check --job-type DagProcessorJob --hostname "${HOSTNAME}"' }, dp.health.exec)
    -- redis: expose is a port not published
    assert.is_false(recipes.redis.components.redis.ports.p6379.publish)
    -- profiles: written, not started by default
    assert.truthy(recipes.flower)
    assert.is_nil(p.services.flower)
    assert.is_nil(plan.services.flower)
    assert.matches("not found", skipped(report, "airflow-apiserver", "env_file"), 1, true)
    assert.equal("/var/lib/postgresql/data", recipes.postgres.components.postgres.volumes["postgres-db-volume"].path)
  end)

  it("carries bitnami's Kafka stack over", function()
    local recipes, _, plan
    dir, recipes, _, plan = import_fixture("kafka", "docker-compose.yml")
    local k = recipes.kafka.components.kafka
    assert.equal("docker.io/bitnami/kafka:2", k.image)
    assert.equal("zookeeper:2181", k.env.KAFKA_CFG_ZOOKEEPER_CONNECT)
    assert.equal("/bitnami", k.volumes["kafka-data"].path)
    assert.same({ "zookeeper" }, recipes.kafka.depends_on)
    assert.equal(9092, plan.services.kafka.components.kafka.ports.p9092.host)
    assert.same({ "zookeeper", "kafka" }, { plan.order[1], plan.order[2] })
  end)

  it("carries awesome-compose's web app over: file secrets mounted where Compose puts them", function()
    local recipes, p, plan, report
    dir, recipes, p, plan, report = import_fixture("web", "compose.yaml")
    local db = plan.services.db.components.db
    assert.equal("/run/secrets/db-password", db.mounts.db_password.path)
    assert.equal(dir .. "/db/password.txt", db.mounts.db_password.source)
    assert.equal("/run/secrets/db-password", db.env.POSTGRES_PASSWORD_FILE)
    assert.equal("postgres", db.user)
    assert.equal("postgres:latest", db.image) -- unpinned: said so, mapped through images:
    assert.equal("postgres:latest", p.images["postgres:unpinned"])
    assert.equal("/etc/nginx/conf.d/default.conf", plan.services.proxy.components.proxy.mounts.default_conf.path)
    assert.equal(80, plan.services.proxy.components.proxy.ports.p80.host)
    -- built from its context, up to the stage Compose named
    assert.is_nil(skipped(report, "backend", "build"))
    assert.equal("backend", recipes.backend.name)
    assert.same({ context = "backend", dockerfile = "Dockerfile", target = "builder" },
      recipes.backend.components.backend.build)
    assert.same({ context = "backend", dockerfile = "Dockerfile", target = "builder" },
      plan.services.backend.components.backend.build)
    assert.matches("/backend:build$", plan.services.backend.components.backend.image)
  end)

  it("keeps a hostile Compose file's strings out of the recipe's code", function()
    local evil = 'x" } os.exit(3) --[[\n]] .. os.execute("touch /tmp/deloc-pwned") .. "'
    local text = table.concat({
      "services:",
      "  app:",
      "    image: busybox:1.36",
      "    command: [\"sh\", \"-c\", " .. require("deloc.json").encode(evil) .. "]",
      "    environment:",
      "      NOTE: " .. require("deloc.json").encode("]]\0\27[31m\n\r" .. evil),
      "    user: " .. require("deloc.json").encode("1\"}error('pwned')--"),
    }, "\n")
    local out = assert(import.convert(text, "/tmp/hostile/compose.yaml", { environ = {}, dir = "/tmp" }))
    local lua = out.recipes.app
    assert.is_nil(lua:find("\0", 1, true))
    assert.is_nil(lua:find("\27", 1, true))
    assert.is_nil(lua:find("\n%s*os%.exit"))
    local r = assert(recipe.load_string(lua, "recipes/app.lua"))
    local c = r.components.app
    assert.equal(evil, c.command[3])
    assert.equal("]]\0\27[31m\n\r" .. evil, c.env.NOTE)
    assert.equal("1\"}error('pwned')--", c.user)
    assert.is_false(sys.exists("/tmp/deloc-pwned"))
  end)

  it("refuses a service name that cannot be a DNS label and lists what it drops", function()
    local out, err = import.convert("services:\n  '---':\n    image: a:1\n", "c.yaml", { environ = {}, dir = "." })
    assert.is_nil(out)
    assert.matches("cannot be a deloc service name", err.message, 1, true)
    out = assert(import.convert("services:\n  App_1:\n    image: a:1\n    privileged: true\n    container_name: x\n",
      "c.yaml", { environ = {}, dir = "." }))
    assert.truthy(out.recipes["app-1"])
    local why = {}
    for _, s in ipairs(out.skipped) do why[s.key] = s.why end
    assert.matches("unprivileged", why.privileged, 1, true)
    assert.matches("names containers", why.container_name, 1, true)
  end)

  it("mounts file configs where Compose puts them and lists the rest", function()
    local dir2 = tmpdir()
    finally(function() rmtree(dir2) end)
    assert(sys.write_atomic(dir2 .. "/app.conf", "x=1\n"))
    local out = assert(import.convert(table.concat({
      "services:", "  a:", "    image: a:1", "    configs: [app_conf, { source: app_conf, target: /etc/a.conf }, gone]",
      "configs:", "  app_conf: { file: ./app.conf }", "networks: { back: {} }", "" }, "\n"),
      dir2 .. "/compose.yaml", { environ = {}, dir = dir2 }))
    local r = assert(recipe.load_string(out.recipes.a, "recipes/a.lua"))
    local paths = {}
    for _, m in pairs(r.components.a.mounts) do paths[m.path] = true end
    assert.same({ ["/app_conf"] = true, ["/etc/a.conf"] = true }, paths)
    assert.matches("./app.conf", out.project, 1, true)
    local why = {}
    for _, s in ipairs(out.skipped) do why[s.key] = s.why end
    assert.matches("not defined at the top level", why["configs.gone"], 1, true)
    assert.matches("one network", why.networks, 1, true)
  end)

  it("splits command strings as Compose does and converts sizes", function()
    assert.same({ "bash", "-c", "echo a && b 'c'" }, import.split([[bash -c "echo a && b 'c'"]]))
    assert.same({ "a b", "c" }, import.split([[a\ b c]]))
    assert.same({ "x", "" }, import.split([[x '']]))
    assert.equal("512Mi", import.memory("512m"))
    assert.equal("1Gi", import.memory("1gb"))
    assert.equal("1048576", import.memory(1048576))
    local out = assert(import.convert("services:\n  a:\n    image: a:1\n    mem_limit: 768m\n    cpus: 0.5\n"
      .. "    deploy: { resources: { reservations: { memory: 128m } } }\n", "c.yaml", { environ = {}, dir = "." }))
    local r = assert(recipe.load_string(out.recipes.a, "recipes/a.lua"))
    assert.equal(768 * 2 ^ 20, r.components.a.resources.profiles.development.memory)
    assert.equal(0.5, r.components.a.resources.profiles.development.cpu)
    assert.equal(128 * 2 ^ 20, r.components.a.resources.min.memory)
  end)
end)
