-- deloc.sys: resources from fixture trees (fake /proc and cgroup v1/v2), atomic
-- writes, locks across processes, spawning by argv, signals.
local sys = require("deloc.sys")

local FIX = "spec/fixtures/sys"
-- The binary running these specs (./deloc if a rebuild has replaced it since).
local DELOC = sys.realpath("/proc/self/exe") or "./deloc"

local function tmpdir()
  local r = assert(sys.spawn({ argv = { "mktemp", "-d", "/tmp/deloc-sys-spec.XXXXXX" } }))
  return (r.stdout:gsub("%s+$", ""))
end

local function rm_rf(dir)
  if dir and dir:match("^/tmp/deloc%-sys%-spec%.") then
    sys.spawn({ argv = { "rm", "-rf", dir } })
  end
end

local function mode_of(path)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%a", path } }))
  return (r.stdout:gsub("%s+$", ""))
end

-- Waits until fn() is true (polling), up to `seconds`.
local function eventually(fn, seconds)
  local deadline = sys.now() + (seconds or 5)
  while sys.now() < deadline do
    if fn() then return true end
    sys.sleep(0.02)
  end
  return false
end

describe("deloc.sys machine resources", function()
  it("reads the CPU count and model from cpuinfo", function()
    local cpu = assert(sys.cpu({ proc = FIX .. "/proc" }))
    assert.equal(4, cpu.count)
    assert.equal("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", cpu.model)
  end)

  it("finds a model name on arm64, which has no 'model name' line", function()
    local cpu = assert(sys.cpu({ proc = FIX .. "/proc-arm" }))
    assert.equal(2, cpu.count)
    assert.equal("Raspberry Pi 4 Model B Rev 1.4", cpu.model)
  end)

  it("counts the CPUs this process may use on the real machine", function()
    local cpu = assert(sys.cpu())
    assert.is_true(cpu.count >= 1)
    local r = assert(sys.spawn({ argv = { "nproc" } }))
    assert.equal(tonumber(r.stdout), cpu.count)
  end)

  it("reads total and available memory in bytes", function()
    local mem = assert(sys.memory({ proc = FIX .. "/proc" }))
    assert.equal(16303488 * 1024, mem.total)
    assert.equal(8151744 * 1024, mem.available)
  end)

  it("estimates available memory on kernels without MemAvailable", function()
    local mem = assert(sys.memory({ proc = FIX .. "/proc-old" }))
    assert.equal(2048000 * 1024, mem.total)
    assert.equal((512000 + 102400 + 409600) * 1024, mem.available)
  end)

  it("says which file it could not read", function()
    local mem, err = sys.memory({ proc = FIX .. "/missing" })
    assert.is_nil(mem)
    assert.equal("IO_ERROR", err.code)
    assert.equal("cannot read '" .. FIX .. "/missing/meminfo': no such file or directory",
      tostring(err))
  end)

  it("reads the load averages", function()
    local load = assert(sys.load({ proc = FIX .. "/proc" }))
    assert.same({ 0.52, 1.25, 2.75 }, { load[1], load[2], load[3] })
    assert.equal(1.25, load.l5)
    local _, err = sys.load({ proc = FIX .. "/proc-old" })
    assert.matches("not a loadavg file", tostring(err))
    assert.is_number(assert(sys.load()).l1)
  end)

  it("reports disk size and free space of a path, and a missing path", function()
    local d = assert(sys.disk("/"))
    assert.is_true(d.total > 0 and d.free >= 0 and d.free <= d.total)
    local _, err = sys.disk("/no/such/dir")
    assert.equal("cannot stat file system of '/no/such/dir': no such file or directory",
      tostring(err))
  end)
end)

