-- deloc.state: what deloc last did to a project, kept in `.deloc/` beside the
-- project file, and the lock that keeps two deloc processes from working on
-- one project at once.
--
--   local lock, err = state.lock(root [, {wait = seconds}])  -- err.code BUSY
--   local st, warn = state.load(root)     -- warn: a corrupt file was set aside
--   state.set_service(st, "postgres", "Running" [, reason]) -> entry, changed
--   state.lifecycle(st, "postgres") -> state | nil, since, reason
--   state.record(st, "up", { services = {...}, result = "ok" })
--   state.save(root, st) -> true | nil, err
--   state.secret(root, "postgres.password" [, length]) -> value | nil, err
--
-- The engine is the truth about what runs (containers carry labels); this
-- file is memory: the last applied plan, per-service lifecycle state
-- (Stopped -> Deploying -> Running -> Failed / Scaling) and a short history.
-- It never holds a secret value: plans carry only secret file references.
-- Writes are atomic (temp file + rename), so a reader sees the old state or
-- the new, never a part.
local sys = require("deloc.sys")
local json = require("deloc.json")
local errors = require("deloc.errors")

local M = {}

M.VERSION = 1
M.HISTORY = 50
M.TRANSITIONS = 10 -- per service: the last transitions kept
M.LIFECYCLE = { Stopped = true, Deploying = true, Running = true, Failed = true,
                Scaling = true }

function M.dir(root) return (root or ".") .. "/.deloc" end
function M.path(root) return M.dir(root) .. "/state.json" end
function M.secrets_dir(root) return M.dir(root) .. "/secrets" end

-- Every file here is reached from the project directory without following
-- links (deloc.sys.at): a project may be someone else's repository, and a
-- link committed as .deloc/lock or .deloc/secrets/x must not lead deloc to
-- truncate, chown or mount a file outside it.  Directories are made 0700:
-- secrets live below.
local DIR_MODE = 448
local STATE, LOCK, SECRETS = ".deloc/state.json", ".deloc/lock", ".deloc/secrets/"
M.MAX_STATE = 64 * 1024 * 1024

local function at(root) return sys.at(root or ".") end

-- state.lock(root [, {wait=}]) -> lock | nil, err (BUSY: "busy: held by pid N since T")
-- The kernel releases the lock when its holder dies, so a lock left behind by
-- a killed deloc is simply taken over.
function M.lock(root, opts)
  local path = M.dir(root) .. "/lock"
  local lock, lerr, holder = at(root):lock(LOCK, { wait = opts and opts.wait, dirmode = DIR_MODE })
  if lock then return lock end
  if errors.is(lerr) and lerr.code == "BUSY" then
    local msg = "busy: another deloc is working on this project"
    if holder and holder.pid then
      msg = ("busy: held by pid %d"):format(holder.pid)
      if holder.since then
        msg = msg .. os.date(" since %Y-%m-%d %H:%M:%S", math.floor(holder.since))
      end
    end
    return nil, errors.new("BUSY", msg, { holder = holder, context = { path = path },
      hint = "wait for the other deloc to finish, or run this again with --wait-lock SECONDS" })
  end
  return nil, lerr
end

function M.new(project)
  return { version = M.VERSION, project = project, services = {}, history = json.array({}) }
end

-- state.load(root) -> state, warning | nil, err
-- No file: a fresh state.  A file that is not a valid state is renamed to
-- state.json.corrupt-<time> and a fresh state comes back with a warning
-- saying so; the caller rebuilds what it needs from the engine's labels.
-- With {peek = true} a corrupt file is only reported, left where it is.
function M.load(root, project, opts)
  local path = M.path(root)
  local dir = at(root)
  local kind, kerr = dir:kind(STATE)
  if not kind then return nil, kerr end
  if kind == "missing" then return M.new(project) end
  local text, err = dir:read(STATE, M.MAX_STATE)
  if not text then return nil, err end
  local st, derr = json.decode(text)
  local why
  if type(st) ~= "table" then
    why = derr or "not a JSON object"
  elseif st.version ~= M.VERSION then
    why = ("unknown version %s"):format(tostring(st.version))
  elseif type(st.services) ~= "table" or (st.history ~= nil and type(st.history) ~= "table") then
    why = "missing or malformed 'services'"
  end
  if why then
    if opts and opts.peek then
      return M.new(project), ("state file '%s' is corrupt (%s)"):format(path, tostring(why):gsub("\n.*", ""))
    end
    local aside = ("%s.corrupt-%d"):format(path, math.floor(sys.time()))
    local moved, merr = dir:rename(STATE, ("%s.corrupt-%d"):format(STATE, math.floor(sys.time())))
    if not moved then return nil, merr end
    return M.new(project), ("state file '%s' was corrupt (%s); set aside as '%s' and rebuilt from the engine")
      :format(path, tostring(why):gsub("\n.*", ""), aside)
  end
  if st.history == nil or st.history == json.null then st.history = {} end
  json.array(st.history)
  for name, s in pairs(st.services) do
    if type(s) ~= "table" then
      st.services[name] = nil
    else
      if type(s.history) ~= "table" then s.history = {} end
      json.array(s.history)
    end
  end
  if project and st.project == nil then st.project = project end
  return st
