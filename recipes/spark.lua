-- Apache Spark standalone cluster, official apache/spark image: one master
-- and scalable workers (`deloc.yaml`: components: { worker: { replicas: 3 } }).
--
-- Same Spark version as the jupyter recipe's pyspark (3.5.3), so notebooks can
-- use this cluster.  The image runs as `spark` (uid 185, gid 185); its
-- entrypoint passes anything that is not driver/executor straight through
-- (under tini), so the daemons are started with spark-class in the foreground.
--
-- Memory: the master is one JVM whose heap is SPARK_DAEMON_MEMORY.  A worker
-- container holds the worker daemon (small heap) plus the executors it
-- launches; SPARK_WORKER_MEMORY is what it offers to executors: the planned
-- heap minus the daemon's, so daemon + executors + JVM overhead fit the limit.
-- An application asks for spark.executor.memory = 1g by default, and a
-- worker offering less never gets an executor (the job waits forever), so the
-- worker's minimum is 2 GiB: 1.5 GiB of heap, 1280m offered to executors.
-- The master's minimum leaves room for a client-mode driver (the smoke's).
--
-- Not read-only: workers write application jars and logs under
-- /opt/spark/work and executors spill to local dirs.
--
-- The master binds to its own address (hostname -i): on Kubernetes its DNS
-- name is a Service whose address no pod interface has, so binding the name
-- fails there.  Spark's RPC delivers a message by endpoint name only, so
-- workers and drivers reach it as spark://<DNS name>:7077 all the same; the
-- address it then hands out is the pod's own, which every pod can reach.
-- A client-mode driver (the smoke, a notebook) advertises its own address
-- for the same reason: executors connect back on ports no Service exposes.
local function floor(x) return x - x % 1 end
local function max(a, b) if a > b then return a end return b end
local function min(a, b) if a < b then return a end return b end

return recipe "spark" {
  description = "Apache Spark standalone cluster (master + scalable workers)",
  category = "processing",
  image = "apache/spark:3.5.3",
  mounts = { jobs = { path = "/opt/spark/jobs", description = "application files for spark-submit" } },
  components = {
    master = {
      command = { "bash", "-c", 'ip=$(hostname -i); exec /opt/spark/bin/spark-class' ..
        ' org.apache.spark.deploy.master.Master --host "${ip%% *}" --port 7077 --webui-port 8080' },
      ports = {
        master = 7077,
        ui = { port = 8080, http = true },
      },
      env = function(s)
        return { SPARK_DAEMON_MEMORY = ("%dm"):format(s.heap_mb or 512) }
      end,
      health = { http = { port = "ui", path = "/" },
                 interval = "5s", timeout = "3s", retries = 12, start_period = "10s" },
      -- SparkPi submitted from here in client mode with the application's
      -- default executor size (1g): it passes only if a worker can run it
      smoke = {
        exec = function(s)
          local master = s.host("spark", "master")
          return { "bash", "-c", ('ip=$(hostname -i); exec /opt/spark/bin/spark-submit --master spark://%s:7077' ..
            ' --conf spark.driver.host="${ip%%%% *}" --driver-memory 384m' ..
            " --class org.apache.spark.examples.SparkPi /opt/spark/examples/jars/spark-examples_*.jar 10"
            .. " 2>/dev/null"):format(master) }
        end,
        expect = "Pi is roughly", timeout = "300s",
      },
      resources = {
        minimal     = { memory = "1Gi", cpu = 0.25 },
        development = { memory = "1Gi", cpu = 0.5 },
        production  = { memory = "2Gi", cpu = 1 },
        min = { memory = "1Gi", cpu = 0.1 },
        max = { memory = "8Gi", cpu = 4 },
      },
      jvm = { heap_ratio = 0.4 },
    },
    worker = {
      scalable = true,
      replicas = 1,
      depends_on = { "master" },
      command = function(s)
        return { "/opt/spark/bin/spark-class", "org.apache.spark.deploy.worker.Worker",
                 ("spark://%s:7077"):format(s.host("spark", "master")),
                 "--webui-port", "8081" }
      end,
      ports = {
        ui = { port = 8081, publish = false, http = true },
      },
      env = function(s)
        local heap = s.heap_mb or 768
        local daemon = min(256, max(128, floor(heap * 0.2)))
        local executors = max(256, heap - daemon)
        return {
          SPARK_DAEMON_MEMORY = ("%dm"):format(daemon),
          SPARK_WORKER_MEMORY = ("%dm"):format(executors),
          SPARK_WORKER_CORES = ("%d"):format(max(1, floor((s.cpu or 1) + 0.5))),
        }
      end,
      health = { http = { port = "ui", path = "/" },
                 interval = "5s", timeout = "3s", retries = 12, start_period = "10s" },
      resources = {
        minimal     = { memory = "2Gi",   cpu = 0.5 },
        development = { memory = "2Gi",   cpu = 1 },
        production  = { memory = "8Gi",   cpu = 4 },
        min = { memory = "2Gi", cpu = 0.25 },
        max = { memory = "64Gi", cpu = 32 },
      },
      -- executors' heaps plus their overhead (spark.executor.memoryOverhead,
      -- 10% or 384m) must fit beside the daemon
      jvm = { heap_ratio = 0.75 },
    },
  },
  user = "185:185",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { SPARK_MASTER_URL = "spark://{host}:{port:master}" },
  connections = {
    "spark://{host}:{port:master}",
    "http://{host}:{port:ui}",
  },
}
