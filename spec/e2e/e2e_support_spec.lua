-- spec/support/e2e.lua against the real engine: cleanup removes what a test
-- left, even two networks of one name (a run killed while the engine
-- created its network can leave a duplicate; `docker network rm NAME` then
-- refuses).
local sched = require("deloc.sched")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

-- POST /networks/create without the engine's duplicate check, as a racing
-- create can end up.
local function create_network(name, project)
  local docker = require("deloc.adapters.docker")
  local c = assert(docker.connect())
  local res, err
  assert(sched.wait(sched.spawn(function()
    res, err = c:post("/networks/create", nil, { Name = name, CheckDuplicate = false,
      Labels = { ["dev.deloc.project"] = project } })
  end)))
  assert(res, err)
  return res.Id
end

describe("e2e support: cleanup #e2e", function()
  it("removes containers, volumes and two networks that share a name", function()
    local project = e2e.project("cleanup")
    finally(function() e2e.cleanup(project) end)
    local tag = images.tag("busybox")
    assert(images.ensure({ "busybox" }))
    local id1 = create_network(project, project)
    local id2 = create_network(project, project)
    assert.are_not.equal(id1, id2)
    local label = e2e.label(project)
    assert.equal(0, (e2e.docker({ "volume", "create", label[1], label[2], project .. "-data" })))
    local st, _, derr = e2e.docker({ "run", "-d", "--name", project .. "-c", label[1], label[2],
      "-v", project .. "-data:/data", tag, "sleep", "600" })
    assert.equal(0, st, derr)
    assert.same({ "container " .. project .. "-c", "network " .. project, "network " .. project,
      "volume " .. project .. "-data" }, e2e.leftovers(project))

    local ok, err = e2e.cleanup(project)
    assert.is_true(ok, err)
    assert.same({}, e2e.leftovers(project))
    assert.is_true(e2e.cleanup(project)) -- twice is fine
  end)
end)
