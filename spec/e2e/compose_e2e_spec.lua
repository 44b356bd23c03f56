-- deloc generate compose against the real tools: Debian's docker-compose 1.29
-- and the current Compose Specification loader (docker/compose v5, built by
-- spec/tools/install-go-tools) accept the file; docker-compose brings the
-- generated postgres + redis stack to healthy on the real engine and removes it.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")
local g = dofile("spec/support/generate.lua")

local function run(argv, cwd, timeout)
  local r, err = sys.spawn({ argv = argv, cwd = cwd, timeout = timeout or 120 })
  assert(r, tostring(err))
  return r.status, r.stdout, r.stderr
end

describe("compose: generated files load in docker-compose 1.29 and compose v5 #e2e", function()
  local dir, v5
  setup(function()
    v5 = g.tool("docker-compose-v5")
    dir = e2e.workdir(e2e.project("gen-config"), "services:\n  postgres: {}\n")
  end)
  teardown(function() if dir then e2e.rmdir(dir) end end)

  for _, recipe in ipairs({ "postgres", "redis", "airflow", "kafka", "spark", "flink", "trino", "minio",
                            "jupyter", "kafka-ui", "schema-registry", "zookeeper" }) do
    it("accepts the stack of " .. recipe, function()
      local status, _, err = e2e.deloc({ "generate", "compose", recipe, "-o", recipe .. ".yaml" }, { cwd = dir })
      assert.equal(0, status, err)
      local s1, o1, e1 = run({ "docker-compose", "-f", recipe .. ".yaml", "config", "-q" }, dir)
      assert.equal(0, s1, o1 .. e1)
      local s2, o2, e2 = run({ v5, "-f", recipe .. ".yaml", "-p", "gen-config", "config", "-q" }, dir)
      assert.equal(0, s2, o2 .. e2)
    end)
  end

  it("rejects a broken file (the checks are live)", function()
    g.write(dir .. "/broken.yaml", "services:\n  x:\n    image: busybox\n    mem_limit: lots\n    bogus: 1\n")
    local s1 = run({ "docker-compose", "-f", "broken.yaml", "config", "-q" }, dir)
    assert.is_not.equal(0, s1)
    local s2 = run({ v5, "-f", "broken.yaml", "-p", "gen-config", "config", "-q" }, dir)
    assert.is_not.equal(0, s2)
  end)
end)

describe("compose: docker-compose up brings the generated stack to healthy #e2e", function()
  local project, dir, tags

  local function compose(args, timeout)
    local argv = { "docker-compose", "-p", project, "-f", "compose.yaml" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return run(argv, dir, timeout or 300)
  end

  setup(function()
    tags = assert(images.ensure({ "postgres", "redis" }))
    project = e2e.project("gen-compose")
    dir = e2e.workdir(project, "services:\n  postgres: {}\n  redis: {}\n")
  end)
  teardown(function()
    if dir then
      compose({ "down", "-v", "--remove-orphans" })
      e2e.cleanup(project)
      e2e.rmdir(dir)
    end
  end)

  it("is healthy, then gone after down -v", function()
    local status, out, err = e2e.deloc({ "generate", "compose" },
      { cwd = dir, env = { DELOC_IMAGES = images.overrides(tags) } })
    assert.equal(0, status, err)
    assert.matches("wrote compose.yaml", out, 1, true)
    local text = g.read(dir .. "/compose.yaml")
    assert.matches("image: " .. tags.postgres, text, 1, true)
    assert.matches("image: " .. tags.redis, text, 1, true)

    local s, o, e = compose({ "up", "-d" })
    assert.equal(0, s, o .. e)
    local ids
    local deadline = sys.now() + 180
    local states = {}
    repeat
      local _, q = compose({ "ps", "-q" })
      ids = {}
      for id in q:gmatch("%S+") do ids[#ids + 1] = id end
      local all = #ids == 2
      for _, id in ipairs(ids) do
        local _, h = run({ "docker", "inspect", "-f", "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", id })
        local name, health = h:match("^/?(%S+) (%S*)")
        states[name or id] = health
        if health ~= "healthy" then all = false end
      end
      if all then break end
      sys.sleep(2)
    until sys.now() > deadline
    assert.equal(2, #ids)
    for name, health in pairs(states) do assert.equal("healthy", health, name) end

    -- the limits and hardening the plan asked for are what runs
    local _, info = run({ "docker", "inspect", "-f",
      "{{.HostConfig.Memory}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.Config.User}} {{.HostConfig.PidsLimit}}",
      ids[1], ids[2] })
    for line in info:gmatch("[^\n]+") do
      assert.matches("^%d+ true %[ALL%] %[no%-new%-privileges:true%] 999:999 4096$", line)
    end

    s, o, e = compose({ "down", "-v" })
    assert.equal(0, s, o .. e)
    assert.same({}, e2e.leftovers(project))
  end)
end)
