-- deloc.sys: what this machine (or container) really offers, and the system
-- calls the rest of deloc needs: clocks, files written safely, locks, the
-- environment, processes by argv (never a shell) and signals.
--
--   sys.resources()  --> { cpu = 2, memory = 3.9e9, disk = 5.1e10,
--                          source = { cpu = "...", memory = "...", disk = "..." } }
--   local r = sys.spawn{ argv = { "docker", "version" }, timeout = 10 }
--
-- Readers take optional fixture roots so specs can point them at fake trees:
-- `proc` replaces /proc, `root` is prefixed to every cgroup path.
local native = require("deloc.native.sys")
local errors = require("deloc.errors")

local M = {}

local function io_error(err, extra)
  return nil, errors.wrap("IO_ERROR", err, extra)
end

local function check_string(v, name, fn)
  if type(v) ~= "string" then
    error(("sys.%s: %s must be a string, got %s"):format(fn, name, type(v)), 3)
  end
end

local function options(opts, fn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("sys.%s: options must be a table, got %s"):format(fn, type(opts)), 3)
  end
  return opts
end

local function check_mode(mode, fn)
  if type(mode) ~= "number" or mode < 0 or mode > 4095 or mode % 1 ~= 0 then
    error(("sys.%s: mode must be an integer from 0 to 4095 (0o7777)"):format(fn), 3)
  end
end

-- ---- the machine ----

-- sys.cpu{proc=} -> { count=, model= } | nil, err
-- count is the CPUs this process may run on (its affinity mask); with a
-- fixture `proc`, the processors listed in its cpuinfo.
function M.cpu(opts)
  opts = options(opts, "cpu")
  local path = (opts.proc or "/proc") .. "/cpuinfo"
  local listed, model = native.cpuinfo(path)
  if not listed then
    if opts.proc then return io_error(model) end
    model = nil -- no /proc: the count still stands
  end
  local count = opts.proc and listed or native.cpu_count()
  if count == 0 then count = native.cpu_count() end
  return { count = count, model = model ~= "" and model or nil }
end

-- sys.memory{proc=} -> { total=, available= } bytes | nil, err
function M.memory(opts)
  opts = options(opts, "memory")
  local total, available = native.meminfo((opts.proc or "/proc") .. "/meminfo")
  if not total then return io_error(available) end
  return { total = total, available = available }
end

-- sys.disk([path]) -> { total=, free= } bytes (free to a non-root user) | nil, err
function M.disk(path)
  path = path or "."
  check_string(path, "path", "disk")
  local total, free = native.disk(path)
  if not total then return io_error(free) end
  return { total = total, free = free }
end

-- sys.load{proc=} -> { l1, l5, l15, l1=, l5=, l15= } | nil, err
function M.load(opts)
  opts = options(opts, "load")
  local a, b, c = native.load(opts.proc and opts.proc .. "/loadavg" or nil)
  if not a then return io_error(b) end
  return { a, b, c, l1 = a, l5 = b, l15 = c }
end

-- sys.cgroup([root | {root=}]) -> { version=1|2|nil, memory_limit=bytes|nil,
--   cpu_limit=cores|nil, source=dir, memory_source=file, cpu_source=file }
-- Limits set on ancestor cgroups count too; the smallest wins.  On the real
-- system a machine without cgroups gives {}; a fixture root must exist.
function M.cgroup(root)
  if type(root) == "table" then root = root.root end
  if root ~= nil then check_string(root, "root", "cgroup") end
  local cg, err = native.cgroup(root or "")
  if not cg then
    if root then return io_error(err) end
    return {}
  end
  cg.source = cg.dir
  cg.dir = nil
  return cg
end

local function gib(bytes)
  return ("%.1f GiB"):format(bytes / 2 ^ 30)
end

