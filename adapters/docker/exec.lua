-- deloc.adapters.docker.exec: a process in a running container, attached to
-- this terminal or these pipes, through the Engine's exec API.
--
--   exec.find(c, project, target) -> row | nil, err
--     target = { service=, component= (default: the only one, or the one
--     named like the service), replica= (default 1) }; err SERVICE_NOT_FOUND
--   exec.run(c, id, argv, opts) -> exit_code | nil, err
--     opts = { tty=, stdin=, env = {"K=V"} | {K=V}, user=, workdir=,
--              in=fd, out=fd, err=fd (0, 1, 2), raw=true (put a local tty
--              in raw mode when tty and fd `in` is a terminal) }
--   exec.capture(c, id, argv, opts) -> { code=, stdout=, stderr= } | nil, err
--     opts.input (a string) is the process's stdin, then end of input
--   exec.for_driver(c, project, target, argv, opts) -> { code=, stdout=, stderr= } | nil, err
--     the driver interface's exec (deloc.drivers): capture = true collects
--     the output, otherwise it is attached to this process's terminal/pipes
--
-- The stream: POST /containers/{id}/exec, then POST /exec/{id}/start sent on
-- a raw connection with "Connection: Upgrade, Upgrade: tcp" (the Engine
-- answers 101 and the socket carries the process's bytes both ways: raw with
-- a TTY, else in 8-byte-header frames), then GET /exec/{id}/json for the
-- exit code.  The connection is libcurl's (CONNECT_ONLY), so a unix socket,
-- TCP and TLS with client certificates work alike; end of our input is a
-- half-close, which the Engine turns into end of input for the process.
local errors = require("deloc.errors")
local json = require("deloc.json")
local sys = require("deloc.sys")
local build = require("deloc.adapters.docker.build")

local M = {}

local function native() return require("deloc.native.stream") end

local function not_found(msg, hint)
  return nil, errors.new("SERVICE_NOT_FOUND", msg, { hint = hint })
end

