-- redis:7.4.2-bookworm — docker-library/redis, directory 7.4/debian.  The
-- stored mirror of docker-library/redis ends at e92049967d (2024-06-28),
-- before 7.4 was released; the entrypoint and Dockerfile facts below are
-- read from 7.2/debian and 7.4-rc/debian at that commit, whose user, paths
-- and entrypoint are the same code that 7.4/debian was generated from
-- (the repo's template Dockerfile.template / docker-entrypoint.sh).
local SRC = "docker-library/redis %s @ e92049967d"
local D, E = SRC:format("7.4-rc/debian/Dockerfile"), SRC:format("7.4-rc/debian/docker-entrypoint.sh")
return {
  recipe = "redis",
  images = {
    ["redis:7.4.2-bookworm"] = {
      user = "999:999",
      users = { "999:999" },
      env = {},
      paths = {
        ["/data"] = { owner = "999:999", mode = "0755", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
      },
      writes = { "/data" },
      volumes = { "/data" },
      tools = { "sh", "bash", "cat", "grep", "mv", "redis-server", "redis-cli", "gosu", "docker-entrypoint.sh" },
      ports = { [6379] = "redis" },
      exec_tmp = false,
      facts = {
        { "groupadd -r -g 999 redis; useradd -r -g redis -u 999 redis", D },
        { "mkdir /data && chown redis:redis /data; VOLUME /data; WORKDIR /data", D },
        { "ENTRYPOINT docker-entrypoint.sh, CMD redis-server, EXPOSE 6379", D },
        { "as root with redis-server as the command: chown of . then exec gosu redis; any other command passes through", E },
        { "adds --protected-mode no only when the command is redis-server without a config file; deloc's sh -c start passes through, and a password is set, so protected mode never blocks", E },
        { "no _FILE support: deloc feeds requirepass on stdin (redis-server -) from the secret file", E },
        { "read-only root: the server writes only its dir (/data: dump.rdb)", E },
        { "dropped capabilities: none needed when started as 999", E },
        { "Kubernetes: a fresh volume needs fsGroup 999 for uid 999 to write /data", D },
      },
    },
  },
}
