-- adapters/docker/archive: tar written and read back; archives that try to
-- escape the directory they are unpacked into are refused.
local sys = require("deloc.sys")
local archive = require("deloc.adapters.docker.archive")
local fsat = require("deloc.native.fsat")

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(sys.mkdir_p(d, tonumber("700", 8)))
  return d
end

local function rm(d) sys.spawn({ argv = { "rm", "-rf", "--", d } }) end

-- A tar built with the system's tar from a list of shell-free steps.
local function tar_of(dir, args)
  local argv = { "tar", "-C", dir, "-cf", "-" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = assert(sys.spawn({ argv = argv }))
  assert.equal(0, r.status, r.stderr)
  return r.stdout
end

local function unpack(tar, dest, rename)
  local u = assert(archive.unpacker(dest, rename))
  -- in small pieces: headers and data cross chunk boundaries
  for i = 1, #tar, 700 do
    local ok, err = u:feed(tar:sub(i, i + 699))
    if not ok then return nil, err end
  end
  return u:finish()
end

describe("archive", function()
  local src, dest
  before_each(function() src, dest = tmpdir(), tmpdir() end)
  after_each(function() rm(src); rm(dest) end)

  it("packs a tree that tar reads, and unpacks it under a new name", function()
    local long = ("d"):rep(60) .. "/" .. ("f"):rep(90)
    assert(sys.mkdir_p(src .. "/top/" .. ("d"):rep(60)))
    assert(sys.write_atomic(src .. "/top/" .. long, "long name\n"))
    assert(sys.write_atomic(src .. "/top/run.sh", "#!/bin/sh\n", tonumber("750", 8)))
    assert(sys.spawn({ argv = { "ln", "-s", "run.sh", src .. "/top/link" } }))
    local tar = assert(archive.pack(src .. "/top", "top"))
    local r = assert(sys.spawn({ argv = { "tar", "-tvf", "-" }, stdin = tar }))
    assert.equal(0, r.status, r.stderr)
    assert.matches("top/" .. long, r.stdout, 1, true)
    local s = assert(unpack(tar, dest, "copy"))
    assert.equal(2, s.files)
    assert.equal("long name\n", sys.read_file(dest .. "/copy/" .. long))
    assert.equal(tonumber("750", 8), fsat.lstat(dest .. "/copy/run.sh").mode)
    assert.equal("run.sh", fsat.readlink(dest .. "/copy/link"))
  end)

  it("refuses names that climb out or are absolute", function()
    assert(sys.mkdir_p(src .. "/a"))
    assert(sys.write_atomic(src .. "/a/x", "x"))
    local climbing = tar_of(src, { "--transform", "s,^a/x,a/../../evil,", "a/x" })
    local ok, err = unpack(climbing, dest)
    assert.is_nil(ok)
    assert.matches("unsafe name", tostring(err))
    assert.is_nil(fsat.lstat(dest .. "/../evil"))
    local absolute = tar_of(src, { "-P", "--transform", "s,^a/x,/tmp/deloc-evil-abs,", "a/x" })
    ok, err = unpack(absolute, dest)
    assert.is_nil(ok)
    assert.matches("unsafe name", tostring(err))
    assert.is_nil(fsat.lstat("/tmp/deloc-evil-abs"))
  end)

  it("skips links that point out and never writes through a link", function()
    local outside = tmpdir()
    finally(function() rm(outside) end)
    assert(sys.mkdir_p(src .. "/t"))
    sys.spawn({ argv = { "ln", "-s", outside, src .. "/t/abs" } })
    sys.spawn({ argv = { "ln", "-s", "../..", src .. "/t/up" } })
    sys.spawn({ argv = { "ln", "-s", "sub/../x", src .. "/t/inside" } })
    local s = assert(unpack(tar_of(src, { "t" }), dest))
    assert.equal(2, #s.skipped)
    assert.is_nil(fsat.lstat(dest .. "/t/abs"))
    assert.is_nil(fsat.lstat(dest .. "/t/up"))
    assert.equal("symlink", fsat.lstat(dest .. "/t/inside").type)

    -- an archive that makes a link to a directory and then writes through it
    rm(dest); assert(sys.mkdir_p(dest))
    local two = tmpdir()
    finally(function() rm(two) end)
    assert(sys.mkdir_p(two .. "/t"))
    sys.spawn({ argv = { "ln", "-s", ".", two .. "/t/via" } })
    assert(sys.write_atomic(two .. "/t/file", "payload"))
    local tar = tar_of(two, { "--transform", "s,^t/file$,t/via/file,", "t/via", "t/file" })
    -- "via" -> "." stays inside, but a path through it is refused
    local ok, err = unpack(tar, dest)
    assert.is_nil(ok)
    assert.matches("cannot", tostring(err))

    -- a link already at the destination is replaced, not followed
    rm(dest); assert(sys.mkdir_p(dest .. "/t"))
    assert(sys.write_atomic(outside .. "/victim", "original"))
    sys.spawn({ argv = { "ln", "-s", outside .. "/victim", dest .. "/t/file" } })
    assert(unpack(tar_of(two, { "t/file" }), dest))
    assert.equal("original", sys.read_file(outside .. "/victim"))
    assert.equal("file", fsat.lstat(dest .. "/t/file").type)
    assert.equal("payload", sys.read_file(dest .. "/t/file"))
  end)

  it("drops set-id bits and refuses a broken archive", function()
    assert(sys.mkdir_p(src .. "/s"))
    assert(sys.write_atomic(src .. "/s/suid", "x", tonumber("4755", 8)))
    assert(sys.chmod(src .. "/s/suid", tonumber("4755", 8)))
    assert.equal(tonumber("4755", 8), fsat.lstat(src .. "/s/suid").mode)
    assert(unpack(tar_of(src, { "s" }), dest))
    assert.equal(tonumber("755", 8), fsat.lstat(dest .. "/s/suid").mode)
    local ok, err = unpack(("not a tar"):rep(100), dest)
    assert.is_nil(ok)
    assert.matches("not a tar archive", tostring(err))
  end)

  -- fsat and sys.at share one walk (src/sys_at.c): the same refusals, the
  -- same words, whichever API a caller holds
  it("refuses through a link below the root as sys.at does", function()
    assert(sys.mkdir_p(dest .. "/t"))
    assert(sys.spawn({ argv = { "ln", "-s", src, dest .. "/t/out" } }))
    local root = assert(fsat.open(dest))
    local f, err = root:create("t/out/x")
    assert.is_nil(f)
    assert.matches("^cannot create '.-/t/out/x': '.-/t/out' is a symbolic link", err)
    local _, aerr = sys.at(dest):write("t/out/x", "x", tonumber("644", 8))
    assert.matches("'.-/t/out' is a symbolic link", aerr.message)
    local ok
    ok, err = root:mkdir("t/../../x")
    assert.is_nil(ok)
    assert.matches("is not a path inside", err)
    ok, err = root:link("t/h", "t/out/secret")
    assert.is_nil(ok)
    assert.matches("'.-/t/out' is a symbolic link", err)
    assert.same({}, assert(sys.listdir(src)))
    assert.matches("deloc.fsat.root %(open '", tostring(root))
    root:close()
    root:close() -- idempotent
    assert.matches("%(closed '", tostring(root))
    assert.has_error(function() root:mkdir("y") end, "attempt to use a closed root")
  end)
end)