describe("deloc.sys cgroup limits", function()
  it("reads cgroup v2 limits, the tighter ancestor winning", function()
    local cg = assert(sys.cgroup(FIX .. "/cgroup2"))
    assert.equal(2, cg.version)
    assert.equal(2147483648, cg.memory_limit)
    assert.equal(FIX .. "/cgroup2/sys/fs/cgroup/user.slice/app.scope/memory.max",
      cg.memory_source)
    -- the leaf allows 1.5 CPUs but its parent only 1
    assert.equal(1, cg.cpu_limit)
    assert.equal(FIX .. "/cgroup2/sys/fs/cgroup/user.slice/cpu.max", cg.cpu_source)
    assert.equal(FIX .. "/cgroup2/sys/fs/cgroup/user.slice/app.scope", cg.source)
  end)

  it("reads 'max' in cgroup v2 as no limit", function()
    local cg = assert(sys.cgroup({ root = FIX .. "/cgroup2-unlimited" }))
    assert.equal(2, cg.version)
    assert.is_nil(cg.memory_limit)
    assert.is_nil(cg.cpu_limit)
  end)

  it("reads cgroup v1 limits where the container's cgroup is the mounted root", function()
    local cg = assert(sys.cgroup(FIX .. "/cgroup1"))
    assert.equal(1, cg.version)
    assert.equal(512 * 1024 * 1024, cg.memory_limit)
    assert.equal(0.5, cg.cpu_limit)
    assert.equal(FIX .. "/cgroup1/sys/fs/cgroup/memory", cg.source)
  end)

  it("reads v1's huge limit and a quota of -1 as no limit", function()
    local cg = assert(sys.cgroup(FIX .. "/cgroup1-unlimited"))
    assert.equal(1, cg.version)
    assert.is_nil(cg.memory_limit)
    assert.is_nil(cg.cpu_limit)
  end)

  it("finds no version where no cgroup file system is mounted", function()
    assert.same({}, assert(sys.cgroup(FIX .. "/cgroup-none")))
  end)

  it("fails clearly on a fixture root that is not there", function()
    local cg, err = sys.cgroup(FIX .. "/nothing-here")
    assert.is_nil(cg)
    assert.matches("cannot read '.*/nothing%-here/proc/self/cgroup'", tostring(err))
  end)

  it("reads this process's real cgroup without failing", function()
    local cg = assert(sys.cgroup())
    assert.is_true(cg.version == nil or cg.version == 1 or cg.version == 2)
  end)
end)

describe("deloc.sys.resources", function()
  it("caps host figures with the cgroup limits and says where each came from", function()
    local r = assert(sys.resources({ proc = FIX .. "/proc", root = FIX .. "/cgroup2" }))
    assert.equal(1, r.cpu)
    assert.equal(2147483648, r.memory)
    assert.equal(2147483648, r.memory_total)
    assert.equal(4, r.host.cpu)
    assert.matches("^cgroup v2: 1 CPU in .*/user%.slice/cpu%.max$", r.source.cpu)
    assert.matches("^cgroup v2: 2%.0 GiB in .*/app%.scope/memory%.max$", r.source.memory)
    assert.is_true(r.disk > 0)
  end)

  it("keeps host figures when the cgroup does not limit", function()
    local r = assert(sys.resources({ proc = FIX .. "/proc", root = FIX .. "/cgroup1-unlimited" }))
    assert.equal(4, r.cpu)
    assert.equal(8151744 * 1024, r.memory)
    assert.matches("^host: 4 processors in", r.source.cpu)
    assert.matches("^host: MemAvailable in", r.source.memory)
  end)

  it("keeps the host's available memory when it is below the cgroup limit", function()
    local r = assert(sys.resources({ proc = FIX .. "/proc-old", root = FIX .. "/cgroup2" }))
    assert.equal((512000 + 102400 + 409600) * 1024, r.memory)
    assert.equal(2048000 * 1024, r.memory_total) -- the host has less than the limit
  end)

  it("fails on a fixture tree that is not there", function()
    local r, err = sys.resources({ proc = FIX .. "/proc", root = FIX .. "/nothing-here" })
    assert.is_nil(r)
    assert.matches("cannot read '.*/nothing%-here/proc/self/cgroup'", tostring(err))
  end)

  it("describes the real machine", function()
    local r = assert(sys.resources())
    assert.is_true(r.cpu > 0 and r.memory > 0 and r.disk >= 0)
    assert.is_string(r.source.cpu)
  end)
end)