-- sys.resources{proc=, root=, path=} -> { cpu=, memory=, memory_total=, disk=,
--   disk_total=, source = { cpu=, memory=, disk= }, host = {...}, cgroup = {...} }
-- The budget the planner may use: host figures capped by cgroup limits.
function M.resources(opts)
  opts = options(opts, "resources")
  local cpu, err = M.cpu(opts)
  if not cpu then return nil, err end
  local mem
  mem, err = M.memory(opts)
  if not mem then return nil, err end
  local cg
  cg, err = M.cgroup(opts.root)
  if not cg then return nil, err end
  local path = opts.path or "."
  local disk
  disk, err = M.disk(path)
  if not disk then return nil, err end

  local proc = opts.proc or "/proc"
  local r = {
    cpu = cpu.count,
    memory = mem.available,
    memory_total = mem.total,
    disk = disk.free,
    disk_total = disk.total,
    source = {
      cpu = opts.proc and ("host: %d processors in %s/cpuinfo"):format(cpu.count, proc)
        or ("host: %d CPUs this process may run on"):format(cpu.count),
      memory = ("host: MemAvailable in %s/meminfo (%s)"):format(proc, gib(mem.available)),
      disk = ("host: free space on the file system of '%s' (%s)"):format(path, gib(disk.free)),
    },
    host = { cpu = cpu.count, model = cpu.model, memory = mem.available,
             memory_total = mem.total },
    cgroup = cg,
  }
  if cg.cpu_limit and cg.cpu_limit < r.cpu then
    r.cpu = cg.cpu_limit
    r.source.cpu = ("cgroup v%d: %g CPU%s in %s"):format(cg.version, cg.cpu_limit,
      cg.cpu_limit > 1 and "s" or "", cg.cpu_source)
  end
  if cg.memory_limit then
    if cg.memory_limit < r.memory then
      r.memory = cg.memory_limit
      r.source.memory = ("cgroup v%d: %s in %s"):format(cg.version,
        gib(cg.memory_limit), cg.memory_source)
    end
    if cg.memory_limit < r.memory_total then r.memory_total = cg.memory_limit end
  end
  return r
end

-- ---- clocks ----

M.now = native.now   -- sys.now() -> monotonic seconds (float)
M.time = native.time -- sys.time() -> wall-clock seconds since the epoch

-- sys.sleep(seconds) -> true | false, remaining (a caught signal cut it short)
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("sys.sleep: seconds must be a non-negative number", 2)
  end
  return native.sleep(seconds)
end

-- ---- signals ----
-- A caught signal only sets a flag: code that waits (spawn, sleep, the
-- scheduler) looks at signal_pending() and winds down in order.

local catchable = { INT = true, TERM = true, HUP = true, QUIT = true,
                    USR1 = true, USR2 = true, PIPE = true, WINCH = true }

local function check_signal_name(name, fn)
  if type(name) ~= "string" or not catchable[name:gsub("^SIG", "")] then
    error(("sys.%s: cannot handle signal '%s'"):format(fn, tostring(name)), 3)
  end
  return (name:gsub("^SIG", ""))
end

-- sys.signal_catch("INT"|"TERM"|...) -> true | nil, err
function M.signal_catch(name)
  local ok, err = native.signal_catch(check_signal_name(name, "signal_catch"))
  if not ok then return io_error(err) end
  return true
end

-- sys.signal_default(name) -> true | nil, err
function M.signal_default(name)
  local ok, err = native.signal_default(check_signal_name(name, "signal_default"))
  if not ok then return io_error(err) end
  return true
end

M.signal_pending = native.signal_pending -- -> "INT" | "TERM" | ... | nil
M.signal_clear = native.signal_clear

-- ---- files ----

-- sys.write_atomic(path, data [, mode]) -> true | nil, err
-- Readers see the old content or the new, never a part; mode (e.g. 384 =
-- 0600) is set before the file appears under its name.
function M.write_atomic(path, data, mode)
  check_string(path, "path", "write_atomic")
  check_string(data, "data", "write_atomic")
  if mode ~= nil then check_mode(mode, "write_atomic") end
  local ok, err = native.write_atomic(path, data, mode)
  if not ok then return io_error(err) end
  return true
