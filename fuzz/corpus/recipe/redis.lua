-- Redis, official image (Debian bookworm variant).
--
-- The password never appears in the plan, the environment or any argv: the
-- server reads `requirepass` from its configuration on stdin ("redis-server -"),
-- fed by a here-document that reads the secret file; the health check and
-- backup pass it to redis-cli through REDISCLI_AUTH set inside the container.
-- `exec` keeps redis-server as PID 1 so it gets SIGTERM and saves on stop.
--
-- Persistence is RDB snapshots in /data (the image's default policy), which
-- makes backup a consistent SAVE + copy of dump.rdb.  maxmemory is 75% of the
-- container limit with noeviction, so Redis refuses writes with an error
-- instead of being OOM-killed, and never silently drops Celery messages.
--
-- The image runs as uid 999 (redis) once its entrypoint drops root; /data is
-- created owned by 999 in the image, so starting as 999:999 directly works.
local function maxmemory_mb(s)
  local mb = (s.memory_mb or 256) * 0.75
  mb = mb - mb % 1
  if mb < 16 then mb = 16 end
  return mb
end

local AUTH = 'REDISCLI_AUTH="$(cat /run/secrets/redis.password)"; export REDISCLI_AUTH; '

return recipe "redis" {
  description = "Redis in-memory key-value store (cache, Celery broker)",
  category = "cache",
  image = "redis:7.4.2-bookworm",
  ports = { redis = 6379 },
  volumes = {
    data = { path = "/data", data = true, size = "512Mi" },
  },
  tmpfs = { "/tmp" },
  secrets = { password = { length = 24 } },
  command = function(s)
    local script =
      "exec redis-server - --dir /data --port 6379" ..
      (" --maxmemory %dmb --maxmemory-policy noeviction"):format(maxmemory_mb(s)) ..
      " --enable-debug-command local <<EOF\n" ..
      "requirepass $(cat /run/secrets/redis.password)\n" ..
      "EOF\n"
    return { "sh", "-c", script }
  end,
  health = {
    exec = { "sh", "-c", AUTH .. "redis-cli -h 127.0.0.1 -p 6379 PING | grep -q PONG" },
    interval = "5s", timeout = "3s", retries = 10, start_period = "5s",
  },
  resources = {
    minimal     = { memory = "64Mi",  cpu = 0.1 },
    development = { memory = "256Mi", cpu = 0.25 },
    production  = { memory = "1Gi",   cpu = 1 },
    min = { memory = "32Mi", cpu = 0.05 },
    max = { memory = "16Gi", cpu = 4 },
    disk = "512Mi",
  },
  user = "999:999",
  read_only = true,
  capabilities = { },
  restricted = true,
  -- SAVE blocks until dump.rdb is written, then the file goes to stdout.
  -- Restore writes the file back and loads it without saving over it
  -- (DEBUG RELOAD NOSAVE, allowed from local connections only).
  backup = {
    exec = { "sh", "-c", AUTH .. "redis-cli -h 127.0.0.1 SAVE | grep -q OK && cat /data/dump.rdb" },
    restore = { "sh", "-c", AUTH ..
      "cat > /data/dump.rdb.restore && mv /data/dump.rdb.restore /data/dump.rdb" ..
      " && redis-cli -h 127.0.0.1 DEBUG RELOAD NOSAVE | grep -q OK" },
  },
  connections = {
    "redis://:{secret:password}@{host}:{port:redis}/0",
  },
}
