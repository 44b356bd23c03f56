-- Apache Airflow 3.0, official apache/airflow image, on the postgres service.
--
-- Components: `init` (one-shot: creates the `airflow` database on postgres if
-- missing, runs `airflow db migrate`, creates the admin user), then
-- `api-server` (UI + REST API + the task execution API that Airflow 3 tasks
-- report to), `scheduler`, `dag-processor` (a separate process since 3.0),
-- `triggerer`, and with executor = "celery" a scalable `worker` plus the
-- redis service as the Celery broker.
--
-- Secrets never enter the plan or the environment:
--  * the database URL (and Celery broker/result URLs) are AIRFLOW__..._CMD
--    variables, which Airflow runs to get the value; the command builds the
--    URL from the postgres/redis password files inside the container, so the
--    health checks' `airflow ...` and `celery ...` commands get them too;
--  * the JWT secret shared by every component (tasks' tokens signed by the
--    scheduler/worker are checked by the api-server) and the session key are
--    exported from their files by the shell that starts each component;
--  * the admin password is read from its file by the init job.
--  * the Fernet key (connection passwords in the metadata database) must be
--    the same in every component and a url-safe base64 32-byte key: each
--    component derives it with AIRFLOW__CORE__FERNET_KEY_CMD from ONE
--    generated secret (sha256, base64), so all agree and none stores it.
-- Facts about the image and their sources: recipes/contracts/airflow.lua.
--
-- User: the image's `airflow` user (uid 50000, gid 0, as the image documents);
-- /opt/airflow/{dags,logs} are created owned by it.  Not read-only: Airflow
-- writes logs, the config file and Python caches under /opt/airflow.
-- The entrypoint's own wait for the database is off (CONNECTION_CHECK_MAX_COUNT
-- = 0): ordering comes from the plan (postgres healthy, then init completed).
local function floor(x) return x - x % 1 end
local function max(a, b) if a > b then return a end return b end
local function min(a, b) if a < b then return a end return b end

local ADMIN = "admin"

local function celery(s) return s.options.executor == "celery" end

local function db_url_cmd(s)
  -- run by Airflow without a shell (shlex-split), hence bash -c '...'
  return ("bash -c 'printf %%s postgresql+psycopg2://deloc:$(cat %s)@%s:%d/airflow'"):format(
    s.secret_file("password", "postgres"), s.host("postgres"), s.port("postgres", "postgres"))
end

local function common_env(s)
  local env = {
    AIRFLOW__CORE__EXECUTOR = celery(s) and "CeleryExecutor" or "LocalExecutor",
    AIRFLOW__CORE__AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    AIRFLOW__CORE__LOAD_EXAMPLES = "false",
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION = "true",
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL =
      ("http://%s:8080/execution/"):format(s.host("airflow", "api-server")),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD = db_url_cmd(s),
    AIRFLOW__CORE__FERNET_KEY_CMD = ("python -c \"import base64, hashlib; " ..
      "print(base64.urlsafe_b64encode(hashlib.sha256(open('%s').read().strip().encode()).digest()).decode())\""):format(
      s.secret_file("fernet_seed")),
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK = "true",
    AIRFLOW__LOGGING__LOGGING_LEVEL = "INFO",
    CONNECTION_CHECK_MAX_COUNT = "0",
  }
  if celery(s) then
    env.AIRFLOW__CELERY__BROKER_URL_CMD =
      ("bash -c 'printf %%s redis://:$(cat %s)@%s:%d/0'"):format(
        s.secret_file("password", "redis"), s.host("redis"), s.port("redis", "redis"))
    env.AIRFLOW__CELERY__RESULT_BACKEND_CMD =
      ("bash -c 'printf %%s db+postgresql://deloc:$(cat %s)@%s:%d/airflow'"):format(
        s.secret_file("password", "postgres"), s.host("postgres"), s.port("postgres", "postgres"))
  end
  return env
end

