-- deloc.isolate: untrusted recipes (a project's, the user's) are loaded and
-- planned in a forked child, and only data comes back.
--
--   isolate.run(fn [, { prepare = function() ... end, memory=, cpu=, wall= }])
--     -> value | nil, err
--   isolate.plan(planner_opts, plan_here) -> plan | nil, err   (deloc.planner.plan
--                                   calls it: isolated when a user recipe may load)
--   isolate.inside  -- true in the child
--
-- The child (deloc.native.sandbox): a Lua heap budget and an address-space
-- limit of M.MEMORY, M.CPU seconds of CPU, M.WALL seconds of wall time for
-- everything it does (loading every recipe and calling every recipe function
-- of one plan), no core file, no descriptor but the result pipe and stderr,
-- and, after `prepare` ran (trusted code that reads the files and /proc
-- figures the work needs), a seccomp filter: no open, no socket, no exec, no
-- signal to another process.  Work inside C functions (string.rep, pattern
-- matching, gsub) counts; a crash (the C stack overflowing through gsub
-- callbacks) kills only the child.  Its answer is JSON, read by the parent
-- as untrusted data, bounded in size.
--
-- Built-in recipes are compiled into the binary, reviewed and tested with
-- it; a plan made only of them stays in-process (no fork: `deloc plan` of
-- built-in services costs what it did).  Their functions still run under
-- deloc.recipe's instruction bound.
local native = require("deloc.native.sandbox")
local errors = require("deloc.errors")
local array = require("deloc.array")

local M = {}

M.MEMORY = 512 * 1024 * 1024
M.CPU = 5
M.WALL = 5
M.MAX_ANSWER = 64 * 1024 * 1024
M.inside = false

local ARRAY, FUNCTION, ERROR = "\0array", "\0function", "\0error"

-- The answer as JSON, by lua-cjson (C: a 50-service plan in well under a
-- millisecond).  What JSON does not keep is wrapped first so the parent can
-- restore it: marked arrays { "\0array": [...] }, functions
-- { "\0function": true }, error objects "\0error": true, and numbers that
-- cjson's 14 digits would round { "\0number": "%.17g" }.
local cjson = require("cjson").new()
cjson.encode_sparse_array(true)
local NUMBER = "\0number"

local function wrap(v, seen)
  local t = type(v)
  if t == "function" then return { [FUNCTION] = true } end
  if t == "number" then
    -- an integer of at most 14 digits (ports, sizes in bytes) is exact in
    -- cjson's %.14g: no formatting to check it (most numbers of a plan)
    if v % 1 == 0 and v > -1e14 and v < 1e14 then return v end
    if v ~= v or v == math.huge or v == -math.huge then error("cannot hand back " .. tostring(v), 0) end
    if tonumber(("%.14g"):format(v)) ~= v then return { [NUMBER] = ("%.17g"):format(v) } end
    return v
  end
  if t ~= "table" then return v end
  local done = seen[v]
  if done == true then error("cannot hand back a table that contains itself", 0) end
  if done then return done end
  seen[v] = true
  -- in place, not a copy: this runs in the child, which exits once the
  -- answer is sent (copying every table of a plan cost more than encoding
  -- it); a table met twice is wrapped once and written twice
  for k, x in pairs(v) do
    local w = wrap(x, seen)
    if w ~= x then v[k] = w end
  end
  local out = v
  if array.is(v) then out = { [ARRAY] = v } end
  if errors.is(v) then v[ERROR] = true end
  seen[v] = out
  return out
end

-- answer(value, err) -> JSON; only in the child: value is changed in place
local function answer(value, err)
  return cjson.encode(wrap({ value = value, err = err }, {}))
end

local function stub()
  error("a recipe function runs only where the plan is made (deloc.plan)", 2)
end

local function unwrap(v)
  if type(v) ~= "table" then return v end
  if v[FUNCTION] == true then return stub end
  if type(v[NUMBER]) == "string" then return tonumber(v[NUMBER]) end
  local inner = v[ARRAY]
  if inner ~= nil then
    local out = array.of({})
    for i, x in ipairs(type(inner) == "table" and inner or {}) do out[i] = unwrap(x) end
    return out
  end
  local is_err = v[ERROR]
  v[ERROR] = nil
  for k, x in pairs(v) do v[k] = unwrap(x) end
  if is_err and type(v.code) == "string" and errors.exit_codes[v.code] and type(v.message) == "string" then
    local code, message = v.code, v.message
    v.code, v.message = nil, nil
    return errors.new(code, message, v)
  end
  return v
end

