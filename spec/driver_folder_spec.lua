-- Adding a target is one driver module and nothing else (README
-- "Development: adding a target"): a toy driver that only declares itself
-- and its traits is a target the CLI, the session and the planner accept,
-- and the planner plans for it by those traits, without any other file
-- knowing its name.
local sys = require("deloc.sys")
local json = require("deloc.json")
local planner = require("deloc.planner")
local registry = require("deloc.registry")
local project = require("deloc.project")
local targets = require("deloc.targets")
local drivers = require("deloc.drivers")
local e2e = dofile("spec/support/e2e.lua")

local Gi = 1024 ^ 3
local MOD = "deloc.adapters.toy"

-- adapters/toy.lua, all of it
local TOY = [[
local drivers = require("deloc.drivers")
local M = {
  name = "toy", interface = "driver", where = "the toy box",
  columns = { status = {}, endpoints = { "ADDRESS", "CONNECTION" } },
  traits = { title = "Toyland", local_build = false, writable_mounts = false,
    mounts_note = "toys keep no host paths", cpu = "request", more_memory = "add toy memory" },
}
function M.connect() return { notes = {} } end
function M.capacity()
  return { cpu = 4, memory = 16 * 2 ^ 30, disk = 100 * 2 ^ 30, source = { cpu = "toy", memory = "toy", disk = "toy" } }
end
function M.plan_inputs() return { listening = {} } end
function M.describe() return "the toy box" end
for _, m in ipairs(drivers.METHODS) do
  if not M[m] then M[m] = function() return drivers.unsupported("toy", m) end end
end
return M
]]

local reg = assert(registry.new({ dirs = { "spec/fixtures/model/recipes" }, builtin = false }))

local function plan(extra)
  local o = { services = { "beta" }, registry = reg, target = "toy", listening = {},
    capacity = { cpu = 8, memory = 16 * Gi, disk = 100 * Gi, source = { cpu = "t", memory = "t", disk = "t" } },
    project = { name = "t", dir = "/tmp/t", services = {}, profiles = {} } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return planner.plan(o)
end

describe("a new target", function()
  before_each(function()
    package.preload[MOD] = assert(loadstring(TOY, "=adapters/toy.lua"))
  end)
  after_each(function()
    package.preload[MOD], package.loaded[MOD] = nil, nil
  end)

  it("is found by its module alone, with the whole driver interface", function()
    assert.same({ "docker", "kubernetes", "toy" }, targets.names())
    assert.equal("toy", (targets.name({ target = "toy" })))
    assert.same({}, drivers.missing(assert(targets.get("toy"))))
  end)

  it("is planned for by its traits", function()
    local p = assert(plan())
    assert.equal("toy", p.target)
    assert.is_true(p.verdict.fits)
    -- cpu = "request": CPUs short at the minimums do not fit, and say where to add them
    p = assert(plan({ capacity = { cpu = 0.5, memory = 16 * Gi, disk = 100 * Gi, source = {} } }))
    assert.is_false(p.verdict.fits)
    assert.matches("add .* CPUs to the toy box", table.concat(p.verdict.choices, "\n"))
    -- its words for more memory
    p = assert(plan({ capacity = { cpu = 8, memory = 128 * 2 ^ 20, disk = 100 * Gi, source = {} } }))
    assert.is_false(p.verdict.fits)
    assert.matches("add toy memory: .* more is needed", table.concat(p.verdict.choices, "\n"))
    -- local_build = false
    local _, err = plan({ overrides = { beta = { build = { context = "app" } } } })
    assert.matches("Toyland cannot use a local build", err.message, 1, true)
  end)

  it("is a target a project file may name", function()
    assert.equal("toy", assert(project.parse("target: toy\n", "p.yaml")).target)
    local _, err = project.parse("target: toi\n", "p.yaml")
    assert.matches("p.yaml:1:9: unknown target 'toi' (did you mean 'toy'?)", err.message, 1, true)
    assert.matches("toy", err.hint, 1, true)
  end)

  it("runs from a tree that adds only adapters/toy.lua", function()
    package.preload[MOD] = nil
    local tree, cwd = e2e.tmpdir(), e2e.tmpdir()
    finally(function() e2e.rmdir(tree); e2e.rmdir(cwd) end)
    assert(sys.mkdir_p(tree .. "/adapters"))
    assert(sys.write_atomic(tree .. "/adapters/toy.lua", TOY))
    local status, out, err = e2e.deloc({ "plan", "--json", "--target", "toy", "postgres" },
      { cwd = cwd, env = { DELOC_LUA_DIR = tree } })
    assert.equal(0, status, err)
    local p = assert(json.decode(out))
    assert.equal("toy", p.target)
    assert.equal("toy", p.capacity.source.cpu)
    assert.truthy(p.services.postgres)
  end)
end)
