-- deloc.sched: cooperative tasks on Lua coroutines, one loop, no threads.
--
--   local sched = require("deloc.sched")
--   local a = sched.spawn(function() return http.request{ url = u1 } end)
--   local b = sched.spawn(function() sched.sleep(0.5); return "late" end)
--   for _, t in ipairs(sched.run()) do print(t.ok, t.values[1], t.error) end
--
-- A task yields when it sleeps, waits for another task, waits on a semaphore
-- or makes an HTTP request; the loop then runs whatever is ready.  When no
-- task is ready it blocks in the I/O poller (libcurl's curl_multi_poll) for
-- at most the time until the next timer, so timers and HTTP completions are
-- driven from one place.  Code outside any task runs as usual: sleep blocks,
-- http.request is synchronous.
--
-- A task's result: task.ok (true/false), task.values ({n=, ...} what fn
-- returned), task.error (what it raised) and task.traceback.
local sys = require("deloc.sys")

local M = {}

local unpack = unpack -- LuaJIT
local pack = function(...) return { n = select("#", ...), ... } end

-- The loop's state.  Tasks by coroutine, so `current()` can tell a task from
-- some other coroutine (a busted test, an iterator) that must not yield to us.
local by_co = setmetatable({}, { __mode = "k" })
local all = {}       -- tasks not yet reported by run(), in spawn order
local ready = {}     -- FIFO of tasks to resume
local timers = {}    -- sorted by `at`: { at=, task=, seq= }
local timer_seq = 0
local poller = nil   -- { pending = fn() -> n, poll = fn(timeout_s) }
local running = false
local ids = 0

local SUSPEND = {} -- what a task yields to the loop

-- What suspend() returns in a task woken because a signal caught with
-- sys.signal_catch is pending: sleeps end early and HTTP requests are
-- aborted, so every task can wind down in order.
M.INTERRUPTED = setmetatable({}, { __tostring = function() return "interrupted" end })
local interrupted = false -- the pending signal has been passed on

local Task = {}
Task.__index = Task

function Task.__tostring(t)
  return ("task %d (%s)"):format(t.id, t.state)
end

