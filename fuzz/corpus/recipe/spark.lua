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
--
-- Not read-only: workers write application jars and logs under
-- /opt/spark/work and executors spill to local dirs.
--
-- The master binds to its DNS name on the project network: Spark RPC only
-- accepts messages addressed to the name the master bound, so workers and
-- drivers must use spark://<that name>:7077 (printed as a connection).
local function floor(x) return x - x % 1 end
local function max(a, b) if a > b then return a end return b end
local function min(a, b) if a < b then return a end return b end

return recipe "spark" {
  description = "Apache Spark standalone cluster (master + scalable workers)",
  category = "processing",
  image = "apache/spark:3.5.3",
  components = {
    master = {
      command = function(s)
        return { "/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master",
                 "--host", s.host("spark", "master"), "--port", "7077", "--webui-port", "8080" }
      end,
      ports = {
        master = 7077,
        ui = { port = 8080, http = true },
      },
      env = function(s)
        return {
          SPARK_DAEMON_MEMORY = ("%dm"):format(s.heap_mb or 512),
          SPARK_NO_DAEMONIZE = "true",
        }
      end,
      health = { http = { port = "ui", path = "/" },
                 interval = "5s", timeout = "3s", retries = 12, start_period = "10s" },
      resources = {
        minimal     = { memory = "512Mi", cpu = 0.25 },
        development = { memory = "768Mi", cpu = 0.5 },
        production  = { memory = "2Gi",   cpu = 1 },
        min = { memory = "384Mi", cpu = 0.1 },
        max = { memory = "8Gi", cpu = 4 },
      },
      jvm = { heap_ratio = 0.6 },
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
          SPARK_NO_DAEMONIZE = "true",
        }
      end,
      health = { http = { port = "ui", path = "/" },
                 interval = "5s", timeout = "3s", retries = 12, start_period = "10s" },
      resources = {
        minimal     = { memory = "768Mi", cpu = 0.5 },
        development = { memory = "2Gi",   cpu = 1 },
        production  = { memory = "8Gi",   cpu = 4 },
        min = { memory = "512Mi", cpu = 0.25 },
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
  connections = {
    "spark://{host}:{port:master}",
    "http://{host}:{port:ui}",
  },
}
