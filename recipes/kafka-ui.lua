-- Kafka UI (kafbat/kafka-ui, the maintained continuation of
-- provectuslabs/kafka-ui), pointed at the kafka service's internal listener.
--
-- A Spring Boot JVM: the planned heap goes to JAVA_OPTS, which the image's
-- start command passes to java.  The image runs as its own non-root user
-- `kafkaui`, by name: Kubernetes' runAsNonRoot cannot verify a name, so the
-- recipe gives its numbers (100:101, what Alpine's adduser -S/addgroup -S
-- assign first; recipes/contracts/kafka-ui.lua);
-- it writes only /tmp (dynamic configuration is off), so the root filesystem
-- is read-only.  Health: Spring Boot's /actuator/health, UP once the
-- application context is started.
--
-- Option schema_registry = "yes" also registers the schema-registry service.
return recipe "kafka-ui" {
  description = "Web UI for Kafka topics, consumer groups and messages",
  category = "ui",
  image = "kafbat/kafka-ui:v1.3.0",
  options = {
    schema_registry = { default = "no", choices = { "no", "yes" },
                        description = "also show the schema-registry service" },
  },
  depends_on = function(opt)
    if opt.schema_registry == "yes" then return { "kafka", "schema-registry" } end
    return { "kafka" }
  end,
  ports = { http = { port = 8080, http = true } },
  tmpfs = { "/tmp" },
  env = function(s)
    local env = {
      JAVA_OPTS = ("-Xmx%dm -Xms%dm"):format(s.heap_mb or 256, s.heap_mb or 256),
      DYNAMIC_CONFIG_ENABLED = "false",
      KAFKA_CLUSTERS_0_NAME = s.project or "deloc",
      KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS = ("%s:%d"):format(s.host("kafka"), s.port("internal", "kafka")),
    }
    if s.options.schema_registry == "yes" then
      env.KAFKA_CLUSTERS_0_SCHEMAREGISTRY = ("http://%s:%d"):format(
        s.host("schema-registry"), s.port("http", "schema-registry"))
    end
    return env
  end,
  -- the UI's API lists the kafka cluster and has reached it
  smoke = {
    exec = { "sh", "-c", "wget -q -O - http://127.0.0.1:8080/api/clusters" },
    expect = '"status":"online"', timeout = "60s",
  },
  health = { http = { port = "http", path = "/actuator/health" },
             interval = "10s", timeout = "5s", retries = 12, start_period = "30s" },
  resources = {
    minimal     = { memory = "384Mi", cpu = 0.25 },
    development = { memory = "512Mi", cpu = 0.5 },
    production  = { memory = "1Gi",   cpu = 1 },
    min = { memory = "320Mi", cpu = 0.1 },
    max = { memory = "2Gi", cpu = 2 },
  },
  jvm = { heap_ratio = 0.6 },
  user = "100:101",
  read_only = true,
  capabilities = { },
  restricted = true,
  connections = { "http://{host}:{port:http}" },
}
