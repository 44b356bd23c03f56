-- Faults between deloc and the real Docker Engine: the fault-injecting proxy
-- (spec/support/faults.lua) sits on DOCKER_HOST and forwards to
-- /var/run/docker.sock, adding delays, 500/503 answers, connections closed
-- mid-body, cut chunked streams, stalls and an engine that goes away.
-- Every command either retries what is safe (idempotent GETs, a connection
-- refused before anything was sent) or fails with a clear error within its
-- timeout; none hangs; .deloc/state.json always parses; the next `up` after
-- an engine that vanished mid-run converges.  Disk full while writing the
-- state or a backup keeps the old file (a small tmpfs this spec mounts).
-- The real daemon is shared: it is never restarted, only hidden.
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")
local faults = dofile("spec/support/faults.lua")

local BACKUP_RECIPES = e2e.root .. "/spec/fixtures/docker_backup/recipes, " .. e2e.FIXTURE_RECIPES

-- Runs deloc through the proxy; asserts that state.json (when there is one)
-- parses afterwards, whatever happened.
local function deloc_via(p, dir, args, env, timeout)
  local full = { DOCKER_HOST = p.docker_host }
  for k, v in pairs(env or {}) do full[k] = v end
  local t0 = sys.now()
  local status, out, err, why = e2e.deloc(args, { cwd = dir, env = full, timeout = timeout or 120 })
  local elapsed = sys.now() - t0
  assert(status ~= nil, ("deloc %s did not finish: %s"):format(table.concat(args, " "), tostring(why)))
  local text = sys.read_file(dir .. "/.deloc/state.json")
  if text then assert(json.decode(text), "state.json does not parse:\n" .. text) end
  return status, out, err, elapsed
end

local function hits(p, i)
  return (p:stats().faults or {})[tostring(i or 0)] or 0
end

describe("faults: reads through a faulty engine connection #e2e", function()
  local p, project, dir

  setup(function()
    assert(images.ensure({ "busybox" }))
    p = faults.start()
    project = e2e.project("faults-read")
    dir = e2e.tmpdir()
    e2e.project_file(dir, project, "services:\n  alpha: {}\n")
    local code, _, err = deloc_via(p, dir, { "up", "--wait" })
    assert.equal(0, code, err)
  end)
  teardown(function()
    if dir then e2e.deloc({ "down" }, { cwd = dir }) end
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
    if p then p:stop() end
  end)
  after_each(function() if p then p:rules({}) end end)

  it("retries an idempotent GET after 503s, a body cut mid-way and a reset: status, health, logs succeed",
    function()
    local cases = {
      { what = "503 twice", rule = { action = "status", status = 503, times = 2 }, fired = 2 },
      { what = "502 once", rule = { action = "status", status = 502, times = 1 }, fired = 1 },
      { what = "cut mid-body", rule = { action = "close_mid_body", times = 1 }, fired = 1 },
      { what = "reset", rule = { action = "reset", times = 1 }, fired = 1 },
      { what = "slow answer", rule = { action = "delay", delay_ms = 1500, times = 1 }, fired = 1 },
    }
    for _, c in ipairs(cases) do
      for _, args in ipairs({ { "status" }, { "health" } }) do
        local rule = { method = "GET", path = "^/v[0-9.]+/containers/json$" }
        for k, v in pairs(c.rule) do rule[k] = v end
        p:rules({ rule })
        local code, out, err = deloc_via(p, dir, args)
        local where = c.what .. ": deloc " .. args[1]
        assert.equal(0, code, where .. "\n" .. err)
        assert.matches("alpha", out, 1, true, where)
        assert.equal(c.fired, hits(p), where .. ": the fault did not fire")
      end
    end
    -- the log stream of a container: a busy answer before any byte is retried
    p:rules({ { method = "GET", path = "/logs$", action = "status", status = 503, times = 1 } })
    local code, out, err = deloc_via(p, dir, { "logs", "alpha" })
    assert.equal(0, code, err)
    assert.matches("started", out, 1, true)
    assert.equal(1, hits(p))
  end)

  it("fails within seconds, naming the request, when the engine stays busy; 500 is not retried", function()
    p:rules({ { method = "GET", path = "^/v[0-9.]+/containers/json$", action = "status", status = 503 } })
    local code, _, err, elapsed = deloc_via(p, dir, { "status" })
    assert.is_not.equal(0, code)
    assert.matches("the Docker engine answered HTTP 503 to GET /containers/json", err, 1, true)
    assert.matches("busy or restarting", err, 1, true)
    assert.equal(3, hits(p)) -- three tries, no more
    assert.is_true(elapsed < 20, "took " .. elapsed)

    p:rules({ { method = "GET", path = "^/v[0-9.]+/containers/json$", action = "status", status = 500, times = 1 } })
    code, _, err = deloc_via(p, dir, { "status" })
    assert.is_not.equal(0, code)
    assert.matches("answered HTTP 500 to GET /containers/json: faultproxy: injected 500", err, 1, true)
    assert.equal(1, hits(p))
  end)

  it("reports a log stream cut short or stalled as an error, never as an empty log", function()
    p:rules({ { method = "GET", path = "/logs$", action = "truncate_chunked", bytes = 12 } })
    local code, _, err = deloc_via(p, dir, { "logs", "alpha" })
    assert.is_not.equal(0, code)
    assert.matches("transfer closed", err, 1, true)

    p:rules({ { method = "GET", path = "/logs$", action = "stall_response", bytes = 20 } })
    local elapsed
    code, _, err, elapsed = deloc_via(p, dir, { "logs", "alpha" }, { DELOC_ENGINE_TIMEOUT = "4" })
    assert.is_not.equal(0, code)
    assert.matches("did not answer GET /containers/%x+/logs in time", err)
    assert.is_true(elapsed >= 4 and elapsed < 30, "took " .. elapsed)
  end)

  it("gives up on a stalled engine at its timeout: status and health never hang", function()
    for _, action in ipairs({ "stall_response", "stall_request" }) do
      p:rules({ { method = "GET", path = "^/v[0-9.]+/containers/json$", action = action } })
      for _, cmd in ipairs({ "status", "health" }) do
        local code, _, err, elapsed = deloc_via(p, dir, { cmd }, { DELOC_ENGINE_TIMEOUT = "4" })
        local where = action .. ": deloc " .. cmd
        assert.is_not.equal(0, code, where)
        assert.truthy(err:find("timed out after 400%d milliseconds") or err:find("did not answer GET /containers/json in time", 1, true),
          where .. ": " .. err)
        assert.is_true(elapsed >= 4 and elapsed < 30, where .. " took " .. elapsed)
      end
    end
  end)
end)

