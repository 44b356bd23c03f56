-- apache/airflow:3.0.2 — apache/airflow Dockerfile (the PROD image, built
-- from the 3.0.2 release tag) and scripts/docker/entrypoint_prod.sh (copied
-- to /entrypoint).  NOT read at the 3.0.2 tag: the apache/airflow snapshot
-- is 1.27 GB, over the 500 MB the fetch tool brings here, so neither the tag
-- nor its commit can be resolved; the search index holds Dockerfile only at
-- 0060b1a446 (main, ARG AIRFLOW_VERSION="3.3.0") and entrypoint_prod.sh at
-- 424b6e9c05 / 65318caa01 (undated here), and no file containing
-- ARG AIRFLOW_VERSION="3.0.2".  The facts below are the ones these readings
-- agree on and that the image documents for 2.x and 3.x alike (uid 50000
-- gid 0, AIRFLOW_HOME, dags/logs, the entrypoint's checks, *_CMD).
local E = "apache/airflow scripts/docker/entrypoint_prod.sh @ 424b6e9c05 (not the 3.0.2 tag)"
local D = "apache/airflow Dockerfile @ 0060b1a446 (main, 3.3.0; not the 3.0.2 tag)"
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
        { "ARG AIRFLOW_UID=50000, AIRFLOW_HOME=/opt/airflow, AIRFLOW_USER_HOME_DIR=/home/airflow; adduser airflow --uid 50000 --gid 0; mkdir /opt/airflow/dags /opt/airflow/logs; chown -R airflow:0 and chmod -R g+rw the home and AIRFLOW_HOME; chmod g=u /etc/passwd", D .. " main stage" },
        { "runtime apt deps include curl, wget, netcat-openbsd (nc), dumb-init, sudo; python on PATH from /usr/python/bin", D .. " install_os_dependencies.sh get_runtime_apt_deps" },
        { "ENV DUMB_INIT_SETSID=1; WORKDIR /opt/airflow; EXPOSE 8080; USER 50000; ENTRYPOINT dumb-init -- /entrypoint; CMD []", D .. " end of main stage" },
        { "check_uid_gid: gid 0 passes; uid 50000 with another gid only warns; any other uid with gid != 0 exits 1", E .. " check_uid_gid" },
        { "umask 0002 so volumes stay writable by group 0", E },
        { "CONNECTION_CHECK_MAX_COUNT (default 20) > 0: 'airflow db check' in a loop before the command; scheduler and celery also wait for the Celery broker", E },
        { "an unknown uid gets an /etc/passwd line and HOME=/home/airflow (create_system_user_if_missing)", E },
        { "*_CMD variables have priority over plain ones for sensitive options (the entrypoint's own _AIRFLOW_WWW_USER_PASSWORD_CMD; Airflow's config for sql_alchemy_conn, broker_url, result_backend, fernet_key)", E .. " create_www_user comment; airflow-core config.yml sensitive options" },
        { "'bash' and 'python' commands are exec'd after the checks; anything else is 'airflow <args>'", E .. " exec_to_bash_or_python_command_if_specified" },
        { "read-only root: Airflow writes logs, airflow.cfg and caches under AIRFLOW_HOME and $HOME, pip/uv caches under /tmp/.cache: not read-only", D },
        { "dropped capabilities: none needed (USER 50000, no step-down)", D },
        { "Kubernetes: runAsUser 50000 with runAsGroup/fsGroup 0 keeps group-0 ownership writable on fresh volumes", D },
      },
    },
  },
}