describe("deloc.sys clocks", function()
  it("has a monotonic clock and sleeps about as long as asked", function()
    local t0 = sys.now()
    assert.is_true(sys.sleep(0.05))
    local dt = sys.now() - t0
    assert.is_true(dt >= 0.05 and dt < 1, "slept " .. dt)
    assert.is_true(math.abs(sys.time() - os.time()) < 2)
  end)

  it("rejects a negative sleep", function()
    assert.has_error(function() sys.sleep(-1) end)
    assert.has_error(function() sys.sleep("1") end)
  end)
end)

describe("deloc.sys files", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rm_rf(dir) end)

  it("writes a file atomically with its content and mode, leaving no temp file", function()
    local path = dir .. "/state.json"
    assert.is_true(sys.write_atomic(path, "{\"a\":1}\n", tonumber("600", 8)))
    assert.equal("{\"a\":1}\n", sys.read_file(path))
    assert.equal("600", mode_of(path))
    assert.same({ "state.json" }, sys.listdir(dir))
  end)

  it("replaces a file's content and keeps its mode when none is given", function()
    local path = dir .. "/secret"
    assert(sys.write_atomic(path, "old", tonumber("600", 8)))
    assert(sys.write_atomic(path, ("new"):rep(100000)))
    assert.equal(("new"):rep(100000), sys.read_file(path))
    assert.equal("600", mode_of(path))
    assert.same({ "secret" }, sys.listdir(dir))
  end)

  it("fails on a missing directory and leaves nothing behind", function()
    local ok, err = sys.write_atomic(dir .. "/no/file", "x")
    assert.is_nil(ok)
    assert.equal("IO_ERROR", err.code)
    assert.equal(("cannot write '%s/no/file': no such file or directory"):format(dir),
      tostring(err))
    assert.same({}, sys.listdir(dir))
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() sys.write_atomic(dir .. "/f", nil) end)
    assert.has_error(function() sys.write_atomic(dir .. "/f", "x", 99999) end)
  end)

  it("creates nested directories, accepts existing ones, refuses a file in the way", function()
    assert.is_true(sys.mkdir_p(dir .. "/a/b//c/"))
    assert.is_true(sys.isdir(dir .. "/a/b/c"))
    assert.is_true(sys.mkdir_p(dir .. "/a/b"))
    assert(sys.write_atomic(dir .. "/f", "x"))
    local ok, err = sys.mkdir_p(dir .. "/f/g")
    assert.is_nil(ok)
    assert.equal(("cannot create directory '%s/f': not a directory"):format(dir), tostring(err))
  end)

  it("lists, tests, resolves and removes paths", function()
    assert(sys.mkdir_p(dir .. "/d"))
    assert(sys.write_atomic(dir .. "/b", ""))
    assert.same({ "b", "d" }, sys.listdir(dir))
    assert.is_true(sys.exists(dir .. "/b"))
    assert.is_false(sys.isdir(dir .. "/b"))
    assert.equal(dir .. "/d", sys.realpath(dir .. "/d/../d/."))
    assert.is_true(sys.remove(dir .. "/b"))
    assert.is_true(sys.remove(dir .. "/d"))
    assert.is_false(sys.exists(dir .. "/b"))
    local _, err = sys.remove(dir .. "/b")
    assert.matches("^cannot remove '.*/b': no such file or directory$", tostring(err))
    _, err = sys.read_file(dir .. "/b")
    assert.matches("^cannot read '.*/b': no such file or directory$", tostring(err))
    _, err = sys.listdir(dir .. "/b")
    assert.matches("^cannot list '.*/b': no such file or directory$", tostring(err))
  end)

  it("reads files the kernel reports as empty", function()
    assert.matches("MemTotal", sys.read_file("/proc/meminfo"))
  end)
