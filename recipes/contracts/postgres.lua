-- postgres:16.4-bookworm — docker-library/postgres, directory 16/bookworm.
-- docker-library/official-images library/postgres first built the tag from
-- GitCommit 3a94d965ecbe08f4b1b255d3ed9ccae671a7a984 (16.4-1.pgdg120+1) and
-- last rebuilt it, until 16.5 replaced it (official-images a4c24b90d0), from
-- c9906f922daaacdfc425b3b918e7644a8722290d ("Update 16 to bookworm
-- 16.4-1.pgdg120+2"): the image the tag names now.  The two differ only in
-- ENV PG_VERSION; facts and line numbers are read at c9906f922d.
local SRC = "docker-library/postgres 16/bookworm/%s @ c9906f922d (16.4-bookworm)"
local D, E = SRC:format("Dockerfile"), SRC:format("docker-entrypoint.sh")
return {
  recipe = "postgres",
  images = {
    ["postgres:16.4-bookworm"] = {
      user = "999:999",
      users = { "999:999" },
      env = {
        POSTGRES_USER = "superuser created by initdb (file_env: also POSTGRES_USER_FILE)",
        POSTGRES_DB = "database created on first start (file_env)",
        POSTGRES_PASSWORD = "superuser password; required unless POSTGRES_HOST_AUTH_METHOD=trust",
        PGDATA = "data directory; the entrypoint mkdirs and chmods it 0700 (a subdirectory of the volume works: mkdir -p)",
        POSTGRES_INITDB_ARGS = "extra initdb arguments on first start (eval'd into the initdb command line; file_env)",
        PGPASSWORD = "read by psql/pg_dump in the backup and smoke commands",
      },
      file_env = { POSTGRES_PASSWORD_FILE = "file_env reads the file into POSTGRES_PASSWORD" },
      paths = {
        ["/var/lib/postgresql/data"] = { owner = "999:999", mode = "1777", writes = true },
        ["/var/run/postgresql"] = { owner = "999:999", mode = "3777", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
      },
      writes = { "/var/lib/postgresql/data", "/var/run/postgresql", "/tmp" },
      volumes = { "/var/lib/postgresql/data" },
      tools = { "sh", "bash", "cat", "grep", "psql", "pg_isready", "pg_dump", "pg_restore",
                "postgres", "initdb", "gosu", "docker-entrypoint.sh" },
      ports = { [5432] = "postgres" },
      exec_tmp = false,
      facts = {
        { "groupadd -r postgres --gid=999; useradd -r -g postgres --uid=999", D .. " lines 11-13" },
        { "PGDATA=/var/lib/postgresql/data created with install --owner postgres --mode 1777; VOLUME", D .. " lines 185-188" },
        { "/var/run/postgresql installed owner postgres mode 3777; the entrypoint chmods it 03775 at start (failure ignored)", D .. " line 183; " .. E .. " lines 44-45" },
        { "ENTRYPOINT docker-entrypoint.sh, CMD postgres, STOPSIGNAL SIGINT, EXPOSE 5432", D .. " lines 192-225" },
        { "file_env VAR reads VAR_FILE (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS)", E .. " lines 5-25, 224-228" },
        { "initdb --username=\"$POSTGRES_USER\" --pwfile=<(...) $POSTGRES_INITDB_ARGS \"$@\" (eval)", E .. " line 92" },
        { "as root it chowns PGDATA and /var/run/postgresql and re-execs with gosu postgres; as 999 it only mkdir/chmods (failures ignored)", E .. " lines 37-60, 311" },
        { "first start runs a temporary server with listen_addresses='' (socket only), then restarts: a TCP pg_isready is not ready during init", E .. " line 270" },
        { "read-only root: writes only PGDATA, /var/run/postgresql (socket, lock) and /tmp", E .. " lines 39-45" },
        { "dropped capabilities: none needed when started as 999 (chown happens only as root)", E .. " lines 56-60" },
        { "Kubernetes: a fresh volume is root-owned; running as 999 needs fsGroup 999, and PGDATA must not be the volume root (lost+found): a subPath", E .. " line 41 (chmod 0700 PGDATA, initdb needs an empty dir)" },
      },
    },
  },
}
