-- The Lua API as a test fixture, the way Testcontainers is used: a
-- `deloc run` script brings up Postgres and Redis with deloc.up{...}, runs
-- commands in them with stack:exec, reads stack:status(), and takes it all
-- down with stack:down{ volumes = true }, on the real engine.  The script
-- requires a helper module that sits beside it.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local HELPERS = [[
local M = {}
-- a generated secret of the project (mode 0600 under .deloc/secrets/)
function M.secret(name)
  local f = assert(io.open(".deloc/secrets/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end
return M
]]

local FIXTURE = [[
local helpers = require("helpers")
local stack = assert(deloc.up{ "postgres", "redis", timeout = "180s" })
local ok, err = pcall(function()
  local by = {}
  for _, r in ipairs(assert(stack:status())) do by[r.service] = r.state end
  assert(by.postgres == "healthy", "postgres is " .. tostring(by.postgres))
  assert(by.redis == "healthy", "redis is " .. tostring(by.redis))
  local r = assert(stack:exec("postgres", { "psql", "-h", "127.0.0.1", "-U", "deloc", "-d", "deloc", "-tA",
    "-c", "select 40 + 2" }, { env = { PGPASSWORD = helpers.secret("postgres.password") } }))
  assert(r.code == 0, r.stderr)
  print("psql: " .. r.stdout:gsub("%s+$", ""))
  r = assert(stack:exec("redis", { "redis-cli", "-h", "127.0.0.1", "SET", "k", "v" },
    { env = { REDISCLI_AUTH = helpers.secret("redis.password") } }))
  print("redis: " .. r.stdout:gsub("%s+$", ""))
  r = assert(stack:exec("redis", { "sh", "-c", "echo to-stderr >&2; exit 7" }))
  print(("exit: %d %s"):format(r.code, r.stderr:gsub("%s+$", "")))
  local _, missing = stack:exec("nosuch", { "true" })
  print("missing: " .. missing.code)
  print("endpoints: " .. #stack.endpoints)
end)
local down, derr = stack:down{ volumes = true }
assert(ok, err)
assert(down, derr)
print("down: " .. #down.removed .. " removed")
]]

describe("lua API: a stack as a test fixture #e2e", function()
  it("deloc run: up, status, exec, down on the real engine, with a module beside the script", function()
    local tags = assert(images.ensure({ "postgres", "redis" }))
    local project = e2e.project("api")
    local dir = e2e.workdir(project, "services:\n  postgres: {}\n")
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    assert(sys.write_atomic(dir .. "/helpers.lua", HELPERS))
    assert(sys.write_atomic(dir .. "/fixture.lua", FIXTURE))
    local st, out, err = e2e.deloc({ "run", "fixture.lua" }, { cwd = dir, timeout = 300,
      env = { DELOC_IMAGES = images.overrides(tags) } })
    assert.equal(0, st, err .. out)
    assert.matches("psql: 42", out, 1, true)
    assert.matches("redis: OK", out, 1, true)
    assert.matches("exit: 7 to-stderr", out, 1, true)
    assert.matches("missing: SERVICE_NOT_FOUND", out, 1, true)
    assert.matches("endpoints: 2", out, 1, true)
    assert.matches("down: 2 removed", out, 1, true)
    assert.same({}, e2e.leftovers(project))
  end)

  it("deloc.up, deloc.down and deloc.status are functions (the REPL offers them)", function()
    local st, out, err = e2e.deloc({ "-e", "print(type(deloc.up), type(deloc.down), type(deloc.status))" },
      { timeout = 30 })
    assert.equal(0, st, err)
    assert.matches("function\tfunction\tfunction", out, 1, true)
  end)
end)
