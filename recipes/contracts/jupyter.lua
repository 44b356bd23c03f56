-- quay.io/jupyter/pyspark-notebook:spark-3.5.3 — jupyter/docker-stacks
-- images/{docker-stacks-foundation,base-notebook,pyspark-notebook}, read at
-- 8209386950 (the foundation's user and start scripts are unchanged for the
-- spark-3.5.3 build).
local S = "jupyter/docker-stacks images/%s @ 8209386950"
local F, B, P = S:format("docker-stacks-foundation/Dockerfile"), S:format("base-notebook/Dockerfile"),
  S:format("pyspark-notebook/Dockerfile")
return {
  recipe = "jupyter",
  images = {
    ["quay.io/jupyter/pyspark-notebook:spark-3.5.3"] = {
      user = "1000:100",
      users = { "1000:100" },
      env = {
        JUPYTER_TOKEN = "the server's access token (ServerApp / IdentityProvider token default)",
        PYSPARK_SUBMIT_ARGS = "arguments pyspark's launcher passes to spark-submit (driver memory, master)",
        MASTER = "spark-submit's default --master",
      },
      paths = {
        ["/home/jovyan/work"] = { owner = "1000:100", mode = "2775", writes = true },
      },
      writes = { "/home/jovyan", "/tmp" },
      tools = { "sh", "bash", "wget", "python3", "start-notebook.py", "start.sh", "tini", "spark-submit", "hostname" },
      ports = { [8888] = "Jupyter server", [4040] = "Spark driver UI" },
      exec_tmp = true,
      facts = {
        { "NB_USER=jovyan NB_UID=1000 NB_GID=100; useradd --uid 1000 --no-user-group (group users, 100)", F .. " lines 20-88" },
        { "apt-get install ... tini wget (no curl)", F .. " lines 37-49" },
        { "mkdir /home/jovyan/work; fix-permissions (group 100, g+rwX, setgid dirs)", F .. " lines 108-109" },
        { "ENTRYPOINT tini -g -- start.sh; USER 1000", F .. " lines 102-162" },
        { "JUPYTER_PORT=8888; CMD start-notebook.py; HEALTHCHECK docker_healthcheck.py", B .. " lines 59-77" },
        { "SPARK_HOME=/usr/local/spark on PATH; SPARK_OPTS driver -Xmx4096M by default (PYSPARK_SUBMIT_ARGS sets deloc's size)", P .. " lines 41-43" },
        { "start.sh as non-root: no chown, no user changes; runs the command as the current user", S:format("docker-stacks-foundation/start.sh") .. " line 49 ff." },
        { "read-only root: the server writes runtime files, settings and caches under $HOME: not read-only", F },
        { "Python 3.11 in the foundation image of the spark-3.5.3 builds (ARG PYTHON_VERSION=3.11); apache/spark:3.5.3's python3 is Ubuntu 20.04's 3.8; PySpark's worker.py raises PYTHON_VERSION_MISMATCH when they differ, so spark = cluster cannot run Python code on the workers", "jupyter/docker-stacks images/docker-stacks-foundation/Dockerfile @ c4cb04ec37 (2024-10-19); apache/spark-docker 3.5.3/scala2.12-java11-python3-ubuntu/Dockerfile @ e498bfc (FROM eclipse-temurin:11-jre-focal)" },
        { "dropped capabilities: none needed when started as 1000", F },
        { "Kubernetes: fsGroup 100 makes a fresh work volume group-writable for jovyan", F },
      },
    },
  },
}