end

-- sys.mkdir_p(path [, mode]) -> true | nil, err
function M.mkdir_p(path, mode)
  check_string(path, "path", "mkdir_p")
  local ok, err = native.mkdir_p(path, mode or 511)
  if not ok then return io_error(err) end
  return true
end

-- sys.chmod(path, mode) -> true | nil, err
function M.chmod(path, mode)
  check_string(path, "path", "chmod")
  check_mode(mode, "chmod")
  local ok, err = native.chmod(path, mode)
  if not ok then return io_error(err) end
  return true
end

local function check_id(v, name)
  if type(v) ~= "number" or v < -1 or v >= 2 ^ 32 - 1 or v % 1 ~= 0 then
    error(("sys.chown: %s must be an integer from 0 (or -1: unchanged)"):format(name), 3)
  end
end

-- sys.chown(path, uid, gid) -> true | nil, err  (-1 leaves one unchanged)
-- Only root, or the owner giving a file to one of its own groups, may.
function M.chown(path, uid, gid)
  check_string(path, "path", "chown")
  check_id(uid, "uid")
  check_id(gid, "gid")
  local ok, err = native.chown(path, uid, gid)
  if not ok then return io_error(err) end
  return true
end

-- sys.atomic_writer(path [, mode = 0600]) -> writer | nil, err
--   writer:write(chunk) -> true | nil, err
--   writer:commit() -> true | nil, err  (fsync, rename over path, fsync of
--                                        the directory)
--   writer:abort()    removes what was written (the GC does it too)
-- For content streamed in pieces (a backup): it goes to ".NAME.PID.partial"
-- beside path, created O_EXCL with `mode` from the first byte (the umask
-- aside), so path is the old content or the whole new one, never a part.
local Writer = {}
Writer.__index = Writer
Writer.__tostring = function(w) return tostring(w.native) end

function M.atomic_writer(path, mode)
  check_string(path, "path", "atomic_writer")
  if path == "" then error("sys.atomic_writer: path must not be empty", 2) end
  if mode ~= nil then check_mode(mode, "atomic_writer") end
  local w, err = native.atomic_writer(path, mode or 384)
  if not w then return io_error(err) end
  return setmetatable({ native = w, path = path }, Writer)
end

function Writer:write(chunk)
  if type(chunk) ~= "string" then
    error(("writer:write: chunk must be a string, got %s"):format(type(chunk)), 2)
  end
  local ok, err = self.native:write(chunk)
  if not ok then return io_error(err) end
  return true
end

function Writer:commit()
  local ok, err = self.native:commit()
  if not ok then return io_error(err) end
  return true
end

function Writer:abort()
  self.native:abort()
end
Writer.close = Writer.abort

-- sys.read_file(path) -> string | nil, err
function M.read_file(path)
  check_string(path, "path", "read_file")
  local s, err = native.read_file(path)
  if not s then return io_error(err) end
  return s
end

-- sys.listdir(path) -> { name, ... } sorted | nil, err
function M.listdir(path)
  check_string(path, "path", "listdir")
  local names, err = native.listdir(path)
  if not names then return io_error(err) end
  table.sort(names)
  return names
end

-- sys.exists(path) -> boolean (follows symbolic links)
function M.exists(path)
  check_string(path, "path", "exists")
  return native.stat(path) ~= nil
end

-- sys.stat(path) -> "file" | "directory" | "other", { uid=, gid=, mode=, size= } | nil
-- (follows symbolic links)
function M.stat(path)
  check_string(path, "path", "stat")
  return native.stat(path)
end

-- sys.isdir(path) -> boolean
function M.isdir(path)
  check_string(path, "path", "isdir")
  return native.stat(path) == "directory"
end

-- sys.remove(path) -> true | nil, err  (a file or an empty directory)
function M.remove(path)
  check_string(path, "path", "remove")
  local ok, err = native.remove(path)
  if not ok then return io_error(err) end
  return true
end

