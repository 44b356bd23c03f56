-- apache/kafka:3.9.1 — apache/kafka docker/jvm/Dockerfile and
-- docker/resources/common-scripts/{run,configure,configureDefaults} (copied to
-- /etc/kafka/docker).  The 3.9.1 tag's files are not in the stored index; the
-- facts below are read at the commits named per fact (the 3.9 line's image
-- layout; the Dockerfile is the generated docker_official_images copy).
local D = "apache/kafka docker/jvm/Dockerfile @ 120d52df7d"
local R = "apache/kafka docker/resources/common-scripts/run @ 12534a32c7"
local C = "apache/kafka docker/resources/common-scripts/configure @ 0703056852"
return {
  recipe = "kafka",
  images = {
    ["apache/kafka:3.9.1"] = {
      user = "1000:1000",
      users = { "1000:1000" },
      env = {
        CLUSTER_ID = "KRaft: required when KAFKA_PROCESS_ROLES is set; storage is formatted with it on first start",
        KAFKA_HEAP_OPTS = "JVM heap of the broker and of every bin/*.sh tool (kafka-run-class.sh); not a property",
      },
      env_patterns = { "^KAFKA_" },
      paths = {
        ["/var/lib/kafka/data"] = { owner = "1000:0", mode = "0775", writes = true },
        ["/opt/kafka/config"] = { owner = "1000:1000", mode = "0755", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
        ["/etc/kafka/secrets"] = { owner = "1000:0", mode = "0775" },
        ["/mnt/shared/config"] = { owner = "1000:1000", mode = "0755" },
      },
      volumes = { "/etc/kafka/secrets", "/var/lib/kafka/data", "/mnt/shared/config" },
      writes = { "/opt/kafka/config", "/var/lib/kafka/data", "/tmp", "/opt/kafka/logs" },
      tools = { "sh", "bash", "cat", "grep", "echo", "date",
                "/opt/kafka/bin/kafka-broker-api-versions.sh", "/opt/kafka/bin/kafka-topics.sh",
                "/opt/kafka/bin/kafka-console-producer.sh", "/opt/kafka/bin/kafka-console-consumer.sh" },
      ports = { [9092] = "EXTERNAL", [29092] = "INTERNAL", [9093] = "CONTROLLER" },
      exec_tmp = true,
      facts = {
        { "FROM eclipse-temurin:21-jre-alpine (bash from the base image); apk add gcompat for snappy/zstd native code", D },
        { "adduser appuser (first alpine user: uid 1000, gid 1000); chown appuser:appuser -R /opt/kafka; chown appuser:root -R /var/lib/kafka; chmod ug+w", D },
        { "USER appuser; VOLUME /etc/kafka/secrets /var/lib/kafka/data /mnt/shared/config; CMD /etc/kafka/docker/run", D },
        { "with KAFKA_ZOOKEEPER_CONNECT unset, configureDefaults fills KRaft defaults; set, ZooKeeper mode (the 3.9 line still runs it: docker/jvm/fixtures/zookeeper/docker-compose.yml)", R },
        { "KAFKA_* variables become server.properties (KAFKA_LOG_DIRS -> log.dirs; KAFKA_HEAP_OPTS and other *_OPTS excluded)", "apache/kafka docker/resources/common-scripts/kafka-propertiesSpec.json @ a9faadb3c2" },
        { "configure: 'path /opt/kafka/config/ writable' or exit; rewrites server.properties and log4j files there on every start", C },
        { "read-only root: /opt/kafka/config is rewritten at start and also holds files shipped with the image (a tmpfs would hide them): not read-only", C },
        { "noexec /tmp: snappy-java and zstd-jni unpack their native libraries into java.io.tmpdir (/tmp) and load them; a noexec /tmp fails compressed produce/consume", D .. " (gcompat installed for exactly these libraries)" },
        { "dropped capabilities: none needed (non-root user)", D },
        { "Kubernetes: /var/lib/kafka/data on a fresh volume needs fsGroup 1000 (owner gid 0 in the image; the volume replaces it)", D },
      },
    },
  },
}