end)

describe("deloc.sys modes and owners", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rm_rf(dir) end)

  local function owner_of(path)
    local r = assert(sys.spawn({ argv = { "stat", "-c", "%u:%g", path } }))
    return (r.stdout:gsub("%s+$", ""))
  end

  it("changes the mode of a file and says when the file is missing", function()
    local path = dir .. "/f"
    assert(sys.write_atomic(path, "x", tonumber("600", 8)))
    assert.is_true(sys.chmod(path, tonumber("644", 8)))
    assert.equal("644", mode_of(path))
    local ok, err = sys.chmod(dir .. "/missing", tonumber("600", 8))
    assert.is_nil(ok)
    assert.equal("IO_ERROR", err.code)
    assert.equal(("cannot set the mode of '%s/missing': no such file or directory"):format(dir),
      tostring(err))
  end)

  it("changes the owner of a file as far as this user may, and says when it may not", function()
    local path = dir .. "/f"
    assert(sys.write_atomic(path, "x"))
    local uid, gid = owner_of(path):match("^(%d+):(%d+)$")
    uid, gid = tonumber(uid), tonumber(gid)
    -- giving a file to its own owner is always allowed; -1 keeps one as it is
    assert.is_true(sys.chown(path, uid, gid))
    assert.is_true(sys.chown(path, -1, -1))
    if uid == 0 then
      assert.is_true(sys.chown(path, 4321, 4322))
      assert.equal("4321:4322", owner_of(path))
    else
      local ok, err = sys.chown(path, 0, 0)
      assert.is_nil(ok)
      assert.matches("^cannot set the owner of '.*/f': operation not permitted$", tostring(err))
    end
    local ok, err = sys.chown(dir .. "/missing", uid, gid)
    assert.is_nil(ok)
    assert.equal("IO_ERROR", err.code)
    assert.equal(("cannot set the owner of '%s/missing': no such file or directory"):format(dir),
      tostring(err))
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() sys.chmod(dir, "644") end)
    assert.has_error(function() sys.chmod(dir, 99999) end)
    assert.has_error(function() sys.chown(dir, "root", 0) end)
    assert.has_error(function() sys.chown(dir, 0) end)
    assert.has_error(function() sys.chown(dir, 1.5, 0) end)
  end)
end)