-- sys.realpath(path) -> absolute path | nil, err
function M.realpath(path)
  check_string(path, "path", "realpath")
  local p, err = native.realpath(path)
  if not p then return io_error(err) end
  return p
end

-- ---- locks ----

local function holder_text(holder)
  if not holder.pid then return "" end
  local s = (" by process %d"):format(holder.pid)
  if holder.since then
    s = s .. os.date(" since %Y-%m-%d %H:%M:%S", math.floor(holder.since))
  end
  return s
end

-- sys.lock(path [, {wait=seconds}]) -> lock | nil, err, holder
-- An exclusive advisory lock (flock) on path; the file records our pid and
-- the time.  If another process holds it: err.code == "BUSY" and holder is
-- { pid=, since= }.  The kernel drops the lock when its holder dies, so a
-- stale lock is simply taken.  lock:unlock() (or the GC) releases it.
function M.lock(path, opts)
  check_string(path, "path", "lock")
  opts = options(opts, "lock")
  local deadline = opts.wait and native.now() + opts.wait
  while true do
    local lock, err, holder = native.lock(path)
    if lock then return lock end
    if err ~= "busy" then return io_error(err) end
    if not deadline or native.now() >= deadline or native.signal_pending() then
      return nil, errors.new("BUSY", ("'%s' is locked%s"):format(path,
        holder_text(holder)), { holder = holder, context = { path = path },
        hint = "another deloc is working on this project; wait for it to finish" }),
        holder
    end
    native.sleep(0.05)
  end
end

-- ---- files below a project directory ----

-- sys.at(root) -> dir: the project's own files (.deloc/lock, state.json,
-- secrets, ...) reached from `root` (the directory the user chose) without
-- following any symbolic link on the way or at the end: every step is an
-- openat(O_NOFOLLOW), and what is found must be a regular file.  A project is
-- possibly someone else's repository; a link it committed under .deloc/ is a
-- clear error naming it, never a way to a file elsewhere.  `rel` is relative,
-- with no "." or ".." component.
--   dir:read(rel [, max]) -> text | nil, err      dir:kind(rel) -> "file" |
--   dir:write(rel, data, mode [, dirmode])         "directory" | "link" |
--   dir:lock(rel [, {wait=, dirmode=}])            "other" | "missing"
--   dir:chmod(rel, mode)  dir:chown(rel, uid, gid)  dir:rename(from, to)
--   dir:remove(rel)  dir:listdir(rel) -> sorted names
--   dir:link_same(rel, data, target) -> true when target (a new path, not
--     below root) was made a hard link to rel because writing data anew at
--     target would make the same file: a regular file with one name, this
--     user's, with the group and mode a new file there gets, holding exactly
--     data; false otherwise (write target then)
local at = require("deloc.native.sys_at")
local Dir = {}
Dir.__index = Dir

function M.at(root)
  check_string(root, "root", "at")
  return setmetatable({ root = root }, Dir)
end

local function at_call(fn, ...)
  local ok, err = fn(...)
  if ok == nil then return io_error(err) end
  return ok
end

function Dir:read(rel, max) return at_call(at.read, self.root, rel, max) end
function Dir:kind(rel) return at_call(at.kind, self.root, rel) end
function Dir:chmod(rel, mode)
  check_mode(mode, "at:chmod")
  return at_call(at.chmod, self.root, rel, mode)
end
function Dir:chown(rel, uid, gid)
  check_id(uid, "uid")
  check_id(gid, "gid")
  return at_call(at.chown, self.root, rel, uid, gid)
end
function Dir:rename(from, to) return at_call(at.rename, self.root, from, to) end
function Dir:remove(rel) return at_call(at.remove, self.root, rel) end
function Dir:link_same(rel, data, target)
  check_string(data, "data", "at:link_same")
  check_string(target, "target", "at:link_same")
  return at.link_same(self.root, rel, data, target)
end
function Dir:write(rel, data, mode, dirmode)
  check_string(data, "data", "at:write")
  check_mode(mode, "at:write")
  return at_call(at.write, self.root, rel, data, mode, dirmode)
