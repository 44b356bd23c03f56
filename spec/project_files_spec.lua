-- A cloned project cannot reach files outside it through links it commits
-- under .deloc/ (issue 11, point 1): the lock, the state file, the secrets and
-- their owner and mode are all reached without following links, and a link
-- or a non-regular file there is an error that names it.  Each `it` below was
-- an attack that worked: the victim file outside the project was truncated,
-- chowned, chmodded, overwritten or deleted.
local sys = require("deloc.sys")
local state = require("deloc.state")
local secrets = require("deloc.adapters.docker.secrets")

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdir_p(dir, 448))
  return dir
end

local function stat(path)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%u:%g %a %s", path } }))
  return (r.stdout:gsub("%s+$", ""))
end

local function ln(target, link)
  assert(sys.spawn({ argv = { "ln", "-s", target, link } }).status == 0)
end

describe("project files (.deloc/) are never reached through links", function()
  local project, outside, victim
  before_each(function()
    project, outside = tmpdir(), tmpdir()
    victim = outside .. "/victim"
    assert(sys.write_atomic(victim, "precious user data\n", 420))
    assert(sys.mkdir_p(project .. "/.deloc/secrets", 448))
  end)
  after_each(function()
    sys.spawn({ argv = { "rm", "-rf", project, outside } })
  end)

  it("a committed .deloc/lock link: the lock is refused and the target is not truncated", function()
    ln(victim, project .. "/.deloc/lock")
    local lock, err = state.lock(project)
    assert.is_nil(lock)
    assert.matches("'.-/%.deloc/lock' is a symbolic link", err.message)
    assert.equal("precious user data\n", sys.read_file(victim))
  end)

  it("a linked .deloc directory: nothing is created or written outside the project", function()
    sys.spawn({ argv = { "rm", "-rf", project .. "/.deloc" } })
    ln(outside, project .. "/.deloc")
    local lock, err = state.lock(project)
    assert.is_nil(lock)
    assert.matches("%.deloc' is a symbolic link", err.message)
    local ok, serr = state.save(project, state.new("p"))
    assert.is_nil(ok)
    assert.matches("%.deloc' is a symbolic link", serr.message)
    assert.is_false(sys.exists(outside .. "/state.json"))
    assert.is_false(sys.exists(outside .. "/lock"))
  end)

  it("a committed .deloc/state.json link: not read, not written through, not replaced", function()
    ln(victim, project .. "/.deloc/state.json")
    local st, err = state.load(project)
    assert.is_nil(st)
    assert.matches("state.json' is a symbolic link", err.message)
    assert.not_matches("precious", err.message)
    local ok, serr = state.save(project, state.new("p"))
    assert.is_nil(ok)
    assert.matches("state.json' is a symbolic link", serr.message)
    assert.equal("precious user data\n", sys.read_file(victim))
  end)

  it("a committed secret link: the target is neither read, chowned, chmodded nor mounted", function()
    ln(victim, project .. "/.deloc/secrets/db.password")
    local before = stat(victim)
    local plan = { order = { "db" }, services = { db = { components = { db = {
      user = "999:999",
      secrets = { password = { source = ".deloc/secrets/db.password", length = 24 } } } } } } }
    local ok, err = secrets.ensure(plan, project)
    assert.is_nil(ok)
    assert.matches("db%.password' is a symbolic link", err.message)
    assert.not_matches("precious", err.message)
    assert.equal(before, stat(victim))
    assert.equal("precious user data\n", sys.read_file(victim))
  end)

  it("a secret that is a FIFO or a directory is an error naming it, not a hang", function()
    assert(sys.spawn({ argv = { "mkfifo", project .. "/.deloc/secrets/db.fifo" } }).status == 0)
    local v, err = state.secret(project, "db.fifo")
    assert.is_nil(v)
    assert.matches("db%.fifo' is not a regular file", err.message)
    assert(sys.mkdir_p(project .. "/.deloc/secrets/db.dir"))
    v, err = state.secret(project, "db.dir")
    assert.is_nil(v)
    assert.matches("db%.dir' is not a regular file", err.message)
  end)

  it("a hard-linked secret is not given away (chown/chmod)", function()
    assert(sys.write_atomic(project .. "/.deloc/secrets/db.password", "s3cret", 384))
    assert(sys.spawn({ argv = { "ln", project .. "/.deloc/secrets/db.password", project .. "/other" } }).status == 0)
    local how, err = secrets.grant(project, "db.password", 999, 999)
    assert.is_nil(how)
    assert.matches("has 2 hard links", err.message)
  end)

  it("clean --secrets with a linked .deloc/secrets removes nothing elsewhere", function()
    sys.spawn({ argv = { "rm", "-rf", project .. "/.deloc/secrets" } })
    ln(outside, project .. "/.deloc/secrets")
    local ok, err = state.remove_secrets(project)
    assert.is_nil(ok)
    assert.truthy(err)
    assert.equal("precious user data\n", sys.read_file(victim))
  end)

  it("an honest project still works: lock, state, secrets (0600, then given to the uid)", function()
    local lock = assert(state.lock(project))
    assert(state.save(project, state.new("p")))
    assert.equal("p", assert(state.load(project)).project)
    local v, created = state.secret(project, "db.password", 24)
    assert.equal(24, #v)
    assert.is_true(created)
    assert.equal(v, (state.secret(project, "db.password")))
    assert.equal("0:0 600 24", stat(project .. "/.deloc/secrets/db.password"))
    assert.equal("owned by 999", secrets.grant(project, "db.password", 999, 998))
    assert.equal("999:998 600 24", stat(project .. "/.deloc/secrets/db.password"))
    lock:unlock()
  end)
end)

describe("sys.at", function()
  local root
  before_each(function() root = tmpdir() end)
  after_each(function() sys.spawn({ argv = { "rm", "-rf", root } }) end)

  it("refuses paths that leave the root", function()
    local d = sys.at(root)
    for _, rel in ipairs({ "../x", "/etc/passwd", "a/../../x", "", "a//b", "./x" }) do
      local ok, err = d:write(rel, "x", 384)
      assert.is_nil(ok, rel)
      assert.matches("is not a path inside the project", err.message)
    end
  end)

  it("creates missing directories with the mode given, and reports kinds", function()
    local d = sys.at(root)
    assert(d:write("a/b/c.txt", "hi", 384, 448))
    assert.equal("hi", d:read("a/b/c.txt"))
    assert.equal("file", d:kind("a/b/c.txt"))
    assert.equal("directory", d:kind("a/b"))
    assert.equal("missing", d:kind("a/nope"))
    assert.equal("missing", d:kind("nope/nope"))
    ln("/etc/hostname", root .. "/a/link")
    assert.equal("link", d:kind("a/link"))
    assert.equal("0:0 700 ", stat(root .. "/a"):gsub("%d+$", ""))
  end)

  it("read is bounded", function()
    local d = sys.at(root)
    assert(d:write("big", ("x"):rep(5000), 384))
    local v, err = d:read("big", 1000)
    assert.is_nil(v)
    assert.matches("larger than 1000 bytes", err.message)
  end)
end)

describe("files named by the user are not written through links either", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() sys.spawn({ argv = { "rm", "-rf", dir } }) end)

  it("write_atomic and atomic_writer refuse to replace a link", function()
    assert(sys.write_atomic(dir .. "/victim", "keep", 420))
    ln(dir .. "/victim", dir .. "/out.yml")
    local ok, err = sys.write_atomic(dir .. "/out.yml", "new", 420)
    assert.is_nil(ok)
    assert.matches("out%.yml' is a symbolic link", err.message)
    local w
    w, err = sys.atomic_writer(dir .. "/out.yml", 384)
    assert.is_nil(w)
    assert.matches("out%.yml' is a symbolic link", err.message)
    assert.equal("keep", sys.read_file(dir .. "/victim"))
    assert.equal("link", sys.at(dir):kind("out.yml"))
  end)
end)
