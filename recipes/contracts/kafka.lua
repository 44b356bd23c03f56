-- apache/kafka:3.9.1 — built by Apache Kafka's release tooling (not
-- docker-library) from the release tag's docker/jvm/Dockerfile, with
-- docker/resources/common-scripts/{run,configure,configureDefaults,bash-config}
-- and docker/jvm/launch copied to /etc/kafka/docker, and the start wrapper
-- core/src/main/scala/kafka/docker/KafkaDockerWrapper.scala in the jar.
-- The 3.9.1 tag cannot be read here: the stored snapshot of apache/kafka ends
-- at 1eb7644349 (trunk, 2024-10-25) with no 3.9.1 tag, and the search index
-- holds none of these files at 3.9.1 (docker_official_images stops at 3.8.5).
-- The facts are read at c821449fb7, the tip of the 3.9 release branch in
-- that snapshot (2024-10-21, after "Bump version to 3.9.0", dd5272687e), the
-- branch 3.9.1 was cut from; no commit on the 3.9 line there touches docker/
-- after 3.9.0-rc3.  The Dockerfile's layout is the same in the generated
-- docker_official_images/3.8.5/jvm/Dockerfile @ 452a3f7a3e.
local AT = " @ c821449fb7 (3.9 branch; 3.9.1 tag not stored)"
local D = "apache/kafka docker/jvm/Dockerfile" .. AT
local R = "apache/kafka docker/resources/common-scripts/run" .. AT
local C = "apache/kafka docker/resources/common-scripts/configure" .. AT
local CD = "apache/kafka docker/resources/common-scripts/configureDefaults" .. AT
local L = "apache/kafka docker/jvm/launch" .. AT
local W = "apache/kafka core/src/main/scala/kafka/docker/KafkaDockerWrapper.scala" .. AT
local ST = "apache/kafka core/src/main/scala/kafka/tools/StorageTool.scala" .. AT
return {
  recipe = "kafka",
  images = {
    ["apache/kafka:3.9.1"] = {
      user = "1000:1000",
      users = { "1000:1000" },
      env = {
        CLUSTER_ID = "defaults to 5L6g3nShT-eMCtK--X86sw; the storage is formatted with it at every start (a formatted dir is kept)",
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
      -- EXPOSE 9092 only; the others are the listeners KAFKA_LISTENERS opens
      ports = { [9092] = "EXTERNAL", [29092] = "INTERNAL", [9093] = "CONTROLLER" },
      exec_tmp = true,
      facts = {
        { "FROM eclipse-temurin:21-jre-alpine; apk add wget gcompat gpg gpg-agent procps bash, then apk del wget gpg gpg-agent: no wget or curl in the image; gcompat stays for glibc-linked native code (snappy, zstd)", D .. " lines 44, 62-84" },
        { "adduser -h /home/appuser -D appuser (first alpine user: uid 1000, gid 1000); chown appuser:appuser -R /usr/logs /opt/kafka /mnt/shared/config; chown appuser:root -R /var/lib/kafka /etc/kafka/secrets /etc/kafka; chmod -R ug+w those", D .. " lines 73-78" },
        { "EXPOSE 9092 only; USER appuser; VOLUME /etc/kafka/secrets /var/lib/kafka/data /mnt/shared/config; CMD /etc/kafka/docker/run (no ENTRYPOINT)", D .. " lines 47, 91-95" },
        { "run: set -o nounset -o errexit (bash-config), then configureDefaults, configure, launch", R .. " lines 30-38" },
        { "configureDefaults only sets CLUSTER_ID=5L6g3nShT-eMCtK--X86sw when unset", CD },
        { "configure: with KAFKA_PROCESS_ROLES set, CLUSTER_ID must be set; KAFKA_LISTENERS derived from KAFKA_ADVERTISED_LISTENERS when unset; 'path /opt/kafka/config/ writable' or exit 1", C .. " lines 39-65" },
        { "launch: KafkaDockerWrapper setup writes /opt/kafka/config/{server,log4j,tools-log4j}.properties on every start, then always runs the storage format with CLUSTER_ID; only an 'already formatted' failure is tolerated, any other failure exits", L .. " lines 54-68" },
        { "KAFKA_* variables (except KAFKA_HEAP_OPTS, KAFKA_OPTS, KAFKA_JMX_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_* and a few more) become server.properties lines: KAFKA_ stripped, lower-cased, _ -> . (KAFKA_LOG_DIRS -> log.dirs); with none set the image's KRaft default server.properties is used", W .. " lines 47, 115-137, 171-186, 245-256" },
        { "ZooKeeper mode cannot start in this image: the format step refuses a server.properties without process.roles ('appears to be for a legacy cluster. Formatting is only supported for clusters in KRaft mode'), exits 1, and launch exits under errexit", ST .. " lines 110-113; " .. L .. " lines 54-68" },
        { "no _FILE support: SSL passwords are read from files named by KAFKA_SSL_*_CREDENTIALS under /etc/kafka/secrets, nothing else", C .. " lines 67-99" },
        { "read-only root: /opt/kafka/config is rewritten at start and also holds files shipped with the image (a tmpfs would hide them): not read-only", L .. " lines 54-57; " .. C .. " line 65" },
        { "noexec /tmp: snappy-java and zstd-jni unpack their native libraries into java.io.tmpdir (/tmp) and load them; a noexec /tmp fails compressed produce/consume", D .. " (gcompat installed for exactly these libraries)" },
        { "dropped capabilities: none needed (USER appuser, no step-down)", D .. " line 91" },
        { "Kubernetes: /var/lib/kafka/data on a fresh volume is root-owned and needs fsGroup 1000 (gid 0 owns it in the image; the volume replaces it)", D .. " lines 77-78" },
      },
    },
  },
}