describe("deloc.sys.atomic_writer", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rm_rf(dir) end)

  it("streams chunks into a 0600 file that appears whole on commit, leaving no temp file", function()
    local path = dir .. "/dump"
    local w = assert(sys.atomic_writer(path))
    assert.matches("^writer '.*/dump' %(open%)$", tostring(w))
    assert.is_true(w:write("head\n"))
    assert.is_true(w:write(("x"):rep(300000)))
    assert.is_true(w:write(""))
    assert.is_false(sys.exists(path))
    local partial = ("%s/.dump.%d.partial"):format(dir, sys.pid())
    assert.same({ ".dump." .. sys.pid() .. ".partial" }, sys.listdir(dir))
    assert.equal("600", mode_of(partial))
    assert.is_true(w:commit())
    assert.equal("head\n" .. ("x"):rep(300000), sys.read_file(path))
    assert.equal("600", mode_of(path))
    assert.same({ "dump" }, sys.listdir(dir))
    assert.matches("%(committed%)$", tostring(w))
    -- a committed writer takes no more, and abort no longer touches anything
    local ok, err = w:write("more")
    assert.is_nil(ok)
    assert.equal("IO_ERROR", err.code)
    assert.matches("already committed", err.message, 1, true)
    w:abort()
    assert.equal("head\n" .. ("x"):rep(300000), sys.read_file(path))
  end)

  it("gives the file the mode asked for, whatever the umask", function()
    local r = assert(sys.spawn({ argv = { "sh", "-c", 'umask 077; exec "$0" -e "$1"', DELOC, ([[
      local w = assert(require("deloc.sys").atomic_writer(%q, tonumber("644", 8)))
      assert(w:write("y")); assert(w:commit())]]):format(dir .. "/pub") } }))
    assert.equal(0, r.status, r.stderr)
    assert.equal("644", mode_of(dir .. "/pub"))
  end)

  it("keeps the old file and leaves no temp file when aborted", function()
    local path = dir .. "/keep"
    assert(sys.write_atomic(path, "old", tonumber("644", 8)))
    local w = assert(sys.atomic_writer(path))
    assert(w:write("half"))
    w:abort()
    w:abort() -- idempotent
    assert.matches("%(aborted%)$", tostring(w))
    assert.equal("old", sys.read_file(path))
    assert.equal("644", mode_of(path))
    assert.same({ "keep" }, sys.listdir(dir))
    local ok, err = w:commit()
    assert.is_nil(ok)
    assert.equal(("cannot write '%s': already aborted"):format(path), tostring(err))
  end)

  it("removes the temp file of a writer collected without commit", function()
    local w = assert(sys.atomic_writer(dir .. "/lost"))
    assert(w:write("data"))
    assert.equal(1, #sys.listdir(dir))
    w = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.same({}, sys.listdir(dir))
  end)

  it("replaces a stale temp file left by an earlier process with our pid", function()
    local partial = ("%s/.f.%d.partial"):format(dir, sys.pid())
    assert(sys.write_atomic(partial, "stale junk"))
    local w = assert(sys.atomic_writer(dir .. "/f"))
    assert(w:write("fresh"))
    assert(w:commit())
    assert.equal("fresh", sys.read_file(dir .. "/f"))
    assert.same({ "f" }, sys.listdir(dir))
  end)

  it("says why it cannot write: a missing or unwritable directory, a directory as the file", function()
    local w, err = sys.atomic_writer(dir .. "/no/f")
    assert.is_nil(w)
    assert.equal("IO_ERROR", err.code)
    assert.equal(("cannot write '%s/no/f': no such file or directory"):format(dir), tostring(err))
    w, err = sys.atomic_writer(dir .. "/")
    assert.is_nil(w)
    assert.equal(("cannot write '%s/': is a directory"):format(dir), tostring(err))
    -- an unwritable directory: a 0500 one, or for root (who ignores modes)
    -- /sys, where nobody may create files
    assert(sys.mkdir_p(dir .. "/ro"))
    assert(sys.chmod(dir .. "/ro", tonumber("500", 8)))
    local path = dir .. "/ro/f"
    w = sys.atomic_writer(path)
    if w then
      w:abort()
      path = "/sys/deloc-spec"
    end
    assert.same({}, sys.listdir(dir .. "/ro"))
    w, err = sys.atomic_writer(path)
    assert.is_nil(w)
    assert.equal("IO_ERROR", err.code)
    local why = tostring(err):match("^cannot write '" .. path:gsub("%p", "%%%0") .. "': (.*)$")
    assert.is_truthy(why == "permission denied" or why == "read-only file system", tostring(err))
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() sys.atomic_writer(nil) end)
    assert.has_error(function() sys.atomic_writer("") end)
    assert.has_error(function() sys.atomic_writer(dir .. "/f", -1) end)
    local w = assert(sys.atomic_writer(dir .. "/f"))
    assert.has_error(function() w:write(42) end)
    w:abort()
  end)
end)