describe("faults: changes through a faulty engine connection #e2e", function()
  local p

  setup(function()
    assert(images.ensure({ "busybox" }))
    p = faults.start()
  end)
  teardown(function() if p then p:stop() end end)

  local function fresh(prefix, body)
    local project = e2e.project(prefix)
    local dir = e2e.tmpdir()
    e2e.project_file(dir, project, body)
    return project, dir
  end

  local function gone(project, dir)
    e2e.deloc({ "down" }, { cwd = dir })
    e2e.cleanup(project)
    e2e.rmdir(dir)
  end

  it("never sends a create twice: a 503 or a dropped connection fails up clearly; the next up converges",
    function()
    local project, dir = fresh("faults-create", "services:\n  alpha: {}\n  beta: {}\n")
    finally(function() p:rules({}); gone(project, dir) end)
    -- (a reset connection is tried again by libcurl itself when it was a
    -- reused one, before any answer: that rule fires every time)
    for _, rule in ipairs({ { action = "status", status = 503, times = 1 }, { action = "reset" } }) do
      rule.method, rule.path = "POST", "/containers/create$"
      p:rules({ rule })
      local code, _, err = deloc_via(p, dir, { "up", "--wait", "--timeout", "90s" })
      assert.is_not.equal(0, code, rule.action)
      assert.matches("POST /containers/", err, 1, true)
      if rule.times then assert.equal(1, hits(p), rule.action .. ": a create was sent again") end
      p:rules({})
      code, _, err = deloc_via(p, dir, { "up", "--wait", "--timeout", "90s" })
      assert.equal(0, code, rule.action .. ": the next up\n" .. err)
      local _, out = deloc_via(p, dir, { "status" })
      assert.matches("alpha%s+healthy", out)
      assert.matches("beta%s+healthy", out)
      deloc_via(p, dir, { "down" })
    end
  end)

  it("backup: a cut or stalled archive stream fails the backup and keeps the old file", function()
    local project = e2e.project("faults-backup")
    local dir = e2e.tmpdir()
    finally(function() p:rules({}); gone(project, dir) end)
    assert(sys.write_atomic(dir .. "/deloc.yaml",
      ("project: %s\nrecipes: [ %s ]\nservices:\n  store: {}\n"):format(project, BACKUP_RECIPES)))
    local code, _, err = deloc_via(p, dir, { "up", "--wait" })
    assert.equal(0, code, err)
    code, _, err = e2e.docker({ "exec", "-u", "0", project .. "-store-1", "sh", "-c",
      "head -c 262144 /dev/urandom > /data/blob" })
    assert.equal(0, code, err)
    assert(sys.write_atomic(dir .. "/store.backup", "the old backup\n", 384))
    for _, rule in ipairs({ { action = "truncate_chunked", bytes = 65536 }, { action = "close_mid_body" },
                            { action = "stall_response", bytes = 1024 } }) do
      rule.method, rule.path = "GET", "/archive$"
      p:rules({ rule })
      local elapsed
      code, _, err, elapsed = deloc_via(p, dir, { "backup", "store", "-o", "store.backup" },
        { DELOC_ENGINE_TIMEOUT = "5" })
      assert.is_not.equal(0, code, rule.action)
      assert.matches("/archive", err, 1, true, rule.action) -- names the request that failed
      assert.is_true(hits(p) >= 1, rule.action .. ": the fault did not fire")
      assert.is_true(elapsed < 60, rule.action .. " took " .. elapsed)
      assert.equal("the old backup\n", sys.read_file(dir .. "/store.backup"), rule.action)
      for _, name in ipairs(sys.listdir(dir)) do assert.not_matches("partial", name, 1, true) end
    end
    p:rules({})
    code, _, err = deloc_via(p, dir, { "backup", "store", "-o", "store.backup" })
    assert.equal(0, code, err)
    assert.is_true(#sys.read_file(dir .. "/store.backup") > 262144)
  end)

  it("down: a failed remove is not sent again, fails clearly, and the next down finishes", function()
    local project, dir = fresh("faults-down", "services:\n  alpha: {}\n  beta: {}\n")
    finally(function() p:rules({}); gone(project, dir) end)
    local code, _, err = deloc_via(p, dir, { "up", "--wait" })
    assert.equal(0, code, err)
    p:rules({ { method = "DELETE", path = "^/v[0-9.]+/containers/", action = "status", status = 503, times = 1 } })
    code, _, err = deloc_via(p, dir, { "down" })
    assert.is_not.equal(0, code)
    assert.matches("answered HTTP 503 to DELETE /containers/", err, 1, true)
    assert.equal(1, hits(p))
    p:rules({})
    code, _, err = deloc_via(p, dir, { "down" })
    assert.equal(0, code, err)
    assert.same({}, e2e.leftovers(project))
  end)

  -- The daemon restarted during `up`, as deloc sees it: every connection
  -- dropped and new ones refused for a while.
  for _, moment in ipairs({ "while creating", "while waiting for health" }) do
    it("converges on the next up after the engine went away " .. moment, function()
      local project, dir = fresh("faults-gone", "services:\n  alpha: {}\n  slow: {}\n  beta: {}\n")
      finally(function() p:up(); p:rules({}); gone(project, dir) end)
      if moment == "while creating" then
        -- hold the creates so that the engine vanishes under them
        p:rules({ { method = "POST", path = "/containers/create$", action = "delay", delay_ms = 2000 } })
      end
      local env = { DOCKER_HOST = p.docker_host, NO_COLOR = "1" }
      local pid = assert(sys.spawn_bg({ argv = { e2e.bin(), "up", "--wait", "--timeout", "60s" }, cwd = dir,
        env = env, stdout = dir .. "/up.out", stderr = dir .. "/up.err" }))
      local t0 = sys.now()
      local mark = moment == "while creating" and "creating" or "waiting for health"
      while sys.now() - t0 < 60 do
        if (sys.read_file(dir .. "/up.err") or ""):find(mark, 1, true) then break end
        sys.sleep(0.05)
      end
      p:down()
      local r = faults.wait_exit(pid, 90)
      local err = sys.read_file(dir .. "/up.err") or ""
      assert.truthy(r, "up hung after the engine went away:\n" .. err)
      assert.is_not.equal(0, r.status, err)
      assert.matches("Docker engine", err, 1, true)
      local state = sys.read_file(dir .. "/.deloc/state.json")
      if state then assert(json.decode(state), state) end
      sys.sleep(1)
      p:up()
      p:rules({})
      local code, out
      code, out, err = deloc_via(p, dir, { "up", "--wait", "--timeout", "90s" })
      assert.equal(0, code, err)
      for _, s in ipairs({ "alpha", "slow", "beta" }) do assert.matches(s .. "%s+healthy", out) end
      -- and a third up has nothing left to do
      code, _, err = deloc_via(p, dir, { "up", "--wait" })
      assert.equal(0, code, err)
      assert.not_matches("creating", err)
    end)
  end
end)

-- ---- disk full ----

local function mount_tmpfs(dir, size)
  local r = assert(sys.spawn({ argv = { "mount", "-t", "tmpfs", "-o", "size=" .. size .. ",mode=0700", "tmpfs", dir } }))
  assert(r.status == 0, "mount: " .. r.stderr)
end

local function umount(dir)
  sys.spawn({ argv = { "umount", "-l", dir } })
end

-- fills the file system of dir but for `keep` bytes
local function fill(dir, keep)
  local r = assert(sys.spawn({ argv = { "df", "-B1", "--output=avail", dir } }))
  local avail = tonumber(r.stdout:match("(%d+)%s*$"))
  local n = math.max(0, avail - keep)
  local f = assert(io.open(dir .. "/filler", "wb"))
  local chunk = ("\0"):rep(4096)
  while n > 0 do
    local ok = f:write(n >= 4096 and chunk or chunk:sub(1, n))
    if not ok then break end
    n = n - 4096
  end
  f:close()
end

describe("faults: disk full #e2e", function()
  setup(function() assert(images.ensure({ "busybox" })) end)

  it("keeps the old state.json when the new one does not fit, and the next up converges", function()
    local project = e2e.project("faults-full")
    local dir = e2e.tmpdir()
    mount_tmpfs(dir, "2m")
    finally(function()
      e2e.deloc({ "down" }, { cwd = dir })
      e2e.cleanup(project)
      umount(dir)
      e2e.rmdir(dir)
    end)
    e2e.project_file(dir, project, "services:\n  alpha: {}\n")
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    local before = assert(sys.read_file(dir .. "/.deloc/state.json"))
    e2e.project_file(dir, project, "services:\n  alpha: {}\n  beta: {}\n")
    fill(dir, 0)
    code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.is_not.equal(0, code)
    assert.matches("[Nn]o space left on device", err)
    assert.equal(before, sys.read_file(dir .. "/.deloc/state.json"))
    assert(json.decode(before))
    local left = sys.listdir(dir .. "/.deloc") or {}
    for _, name in ipairs(left) do assert.not_matches("partial", name) end
    os.remove(dir .. "/filler")
    code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    local st = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json"))))
    assert.truthy(st.services and st.services.beta, "beta is in the new state")
  end)

  it("keeps the old backup file when the new one does not fit", function()
    local project = e2e.project("faults-bfull")
    local dir = e2e.tmpdir()
    local out = e2e.tmpdir()
    mount_tmpfs(out, "1m")
    finally(function()
      e2e.deloc({ "down" }, { cwd = dir })
      e2e.cleanup(project)
      umount(out)
      e2e.rmdir(out)
      e2e.rmdir(dir)
    end)
    assert(sys.write_atomic(dir .. "/deloc.yaml",
      ("project: %s\nrecipes: [ %s ]\nservices:\n  store: {}\n"):format(project, BACKUP_RECIPES)))
    local code, _, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, err)
    -- 3 MiB of data: more than the file system holds
    code, _, err = e2e.docker({ "exec", "-u", "0", project .. "-store-1", "sh", "-c",
      "head -c 3145728 /dev/urandom > /data/big" })
    assert.equal(0, code, err)
    assert(sys.write_atomic(out .. "/store.backup", "the old backup\n", 384))
    code, _, err = e2e.deloc({ "backup", "store", "-o", out .. "/store.backup" }, { cwd = dir })
    assert.is_not.equal(0, code)
    assert.matches("[Nn]o space left on device", err)
    assert.equal("the old backup\n", sys.read_file(out .. "/store.backup"))
    assert.same({ "store.backup" }, sys.listdir(out))
  end)
end)
