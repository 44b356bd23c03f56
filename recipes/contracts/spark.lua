-- apache/spark:3.5.3 — published from apache/spark-docker by its publish
-- workflow; versions.json there gives the tag "3.5.3" to path
-- 3.5.3/scala2.12-java11-python3-ubuntu (Java 11, Ubuntu 20.04 focal, FROM
-- the 3.5.3-scala2.12-java11-ubuntu image) — not a java17 directory.  Read
-- at e498bfc ("[SPARK-49813] Publish Apache Spark 3.5.3 to docker
-- registry", 2024-09-27), the commit that added 3.5.3 and was published;
-- the only later change to these directories, cf333e1 (2024-10-10), rewrites
-- the spark-examples.jar symlink line and changes no fact below.
local S = "apache/spark-docker 3.5.3/%s @ e498bfc (3.5.3)"
local D, P, E = S:format("scala2.12-java11-ubuntu/Dockerfile"),
  S:format("scala2.12-java11-python3-ubuntu/Dockerfile"), S:format("scala2.12-java11-ubuntu/entrypoint.sh")
local V = "apache/spark-docker versions.json @ e498bfc (lines 145-150)"
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
        { "the tag 3.5.3 (also 3.5.3-python3) is 3.5.3/scala2.12-java11-python3-ubuntu", V },
        { "FROM eclipse-temurin:11-jre-focal: Java 11 on Ubuntu 20.04", D .. " line 17" },
        { "ARG spark_uid=185; groupadd --system --gid=185 spark; useradd --system --uid=185 --gid=spark spark", D .. " lines 19-22" },
        { "apt-get install gnupg2 wget bash tini libc6 libpam-modules krb5-user libnss3 procps net-tools gosu libnss-wrapper (wget for the HTTP health check; no curl)", D .. " line 26" },
        { "mkdir /opt/spark/work-dir, chmod g+w; chown -R spark:spark /opt/spark", D .. " lines 27-33" },
        { "SPARK_HOME=/opt/spark; WORKDIR /opt/spark/work-dir; USER spark; ENTRYPOINT /opt/entrypoint.sh; no CMD, no EXPOSE, no VOLUME", D .. " lines 73-81" },
        { "entrypoint: 'driver' and 'executor' are Kubernetes modes (gosu only as root); anything else runs as given (exec \"$@\"), so spark-class Master/Worker run in the foreground as 185", E .. " lines 90-130" },
        { "no _FILE support; the entrypoint reads only SPARK_* and PYSPARK_* variables of the Kubernetes modes", E .. " lines 44-81" },
        { "apt-get install python3 python3-pip for PySpark: focal's Python 3.8", P .. " lines 17-26" },
        { "the worker writes application jars and logs under SPARK_WORKER_DIR (default $SPARK_HOME/work), executors spill to spark.local.dir (/tmp): not read-only", "apache/spark core Worker.scala (workDir default sparkHome/work) @ v3.5.3" },
        { "an application's spark.executor.memory defaults to 1g; a worker whose SPARK_WORKER_MEMORY is smaller never launches its executor and the job waits", "apache/spark docs/configuration.md spark.executor.memory @ v3.5.3" },
        { "noexec /tmp: snappy/zstd/lz4 native codecs of shuffle and Parquet unpack to /tmp and load", "apache/spark core (spark.io.compression.codec lz4/zstd) @ v3.5.3" },
        { "RPC messages are delivered by the receiving endpoint's name only (Dispatcher.postRemoteMessage), so a master bound to its own address answers spark://<any name for it>:7077", "apache/spark core/src/main/scala/org/apache/spark/rpc/netty/Dispatcher.scala @ v3.5.3" },
        { "hostname (Ubuntu's essential hostname package, in the base image) gives the container's address with -i", D .. " line 17 (FROM eclipse-temurin:11-jre-focal)" },
        { "dropped capabilities: none needed (USER spark, uid 185)", D .. " line 79" },
        { "Kubernetes: numeric USER via the image's uid 185 set explicitly by the recipe; no data volumes", D .. " lines 19-22" },
      },
    },
  },
}
