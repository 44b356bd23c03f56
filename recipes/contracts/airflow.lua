-- apache/airflow:3.0.2 — apache/airflow Dockerfile (the PROD image) and
-- scripts/docker/entrypoint_prod.sh.  The stored files are read at the
-- commits named; the facts used here (uid 50000 gid 0, AIRFLOW_HOME,
-- entrypoint behaviour, *_CMD support) hold across 2.x and 3.0.
local E = "apache/airflow scripts/docker/entrypoint_prod.sh @ 424b6e9c05"
local D = "apache/airflow Dockerfile (ARG AIRFLOW_UID=\"50000\", AIRFLOW_HOME=/opt/airflow, AIRFLOW_USER_HOME_DIR=/home/airflow)"
return {
  recipe = "airflow",
  images = {
    ["apache/airflow:3.0.2"] = {
      user = "50000:0",
      users = { "50000:0" },
      env = {
        CONNECTION_CHECK_MAX_COUNT = "entrypoint: how often to wait for the database (0: no wait)",
        DUMB_INIT_SETSID = "dumb-init (the image's init) signals only the child, not its session, when 0",
      },
      env_patterns = { "^AIRFLOW__[A-Z_]+__[A-Z_]+$" },
      cmd_env = {
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD = "sensitive option: Airflow runs the command for the value",
        AIRFLOW__CELERY__BROKER_URL_CMD = "sensitive option (_CMD)",
        AIRFLOW__CELERY__RESULT_BACKEND_CMD = "sensitive option (_CMD)",
        AIRFLOW__CORE__FERNET_KEY_CMD = "sensitive option (_CMD)",
      },
      paths = {
        ["/opt/airflow/dags"] = { owner = "50000:0", mode = "0775", writes = true },
        ["/opt/airflow/logs"] = { owner = "50000:0", mode = "0775", writes = true },
      },
      writes = { "/opt/airflow", "/home/airflow", "/tmp" },
      tools = { "bash", "sh", "cat", "python", "airflow", "celery", "curl", "printf", "nc" },
      ports = { [8080] = "api-server", [8974] = "scheduler health server" },
      exec_tmp = false,
      facts = {
        { "airflow user uid 50000, primary group 0 (OpenShift-style: group 0 owns and can write what the user can)", D },
        { "check_uid_gid: gid must be 0 (uid 50000 with another gid only warns; other uids fail)", E .. " check_uid_gid" },
        { "umask 0002 so volumes stay writable by group 0", E },
        { "CONNECTION_CHECK_MAX_COUNT > 0: 'airflow db check' in a loop before the command", E },
        { "*_CMD variables have priority over plain ones for sensitive options", E .. " create_www_user comment; airflow-core config.yml sensitive options" },
        { "'bash' and 'python' commands are exec'd after the checks; anything else is 'airflow <args>'", E .. " exec_to_bash_or_python_command_if_specified" },
        { "curl is installed in the runtime image (HTTP health check)", D .. " runtime apt-get install ... curl" },
        { "read-only root: Airflow writes logs, airflow.cfg and caches under AIRFLOW_HOME and $HOME: not read-only", D },
        { "dropped capabilities: none needed (non-root)", D },
        { "Kubernetes: runAsUser 50000 with runAsGroup/fsGroup 0 keeps group-0 ownership writable on fresh volumes", D },
      },
    },
  },
}
