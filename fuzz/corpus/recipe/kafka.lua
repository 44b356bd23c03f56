-- Apache Kafka, official apache/kafka image (JVM), one broker.
--
-- Mode: KRaft by default (the broker is its own controller).  Option
-- mode = "zookeeper" runs it against the zookeeper service instead; that is
-- why the tag is pinned to 3.9.x, the last line that still supports
-- ZooKeeper (4.0 removed it).  The image turns KAFKA_* variables into
-- server.properties (KAFKA_LOG_DIRS -> log.dirs) and formats the KRaft storage
-- on first start from CLUSTER_ID; without KAFKA_PROCESS_ROLES it runs in
-- ZooKeeper mode.
--
-- Listeners: INTERNAL (29092) is what containers on the project network use
-- (kafka-ui, schema-registry, spark jobs): advertised as this service's DNS
-- name.  EXTERNAL (the published "broker" port 9092) is advertised as
-- localhost:<host port> for clients on the host.  CONTROLLER (9093) is KRaft's.
--
-- User: the image runs as `appuser` (uid 1000, gid 1000) and owns
-- /var/lib/kafka/data, so the data volume is writable without root.
-- Not read-only: the start script regenerates /opt/kafka/config (it checks
-- that directory is writable) and that directory also holds files shipped
-- with the image, so a tmpfs over it would not work.
--
-- Health: kafka-broker-api-versions.sh is a JVM of its own that inherits the
-- container's environment; it is started with a small KAFKA_HEAP_OPTS so it
-- does not claim the broker's heap size inside the same memory limit.
local CLUSTER_ID = "4L6g3nShT-eMCtK--X86sw"  -- base64 UUID, fixed: one broker per project

local function heap(s) return s.heap_mb or 256 end

return recipe "kafka" {
  description = "Apache Kafka event streaming broker (KRaft, or ZooKeeper mode)",
  category = "streaming",
  image = "apache/kafka:3.9.1",
  options = {
    mode = { default = "kraft", choices = { "kraft", "zookeeper" },
             description = "metadata mode: KRaft (no ZooKeeper) or ZooKeeper" },
  },
  depends_on = function(opt)
    if opt.mode == "zookeeper" then return { "zookeeper" } end
    return { }
  end,
  ports = {
    broker = 9092,
    internal = { port = 29092, publish = false },
    controller = { port = 9093, publish = false },
  },
  volumes = {
    data = { path = "/var/lib/kafka/data", data = true, size = "5Gi" },
  },
  tmpfs = { "/tmp" },
  env = function(s)
    local h = heap(s)
    local self = s.host("kafka")
    local env = {
      KAFKA_HEAP_OPTS = ("-Xmx%dm -Xms%dm"):format(h, h),
      KAFKA_LOG_DIRS = "/var/lib/kafka/data",
      KAFKA_INTER_BROKER_LISTENER_NAME = "INTERNAL",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR = "1",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR = "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR = "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS = "0",
      KAFKA_AUTO_CREATE_TOPICS_ENABLE = "true",
      KAFKA_NUM_PARTITIONS = "1",
    }
    -- The plan's `s` has no host port: EXTERNAL is advertised as the container
    -- port, right when the published host port is the same (it is unless it
    -- clashed and was moved).
    local advertised = ("INTERNAL://%s:29092,EXTERNAL://localhost:9092"):format(self)
    if s.options.mode == "zookeeper" then
      env.KAFKA_BROKER_ID = "1"
      env.KAFKA_ZOOKEEPER_CONNECT = ("%s:%d"):format(s.host("zookeeper"), s.port("client", "zookeeper"))
      env.KAFKA_LISTENERS = "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092"
      env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
    else
      env.CLUSTER_ID = CLUSTER_ID
      env.KAFKA_NODE_ID = "1"
      env.KAFKA_PROCESS_ROLES = "broker,controller"
      env.KAFKA_CONTROLLER_QUORUM_VOTERS = "1@localhost:9093"
      env.KAFKA_CONTROLLER_LISTENER_NAMES = "CONTROLLER"
      env.KAFKA_LISTENERS = "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
      env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    end
    env.KAFKA_ADVERTISED_LISTENERS = advertised
    return env
  end,
  health = {
    exec = { "sh", "-c",
      "KAFKA_HEAP_OPTS='-Xmx64m -Xms16m' /opt/kafka/bin/kafka-broker-api-versions.sh" ..
      " --bootstrap-server localhost:29092 >/dev/null 2>&1" },
    interval = "10s", timeout = "15s", retries = 18, start_period = "20s",
  },
  resources = {
    minimal     = { memory = "512Mi", cpu = 0.5 },
    development = { memory = "1Gi",   cpu = 1 },
    production  = { memory = "4Gi",   cpu = 2 },
    min = { memory = "384Mi", cpu = 0.25 },
    max = { memory = "16Gi", cpu = 8 },
    disk = "5Gi",
  },
  jvm = { heap_ratio = 0.5 },  -- the rest is page cache, which Kafka lives on
  user = "1000:1000",
  read_only = false,
  capabilities = { },
  restricted = true,
  connections = {
    "{host}:{port:broker}",
  },
}
