-- The recipe DSL: what a recipe file may say, and the error a user gets for
-- everything it may not.
local recipe = require("deloc.recipe")

local FIX = "spec/fixtures/model/"

local function load(text)
  return recipe.load_string(text, "test.lua")
end

-- A valid recipe with `extra` lines spliced into its table (line 4 on).
local function with(extra)
  return ([[
return recipe "demo" {
  description = "demo",
  image = "x/demo:1",
%s
}]]):format(extra)
end

local function fails(text, pattern)
  local r, err = load(text)
  assert.is_nil(r)
  assert.equal("CONFIG_INVALID", err.code)
  assert.matches(pattern, err.message, 1, true)
  return err
end

describe("deloc.recipe", function()
  it("loads a single-component recipe into one component named like it", function()
    local r = assert(recipe.load_file(FIX .. "recipes/alpha.lua"))
    assert.equal("alpha", r.name)
    assert.same({ "alpha" }, r.component_names)
    local c = r.components.alpha
    assert.equal("example/alpha:1.0", c.image)
    assert.same({ port = 7000, protocol = "tcp", publish = true }, c.ports.main)
    assert.is_true(c.ports.admin.http)
    assert.equal(1024 ^ 3, c.volumes.data.size)
    assert.equal(256 * 1024 ^ 2, c.resources.profiles.development.memory)
    assert.equal(0.1, c.resources.min.cpu)
    assert.same({ kind = "exec", exec = { "alpha-ready" }, interval = 2, timeout = 1, retries = 3, start_period = 60 },
      c.health)
    assert.equal("alpha", r.backup.component)
    assert.equal(2, r.line)
  end)

  it("gives components the recipe's image, user and env, the component's env last", function()
    local r = assert(recipe.load_file(FIX .. "recipes/beta.lua"))
    assert.same({ "init", "server", "worker" }, r.component_names)
    assert.equal("example/beta:2.1", r.components.worker.image)
    assert.is_true(r.components.init.oneshot)
    assert.is_true(r.components.worker.scalable)
    assert.equal("table", type(r.components.server.env))
    assert.equal(2, #r.components.server.env) -- shared, then the component's function
    assert.equal("http", r.components.server.health.kind)
  end)

  it("names file, line and key for an unknown key, with a did-you-mean", function()
    local err = fails(with('  imgae = "x/demo:2",'), "test.lua:4: unknown key 'imgae' in recipe 'demo' (did you mean 'image'?)")
    assert.equal(4, err.context.line)
    assert.equal("imgae", err.context.key)
  end)

  it("finds the line of a nested key", function()
    local r, err = recipe.load_file(FIX .. "bad/typo.lua")
    assert.is_nil(r)
    assert.equal("spec/fixtures/model/bad/typo.lua:6: unknown key 'memroy' in resources.min (did you mean 'memory'?)",
      err.message)
  end)

  it("refuses a wrong type naming the key", function()
    fails(with('  read_only = "yes",'), "test.lua:4: 'read_only' must be true or false, got string")
    fails(with('  tmpfs = "/tmp",'), "'tmpfs' must be a list of strings")
  end)

  it("refuses an export without a name, as an error and not a crash (found by fuzz/recipe.c)", function()
    fails(with('  exports = { A = "a", "postgres://x" },'), "export name '1' must be an environment variable name")
  end)

  it("refuses bad quantities and shows the accepted forms", function()
    fails(with('  resources = { development = { memory = "12 parsecs" } },'),
      "test.lua:4: 'resources.development.memory': invalid memory '12 parsecs' (accepted: bytes as a number, or 512Mi")
    fails(with('  resources = { development = { cpu = "lots" } },'), "invalid cpu 'lots' (accepted: cores as 0.5, 2, or millicores as 500m)")
    fails(with('  health = { exec = { "x" }, interval = "often" },'), "invalid duration 'often'")
  end)

  it("refuses min above max, and profile values outside them", function()
    fails(with('  resources = { min = { memory = "2Gi" }, max = { memory = "1Gi" } },'),
      "resources.min.memory 2Gi is above resources.max.memory 1Gi")
    fails(with('  resources = { development = { memory = "64Mi" }, min = { memory = "128Mi" } },'),
      "resources.development.memory 64Mi is below resources.min.memory 128Mi")
    fails(with('  resources = { developement = { memory = "64Mi" } },'), "unknown key 'developement' in resources (did you mean 'development'?)")
  end)

  it("refuses ports out of range, duplicated, or badly named", function()
    fails(with('  ports = { web = 70000 },'), "'ports.web': port 70000 is out of range (1-65535)")
    fails(with('  ports = { web = 0 },'), "port 0 is out of range")
    fails(with('  ports = { web = 8080, admin = 8080 },'), "both use 8080/tcp")
    fails(with('  ports = { Web_UI = 8080 },'), "port name 'Web_UI' must be")
    fails(with('  ports = { ["a-very-long-port-name"] = 8080 },'), "must be 1 to 15")
  end)

  it("refuses names that are not DNS-1123 labels", function()
    fails('return recipe "My_DB" { description = "x", image = "x/y:1" }', "recipe name 'My_DB' must be lower-case")
    fails(with('  components = { Main = { } },'), "component name 'Main' must be lower-case")
    fails(with('  volumes = { ["data dir"] = "/data" },'), "volume name 'data dir'")
  end)

  it("refuses an image without a pinned tag", function()
    fails('return recipe "d" { description = "x", image = "postgres" }', "image 'postgres' must be pinned to a tag")
    fails('return recipe "d" { description = "x", image = "postgres:latest" }', "must be pinned")
    assert.truthy(load('return recipe "d" { description = "x", image = "registry.local:5000/pg@sha256:abc" }'))
    assert.truthy(load('return recipe "d" { description = "x", image = "registry.local:5000/pg:16" }'))
  end)

  it("refuses health checks that are not exactly one kind", function()
    fails(with('  health = { interval = "5s" },'), "health needs exactly one of exec, http, tcp or log")
    fails(with('  health = { exec = { "a" }, tcp = 5 },'), "exactly one")
  end)

  it("refuses capabilities beyond what docker run grants by default", function()
    for _, c in ipairs({ "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "DAC_READ_SEARCH", "BPF" }) do
      fails(with(('  capabilities = { "%s" },'):format(c)), ("capability '%s' is not one a container gets by default"):format(c))
    end
    assert.truthy(load(with('  capabilities = { "NET_BIND_SERVICE", "CHOWN" },')))
  end)

  it("refuses a health path that could send the host-side probe elsewhere", function()
    -- the probe asks http://127.0.0.1:<planned port><path>; "@host/" made it
    -- http://127.0.0.1:5432@evil.example/, a request to another host
    for _, p in ipairs({ "@evil.example/x", "evil", "/a b", "/x\r\nHost: evil", "/#frag", "/a\\b" }) do
      fails(with(('  ports = { web = 80 }, health = { http = { port = "web", path = %q } },'):format(p)),
        "must be a URL path")
    end
    fails(with('  ports = { web = 80 }, health = { http = { port = "web", scheme = "file" } },'),
      "health.http.scheme 'file' must be http or https")
    assert.truthy(load(with('  ports = { web = 80 }, health = { http = { port = "web", path = "/health?x=1&y=%20" } },')))
  end)

  it("refuses what only components may set when there are components", function()
    fails(with('  ports = { web = 80 }, components = { a = {} },'), "set 'ports' on each component: the recipe has components")
  end)

  it("refuses an unknown category and an option default outside its choices", function()
    fails(with('  category = "databse",'), "unknown category 'databse' (did you mean 'database'?)")
    fails(with('  options = { mode = { default = "x", choices = { "a", "b" } } },'), "default x is not one of its choices")
  end)

  it("refuses restricted = false without a reason", function()
    fails(with('  restricted = false,'), "'restricted = false' needs a 'restricted_reason'")
  end)

  it("makes an unknown global an error with a did-you-mean", function()
    local _, err = load('local x = strnig.upper("a")\n' .. with(""))
    assert.equal("test.lua:1: unknown global 'strnig' (did you mean 'string'?)", err.message)
    _, err = load('return recipe "d" { description = "x", image = "x/y:1", env = { A = os.getenv("HOME") } }')
    assert.matches("unknown global 'os'", err.message, 1, true)
  end)

  it("offers no way out of the sandbox", function()
    for _, name in ipairs({ "io", "os", "debug", "require", "load", "loadstring", "dofile", "setfenv",
      "getmetatable", "rawset", "pcall", "package", "jit" }) do
      local _, err = load(("local x = %s\n"):format(name) .. with(""))
      assert.matches("unknown global '" .. name .. "'", err.message, 1, true)
    end
    local _, err = load('local x = string.dump\nreturn recipe "d" { description = x(), image = "x/y:1" }')
    assert.matches("a nil value", err.message, 1, true)
  end)

  it("reports a recipe that raises while loading, with its line", function()
    local r, err = recipe.load_file(FIX .. "bad/raises.lua")
    assert.is_nil(r)
    assert.equal("spec/fixtures/model/bad/raises.lua:1: this recipe is broken", err.message)
  end)

  it("stops a recipe that loops while loading, quickly", function()
    local t = os.clock()
    local r, err = recipe.load_file(FIX .. "bad/loops.lua")
    assert.is_nil(r)
    assert.matches("bad/loops.lua:3: recipe runs too long", err.message, 1, true)
    assert.is_true(os.clock() - t < 2)
  end)

  it("bounds recipe functions called later too", function()
    local r = assert(load(with('  env = function(s) while true do end end,')))
    local v, err = recipe.call(r.components.demo.env, "test.lua: env", {})
    assert.is_nil(v)
    assert.matches("test.lua: env: test.lua:4: recipe runs too long", err.message, 1, true)
  end)

  it("refuses a file that declares nothing, or returns something else", function()
    fails("local x = 1", "no recipe declared")
    fails('recipe "a" { description = "a", image = "x/a:1" }\nreturn 1', "must return the recipe")
  end)

  it("refuses a file that cannot be read, and binary chunks", function()
    local r, err = recipe.load_file(FIX .. "bad/nope.lua")
    assert.is_nil(r)
    assert.equal("IO_ERROR", err.code)
    assert.matches("cannot read recipe", err.message, 1, true)
    r, err = recipe.load_string(string.dump(function() end), "bin.lua")
    assert.is_nil(r)
    assert.matches("binary", err.message)
  end)
end)
