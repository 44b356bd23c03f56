-- Untrusted recipes (issue 11, point 3): a cloned project's recipe is bounded
-- in wall time and memory, including work inside C functions, cannot crash
-- deloc, reaches nothing outside its child process, and cannot change what
-- other recipes see.  Each `it` that names an attack worked before the
-- isolated child: a SIGSEGV of deloc itself, 600 MB and more, a pattern match
-- that never ended, string.format replaced for every later recipe.
local isolate = require("deloc.isolate")
local planner = require("deloc.planner")
local registry = require("deloc.registry")
local json = require("deloc.json")
local sys = require("deloc.sys")

local Gi = 1024 ^ 3

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdir_p(dir, 448))
  return dir
end

local function plan_with(dir, services)
  local reg = assert(registry.new({ dirs = { dir }, builtin = false }))
  return planner.plan({ services = services, registry = reg, listening = {},
    capacity = { cpu = 4, memory = 16 * Gi, disk = 100 * Gi, source = {} },
    project = { name = "t", dir = dir, services = {}, profiles = {} } })
end

local function recipe(dir, name, body, extra)
  assert(sys.write_atomic(dir .. "/" .. name .. ".lua", (body or "") .. ("\nreturn recipe %q { description = 'x', "
    .. "image = 'busybox:1.36', %s }\n"):format(name, extra or ""), 420))
end

