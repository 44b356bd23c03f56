-- Images built from the project's files: the schema, the plan, .dockerignore
-- and the context's hash (the engine side is spec/e2e/docker_build_spec.lua).
local sys = require("deloc.sys")
local api = require("deloc.api")
local ib = require("deloc.adapters.docker.image_build")

local CAPACITY = { cpu = 4, memory = 8 * 2 ^ 30, disk = 100 * 2 ^ 30 }

local function project(yaml)
  local d = os.tmpname()
  os.remove(d)
  assert(sys.mkdir_p(d .. "/app"))
  assert(sys.write_atomic(d .. "/deloc.yaml", "project: b\nrecipes: [ " .. sys.realpath("spec/fixtures/build/recipes")
    .. " ]\n" .. yaml))
  assert(sys.write_atomic(d .. "/app/Dockerfile", "FROM scratch\nCOPY . /\n"))
  return d
end

local function rm(d) sys.spawn({ argv = { "rm", "-rf", "--", d } }) end

describe("build", function()
  it("plans a recipe's build with a per-project image name", function()
    local d = project("services:\n  web: {}\n")
    finally(function() rm(d) end)
    local plan = assert(api.plan({ file = d .. "/deloc.yaml", capacity = CAPACITY }))
    local c = plan.services.web.components.web
    assert.same({ context = "app", dockerfile = "Dockerfile" }, c.build)
    assert.equal("deloc-b/web:build", c.image)
  end)

  it("takes build from deloc.yaml and checks it with file and line", function()
    local d = project("services:\n  web:\n    build: { context: app, dockerfile: Other.df }\n")
    finally(function() rm(d) end)
    local plan = assert(api.plan({ file = d .. "/deloc.yaml", capacity = CAPACITY }))
    assert.equal("Other.df", plan.services.web.components.web.build.dockerfile)
    for _, bad in ipairs({ "{ context: ../elsewhere }", "{ context: /etc }", "{ contxt: app }",
      "{ context: app, target: \"a b\" }", "{ context: app, target: \"-x\" }" }) do
      local d2 = project("services:\n  web:\n    build: " .. bad .. "\n")
      local p, err = api.plan({ file = d2 .. "/deloc.yaml", capacity = CAPACITY })
      rm(d2)
      assert.is_nil(p)
      assert.equal("CONFIG_INVALID", err.code)
      assert.matches("deloc.yaml:5:", err.message, 1, true)
    end
  end)

  it("hands the build to Compose", function()
    local d = project("services:\n  web: {}\n")
    finally(function() rm(d) end)
    local plan = assert(api.plan({ file = d .. "/deloc.yaml", capacity = CAPACITY }))
    local text = require("deloc.generate").compose(plan)
    assert.matches("\n    image: deloc%-b/web:build\n    build:\n      context: app\n      dockerfile: Dockerfile\n", text)
  end)

  it("is a clear error on Kubernetes", function()
    local d = project("services:\n  web: {}\n")
    finally(function() rm(d) end)
    local p, err = api.plan({ file = d .. "/deloc.yaml", capacity = CAPACITY, target = "kubernetes" })
    assert.is_nil(p)
    assert.matches("Kubernetes cannot use a local build", err.message, 1, true)
    assert.matches("push the image to a registry", err.hint, 1, true)
  end)

  it("reads .dockerignore as docker does", function()
    local ignored = ib.dockerignore("# comment\n*.log\n/secret\nbuild/**\n!build/keep.txt\nnode_modules\n**/*.tmp\n")
    assert.is_true(ignored("app.log"))
    assert.is_false(ignored("sub/app.log")) -- * does not cross /
    assert.is_true(ignored("secret"))
    assert.is_true(ignored("secret/inner")) -- a directory takes what is below
    assert.is_true(ignored("build/x/y"))
    assert.is_false(ignored("build/keep.txt"))
    assert.is_true(ignored("node_modules/pkg/index.js"))
    assert.is_true(ignored("a/b/c.tmp"))
    assert.is_false(ignored("src/main.c"))
  end)

  it("tags by the context's content: same files same tag, a changed file a new one", function()
    local d = project("services:\n  web: {}\n")
    finally(function() rm(d) end)
    assert(sys.write_atomic(d .. "/app/.dockerignore", "*.log\n"))
    assert(sys.write_atomic(d .. "/app/a.txt", "one"))
    local function tag(name)
      package.loaded["deloc.adapters.docker.image_build"] = nil -- a new run: no cache
      local fresh = require("deloc.adapters.docker.image_build")
      local comp = { service = "web", name = name or "web", build = { context = "app", dockerfile = "Dockerfile" } }
      return assert(fresh.resolve(comp, d, "b"))
    end
    local t1 = tag()
    assert.matches("^deloc%-b/web:%x+$", t1)
    assert.equal(t1, tag())
    assert(sys.write_atomic(d .. "/app/noise.log", "ignored"))
    assert.equal(t1, tag())
    assert(sys.write_atomic(d .. "/app/a.txt", "two"))
    assert.is_not.equal(t1, tag())
    assert.matches("^deloc%-b/web%-worker:", tag("worker"))
    -- a target stage is another image of the same files
    package.loaded["deloc.adapters.docker.image_build"] = nil
    local staged = require("deloc.adapters.docker.image_build").resolve({ service = "web", name = "web",
      build = { context = "app", dockerfile = "Dockerfile", target = "first" } }, d, "b")
    assert.is_not.equal(tag(), staged)
    package.loaded["deloc.adapters.docker.image_build"] = ib
  end)
end)
