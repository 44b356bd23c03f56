-- Trino distributed SQL query engine, official trinodb/trino image, one node
-- acting as coordinator and worker (the image's default configuration, with
-- the tpch, tpcds, memory and jmx catalogs).
--
-- Heap: the image's jvm.config sizes the heap with -XX:MaxRAMPercentage=80;
-- an explicit -Xmx wins over that (JVM ergonomics only apply when MaxHeapSize
-- is not set), so the planned heap is passed through JAVA_TOOL_OPTIONS, which
-- the JVM reads before its command line.  Query memory per node defaults to
-- 30% of that heap.
--
-- Health: the image's own /usr/lib/trino/bin/health-check, which asks
-- /v1/info and succeeds only when it says "starting":false — the HTTP server
-- answers well before the node accepts queries.
--
-- User and files: the image runs as `trino` (uid 1000, gid 1000) and owns
-- /data/trino (node.data-dir) and /etc/trino; it writes nothing else but /tmp,
-- so the root filesystem can be read-only.
return recipe "trino" {
  description = "Trino distributed SQL query engine (single node)",
  category = "query",
  image = "trinodb/trino:476",
  ports = { http = { port = 8080, http = true } },
  -- replaces the image's default catalogs (tpch, tpcds, memory, jmx)
  mounts = { catalogs = { path = "/etc/trino/catalog", description = "catalog .properties files" } },
  volumes = {
    data = { path = "/data/trino", data = false, size = "1Gi" },
  },
  tmpfs = { "/tmp" },
  env = function(s)
    return {
      JAVA_TOOL_OPTIONS = ("-Xmx%dm"):format(s.heap_mb or 700),
    }
  end,
  health = {
    exec = { "/usr/lib/trino/bin/health-check" },
    interval = "10s", timeout = "5s", retries = 30, start_period = "30s",
  },
  -- a query through the image's CLI (a JVM of its own: a small heap, not
  -- the server's JAVA_TOOL_OPTIONS)
  smoke = {
    exec = { "sh", "-c", "JAVA_TOOL_OPTIONS=-Xmx128m exec trino --server http://127.0.0.1:8080" ..
      " --execute 'select count(*) from tpch.tiny.nation' 2>/dev/null" },
    expect = "25", timeout = "120s",
  },
  -- 2 GiB: 1.4 GiB of heap leaves the default 30% query memory a first real
  -- query needs; the code cache, metaspace and threads live outside it
  resources = {
    minimal     = { memory = "2Gi",  cpu = 0.5 },
    development = { memory = "2Gi",  cpu = 1 },
    production  = { memory = "8Gi",  cpu = 4 },
    min = { memory = "2Gi", cpu = 0.25 },
    max = { memory = "64Gi", cpu = 32 },
    disk = "1Gi",
  },
  jvm = { heap_ratio = 0.7 },
  user = "1000:1000",
  read_only = true,
  capabilities = { },
  restricted = true,
  exports = { TRINO_HOST = "{host}", TRINO_PORT = "{port:http}", TRINO_URL = "http://{host}:{port:http}" },
  connections = {
    "http://{host}:{port:http}",
    "trino://deloc@{host}:{port:http}/tpch",
  },
  -- deloc connect: the image's CLI (/usr/bin/trino, trinodb/trino
  -- core/docker/Dockerfile) against this node; no password (no auth).
  connect = {
    description = "the trino CLI as deloc on the tpch catalog",
    exec = { "trino", "--server", "http://127.0.0.1:8080", "--user", "deloc", "--catalog", "tpch" },
  },
}
