-- flink:1.20.1-scala_2.12-java17 — apache/flink-docker 1.20/scala_2.12-java17-ubuntu
-- at 5d24800c76946c9271d285efe16a299b6c0b0607 (the commit that set 1.20.1).
local S = "apache/flink-docker 1.20/scala_2.12-java17-ubuntu/%s @ 5d24800c76 (1.20.1)"
local D, E = S:format("Dockerfile"), S:format("docker-entrypoint.sh")
return {
  recipe = "flink",
  images = {
    ["flink:1.20.1-scala_2.12-java17"] = {
      user = "9999:9999",
      users = { "9999:9999" },
      env = {
        FLINK_PROPERTIES = "lines appended to conf/config.yaml by the entrypoint (process_flink_properties)",
      },
      paths = { ["/tmp"] = { owner = "0:0", mode = "1777", writes = true } },
      writes = { "/opt/flink/conf", "/opt/flink/log", "/tmp" },
      tools = { "sh", "bash", "wget", "flink", "gosu", "/docker-entrypoint.sh" },
      entrypoint_modes = { "jobmanager", "taskmanager" },  -- commands the entrypoint turns into *.sh start-foreground
      ports = { [8081] = "REST/UI", [6123] = "jobmanager RPC", [6124] = "blob server", [6122] = "taskmanager RPC" },
      exec_tmp = true,
      facts = {
        { "groupadd --system --gid=9999 flink; useradd --system --home-dir $FLINK_HOME --uid=9999 --gid=flink flink; chown -R flink:flink /opt/flink", D },
        { "apt-get install gpg libsnappy1v5 gettext-base libjemalloc-dev; wget used for gosu (present)", D },
        { "ENTRYPOINT /docker-entrypoint.sh; EXPOSE 6123 8081", D },
        { "jobmanager/taskmanager: prepare_configuration writes conf (config-parser-utils.sh, FLINK_PROPERTIES appended), then exec drop_privs_cmd (gosu flink only as root)", E },
        { "read-only root: conf/config.yaml is rewritten at start and logs go to /opt/flink/log: not read-only", E },
        { "memory: *.memory.process.size sizes heap, metaspace, network, managed memory and overhead together", "apache/flink docs deployment/memory/mem_setup.md @ release-1.20" },
        { "dropped capabilities: none needed when started as 9999 (gosu only as root)", E },
        { "Kubernetes: numeric user 9999 given by the recipe; no data volumes", D },
        { "nc is not installed by this Dockerfile; the TCP health check falls back to bash /dev/tcp", D },
      },
    },
  },
}
