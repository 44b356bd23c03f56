-- The recipe key `connect`: what `deloc connect` runs, as data, checked on
-- load; the built-in recipes that have a client declare it.
local recipe = require("deloc.recipe")
local api = require("deloc.api")

local function load(connect)
  return recipe.load_string(([[
return recipe "demo" {
  description = "demo",
  image = "x/demo:1",
  connect = %s,
}]]):format(connect), "test.lua")
end

describe("recipe connect", function()
  it("takes exec, commands, url and a component", function()
    local r = assert(load([[{ exec = { "cli", "-x" }, commands = { two = { "cli2" } }, description = "d" }]]))
    assert.same({ "cli", "-x" }, r.connect.exec)
    assert.same({ "cli2" }, r.connect.commands.two)
    assert.equal("demo", r.connect.component)
    r = assert(load([[{ url = "http://{host}:{port:http}/" }]]))
    assert.equal("http://{host}:{port:http}/", r.connect.url)
  end)

  it("names the file, line and key of a mistake", function()
    local _, err = load([[{ exce = { "cli" } }]])
    assert.equal("CONFIG_INVALID", err.code)
    assert.matches("test.lua:4", err.message, 1, true)
    assert.matches("exce", err.message, 1, true)
    _, err = load([[{ exec = 42 }]])
    assert.equal("CONFIG_INVALID", err.code)
    assert.matches("connect.exec", err.message, 1, true)
    _, err = load([[{ component = "nope", exec = { "x" } }]])
    assert.matches("unknown component 'nope'", err.message, 1, true)
    _, err = load([[{ description = "nothing to run" }]])
    assert.matches("connect needs exec, commands or url", err.message, 1, true)
  end)

  it("is declared by the built-in services that have a client", function()
    for _, name in ipairs({ "postgres", "redis", "kafka", "trino", "minio" }) do
      local r = assert(api.recipe(name))
      assert.is_table(r.connect, name)
      assert.is_table(r.connect.exec, name)
      -- credentials come from files inside the container, never as arguments
      for _, a in ipairs(r.connect.exec) do
        assert.is_nil(a:find("{secret", 1, true), name)
        assert.is_nil(a:match("%-a%s"), name)
      end
    end
    assert.same({ "consumer", "producer", "topics" }, (function()
      local t = {}
      for k in pairs(assert(api.recipe("kafka")).connect.commands) do t[#t + 1] = k end
      table.sort(t)
      return t
    end)())
    assert.matches("token={secret:token}", assert(api.recipe("jupyter")).connect.url, 1, true)
  end)
end)
