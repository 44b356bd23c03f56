-- deloc env: what a host program needs, quoted so eval "$(deloc env)" and a
-- .env reader get back exactly the secret, whatever it holds.
local exports = require("deloc.exports")
local interpolate = require("deloc.interpolate")
local sys = require("deloc.sys")

local e2e = dofile("spec/support/e2e.lua")
local tmpdir, rmtree = e2e.tmpdir, e2e.rmdir

local HOSTILE = { "plain", "it's", "a b", "$(touch /tmp/deloc-pwned)", "`id`", "x\"y\\z", "new\nline",
  "tab\there", "${HOME}", "$$", "'", "", "semi;colon&amp|pipe", "ünï" }

describe("deloc.exports", function()
  it("fills host ports and keeps secrets by reference in the plan", function()
    local r = { path = "recipes/pg.lua", secrets = { password = {} },
      exports = { URL = "pg://u:{secret_url:password}@{host}:{port:pg}/{service}", PW = "{secret:password}" } }
    local parts = assert(exports.parts(r, "postgres", function(n) return n == "pg" and 15432 or nil end, "p"))
    assert.same({ "pg://u:", { secret = "postgres.password", url = true }, "@127.0.0.1:15432/postgres" }, parts.URL)
    assert.same({ { secret = "postgres.password" } }, parts.PW)
    r.exports = { X = "{port:nope}" }
    local none, err = exports.parts(r, "postgres", function() return nil end, "p")
    assert.is_nil(none)
    assert.matches("recipes/pg.lua: exports.X: unknown placeholder '{port:nope}'", err.message, 1, true)
  end)

  it("quotes every value so that sh's eval gives it back unchanged", function()
    for _, v in ipairs(HOSTILE) do
      local r = assert(sys.spawn({ argv = { "sh", "-c", 'eval "$1"; printf %s "$V"', "sh",
        "export V=" .. exports.shell_quote(v) } }))
      assert.equal(0, r.status)
      assert.equal(v, r.stdout)
    end
    assert.is_false(sys.exists("/tmp/deloc-pwned"))
  end)

  it("quotes dotenv values so that the .env reader gives them back", function()
    for _, v in ipairs(HOSTILE) do
      local vars = assert(interpolate.dotenv("V=" .. exports.dotenv_quote(v) .. "\n", ".env", function() return nil end))
      assert.equal(v, vars.V)
    end
  end)

  describe("values and deloc env", function()
    local dir
    before_each(function()
      dir = tmpdir()
      assert(sys.write_atomic(dir .. "/deloc.yaml", "services: [postgres, kafka]\n"))
    end)
    after_each(function() rmtree(dir) end)

    local function env(...)
      return sys.spawn({ argv = { "./deloc", "env", "-f", dir .. "/deloc.yaml", ... } })
    end

    it("prints postgres's and kafka's settings from the secret files, eval-able", function()
      assert(sys.mkdir_p(dir .. "/.deloc/secrets", 448))
      assert(sys.write_atomic(dir .. "/.deloc/secrets/postgres.password", "p@ss'w rd", 384))
      local r = assert(env())
      assert.equal("", r.stderr)
      assert.equal(0, r.status)
      assert.matches("export PGPASSWORD='p@ss'\\''w rd'\n", r.stdout, 1, true)
      assert.matches("export DATABASE_URL='postgresql://deloc:p%%40ss%%27w%%20rd@127.0.0.1:%d+/deloc'\n", r.stdout)
      assert.matches("export KAFKA_BOOTSTRAP_SERVERS='127.0.0.1:%d+'\n", r.stdout)
      local sh = assert(sys.spawn({ argv = { "sh", "-c", 'eval "$1"; printf %s "$PGPASSWORD|$PGUSER|$PGDATABASE"',
        "sh", r.stdout } }))
      assert.equal("p@ss'w rd|deloc|deloc", sh.stdout)
      r = assert(env("kafka", "--format", "json"))
      local j = require("deloc.json").decode(r.stdout)
      assert.matches("^127%.0%.0%.1:%d+$", j.KAFKA_BOOTSTRAP_SERVERS)
      assert.is_nil(j.PGPASSWORD)
    end)

    it("says to run deloc up when the secrets do not exist yet", function()
      local r = assert(env("postgres"))
      assert.not_equal(0, r.status)
      assert.matches("secret 'postgres.password' does not exist yet", r.stderr, 1, true)
      assert.matches("deloc up", r.stderr, 1, true)
    end)

    it("is the same through the Lua API", function()
      assert(sys.mkdir_p(dir .. "/.deloc/secrets", 448))
      assert(sys.write_atomic(dir .. "/.deloc/secrets/postgres.password", "pw", 384))
      local e = assert(require("deloc.api").env({ file = dir .. "/deloc.yaml", services = { "postgres" } }))
      assert.equal("pw", e.PGPASSWORD)
      assert.is_nil(e.KAFKA_BOOTSTRAP_SERVERS)
      local none, err = require("deloc.api").env({ file = dir .. "/deloc.yaml", services = { "redis" } })
      assert.is_nil(none)
      assert.equal("SERVICE_NOT_FOUND", err.code)
    end)
  end)
end)
