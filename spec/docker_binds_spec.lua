-- The Docker driver re-checks, where a plan's mount becomes a bind, that a
-- source the project file named resolves inside the project directory: the
-- plan comes back from the recipe sandbox as data, and a child that escaped
-- could hand back a plan binding / or ~.  Sources the user gave with --mount
-- are trusted only as the parent itself resolved them.
local sys = require("deloc.sys")
local build = require("deloc.adapters.docker.build")
local apply = require("deloc.adapters.docker.apply")
local binds = require("deloc.adapters.docker.binds")

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(sys.mkdir_p(d, tonumber("700", 8)))
  return assert(sys.realpath(d))
end

local function rm(d) sys.spawn({ argv = { "rm", "-rf", "--", d } }) end

local function plan_with(mounts)
  local comp = {
    name = "web", service = "web", kind = "service", image = "busybox:1", replicas = 1,
    cpu = 0.1, memory = 64 * 2 ^ 20, env = {}, aliases = { "web" }, capabilities = {},
    mounts = mounts,
  }
  local svc = { name = "web", component_order = { "web" }, components = { web = comp } }
  return { project = "demo", network = "deloc-demo", order = { "web" }, services = { web = svc } }, svc, comp
end

local function project_mount(source)
  return { data = { source = source, path = "/data", kind = "directory", writable = false, given = source } }
end

local function bind_sources(body)
  local out = {}
  for _, m in ipairs(body.HostConfig.Mounts) do
    if m.Type == "bind" then out[#out + 1] = m.Source end
  end
  return out
end

describe("docker binds of the user's files", function()
  local dir, outside
  before_each(function()
    dir, outside = tmpdir(), tmpdir()
    assert(sys.mkdir_p(dir .. "/data"))
    assert(sys.mkdir_p(dir .. "/.deloc/secrets"))
  end)
  after_each(function() rm(dir); rm(outside) end)

  it("binds a project mount that resolves inside the project", function()
    local plan, svc, comp = plan_with(project_mount(dir .. "/data"))
    local body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_table(body, err and err.message)
    assert.same({ dir .. "/data" }, bind_sources(body))
  end)

  it("refuses a project mount of / or the home directory from a corrupted plan", function()
    for _, source in ipairs({ "/", os.getenv("HOME") or "/root", outside }) do
      local plan, svc, comp = plan_with(project_mount(source))
      local body, err = build.container(plan, svc, comp, 1, { root = dir })
      assert.is_nil(body)
      assert.equal("CONFIG_INVALID", err.code)
      assert.matches("mount 'data' of web: '" .. source:gsub("%p", "%%%0") .. "' resolves to .* outside the project",
        err.message)
    end
  end)

  it("refuses a link inside the project that leads out, and .deloc/", function()
    assert(sys.spawn({ argv = { "ln", "-s", outside, dir .. "/out" } }))
    local plan, svc, comp = plan_with(project_mount(dir .. "/out"))
    local body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_nil(body)
    assert.matches("outside the project", err.message)
    plan, svc, comp = plan_with(project_mount(dir .. "/.deloc/secrets"))
    body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_nil(body)
    assert.matches("would expose %.deloc/", err.message)
    plan, svc, comp = plan_with(project_mount(dir))
    body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_nil(body)
    assert.matches("would expose %.deloc/", err.message)
  end)

  it("refuses a mount when there is no project directory to check it against", function()
    local plan, svc, comp = plan_with(project_mount(dir .. "/data"))
    local body, err = build.container(plan, svc, comp, 1, {})
    assert.is_nil(body)
    assert.matches("no project directory", err.message)
  end)

  it("binds a --mount source anywhere, but only as the parent resolved it", function()
    local m = project_mount(outside)
    m.data.flag = true -- the plan's own mark is data from the child, not proof
    local plan, svc, comp = plan_with(m)
    local body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_nil(body)
    assert.matches("outside the project", err.message)
    local user = assert(binds.user_sources({ "web.data=" .. outside }))
    body, err = build.container(plan, svc, comp, 1, { root = dir, user_sources = user })
    assert.is_table(body, err and err.message)
    assert.same({ outside }, bind_sources(body))
    -- a --mount of one path does not vouch for another
    plan, svc, comp = plan_with(project_mount("/"))
    assert.is_nil((build.container(plan, svc, comp, 1, { root = dir, user_sources = user })))
  end)

  it("binds a secret only from .deloc/secrets/ of the project", function()
    local plan, svc, comp = plan_with(nil)
    comp.secrets = { pw = { file = "/run/secrets/web.pw", source = ".deloc/secrets/web.pw" } }
    local body, err = build.container(plan, svc, comp, 1, { root = dir })
    assert.is_table(body, err and err.message)
    assert.same({ dir .. "/.deloc/secrets/web.pw" }, bind_sources(body))
    for _, bad in ipairs({ "/etc/shadow", ".deloc/secrets/../../../etc/shadow", ".deloc/secrets/..", "../x" }) do
      comp.secrets.pw.source = bad
      body, err = build.container(plan, svc, comp, 1, { root = dir })
      assert.is_nil(body, bad)
      assert.matches("secret 'pw' of web: '.-' is not a file in %.deloc/secrets/", err.message)
    end
  end)

  it("stops the change list (apply.decide and apply.diff) with the refusal", function()
    local plan, svc, comp = plan_with(project_mount("/"))
    local actions, err = apply.decide(plan, svc, comp, {}, { root = dir })
    assert.is_nil(actions)
    assert.matches("outside the project", err.message)
    local d, derr = apply.diff(plan, { by = {} }, { root = dir })
    assert.is_nil(d)
    assert.matches("outside the project", derr.message)
  end)
end)
