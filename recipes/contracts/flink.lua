-- flink:1.20.1-scala_2.12-java17 — apache/flink-docker 1.20/scala_2.12-java17-ubuntu
-- at 5d24800c76946c9271d285efe16a299b6c0b0607 ("Update Dockerfiles for
-- 1.20.1 release", 2025-02-13): the GitCommit docker-library/official-images
-- library/flink gives this tag for its whole life (official-images
-- 62b294d07f .. c629bb692b).
local S = "apache/flink-docker 1.20/scala_2.12-java17-ubuntu/%s @ 5d24800c76 (1.20.1)"
local D, E = S:format("Dockerfile"), S:format("docker-entrypoint.sh")
return {
  recipe = "flink",
  images = {
    ["flink:1.20.1-scala_2.12-java17"] = {
      user = "9999:9999",
      users = { "9999:9999" },
      env = {
        FLINK_PROPERTIES = "key: value lines; the entrypoint strips all whitespace from each line, splits at the first colon and writes each into conf/config.yaml with config-parser-utils.sh -Dkey=value (values cannot hold spaces)",
      },
      paths = { ["/tmp"] = { owner = "0:0", mode = "1777", writes = true } },
      writes = { "/opt/flink/conf", "/opt/flink/log", "/tmp" },
      tools = { "sh", "bash", "wget", "flink", "gosu", "/docker-entrypoint.sh" },
      entrypoint_modes = { "jobmanager", "taskmanager" },  -- commands the entrypoint turns into *.sh start-foreground
      ports = { [8081] = "REST/UI", [6123] = "jobmanager RPC", [6124] = "blob server", [6122] = "taskmanager RPC" },
      exec_tmp = true,
      facts = {
        { "FROM eclipse-temurin:17-jre-jammy; apt-get install gpg libsnappy1v5 gettext-base libjemalloc-dev; wget comes from the base image (the Dockerfile uses it without installing it); gosu 1.11 in /usr/local/bin", D .. " lines 19-44" },
        { "FLINK_HOME=/opt/flink, its bin on PATH (flink); groupadd --system --gid=9999 flink; useradd --system --home-dir /opt/flink --uid=9999 --gid=flink flink; WORKDIR /opt/flink; chown -R flink:flink . after unpacking", D .. " lines 53-57, 78-81" },
        { "conf/config.yaml: rest.address, rest.bind-address, jobmanager.bind-host, taskmanager.bind-host set to 0.0.0.0 and taskmanager.host removed at build", D .. " lines 84-92" },
        { "ENTRYPOINT /docker-entrypoint.sh; EXPOSE 6123 8081; CMD help; no USER (root), no VOLUME", D .. " lines 102-105" },
        { "every start, whatever the command: LD_PRELOAD jemalloc (unless DISABLE_JEMALLOC=true), then prepare_configuration writes jobmanager.rpc.address (JOB_MANAGER_RPC_ADDRESS, default hostname -f), blob.server.port 6124, query.server.port 6125, then FLINK_PROPERTIES, into conf/config.yaml", E .. " lines 25, 84-128, 149-153" },
        { "jobmanager / taskmanager / standalone-job / history-server become bin/<name>.sh start-foreground via exec $(drop_privs_cmd); drop_privs_cmd is gosu flink only as root, empty otherwise; any other command passes through", E .. " lines 28-39, 155-190" },
        { "no _FILE support", E },
        { "read-only root: conf/config.yaml is rewritten at start and logs go to /opt/flink/log: not read-only", E .. " lines 62-82" },
        { "memory: *.memory.process.size sizes heap, metaspace, network, managed memory and overhead together", "apache/flink docs deployment/memory/mem_setup.md @ release-1.20" },
        { "dropped capabilities: none needed when started as 9999 (gosu only as root)", E .. " lines 28-31" },
        { "Kubernetes: numeric user 9999 given by the recipe (the image has no USER); no data volumes", D .. " lines 55-56" },
        { "nc is not installed by this Dockerfile; the TCP health check falls back to bash /dev/tcp", D .. " line 24" },
      },
    },
  },
}
