-- `deloc up` pulls a missing image from a registry, with progress, through
-- the project's mirror prefix.  The registry is Debian's docker-registry in
-- a container of ours (spec/images/build registry) on 127.0.0.1, which the
-- engine allows without TLS.  The image pushed to it is the test busybox
-- plus a 20 MB layer of random bytes, so a pull really downloads (layers the
-- engine already has are only "Already exists", with no progress).
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local RECIPES = e2e.root .. "/spec/fixtures/docker/recipes"

local function docker(args, timeout)
  local st, out, err, why = e2e.docker(args, { timeout = timeout or 120 })
  assert(st == 0, ("docker %s: %s"):format(table.concat(args, " "), tostring(why or err)))
  return out
end

-- JSON progress events from `deloc up --json` (one object a line before the
-- indented result)
local function events(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    if line:match("^{.*}$") then
      local ev = json.decode(line)
      if type(ev) == "table" and ev.state then list[#list + 1] = ev end
    end
  end
  return list
end

describe("docker: pull from a registry #e2e", function()
  local project, regproject, dir, port, ref

  lazy_setup(function()
    assert(images.ensure({ "busybox" }))
    local r = assert(sys.spawn({ argv = { images.root .. "/spec/images/build", "registry" }, timeout = 300 }))
    assert(r.status == 0, r.stderr)
    project = e2e.project("pull")
    -- the registry and the image's build go under a project of their own:
    -- deloc would call them orphans of the stack's project
    regproject = e2e.project("pullreg")
    dir = e2e.tmpdir()
    local label = e2e.label(regproject)
    docker({ "run", "-d", "--name", regproject .. "-registry", label[1], label[2],
      "-p", "127.0.0.1::5000", "deloc-test/registry:2" })
    port = assert(docker({ "port", regproject .. "-registry", "5000/tcp" }):match("127%.0%.0%.1:(%d+)"))
    local deadline = sys.now() + 20
    repeat
      local c = sys.spawn({ argv = { "curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:" .. port .. "/v2/" } })
      if c and c.status == 0 then break end
      sys.sleep(0.1)
    until sys.now() > deadline
    ref = ("127.0.0.1:%s/deloc-test/busybox:1.35"):format(port)
    docker({ "run", "--name", regproject .. "-blob", label[1], label[2], images.tag("busybox"),
      "sh", "-c", "head -c 20000000 /dev/urandom > /blob" })
    docker({ "commit", regproject .. "-blob", ref })
    docker({ "rm", regproject .. "-blob" })
    docker({ "push", ref }, 300)
    docker({ "image", "rm", ref })
  end)

  lazy_teardown(function()
    if project then e2e.cleanup(project) end
    if regproject then e2e.cleanup(regproject) end
    if ref then e2e.docker({ "image", "rm", "-f", ref }) end
    if dir then e2e.rmdir(dir) end
  end)

  it("pulls the missing image with progress, named by the mirror prefix", function()
    assert.equal(1, (e2e.docker({ "image", "inspect", ref })))
    assert(sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s ]\nmirror: 127.0.0.1:%s/\n"
      .. "services:\n  alpha: {}\n"):format(project, RECIPES, port)))
    local st, out, err = e2e.deloc({ "up", "--wait", "--json" }, { cwd = dir })
    assert.equal(0, st, err .. out)
    local pulling, percents = 0, {}
    for _, ev in ipairs(events(out)) do
      if ev.state == "pulling" then
        assert.equal("alpha", ev.service)
        pulling = pulling + 1
        assert.matches(ref, ev.detail, 1, true)
        local pct = ev.detail:match(" (%d+)%% of %d+ MB$")
        if pct then percents[#percents + 1] = tonumber(pct) end
      end
    end
    assert.is_true(pulling >= 2, out)
    assert.is_true(#percents >= 1, out)
    for i, p in ipairs(percents) do
      assert.is_true(p >= 0 and p <= 100)
      if i > 1 then assert.is_true(p >= percents[i - 1], out) end
    end
    assert.equal(100, percents[#percents], out)
    assert.matches("20 MB", out, 1, true)
    -- the container runs the pulled image
    assert.equal(ref, (docker({ "inspect", "--format", "{{.Config.Image}}", project .. "-alpha-1" }):gsub("%s+$", "")))
    assert.equal(0, (e2e.docker({ "exec", project .. "-alpha-1", "test", "-s", "/blob" })))
    -- present now: the next up pulls nothing
    st, out, err = e2e.deloc({ "up", "--wait", "--json" }, { cwd = dir })
    assert.equal(0, st, err)
    for _, ev in ipairs(events(out)) do assert.are_not.equal("pulling", ev.state) end
  end)

  it("fails only the service whose image the registry does not have, naming it and the fix", function()
    assert(sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s ]\nmirror: 127.0.0.1:%s/\n"
      .. "images:\n  beta: 127.0.0.1:%s/deloc-test/nosuch:1\nservices:\n  alpha: {}\n  beta: {}\n")
      :format(project, RECIPES, port, port)))
    local st, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(6, st, err)
    assert.matches(("cannot pull image '127.0.0.1:%s/deloc-test/nosuch:1' for beta"):format(port), err, 1, true)
    assert.matches("images: { beta: IMAGE }", err, 1, true)
    local _, out = e2e.deloc({ "status", "--json" }, { cwd = dir })
    local states = {}
    for _, r in ipairs(json.decode(out).services) do states[r.service] = r.state end
    assert.truthy(states.alpha == "healthy" or states.alpha == "running", out)
    assert.is_nil(states.beta)
  end)
end)
