-- A single-component service: a database-like thing with a data volume.
return recipe "alpha" {
  description = "alpha test database",
  category = "database",
  image = "example/alpha:1.0",
  ports = { main = 7000, admin = { port = 7001, http = true } },
  volumes = { data = { path = "/var/lib/alpha", data = true, size = "1Gi" } },
  tmpfs = { "/tmp" },
  secrets = { password = { length = 16 } },
  env = function(s)
    return { ALPHA_PASSWORD_FILE = s.secret_file("password"), ALPHA_MEMORY_MB = s.memory_mb }
  end,
  health = { exec = { "alpha-ready" }, interval = "2s", timeout = "1s", retries = 3, start_period = "1m" },
  resources = {
    minimal     = { memory = "128Mi", cpu = 0.25 },
    development = { memory = "256Mi", cpu = 0.5 },
    production  = { memory = "1Gi",   cpu = 1 },
    min = { memory = "64Mi", cpu = "100m" },
    max = { memory = "4Gi", cpu = 4 },
    disk = "1Gi",
  },
  user = "1000:1000",
  read_only = true,
  backup = { exec = { "alpha-dump" }, restore = { "alpha-restore" } },
  connections = { "alpha://app:{secret:password}@{host}:{port:main}" },
}
