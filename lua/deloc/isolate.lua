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
-- callbacks) kills only the child.  Its answer (deloc.native.wire) is read
-- by the parent as untrusted data, bounded in size.
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

-- The answer is a binary image of the value (deloc.native.wire, C: one
-- pass in the child, one in the parent, with no Lua walk either side):
-- marked arrays, error objects, exact numbers and tables met twice come
-- back as they were; a function comes back as a stub that says where it
-- ran.  The parent's decoder checks every length and nesting, builds no
-- cycle whatever the bytes say, and bounds the answer as it would be
-- written out in full (shared tables counted each time they are met): what
-- the parent does with it costs what an answer of M.MAX_ANSWER bytes does.
local wire = require("deloc.native.wire")
local ERROR_MT = getmetatable(errors.new("IO_ERROR", ""))

-- answer(value, err) -> bytes; only in the child
local function answer(value, err)
  return wire.encode({ value = value, err = err }, array.metatable, ERROR_MT, M.MAX_ANSWER)
end

local function stub()
  error("a recipe function runs only where the plan is made (deloc.plan)", 2)
end

-- an error object from the child: one of deloc's codes and a message, or
-- only data
local function as_error(v)
  if type(v.code) == "string" and errors.exit_codes[v.code] and type(v.message) == "string" then
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
    native.send(fd, text or "")
    native.exit(0)
  end
  -- the answer is read while the child is still ending (its exit unmaps
  -- the parent's copied pages: the other CPU does that), then the child is
  -- reaped: only a child that exited 0 answered
  local now = require("deloc.sys").now
  local timeout, started = (opts.wall or M.WALL) + 0.5, now()
  local data, how, detail = native.receive(pid, fd, timeout, M.MAX_ANSWER)
  local reply, derr
  if not how and data ~= "" then
    local ok
    ok, reply, derr = pcall(wire.decode, data, array.metatable, stub, as_error, M.MAX_ANSWER)
    if not ok then reply, derr = nil, reply end
  end
  -- one deadline for both halves: receiving and reaping
  if not how then how, detail = native.reap(pid, math.max(0, timeout - (now() - started))) end
  if how ~= "exit" or detail ~= 0 or data == "" then return nil, died(how, detail, what) end
  if type(reply) ~= "table" then
    return nil, errors.new("CONFIG_INVALID", ("%s answered something unreadable (%s)"):format(what, tostring(derr)))
  end
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
