local names = require("deloc.names")
local project = require("deloc.project")

describe("deloc.names", function()
  it("accepts the names deloc's own recipes and profiles use", function()
    for _, n in ipairs({ "postgres", "kafka-ui", "a", "x1", ("a"):rep(63) }) do
      assert.is_true(names.dns_label(n), n)
    end
    for _, n in ipairs({ "minimal", "development", "my_profile", "Big-1" }) do
      assert.is_true(names.profile(n), n)
    end
    assert.is_true(names.image("registry.local:5000/team/app:1.2.3@sha256:abc"))
    assert.is_true(names.path("/var/lib/postgresql/data"))
    assert.is_true(names.env("KAFKA_HEAP_OPTS"))
    assert.is_true(names.secret("session_key"))
    assert.is_true(names.option("workers"))
  end)

  it("refuses line breaks, controls, quotes, spaces and template text in every kind", function()
    local bad = { "", "a\nb", "a\rb", "a\194\133b", "a\226\128\168b", "a b", "a#b", "a'b", 'a"b',
                  "{{x}}", "a$b", "a\0b", "a\27b", "\255", ("a"):rep(1100) }
    for _, kind in ipairs({ "dns_label", "profile", "option", "secret", "env", "image", "path" }) do
      for _, s in ipairs(bad) do
        local ok, why = names.check(kind, s)
        assert.is_nil(ok, kind .. " " .. names.quote(s))
        assert.equal(names.RULES[kind], why)
      end
    end
    assert.is_nil(names.dns_label("Upper"))
    assert.is_nil(names.dns_label("trailing-"))
    assert.is_nil(names.path("/tmp:exec"))
    assert.is_nil(names.path("/tmp,suid"))
    assert.is_nil(names.path("relative"))
    assert.has_error(function() names.check("nope", "x") end)
  end)

  it("quotes a refused name with every control byte escaped", function()
    assert.equal("'a\\x0Ab\\x0D\\x1B'", names.quote("a\nb\r\27"))
    assert.equal(("'%s...'"):format(("x"):rep(80)), names.quote(("x"):rep(200)))
  end)
end)

describe("deloc.yaml names: hostile names in deloc.yaml are refused with file:line:col and the rule", function()
  local function refuses(text, where, what)
    local p, err = project.parse(text, "deloc.yaml", "/tmp")
    assert.is_nil(p)
    assert.equal("CONFIG_INVALID", err.code)
    assert.matches("^deloc%.yaml:" .. where .. ": ", err.message)
    assert.matches(what, err.message, 1, true)
    assert.is_nil(err.message:find("[%c]"), "no raw control character in: " .. err.message)
  end

  it("a profile name with a line break (the compose header attack)", function()
    refuses('profile: "x\\nservices:\\n  evil: {}"\n', "1:10", "profile name 'x\\x0Aservices:")
    refuses('profiles:\n  "x\\r---":\n    from: minimal\n', "2:3", "profile name 'x\\x0D---'")
  end)

  it("a project name, an image override and a mirror", function()
    refuses('project: "a\\nb"\n', "1:10", "project name 'a\\x0Ab' must be lower-case")
    refuses('images:\n  postgres: "postgres:16\\n---"\n', "2:13", "image override for 'postgres' must be an image reference")
    refuses('mirror: "reg.local/{{ x }}"\n', "1:9", "mirror 'reg.local/{{ x }}' must be an image reference")
  end)
end)

describe("deloc.names.utf8", function()
  it("accepts UTF-8 text and refuses every malformed sequence", function()
    for _, s in ipairs({ "", "plain", "caf\195\169", "\226\130\172", "\240\159\152\128", "\239\187\191" }) do
      assert.is_true(names.utf8(s), names.quote(s))
    end
    for _, s in ipairs({ "\255", "\192\128", "\193\191", "\224\128\128", "\237\160\128", "\244\144\128\128",
                         "\195", "a\226\130", "\128", "\248\136\128\128\128" }) do
      local ok, why = names.utf8(s)
      assert.is_nil(ok, names.quote(s))
      assert.equal(names.RULES.utf8, why)
    end
  end)
end)

describe("deloc.yaml overrides: names in them are checked too", function()
  it("refuses an environment variable name or an image override with a line break", function()
    local p, err = project.parse('services:\n  redis:\n    env:\n      "A\\nB": x\n', "deloc.yaml", "/tmp")
    assert.is_nil(p)
    assert.matches("^deloc%.yaml:4:7: services%.redis%.env%.A\\x0AB: environment variable name 'A\\x0AB' must be",
      err.message)
    p, err = project.parse('services:\n  redis:\n    components:\n      redis:\n        image: "r:7\\n---"\n',
      "deloc.yaml", "/tmp")
    assert.is_nil(p)
    assert.matches("^deloc%.yaml:5:9: .*image 'r:7\\x0A%-%-%-' must be an image reference", err.message)
  end)
end)
