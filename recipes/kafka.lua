-- Apache Kafka, official apache/kafka image (JVM), one broker.
--
-- Mode: KRaft (the broker is its own controller).  The image turns KAFKA_*
-- variables into server.properties (KAFKA_LOG_DIRS -> log.dirs) and formats
-- the KRaft storage from CLUSTER_ID on every start; that format refuses a
-- ZooKeeper configuration ("appears to be for a legacy cluster") and the
-- start script stops there under errexit (apache/kafka 3.9 branch:
-- docker/jvm/launch, core/.../tools/StorageTool.scala; recipes/contracts/
-- kafka.lua), so option mode = "zookeeper" is refused with that reason.
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
  description = "Apache Kafka event streaming broker (KRaft)",
  category = "streaming",
  image = "apache/kafka:3.9.1",
  options = {
    mode = { default = "kraft", choices = { "kraft", "zookeeper" },
             description = "metadata mode: KRaft (zookeeper: not with the pinned image)" },
  },
  depends_on = function(opt)
    if opt.mode == "zookeeper" then
      error("option mode = \"zookeeper\" cannot run with the pinned image apache/kafka:3.9.1: its start" ..
        " script formats KRaft storage on every start, which refuses a ZooKeeper configuration, and" ..
        " stops; use mode = \"kraft\" (the default: no ZooKeeper needed)", 0)
    end
    return { }
  end,
  ports = {
    broker = 9092,
    internal = { port = 29092, publish = false },
    controller = { port = 9093, publish = false },
  },
  volumes = {
    data = { path = "/var/lib/kafka/data", data = true, size = "5Gi" },
    -- the image's other VOLUMEs, empty: mounted so they are the project's
    -- (labelled, removed by down --volumes), not anonymous volumes
    secrets = { path = "/etc/kafka/secrets", data = false, size = "16Mi" },
    config = { path = "/mnt/shared/config", data = false, size = "16Mi" },
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
    -- EXTERNAL is what host clients dial: the host port the planner published
    -- (it moves when 9092 is taken), mapped to the container's 9092.
    local advertised = ("INTERNAL://%s:29092,EXTERNAL://localhost:%d"):format(self, s.host_port("broker"))
    env.CLUSTER_ID = CLUSTER_ID
    env.KAFKA_NODE_ID = "1"
    env.KAFKA_PROCESS_ROLES = "broker,controller"
    env.KAFKA_CONTROLLER_QUORUM_VOTERS = "1@localhost:9093"
    env.KAFKA_CONTROLLER_LISTENER_NAMES = "CONTROLLER"
    env.KAFKA_LISTENERS = "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    env.KAFKA_ADVERTISED_LISTENERS = advertised
    return env
  end,
  health = {
    exec = { "sh", "-c",
      "KAFKA_HEAP_OPTS='-Xmx64m -Xms16m' /opt/kafka/bin/kafka-broker-api-versions.sh" ..
      " --bootstrap-server localhost:29092 >/dev/null 2>&1" },
    interval = "10s", timeout = "15s", retries = 18, start_period = "20s",
  },
  -- one message compressed with zstd and one with snappy, produced and
  -- consumed on a fresh topic with the image's own console clients (each a
  -- small JVM beside the broker: the native codecs load from /tmp, which is
  -- why /tmp must not be noexec)
  smoke = {
    exec = { "bash", "-c", [[
set -e
export KAFKA_HEAP_OPTS='-Xmx128m -Xms32m'
B=localhost:29092; T=deloc-smoke-$$-$(date +%s)
K=/opt/kafka/bin
$K/kafka-topics.sh --bootstrap-server $B --create --topic "$T" --partitions 1 --replication-factor 1 >/dev/null
for c in zstd snappy; do
  echo "deloc-smoke-$c" | $K/kafka-console-producer.sh --bootstrap-server $B --topic "$T" --compression-codec $c
done
out=$($K/kafka-console-consumer.sh --bootstrap-server $B --topic "$T" --from-beginning --max-messages 2 --timeout-ms 30000 2>/dev/null)
$K/kafka-topics.sh --bootstrap-server $B --delete --topic "$T" >/dev/null 2>&1 || true
echo "$out" | grep -qx deloc-smoke-zstd && echo "$out" | grep -qx deloc-smoke-snappy
echo deloc-smoke-ok
]] },
    expect = "deloc-smoke-ok", timeout = "120s",
  },
  -- The broker's heap is half the container; the smoke's console clients and
  -- a first producer need the rest beside the page cache.
  resources = {
    minimal     = { memory = "1Gi",   cpu = 0.5 },
    development = { memory = "1Gi",   cpu = 1 },
    production  = { memory = "4Gi",   cpu = 2 },
    min = { memory = "1Gi", cpu = 0.25 },
    max = { memory = "16Gi", cpu = 8 },
    disk = "5Gi",
  },
  jvm = { heap_ratio = 0.5 },  -- the rest is page cache, which Kafka lives on
  user = "1000:1000",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { KAFKA_BOOTSTRAP_SERVERS = "{host}:{port:broker}" },
  connections = {
    "{host}:{port:broker}",
  },
  -- deloc connect kafka [consumer|producer|topics] -- ARGS: the console
  -- tools of /opt/kafka/bin on the internal listener (no credentials:
  -- PLAINTEXT), with a small heap instead of the broker's KAFKA_HEAP_OPTS.
  connect = {
    description = "console consumer (deloc connect kafka -- --topic T); also producer, topics",
    exec = { "sh", "-c", "KAFKA_HEAP_OPTS='-Xmx128m -Xms16m' exec /opt/kafka/bin/kafka-console-consumer.sh"
      .. ' --bootstrap-server localhost:29092 "$@"', "sh" },
    commands = {
      consumer = { "sh", "-c", "KAFKA_HEAP_OPTS='-Xmx128m -Xms16m' exec /opt/kafka/bin/kafka-console-consumer.sh"
        .. ' --bootstrap-server localhost:29092 "$@"', "sh" },
      producer = { "sh", "-c", "KAFKA_HEAP_OPTS='-Xmx128m -Xms16m' exec /opt/kafka/bin/kafka-console-producer.sh"
        .. ' --bootstrap-server localhost:29092 "$@"', "sh" },
      topics = { "sh", "-c", "[ $# -gt 0 ] || set -- --list; KAFKA_HEAP_OPTS='-Xmx128m -Xms16m'"
        .. ' exec /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:29092 "$@"', "sh" },
    },
  },
}
