-- zookeeper:3.9.3 — 31z4/zookeeper-docker 3.9.3/{Dockerfile,docker-entrypoint.sh}
-- at 268d33caa089426f4f173ba0bac9277919f88dc7 ("Zookeeper 3.9.3").
local S = "31z4/zookeeper-docker 3.9.3/%s @ 268d33caa0 (3.9.3)"
local D, E = S:format("Dockerfile"), S:format("docker-entrypoint.sh")
return {
  recipe = "zookeeper",
  images = {
    ["zookeeper:3.9.3"] = {
      user = "1000:1000",
      users = { "1000:1000" },
      env = {
        ZK_SERVER_HEAP = "zkEnv.sh: -Xmx<MB> for the server JVM only (clients use ZK_CLIENT_HEAP)",
        ZOO_4LW_COMMANDS_WHITELIST = "written as 4lw.commands.whitelist into zoo.cfg on first start",
        ZOO_AUTOPURGE_PURGEINTERVAL = "autopurge.purgeInterval (hours) in zoo.cfg",
        ZOO_STANDALONE_ENABLED = "standaloneEnabled in zoo.cfg",
      },
      paths = {
        ["/data"] = { owner = "1000:1000", mode = "0755", writes = true },
        ["/datalog"] = { owner = "1000:1000", mode = "0755", writes = true },
        ["/logs"] = { owner = "1000:1000", mode = "0755", writes = true },
        ["/conf"] = { owner = "1000:1000", mode = "0755", writes = true },
      },
      writes = { "/conf", "/data", "/datalog", "/logs" },
      volumes = { "/data", "/datalog", "/logs" },
      tools = { "sh", "bash", "nc", "grep", "echo", "wget", "zkServer.sh", "zkCli.sh", "gosu" },
      ports = { [2181] = "client", [8080] = "AdminServer", [2888] = "quorum", [3888] = "election" },
      exec_tmp = false,
      facts = {
        { "FROM eclipse-temurin:17-jre-jammy; ENV ZOO_CONF_DIR=/conf ZOO_DATA_DIR=/data ZOO_DATA_LOG_DIR=/datalog ZOO_LOG_DIR=/logs ...", D },
        { "groupadd -r zookeeper --gid=1000; useradd -r -g zookeeper --uid=1000; mkdir and chown the four dirs", D },
        { "apt-get install ca-certificates dirmngr gosu gnupg netcat wget", D },
        { "VOLUME /data /datalog /logs; EXPOSE 2181 2888 3888 8080; bin on PATH; CMD zkServer.sh start-foreground", D },
        { "as root with zkServer.sh: chown the data/log dirs, re-exec with gosu zookeeper; as 1000 it goes on directly", E },
        { "writes /conf/zoo.cfg from ZOO_* on first start (only if missing) and /data/myid", E },
        { "read-only root: /conf is written on first start and holds the shipped logging config: not read-only", E },
        { "dropped capabilities: none needed when started as 1000", E },
        { "Kubernetes: fresh /data and /datalog volumes need fsGroup 1000", D },
      },
    },
  },
}
