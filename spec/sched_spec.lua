-- deloc.sched: tasks, timers, waits, semaphores, and HTTP requests that
-- overlap instead of queueing (against spec/fixtures/http/server.py).
local sched = require("deloc.sched")
local sys = require("deloc.sys")

local function elapsed(fn)
  local t0 = sys.now()
  local a, b, c = fn()
  return sys.now() - t0, a, b, c
end

describe("deloc.sched", function()
  it("runs tasks and reports each one's values in spawn order", function()
    sched.spawn(function(a, b) return a + b, "two" end, 1, 2)
    sched.spawn(function() return nil, nil, 3 end)
    local tasks = sched.run()
    assert.equal(2, #tasks)
    assert.is_true(tasks[1].ok)
    assert.same({ n = 2, 3, "two" }, tasks[1].values)
    assert.same({ n = 3, nil, nil, 3 }, tasks[2].values)
    assert.equal("done", tasks[1].state)
    assert.same({}, sched.run()) -- reported once
  end)

  it("keeps the other tasks going when one raises", function()
    sched.spawn(function() sched.sleep(0.01); error("broken task") end)
    sched.spawn(function() sched.sleep(0.02); return "fine" end)
    local tasks = sched.run()
    assert.is_false(tasks[1].ok)
    assert.matches("broken task", tasks[1].error)
    assert.matches("stack traceback", tasks[1].traceback)
    assert.is_true(tasks[2].ok)
    assert.equal("fine", tasks[2].values[1])
  end)

  it("keeps an error table as it was raised", function()
    local e = setmetatable({ code = "X" }, { __tostring = function() return "x failed" end })
    sched.spawn(function() error(e) end)
    local t = sched.run()[1]
    assert.equal(e, t.error)
    assert.matches("x failed", t.traceback)
  end)

  it("interleaves sleeping tasks: the total is the longest, not the sum", function()
    local order = {}
    local took = elapsed(function()
      sched.spawn(function() sched.sleep(0.2); order[#order + 1] = "slow" end)
      sched.spawn(function() sched.sleep(0.1); order[#order + 1] = "fast" end)
      sched.spawn(function() order[#order + 1] = "now" end)
      return sched.run()
    end)
    assert.same({ "now", "fast", "slow" }, order)
    assert.is_true(took >= 0.19 and took < 0.29, "took " .. took)
  end)

  it("lets a task wait for another's values or error", function()
    local got = {}
    sched.spawn(function()
      local child = sched.spawn(function() sched.sleep(0.05); return "a", "b" end)
      local bad = sched.spawn(function() error("no", 0) end)
      got.ok, got.a, got.b = sched.wait(child)
      got.bad_ok, got.bad_err = sched.wait(bad)
      got.again = select(2, sched.wait(child)) -- a finished task answers at once
    end)
    local tasks = sched.run()
    assert.is_true(tasks[1].ok, tasks[1].error)
    assert.same({ ok = true, a = "a", b = "b", bad_ok = false, bad_err = "no", again = "a" }, got)
    assert.equal(3, #tasks)
  end)

  it("runs the loop when waited on from outside a task", function()
    local t = sched.spawn(function() sched.sleep(0.01); return 42 end)
    assert.same({ true, 42 }, { sched.wait(t) })
    sched.run()
  end)

  it("sleeps for real outside a task", function()
    local took = elapsed(function() sched.sleep(0.05) end)
    assert.is_true(took >= 0.049, "took " .. took)
  end)

  it("gives up on tasks that wait on what nothing will release", function()
    local sem = sched.semaphore(1)
    sched.spawn(function() sem:acquire(); sem:acquire() end)
    local t = sched.run()[1]
    assert.is_false(t.ok)
    assert.matches("never woke up", t.error)
  end)

  it("limits how many run at once with a semaphore", function()
    local limited = sched.with_limit(2)
    local now, most = 0, 0
    local took = elapsed(function()
      for _ = 1, 6 do
        sched.spawn(function()
          limited(function()
            now = now + 1
            most = math.max(most, now)
            sched.sleep(0.05)
            now = now - 1
          end)
        end)
      end
      return sched.run()
    end)
    assert.equal(2, most)
    assert.is_true(took >= 0.14 and took < 0.25, "took " .. took)
  end)

  it("releases a semaphore slot when the guarded function raises", function()
    local sem = sched.semaphore(1)
    sched.spawn(function() sem:with(function() error("inside") end) end)
    sched.spawn(function() return sem:with(function() return "second" end) end)
    local tasks = sched.run()
    assert.is_false(tasks[1].ok)
    assert.equal("second", tasks[2].values[1])
    assert.equal("semaphore (1 of 1 free, 0 waiting)", tostring(sem))
  end)

  it("maps over a list with a limit", function()
    local results, errs = sched.map({ 3, 1, 2, 0 }, function(x)
      sched.sleep(x * 0.01)
      if x == 0 then error("zero", 0) end
      return x * 10
    end, 2)
    assert.same({ 30, 10, 20 }, results)
    assert.same({ [4] = "zero" }, errs)
    assert.same({}, sched.run()) -- map reported its own tasks
  end)

  it("raises for the caller's mistakes", function()
    assert.has_error(function() sched.spawn("f") end, "sched.spawn: expects a function, got string")
    assert.has_error(function() sched.sleep(-1) end, "sched.sleep: seconds must be a non-negative number")
    assert.has_error(function() sched.semaphore(0) end, "sched.semaphore: n must be a positive integer")
    assert.has_error(function() sched.suspend() end, "sched.suspend: not inside a task")
    assert.has_error(function() sched.wait({}) end, "sched.wait: expects a task")
    assert.has_error(function() sched.semaphore(1):release() end,
      "sched: semaphore released more often than acquired")
    sched.spawn(function() sched.run() end)
    local t = sched.run()[1]
    assert.matches("sched.run: called inside a task", t.error)
  end)

  it("does not mistake another coroutine for a task", function()
    local co = coroutine.create(function() return sched.current() end)
    local _, cur = coroutine.resume(co)
    assert.is_nil(cur)
    sched.spawn(function()
      local inner = coroutine.wrap(function() coroutine.yield(sched.current()) end)
      return inner() == nil, sched.current() ~= nil
    end)
    assert.same({ n = 2, true, true }, sched.run()[1].values)
  end)
end)

describe("deloc.sched with deloc.http", function()
  local http = require("deloc.http")
  local server = dofile("spec/fixtures/http/server.lua")
  local tcp

  setup(function() tcp = server.start("tcp") end)
  teardown(function() server.stop(tcp) end)

  it("runs 4 slow requests at once: ~1x the delay, not 4x", function()
    local took, tasks = elapsed(function()
      for _ = 1, 4 do
        sched.spawn(function() return http.request({ url = tcp.url("/slow?delay=0.5") }) end)
      end
      return sched.run()
    end)
    for _, t in ipairs(tasks) do
      assert.is_true(t.ok, t.error)
      assert.equal(200, t.values[1].status)
      assert.equal("slow\n", t.values[1].body)
    end
    assert.is_true(took >= 0.5 and took < 0.95, "took " .. took)
  end)

  it("keeps at most n requests in flight with with_limit", function()
    local limited = sched.with_limit(2)
    local took, tasks = elapsed(function()
      for _ = 1, 4 do
        sched.spawn(function()
          return limited(http.request, { url = tcp.url("/slow?delay=0.3") })
        end)
      end
      return sched.run()
    end)
    for _, t in ipairs(tasks) do assert.equal(200, t.values[1].status) end
    assert.is_true(took >= 0.6 and took < 1.0, "took " .. took)
  end)

  it("wakes a sleeping task while a request is in flight", function()
    local order = {}
    sched.spawn(function()
      http.request({ url = tcp.url("/slow?delay=0.4") })
      order[#order + 1] = "request"
    end)
    sched.spawn(function()
      sched.sleep(0.1)
      order[#order + 1] = "timer"
    end)
    local took = elapsed(sched.run)
    assert.same({ "timer", "request" }, order)
    assert.is_true(took < 0.7, "took " .. took)
  end)

  it("streams into tasks side by side, each in order", function()
    local got = { {}, {} }
    for i = 1, 2 do
      sched.spawn(function()
        return http.request({ url = tcp.url("/stream?n=4&delay=0.05"), on_data = function(c)
          got[i][#got[i] + 1] = c
          sched.sleep(0.01) -- a callback may yield too
        end })
      end)
    end
    local took, tasks = elapsed(sched.run)
    for i = 1, 2 do
      assert.is_true(tasks[i].ok, tasks[i].error)
      assert.equal(200, tasks[i].values[1].status)
      assert.equal("chunk 1\nchunk 2\nchunk 3\nchunk 4\n", table.concat(got[i]))
    end
    assert.is_true(took < 0.5, "took " .. took)
  end)

  it("returns errors from tasks like anywhere else", function()
    sched.spawn(function() return http.request({ url = tcp.url("/close") }) end)
    sched.spawn(function() return http.request({ url = tcp.url("/slow?delay=3"), timeout = 0.2 }) end)
    sched.spawn(function()
      return http.request({ url = tcp.url("/stream?n=3"), on_data = function() error("bad chunk") end })
    end)
    local tasks = sched.run()
    local kinds = {}
    for i, t in ipairs(tasks) do
      assert.is_true(t.ok, t.error)
      assert.is_nil(t.values[1])
      kinds[i] = t.values[3]
    end
    assert.same({ "protocol", "timeout", "aborted" }, kinds)
    assert.equal(200, assert(http.request({ url = tcp.url("/json") })).status)
  end)

  it("winds down on a caught signal: sleeps end, requests abort", function()
    assert(sys.signal_catch("USR1"))
    finally(function() sys.signal_clear(); sys.signal_default("USR1") end)
    sched.spawn(function() return http.request({ url = tcp.url("/slow?delay=5") }) end)
    sched.spawn(function() return sched.sleep(5) end)
    sched.spawn(function()
      sched.sleep(0.1)
      sys.kill(sys.pid(), "USR1")
      sched.sleep(0) -- lets the loop see it
      return http.request({ url = tcp.url("/json") })
    end)
    local took, tasks = elapsed(sched.run)
    assert.is_true(took < 1, "took " .. took)
    assert.same({ n = 3, nil, tcp.url("/slow?delay=5") .. ": interrupted by SIGUSR1", "interrupted" },
      tasks[1].values)
    assert.same({ n = 2, false, "USR1" }, tasks[2].values)
    assert.equal("interrupted", tasks[3].values[3])
    sys.signal_clear()
    assert.equal(200, assert(http.request({ url = tcp.url("/json") })).status)
  end)

  it("interrupts a synchronous request too", function()
    assert(sys.signal_catch("USR1"))
    finally(function() sys.signal_clear(); sys.signal_default("USR1") end)
    -- a helper process signals us while we block in the request
    local pid = assert(sys.spawn_bg({ argv = { "python3", "-c",
      "import os, signal, sys, time; time.sleep(0.2); os.kill(int(sys.argv[1]), signal.SIGUSR1)",
      tostring(sys.pid()) } }))
    local took, resp, err, kind = elapsed(function()
      return http.request({ url = tcp.url("/slow?delay=5") })
    end)
    sys.waitpid(pid)
    assert.is_nil(resp)
    assert.equal("interrupted", kind, err)
    assert.is_true(took < 1.5, "took " .. took)
  end)

  it("lets a plain request outside tasks run synchronously afterwards", function()
    local resp = assert(http.get(tcp.url("/json")))
    assert.equal(200, resp.status)
  end)
end)

describe("sched.event", function()

  it("wakes every waiter with what set() was given", function()
    local ev = sched.event()
    local got = {}
    for i = 1, 3 do
      sched.spawn(function()
        local ok, why = ev:wait()
        got[i] = { ok, why }
      end)
    end
    sched.spawn(function()
      sched.sleep(0.02)
      assert.is_false(ev:is_set())
      ev:set(false, "postgres failed")
    end)
    sched.run()
    assert.is_true(ev:is_set())
    for i = 1, 3 do assert.same({ false, "postgres failed" }, got[i]) end
  end)

  it("returns at once once set, and refuses a second set", function()
    local ev = sched.event()
    ev:set(true)
    assert.is_true((ev:wait()))
    assert.has_error(function() ev:set(true) end, "sched: event set twice")
  end)

  it("refuses to block outside a task", function()
    assert.has_error(function() sched.event():wait() end, "sched: an event would block outside a task")
  end)
end)
