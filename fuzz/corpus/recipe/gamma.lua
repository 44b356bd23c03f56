return recipe "gamma" {
  description = "gamma test cache",
  category = "cache",
  image = "example/gamma:3",
  ports = { cache = 7100 },
  health = { log = "ready to serve" },
  resources = { development = { memory = "64Mi", cpu = 0.1 } },
}
