-- Apache ZooKeeper, official Docker image, single node.
--
-- A coordination service of its own (kafka runs KRaft and does not need it).
-- The image's entrypoint drops from root to `zookeeper` (uid 1000, gid 1000)
-- with gosu; started as 1000:1000 it skips that, which works because /data,
-- /datalog, /logs and /conf are created owned by that user in the image.
-- Not read-only: the entrypoint writes /conf/zoo.cfg on first start and
-- /conf also holds the logging configuration shipped with the image, so it
-- cannot be replaced by a tmpfs.
--
-- Health: the `srvr` four-letter word answers "Mode: standalone" only once
-- the server is serving requests ("not currently serving" before); nc is in
-- the image.  The heap comes from ZK_SERVER_HEAP (MB), which zkEnv.sh turns
-- into -Xmx for the server JVM only.
return recipe "zookeeper" {
  description = "Apache ZooKeeper coordination service (for Kafka in ZooKeeper mode)",
  category = "coordination",
  image = "zookeeper:3.9.3",
  ports = {
    client = 2181,
    admin = { port = 8080, publish = false, http = true },
  },
  volumes = {
    data = { path = "/data", data = true, size = "512Mi" },
    datalog = { path = "/datalog", data = true, size = "512Mi" },
    -- an image VOLUME: mounted here so it is the project's (labelled, removed
    -- by down --volumes) rather than an anonymous volume per container
    logs = { path = "/logs", data = false, size = "256Mi" },
  },
  env = function(s)
    return {
      ZK_SERVER_HEAP = ("%d"):format(s.heap_mb),
      ZOO_4LW_COMMANDS_WHITELIST = "srvr,ruok,mntr",
      ZOO_AUTOPURGE_PURGEINTERVAL = "24",
      ZOO_STANDALONE_ENABLED = "true",
    }
  end,
  health = {
    exec = { "sh", "-c", "echo srvr | nc -w 2 127.0.0.1 2181 | grep -q '^Mode: '" },
    interval = "5s", timeout = "4s", retries = 12, start_period = "10s",
  },
  -- a znode created, read back and deleted with the image's zkCli.sh (a JVM
  -- of its own: ZK_SERVER_HEAP applies to the server only)
  smoke = {
    exec = { "bash", "-c", [[
P=/deloc-smoke-$$
zkCli.sh -server 127.0.0.1:2181 create "$P" deloc-smoke-ok >/dev/null 2>&1
out=$(zkCli.sh -server 127.0.0.1:2181 get "$P" 2>/dev/null)
zkCli.sh -server 127.0.0.1:2181 delete "$P" >/dev/null 2>&1
echo "$out" | grep -x deloc-smoke-ok
]] },
    expect = "deloc-smoke-ok", timeout = "60s",
  },
  resources = {
    minimal     = { memory = "256Mi", cpu = 0.25 },
    development = { memory = "512Mi", cpu = 0.5 },
    production  = { memory = "1Gi",   cpu = 1 },
    min = { memory = "192Mi", cpu = 0.1 },
    max = { memory = "4Gi", cpu = 2 },
    disk = "1Gi",
  },
  jvm = { heap_ratio = 0.6 },
  user = "1000:1000",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { ZOOKEEPER_CONNECT = "{host}:{port:client}" },
  connections = { "{host}:{port:client}" },
}
