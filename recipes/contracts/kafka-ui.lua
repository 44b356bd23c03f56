-- kafbat/kafka-ui:v1.3.0 — kafbat/kafka-ui api/Dockerfile at tag v1.3.0
-- (commit 8b5494b67a1185fc334ee9fbb10e9acb51fa288a, 2025-07-23).
local D = "kafbat/kafka-ui api/Dockerfile @ v1.3.0 (8b5494b67a)"
return {
  recipe = "kafka-ui",
  images = {
    ["kafbat/kafka-ui:v1.3.0"] = {
      user = "100:101",
      users = { "100:101" },
      env = {
        JAVA_OPTS = "expanded into the shell-form CMD: java ... $JAVA_OPTS -jar api.jar",
        DYNAMIC_CONFIG_ENABLED = "false: no writes to /etc/kafkaui",
      },
      env_patterns = { "^KAFKA_CLUSTERS_%d+_[A-Z_]+$" },
      paths = { ["/tmp"] = { owner = "0:0", mode = "1777", writes = true } },
      writes = { "/tmp" },
      tools = { "sh", "wget", "java", "cat", "grep" },
      ports = { [8080] = "HTTP" },
      exec_tmp = true,
      facts = {
        { "FROM azul/zulu-openjdk-alpine:21.0.6-jre-headless (pinned by digest; busybox: sh, wget, grep)", D .. " line 4" },
        { "apk add gcompat (snappy codec) tzdata", D .. " lines 6-10" },
        { "addgroup -S kafkaui && adduser -S kafkaui -G kafkaui: Alpine assigns the first free system ids, uid 100 and gid 101 (users is 100)", D .. " line 11" },
        { "USER kafkaui (a name, not a number): Kubernetes runAsNonRoot cannot verify it, so the numeric user must be given", D .. " line 17" },
        { "COPY the jar to /api.jar; ENV JAVA_OPTS=; EXPOSE 8080; CMD java --add-opens java.rmi/javax.rmi.ssl=ALL-UNNAMED $JAVA_OPTS -jar api.jar (shell form, run from / ); no ENTRYPOINT, no VOLUME", D .. " lines 19-27" },
        { "mkdir /etc/kafkaui, chown kafkaui: only dynamic config writes it", D .. " lines 13-15" },
        { "read-only root: with dynamic config off it writes only /tmp", D },
        { "noexec /tmp: snappy-java unpacks its native library to /tmp", D .. " (gcompat for the snappy codec)" },
        { "dropped capabilities: none needed (non-root)", D },
      },
    },
  },
}
