-- deloc.converge: the converge loop both drivers share, driven here by
-- steps that only record what they are asked: dependencies first, a failure
-- reaches its dependents (named), waits happen only where they must, and
-- rollback runs when asked.
local converge = require("deloc.converge")
local sched = require("deloc.sched")

-- a plan of three services: app needs db (whole service: its component db),
-- job is a one-shot nobody needs
local function plan()
  local function comp(svc, name, deps, kind)
    local d = {}
    for _, x in ipairs(deps or {}) do d[#d + 1] = { service = x, component = x, condition = "healthy" } end
    return { name = name, service = svc, kind = kind or "service", depends_on = d }
  end
  return {
    project = "p", order = { "db", "app", "job" },
    services = {
      db = { name = "db", component_order = { "db" }, components = { db = comp("db", "db") } },
      app = { name = "app", component_order = { "app" }, components = { app = comp("app", "app", { "db" }) } },
      job = { name = "job", component_order = { "job" }, components = { job = comp("job", "job", nil, "oneshot") } },
    },
  }
end

local function recorder(fail)
  local log, steps = {}, {}
  function steps.prepare() log[#log + 1] = "prepare"; return true end
  function steps.deploy(_, svc, _, emit)
    log[#log + 1] = "deploy " .. svc.name
    sched.sleep(0.01)
    if fail == svc.name then return nil, require("deloc.errors").new("DEPLOYMENT_FAILED", svc.name .. " broke") end
    emit("started")
    return true
  end
  function steps.ready(_, svc, _, emit)
    log[#log + 1] = "ready " .. svc.name
    emit("healthy")
    return "healthy"
  end
  function steps.finish(_, failed) log[#log + 1] = "finish " .. tostring(failed); return true end
  function steps.rollback() log[#log + 1] = "rollback" end
  return log, steps
end

local function index(log, what)
  for i, l in ipairs(log) do if l == what then return i end end
end

describe("converge", function()
  it("starts a component once its dependencies are ready, and waits where asked", function()
    local log, steps = recorder()
    local events = {}
    local res, err = converge.run(plan(), steps, { wait = true, on_event = function(ev) events[#events + 1] = ev end }, { created = 0 })
    assert.is_table(res, err and err.message)
    assert.equal(0, res.created)
    assert.same({}, res.failed)
    assert.is_true(index(log, "ready db") < index(log, "deploy app"))
    assert.equal("prepare", log[1])
    assert.equal("finish false", log[#log])
    for _, key in ipairs({ "db/db", "app/app", "job/job" }) do
      assert.is_true(res.components[key].ready, key)
      assert.equal("healthy", res.components[key].state, key)
    end
    assert.is_true(#events > 0)
  end)

  it("without --wait, waits only for what a dependent needs", function()
    local log, steps = recorder()
    assert.is_table((converge.run(plan(), steps, { wait = false })))
    assert.truthy(index(log, "ready db"))
    assert.is_nil(index(log, "ready app"))
    assert.is_nil(index(log, "ready job"))
  end)

  it("fails the dependents of a failed component, naming it, and rolls back when asked", function()
    local log, steps = recorder("db")
    local res, err = converge.run(plan(), steps, { wait = true, rollback = true })
    assert.is_nil(res)
    assert.equal("DEPLOYMENT_FAILED", err.code)
    assert.matches("db broke", err.message, 1, true)
    assert.matches("app: needs db, which failed: db broke", err.message, 1, true)
    assert.same({ "db/db", "app/app" }, err.result.failed)
    assert.is_true(err.result.components["job/job"].ready)
    assert.is_nil(index(log, "deploy app"))
    assert.truthy(index(log, "rollback"))
    assert.truthy(index(log, "finish true"))
  end)

  it("deploys only the services asked for", function()
    local log, steps = recorder()
    local res = assert(converge.run(plan(), steps, { wait = true, only = { "app" } }))
    assert.is_nil(res.components["db/db"])
    assert.is_nil(index(log, "deploy db"))
    assert.truthy(index(log, "deploy app"))
  end)
end)
