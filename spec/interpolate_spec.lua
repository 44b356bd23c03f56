-- ${VAR} in deloc.yaml, as Compose reads it, and the .env file beside it.
local interpolate = require("deloc.interpolate")
local project = require("deloc.project")
local sys = require("deloc.sys")

local function lookup(t) return function(k) return t[k] end end

local e2e = dofile("spec/support/e2e.lua")
local tmpdir, rmtree = e2e.tmpdir, e2e.rmdir

describe("deloc.interpolate", function()
  local env = lookup({ A = "1", EMPTY = "", NAME = "pg" })

  it("substitutes every Compose form", function()
    assert.equal("1", (interpolate.string("${A}", env)))
    assert.equal("x1y", (interpolate.string("x${A}y", env)))
    assert.equal("1-pg", (interpolate.string("$A-$NAME", env)))
    assert.equal("d", (interpolate.string("${UNSET:-d}", env)))
    assert.equal("d", (interpolate.string("${EMPTY:-d}", env)))
    assert.equal("", (interpolate.string("${EMPTY-d}", env)))
    assert.equal("d", (interpolate.string("${UNSET-d}", env)))
    assert.equal("alt", (interpolate.string("${A:+alt}", env)))
    assert.equal("", (interpolate.string("${UNSET:+alt}", env)))
    assert.equal("pg", (interpolate.string("${UNSET:-${NAME}}", env)))
    assert.equal("$A and $", (interpolate.string("$$A and $", env)))
  end)

  it("names the variable that is unset without a default", function()
    local r, msg = interpolate.string("${PASSWORD}", env)
    assert.is_nil(r)
    assert.matches("variable 'PASSWORD' is not set and has no default", msg, 1, true)
    r, msg = interpolate.string("${PASSWORD:?give me one}", env)
    assert.is_nil(r)
    assert.matches("variable 'PASSWORD' is required: give me one", msg, 1, true)
    r, msg = interpolate.string("${EMPTY:?must not be empty}", env)
    assert.is_nil(r)
    assert.matches("must not be empty", msg, 1, true)
    r, msg = interpolate.string("${A", env)
    assert.is_nil(r)
    assert.matches("unclosed", msg, 1, true)
  end)

  it("reads .env lines as Compose does", function()
    local vars = assert(interpolate.dotenv(table.concat({
      "# a comment", "", "export PLAIN=value # trailing comment", "SINGLE='lit ${PLAIN} #x'",
      'DOUBLE="a\\nb ${PLAIN}"', "REF=${PLAIN}-2", "EMPTY=", "WIN=crlf\r",
    }, "\n"), ".env"))
    assert.equal("value", vars.PLAIN)
    assert.equal("lit ${PLAIN} #x", vars.SINGLE)
    assert.equal("a\nb value", vars.DOUBLE)
    assert.equal("value-2", vars.REF)
    assert.equal("", vars.EMPTY)
    assert.equal("crlf", vars.WIN)
    local none, err = interpolate.dotenv("A=1\nnot a line\n", "x/.env")
    assert.is_nil(none)
    assert.equal("x/.env:2: expected NAME=value", err.message)
  end)

  describe("in deloc.yaml", function()
    local dir
    before_each(function() dir = tmpdir() end)
    after_each(function() rmtree(dir) end)

    local function load(text, dotenv, environ)
      assert(sys.write_atomic(dir .. "/deloc.yaml", text))
      if dotenv then assert(sys.write_atomic(dir .. "/.env", dotenv)) end
      return project.parse(text, dir .. "/deloc.yaml", dir, { environ = environ or {} })
    end

    it("takes values from the environment over .env, keeping numbers numbers", function()
      local p = assert(load("project: ${NAME:-shop}\nservices:\n  postgres:\n    ports:\n      postgres: ${PGPORT}\n"
        .. "    env: { MODE: \"${MODE}\" }\n", "PGPORT=15432\nMODE=file\nNAME=fromfile\n", { MODE = "shell" }))
      assert.equal("fromfile", p.name)
      assert.equal(15432, p.services.postgres.ports.postgres)
      assert.equal("shell", p.services.postgres.env.MODE)
    end)

    it("fails naming the variable, the file and the line", function()
      local p, err = load("services:\n  postgres:\n    env: { PW: \"${PG_PASSWORD}\" }\n", nil, {})
      assert.is_nil(p)
      assert.equal("CONFIG_INVALID", err.code)
      assert.matches("deloc.yaml:3:%d+: variable 'PG_PASSWORD' is not set and has no default", err.message)
      assert.matches(".env", err.hint, 1, true)
    end)

    it("reports a bad .env line with its file and line", function()
      local p, err = load("project: x\n", "OK=1\n=bad\n", {})
      assert.is_nil(p)
      assert.matches("/.env:2: expected NAME=value", err.message, 1, true)
    end)

    it("leaves keys alone and turns $$ into $", function()
      -- (an env name must be a name: the key left alone is an image key here)
      local p = assert(load("services:\n  postgres:\n    env: { K: \"a$$b\" }\nimages:\n  \"${K}\": \"r:1\"\n", nil, {}))
      assert.equal("a$b", p.services.postgres.env.K)
      assert.equal("r:1", p.images["${K}"])
    end)
  end)
end)
