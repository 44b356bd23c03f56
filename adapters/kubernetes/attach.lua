-- deloc.adapters.kubernetes.attach: a process in a pod attached to this
-- process's terminal or pipes (exec and shell with stdin, connect), over the
-- pods/exec WebSocket of kubernetes/exec.lua.
--
--   attach.run(c, pod, container, argv, opts) -> exit code | nil, err
--     opts = { tty=, stdin= }: our stdin goes to channel 0 as it comes (end
--     of input closes it: v5), channels 1 and 2 to our stdout and stderr;
--     with tty and a local terminal, that terminal is raw meanwhile and its
--     size follows it (channel 4, on SIGWINCH); INT/TERM/HUP end it.
-- The loop polls stdin (ffi poll/read: no Lua buffering in between) and the
-- connection in turn, a short timeout each.
local bit = require("bit")
local ffi = require("ffi")
local json = require("deloc.json")
local sys = require("deloc.sys")
local errors = require("deloc.errors")
local ws = require("deloc.adapters.kubernetes.ws")

pcall(ffi.cdef, [[
  struct deloc_pollfd { int fd; short events; short revents; };
  int poll(struct deloc_pollfd *fds, unsigned long nfds, int timeout);
  long read(int fd, void *buf, unsigned long count);
]])

local M = {}

local POLLIN, POLLHUP = 1, 16
local CATCH = { "INT", "TERM", "HUP" }

local function native() return require("deloc.native.stream") end

-- What stdin has now: bytes | "" (end of input) | nil (nothing yet)
local function read_stdin(buf)
  local p = ffi.new("struct deloc_pollfd[1]")
  p[0].fd, p[0].events = 0, POLLIN
  if ffi.C.poll(p, 1, 20) <= 0 or bit.band(p[0].revents, POLLIN + POLLHUP) == 0 then return nil end
  local n = ffi.C.read(0, buf, 32768)
  if n <= 0 then return "" end
  return ffi.string(buf, n)
end

local function resize(conn)
  local rows, cols = native().winsize(0)
  if rows then conn:send(ws.frame(ws.BINARY, ws.message(ws.RESIZE, json.encode({ Width = cols, Height = rows })))) end
end

local function loop(conn, proto, opts)
  local p, buf = ws.parser(), ffi.new("uint8_t[32768]")
  local stdin_open, status = opts.stdin, nil
  local sinks = { [ws.STDOUT] = io.stdout, [ws.STDERR] = io.stderr }
  while true do
    if stdin_open then
      local data = read_stdin(buf)
      if data == "" then
        stdin_open = false
        if proto == "v5.channel.k8s.io" then conn:send(ws.frame(ws.BINARY, ws.close_stdin())) end
      elseif data then
        local ok, err = conn:send(ws.frame(ws.BINARY, ws.message(ws.STDIN, data)))
        if not ok then return nil, err end
      end
    end
    local chunk, rerr = conn:recv(stdin_open and 20 or 200)
    if chunk == "" then return "eof", status end
    if not chunk and rerr ~= "timeout" then return nil, rerr end
    local msgs, perr = p:feed(chunk or "")
    if not msgs then return nil, perr end
    for _, m in ipairs(msgs) do
      if m.opcode == ws.PING then conn:send(ws.frame(ws.PONG, m.data))
      elseif m.opcode == ws.CLOSE then return "eof", status
      elseif #m.data > 1 then
        local ch, data = m.data:byte(1), m.data:sub(2)
        if ch == ws.ERROR then status = (status or "") .. data
        elseif sinks[ch] then sinks[ch]:write(data); sinks[ch]:flush() end
      end
    end
    local sig = sys.signal_pending()
    if sig then
      sys.signal_clear()
      if sig == "WINCH" then resize(conn) else return "signal", sig end
    end
  end
end

function M.run(c, pod, container, argv, opts)
  local exec = require("deloc.adapters.kubernetes.exec")
  local path = ("/api/v1/namespaces/%s/pods/%s/exec"):format(pod.metadata.namespace, pod.metadata.name)
  local conn, proto = exec.open(c, path, exec.query(container, argv, opts.stdin, opts.tty))
  if not conn then return nil, proto end
  local saved
  if opts.tty and require("deloc.term").isatty("stdin") then
    saved = native().raw(0)
    resize(conn)
    sys.signal_catch("WINCH")
  end
  for _, s in ipairs(CATCH) do sys.signal_catch(s) end
  local ok, how, detail = pcall(loop, conn, proto, opts)
  for _, s in ipairs(CATCH) do sys.signal_default(s) end
  if saved then sys.signal_default("WINCH"); saved:restore() end
  conn:close()
  if not ok then error(how, 0) end
  if how == "signal" then return nil, errors.new("INTERRUPTED", "interrupted (" .. tostring(detail) .. ")") end
  if not how then return nil, errors.new("ENGINE_UNAVAILABLE", "exec stream: " .. tostring(detail)) end
  if not detail then
    return nil, errors.new("ENGINE_UNAVAILABLE", "exec stream: it ended without the process's exit status")
  end
  local code, why = ws.exit_code(detail)
  if not code then return nil, errors.new("DEPLOYMENT_FAILED", "exec: " .. why) end
  return code
end

return M
