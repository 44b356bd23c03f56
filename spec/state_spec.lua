-- deloc.state: per-service lifecycle (Stopped -> Deploying -> Running ->
-- Failed / Scaling) with a short history of transitions, and which services
-- a `deloc up` will change (only those are marked Deploying).
local json = require("deloc.json")
local sys = require("deloc.sys")
local state = require("deloc.state")

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdir_p(dir))
  return dir
end

describe("state lifecycle", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() sys.spawn({ argv = { "rm", "-rf", dir } }) end)

  it("records each transition with its time and reason, and the current state", function()
    local st = state.new("p")
    local t0 = sys.time()
    local _, moved = state.set_service(st, "kafka", "Deploying", "new")
    assert.is_true(moved)
    state.set_service(st, "kafka", "Running", "healthy")
    state.set_service(st, "kafka", "Scaling", "worker=3")
    state.set_service(st, "kafka", "Failed", "kafka exited with exit code 3")
    local s = st.services.kafka
    assert.equal("Failed", s.state)
    assert.equal("kafka exited with exit code 3", s.detail)
    assert.equal(4, #s.history)
    assert.same({ from = nil, to = "Deploying", reason = "new" },
      { from = s.history[1].from, to = s.history[1].to, reason = s.history[1].reason })
    assert.equal("Running", s.history[2].to)
    assert.equal("Deploying", s.history[2].from)
    assert.equal("healthy", s.history[2].reason)
    assert.equal("Scaling", s.history[3].to)
    assert.equal("Failed", s.history[4].to)
    for _, h in ipairs(s.history) do
      assert.is_true(h.time >= t0 - 1 and h.time <= sys.time() + 1)
    end
    local cur, since, reason = state.lifecycle(st, "kafka")
    assert.equal("Failed", cur)
    assert.equal(s.history[4].time, since)
    assert.equal("kafka exited with exit code 3", reason)
    assert.is_nil(state.lifecycle(st, "nosuch"))
  end)

  it("does not count setting the state a service is already in as a change", function()
    local st = state.new("p")
    state.set_service(st, "redis", "Running", "healthy")
    local before = json.encode(st)
    local _, moved = state.set_service(st, "redis", "Running", "healthy")
    assert.is_false(moved)
    assert.equal(before, json.encode(st))
  end)

  it("keeps only the last transitions", function()
    local st = state.new("p")
    for i = 1, state.TRANSITIONS + 5 do
      state.set_service(st, "s", i % 2 == 0 and "Running" or "Deploying", "round " .. i)
    end
    local h = st.services.s.history
    assert.equal(state.TRANSITIONS, #h)
    assert.equal("round " .. (state.TRANSITIONS + 5), h[#h].reason)
    assert.equal("round 6", h[1].reason)
  end)

  it("refuses an unknown state", function()
    assert.has_error(function() state.set_service(state.new("p"), "s", "Sleeping") end)
  end)

  it("round-trips the history through the file, an empty one as a JSON array", function()
    local st = state.new("p")
    state.set_service(st, "a", "Deploying", "changed")
    state.set_service(st, "a", "Running", "healthy")
    st.services.b = { state = "Running" } -- written by an older deloc: no history
    assert(state.save(dir, st))
    local again = assert(state.load(dir, "p"))
    assert.equal(2, #again.services.a.history)
    assert.equal("changed", again.services.a.history[1].reason)
    assert.same({}, again.services.b.history)
    assert.matches('"history": %[%]', json.encode(again.services.b, { indent = true }))
    -- an older file's service goes on from where it was
    state.set_service(again, "b", "Stopped")
    assert.equal("Running", again.services.b.history[1].from)
  end)
end)

describe("up: which services a run changes (the Docker driver's diff)", function()
  local apply = require("deloc.adapters.docker.apply")
  local up = { changing = function(plan, existing, ctx) return apply.diff(plan, existing, ctx).services end }
  local build = require("deloc.adapters.docker.build")
  local plan = {
    project = "demo", order = { "db", "pool" },
    services = {
      db = { name = "db", component_order = { "db" }, components = {
        db = { name = "db", service = "db", kind = "service", image = "x:1", replicas = 1,
               cpu = 0.1, memory = 2 ^ 26, env = {}, depends_on = {} } } },
      pool = { name = "pool", component_order = { "worker" }, components = {
        worker = { name = "worker", service = "pool", kind = "service", image = "x:1", replicas = 2,
                   scalable = true, cpu = 0.1, memory = 2 ^ 26, env = {}, depends_on = {} } } },
    },
  }
  local function hash(svc, comp)
    local _, h = build.container(plan, plan.services[svc], plan.services[svc].components[comp], 1, {})
    return h
  end
  local function ctr(h, st, replica)
    return { Id = "c" .. (replica or 1), State = st or "running", Status = "Up 1 minute",
      Labels = { ["dev.deloc.config-hash"] = h, ["dev.deloc.replica"] = tostring(replica or 1) } }
  end

  it("names nothing when every container matches the plan and runs", function()
    local existing = { by = {
      ["db/db"] = { ctr(hash("db", "db")) },
      ["pool/worker"] = { ctr(hash("pool", "worker"), nil, 1), ctr(hash("pool", "worker"), nil, 2) },
    } }
    assert.same({}, up.changing(plan, existing, {}))
  end)

  it("says why each other service changes: new, changed, stopped, scaled", function()
    assert.same({ db = "new", pool = "new" }, up.changing(plan, { by = {} }, {}))
    assert.same({ db = "changed", pool = "scaled" }, up.changing(plan, { by = {
      ["db/db"] = { ctr("0000") },
      ["pool/worker"] = { ctr(hash("pool", "worker"), nil, 1) },
    } }, {}))
    local three = { ctr(hash("pool", "worker"), nil, 1), ctr(hash("pool", "worker"), nil, 2),
      ctr(hash("pool", "worker"), nil, 3) }
    assert.same({ db = "stopped", pool = "scaled" }, up.changing(plan, { by = {
      ["db/db"] = { ctr(hash("db", "db"), "exited") }, ["pool/worker"] = three,
    } }, {}))
  end)
end)
