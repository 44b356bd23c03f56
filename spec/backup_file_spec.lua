-- The file a backup streams to (deloc.adapters.docker.backup.file_sink):
-- mode 0600 from the first byte, written beside the target and renamed into
-- place only when complete, whatever the umask or the old file's mode.
local sys = require("deloc.sys")
local backup = require("deloc.adapters.docker.backup")

local function mode_of(path)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%a", path } }))
  return (r.stdout:gsub("%s+$", ""))
end

local function inode_of(path)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%i", path } }))
  return (r.stdout:gsub("%s+$", ""))
end

describe("backup file", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(sys.mkdir_p(dir))
  end)
  after_each(function() sys.spawn({ argv = { "rm", "-rf", dir } }) end)

  it("streams chunks into a 0600 file that appears only on commit", function()
    local path = dir .. "/pg.backup"
    local sink = assert(backup.file_sink(path))
    local big = ("x"):rep(1024 * 1024)
    assert(sink:write("head\n"))
    assert(sink:write(big))
    assert(sink:write(""))
    assert.is_false(sys.exists(path))
    -- the partial file is already private
    local names = sys.listdir(dir)
    assert.equal(1, #names)
    assert.matches("^%.pg%.backup%.%d+%.partial$", names[1])
    assert.equal("600", mode_of(dir .. "/" .. names[1]))
    assert(sink:commit())
    assert.equal("head\n" .. big, sys.read_file(path))
    assert.equal("600", mode_of(path))
    assert.same({ "pg.backup" }, sys.listdir(dir))
  end)

  it("replaces an existing file whole, with mode 0600 even if it was readable by all", function()
    local path = dir .. "/old.backup"
    assert(sys.write_atomic(path, "old content", 420)) -- 0644
    local before = inode_of(path)
    local sink = assert(backup.file_sink(path))
    assert(sink:write("new"))
    assert.equal("old content", sys.read_file(path))
    assert(sink:commit())
    assert.equal("new", sys.read_file(path))
    assert.equal("600", mode_of(path))
    assert.are_not.equal(before, inode_of(path))
  end)

  it("leaves the old file and no partial one when aborted", function()
    local path = dir .. "/keep.backup"
    assert(sys.write_atomic(path, "keep", 384))
    local sink = assert(backup.file_sink(path))
    assert(sink:write("half of a dump"))
    sink:abort()
    assert.equal("keep", sys.read_file(path))
    assert.same({ "keep.backup" }, sys.listdir(dir))
    local ok, err = sink:write("more")
    assert.is_nil(ok)
    assert.equal("IO_ERROR", err.code)
  end)

  it("writes a relative path in the current directory", function()
    local r = assert(sys.spawn({ cwd = dir,
      argv = { assert(sys.realpath("deloc")), "-e", [[
        local s = assert(require("deloc.adapters.docker.backup").file_sink("rel.backup"))
        assert(s:write("r")); assert(s:commit())]] } }))
    assert.equal(0, r.status, r.stderr)
    assert.equal("r", sys.read_file(dir .. "/rel.backup"))
    assert.equal("600", mode_of(dir .. "/rel.backup"))
  end)

  it("says why it cannot write: a missing directory, a directory as the file", function()
    local sink, err = backup.file_sink(dir .. "/nosuch/x.backup")
    assert.is_nil(sink)
    assert.equal("IO_ERROR", err.code)
    assert.equal(("cannot write '%s/nosuch/x.backup': no such file or directory"):format(dir), err.message)
    sink, err = backup.file_sink(dir .. "/")
    assert.is_nil(sink)
    assert.matches("is a directory", err.message, 1, true)
  end)
end)
