-- quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z — minio/minio at tag
-- RELEASE.2025-04-22T22-12-26Z (commit 0d7408fc9969caf07de6a8c3a84f9fbb10a6739e):
-- Dockerfile.release and dockerscripts/docker-entrypoint.sh.
-- quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z — minio/mc at tag
-- RELEASE.2025-04-16T18-13-26Z (commit b00526b153a31b36767991a4f5ce2cced435ee8e):
-- Dockerfile.release, cmd/config.go, cmd/flags.go.
-- (Both commits resolved from the tags in the stored snapshots.)  The mc
-- binary inside the server image is not the tagged mc: its Dockerfile
-- downloads dl.min.io's latest mc at build time.
-- Both final stages are Red Hat ubi9/ubi-micro: its package set (bash,
-- coreutils-single, sed; no grep, no wget, no package manager) is Red Hat's,
-- not in these repositories.
local S = "minio/minio %s @ RELEASE.2025-04-22T22-12-26Z (0d7408fc99)"
local SD, SE = S:format("Dockerfile.release"), S:format("dockerscripts/docker-entrypoint.sh")
local M = "minio/mc %s @ RELEASE.2025-04-16T18-13-26Z (b00526b153)"
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
        { "final stage FROM registry.access.redhat.com/ubi9/ubi-micro:latest; no USER: runs as root", SD .. " line 37" },
        { "ENV MINIO_ACCESS_KEY_FILE=access_key MINIO_SECRET_KEY_FILE=secret_key MINIO_ROOT_USER_FILE=access_key MINIO_ROOT_PASSWORD_FILE=secret_key MINIO_KMS_SECRET_KEY_FILE=kms_master_key MINIO_CONFIG_ENV_FILE=config.env MC_CONFIG_DIR=/tmp/.mc", SD .. " lines 49-56" },
        { "chmod -R 777 /usr/bin; copies minio, mc (dl.min.io latest at build time, not a pinned mc release) and a static curl into /usr/bin; EXPOSE 9000; VOLUME /data; ENTRYPOINT /usr/bin/docker-entrypoint.sh; CMD minio", SD .. " lines 24-27, 58-73" },
        { "entrypoint (#!/bin/sh) prepends 'minio' to any non-empty command whose first word is not 'minio' (so a command is only ever arguments to minio); switches user (chroot --userspec) only with MINIO_USERNAME and MINIO_GROUPNAME set, else exec", SE .. " lines 4-26" },
        { "*_FILE names are read from /run/secrets/NAME when that file exists, else as a path; a missing file is ignored", S:format("cmd/common-main.go") .. " lines 632-648 (readFromSecret, loadEnvVarsFromFiles)" },
        { "read-only root: writes /data, $HOME/.minio (certs dir) and /tmp", S:format("cmd/config-dir.go") .. " lines 29, 49-60 (certs dir $HOME/.minio/certs)" },
        { "dropped capabilities: root writes its own root-owned /data without CAP_DAC_OVERRIDE", SD .. " line 70" },
        { "Kubernetes: root (uid 0) cannot pass runAsNonRoot; the volume root is root-owned, so a non-root uid would need fsGroup: recipe is restricted = false", SD .. " lines 37, 70" },
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
        { "FROM registry.access.redhat.com/ubi9/ubi-micro:latest; ADD dl.minio.io mc.${RELEASE} to /usr/bin/mc; ENTRYPOINT [\"mc\"]; no USER: root; no ENV (MC_CONFIG_DIR unset)", MD .. " lines 5-24" },
        { "config dir: --config-dir / MC_CONFIG_DIR, else $HOME/.mc; initMC writes config.json (creating the dir 0700) and the share dir whenever they are missing, on every command", M:format("cmd/config.go") .. " lines 36-88; " .. M:format("cmd/flags.go") .. " lines 35-40; " .. M:format("cmd/main.go") .. " lines 264-280, 355-373" },
        { "MC_HOST_<alias>=URL-with-credentials defines an alias from the environment", M:format("cmd/config.go line 269") },
        { "dropped capabilities: root's home in ubi-micro (/root, mode 0550) is not writable without CAP_DAC_OVERRIDE, so mc fails to save its config unless MC_CONFIG_DIR points somewhere writable", MD .. " (base image /root mode from Red Hat's ubi-micro filesystem package)" },
      },
    },
  },
}
