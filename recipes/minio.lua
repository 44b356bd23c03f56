-- MinIO S3-compatible object storage, official quay.io/minio images, plus a
-- one-shot job that creates the buckets with the MinIO client (mc).
--
-- Secret: the root password is read by the server from the file named in
-- MINIO_ROOT_PASSWORD_FILE (MinIO's Docker-secrets support); the bucket job
-- builds MC_HOST_deloc inside its own shell from the same file, so the
-- password is never in the plan, the environment or an argv.
--
-- User: the image runs as root and /data is created root-owned in it, so a
-- fresh volume is not writable by another uid: root, no capabilities (it
-- needs none to write its own files), restricted = false.  The root
-- filesystem can be read-only: the server writes /data, its certs directory
-- under $HOME/.minio and /tmp.
--
-- mc saves its configuration in MC_CONFIG_DIR, else ~/.mc.  The mc image
-- runs as root and root's home is not writable without CAP_DAC_OVERRIDE,
-- which deloc drops, so the bucket job points MC_CONFIG_DIR at a tmpfs (the
-- server image sets MC_CONFIG_DIR=/tmp/.mc itself).  Facts and sources:
-- recipes/contracts/minio.lua.
--
-- Buckets: option `buckets`, a comma-separated list (default "deloc").
local function bucket_list(opt)
  local raw = opt.buckets or "deloc"
  local names = {}
  for name in (raw .. ","):gmatch("%s*([^,]-)%s*,") do
    if name ~= "" then names[#names + 1] = name end
  end
  return names
end

local function valid_bucket(b)
  return b:match("^[a-z0-9][a-z0-9.-]*[a-z0-9]$") and #b >= 3 and #b <= 63
end

return recipe "minio" {
  description = "MinIO S3-compatible object storage (with bucket creation)",
  category = "storage",
  image = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
  options = {
    buckets = { default = "deloc", description = "comma-separated buckets to create" },
  },
  secrets = { password = { length = 32 } },
  components = {
    server = {
      command = { "server", "/data", "--address", ":9000", "--console-address", ":9001" },
      ports = {
        api = { port = 9000, http = true },
        console = { port = 9001, http = true },
      },
      volumes = {
        data = { path = "/data", data = true, size = "10Gi" },
      },
      tmpfs = { "/tmp", "/root/.minio" },
      env = function(s)
        return {
          MINIO_ROOT_USER = "deloc",
          MINIO_ROOT_PASSWORD_FILE = s.secret_file("password"),
        }
      end,
      -- an object written to and read back from the first bucket, with the
      -- mc that the server image ships (MC_CONFIG_DIR=/tmp/.mc in its ENV)
      smoke = {
        exec = function(s)
          local bucket = bucket_list(s.options)[1] or "deloc"
          if not valid_bucket(bucket) then
            return { "sh", "-c", "echo 'minio: the first bucket name is not valid' >&2; exit 1" }
          end
          return { "sh", "-c", 'set -e\n' ..
            ('MC_HOST_smoke="http://deloc:$(cat %s)@127.0.0.1:9000"\n'):format(s.secret_file("password")) ..
            'export MC_HOST_smoke\n' ..
            ("echo deloc-smoke-ok | mc pipe 'smoke/%s/deloc-smoke.txt' >/dev/null\n"):format(bucket) ..
            ("mc cat 'smoke/%s/deloc-smoke.txt'\n"):format(bucket) ..
            ("mc rm 'smoke/%s/deloc-smoke.txt' >/dev/null\n"):format(bucket) }
        end,
        expect = "deloc-smoke-ok", timeout = "30s",
      },
      -- ready = the node can serve reads and writes (quorum reached), not
      -- merely that the process answers (/minio/health/live)
      health = { http = { port = "api", path = "/minio/health/ready" },
                 interval = "5s", timeout = "3s", retries = 12, start_period = "5s" },
      resources = {
        minimal     = { memory = "256Mi", cpu = 0.25 },
        development = { memory = "512Mi", cpu = 0.5 },
        production  = { memory = "2Gi",   cpu = 2 },
        min = { memory = "192Mi", cpu = 0.1 },
        max = { memory = "16Gi", cpu = 8 },
        disk = "10Gi",
      },
      read_only = true,
    },
    buckets = {
      oneshot = true,
      image = "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z",
      depends_on = { "server" },
      entrypoint = { "/bin/sh", "-c" },
      env = { MC_CONFIG_DIR = "/tmp/.mc" },
      tmpfs = { "/tmp" },
      command = function(s)
        local script = 'set -e\n' ..
          ('MC_HOST_deloc="http://deloc:$(cat %s)@%s:9000"\n'):format(
            s.secret_file("password"), s.host("minio", "server")) ..
          'export MC_HOST_deloc\n'
        local names = bucket_list(s.options)
        for i = 1, #names do
          local b = names[i]
          if valid_bucket(b) then
            script = script .. ("mc mb --ignore-existing 'deloc/%s'\n"):format(b)
          else
            -- fail the job with a readable message; quotes are masked out
            script = script .. ("echo 'minio: invalid bucket name (want 3-63 of a-z 0-9 . -): %s' >&2; exit 1\n"):format(
              (b:gsub("[^%w.%- _]", "?")))
          end
        end
        return { script }
      end,
      resources = {
        minimal     = { memory = "64Mi",  cpu = 0.1 },
        development = { memory = "64Mi",  cpu = 0.1 },
        production  = { memory = "128Mi", cpu = 0.25 },
        min = { memory = "32Mi", cpu = 0.05 },
        max = { memory = "256Mi", cpu = 1 },
      },
      read_only = true,  -- mc writes only MC_CONFIG_DIR, on the tmpfs
    },
  },
  user = nil,
  capabilities = { },
  restricted = false,
  restricted_reason = "the minio image runs as root and its /data is root-owned",
  exports = {
    AWS_ENDPOINT_URL = "http://{host}:{port:api}", AWS_ACCESS_KEY_ID = "deloc",
    AWS_SECRET_ACCESS_KEY = "{secret:password}", AWS_REGION = "us-east-1",
  },
  connections = {
    "http://deloc:{secret:password}@{host}:{port:api}",
    "http://{host}:{port:console}",
  },
  -- deloc connect: mc in the server container (the image ships it on PATH:
  -- minio/minio Dockerfile.release, /opt/bin/mc) with MC_HOST_deloc built
  -- inside its shell from the secret file, as the bucket job does; its
  -- configuration goes to the tmpfs /tmp (the root is read-only).  No
  -- arguments: list the buckets.
  connect = {
    description = "mc with the alias deloc (deloc connect minio -- ls deloc/BUCKET)",
    component = "server",
    exec = { "sh", "-c", 'MC_HOST_deloc="http://deloc:$(cat /run/secrets/minio.password)@127.0.0.1:9000"; '
      .. 'export MC_HOST_deloc; [ $# -gt 0 ] || set -- ls deloc; exec mc --config-dir /tmp/.mc "$@"', "sh" },
  },
}
