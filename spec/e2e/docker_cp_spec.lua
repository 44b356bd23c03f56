-- deloc cp on the real engine, both ways, through the archive API.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local fsat = require("deloc.native.fsat")

describe("docker: cp #e2e", function()
  local project, dir

  setup(function()
    assert(images.ensure({ "busybox" }))
    project = e2e.project("cp")
    dir = e2e.tmpdir()
    e2e.project_file(dir, project, "services:\n  box: {}\n  alpha: {}\n")
    assert(sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s/spec/fixtures/shell/recipes, %s ]\nservices:\n  box: {}\n  alpha: {}\n")
      :format(project, e2e.root, e2e.FIXTURE_RECIPES)))
    local code, out, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, out .. err)
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  local function deloc(args, stdin)
    return e2e.deloc(args, { cwd = dir, stdin = stdin or "" })
  end

  it("copies a tree in (owned by the container's user) and back out", function()
    assert(sys.mkdir_p(dir .. "/src/sub"))
    assert(sys.write_atomic(dir .. "/src/sub/a.txt", "hello\n"))
    assert(sys.write_atomic(dir .. "/src/run.sh", "#!/bin/sh\necho ran\n", tonumber("750", 8)))
    local big = ("0123456789abcdef"):rep(65536 * 3) -- 3 MiB
    assert(sys.write_atomic(dir .. "/src/big.bin", big))
    local code, out, err, _ = deloc({ "cp", "src", "box:/data/" })
    assert.equal(0, code, err)
    assert.matches("copied 3 files", out, 1, true)
    code, out = deloc({ "exec", "box", "sh", "-c", "stat -c '%u:%g %a %n' /data/src /data/src/run.sh /data/src/sub/a.txt; /data/src/run.sh" })
    assert.equal(0, code)
    assert.equal("1000:1000 755 /data/src\n1000:1000 750 /data/src/run.sh\n1000:1000 644 /data/src/sub/a.txt\nran\n", out)
    -- a new name when the destination does not exist
    code = deloc({ "cp", "src/sub/a.txt", "box:/data/renamed.txt" })
    assert.equal(0, code)
    code, out = deloc({ "exec", "box", "cat", "/data/renamed.txt" })
    assert.equal(0, code)
    assert.equal("hello\n", out)

    -- out again: into an existing directory, and as a new name
    assert(sys.mkdir_p(dir .. "/back"))
    code, _, err = deloc({ "cp", "box:/data/src", "back" })
    assert.equal(0, code, err)
    assert.equal(big, sys.read_file(dir .. "/back/src/big.bin"))
    assert.equal("hello\n", sys.read_file(dir .. "/back/src/sub/a.txt"))
    assert.equal(tonumber("750", 8), fsat.lstat(dir .. "/back/src/run.sh").mode)
    code = deloc({ "cp", "box:/data/renamed.txt", "back/one.txt" })
    assert.equal(0, code)
    assert.equal("hello\n", sys.read_file(dir .. "/back/one.txt"))
  end)

  it("skips links that point out of the copy and never writes through a local link", function()
    local code = deloc({ "exec", "-u", "0", "box", "sh", "-c",
      "mkdir -p /data/t && echo ok > /data/t/ok.txt && ln -sf /etc/passwd /data/t/abs && ln -sf ../../.. /data/t/up && ln -sf ok.txt /data/t/rel" })
    assert.equal(0, code)
    local victim = dir .. "/victim.txt"
    assert(sys.write_atomic(victim, "untouched\n"))
    assert(sys.mkdir_p(dir .. "/out/t"))
    sys.spawn({ argv = { "ln", "-s", victim, dir .. "/out/t/ok.txt" } })
    local out, err
    code, out, err = deloc({ "cp", "box:/data/t", "out" })
    assert.equal(0, code, err)
    assert.matches("copied 1 file", out, 1, true)
    assert.matches("skipped: t/abs -> /etc/passwd", err, 1, true)
    assert.matches("skipped: t/up -> ../../..", err, 1, true)
    assert.is_nil(fsat.lstat(dir .. "/out/t/abs"))
    assert.is_nil(fsat.lstat(dir .. "/out/t/up"))
    assert.equal("ok.txt", fsat.readlink(dir .. "/out/t/rel"))
    assert.equal("file", fsat.lstat(dir .. "/out/t/ok.txt").type)
    assert.equal("ok\n", sys.read_file(dir .. "/out/t/ok.txt"))
    assert.equal("untouched\n", sys.read_file(victim))
  end)

  it("says what is wrong: missing paths, a read-only root, a relative path", function()
    local code, _, err = deloc({ "cp", "box:/nope", "x" })
    assert.equal(2, code)
    assert.matches("no '/nope' in the container", err, 1, true)
    code, _, err = deloc({ "cp", "nothere", "box:/data/" })
    assert.equal(2, code)
    assert.matches("no 'nothere' here", err, 1, true)
    assert(sys.write_atomic(dir .. "/f.txt", "f"))
    code, _, err = deloc({ "cp", "f.txt", "alpha:/tmp/" })
    assert.equal(6, code)
    assert.matches("read-only", err, 1, true)
    code, _, err = deloc({ "cp", "f.txt", "box:data" })
    assert.equal(2, code)
    assert.matches("must be absolute", err, 1, true)
    code, _, err = e2e.deloc({ "cp", "--target", "kubernetes", "f.txt", "box:/data/" },
      { cwd = dir, stdin = "", env = { KUBECONFIG = dir .. "/no-kubeconfig" } })
    assert.equal(3, code, err)
    assert.matches("no kubeconfig", err, 1, true)
  end)
end)
