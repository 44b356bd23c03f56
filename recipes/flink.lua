-- Apache Flink session cluster, official flink image: one jobmanager and
-- scalable taskmanagers (components: { taskmanager: { replicas: 2 } }).
--
-- Memory: Flink sizes its own JVM from *.memory.process.size (heap,
-- metaspace, network and managed memory, JVM overhead), so that is set to 90%
-- of the container limit rather than a -Xmx.  Under ~1.5 GiB the defaults
-- (256m metaspace, 40% managed memory) leave no task heap, so small
-- containers get a smaller metaspace and managed fraction.
--
-- User: the entrypoint drops from root to `flink` (uid 9999, gid 9999) and
-- appends FLINK_PROPERTIES to conf/config.yaml, which flink owns; started as
-- 9999:9999 that still works.  Not read-only for the same reason (it writes
-- the configuration and log files under /opt/flink).
local function floor(x) return x - x % 1 end
local function max(a, b) if a > b then return a end return b end

local function process_mb(s) return floor((s.memory_mb or 1024) * 0.9) end

local function common(s)
  return "jobmanager.rpc.address: " .. s.host("flink", "jobmanager") .. "\n" ..
         "rest.port: 8081\n" ..
         "blob.server.port: 6124\n"
end

return recipe "flink" {
  description = "Apache Flink stream processing (jobmanager + scalable taskmanagers)",
  category = "processing",
  image = "flink:1.20.1-scala_2.12-java17",
  -- /opt/flink/usrlib: where the image's scripts look for user jars
  mounts = { jobs = { path = "/opt/flink/usrlib", description = "job jars" } },
  components = {
    jobmanager = {
      command = { "jobmanager" },
      ports = {
        ui = { port = 8081, http = true },
        rpc = { port = 6123, publish = false },
        blob = { port = 6124, publish = false },
      },
      env = function(s)
        local p = process_mb(s)
        local props = common(s) .. ("jobmanager.memory.process.size: %dm\n"):format(p)
        if p < 1500 then props = props .. "jobmanager.memory.jvm-metaspace.size: 128m\n" end
        return { FLINK_PROPERTIES = props }
      end,
      -- the WordCount example (bounded built-in input) run to its end on the
      -- taskmanagers, submitted with the image's flink client
      smoke = {
        exec = { "bash", "-c",
          "exec flink run /opt/flink/examples/streaming/WordCount.jar 2>&1" },
        expect = "Program execution finished", timeout = "300s",
      },
      -- /overview answers once the dispatcher and resource manager are up
      health = { http = { port = "ui", path = "/overview" },
                 interval = "5s", timeout = "3s", retries = 18, start_period = "15s" },
      resources = {
        minimal     = { memory = "1Gi",   cpu = 0.25 },
        development = { memory = "1Gi",   cpu = 0.5 },
        production  = { memory = "2Gi",   cpu = 1 },
        min = { memory = "1Gi", cpu = 0.1 },
        max = { memory = "8Gi", cpu = 4 },
      },
    },
    taskmanager = {
      scalable = true,
      replicas = 1,
      depends_on = { "jobmanager" },
      command = { "taskmanager" },
      ports = {
        rpc = { port = 6122, publish = false },
      },
      env = function(s)
        local p = process_mb(s)
        local slots = max(1, floor((s.cpu or 1) + 0.5))
        local props = common(s) ..
          ("taskmanager.memory.process.size: %dm\n"):format(p) ..
          ("taskmanager.numberOfTaskSlots: %d\n"):format(slots) ..
          "taskmanager.rpc.port: 6122\n"
        if p < 1500 then
          props = props .. "taskmanager.memory.jvm-metaspace.size: 128m\n" ..
                           "taskmanager.memory.managed.fraction: 0.2\n"
        end
        return { FLINK_PROPERTIES = props }
      end,
      -- the RPC port opens once the taskmanager has started its services
      health = { tcp = "rpc", interval = "5s", timeout = "3s", retries = 18, start_period = "15s" },
      resources = {
        minimal     = { memory = "1Gi",   cpu = 0.5 },
        development = { memory = "1536Mi", cpu = 1 },
        production  = { memory = "4Gi",   cpu = 2 },
        min = { memory = "1Gi", cpu = 0.25 },
        max = { memory = "32Gi", cpu = 16 },
      },
    },
  },
  user = "9999:9999",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { FLINK_REST_URL = "http://{host}:{port:ui}" },
  connections = { "http://{host}:{port:ui}" },
}
