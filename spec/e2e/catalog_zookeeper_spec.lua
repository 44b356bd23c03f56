-- The catalog's zookeeper recipe, unchanged, on deloc-test/zookeeper (Debian's
-- ZooKeeper behind the official image's contract; only the image is
-- overridden): up, healthy, `deloc smoke` passes (a znode written and read
-- back with zkCli.sh), and `down --volumes` leaves nothing of the project.
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

describe("catalog: zookeeper on its stand-in image #e2e", function()
  local project, dir, env
  local function deloc(args)
    return e2e.deloc(args, { cwd = dir, env = env, timeout = 300 })
  end

  setup(function()
    local tags = assert(images.ensure({ "zookeeper" }))
    project = e2e.project("catzk")
    dir = e2e.workdir(project, "services:\n  zookeeper: {}\n")
    env = { DELOC_IMAGES = images.overrides(tags) }
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  it("comes up healthy as 1000:1000 and passes its smoke", function()
    local st, _, err = deloc({ "up", "--wait", "--timeout", "180s" })
    assert.equal(0, st, err)
    local out
    st, out, err = deloc({ "smoke", "--json" })
    assert.equal(0, st, (err or "") .. (out or ""))
    local doc = assert(json.decode(out))
    assert.is_true(doc.passed)
    assert.equal("zookeeper", doc.smokes[1].service)
  end)

  it("mounts every image VOLUME as a project volume (no anonymous ones)", function()
    local st, ids = e2e.docker({ "ps", "-q", "--filter", "label=dev.deloc.project=" .. project })
    assert.equal(0, st)
    local id = ids:match("%S+")
    assert.is_string(id)
    local out
    st, out = e2e.docker({ "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}\n{{end}}", id })
    assert.equal(0, st)
    local seen = 0
    for typ, name, dest in out:gmatch("(%S+) (%S*) (%S+)\n") do
      if typ == "volume" then
        seen = seen + 1
        assert.matches("^deloc%-" .. project:gsub("%p", "%%%0") .. "%-", name, 1, false, dest .. " is anonymous")
      end
    end
    assert.equal(3, seen) -- /data, /datalog, /logs
  end)

  it("down --volumes leaves nothing of the project", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(project))
  end)
end)
