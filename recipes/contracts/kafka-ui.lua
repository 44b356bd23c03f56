-- kafbat/kafka-ui:v1.3.0 — kafbat/kafka-ui api/Dockerfile at tag v1.3.0.
local D = "kafbat/kafka-ui api/Dockerfile @ v1.3.0"
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
        { "FROM azul/zulu-openjdk-alpine:21 (busybox: sh, wget, grep)", D },
        { "apk add gcompat (snappy codec) tzdata", D },
        { "addgroup -S kafkaui && adduser -S kafkaui -G kafkaui: Alpine assigns the first free system ids, uid 100 and gid 101 (users is 100)", D },
        { "USER kafkaui (a name, not a number): Kubernetes runAsNonRoot cannot verify it, so the numeric user must be given", D },
        { "ENV JAVA_OPTS=; EXPOSE 8080; CMD java --add-opens ... $JAVA_OPTS -jar api.jar (shell form)", D },
        { "mkdir /etc/kafkaui owned by kafkaui: only dynamic config writes it", D },
        { "read-only root: with dynamic config off it writes only /tmp", D },
        { "noexec /tmp: snappy-java unpacks its native library to /tmp", D .. " (gcompat for the snappy codec)" },
        { "dropped capabilities: none needed (non-root)", D },
      },
    },
  },
}