describe("isolated recipes", function()
  local dir, wall
  before_each(function()
    dir = tmpdir()
    wall = isolate.WALL
  end)
  after_each(function()
    isolate.WALL = wall
    sys.spawn({ argv = { "rm", "-rf", dir } })
  end)

  it("recursion through gsub callbacks kills only the child (was: SIGSEGV of deloc)", function()
    recipe(dir, "evil", "local function f(s) return (s:gsub('.', f)) end",
      "env = function() return { A = f('x') } end")
    local p, err = plan_with(dir, { "evil" })
    assert.is_nil(p)
    assert.equal("CONFIG_INVALID", err.code)
    -- SIGSEGV in every build: the child keeps no fault handler, not even
    -- a sanitizer's
    assert.matches("crashed %((.-)%); deloc itself is unharmed", err.message)
    assert.matches("SIGSEGV", err.message)
  end)

  it("string.rep beyond the memory bound at load time is an error (was: 600 MB taken)", function()
    recipe(dir, "evil", "local s = string.rep('x', 600 * 1024 * 1024)")
    local p, err = plan_with(dir, { "evil" })
    assert.is_nil(p)
    assert.matches("evil%.lua: not enough memory", err.message)
    assert.matches("512 MiB", err.hint)
  end)

  it("memory grown in a function the planner calls is bounded too", function()
    recipe(dir, "evil", "", "env = function() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64 * 1024 * 1024) .. i end end")
    local p, err = plan_with(dir, { "evil" })
    assert.is_nil(p)
    assert.matches("not enough memory", err.message)
  end)

  it("a pattern match that runs for ever inside C is stopped at the wall-time bound", function()
    isolate.WALL = 1 -- the bound is 5 s for a project; the mechanism is the same
    recipe(dir, "evil", "local s = ('a'):rep(40) .. 'b'; s:find(('a*'):rep(40) .. 'c')")
    local t0 = sys.now()
    local p, err = plan_with(dir, { "evil" })
    assert.is_nil(p)
    assert.matches("ran longer than 1s", err.message)
    assert.is_true(sys.now() - t0 < 4)
  end)

  it("a recipe cannot change string, table or math for the recipes loaded after it", function()
    recipe(dir, "first", "string.format = function() return 'pwned' end; table.concat = nil; math.max = nil")
    recipe(dir, "second", "", "env = function() return { A = ('%d'):format(1) .. string.format('%d', 2) "
      .. ".. table.concat({ 'x', 'y' }) .. math.max(3, 4) } end")
    local p = assert(plan_with(dir, { "first", "second" }))
    assert.equal("12xy4", p.services.second.components.second.env.A)
  end)

  it("a recipe function cannot change the planner's tables that other recipes see", function()
    recipe(dir, "first", "", "env = function(s) s.profile_values.memory = 1; s.options.x = 'y'; "
      .. "s.profile = 'pwned'; return {} end")
    recipe(dir, "second", "", "depends_on = { 'first' }, env = function(s) "
      .. "return { P = s.profile, X = tostring(s.options.x), M = type(s.profile_values.memory) } end")
    local p = assert(plan_with(dir, { "second" }))
    local env = p.services.second.components.second.env
    assert.equal("development", env.P)
    assert.equal("nil", env.X)
    assert.is_nil(p.services.first.options.x)
  end)

  it("gives the same plan as the in-process planner, arrays and numbers kept", function()
    local fix = "spec/fixtures/model/recipes"
    local reg = assert(registry.new({ dirs = { fix }, builtin = false }))
    local opts = { services = { "beta" }, registry = reg, listening = {},
      capacity = { cpu = 3.3, memory = 7.3 * Gi, disk = 100 * Gi, source = { cpu = "t" } },
      project = { name = "t", dir = "/tmp/t", services = {}, profiles = {} } }
    local isolated = assert(planner.plan(opts))
    isolate.inside = true
    local ok, here = pcall(planner.plan, opts)
    isolate.inside = false
    assert(ok, here)
    assert.equal(json.encode(here, { indent = true }), json.encode(isolated, { indent = true }))
  end)

  it("hands back a table met twice, marked arrays, errors and exact numbers; refuses a cycle", function()
    local array, errors = require("deloc.array"), require("deloc.errors")
    local r = assert(isolate.run(function()
      local s = array.of({ 1.1, array.of({}) })
      return { a = s, b = s, c = { s, s }, e = errors.new("CONFIG_INVALID", "m"), f = print,
        n = 0.1 + 0.2, big = 2 ^ 60, neg = -123456789012345 }
    end))
    assert.is_true(array.is(r.a) and array.is(r.b) and array.is(r.c[2]) and array.is(r.a[2]))
    assert.equal(1.1, r.a[1])
    assert.equal(2, #r.c)
    assert.is_true(errors.is(r.e))
    assert.equal("m", r.e.message)
    assert.equal("function", type(r.f))
    assert.equal(0.1 + 0.2, r.n)
    assert.equal(2 ^ 60, r.big)
    assert.equal(-123456789012345, r.neg)
    local v, err = isolate.run(function() local t = {}; t.x = { t }; return t end)
    assert.is_nil(v)
    assert.matches("contains itself", err.message)
    v, err = isolate.run(function() return { 0 / 0 } end)
    assert.is_nil(v)
    assert.matches("cannot hand back nan", err.message)
  end)

  it("the child can open no file, and holds no descriptor of deloc's", function()
    local held = assert(sys.listdir("/proc/self/fd"))
    assert.is_true(#held >= 3)
    local fds
    local v = assert(isolate.run(function()
      local f, err = io.open("/etc/hostname", "rb")
      return { opened = f ~= nil, err = tostring(err), fds = fds }
    end, { prepare = function() fds = sys.listdir("/proc/self/fd") end }))
    assert.is_false(v.opened)
    assert.matches("Operation not permitted", v.err)
    -- stdin, stdout, stderr, the answer pipe, and the directory being listed
    assert.is_true(#v.fds <= 5, table.concat(v.fds, " "))
  end)

  it("an error from the child keeps its code, message and hint", function()
    local errors = require("deloc.errors")
    local v, err = isolate.run(function()
      return nil, errors.new("SERVICE_NOT_FOUND", "unknown service 'x'", { hint = "did you mean 'y'?" })
    end)
    assert.is_nil(v)
    assert.is_true(errors.is(err))
    assert.equal("SERVICE_NOT_FOUND", err.code)
    assert.equal("did you mean 'y'?", err.hint)
  end)

  it("deloc recipes lists user recipes loaded in the child; their functions stay there", function()
    recipe(dir, "one", "", "env = function() return {} end")
    local reg = assert(registry.new({ dirs = { dir }, builtin = false }))
    local r = assert(reg:get("one"))
    assert.equal("x", r.description)
    assert.equal("function", type(r.components.one.env))
    assert.has_error(function() r.components.one.env() end)
  end)
end)

describe("isolated recipes and Ctrl-C", function()
  it("a child ended by SIGINT or SIGTERM is an interruption, not a crash", function()
    local v, err = isolate.run(function()
      while true do end -- until the signal
    end, { prepare = function()
      -- the parent's Ctrl-C: the child is in the same process group
      require("deloc.sys").spawn_bg({ argv = { "sh", "-c", "sleep 0.3; kill -INT " .. require("deloc.sys").pid() } })
    end })
    assert.is_nil(v)
    assert.equal("INTERRUPTED", err.code)
  end)
end)