local function pick_component(rows, target)
  local comps, seen = {}, {}
  for _, r in ipairs(rows) do
    if not seen[r.component] then seen[r.component] = true; comps[#comps + 1] = r.component end
  end
  table.sort(comps)
  if target.component then
    if seen[target.component] then return target.component end
    return nil, comps
  end
  if #comps == 1 then return comps[1] end
  if seen[target.service] then return target.service end
  return nil, comps
end

function M.find(c, project, target)
  local ops = require("deloc.adapters.docker.ops")
  local ctrs, err = c:get("/containers/json", { all = 1, filters = build.filters(project, target.service) })
  if not ctrs then return nil, err end
  local rows = {}
  for _, ctr in ipairs(ctrs) do
    if not (ctr.Labels or {})[build.LABEL.helper] then rows[#rows + 1] = ops.row(ctr) end
  end
  if #rows == 0 then
    return not_found(("no service '%s' is deployed in project '%s'"):format(target.service, project),
      "'deloc status' lists what runs; 'deloc up " .. target.service .. "' starts it")
  end
  local comp, comps = pick_component(rows, target)
  if not comp then
    local what = target.component and ("no component '%s' in service '%s'"):format(target.component, target.service)
      or ("service '%s' has several components"):format(target.service)
    local names = {}
    for i, n in ipairs(comps) do names[i] = target.service .. "." .. n end
    return not_found(what, "name one: " .. table.concat(names, ", "))
  end
  local replica = target.replica or 1
  for _, r in ipairs(rows) do
    if r.component == comp and r.replica == replica then
      if r.state == "exited" or r.state == "completed" or r.state == "created" then
        return nil, errors.new("DEPLOYMENT_FAILED", ("%s.%s is not running (%s)"):format(target.service, comp, r.state),
          { hint = "'deloc up " .. target.service .. "' starts it" })
      end
      return r
    end
  end
  return not_found(("%s.%s has no replica %d"):format(target.service, comp, replica))
end

local function env_list(env)
  if not env then return nil end
  local out = {}
  for k, v in pairs(env) do
    if type(k) == "number" then out[#out + 1] = v else out[#out + 1] = k .. "=" .. v end
  end
  table.sort(out)
  if #out == 0 then return nil end -- an empty table would encode as {}
  return out
end

function M.create(c, id, argv, opts)
  local r, err = c:post("/containers/" .. id .. "/exec", nil, {
    AttachStdin = opts.stdin and true or false, AttachStdout = true, AttachStderr = true,
    Tty = opts.tty and true or false, Cmd = argv, Env = env_list(opts.env),
    User = opts.user, WorkingDir = opts.workdir,
  })
  if not r then return nil, err end
  return r.Id
end

-- The HTTP request of the upgrade and the answer's head, on a raw connection.
function M.attach(c, exec_id, tty)
  local ep = c.ep
  local conn, cerr = native().connect({ url = ep.base .. "/", unix_socket = ep.unix_socket,
    cacert = ep.cacert, cert = ep.cert, key = ep.key })
  if not conn then
    return nil, errors.new("ENGINE_UNAVAILABLE", "cannot open a stream to the Docker engine: " .. tostring(cerr))
  end
  local body = json.encode({ Detach = false, Tty = tty and true or false })
  local host = ep.base:match("^https?://([^/]+)") or "localhost"
  local req = table.concat({
    ("POST /v%s/exec/%s/start HTTP/1.1"):format(c.version, exec_id),
    "Host: " .. host, "User-Agent: deloc", "Content-Type: application/json",
    "Connection: Upgrade", "Upgrade: tcp", "Content-Length: " .. #body, "", body,
  }, "\r\n")
  local ok, err = conn:send(req)
  if not ok then conn:close(); return nil, errors.new("ENGINE_UNAVAILABLE", err) end
  local head = ""
  while not head:find("\r\n\r\n", 1, true) do
    local chunk, rerr = conn:recv(30000)
    if not chunk or chunk == "" then
      conn:close()
      return nil, errors.new("ENGINE_UNAVAILABLE", "the Docker engine closed the exec stream: " .. tostring(rerr or "end of stream"))
    end
    head = head .. chunk
    if #head > 65536 then conn:close(); return nil, errors.new("ENGINE_UNAVAILABLE", "exec stream: answer head too long") end
  end
  local stop = head:find("\r\n\r\n", 1, true)
  local rest = head:sub(stop + 4)
  local status = tonumber(head:match("^HTTP/%d%.%d (%d%d%d)"))
  if status ~= 101 and status ~= 200 then
    local msg = rest:match('"message"%s*:%s*"(.-)"') or head:match("^[^\r\n]*")
    conn:close()
    return nil, errors.new("DEPLOYMENT_FAILED", "exec: " .. msg, { status = status })
  end
  if rest ~= "" then conn:unread(rest) end
  return conn
end

-- GET /exec/{id}/json until the process has ended (the stream closes first).
local function exit_code(c, exec_id)
  for _ = 1, 100 do
    local info, err = c:get("/exec/" .. exec_id .. "/json")
    if not info then return nil, err end
    if not info.Running then return info.ExitCode end
    sys.sleep(0.05)
  end
  return nil, errors.new("TIMEOUT", "the exec'd process did not report its exit")
end

local function resize(c, exec_id, fd)
  local rows, cols = native().winsize(fd)
  if rows then c:post("/exec/" .. exec_id .. "/resize", { h = rows, w = cols }) end
end

local CATCH = { "INT", "TERM", "HUP" }

-- Pumps until the stream ends; a SIGWINCH resizes, INT/TERM/HUP end it.
local function pump_loop(c, exec_id, conn, opts)
  local winch = opts.tty and opts.raw_fd
  for _, s in ipairs(CATCH) do sys.signal_catch(s) end
  if winch then sys.signal_catch("WINCH") end
  local ok, how, sig = pcall(function()
    while true do
      local r, s = conn:pump({ tty = opts.tty, stdin = opts.stdin, ["in"] = opts["in"] or 0,
        out = opts.out or 1, err = opts.err or 2 })
      if not r then return nil, s end
      if r == "eof" then return "eof" end
      sys.signal_clear()
      if s == "WINCH" then resize(c, exec_id, opts.raw_fd) else return "signal", s end
    end
  end)
  for _, s in ipairs(CATCH) do sys.signal_default(s) end
  if winch then sys.signal_default("WINCH") end
  if not ok then error(how, 0) end
  return how, sig
end

function M.run(c, id, argv, opts)
  opts = opts or {}
  local exec_id, err = M.create(c, id, argv, opts)
  if not exec_id then return nil, err end
  local conn
  conn, err = M.attach(c, exec_id, opts.tty)
  if not conn then return nil, err end
  local in_fd = opts["in"] or 0
  local saved
  if opts.tty and opts.raw ~= false and require("deloc.term").isatty(in_fd) then
    saved = native().raw(in_fd)
    opts.raw_fd = in_fd
    resize(c, exec_id, in_fd)
  end
  -- the terminal comes back whatever happens in between
  local ok, how, detail = pcall(pump_loop, c, exec_id, conn, opts)
  if saved then saved:restore() end
  conn:close()
  if not ok then error(how, 0) end
  if how == "signal" then
    return nil, errors.new("INTERRUPTED", "interrupted (" .. tostring(detail) .. ")")
  end
  if not how then return nil, errors.new("ENGINE_UNAVAILABLE", tostring(detail)) end
  return exit_code(c, exec_id)
end

-- Output collected, both streams apart; opts.input is written, then EOF.
function M.capture(c, id, argv, opts)
  opts = opts or {}
  local exec_id, err = M.create(c, id, argv, { stdin = opts.input ~= nil, env = opts.env,
    user = opts.user, workdir = opts.workdir })
  if not exec_id then return nil, err end
  local conn
  conn, err = M.attach(c, exec_id, false)
  if not conn then return nil, err end
  if opts.input then
    local ok, serr = conn:send(opts.input)
    if not ok then conn:close(); return nil, errors.new("ENGINE_UNAVAILABLE", serr) end
  end
  local streams = { {}, {} } -- frame type 1: stdout, 2: stderr
  local buf = ""
  local function feed(data)
    buf = buf .. data
    while #buf >= 8 do
      local size = buf:byte(5) * 16777216 + buf:byte(6) * 65536 + buf:byte(7) * 256 + buf:byte(8)
      if #buf < 8 + size then break end
      local t = streams[buf:byte(1)] or streams[2]
      t[#t + 1] = buf:sub(9, 8 + size)
      buf = buf:sub(9 + size)
    end
  end
  conn:shutdown()
  while true do
    local chunk, rerr = conn:recv(opts.timeout and opts.timeout * 1000 or 60000)
    if not chunk then conn:close(); return nil, errors.new("TIMEOUT", "exec: " .. tostring(rerr)) end
    if chunk == "" then break end
    feed(chunk)
  end
  conn:close()
  local code
  code, err = exit_code(c, exec_id)
  if not code then return nil, err end
  return { code = code, stdout = table.concat(streams[1]), stderr = table.concat(streams[2]) }
end

function M.for_driver(c, project, target, argv, opts)
  opts = opts or {}
  local row, err = M.find(c, project, target)
  if not row then return nil, err end
  if opts.capture then return M.capture(c, row.id, argv, opts) end
  local code
  code, err = M.run(c, row.id, argv, opts)
  if not code then return nil, err end
  return { code = code }
end

return M
