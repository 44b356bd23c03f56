-- Several components: a one-shot init, a JVM server, scalable workers; an
-- option that pulls in gamma.
return recipe "beta" {
  description = "beta test processing cluster",
  category = "processing",
  image = "example/beta:2.1",
  options = {
    cache = { default = "none", choices = { "none", "gamma" }, description = "add gamma as a cache" },
  },
  depends_on = function(opt)
    if opt.cache == "gamma" then return { "alpha", "gamma" } end
    return { "alpha" }
  end,
  components = {
    init = {
      oneshot = true,
      command = function(s)
        return { "beta-init", "--db", s.host("alpha") .. ":" .. s.port("main", "alpha"),
                 "--password-file", s.secret_file("password", "alpha") }
      end,
      resources = { development = { memory = "128Mi", cpu = 0.25 }, min = { memory = "64Mi", cpu = 0.1 } },
    },
    server = {
      depends_on = { "init" },
      ports = { api = { port = 8088, http = true } },
      jvm = { heap_ratio = 0.5 },
      env = function(s) return { BETA_HEAP = ("-Xmx%dm"):format(s.heap_mb) } end,
      health = { http = { port = "api", path = "/ready" } },
      resources = {
        minimal = { memory = "256Mi", cpu = 0.25 },
        development = { memory = "512Mi", cpu = 1 },
        production = { memory = "2Gi", cpu = 2 },
        min = { memory = "256Mi", cpu = 0.25 },
      },
    },
    worker = {
      scalable = true,
      depends_on = { "server" },
      ports = { ui = 8089 },
      jvm = {},
      health = { tcp = "ui" },
      resources = { development = { memory = "512Mi", cpu = 1 }, min = { memory = "128Mi", cpu = 0.25 } },
    },
  },
  env = { BETA_COMMON = "yes" },
  connections = { "http://{host}:{port:api}/" },
}
