-- trinodb/trino:476 — trinodb/trino core/docker (Dockerfile, bin/run-trino,
-- bin/health-check, default/etc).  Read at the commits named per file; the
-- image layout (uid 1000, /data/trino, /etc/trino, jvm.config percentages)
-- is the same across the 4xx releases.
local D = "trinodb/trino core/docker/Dockerfile @ 0516d973c1"
local R = "trinodb/trino core/docker/bin/run-trino @ 1dde41842b"
local J = "trinodb/trino core/docker/default/etc/jvm.config @ 0a40d1ced6"
return {
  recipe = "trino",
  images = {
    ["trinodb/trino:476"] = {
      user = "1000:1000",
      users = { "1000:1000" },
      env = {
        JAVA_TOOL_OPTIONS = "read by every JVM before its command line: an -Xmx here wins over jvm.config's MaxRAMPercentage",
      },
      paths = {
        ["/data/trino"] = { owner = "1000:1000", mode = "0755", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
      },
      writes = { "/data/trino", "/tmp" },
      tools = { "sh", "bash", "curl", "python3", "trino", "/usr/lib/trino/bin/health-check",
                "/usr/lib/trino/bin/run-trino" },
      ports = { [8080] = "HTTP (coordinator and worker)" },
      exec_tmp = true,
      facts = {
        { "groupadd trino --gid 1000; useradd trino --uid 1000 --gid 1000; mkdir -p /usr/lib/trino /data/trino; chown -R trino:trino", D },
        { "apt-get install less python3 curl; CLI jar as /usr/bin/trino; default/etc copied to /etc/trino owned by trino", D },
        { "USER trino:trino; CMD run-trino; HEALTHCHECK /usr/lib/trino/bin/health-check", D },
        { "run-trino: launcher run --etc-dir /etc/trino, node.id from $HOSTNAME; writes nothing under /etc", R },
        { "jvm.config: -XX:InitialRAMPercentage=80 -XX:MaxRAMPercentage=80 -XX:ReservedCodeCacheSize=256M -XX:+ExitOnOutOfMemoryError", J },
        { "node.data-dir=/data/trino (node.properties)", "trinodb/trino core/docker/default/etc/node.properties @ 029c93b693" },
        { "read-only root: the server writes node.data-dir and /tmp only", R },
        { "noexec /tmp: JNI libraries (e.g. snappy/zstd for Parquet/ORC readers, jffi) unpack to java.io.tmpdir", J },
        { "dropped capabilities: none needed (non-root)", D },
        { "Kubernetes: numeric USER 1000 given by the recipe; /data/trino on a fresh emptyDir needs fsGroup 1000", D },
      },
    },
  },
}
