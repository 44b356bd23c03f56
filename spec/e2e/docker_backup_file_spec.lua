-- `deloc backup -o FILE` on the real engine: the file holds a service's data,
-- so it is mode 0600 whatever the umask, and it appears whole or not at all.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local RECIPES = e2e.root .. "/spec/fixtures/docker_backup/recipes, " .. e2e.root .. "/spec/fixtures/docker/recipes"

local function stat(path, fmt)
  local r = assert(sys.spawn({ argv = { "stat", "-c", fmt, path } }))
  return (r.stdout:gsub("%s+$", ""))
end

describe("docker: backup file #e2e", function()
  setup(function()
    assert(images.ensure({ "busybox" }))
  end)

  it("writes the backup 0600, replacing an old file whole, and leaves nothing on failure", function()
    local project = e2e.project("backupfile")
    local dir = e2e.tmpdir()
    finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
    assert(sys.write_atomic(dir .. "/deloc.yaml",
      ("project: %s\nrecipes: [ %s ]\nservices:\n  store: {}\n  alpha: {}\n"):format(project, RECIPES)))
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    code, _, err = e2e.docker({ "exec", "-u", "0", project .. "-store-1", "sh", "-c", "echo secret-data > /data/db" })
    assert.equal(0, code, err)

    -- an older backup, readable by everyone
    local file = dir .. "/store.backup"
    assert(sys.write_atomic(file, "old backup", 420))
    code, _, err = e2e.deloc({ "backup", "store", "-o", "store.backup" }, { cwd = dir })
    assert.equal(0, code, err)
    assert.equal("600", stat(file, "%a"))
    local r = assert(sys.spawn({ argv = { "tar", "-xOf", file, "deloc-backup/data/db" } }))
    assert.equal(0, r.status, r.stderr)
    assert.equal("secret-data\n", r.stdout)
    local names = {}
    for _, n in ipairs(sys.listdir(dir)) do if n ~= ".deloc" then names[#names + 1] = n end end
    assert.same({ "deloc.yaml", "store.backup" }, names)

    -- a backup that fails once the file is open keeps the old file and leaves
    -- no partial one
    local before = stat(file, "%i %s")
    code, _, err = e2e.deloc({ "backup", "alpha", "-o", "store.backup" }, { cwd = dir })
    assert.are_not.equal(0, code)
    assert.matches("alpha keeps no data", err, 1, true)
    assert.equal(before, stat(file, "%i %s"))
    names = {}
    for _, n in ipairs(sys.listdir(dir)) do if n ~= ".deloc" then names[#names + 1] = n end end
    assert.same({ "deloc.yaml", "store.backup" }, names)
  end)
end)
