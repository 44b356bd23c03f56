-- The built-in catalog: every recipe loads through the registry and plans under
-- each built-in profile; health checks exist; images are pinned upstream ones;
-- no secret value reaches an environment, a command or a connection string.
local deloc = require("deloc")
local sys = require("deloc.sys")

local CATALOG = {
  "airflow", "flink", "jupyter", "kafka", "kafka-ui", "minio", "postgres", "redis",
  "schema-registry", "spark", "trino", "zookeeper",
}
local PROFILES = { "minimal", "development", "production" }

local function tmpdir()
  local r = assert(sys.spawn({ argv = { "mktemp", "-d", "/tmp/deloc-catalog-spec.XXXXXX" } }))
  return (r.stdout:gsub("%s+$", ""))
end

local function rm_rf(dir)
  if dir and dir:match("^/tmp/deloc%-catalog%-spec%.") then
    sys.spawn({ argv = { "rm", "-rf", dir } })
  end
end

-- A project file in a fresh directory, so generated secrets stay there.  The
-- budget is generous: this spec is about the recipes, not this machine's size.
local function project(dir, services_yaml)
  local path = dir .. "/deloc.yaml"
  assert(sys.write_atomic(path, "project: catalog-spec\n" .. (services_yaml or "")))
  return path
end

local function plan(dir, args)
  args.file = args.file or project(dir)
  return deloc.plan(args)
end

-- Every string of a table, deep (env values, argv, connection strings).
local function strings(v, out)
  out = out or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" then
    for _, x in pairs(v) do strings(x, out) end
  end
  return out
end

