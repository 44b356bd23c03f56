-- quay.io/jupyter/pyspark-notebook:spark-3.5.3 — jupyter/docker-stacks
-- images/{docker-stacks-foundation,base-notebook,pyspark-notebook}.  The tag
-- is a moving one: every build of main pushes spark-<installed version>.
-- setup_spark.py installed Spark 3.5.3 until b7441822 ("Start using
-- spark4-preview versions", 2024-10-22) made it install the 4.0 previews,
-- so the last spark-3.5.3 image was built from its parent 2f1cf2a2
-- (2024-10-20), whose images/ tree is the same as c4cb04ec (2024-10-19, the
-- last change to images/ before it).  Read at 2f1cf2a2.
local S = "jupyter/docker-stacks images/%s @ 2f1cf2a2 (last spark-3.5.3 build)"
local F, B, P = S:format("docker-stacks-foundation/Dockerfile"), S:format("base-notebook/Dockerfile"),
  S:format("pyspark-notebook/Dockerfile")
local ST = S:format("docker-stacks-foundation/start.sh")
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
        { "FROM ubuntu:24.04; ARG NB_USER=jovyan NB_UID=1000 NB_GID=100; the base image's uid-1000 user is deleted, then useradd --uid 1000 --no-user-group jovyan (group users, 100); chmod g+w /etc/passwd", F .. " lines 6-13, 73-87" },
        { "apt-get install bzip2 ca-certificates locales netbase sudo tini wget (no curl); bash is the SHELL", F .. " lines 17, 24-42" },
        { "USER 1000; ARG PYTHON_VERSION=3.11 installed into /opt/conda (on PATH); mkdir /home/jovyan/work and fix-permissions (group 100, g+rwX, setgid dirs)", F .. " lines 89-96, 110-137" },
        { "ENTRYPOINT tini -g -- start.sh; final USER 1000, WORKDIR /home/jovyan", F .. " lines 140-156" },
        { "JUPYTER_PORT=8888, EXPOSE 8888; CMD start-notebook.py; HEALTHCHECK /etc/jupyter/docker_healthcheck.py every 3s", B .. " lines 54-77" },
        { "start-notebook.py runs jupyter lab (DOCKER_STACKS_JUPYTER_CMD); the server reads its token from JUPYTER_TOKEN itself", S:format("base-notebook/start-notebook.py") .. " lines 18-30" },
        { "openjdk-17-jre-headless; SPARK_HOME=/usr/local/spark with its bin on PATH (spark-submit); SPARK_OPTS driver -Xmx4096M by default (PYSPARK_SUBMIT_ARGS sets deloc's size); EXPOSE 4040", P .. " lines 19-48, 73" },
        { "start.sh as non-root: no chown, no sudo; only adds an /etc/passwd entry when the uid has none, then runs the command as the current user", ST .. " lines 57, 197-213" },
        { "no _FILE support in start.sh; deloc exports JUPYTER_TOKEN from the secret file in its own start command", ST },
        { "read-only root: the server writes runtime files, settings and caches under $HOME: not read-only", F .. " line 58 (HOME=/home/jovyan)" },
        { "Python 3.11 in the foundation image of the spark-3.5.3 builds (ARG PYTHON_VERSION=3.11; 3.12 only from a096c2b1, 2024-10-23); apache/spark:3.5.3's python3 is Ubuntu 20.04's 3.8; PySpark's worker.py raises PYTHON_VERSION_MISMATCH when they differ, so spark = cluster cannot run Python code on the workers", F .. " line 92; apache/spark-docker 3.5.3/scala2.12-java11-python3-ubuntu/Dockerfile @ e498bfc (FROM eclipse-temurin:11-jre-focal)" },
        { "dropped capabilities: none needed when started as 1000 (sudo and chown only as root)", ST .. " line 57" },
        { "Kubernetes: fsGroup 100 makes a fresh work volume group-writable for jovyan", F .. " lines 95-96" },
      },
    },
  },
}
