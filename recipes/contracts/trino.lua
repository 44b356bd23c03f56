-- trinodb/trino:476 — trinodb/trino core/docker (Dockerfile, bin/run-trino,
-- bin/health-check, default/etc), built by core/docker/build.sh from the
-- release tag 476.  NOT read at tag 476: the trinodb/trino snapshot is
-- 531 MB, over the 500 MB the fetch tool brings here, so the tag and its
-- commit cannot be resolved; the search index holds these files only at the
-- undated commits named per fact (the Dockerfile read is the eclipse-temurin
-- 17 one at 0516d973c1, an older release line).  What is stated here is what
-- every stored version agrees on — uid/gid 1000, /data/trino and /etc/trino
-- owned by trino, USER trino:trino, CMD run-trino, EXPOSE 8080, health-check
-- asking /v1/info for "starting": false — not the 476 base image, Java
-- version or package list.  In particular curl (used by health-check) is
-- installed by the Dockerfile read, but is not verified for 476.
local D = "trinodb/trino core/docker/Dockerfile @ 0516d973c1 (not tag 476)"
local R = "trinodb/trino core/docker/bin/run-trino @ 1dde41842b (not tag 476)"
local H = "trinodb/trino core/docker/bin/health-check @ 842f388d19 (not tag 476)"
local J = "trinodb/trino core/docker/default/etc/jvm.config @ 0a40d1ced6 (not tag 476)"
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
        { "groupadd trino --gid 1000; useradd trino --uid 1000 --gid 1000 --create-home; mkdir -p /usr/lib/trino /data/trino; chown -R trino:trino /usr/lib/trino /data/trino", D },
        { "apt-get install less python3 curl; CLI jar as /usr/bin/trino; default/etc copied to /etc/trino owned by trino", D },
        { "EXPOSE 8080; USER trino:trino; CMD /usr/lib/trino/bin/run-trino; HEALTHCHECK /usr/lib/trino/bin/health-check; no VOLUME", D },
        { "run-trino: launcher run --etc-dir /etc/trino, -Dnode.id=$HOSTNAME unless node.properties sets node.id; writes nothing under /etc", R },
        { "health-check (bash): curl --fail --insecure http(s)://localhost:<port from /etc/trino/config.properties>/v1/info, healthy when \"starting\": false", H },
        { "jvm.config: -XX:InitialRAMPercentage=80 -XX:MaxRAMPercentage=80 -XX:ReservedCodeCacheSize=256M -XX:+ExitOnOutOfMemoryError", J },
        { "node.data-dir=/data/trino (node.properties)", "trinodb/trino core/docker/default/etc/node.properties @ 029c93b693 (not tag 476)" },
        { "read-only root: the server writes node.data-dir and /tmp only", R },
        { "noexec /tmp: JNI libraries (e.g. snappy/zstd for Parquet/ORC readers, jffi) unpack to java.io.tmpdir", J },
        { "dropped capabilities: none needed (non-root)", D },
        { "Kubernetes: numeric USER 1000 given by the recipe; /data/trino on a fresh emptyDir needs fsGroup 1000", D },
      },
    },
  },
}