end
function Dir:listdir(rel)
  local names, err = at.listdir(self.root, rel)
  if not names then return io_error(err) end
  table.sort(names)
  return names
end

-- dir:lock(rel [, {wait=, dirmode=}]): sys.lock below root
function Dir:lock(rel, opts)
  opts = options(opts, "at:lock")
  local path = self.root .. "/" .. rel
  local deadline = opts.wait and native.now() + opts.wait
  while true do
    local lock, err, holder = native.lock_at(self.root, rel, opts.dirmode)
    if lock then return lock end
    if err ~= "busy" then return io_error(err) end
    if not deadline or native.now() >= deadline or native.signal_pending() then
      return nil, errors.new("BUSY", ("'%s' is locked%s"):format(path,
        holder_text(holder)), { holder = holder, context = { path = path },
        hint = "another deloc is working on this project; wait for it to finish" }),
        holder
    end
    native.sleep(0.05)
  end
end

-- ---- environment ----

-- sys.getenv(name) -> value | nil
function M.getenv(name)
  check_string(name, "name", "getenv")
  return native.getenv(name)
end

-- sys.setenv(name, value | nil) -> true | nil, err  (nil unsets)
function M.setenv(name, value)
  check_string(name, "name", "setenv")
  if value ~= nil then check_string(value, "value", "setenv") end
  local ok, err = native.setenv(name, value)
  if not ok then return io_error(err) end
  return true
end

M.environ = native.environ -- sys.environ() -> { NAME = value, ... }
M.pid = native.pid         -- sys.pid() -> this process's id
-- sys.tcp_listening() -> { [port] = true } | nil, err: TCP ports with a
-- listening socket (IPv4 and IPv6), from the kernel's socket diagnostics
M.tcp_listening = native.tcp_listening
-- sys.hash(s) -> 16 hex digits: FNV-1a 64 (telling configurations apart; no
-- security boundary)
M.hash = native.hash
-- sys.sha1(s) -> 20 raw bytes: SHA-1, for the WebSocket handshake only
M.sha1 = native.sha1

-- ---- processes ----

local function argv_of(opts, fn)
  local argv = opts.argv or opts
  if type(argv) ~= "table" or #argv == 0 then
    error(("sys.%s: argv must be a non-empty list"):format(fn), 3)
  end
  local out = {}
  for i = 1, #argv do
    local a = argv[i]
    if type(a) ~= "string" and type(a) ~= "number" then
      error(("sys.%s: argv[%d] must be a string, got %s"):format(fn, i, type(a)), 3)
    end
    out[i] = tostring(a)
  end
  return out
end