-- Writes a recognisable value into every secret file this plan refers to (as
-- `deloc up` would generate them) and returns the values.
local function plant_secrets(dir, p)
  local values, n = {}, 0
  for _, svc in pairs(p.services) do
    for _, c in pairs(svc.components) do
      for _, s in pairs(c.secrets or {}) do
        local src = s.source
        if src:sub(1, 1) ~= "/" then src = dir .. "/" .. src end
        n = n + 1
        local value = ("Pl4ntedSecret%02dx%s"):format(n, s.name or "")
        assert(sys.mkdir_p(src:match("^(.*)/[^/]*$")))
        assert(sys.write_atomic(src, value .. "\n", 384))
        values[#values + 1] = value
      end
    end
  end
  return values
end

local function each_component(p, fn)
  for sname, svc in pairs(p.services) do
    for cname, c in pairs(svc.components) do fn(sname, cname, c, svc) end
  end
end

describe("built-in catalog", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rm_rf(dir) end)

  it("lists every catalog recipe as built in", function()
    local list = assert(deloc.recipes())
    local seen = {}
    for _, r in ipairs(list) do seen[r.name] = r end
    for _, name in ipairs(CATALOG) do
      assert.is_not_nil(seen[name], "missing built-in recipe " .. name)
      assert.equal("builtin", seen[name].origin)
      assert.is_string(seen[name].description)
    end
  end)

  for _, name in ipairs(CATALOG) do
    describe(name, function()
      for _, profile in ipairs(PROFILES) do
        it("plans under profile " .. profile, function()
          local p, err = plan(dir, { services = { name }, profile = profile })
          assert(p, tostring(err))
          assert.equal(profile, p.profile)
          local svc = p.services[name]
          assert.is_table(svc)
          assert.is_true(next(svc.components) ~= nil)
          each_component(p, function(sname, cname, c)
            local where = sname .. "." .. cname
            assert.is_true(c.memory > 0, where .. " has no memory")
            assert.is_true(c.cpu > 0, where .. " has no cpu")
            if c.kind == "oneshot" then return end
            assert.is_table(c.health, where .. " has no health check")
            assert.is_string(c.health.kind)
            assert.is_true(c.health.interval > 0 and c.health.retries > 0, where)
          end)
        end)
      end

      it("pins an upstream image (a tag, not latest, not bitnami)", function()
        local p = assert(plan(dir, { services = { name } }))
        each_component(p, function(sname, cname, c)
          local image = c.image
          local tag = image:gsub("@.*$", ""):match(":([^/:]+)$")
          assert.is_not_nil(tag, sname .. "." .. cname .. ": " .. image .. " has no tag")
          assert.not_equal("latest", tag)
          assert.is_nil(image:lower():find("bitnami", 1, true), image)
        end)
      end)

      it("keeps secrets out of env, commands and the environment names", function()
        local p = assert(plan(dir, { services = { name } }))
        local values = plant_secrets(dir, p)
        p = assert(plan(dir, { services = { name } }))
        each_component(p, function(sname, cname, c)
          local where = sname .. "." .. cname
          for k, v in pairs(c.env or {}) do
            assert.is_string(v, where .. " env " .. k)
            -- a variable named like a secret carries a file path or a command
            if k:match("PASSWORD$") or k:match("SECRET$") or k:match("TOKEN$") or k:match("_KEY$") then
              error(("%s: env %s looks like a secret value"):format(where, k))
            end
          end
          local visible = strings({ c.env, c.command, c.entrypoint, c.health and c.health.exec })
          for _, s in ipairs(visible) do
            assert.is_nil(s:find("{secret:", 1, true), where .. ": unresolved placeholder in " .. s)
            for _, secret in ipairs(values) do
              assert.is_nil(s:find(secret, 1, true), where .. " shows a secret value")
            end
          end
        end)
      end)
    end)
  end

  describe("sizing", function()
    it("derives JVM heaps from the planned memory", function()
      local p = assert(plan(dir, { services = { "kafka" }, profile = "development" }))
      local c = p.services.kafka.components.kafka
      assert.is_number(c.heap_mb)
      assert.is_true(c.heap_mb * 1048576 < c.memory)
      assert.equal(("-Xmx%dm -Xms%dm"):format(c.heap_mb, c.heap_mb), c.env.KAFKA_HEAP_OPTS)

      p = assert(plan(dir, { services = { "zookeeper" } }))
      c = p.services.zookeeper.components.zookeeper
      assert.equal(tostring(c.heap_mb), c.env.ZK_SERVER_HEAP)

      p = assert(plan(dir, { services = { "trino" } }))
      c = p.services.trino.components.trino
      assert.equal(("-Xmx%dm"):format(c.heap_mb), c.env.JAVA_TOOL_OPTIONS)
    end)

    it("gives spark workers less executor memory than the container", function()
      local p = assert(plan(dir, { services = { "spark" } }))
      local w = p.services.spark.components.worker
      assert.is_true(w.scalable)
      local mb = tonumber(w.env.SPARK_WORKER_MEMORY:match("^(%d+)m$"))
      local daemon = tonumber(w.env.SPARK_DAEMON_MEMORY:match("^(%d+)m$"))
      assert.is_true(mb + daemon <= w.memory / 1048576)
    end)

    it("sizes the flink process to fit its container", function()
      local p = assert(plan(dir, { services = { "flink" }, profile = "minimal" }))
      for _, cname in ipairs({ "jobmanager", "taskmanager" }) do
        local c = p.services.flink.components[cname]
        local mb = tonumber(c.env.FLINK_PROPERTIES:match(cname .. "%.memory%.process%.size: (%d+)m"))
        assert.is_number(mb, cname)
        assert.is_true(mb < c.memory / 1048576, cname)
      end
    end)

    it("caps redis below its container memory", function()
      local p = assert(plan(dir, { services = { "redis" } }))
      local c = p.services.redis.components.redis
      local mb = tonumber(c.command[3]:match("%-%-maxmemory (%d+)mb"))
      assert.is_true(mb < c.memory / 1048576)
    end)
  end)

  describe("options", function()
    it("runs kafka in KRaft mode without zookeeper by default", function()
      local p = assert(plan(dir, { services = { "kafka" } }))
      assert.is_nil(p.services.zookeeper)
      assert.equal("broker,controller", p.services.kafka.components.kafka.env.KAFKA_PROCESS_ROLES)
    end)

    it("refuses kafka's zookeeper mode, which the pinned image cannot start, saying why", function()
      local file = project(dir, "services:\n  kafka:\n    options: { mode: zookeeper }\n")
      local p, err = deloc.plan({ file = file })
      assert.is_nil(p)
      assert.equal("CONFIG_INVALID", err.code)
      assert.matches("kafka", err.message, 1, true)
      assert.matches("refuses a ZooKeeper configuration", err.message, 1, true)
      assert.matches('mode = "kraft"', err.message, 1, true)
    end)

    it("refuses an unknown kafka mode", function()
      local file = project(dir, "services:\n  kafka:\n    options: { mode: raft }\n")
      local p, err = deloc.plan({ file = file })
      assert.is_nil(p)
      assert.matches("kraft", tostring(err))
    end)

    it("plans airflow on postgres with the local executor and no worker", function()
      local p = assert(plan(dir, { services = { "airflow" } }))
      assert.is_table(p.services.postgres)
      assert.is_nil(p.services.redis)
      local a = p.services.airflow
      assert.is_nil(a.components.worker)
      assert.equal("oneshot", a.components.init.kind)
      for _, cname in ipairs({ "api-server", "scheduler", "dag-processor", "triggerer" }) do
        assert.is_table(a.components[cname], cname)
        assert.equal("LocalExecutor", a.components[cname].env.AIRFLOW__CORE__EXECUTOR)
      end
      assert.equal("/api/v2/monitor/health", a.components["api-server"].health.path)
    end)

    it("adds redis and a scalable worker with the celery executor", function()
      local file = project(dir, "services:\n  airflow:\n    options: { executor: celery }\n")
      local p = assert(deloc.plan({ file = file }))
      assert.is_table(p.services.redis)
      local w = p.services.airflow.components.worker
      assert.is_table(w)
      assert.is_true(w.scalable)
      assert.equal("CeleryExecutor", w.env.AIRFLOW__CORE__EXECUTOR)
      assert.matches("redis%.password", w.env.AIRFLOW__CELERY__BROKER_URL_CMD)
    end)

    it("creates the buckets named in the minio option, once", function()
      local file = project(dir, "services:\n  minio:\n    options: { buckets: 'raw, curated' }\n")
      local p = assert(deloc.plan({ file = file }))
      local job = p.services.minio.components.buckets
      assert.equal("oneshot", job.kind)
      local script = table.concat(job.command, "\n")
      assert.matches("mc mb %-%-ignore%-existing 'deloc/raw'", script)
      assert.matches("mc mb %-%-ignore%-existing 'deloc/curated'", script)
    end)

    it("refuses jupyter's spark = cluster, which the pinned images cannot run, saying why", function()
      local file = project(dir, "services:\n  jupyter:\n    options: { spark: cluster }\n")
      local p, err = deloc.plan({ file = file })
      assert.is_nil(p)
      assert.equal("CONFIG_INVALID", err.code)
      assert.matches("jupyter", err.message, 1, true)
      assert.matches("PySpark refuses Python workers of another version", err.message, 1, true)
      assert.matches('spark = "local"', err.message, 1, true)
    end)
  end)

  describe("postgres and redis (run for real by the e2e specs)", function()
    it("deliver their passwords as files", function()
      local p = assert(plan(dir, { services = { "postgres", "redis" } }))
      local pg = p.services.postgres.components.postgres
      assert.equal(pg.secrets.password.file, pg.env.POSTGRES_PASSWORD_FILE)
      assert.equal("pg_isready", pg.health.exec[1])
      local r = p.services.redis.components.redis
      assert.matches(r.secrets.password.file, r.command[3], 1, true)
      assert.matches("PING", table.concat(r.health.exec, " "))
    end)

    it("run as uid 999 with a read-only root filesystem", function()
      local p = assert(plan(dir, { services = { "postgres", "redis" } }))
      for _, s in ipairs({ "postgres", "redis" }) do
        local c = p.services[s].components[s]
        assert.equal("999:999", c.user)
        assert.is_true(c.read_only)
        assert.is_true(c.restricted)
      end
    end)

    it("have backup and restore commands", function()
      local p = assert(plan(dir, { services = { "postgres", "redis" } }))
      assert.matches("pg_dump", table.concat(p.services.postgres.backup.exec, " "))
      assert.matches("pg_restore", table.concat(p.services.postgres.backup.restore, " "))
      assert.matches("SAVE", table.concat(p.services.redis.backup.exec, " "))
    end)
  end)

  describe("sizes that can do the work", function()
    local Gi, Mi = 1024 ^ 3, 1024 ^ 2
    local function on(memory_gi, cpus)
      return { cpu = cpus, memory = memory_gi * Gi, disk = 500 * Gi, source = { memory = "spec" } }
    end
    local function mb(v) return tonumber((tostring(v):match("^(%d+)m$"))) end

    it("under the default profile on 2 cores and 24 GiB, every component gets what a first job needs", function()
      local p = assert(plan(dir, { services = { "kafka", "spark", "airflow", "minio", "trino" },
        capacity = on(24, 2) }))
      assert.equal("development", p.profile)
      assert.is_true(p.verdict.fits, table.concat(p.verdict.reasons or {}, "; "))
      local worker = p.services.spark.components.worker
      -- an application's default executor is 1g: the worker must offer it
      assert.is_true(mb(worker.env.SPARK_WORKER_MEMORY) >= 1024, worker.env.SPARK_WORKER_MEMORY)
      -- the worker daemon's heap and the executor's fit in the container
      assert.is_true(mb(worker.env.SPARK_DAEMON_MEMORY) + 1024 + 384 <= worker.memory / Mi)
      assert.is_true(p.services.kafka.components.kafka.memory >= 1 * Gi)
      assert.is_true(p.services.trino.components.trino.memory >= 2 * Gi)
      for cname, c in pairs(p.services.airflow.components) do
        assert.is_true(c.memory >= 512 * Mi, "airflow." .. cname)
      end
      assert.is_true(p.services.airflow.components.scheduler.memory >= 1 * Gi)
      assert.is_true(p.services.airflow.components["api-server"].memory >= 1 * Gi)
    end)

    it("on a machine too small for that, says so and offers choices instead of planning it", function()
      local p = assert(plan(dir, { services = { "kafka", "spark", "airflow", "minio", "trino" },
        capacity = on(9, 2) }))
      assert.is_false(p.verdict.fits)
      assert.is_true(#p.verdict.choices > 0)
      assert.matches("drop airflow", table.concat(p.verdict.choices, "\n"))
    end)

    it("warns when a fixed size is below what the recipe needs", function()
      local p = assert(plan(dir, { services = { "spark" }, capacity = on(24, 2),
        overrides = { spark = { components = { worker = { resources = { memory = "512Mi" } } } } } }))
      assert.matches("spark.worker: memory 512Mi is below the recipe's minimum 2Gi",
        table.concat(p.warnings, "\n"), 1, true)
    end)
  end)
end)