local function died(how, detail, what)
  if how == "timeout" then
    return errors.new("CONFIG_INVALID", ("%s ran longer than %gs (recipes are bounded in time; an endless loop?)")
      :format(what, M.WALL))
  elseif how == "toobig" then
    return errors.new("CONFIG_INVALID", ("%s answered more than %d bytes"):format(what, M.MAX_ANSWER))
  elseif how == "signal" and (detail == 2 or detail == 15) then
    -- Ctrl-C reaches the child too (one process group)
    return errors.new("INTERRUPTED", "interrupted")
  elseif how == "signal" then
    local names = { [6] = "SIGABRT", [9] = "SIGKILL", [11] = "SIGSEGV", [14] = "SIGALRM (its wall-time limit)",
      [24] = "SIGXCPU (its CPU-time limit)", [31] = "SIGSYS (a forbidden system call)", [7] = "SIGBUS" }
    return errors.new("CONFIG_INVALID", ("%s crashed (%s); deloc itself is unharmed")
      :format(what, names[detail] or ("signal " .. tostring(detail))),
      { hint = "a recipe recursing without end, or using more than its memory, does this" })
  end
  -- it exited with a status of its own (a runtime that aborted)
  return errors.new("CONFIG_INVALID", ("%s crashed (exit %s); deloc itself is unharmed"):format(what, tostring(detail)))
end

-- run(fn, opts) -> value | nil, err: fn() -> value | nil, err, in the child
function M.run(fn, opts)
  opts = opts or {}
  local what = opts.what or "recipe evaluation"
  if M.inside then return fn() end
  io.stdout:flush()
  io.stderr:flush()
  local pid, fd = native.fork({ memory = opts.memory or M.MEMORY, cpu = opts.cpu or M.CPU,
    wall = opts.wall or M.WALL })
  if not pid then return nil, errors.new("IO_ERROR", "cannot isolate " .. what .. ": " .. tostring(fd)) end
  if pid == 0 then
    -- the child: nothing here may return into the parent's code
    local ok, text = pcall(function()
      M.inside = true
      if opts.prepare then opts.prepare() end
      if opts.lockdown ~= false then assert(native.lockdown()) end
      return answer(fn())
    end)
    if not ok then
      text = answer(nil, errors.new("CONFIG_INVALID", tostring(text)))
    end
    native.send(fd, text or "{}")
    native.exit(0)
  end
  local data, how, detail = native.collect(pid, fd, (opts.wall or M.WALL) + 0.5, M.MAX_ANSWER)
  if how ~= "exit" or detail ~= 0 or data == "" then return nil, died(how, detail, what) end
  local reply, derr = require("deloc.json").decode(data)
  if type(reply) ~= "table" then
    return nil, errors.new("CONFIG_INVALID", ("%s answered something unreadable (%s)"):format(what, tostring(derr)))
  end
  reply = unwrap(reply)
  if reply.err ~= nil then
    local err = errors.is(reply.err) and reply.err or errors.new("CONFIG_INVALID", tostring(reply.err))
    if type(err.message) == "string" and err.message:find("not enough memory", 1, true) and not err.hint then
      err.hint = ("a recipe may use at most %d MiB"):format(math.floor((opts.memory or M.MEMORY) / 2 ^ 20))
    end
    return nil, err
  end
  return reply.value
end

-- Modules the planner may need, loaded before the filter closes open(2)
-- (a development build reads them from the tree).
local PLANNER_MODULES = { "deloc.planner", "deloc.recipe", "deloc.quantity", "deloc.profiles",
  "deloc.dag", "deloc.array", "deloc.errors", "deloc.json", "deloc.suggest", "deloc.sandbox",
  "deloc.registry", "deloc.native.dag", "deloc.pack", "deloc.health", "deloc.sys" }

-- The capacity the planner would read itself (deloc.sys), completed before
-- the child closes its door.
local function complete_capacity(c)
  if c and c.memory and c.cpu and c.disk then return c end
  local r, err = require("deloc.sys").resources()
  if not r then error(err, 0) end
  c = c or {}
  local src = c.source or {}
  for k, v in pairs(r.source or {}) do if src[k] == nil then src[k] = v end end
  return { cpu = c.cpu or r.cpu, memory = c.memory or r.memory, disk = c.disk or r.disk, source = src }
end

-- plan(opts) -> plan | nil, err: deloc.planner.plan(opts), in a child when
-- the registry holds recipes that are not built in.
function M.plan(opts, plan_here)
  local planner = require("deloc.planner")
  local reg = opts.registry
  if not reg then
    local err
    reg, err = require("deloc.registry").new({ project = opts.project })
    if not reg then return nil, err end
  end
  if M.inside or not reg:untrusted() then
    opts.registry = reg
    return plan_here(opts)
  end
  local child = {}
  for k, v in pairs(opts) do child[k] = v end
  child.registry = reg
  return M.run(function() return plan_here(child) end, {
    what = "planning with the project's recipes",
    prepare = function()
      for _, m in ipairs(PLANNER_MODULES) do require(m) end
      reg:preload()
      child.capacity = complete_capacity(child.capacity)
      local listening = child.listening or planner.listening
      if type(listening) == "function" then child.listening = listening() end
    end,
  })
end

return M
