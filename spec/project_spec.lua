-- deloc.yaml: what a project file may say, and file:line:col errors for the rest.
local project = require("deloc.project")

local Y = "spec/fixtures/model/yaml/"

local function fails(file, pattern)
  local p, err = project.load(Y .. file)
  assert.is_nil(p)
  assert.equal("CONFIG_INVALID", err.code)
  assert.matches(pattern, err.message, 1, true)
  return err
end

describe("deloc.project", function()
  it("reads every key of a full project file", function()
    local p = assert(project.load(Y .. "good.yaml"))
    assert.equal("shop", p.name)
    assert.equal("laptop", p.profile)
    assert.equal("docker", p.target)
    assert.equal(0.2, p.reserve)
    assert.same({ "beta", "alpha" }, p.service_order) -- as written
    assert.equal("gamma", p.services.beta.options.cache)
    assert.equal(18088, p.services.beta.ports.api)
    assert.equal(2, p.services.beta.components.worker.replicas)
    assert.same({ "../recipes" }, p.recipes)
    assert.equal("mirror.local/gamma:3", p.images["example/gamma:3"])
    assert.equal("registry.local:5000/", p.mirror)
    assert.equal("development", p.profiles.laptop.from)
    assert.matches("spec/fixtures/model/yaml$", p.dir)
  end)

  it("accepts services as a list of names", function()
    local p = assert(project.load(Y .. "list.yaml"))
    assert.same({ "alpha", "gamma" }, p.service_order)
  end)

  it("names the project after its directory when the file does not", function()
    local p = assert(project.load(Y .. "list.yaml"))
    assert.equal("yaml", p.name)
    assert.equal("my-project-2", project.dns_name("My_Project 2"))
    assert.equal("deloc", project.dns_name("___"))
  end)

  it("gives file:line:col and a did-you-mean for an unknown key", function()
    local err = fails("typo.yaml", Y .. "typo.yaml:2:1: unknown key 'profil' (did you mean 'profile'?)")
    assert.is_nil(err.hint)
  end)

  it("points into nested service overrides", function()
    fails("nested_typo.yaml", Y .. "nested_typo.yaml:5:5: services.alpha.imgae: unknown key 'imgae' (did you mean 'image'?)")
  end)

  it("refuses bad quantities, ports out of range and duplicated host ports", function()
    fails("bad_quantity.yaml", Y .. "bad_quantity.yaml:4:7: services.alpha.resources.memory: invalid memory '12 parsecs'")
    fails("bad_port.yaml", "bad_port.yaml:3:14: services.alpha.ports.main: host port 70000 for 'main' is out of range (1-65535)")
    fails("dup_port.yaml", "host port 17000 is given to both")
  end)

  it("refuses an unknown profile with the known ones", function()
    local err = fails("unknown_profile.yaml", Y .. "unknown_profile.yaml:1:10: unknown profile 'developement'")
    assert.matches("did you mean 'development'?", err.hint, 1, true)
  end)

  it("refuses service names that are not DNS-1123 labels and duplicated keys", function()
    fails("bad_name.yaml", Y .. "bad_name.yaml:2:3: 'My_Service' is not a valid service name")
    fails("dup_key.yaml", "duplicate key 'alpha'")
  end)

  it("refuses a YAML bomb quickly", function()
    local t = os.clock()
    fails("bomb.yaml", "bomb.yaml:")
    assert.is_true(os.clock() - t < 0.5)
  end)

  it("refuses a profile that derives from itself or from nothing", function()
    local _, err = project.parse("profiles:\n  a: { from: b }\n  b: { from: a }\n", "p.yaml")
    assert.matches("derives from itself", err.message, 1, true)
    _, err = project.parse("profiles:\n  a: { from: nope }\n", "p.yaml")
    assert.matches("p.yaml:2:3: unknown profile 'nope'", err.message, 1, true)
    _, err = project.parse("profiles:\n  a: { from: minimal, budget: { memory: lots } }\n", "p.yaml")
    assert.matches("invalid memory 'lots'", err.message, 1, true)
  end)

  it("refuses other wrong values with their position", function()
    local cases = {
      { "target: swarm\n", "p.yaml:1:9: unknown target 'swarm'" },
      { "reserve: 95%\n", "p.yaml:1:10: invalid reserve" },
      { "project: My Shop\n", "p.yaml:1:10: project name 'My Shop'" },
      { "- a\n- b\n", "the project file must be a mapping" },
      { "services: 5\n", "'services' must be a mapping" },
      { "services:\n  alpha: { replicas: 0 }\n", "'replicas' must be a whole number from 1 to 1000" },
      { "services:\n  alpha: { resources: { memroy: 1Gi } }\n", "unknown key 'memroy' in resources (memory, cpu) (did you mean 'memory'?)" },
      { "services: [ alpha, alpha ]\n", "service 'alpha' is listed twice" },
      { "images: { postgres: 5 }\n", "image override for 'postgres' must be an image reference" },
      { "services: [ { a: 1 } ]\n", "a service must be a name" },
      { "key: [unclosed\n", "p.yaml:" },
    }
    for _, c in ipairs(cases) do
      local p, err = project.parse(c[1], "p.yaml")
      assert.is_nil(p, c[1])
      assert.matches(c[2], err.message, 1, true)
    end
  end)

  it("without a file, is the current directory's defaults", function()
    local p = assert(project.defaults("spec/fixtures/model/yaml"))
    assert.equal("yaml", p.name)
    assert.same({}, p.services)
    local _, err = project.find({ file = "spec/fixtures/model/nope.yaml" })
    assert.matches("cannot read 'spec/fixtures/model/nope.yaml': no such file", err.message, 1, true)
  end)
end)