-- sched.current() -> task | nil (nil outside a task, or inside a coroutine
-- of a task's own making)
function M.current()
  local co = coroutine.running()
  return co and by_co[co] or nil
end

local function make_ready(task, ...)
  if task.state ~= "suspended" then return end
  task.state = "ready"
  task.resume_args = pack(...)
  ready[#ready + 1] = task
end

-- sched.spawn(fn, ...) -> task  (starts when the loop runs)
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("sched.spawn: expects a function, got " .. type(fn), 2)
  end
  ids = ids + 1
  local args = pack(...)
  local task = setmetatable({ id = ids, state = "suspended", waiters = {} }, Task)
  task.co = coroutine.create(function() return fn(unpack(args, 1, args.n)) end)
  by_co[task.co] = task
  all[#all + 1] = task
  make_ready(task)
  return task
end

-- sched.suspend() -> what sched.wake passes  (inside a task only)
-- The task sleeps until someone calls sched.wake(task, ...).
function M.suspend()
  local task = M.current()
  if not task then error("sched.suspend: not inside a task", 2) end
  task.state = "suspended"
  return coroutine.yield(SUSPEND)
end

-- sched.wake(task, ...)  -- makes a suspended task ready; its suspend()
-- returns the arguments.  Waking a task that is not suspended does nothing.
function M.wake(task, ...)
  make_ready(task, ...)
end

-- sched.set_poller{ pending = fn() -> count, poll = fn(timeout_s), interrupt = fn() }
-- The one I/O source the loop blocks in (deloc.http registers itself).
-- poll must return after at most timeout_s and wake the tasks it served;
-- interrupt wakes every task waiting on it with sched.INTERRUPTED.
function M.set_poller(p)
  poller = p
end

local function add_timer(at, task)
  timer_seq = timer_seq + 1
  local t = { at = at, task = task, seq = timer_seq }
  local i = #timers
  while i >= 1 and timers[i].at > at do
    timers[i + 1] = timers[i]
    i = i - 1
  end
  timers[i + 1] = t
  return t
end

-- sched.sleep(seconds) -> true | false, signal  (a caught signal cut it short)
-- In a task it lets the others run; outside any task it blocks.
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("sched.sleep: seconds must be a non-negative number", 2)
  end
  local sig = sys.signal_pending()
  if sig then return false, sig end
  local task = M.current()
  if not task then
    if sys.sleep(seconds) then return true end
    return false, sys.signal_pending()
  end
  task.timer = add_timer(sys.now() + seconds, task)
  local why = M.suspend()
  task.timer = nil
  if why == M.INTERRUPTED then return false, sys.signal_pending() end
  return true
end

-- Passes a newly caught signal on to the tasks that wait for time or I/O.
local function check_signal()
  if not sys.signal_pending() then
    interrupted = false
    return
  end
  if interrupted then return end
  interrupted = true
  local sleepers = timers
  timers = {}
  for _, t in ipairs(sleepers) do
    if t.task.timer == t then make_ready(t.task, M.INTERRUPTED) end
  end
  if poller and poller.interrupt then poller.interrupt() end
end

local function finish(task, ok, ...)
  task.state = "done"
  task.ok = ok
  if ok then
    task.values = pack(...)
  else
    local err = ...
    task.error = err
    task.traceback = debug.traceback(task.co, tostring(err))
    task.values = pack()
  end
  by_co[task.co] = nil
  local waiters = task.waiters
  task.waiters = {}
  for _, w in ipairs(waiters) do
    make_ready(w)
  end
end

local function step(task)
  task.state = "running"
  local args = task.resume_args
  task.resume_args = nil
  local r = pack(coroutine.resume(task.co, unpack(args, 1, args.n)))
  if not r[1] then
    finish(task, false, r[2])
  elseif coroutine.status(task.co) == "dead" then
    finish(task, true, unpack(r, 2, r.n))
  elseif r[2] ~= SUSPEND then
    -- a bare coroutine.yield() inside a task: treat it as "let others run"
    task.state = "suspended"
    make_ready(task)
  end
end

local function fire_timers(now)
  while timers[1] and timers[1].at <= now do
    local t = table.remove(timers, 1)
    if t.task.timer == t then make_ready(t.task) end -- else woken otherwise
  end
end

local function run_ready()
  -- Run what is ready now; tasks made ready meanwhile go to the next round.
  local queue = ready
  ready = {}
  for i = 1, #queue do
    step(queue[i])
  end
end

local function alive()
  for _, t in ipairs(all) do
    if t.state ~= "done" then return true end
  end
  return false
end

-- One turn of the loop: run the ready tasks, else block for I/O or a timer.
-- Returns false when nothing can ever happen again (every remaining task
-- waits on something nobody will release).
local function turn()
  check_signal()
  if #ready > 0 then
    run_ready()
    return true
  end
  local now = sys.now()
  local wait = timers[1] and math.max(0, timers[1].at - now) or nil
  if poller and poller.pending() > 0 then
    poller.poll(math.min(wait or 1, 1))
  elseif wait then
    sys.sleep(wait)
  else
    return false
  end
  fire_timers(sys.now())
  return true
end

local function loop(done)
  if running then
    error("sched: the loop is already running (wait or run inside a task instead)", 3)
  end
  running = true
  local ok, err = pcall(function()
    while not done() do
      if not turn() then
        for _, t in ipairs(all) do
          if t.state ~= "done" then
            finish(t, false, ("task %d never woke up: it waits on something nothing will release"):format(t.id))
          end
        end
      end
    end
  end)
  running = false
  if not ok then error(err, 0) end
end

-- sched.run() -> { task, ... }  every task spawned so far (and those they
-- spawn), in spawn order, once all have finished.  A task that raised has
-- ok == false and its error; the others still run to the end.
function M.run()
  if M.current() then error("sched.run: called inside a task", 2) end
  loop(function() return not alive() end)
  local done = all
  all = {}
  return done
end

-- sched.wait(task) -> true, values... | false, err
-- In a task: suspends until `task` finishes.  Outside: runs the loop until
-- it has (other tasks progress meanwhile).
function M.wait(task)
  if getmetatable(task) ~= Task then error("sched.wait: expects a task", 2) end
  local me = M.current()
  if task.state ~= "done" then
    if me == task then error("sched.wait: a task cannot wait for itself", 2) end
    if me then
      task.waiters[#task.waiters + 1] = me
      M.suspend()
    else
      loop(function() return task.state == "done" end)
    end
  end
  if task.ok then return true, unpack(task.values, 1, task.values.n) end
  return false, task.error
end

-- ---- events: set once, waited on by any number of tasks ----

local Event = {}
Event.__index = Event

-- sched.event() -> ev with ev:set(...), ev:wait() -> what set() was given,
-- ev:is_set().  What one task finds out (a dependency became healthy, a
-- shared image was pulled) and others wait for.  A waiter woken early (a
-- caught signal) gets nothing back.
function M.event()
  return setmetatable({ done = false, waiters = {} }, Event)
end

function Event:set(...)
  if self.done then error("sched: event set twice", 2) end
  self.done, self.values = true, pack(...)
  local waiters = self.waiters
  self.waiters = {}
  for _, w in ipairs(waiters) do M.wake(w) end
end

function Event:is_set()
  return self.done
end

function Event:wait()
  if not self.done then
    local me = M.current()
    if not me then error("sched: an event would block outside a task", 2) end
    self.waiters[#self.waiters + 1] = me
    M.suspend()
    if not self.done then return nil end
  end
  return unpack(self.values, 1, self.values.n)
end

-- ---- semaphores: keep at most n things going at once ----

local Sem = {}
Sem.__index = Sem

-- sched.semaphore(n) -> sem with sem:acquire(), sem:release(), sem:with(fn, ...)
function M.semaphore(n)
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
    error("sched.semaphore: n must be a positive integer", 2)
  end
  return setmetatable({ free = n, size = n, waiting = {} }, Sem)
end

function Sem:acquire()
  if self.free > 0 then
    self.free = self.free - 1
    return
  end
  local me = M.current()
  if not me then error("sched: a semaphore would block outside a task", 2) end
  self.waiting[#self.waiting + 1] = me
  M.suspend() -- release() hands its slot straight to us
end

function Sem:release()
  local next_task = table.remove(self.waiting, 1)
  if next_task then
    make_ready(next_task)
  elseif self.free < self.size then
    self.free = self.free + 1
  else
    error("sched: semaphore released more often than acquired", 2)
  end
end

-- sem:with(fn, ...) -> what fn returns  (released even when fn raises)
function Sem:with(fn, ...)
  self:acquire()
  local r = pack(pcall(fn, ...))
  self:release()
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, r.n)
end

function Sem:__tostring()
  return ("semaphore (%d of %d free, %d waiting)"):format(self.free, self.size, #self.waiting)
end

-- sched.with_limit(n) -> limited(fn, ...)  at most n calls of `limited` run
-- at once; the others wait their turn.
function M.with_limit(n)
  local sem = M.semaphore(n)
  return function(fn, ...) return sem:with(fn, ...) end, sem
end

-- sched.map(list, fn [, limit]) -> results, errors
-- fn(item, i) for every item in its own task, at most `limit` at once;
-- results[i] is fn's first value, errors[i] what it raised (nil if fine).
-- Inside a task it waits for them; outside it runs the loop.  Its tasks are
-- not listed again by run().
function M.map(list, fn, limit)
  if type(list) ~= "table" then error("sched.map: expects a list", 2) end
  local limited = limit and M.with_limit(limit) or function(f, ...) return f(...) end
  local tasks = {}
  for i, item in ipairs(list) do
    tasks[i] = M.spawn(function() return limited(fn, item, i) end)
  end
  local results, errs = {}, {}
  local mine = {}
  for i, t in ipairs(tasks) do
    local ok, v = M.wait(t)
    if ok then results[i] = v else errs[i] = v end
    mine[t] = true
  end
  -- map reports its tasks itself: run() does not list them again
  local keep = {}
  for _, t in ipairs(all) do
    if not mine[t] then keep[#keep + 1] = t end
  end
  all = keep
  return results, errs
end

return M
