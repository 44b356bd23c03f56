-- deloc.adapters.docker.probe: is a container ready yet?  deloc asks itself,
-- promptly, instead of waiting for the engine's health-check interval.
--
--   probe.exec(c, id, argv [, timeout]) -> exit_code, output | nil, err
--   probe.once(c, id, health, ports) -> ready(bool), output
--   probe.logs_tail(c, id [, n = 12]) -> { line, ... }
--   probe.wait_ready(c, id, comp, { deadline=, fresh=, on_probe=, interrupted= })
--     -> true | nil, err   (err.code DEPLOYMENT_FAILED | TIMEOUT | INTERRUPTED)
--   probe.wait_exit(c, id, { deadline=, interrupted= }) -> exit_code | nil, err
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local sched = require("deloc.sched")
local stream = require("deloc.adapters.docker.stream")
local json = require("deloc.json")

local M = {}

M.FIRST_DELAY = 0.05
M.MAX_DELAY = 1.0

local function trim(s)
  return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Runs argv in the container and collects its output (both streams).
function M.exec(c, id, argv, timeout)
  local r, err = c:post("/containers/" .. id .. "/exec", nil, {
    AttachStdout = true, AttachStderr = true, AttachStdin = false, Tty = false, Cmd = argv,
  })
  if not r then return nil, err end
  local exec_id = r.Id
  local out = {}
  local d = stream.demuxer(function(_, data) out[#out + 1] = data end)
  local res
  res, err = c:request({ method = "POST", path = "/exec/" .. exec_id .. "/start",
    body = { Detach = false, Tty = false }, timeout = timeout or 30,
    on_data = function(chunk) d:feed(chunk) end })
  if not res then return nil, err end
  if res.body and res.body ~= "" then d:feed(res.body) end
  d:finish()
  local info
  info, err = c:get("/exec/" .. exec_id .. "/json")
  if not info then return nil, err end
  return info.ExitCode, table.concat(out)
end

-- Last log lines of a container, both streams.
function M.logs_tail(c, id, n)
  local res = c:request({ method = "GET", path = "/containers/" .. id .. "/logs",
    query = { stdout = 1, stderr = 1, tail = n or 12 } })
  if not res then return {} end
  local lines = {}
  local d = stream.line_demuxer(function(_, line) lines[#lines + 1] = line end)
  d:feed(res.body)
  d:finish()
  return lines
end

local function host_port(ports, container_port)
  for _, p in pairs(ports or {}) do
    if p.container == container_port and p.publish ~= false and p.host then return p.host end
  end
end

-- probe.once(c, id, health, ports) -> ready, output
function M.once(c, id, h, ports)
  if h.kind == "exec" and h.exec then
    local code, out = M.exec(c, id, h.exec, (h.timeout or 3) + 2)
    if code == nil then return false, tostring(out) end
    if code == 0 then return true, trim(out) end
    out = trim(out)
    return false, out ~= "" and out or ("exit code " .. tostring(code))
  elseif h.kind == "http" then
    local port = host_port(ports, h.port)
    if not port then return nil, "no published port" end
    -- only the planned port on this host: a path cannot name another host
    if not require("deloc.recipe").url_path(h.path or "/") then
      return false, "health path is not a URL path; not probed"
    end
    local res, err = require("deloc.http").request({
      url = ("http://127.0.0.1:%d%s"):format(port, h.path or "/"), timeout = h.timeout or 3 })
    err = tostring(err):gsub("^%S+: ", "")
    if res and res.status and res.status < 400 then return true, ("HTTP %d"):format(res.status) end
    if res then return false, ("HTTP %d"):format(res.status) end
    return false, err
  elseif h.kind == "tcp" then
    local port = host_port(ports, h.port)
    if not port then return nil, "no published port" end
    -- Any answer, or a protocol error, means something accepts connections.
    local res, _, kind = require("deloc.http").request({
      url = ("http://127.0.0.1:%d/"):format(port), timeout = h.timeout or 2 })
    if res then return true, "port open" end
    if kind == "connect" then
      return false, ("connection to port %d refused"):format(port)
    end
    if kind == "timeout" then return true, "port open (no answer)" end
    return true, "port open"
  elseif h.kind == "log" and h.pattern then
    local res = c:request({ method = "GET", path = "/containers/" .. id .. "/logs",
      query = { stdout = 1, stderr = 1, tail = 200 } })
    if not res then return false, "cannot read logs" end
    local found = false
    local d = stream.line_demuxer(function(_, line)
      if line:find(h.pattern, 1, true) or line:find(h.pattern) then found = true end
    end)
    d:feed(res.body)
    d:finish()
    if found then return true, "log: " .. h.pattern end
    return false, ("no log line matching '%s' yet"):format(h.pattern)
  end
  return nil, "no probe"
end

local function interrupted(opts)
  local sig = sys.signal_pending()
  if sig == "INT" or sig == "TERM" or (opts.interrupted and opts.interrupted()) then
    return errors.new("INTERRUPTED", "interrupted")
  end
end

-- The engine resets State.ExitCode when it restarts a container, so once a
-- crash-looping container runs again its inspect says 0; the exit code of
-- the run that ended is in the container's last 'die' event.
local function last_exit_code(c, id)
  local now = os.time()
  local res = c:request({ method = "GET", path = "/events", query = {
    since = tostring(now - 3600), ["until"] = tostring(now + 1),
    filters = json.encode({ type = { "container" }, container = { id }, event = { "die" } }) } })
  if not res then return nil end
  local code
  for line in (res.body or ""):gmatch("[^\n]+") do
    local ev = json.decode(line)
    local attrs = type(ev) == "table" and type(ev.Actor) == "table" and ev.Actor.Attributes
    if type(attrs) == "table" and tonumber(attrs.exitCode) then code = tonumber(attrs.exitCode) end
  end
  return code
end

local function exited_error(c, id, state, what, restarts)
  local code = state.ExitCode
  if restarts and (state.Running or state.Restarting) then code = last_exit_code(c, id) or code end
  local lines = M.logs_tail(c, id)
  local msg = ("%s exited with exit code %s"):format(what, tostring(code))
  if state.OOMKilled then msg = msg .. " (killed: out of memory)" end
  if restarts then msg = msg .. (" (the engine restarted it %d time%s)"):format(restarts, restarts == 1 and "" or "s") end
  return errors.new("DEPLOYMENT_FAILED", msg, { exit_code = code, logs = lines,
    hint = "its log lines above say why; fix the configuration and run 'deloc up' again" })
end

-- Exited, dead, or restarted by the engine since the wait began (a
-- crash loop looks "running" between restarts): the wait fails at once.
local function crashed(info, base)
  local st = info.State or {}
  if st.Status == "exited" or st.Status == "dead" then return true end
  local n = tonumber(info.RestartCount) or 0
  if st.Restarting or st.Status == "restarting" or n > base then return true, math.max(n - base, 1) end
  return false
end

-- A check passed: ready only if the container still lives the life the
-- check ran in (a crash loop can answer one exec between restarts).
local function still_up(c, id, before, base, what)
  local info, err = c:get("/containers/" .. id .. "/json")
  if not info then return nil, err end
  local st = info.State or {}
  local dead, restarts = crashed(info, base)
  if not dead and st.StartedAt ~= (before.State or {}).StartedAt then dead, restarts = true, 1 end
  if dead then return nil, exited_error(c, id, st, what, restarts) end
  return true
end

-- Waits until the container is ready: its health passes (deloc's own probe,
-- or the engine's check if that got there first), or it runs and has no
-- health check.  Fails at once when the container exits or restarts.
-- opts.fresh: this run started it, and the engine counts restarts from 0
-- on an explicit start, so any restart seen is one of this run's.
function M.wait_ready(c, id, comp, opts)
  opts = opts or {}
  local h = comp.health or {}
  local delay = M.FIRST_DELAY
  local last = nil
  local what = opts.what or comp.name
  local base = opts.fresh and 0 or nil
  while true do
    local e = interrupted(opts)
    if e then return nil, e end
    local info, err = c:get("/containers/" .. id .. "/json")
    if not info then return nil, err end
    local st = info.State or {}
    base = base or (tonumber(info.RestartCount) or 0)
    local dead, restarts = crashed(info, base)
    if dead then
      local ee = exited_error(c, id, st, what, restarts)
      ee.probe = last
      return nil, ee
    end
    if st.Running then
      local ready, out
      if st.Health and st.Health.Status == "healthy" then
        ready, out = true, "healthy"
      else
        ready, out = M.once(c, id, h, comp.ports)
        if ready == nil then ready, out = true, "running" end -- nothing to probe
      end
      if ready then
        local ok, cerr = still_up(c, id, info, base, what)
        if not ok then return nil, cerr end
        return true, out
      end
      last = out
      if opts.on_probe then opts.on_probe(out) end
    end
    if opts.deadline and sys.now() >= opts.deadline then
      local lines = M.logs_tail(c, id)
      local msg = ("%s did not become healthy in time"):format(what)
      if last and last ~= "" then msg = msg .. "; last probe: " .. last:gsub("\n", " | ") end
      return nil, errors.new("TIMEOUT", msg, { probe = last, logs = lines })
    end
    local wait = delay
    if opts.deadline then wait = math.max(0, math.min(wait, opts.deadline - sys.now())) end
    sched.sleep(wait)
    delay = math.min(delay * 2, M.MAX_DELAY)
  end
end

-- Waits for a one-shot container to finish: its exit code.
function M.wait_exit(c, id, opts)
  opts = opts or {}
  local delay = M.FIRST_DELAY
  while true do
    local e = interrupted(opts)
    if e then return nil, e end
    local info, err = c:get("/containers/" .. id .. "/json")
    if not info then return nil, err end
    local st = info.State or {}
    if st.Status == "exited" or st.Status == "dead" then return st.ExitCode, st end
    if opts.deadline and sys.now() >= opts.deadline then
      return nil, errors.new("TIMEOUT", ("%s did not finish in time"):format(opts.what or id),
        { logs = M.logs_tail(c, id) })
    end
    local wait = delay
    if opts.deadline then wait = math.max(0, math.min(wait, opts.deadline - sys.now())) end
    sched.sleep(wait)
    delay = math.min(delay * 1.5, 0.5)
  end
end

return M
