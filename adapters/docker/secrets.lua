-- deloc.adapters.docker.secrets: the project's secret files, as the Docker
-- driver binds them; the code is deloc.secret_files (model: a generated
-- Compose file needs the same files).
return require("deloc.secret_files")
