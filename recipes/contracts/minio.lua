-- quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z — minio/minio at tag
-- RELEASE.2025-04-22T22-12-26Z (commit 0d7408fc9969caf07de6a8c3a84f9fbb10a6739e):
-- Dockerfile.release and dockerscripts/docker-entrypoint.sh.
-- quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z — minio/mc at tag
-- RELEASE.2025-04-16T18-13-26Z (commit b00526b153a31b36767991a4f5ce2cced435ee8e):
-- Dockerfile.release, cmd/config.go, cmd/flags.go.
-- Both final stages are Red Hat ubi9/ubi-micro: its package set (bash,
-- coreutils-single, sed; no grep, no wget, no package manager) is Red Hat's,
-- not in these repositories.
local S = "minio/minio %s @ RELEASE.2025-04-22T22-12-26Z"
local SD, SE = S:format("Dockerfile.release"), S:format("dockerscripts/docker-entrypoint.sh")
local M = "minio/mc %s @ RELEASE.2025-04-16T18-13-26Z"
local MD = M:format("Dockerfile.release")
return {
  recipe = "minio",
  images = {
    ["quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"] = {
      user = "0:0",
      users = { "0:0" },
      env = {
        MINIO_ROOT_USER = "root access key (the image's MINIO_ROOT_USER_FILE=access_key is ignored when /run/secrets/access_key does not exist)",
        MC_CONFIG_DIR = "set by the image to /tmp/.mc: where the bundled mc keeps its config",
      },
      env_patterns = { "^MC_HOST_" },
      file_env = { MINIO_ROOT_PASSWORD_FILE = "read by the server (loadEnvVarsFromFiles: relative names under /run/secrets/, else the path)" },
      paths = {
        ["/data"] = { owner = "0:0", mode = "0755", writes = true },
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
        ["/root/.minio"] = { owner = "0:0", mode = "0700", writes = true },
      },
      writes = { "/data", "/tmp", "/root/.minio" },
      volumes = { "/data" },
      tools = { "sh", "bash", "cat", "minio", "mc", "curl", "docker-entrypoint.sh" },
      command_is_args = true,  -- the entrypoint prepends `minio` to the command
      ports = { [9000] = "S3 API", [9001] = "console (--console-address)" },
      exec_tmp = false,
      facts = {
        { "final stage FROM ubi9/ubi-micro; no USER: runs as root", SD },
        { "ENV MINIO_ROOT_USER_FILE=access_key MINIO_ROOT_PASSWORD_FILE=secret_key ... MC_CONFIG_DIR=/tmp/.mc", SD },
        { "copies minio, mc and a static curl into /usr/bin; VOLUME /data; EXPOSE 9000", SD },
        { "entrypoint prepends 'minio' when the first argument is not 'minio'; switches user only with MINIO_USERNAME/MINIO_GROUPNAME", SE },
        { "*_FILE names are read from /run/secrets/NAME when that file exists, else as a path; a missing file is ignored", "minio/minio cmd/common-main.go readFromSecret/loadEnvVarsFromFiles @ RELEASE.2025-04-22T22-12-26Z" },
        { "read-only root: writes /data, $HOME/.minio (certs dir) and /tmp", "minio/minio cmd/common-main.go (certs dir under the home directory)" },
        { "dropped capabilities: root writes its own root-owned /data without CAP_DAC_OVERRIDE", SD },
        { "Kubernetes: root (uid 0) cannot pass runAsNonRoot; the volume root is root-owned, so a non-root uid would need fsGroup: recipe is restricted = false", SD },
      },
    },
    ["quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"] = {
      user = "0:0",
      users = { "0:0" },
      env = { MC_CONFIG_DIR = "config folder (flag --config-dir, env MC_CONFIG_DIR); default $HOME/.mc" },
      env_patterns = { "^MC_HOST_" },
      env_defaults = { MC_CONFIG_DIR = "/root/.mc" },
      paths = {
        ["/tmp"] = { owner = "0:0", mode = "1777", writes = true },
        ["/root"] = { owner = "0:0", mode = "0550" },
      },
      writes = { "MC_CONFIG_DIR" },
      tools = { "sh", "bash", "cat", "mc" },
      ports = {},
      exec_tmp = false,
      facts = {
        { "FROM ubi9/ubi-micro; ADD mc to /usr/bin/mc; ENTRYPOINT [\"mc\"]; no USER: root", MD },
        { "config dir: --config-dir / MC_CONFIG_DIR, else $HOME/.mc created with MkdirAll 0700 on every start (initMC)", M:format("cmd/config.go lines 40-90, cmd/flags.go lines 34-40, cmd/main.go registerBefore") },
        { "MC_HOST_<alias>=URL-with-credentials defines an alias from the environment", M:format("cmd/config.go line 269") },
        { "dropped capabilities: root's home in ubi-micro (/root, mode 0550) is not writable without CAP_DAC_OVERRIDE, so mc fails to save its config unless MC_CONFIG_DIR points somewhere writable", MD .. " (base image /root mode from Red Hat's ubi-micro filesystem package)" },
      },
    },
  },
}
