-- apache/spark:3.5.3 — apache/spark-docker, the 3.5.3 directories (the
-- "3.5.3" tag is scala2.12-java17-python3-ubuntu, FROM the
-- scala2.12-java17-ubuntu image), read at 7f2e1f0a96 (the files of a
-- released version are not changed after release).
local S = "apache/spark-docker 3.5.3/%s @ 7f2e1f0a96"
local D, P, E = S:format("scala2.12-java17-ubuntu/Dockerfile"),
  S:format("scala2.12-java17-python3-ubuntu/Dockerfile"), S:format("scala2.12-java17-ubuntu/entrypoint.sh")
return {
  recipe = "spark",
  images = {
    ["apache/spark:3.5.3"] = {
      user = "185:185",
      users = { "185:185" },
      env = {
        SPARK_DAEMON_MEMORY = "heap of the master/worker daemon JVM (spark-class via load-spark-env/spark-daemon)",
        SPARK_WORKER_MEMORY = "memory a worker offers to executors (an executor's heap must fit in it)",
        SPARK_WORKER_CORES = "cores a worker offers to executors",
      },
      paths = {
        ["/opt/spark/work-dir"] = { owner = "185:185", mode = "0775", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
      },
      writes = { "/opt/spark/work", "/opt/spark/work-dir", "/opt/spark/logs", "/tmp" },
      tools = { "sh", "bash", "wget", "cat", "/opt/spark/bin/spark-class", "/opt/spark/bin/spark-submit",
                "tini", "gosu", "python3", "hostname" },
      ports = { [7077] = "master RPC", [8080] = "master UI", [8081] = "worker UI" },
      exec_tmp = true,
      facts = {
        { "ARG spark_uid=185; groupadd --system --gid=185 spark; useradd --system --uid=185 --gid=spark spark", D .. " lines 17-22" },
        { "apt-get install gnupg2 wget bash tini libc6 libpam-modules krb5-user libnss3 procps net-tools gosu libnss-wrapper (wget for the HTTP health check; no curl)", D .. " line 26" },
        { "chown -R spark:spark /opt/spark; WORKDIR /opt/spark/work-dir (chmod g+w); USER spark; ENTRYPOINT /opt/entrypoint.sh", D .. " lines 27-81" },
        { "entrypoint: 'driver' and 'executor' are Kubernetes modes; anything else runs as given (exec \"$@\"), so spark-class Master/Worker run in the foreground", E .. " case \"$1\"" },
        { "python3 and pip added for PySpark", P },
        { "the worker writes application jars and logs under SPARK_WORKER_DIR (default $SPARK_HOME/work), executors spill to spark.local.dir (/tmp): not read-only", "apache/spark core Worker.scala (workDir default sparkHome/work) @ v3.5.3" },
        { "an application's spark.executor.memory defaults to 1g; a worker whose SPARK_WORKER_MEMORY is smaller never launches its executor and the job waits", "apache/spark docs/configuration.md spark.executor.memory @ v3.5.3" },
        { "noexec /tmp: snappy/zstd/lz4 native codecs of shuffle and Parquet unpack to /tmp and load", "apache/spark core (spark.io.compression.codec lz4/zstd) @ v3.5.3" },
        { "RPC messages are delivered by the receiving endpoint's name only (Dispatcher.postRemoteMessage), so a master bound to its own address answers spark://<any name for it>:7077", "apache/spark core/src/main/scala/org/apache/spark/rpc/netty/Dispatcher.scala @ v3.5.3" },
        { "hostname (Ubuntu's essential hostname package, in the base image) gives the container's address with -i", D .. " (FROM eclipse-temurin:17-jammy)" },
        { "dropped capabilities: none needed (non-root user 185)", D },
        { "Kubernetes: numeric USER via the image's uid 185 set explicitly by the recipe; no data volumes", D },
      },
    },
  },
}
