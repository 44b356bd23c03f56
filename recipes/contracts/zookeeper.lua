-- zookeeper:3.9.3 — 31z4/zookeeper-docker 3.9.3/{Dockerfile,docker-entrypoint.sh}
-- at 268d33caa089426f4f173ba0bac9277919f88dc7 ("Zookeeper 3.9.3"), the
-- GitCommit docker-library/official-images library/zookeeper gives the
-- 3.9.3 tag for its whole life (official-images 69bbc99741 .. c078502b12).
-- The start scripts inside the image are ZooKeeper's own, read at the
-- release tag the Dockerfile downloads (apache-zookeeper-3.9.3-bin).
local S = "31z4/zookeeper-docker 3.9.3/%s @ 268d33caa0 (3.9.3)"
local D, E = S:format("Dockerfile"), S:format("docker-entrypoint.sh")
local ZE = "apache/zookeeper bin/zkEnv.sh @ release-3.9.3"
local ZS = "apache/zookeeper bin/zkServer.sh @ release-3.9.3"
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
        { "FROM eclipse-temurin:17-jre-jammy; ENV ZOO_CONF_DIR=/conf ZOO_DATA_DIR=/data ZOO_DATA_LOG_DIR=/datalog ZOO_LOG_DIR=/logs, ZOO_AUTOPURGE_PURGEINTERVAL=0, ZOO_STANDALONE_ENABLED=true, ZOO_ADMINSERVER_ENABLED=true", D .. " lines 1-14" },
        { "groupadd -r zookeeper --gid=1000; useradd -r -g zookeeper --uid=1000; mkdir -p and chown zookeeper:zookeeper /datalog /data /conf /logs", D .. " lines 17-21" },
        { "apt-get install ca-certificates dirmngr gosu gnupg netcat wget (bash from the jammy base)", D .. " lines 24-36" },
        { "the release's conf/* is moved into /conf; WORKDIR /apache-zookeeper-3.9.3-bin, its bin on PATH, ZOOCFGDIR=/conf", D .. " lines 70, 74, 79-80" },
        { "VOLUME /data /datalog /logs; EXPOSE 2181 2888 3888 8080; ENTRYPOINT /docker-entrypoint.sh; CMD zkServer.sh start-foreground", D .. " lines 75-84" },
        { "as root with zkServer.sh: chown -R zookeeper the data, datalog and log dirs, re-exec with gosu zookeeper; as 1000 it goes on directly", E .. " lines 5-9" },
        { "writes /conf/zoo.cfg from ZOO_* (4lw.commands.whitelist from ZOO_4LW_COMMANDS_WHITELIST, ZOO_CFG_EXTRA lines) only if it is missing, and /data/myid (ZOO_MY_ID, default 1) only if missing", E .. " lines 11-48" },
        { "no _FILE support: the entrypoint reads plain ZOO_* variables only", E },
        { "ZK_SERVER_HEAP (default 1000) becomes -Xmx<MB>m in SERVER_JVMFLAGS, used only when starting the server; ZK_CLIENT_HEAP (default 256) for clients", ZE .. " lines 148-153; " .. ZS .. " lines 84-86" },
        { "zkServer.sh writes its pid file to dataDir (zookeeper_server.pid): /data must be writable", ZS .. " lines 138-145" },
        { "read-only root: /conf is written on first start and holds the shipped logging config: not read-only", E .. " line 12; " .. D .. " line 70" },
        { "dropped capabilities: none needed when started as 1000 (chown and gosu run only as root)", E .. " lines 6-9" },
        { "Kubernetes: fresh /data and /datalog volumes are root-owned and need fsGroup 1000", D .. " lines 20-21" },
      },
    },
  },
}
