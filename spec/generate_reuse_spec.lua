-- generate -o DIR over a tree it wrote before: a file whose new bytes are
-- exactly the old ones is linked into the new tree (sys.at's link_same), and
-- only when a fresh file would be the same file: never through a link, never
-- one with another name, another mode or another owner.
local sys = require("deloc.sys")
local generate = require("deloc.generate")
local e2e = dofile("spec/support/e2e.lua")

local function run(argv)
  local r = assert(sys.spawn({ argv = argv }))
  assert.equal(0, r.status, table.concat(argv, " ") .. ": " .. tostring(r.stderr))
  return r.stdout
end

-- inode number and link count of path
local function inode(path)
  local ino, links = run({ "stat", "-c", "%i %h", path }):match("^(%d+) (%d+)")
  return ino, tonumber(links)
end

local function ours() return true end

describe("generate -o DIR again keeps the files that did not change", function()
  local dir, outside
  before_each(function() dir, outside = e2e.tmpdir(), e2e.tmpdir() end)
  after_each(function() e2e.rmdir(dir); e2e.rmdir(outside) end)

  local function write(files) assert(generate._write_tree(dir .. "/chart", files, ours, false)) end

  it("the same bytes: the same file, with one name; changed bytes: a new file", function()
    write({ ["Chart.yaml"] = "a\n", ["templates/x.yaml"] = "x\n" })
    local chart, x = inode(dir .. "/chart/Chart.yaml"), inode(dir .. "/chart/templates/x.yaml")
    write({ ["Chart.yaml"] = "a\n", ["templates/x.yaml"] = "x changed\n" })
    local chart2, links = inode(dir .. "/chart/Chart.yaml")
    assert.equal(chart, chart2)
    assert.equal(1, links)
    assert.are_not.equal(x, (inode(dir .. "/chart/templates/x.yaml")))
    assert.equal("x changed\n", sys.read_file(dir .. "/chart/templates/x.yaml"))
    assert.same({ "Chart.yaml", "templates" }, sys.listdir(dir .. "/chart"))
  end)

  it("a file with another mode or another name is written anew", function()
    write({ ["a"] = "same\n", ["b"] = "same\n" })
    run({ "chmod", "600", dir .. "/chart/a" })
    run({ "ln", dir .. "/chart/b", outside .. "/b" })
    local a, b = inode(dir .. "/chart/a"), inode(dir .. "/chart/b")
    write({ ["a"] = "same\n", ["b"] = "same\n" })
    assert.are_not.equal(a, (inode(dir .. "/chart/a")))
    assert.are_not.equal(b, (inode(dir .. "/chart/b")))
    local _, mode = sys.stat(dir .. "/chart/a")
    local _, fresh = sys.stat(dir .. "/chart/b")
    assert.equal(fresh.mode, mode.mode)
    local _, links = inode(outside .. "/b")
    assert.equal(1, links)
  end)

  it("never a file reached through a link: in the tree, or the tree itself", function()
    assert(sys.write_atomic(outside .. "/same", "same\n", 420))
    write({ ["keep"] = "old\n" })
    run({ "ln", "-s", outside .. "/same", dir .. "/chart/a" })
    write({ ["a"] = "same\n" })
    local _, links = inode(outside .. "/same")
    assert.equal(1, links)
    sys.spawn({ argv = { "rm", "-rf", dir .. "/chart" } })
    run({ "ln", "-s", outside, dir .. "/chart" })
    write({ ["same"] = "same\n" })
    _, links = inode(outside .. "/same")
    assert.equal(1, links)
    assert.equal("same\n", sys.read_file(outside .. "/same"))
    assert.equal("directory", sys.at(dir):kind("chart"))
  end)

  it("link_same makes no link over an existing name, and none for other bytes", function()
    assert(sys.write_atomic(dir .. "/a", "same\n", 420))
    assert(sys.write_atomic(outside .. "/taken", "other\n", 420))
    local at = sys.at(dir)
    assert.is_false(at:link_same("a", "same\n", outside .. "/taken"))
    assert.is_false(at:link_same("a", "same!\n", outside .. "/new"))
    assert.is_false(at:link_same("a", "sam\n", outside .. "/new"))
    assert.is_false(at:link_same("missing", "same\n", outside .. "/new"))
    assert.is_nil(sys.stat(outside .. "/new"))
    assert.equal("other\n", sys.read_file(outside .. "/taken"))
  end)
end)