-- argv that starts `airflow <args>` with the shared secrets exported
local function start(s, args)
  return { "bash", "-c",
    ('export AIRFLOW__API_AUTH__JWT_SECRET="$(cat %s)"; ' ..
     'export AIRFLOW__API__SECRET_KEY="$(cat %s)"; exec airflow %s'):format(
      s.secret_file("jwt_secret"), s.secret_file("secret_key"), args) }
end

local function jobs_check(kind)
  return { exec = { "bash", "-c",
             ('airflow jobs check --job-type %s --hostname "$HOSTNAME" >/dev/null'):format(kind) },
           interval = "30s", timeout = "25s", retries = 10, start_period = "60s" }
end

-- Every component mounts the same two volumes of the service: DAG files,
-- and task logs (written by whoever runs the task, read by the api-server).
local function volumes()
  return {
    dags = { path = "/opt/airflow/dags", data = true, size = "256Mi" },
    logs = { path = "/opt/airflow/logs", data = false, size = "1Gi" },
  }
end

local INIT = [[
set -e
python - <<'PY'
import os, psycopg2
pw = open("%s").read().strip()
c = psycopg2.connect(host="%s", port=%d, user="deloc", password=pw, dbname="deloc")
c.autocommit = True
cur = c.cursor()
cur.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
if cur.fetchone() is None:
    cur.execute("CREATE DATABASE airflow")
    print("created database airflow")
PY
airflow db migrate
# exits 0 and says so when the user already exists
airflow users create --role Admin --username %s --firstname Admin --lastname User \
  --email %s@example.invalid --password "$(cat %s)"
]]

