-- PostgreSQL, official image (Debian bookworm variant).
--
-- User: the image's entrypoint starts as root only to chown PGDATA and then
-- drops to `postgres` (uid 999, gid 999) with gosu.  Started directly as
-- 999:999 it skips that step, which works because the image creates
-- /var/lib/postgresql/data owned by 999 with mode 1777 and a fresh Docker
-- volume copies that ownership.  On Kubernetes a new volume is root-owned:
-- the pod needs fsGroup 999 (the adapter sets fsGroup from the gid) and,
-- because a fresh volume may hold lost+found, a subPath for the data.
--
-- Read-only root: the server writes only PGDATA, its socket directory and
-- /tmp, so those are a volume and two tmpfs mounts.
--
-- Health: pg_isready over TCP to 127.0.0.1, not the socket: during first
-- start the entrypoint runs a temporary server on the socket only (to create
-- the user and database) and then restarts it; a socket check would report
-- ready during that window.
--
-- Tuning (shared_buffers etc.) is left at the server defaults: the e2e test
-- image only honours the entrypoint's environment contract, not extra args.
return recipe "postgres" {
  description = "PostgreSQL relational database",
  category = "database",
  image = "postgres:16.4-bookworm",
  ports = { postgres = 5432 },
  volumes = {
    data = { path = "/var/lib/postgresql/data", data = true, size = "1Gi" },
  },
  tmpfs = { "/tmp", "/var/run/postgresql" },
  secrets = { password = { length = 24 } },
  env = function(s)
    return {
      POSTGRES_USER = "deloc",
      POSTGRES_DB = "deloc",
      POSTGRES_PASSWORD_FILE = s.secret_file("password"),
      PGDATA = "/var/lib/postgresql/data",
    }
  end,
  health = {
    exec = { "pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "deloc", "-d", "deloc" },
    interval = "5s", timeout = "3s", retries = 12, start_period = "10s",
  },
  resources = {
    minimal     = { memory = "256Mi", cpu = 0.25 },
    development = { memory = "512Mi", cpu = 0.5 },
    production  = { memory = "2Gi",   cpu = 2 },
    min = { memory = "128Mi", cpu = 0.1 },
    max = { memory = "16Gi", cpu = 8 },
    disk = "1Gi",
  },
  user = "999:999",
  read_only = true,
  capabilities = { },
  restricted = true,
  -- Custom-format dump on stdout; restore reads it back on stdin.  The
  -- password is read from the secret file inside the container, so the
  -- dump works whatever pg_hba.conf says about local connections.
  backup = {
    exec = { "sh", "-c",
      'PGPASSWORD="$(cat /run/secrets/postgres.password)" exec pg_dump -h 127.0.0.1 -U deloc -Fc deloc' },
    restore = { "sh", "-c",
      'PGPASSWORD="$(cat /run/secrets/postgres.password)" exec pg_restore -h 127.0.0.1 -U deloc -d deloc --clean --if-exists --no-owner' },
  },
  connections = {
    "postgresql://deloc:{secret:password}@{host}:{port:postgres}/deloc",
  },
}