-- env: the current environment with opts.env laid over it (a false value
-- removes a variable); env_clear = true starts from nothing.
local function env_of(opts, fn)
  if opts.env == nil and not opts.env_clear then return nil end
  if opts.env ~= nil and type(opts.env) ~= "table" then
    error(("sys.%s: env must be a table of NAME = value"):format(fn), 3)
  end
  local vars = opts.env_clear and {} or native.environ()
  for k, v in pairs(opts.env or {}) do
    if type(k) ~= "string" or k == "" or k:find("=", 1, true) then
      error(("sys.%s: env key '%s' is not a variable name"):format(fn, tostring(k)), 3)
    end
    if v == false then
      vars[k] = nil
    elseif type(v) == "string" or type(v) == "number" then
      vars[k] = tostring(v)
    else
      error(("sys.%s: env value of '%s' must be a string"):format(fn, k), 3)
    end
  end
  local list = {}
  for k, v in pairs(vars) do list[#list + 1] = k .. "=" .. v end
  table.sort(list)
  return list
end

local function check_cwd(opts, fn)
  if opts.cwd ~= nil and type(opts.cwd) ~= "string" then
    error(("sys.%s: cwd must be a string"):format(fn), 3)
  end
end

local function start_error(err, argv)
  local hint
  if err:find("not found in PATH", 1, true) then
    hint = ("is '%s' installed?"):format(argv[1])
  end
  return errors.new("IO_ERROR", err, { hint = hint, context = { argv = argv } })
end

local function words(argv)
  local s = argv[1]:match("[^/]*$")
  return s ~= "" and s or argv[1]
end

-- sys.spawn{argv, stdin=string, cwd=, env={NAME=value|false}, env_clear=,
--           timeout=seconds, grace=seconds}
--   -> { status=exit code | nil, signal=name | nil, stdout=, stderr= } | nil, err
-- Runs argv (looked up in PATH, no shell) to its end with both streams
-- captured.  A non-zero exit is a result, not an error.  On timeout the child
-- gets SIGTERM, then SIGKILL after `grace` (1 s): err.code == "TIMEOUT" and
-- err.result holds what it wrote.  A caught signal (signal_catch) ends it the
-- same way with err.code == "INTERRUPTED".
function M.spawn(opts)
  if type(opts) ~= "table" then error("sys.spawn: expects a table {argv, ...}", 2) end
  local argv = argv_of(opts, "spawn")
  check_cwd(opts, "spawn")
  if opts.stdin ~= nil and type(opts.stdin) ~= "string" then
    error("sys.spawn: stdin must be a string", 2)
  end
  for _, k in ipairs({ "timeout", "grace" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < 0) then
      error(("sys.spawn: %s must be a non-negative number of seconds"):format(k), 2)
    end
  end
  local r, err = native.spawn({ argv = argv, env = env_of(opts, "spawn"), cwd = opts.cwd,
    stdin = opts.stdin, timeout = opts.timeout, grace = opts.grace })
  if not r then return nil, start_error(err, argv) end
  local result = { status = r.status, signal = r.signal, stdout = r.stdout,
                   stderr = r.stderr, pid = r.pid }
  if r.timed_out then
    return nil, errors.new("TIMEOUT", ("'%s' did not finish within %gs and was stopped")
      :format(words(argv), opts.timeout), { result = result, context = { argv = argv } })
  end
  if r.interrupted then
    return nil, errors.new("INTERRUPTED", ("'%s' was stopped: interrupted")
      :format(words(argv)), { result = result, context = { argv = argv } })
  end
  return result
end

-- sys.spawn_bg{argv, cwd=, env=, env_clear=, stdout=path|""|nil, stderr=...}
--   -> pid | nil, err
-- Starts argv without waiting: stdin is /dev/null, stdout/stderr append to
-- the given files ("" discards, nil inherits ours).  Reap it with waitpid.
function M.spawn_bg(opts)
  if type(opts) ~= "table" then error("sys.spawn_bg: expects a table {argv, ...}", 2) end
  local argv = argv_of(opts, "spawn_bg")
  check_cwd(opts, "spawn_bg")
  for _, k in ipairs({ "stdout", "stderr" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      error(("sys.spawn_bg: %s must be a path"):format(k), 2)
    end
  end
  local pid, err = native.spawn_bg({ argv = argv, env = env_of(opts, "spawn_bg"),
    cwd = opts.cwd, stdout = opts.stdout, stderr = opts.stderr })
  if not pid then return nil, start_error(err, argv) end
  return pid
end

-- sys.kill(pid [, signame = "TERM"]) -> true | nil, err
function M.kill(pid, sig)
  if type(pid) ~= "number" or pid <= 0 or pid % 1 ~= 0 then
    error("sys.kill: pid must be a positive integer", 2)
  end
  local ok, err = native.kill(pid, sig or "TERM")
  if not ok then return io_error(err) end
  return true
end

-- sys.waitpid(pid [, nohang]) -> { status= | signal= } | false (still running) | nil, err
function M.waitpid(pid, nohang)
  if type(pid) ~= "number" or pid <= 0 or pid % 1 ~= 0 then
    error("sys.waitpid: pid must be a positive integer", 2)
  end
  local r, err = native.waitpid(pid, nohang)
  if r == nil then return io_error(err) end
  return r
end

return M
