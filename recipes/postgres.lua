-- PostgreSQL, official image (Debian bookworm variant).
--
-- User: the image's entrypoint starts as root only to chown PGDATA and then
-- drops to `postgres` (uid 999, gid 999) with gosu.  Started directly as
-- 999:999 it skips that step, which works because the image creates
-- /var/lib/postgresql/data owned by 999 with mode 1777 and a fresh Docker
-- volume copies that ownership.  On Kubernetes a new volume is root-owned:
-- the pod needs fsGroup 999 (the adapter sets fsGroup from the gid) and,
-- because a fresh volume may hold lost+found, a subPath for the data.  That
-- directory is the kubelet's (root, group 999, g+rwx), and initdb must own
-- PGDATA (it chmods it 0700: "could not change permissions of directory
-- ...: Operation not permitted" on a real kubelet), so PGDATA is a
-- subdirectory that initdb creates itself, as the image's documentation
-- advises for mount points (docker-library/docs, postgres/content.md, PGDATA).
--
-- Read-only root: the server writes only PGDATA, its socket directory and
-- /tmp, so those are a volume and two tmpfs mounts.
--
-- Passwords on loopback too: initdb's default pg_hba.conf trusts host
-- connections from 127.0.0.1 and ::1, and `kubectl port-forward` (the way in
-- that the Kubernetes target prints) arrives at the server from 127.0.0.1 in
-- the pod, so any password logged in.  --auth-host=scram-sha-256 makes those
-- lines ask for the password; the socket stays trusted for the entrypoint.
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
  -- *.sql, *.sql.gz and *.sh run by the entrypoint on the first start (empty PGDATA)
  mounts = { initdb = { path = "/docker-entrypoint-initdb.d", description = "init scripts" } },
  tmpfs = { "/tmp", "/var/run/postgresql" },
  secrets = { password = { length = 24 } },
  env = function(s)
    return {
      POSTGRES_USER = "deloc",
      POSTGRES_DB = "deloc",
      POSTGRES_PASSWORD_FILE = s.secret_file("password"),
      POSTGRES_INITDB_ARGS = "--auth-host=scram-sha-256",
      PGDATA = "/var/lib/postgresql/data/pgdata",
    }
  end,
  health = {
    exec = { "pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "deloc", "-d", "deloc" },
    interval = "5s", timeout = "3s", retries = 12, start_period = "10s",
  },
  -- a real query over TCP with the password, as a client would
  smoke = {
    exec = { "sh", "-c",
      'PGPASSWORD="$(cat /run/secrets/postgres.password)" exec psql -h 127.0.0.1 -U deloc -d deloc -tAc "select 1"' },
    expect = "1", timeout = "20s",
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
  exports = {
    DATABASE_URL = "postgresql://deloc:{secret_url:password}@{host}:{port:postgres}/deloc",
    PGHOST = "{host}", PGPORT = "{port:postgres}", PGUSER = "deloc",
    PGPASSWORD = "{secret:password}", PGDATABASE = "deloc",
  },
  connections = {
    "postgresql://deloc:{secret:password}@{host}:{port:postgres}/deloc",
  },
  -- deloc connect: psql with the password in a pgpass file the shell writes
  -- (printf is a builtin, sed reads the secret file: no argv carries it)
  -- into a private 0700 directory on the container's /tmp tmpfs, removed
  -- when psql ends.  The shell stays to clean up; it ignores Ctrl-C (psql
  -- gets the default action back and cancels its query as usual).
  connect = {
    description = "psql as deloc on the deloc database",
    exec = { "sh", "-c", table.concat({
      "umask 077", 'd="$(mktemp -d)" || exit 1', 'trap \'rm -rf "$d"\' EXIT HUP TERM', "trap : INT",
      "{ printf '*:*:*:*:'; sed 's/[\\\\:]/\\\\&/g' /run/secrets/postgres.password; } > \"$d/pgpass\"",
      'PGPASSFILE="$d/pgpass" psql -h 127.0.0.1 -p 5432 -U deloc -d deloc "$@"',
    }, "\n"), "sh" },
  },
}
