-- deloc plan, recipes, resources, graph and init as a user runs them.
local sys = require("deloc.sys")
local json = require("deloc.json")

local FIX = sys.realpath("spec/fixtures/model")
local EXE = sys.realpath("deloc")

local function tempdir()
  local d = os.tmpname()
  os.remove(d)
  assert(sys.mkdir_p(d))
  return d
end

local function rm_tree(dir)
  local r = sys.spawn({ argv = { "rm", "-rf", "--", dir } })
  assert(r and r.status == 0)
end

-- Runs deloc in `cwd` with a clean environment (no user recipes).
local function deloc(cwd, ...)
  local env = { PATH = os.getenv("PATH"), DELOC_DEBUG = "0", XDG_CONFIG_HOME = cwd .. "/.no-config",
    HOME = cwd, DELOC_LUA_DIR = os.getenv("DELOC_LUA_DIR") or false, DELOC_PATH = false,
    DELOC_PROFILE = false, DELOC_TARGET = false, DELOC_IMAGES = false }
  local r = assert(sys.spawn({ argv = { EXE, ... }, cwd = cwd, env = env, env_clear = true }))
  return r.status, r.stdout, r.stderr
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("deloc plan and friends", function()
  local dir
  before_each(function()
    dir = tempdir()
    write(dir .. "/deloc.yaml", ([[
project: shop
reserve: 15%%
services:
  beta: {}
recipes: [ %s/recipes ]
]]):format(FIX))
  end)
  after_each(function() rm_tree(dir) end)

  it("prints the plan as a table with the verdict", function()
    local status, out, err = deloc(dir, "plan")
    assert.equal(0, status, err)
    assert.matches("plan for project shop: profile development, target docker", out, 1, true)
    assert.matches("SERVICE%s+COMPONENT%s+IMAGE%s+CPU%s+MEMORY%s+HEAP", out)
    assert.matches("beta%s+server%s+example/beta:2.1", out)
    assert.matches("\nfits: needs ", out)
    assert.matches("alpha%s+alpha://app:<secret alpha.password>@127.0.0.1:%d+", out)
  end)

  it("prints the same plan as JSON", function()
    local status, out = deloc(dir, "plan", "--json")
    assert.equal(0, status)
    local plan = assert(json.decode(out))
    assert.same({ "alpha", "beta" }, plan.order)
    assert.equal("shop", plan.project)
    assert.equal("deloc-shop", plan.network)
    assert.equal("needed by beta", plan.services.alpha.why)
    assert.is_true(plan.verdict.fits)
    assert.same({}, plan.services.alpha.depends_on)
  end)

  it("takes services, profile and --set from the command line over the file", function()
    local status, out = deloc(dir, "plan", "alpha", "--profile", "minimal", "--set", "alpha.cpu=2", "--json")
    assert.equal(0, status)
    local plan = json.decode(out)
    assert.same({ "alpha" }, plan.order)
    assert.equal("minimal", plan.profile)
    assert.equal(2, plan.services.alpha.components.alpha.cpu)
    assert.equal(128 * 1024 * 1024, plan.services.alpha.components.alpha.memory)
  end)

  it("explains where values came from", function()
    local status, out = deloc(dir, "plan", "alpha", "--set", "alpha.memory=300Mi", "--explain")
    assert.equal(0, status)
    assert.matches("where values come from:", out, 1, true)
    assert.matches("alpha%s+memory%s+override", out)
    assert.matches("alpha%s+cpu%s+recipe development", out)
  end)

  it("exits 4 with the verdict when the stack does not fit", function()
    local status, out = deloc(dir, "plan", "alpha", "--set", "alpha.memory=100000Gi")
    assert.equal(4, status)
    assert.matches("does not fit:", out, 1, true)
    assert.matches("choices:", out, 1, true)
  end)

  it("refuses an unknown service with a did-you-mean, exit 3", function()
    local status, out, err = deloc(dir, "plan", "gama")
    assert.equal(3, status)
    assert.equal("", out)
    assert.matches("deloc: unknown service 'gama'\nhint: did you mean 'gamma'?", err, 1, true)
  end)

  it("names a cycle as a path", function()
    write(dir .. "/deloc.yaml", ("recipes: [ %s/cycle ]\n"):format(FIX))
    local status, _, err = deloc(dir, "plan", "one")
    assert.equal(3, status)
    assert.matches("dependency cycle: one -> two -> three -> one", err, 1, true)
  end)

  it("reports a bad project file at its line and column", function()
    write(dir .. "/deloc.yaml", "project: shop\nservices:\n  alpha:\n    replicas: many\n")
    local status, _, err = deloc(dir, "plan")
    assert.equal(3, status)
    assert.matches("deloc.yaml:4:5: services.alpha.replicas: 'replicas' must be a whole number", err, 1, true)
  end)

  it("refuses a bad --set, exit 2", function()
    local status, _, err = deloc(dir, "plan", "--set", "alpha")
    assert.equal(2, status)
    assert.matches("--set 'alpha': expected SERVICE.KEY=VALUE", err, 1, true)
    status, _, err = deloc(dir, "plan", "--set", "alpha.colour=red")
    assert.equal(2, status)
    assert.matches("unknown key", err, 1, true)
  end)

  it("lists recipes with where each comes from", function()
    local status, out = deloc(dir, "recipes")
    assert.equal(0, status)
    assert.matches("NAME%s+CATEGORY%s+IMAGE%s+ORIGIN", out)
    assert.matches("alpha%s+database%s+example/alpha:1.0%s+" .. FIX:gsub("%p", "%%%0") .. "/recipes/alpha.lua", out)
    assert.matches("postgres%s+database%s+%S+%s+built in", out)
    out = select(2, deloc(dir, "recipes", "--json"))
    local list = json.decode(out)
    assert.is_true(#list > 3)
  end)

  it("shows one recipe", function()
    local status, out = deloc(dir, "recipes", "show", "beta")
    assert.equal(0, status)
    assert.matches("beta: beta test processing cluster", out, 1, true)
    assert.matches("component init (runs once)", out, 1, true)
    assert.matches("option    cache = none (none | gamma)", out, 1, true)
    status = deloc(dir, "recipes", "show", "nope")
    assert.equal(3, status)
  end)

  it("prints the graph as text, dot and mermaid", function()
    local status, out = deloc(dir, "graph", "--format", "dot")
    assert.equal(0, status)
    assert.matches('"beta" -> "alpha";', out, 1, true)
    out = select(2, deloc(dir, "graph", "--format", "mermaid", "--components"))
    assert.matches("graph BT", out, 1, true)
    assert.matches("-.->", out, 1, true)
    out = select(2, deloc(dir, "graph"))
    assert.matches("2  beta  <- alpha", out, 1, true)
    status = deloc(dir, "graph", "--format", "png")
    assert.equal(2, status)
  end)

  it("shows the resources detected and where they come from", function()
    local status, out = deloc(dir, "resources", "--json")
    assert.equal(0, status)
    local r = json.decode(out)
    assert.is_true(r.cpu > 0 and r.memory > 0)
    assert.is_true(r.usable.memory < r.memory)
    assert.truthy(r.source.memory)
    out = select(2, deloc(dir, "resources"))
    assert.matches("memory%s+%S+%s+%S+%s+%S", out)
  end)

  it("init writes a project and an example recipe that plan accepts, once", function()
    local d = tempdir()
    finally(function() rm_tree(d) end)
    local status, out = deloc(d, "init", "postgres", "redis")
    assert.equal(0, status)
    assert.matches("wrote deloc.yaml, recipes/hello.lua and .gitignore", out, 1, true)
    local f = assert(io.open(d .. "/.gitignore"))
    assert.matches("\n%.deloc/\n", "\n" .. f:read("*a"))
    f:close()
    status, out = deloc(d, "plan", "--json")
    assert.equal(0, status)
    local plan = json.decode(out)
    assert.same({ "postgres", "redis" }, plan.order)
    status, out = deloc(d, "plan", "hello", "--json")
    assert.equal(0, status)
    local hello = json.decode(out).services.hello
    assert.equal("user", hello.recipe.origin)
    -- the example needs no privileged port and no extra capability
    for _, p in pairs(hello.components.hello.ports) do assert.is_true(p.container >= 1024) end
    assert.is_true(hello.components.hello.restricted)
    assert.equal("65534:65534", hello.components.hello.user)
    local _, err
    status, _, err = deloc(d, "init")
    assert.equal(2, status)
    assert.matches("'deloc.yaml' already exists", err, 1, true)
  end)

  it("init refuses a service without a recipe and keeps an existing .gitignore", function()
    local d = tempdir()
    finally(function() rm_tree(d) end)
    local status, _, err = deloc(d, "init", "postgres", "kafak")
    assert.not_equal(0, status)
    assert.matches("no recipe for service 'kafak' (did you mean 'kafka'?)", err, 1, true)
    assert.is_nil(io.open(d .. "/deloc.yaml")) -- nothing is written
    assert.is_nil(io.open(d .. "/.gitignore"))
    local f = assert(io.open(d .. "/.gitignore", "w"))
    f:write("node_modules/")
    f:close()
    assert.equal(0, (deloc(d, "init", "--force")))
    f = assert(io.open(d .. "/.gitignore"))
    assert.equal("node_modules/\n# deloc's state and generated secrets\n.deloc/\n", f:read("*a"))
    f:close()
    assert.equal(0, (deloc(d, "init", "--force")))
    f = assert(io.open(d .. "/.gitignore"))
    assert.equal("node_modules/\n# deloc's state and generated secrets\n.deloc/\n", f:read("*a"))
    f:close()
  end)
end)