describe("deloc.sys.lock", function()
  local dir, child
  before_each(function() dir = tmpdir() end)
  after_each(function()
    if child then
      sys.kill(child, "KILL")
      sys.waitpid(child)
      child = nil
    end
    rm_rf(dir)
  end)

  -- Starts a deloc that takes the lock and waits; returns once it holds it.
  local function holder_process(path)
    local out = dir .. "/child.out"
    child = assert(sys.spawn_bg({
      argv = { DELOC, "-e", [[
        local sys = require("deloc.sys")
        local lock, err = sys.lock(sys.getenv("LOCK_PATH"))
        io.write(lock and "locked\n" or tostring(err)); io.flush()
        sys.sleep(30)
      ]] },
      env = { LOCK_PATH = path },
      stdout = out, stderr = out,
    }))
    assert.is_true(eventually(function()
      return (sys.read_file(out) or ""):find("locked", 1, true) ~= nil
    end), "the child did not take the lock: " .. tostring(sys.read_file(out)))
    return child
  end

  it("records the holder and releases on unlock", function()
    local path = dir .. "/deloc.lock"
    local lock = assert(sys.lock(path))
    assert.matches("^pid " .. sys.pid() .. " since %d+", sys.read_file(path))
    assert.equal("lock '" .. path .. "' (held)", tostring(lock))
    assert.is_true(lock:unlock())
    assert.is_true(lock:unlock()) -- idempotent
    assert.is_false(lock:held())
    assert.equal("", sys.read_file(path))
    assert(sys.lock(path)):unlock()
  end)

  it("is busy while another process holds it, naming that process", function()
    local path = dir .. "/deloc.lock"
    local pid = holder_process(path)
    local t0 = sys.time()
    local lock, err, holder = sys.lock(path)
    assert.is_nil(lock)
    assert.equal("BUSY", err.code)
    assert.equal(pid, holder.pid)
    assert.is_true(math.abs(holder.since - t0) < 10)
    assert.matches("^'.*deloc%.lock' is locked by process " .. pid .. " since ", err.message)
  end)

  it("waits for a busy lock up to the given time", function()
    local path = dir .. "/deloc.lock"
    holder_process(path)
    local t0 = sys.now()
    local lock, err = sys.lock(path, { wait = 0.3 })
    assert.is_nil(lock)
    assert.equal("BUSY", err.code)
    assert.is_true(sys.now() - t0 >= 0.3)
  end)

  it("is taken over once the holder is killed", function()
    local path = dir .. "/deloc.lock"
    local pid = holder_process(path)
    assert.is_nil((sys.lock(path)))
    assert(sys.kill(pid, "KILL"))
    assert.same({ signal = "KILL" }, sys.waitpid(pid))
    child = nil
    local lock = assert(sys.lock(path))
    assert.matches("^pid " .. sys.pid() .. " ", sys.read_file(path))
    lock:unlock()
  end)

  it("is busy for a second open in the same process", function()
    local path = dir .. "/deloc.lock"
    local lock = assert(sys.lock(path))
    local again, err, holder = sys.lock(path)
    assert.is_nil(again)
    assert.equal("BUSY", err.code)
    assert.equal(sys.pid(), holder.pid)
    lock:unlock()
  end)

  it("fails clearly where the lock file cannot be created", function()
    local lock, err = sys.lock(dir .. "/no/such/dir/deloc.lock")
    assert.is_nil(lock)
    assert.equal("IO_ERROR", err.code)
    assert.matches("^cannot open lock '.*': no such file or directory$", tostring(err))
  end)
end)

describe("deloc.sys environment", function()
  it("sets, reads, lists and unsets variables", function()
    assert.is_true(sys.setenv("DELOC_SPEC_VAR", "a=b c"))
    assert.equal("a=b c", sys.getenv("DELOC_SPEC_VAR"))
    assert.equal("a=b c", sys.environ().DELOC_SPEC_VAR)
    assert.is_true(sys.setenv("DELOC_SPEC_VAR", nil))
    assert.is_nil(sys.getenv("DELOC_SPEC_VAR"))
    assert.is_nil(sys.environ().DELOC_SPEC_VAR)
    assert.has_error(function() sys.setenv("A=B", "x") end)
    assert.equal("number", type(sys.pid()))
  end)
end)

