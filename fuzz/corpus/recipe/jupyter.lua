-- JupyterLab with PySpark, the Jupyter Docker Stacks pyspark-notebook image
-- (quay.io; the Docker Hub copies are no longer updated), pinned to the tag
-- that carries Spark 3.5.3 — the same version as the spark recipe.
--
-- Option spark = "cluster" makes notebooks use the spark service: MASTER
-- (read by spark-submit when no --master is given) points at the master, and
-- the driver advertises this container's DNS name so executors can connect
-- back.  Note that Python UDFs need the same Python minor version on the
-- workers; the apache/spark image's Python may differ from the notebook's.
-- With spark = "local" (default) notebooks run Spark inside this container.
--
-- The access token is a generated secret: the start command exports it from
-- its file as JUPYTER_TOKEN inside the container, never in the plan.
--
-- User: the image's `jovyan` (uid 1000, gid 100); its home and work dir are
-- owned by it, so a fresh volume at /home/jovyan/work is writable.  Not
-- read-only: Jupyter writes runtime files, caches and settings under $HOME.
-- Health: GET /api answers with the server version without a token once the
-- server accepts requests.
local function floor(x) return x - x % 1 end
local function max(a, b) if a > b then return a end return b end

return recipe "jupyter" {
  description = "JupyterLab notebooks with PySpark",
  category = "notebook",
  image = "quay.io/jupyter/pyspark-notebook:spark-3.5.3",
  options = {
    spark = { default = "local", choices = { "local", "cluster" },
              description = "run Spark in the notebook container or on the spark service" },
  },
  depends_on = function(opt)
    if opt.spark == "cluster" then return { "spark" } end
    return { }
  end,
  ports = {
    http = { port = 8888, http = true },
    sparkui = { port = 4040, http = true },
  },
  volumes = {
    work = { path = "/home/jovyan/work", data = true, size = "2Gi" },
  },
  secrets = { token = { length = 32 } },
  command = function(s)
    return { "bash", "-c",
      ('export JUPYTER_TOKEN="$(cat %s)"; exec start-notebook.py --ServerApp.root_dir=/home/jovyan/work'):format(
        s.secret_file("token")) }
  end,
  env = function(s)
    -- the driver JVM gets half the container; Python and the kernel the rest
    local driver = max(256, floor((s.memory_mb or 1024) * 0.5))
    local args = ("--driver-memory %dm"):format(driver)
    local env = { }
    if s.options.spark == "cluster" then
      env.MASTER = ("spark://%s:7077"):format(s.host("spark", "master"))
      args = args .. (" --master %s --conf spark.driver.host=%s --conf spark.driver.bindAddress=0.0.0.0"):format(
        env.MASTER, s.host("jupyter"))
    end
    env.PYSPARK_SUBMIT_ARGS = args .. " pyspark-shell"
    return env
  end,
  health = { http = { port = "http", path = "/api" },
             interval = "10s", timeout = "5s", retries = 12, start_period = "20s" },
  resources = {
    minimal     = { memory = "1Gi",  cpu = 0.5 },
    development = { memory = "2Gi",  cpu = 1 },
    production  = { memory = "4Gi",  cpu = 2 },
    min = { memory = "768Mi", cpu = 0.25 },
    max = { memory = "32Gi", cpu = 16 },
    disk = "2Gi",
  },
  user = "1000:100",
  read_only = false,
  capabilities = { },
  restricted = true,
  connections = {
    "http://{host}:{port:http}/lab?token={secret:token}",
  },
}
