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
  resources = {
    minimal     = { memory = "1Gi",  cpu = 0.5 },
    development = { memory = "2Gi",  cpu = 1 },
    production  = { memory = "8Gi",  cpu = 4 },
    min = { memory = "1Gi", cpu = 0.25 },
    max = { memory = "64Gi", cpu = 32 },
    disk = "1Gi",
  },
  jvm = { heap_ratio = 0.7 },
  user = "1000:1000",
  read_only = true,
  capabilities = { },
  restricted = true,
  connections = {
    "http://{host}:{port:http}",
    "trino://deloc@{host}:{port:http}/tpch",
  },
}