describe("deloc.sys.spawn", function()
  it("captures stdout, stderr and the exit code", function()
    local r = assert(sys.spawn({ argv = { "sh", "-c", "echo out; echo err >&2; exit 3" } }))
    assert.equal(3, r.status)
    assert.equal("out\n", r.stdout)
    assert.equal("err\n", r.stderr)
    assert.is_nil(r.signal)
  end)

  it("passes arguments as they are, with no shell between", function()
    local r = assert(sys.spawn({ argv = { "printf", "%s|", "a b", "$HOME", "*", "'" } }))
    assert.equal("a b|$HOME|*|'|", r.stdout)
  end)

  it("feeds stdin and reads large output on both streams without blocking", function()
    local input = ("0123456789abcdef"):rep(200000) -- 3.2 MB
    local r = assert(sys.spawn({ argv = { "sh", "-c", "cat; cat /proc/self/status >&2" },
      stdin = input }))
    assert.equal(0, r.status)
    assert.equal(#input, #r.stdout)
    assert.is_true(r.stdout == input)
    assert.matches("Pid:", r.stderr)
  end)

  it("survives a child that stops reading its stdin", function()
    local r = assert(sys.spawn({ argv = { "head", "-c", "5" }, stdin = ("x"):rep(5e6) }))
    assert.equal(0, r.status)
    assert.equal("xxxxx", r.stdout)
  end)

  it("runs in the given directory with variables added to the environment", function()
    local r = assert(sys.spawn({ argv = { "sh", "-c", "pwd; echo $DELOC_SPEC_X; echo ${HOME:+home}" },
      cwd = "/tmp", env = { DELOC_SPEC_X = "42" } }))
    assert.equal("/tmp\n42\nhome\n", r.stdout)
  end)

  it("removes variables with false and starts empty with env_clear", function()
    local r = assert(sys.spawn({ argv = { "/usr/bin/env" }, env_clear = true, env = { ONLY = "1" } }))
    assert.equal("ONLY=1\n", r.stdout)
    sys.setenv("DELOC_SPEC_GONE", "x")
    r = assert(sys.spawn({ argv = { "/usr/bin/env" }, env = { DELOC_SPEC_GONE = false } }))
    sys.setenv("DELOC_SPEC_GONE", nil)
    assert.is_nil(r.stdout:find("DELOC_SPEC_GONE", 1, true))
  end)

  it("reports a child killed by a signal", function()
    local r = assert(sys.spawn({ argv = { "sh", "-c", "kill -KILL $$" } }))
    assert.equal("KILL", r.signal)
    assert.is_nil(r.status)
  end)

  it("gives a clear error for a program that is not there", function()
    local r, err = sys.spawn({ argv = { "deloc-no-such-program", "x" } })
    assert.is_nil(r)
    assert.equal("IO_ERROR", err.code)
    assert.equal("cannot run 'deloc-no-such-program': not found in PATH", err.message)
    assert.equal("is 'deloc-no-such-program' installed?", err.hint)
    r, err = sys.spawn({ argv = { "/no/such/program" } })
    assert.is_nil(r)
    assert.equal("cannot run '/no/such/program': no such file or directory", err.message)
    r, err = sys.spawn({ argv = { FIX .. "/proc/meminfo" } }) -- not executable
    assert.is_nil(r)
    assert.equal("cannot run '" .. FIX .. "/proc/meminfo': permission denied", err.message)
    r, err = sys.spawn({ argv = { "pwd" }, cwd = "/no/such/dir" })
    assert.is_nil(r)
    assert.equal("cannot run 'pwd' in '/no/such/dir': no such file or directory", err.message)
  end)

  it("kills a child that outlives its timeout", function()
    local t0 = sys.now()
    local r, err = sys.spawn({ argv = { "sh", "-c", "echo started; exec sleep 10" }, timeout = 0.3 })
    local dt = sys.now() - t0
    assert.is_nil(r)
    assert.equal("TIMEOUT", err.code)
    assert.equal("'sh' did not finish within 0.3s and was stopped", err.message)
    assert.equal("TERM", err.result.signal)
    assert.equal("started\n", err.result.stdout)
    assert.is_true(dt >= 0.3 and dt < 2, "took " .. dt)
  end)

  it("follows SIGTERM with SIGKILL after the grace time", function()
    local t0 = sys.now()
    local _, err = sys.spawn({ argv = { "sh", "-c", "trap '' TERM; exec sleep 10" },
      timeout = 0.2, grace = 0.2 })
    assert.equal("TIMEOUT", err.code)
    assert.equal("KILL", err.result.signal)
    assert.is_true(sys.now() - t0 < 2)
  end)

  it("rejects bad arguments as programming errors", function()
    assert.has_error(function() sys.spawn({ argv = {} }) end)
    assert.has_error(function() sys.spawn({ argv = { nil, "x" } }) end)
    assert.has_error(function() sys.spawn({ argv = { "ls", {} } }) end)
    assert.has_error(function() sys.spawn({ argv = { "ls" }, timeout = -1 }) end)
    assert.has_error(function() sys.spawn({ argv = { "ls" }, env = { [1] = "x" } }) end)
    assert.has_error(function() sys.spawn("ls") end)
  end)
end)

describe("deloc.sys background processes and signals", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function()
    sys.signal_default("USR1")
    sys.signal_clear()
    rm_rf(dir)
  end)

  it("starts a program in the background, sends it a signal and reaps it", function()
    local out = dir .. "/out"
    local pid = assert(sys.spawn_bg({ argv = { "sh", "-c", "echo up; exec sleep 30" },
      stdout = out }))
    assert.is_true(eventually(function() return sys.read_file(out) == "up\n" end))
    assert.is_false(sys.waitpid(pid, true))
    assert.is_true(sys.kill(pid, "TERM"))
    assert.same({ signal = "TERM" }, sys.waitpid(pid))
    local _, err = sys.waitpid(pid)
    assert.matches("^cannot wait for process %d+: no child processes$", tostring(err))
  end)

  it("reports the exit status of a background program", function()
    local pid = assert(sys.spawn_bg({ argv = { "sh", "-c", "exit 7" }, stdout = "" }))
    assert.same({ status = 7 }, sys.waitpid(pid))
    local _, err = sys.spawn_bg({ argv = { "deloc-no-such-program" } })
    assert.equal("cannot run 'deloc-no-such-program': not found in PATH", err.message)
  end)

  it("turns a caught signal into a flag", function()
    assert.is_true(sys.signal_catch("USR1"))
    assert.is_nil(sys.signal_pending())
    assert(sys.kill(sys.pid(), "USR1"))
    assert.equal("USR1", sys.signal_pending())
    sys.signal_clear()
    assert.is_nil(sys.signal_pending())
    assert.has_error(function() sys.signal_catch("KILL") end)
    assert.has_error(function() sys.signal_catch("NOPE") end)
  end)

  it("cuts a sleep short when a caught signal arrives", function()
    sys.signal_catch("USR1")
    local pid = assert(sys.spawn_bg({ argv = { "sh", "-c", "sleep 0.2; kill -USR1 " .. sys.pid() } }))
    local t0 = sys.now()
    local ok, remaining = sys.sleep(5)
    assert.is_false(ok)
    assert.is_true(remaining > 3)
    assert.is_true(sys.now() - t0 < 3)
    assert.equal("USR1", sys.signal_pending())
    sys.waitpid(pid)
  end)

  it("stops a running child when a caught signal arrives", function()
    sys.signal_catch("USR1")
    local pid = assert(sys.spawn_bg({ argv = { "sh", "-c", "sleep 0.2; kill -USR1 " .. sys.pid() } }))
    local t0 = sys.now()
    local r, err = sys.spawn({ argv = { "sleep", "10" } })
    assert.is_nil(r)
    assert.equal("INTERRUPTED", err.code)
    assert.equal("TERM", err.result.signal)
    assert.is_true(sys.now() - t0 < 3)
    sys.waitpid(pid)
  end)
end)