return recipe "airflow" {
  description = "Apache Airflow 3 workflow orchestration (LocalExecutor or CeleryExecutor)",
  category = "orchestration",
  image = "apache/airflow:3.0.2",
  options = {
    executor = { default = "local", choices = { "local", "celery" },
                 description = "local runs tasks in the scheduler; celery adds redis and workers" },
  },
  depends_on = function(opt)
    if opt.executor == "celery" then return { "postgres", "redis" } end
    return { "postgres" }
  end,
  secrets = {
    admin_password = { length = 20 },
    jwt_secret = { length = 48 },
    secret_key = { length = 48 },
    fernet_seed = { length = 48 },
  },
  -- your files (deloc.yaml services.airflow.mounts): DAGs and plugins where
  -- the image reads them, task logs where every component writes them
  mounts = {
    dags = { path = "/opt/airflow/dags", description = "DAG files" },
    plugins = { path = "/opt/airflow/plugins", description = "Airflow plugins" },
    logs = { path = "/opt/airflow/logs", description = "task logs (mount writable)" },
  },
  components = {
    init = {
      oneshot = true,
      volumes = volumes(),
      command = function(s)
        return { "bash", "-c", INIT:format(
          s.secret_file("password", "postgres"), s.host("postgres"), s.port("postgres", "postgres"),
          ADMIN, ADMIN, s.secret_file("admin_password")) }
      end,
      env = common_env,
      resources = {
        minimal     = { memory = "768Mi", cpu = 0.5 },
        development = { memory = "768Mi", cpu = 1 },
        production  = { memory = "1Gi",   cpu = 1 },
        min = { memory = "768Mi", cpu = 0.25 },
        max = { memory = "2Gi", cpu = 2 },
      },
    },
    ["api-server"] = {
      depends_on = { "init" },
      volumes = volumes(),
      command = function(s) return start(s, "api-server") end,
      ports = { api = { port = 8080, http = true } },
      env = function(s)
        -- each uvicorn worker is a full Python process (~250 MiB)
        local env = common_env(s)
        env.AIRFLOW__API__WORKERS = ("%d"):format(max(1, min(4, floor((s.memory_mb or 1024) / 768))))
        return env
      end,
      health = { http = { port = "api", path = "/api/v2/monitor/health" },
                 interval = "10s", timeout = "5s", retries = 12, start_period = "30s" },
      resources = {
        minimal     = { memory = "1Gi",   cpu = 0.25 },
        development = { memory = "1Gi",   cpu = 0.5 },
        production  = { memory = "2Gi",   cpu = 1 },
        min = { memory = "1Gi", cpu = 0.1 },
        max = { memory = "8Gi", cpu = 4 },
      },
    },
    scheduler = {
      depends_on = { "init" },
      volumes = volumes(),
      command = function(s) return start(s, "scheduler") end,
      ports = { health = { port = 8974, publish = false, http = true } },
      env = function(s)
        local env = common_env(s)
        if not celery(s) then
          -- LocalExecutor runs each task as a process of this container
          -- beside the scheduler's own ~384 MiB
          env.AIRFLOW__CORE__PARALLELISM = ("%d"):format(max(2, floor(((s.memory_mb or 1024) - 384) / 256)))
        end
        return env
      end,
      -- an example DAG run to success in this process (dags test), with the
      -- shared secrets exported as for the scheduler itself
      smoke = {
        exec = function(s)
          local argv = start(s, "dags test example_bash_operator")
          argv[3] = "export AIRFLOW__CORE__LOAD_EXAMPLES=True; " .. argv[3]
          return argv
        end,
        expect = "state=success", timeout = "300s",
      },
      health = { http = { port = "health", path = "/health" },
                 interval = "10s", timeout = "5s", retries = 12, start_period = "30s" },
      resources = {
        minimal     = { memory = "1Gi",   cpu = 0.5 },
        development = { memory = "1Gi",   cpu = 1 },
        production  = { memory = "4Gi",   cpu = 2 },
        min = { memory = "1Gi", cpu = 0.25 },
        max = { memory = "16Gi", cpu = 8 },
      },
    },
    ["dag-processor"] = {
      depends_on = { "init" },
      volumes = volumes(),
      command = function(s) return start(s, "dag-processor") end,
      env = common_env,
      health = jobs_check("DagProcessorJob"),
      resources = {
        minimal     = { memory = "512Mi", cpu = 0.25 },
        development = { memory = "512Mi", cpu = 0.5 },
        production  = { memory = "1Gi",   cpu = 1 },
        min = { memory = "512Mi", cpu = 0.1 },
        max = { memory = "4Gi", cpu = 2 },
      },
    },
    triggerer = {
      depends_on = { "init" },
      volumes = volumes(),
      command = function(s) return start(s, "triggerer") end,
      env = common_env,
      health = jobs_check("TriggererJob"),
      resources = {
        minimal     = { memory = "512Mi", cpu = 0.1 },
        development = { memory = "512Mi", cpu = 0.25 },
        production  = { memory = "1Gi",   cpu = 0.5 },
        min = { memory = "512Mi", cpu = 0.1 },
        max = { memory = "4Gi", cpu = 2 },
      },
    },
    worker = {
      enabled = function(opt) return opt.executor == "celery" end,
      scalable = true,
      replicas = 1,
      depends_on = { "init" },
      volumes = volumes(),
      command = function(s) return start(s, "celery worker") end,
      env = function(s)
        local env = common_env(s)
        -- one task process per ~256 MiB of the container
        env.AIRFLOW__CELERY__WORKER_CONCURRENCY = ("%d"):format(max(1, floor((s.memory_mb or 1024) / 256)))
        env.DUMB_INIT_SETSID = "0"  -- warm shutdown of Celery on SIGTERM
        return env
      end,
      health = { exec = { "bash", "-c",
                   'celery --app airflow.providers.celery.executors.celery_executor.app' ..
                   ' inspect ping -d "celery@$HOSTNAME" >/dev/null' },
                 interval = "30s", timeout = "25s", retries = 10, start_period = "60s" },
      resources = {
        minimal     = { memory = "1Gi",   cpu = 0.5 },
        development = { memory = "1536Mi", cpu = 1 },
        production  = { memory = "4Gi",   cpu = 2 },
        min = { memory = "1Gi", cpu = 0.25 },
        max = { memory = "32Gi", cpu = 16 },
      },
    },
  },
  user = "50000:0",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = {
    AIRFLOW_URL = "http://{host}:{port:api}", AIRFLOW_USERNAME = "admin",
    AIRFLOW_PASSWORD = "{secret:admin_password}",
  },
  connections = {
    "http://" .. ADMIN .. ":{secret:admin_password}@{host}:{port:api}",
  },
}
