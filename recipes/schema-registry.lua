-- Confluent Schema Registry (Avro/Protobuf/JSON schemas for Kafka), the
-- upstream confluentinc image, storing schemas in the kafka service's
-- _schemas topic through the internal listener.
--
-- The image runs as `appuser` (uid 1000, gid 1000).  Not read-only: its start
-- scripts render the configuration into /etc/schema-registry.  The heap comes
-- from SCHEMA_REGISTRY_HEAP_OPTS.  Health: GET /subjects answers once the
-- registry has read the _schemas topic and can serve.
return recipe "schema-registry" {
  description = "Confluent Schema Registry for Kafka",
  category = "streaming",
  image = "confluentinc/cp-schema-registry:7.9.0",
  depends_on = { "kafka" },
  ports = { http = { port = 8081, http = true } },
  -- the image's VOLUME, empty: the project's rather than an anonymous volume
  volumes = { secrets = { path = "/etc/schema-registry/secrets", data = false, size = "16Mi" } },
  env = function(s)
    return {
      SCHEMA_REGISTRY_HOST_NAME = s.host("schema-registry"),
      SCHEMA_REGISTRY_LISTENERS = "http://0.0.0.0:8081",
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS =
        ("PLAINTEXT://%s:%d"):format(s.host("kafka"), s.port("internal", "kafka")),
      SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR = "1",
      SCHEMA_REGISTRY_HEAP_OPTS = ("-Xmx%dm -Xms%dm"):format(s.heap_mb or 256, s.heap_mb or 256),
    }
  end,
  -- a schema registered (its id comes back), as a producer would
  smoke = {
    exec = { "sh", "-c", "curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json'" ..
      [[ --data '{"schema":"{\"type\":\"string\"}"}']] ..
      " http://127.0.0.1:8081/subjects/deloc-smoke-value/versions" },
    expect = '"id"', timeout = "60s",
  },
  health = { http = { port = "http", path = "/subjects" },
             interval = "10s", timeout = "5s", retries = 18, start_period = "20s" },
  resources = {
    minimal     = { memory = "384Mi", cpu = 0.25 },
    development = { memory = "512Mi", cpu = 0.5 },
    production  = { memory = "1Gi",   cpu = 1 },
    min = { memory = "320Mi", cpu = 0.1 },
    max = { memory = "4Gi", cpu = 2 },
  },
  jvm = { heap_ratio = 0.6 },
  user = "1000:1000",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { SCHEMA_REGISTRY_URL = "http://{host}:{port:http}" },
  connections = { "http://{host}:{port:http}" },
}
