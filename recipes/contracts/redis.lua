-- redis:7.4.2-bookworm — official image; docker-library/official-images
-- library/redis maps the tag to GitRepo redis/docker-library-redis,
-- GitCommit 8338d86bc3f7b195046138f8c31bf9a839cdedd3, Directory 7.4/debian
-- (official-images commits 171c4662a1 .. 2a0cb4ffce, the tag's whole life).
-- That commit cannot be read here: the stored snapshot of
-- redis/docker-library-redis ends at 714fd5f9 (2024-10-08, 7.4.1) and the
-- search index holds 7.4/debian/Dockerfile only at 0642e8613d (7.4.3), not
-- the entrypoint.  So the facts are read at e5650da9 ("Update 7.4 to 7.4.1",
-- 7.4/debian, the last stored build before 7.4.2) and checked against the
-- 7.4.3 Dockerfile at 0642e8613d: user, /data, VOLUME, WORKDIR, ENTRYPOINT,
-- EXPOSE and CMD are the same lines in both; only REDIS_VERSION/URL/SHA
-- differ.  The 7.4.2 build's layer history published in
-- docker-library/repo-info (repos/redis) shows the same steps.
local SRC = "redis/docker-library-redis 7.4/debian/%s @ e5650da9 (7.4.1; 7.4.2 is 8338d86bc3, not stored)"
local D, E = SRC:format("Dockerfile"), SRC:format("docker-entrypoint.sh")
local D3 = "redis/docker-library-redis 7.4/debian/Dockerfile @ 0642e8613d (7.4.3)"
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
        { "groupadd -r -g 999 redis; useradd -r -g redis -u 999 redis", D .. " lines 10-12; same in " .. D3 },
        { "RUN mkdir /data && chown redis:redis /data; VOLUME /data; WORKDIR /data", D .. " lines 142-144; same in " .. D3 },
        { "ENTRYPOINT docker-entrypoint.sh, EXPOSE 6379, CMD redis-server", D .. " lines 146-150" },
        { "protected mode is switched off at build time (sed on src/config.c), not by the entrypoint: a server started by deloc's sh -c is not blocked by it", D },
        { "entrypoint (#!/bin/sh): a first arg starting with - or ending in .conf becomes redis-server ARGS; only redis-server run as root does find . ! -user redis -exec chown and exec gosu redis; any other command (deloc's sh -c) passes straight to exec", E .. " lines 4-14, 24" },
        { "the entrypoint sets umask 0077 when the umask is 0022: dump.rdb and other files it writes are 0600", E .. " lines 16-22" },
        { "no _FILE support and no env variables read: deloc feeds requirepass on stdin (redis-server -) from the secret file", E },
        { "read-only root: the server writes only its dir (--dir /data: dump.rdb, temp-*.rdb)", E },
        { "dropped capabilities: none needed when started as 999 (chown and gosu run only as root)", E .. " lines 10-14" },
        { "Kubernetes: a fresh volume is root-owned; uid 999 needs fsGroup 999 to write /data", D .. " line 142 (the image's /data is 999-owned, a volume over it is not)" },
      },
    },
  },
}