end

-- state.save(root, st) -> true | nil, err
function M.save(root, st)
  local text, err = json.encode(st, { indent = true })
  if not text then return nil, errors.new("IO_ERROR", "cannot encode state: " .. tostring(err)) end
  return at(root):write(STATE, text .. "\n", 384, DIR_MODE)
end

-- state.set_service(st, name, lifecycle [, reason]) -> entry, changed
-- Moves a service to a lifecycle state (Stopped, Deploying, Running, Failed,
-- Scaling).  A move to another state is a transition: `since` is reset and
-- { from=, to=, time=, reason= } is appended to the service's own history
-- (the last M.TRANSITIONS kept).  Setting the state it is already in changes
-- nothing (changed is false), so a run that changed nothing writes nothing.
function M.set_service(st, name, lifecycle, reason)
  assert(M.LIFECYCLE[lifecycle], "unknown lifecycle state " .. tostring(lifecycle))
  assert(reason == nil or type(reason) == "string", "reason must be a string")
  local s = st.services[name]
  if not s then
    s = { history = json.array({}) }
    st.services[name] = s
  end
  if type(s.history) ~= "table" then s.history = json.array({}) end
  if s.state == lifecycle then return s, false end
  local now = sys.time()
  local hist = s.history
  hist[#hist + 1] = { from = s.state, to = lifecycle, time = now, reason = reason }
  while #hist > M.TRANSITIONS do table.remove(hist, 1) end
  s.state, s.since, s.detail = lifecycle, now, reason
  return s, true
end

-- state.lifecycle(st, name) -> state | nil, since, reason
function M.lifecycle(st, name)
  local s = st and st.services and st.services[name]
  if type(s) ~= "table" then return nil end
  return s.state, s.since, s.detail
end

function M.record(st, action, fields)
  local h = { action = action, time = sys.time() }
  for k, v in pairs(fields or {}) do h[k] = v end
  local hist = st.history
  hist[#hist + 1] = h
  while #hist > M.HISTORY do table.remove(hist, 1) end
end

-- ---- secrets ----

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

-- state.random_string(length) -> string of letters and digits from
-- /dev/urandom (rejection sampling: every character equally likely)
function M.random_string(length)
  local f, err = io.open("/dev/urandom", "rb")
  if not f then return nil, errors.new("IO_ERROR", "cannot read '/dev/urandom': " .. tostring(err)) end
  local out = {}
  local n = #ALPHABET
  local limit = 256 - 256 % n
  while #out < length do
    local bytes = f:read(length * 2)
    for i = 1, #bytes do
      local b = bytes:byte(i)
      if b < limit and #out < length then
        local k = b % n + 1
        out[#out + 1] = ALPHABET:sub(k, k)
      end
    end
  end
  f:close()
  return table.concat(out)
end

-- state.secret(root, name [, length = 32]) -> value, created | nil, err
-- Generated once per project and kept in .deloc/secrets/<name> (mode 0600,
-- directory 0700); later calls read it back.
function M.secret(root, name, length)
  assert(type(name) == "string" and name:match("^[%w._-]+$") and not name:match("^%."),
    "bad secret name")
  local dir, rel = at(root), SECRETS .. name
  local kind, err = dir:kind(rel)
  if not kind then return nil, err end
  if kind ~= "missing" then
    local v
    v, err = dir:read(rel, 65536)
    if not v then return nil, err end
    return v, false
  end
  local value
  value, err = M.random_string(length or 32)
  if not value then return nil, err end
  local ok
  ok, err = dir:write(rel, value, 384, DIR_MODE)
  if not ok then return nil, err end
  return value, true
end

-- state.secret_rel(name) -> ".deloc/secrets/<name>", for deloc.sys.at(root)
function M.secret_rel(name) return SECRETS .. name end

-- state.remove_secrets(root) -> true | nil, err: the generated secrets go
-- (a linked .deloc/secrets is refused, so nothing elsewhere is removed)
function M.remove_secrets(root)
  local dir = at(root)
  local kind, err = dir:kind(".deloc/secrets")
  if kind == "missing" then return true end
  if kind ~= "directory" then
    return nil, err or errors.new("IO_ERROR", ("'%s' is not a directory; not removing anything in it"):format(M.secrets_dir(root)))
  end
  local names
  names, err = dir:listdir(".deloc/secrets")
  if not names then return nil, err end
  for _, name in ipairs(names) do
    local ok, rerr = dir:remove(SECRETS .. name)
    if not ok then return nil, rerr end
  end
  return true
end

-- state.at(root) -> the project's deloc.sys.at directory
M.at = at

return M
