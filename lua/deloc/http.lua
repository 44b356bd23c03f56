-- deloc.http: HTTP over TCP, TLS or a unix socket (Docker's), on libcurl.
--
--   local http = require("deloc.http")
--   local resp, err, kind = http.request{
--     url = "http://localhost/v1.43/info", unix_socket = "/var/run/docker.sock" }
--   --> { status = 200, headers = { ["content-type"] = "application/json" }, body = "..." }
--   --> nil, "<url>: <why>", "connect" | "timeout" | "tls" | "aborted" | "protocol"
--                   | "unavailable" (no libcurl) | "interrupted" (a caught signal)
--
-- Inside a deloc.sched task a request yields until its answer is in and the
-- other tasks run meanwhile; outside any task it blocks.  Every request goes
-- through one curl multi handle (connections are reused).  libcurl itself is
-- loaded by the first request: `http.loaded()` tells whether it has been.
--
-- An HTTP error status (404, 500) is an answer, not an error: check
-- resp.status.  Streaming: `on_data = function(chunk) ... end` receives the
-- body as it arrives (resp.body is then ""); returning false, or raising,
-- stops the transfer and the request returns nil, err, "aborted".
--
-- A signal caught with sys.signal_catch (Ctrl-C) aborts requests in flight
-- and refuses new ones while it is pending: kind "interrupted".
local native = require("deloc.native.http")
local sched = require("deloc.sched")
local sys = require("deloc.sys")

local M = {}

local DEFAULT_TIMEOUT = 60 -- seconds, for a whole request without on_data
local DEFAULT_CONNECT_TIMEOUT = 10

local multi = nil   -- one per Lua state, made by the first request
local records = {}  -- request id -> { queue = {events}, task =, waiting = }
local in_flight = 0

-- http.loaded() -> boolean: is libcurl loaded into this process?
function M.loaded()
  return native.loaded()
end

-- http.version() -> "libcurl/7.88.1 OpenSSL/3.0.x" | nil, err  (loads libcurl)
function M.version()
  return native.version()
end

local function fail(msg, level)
  error("http.request: " .. msg, level + 1)
end

local function check_optional(opts, key, want)
  local v = opts[key]
  if v ~= nil and type(v) ~= want then
    fail(("%s must be a %s, got %s"):format(key, want, type(v)), 4)
  end
  return v
end

local function seconds_to_ms(opts, key, default)
  local v = opts[key]
  if v == nil then v = default end
  if v == false then return 0 end
  if type(v) ~= "number" or v ~= v or v < 0 then
    fail(("%s must be a non-negative number of seconds (or false), got %s")
      :format(key, tostring(v)), 4)
  end
  return math.ceil(v * 1000)
end

local function header_line(name, value)
  if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
    fail(("bad header name %q"):format(tostring(name)), 5)
  end
  if type(value) == "number" then value = tostring(value) end
  if type(value) ~= "string" or value:find("[\r\n%z]") then
    fail(("bad value for header '%s'"):format(name), 5)
  end
  return name .. ": " .. value
end

-- The request table as the C binding wants it; raises for the caller's bugs.
local function native_opts(opts)
  if type(opts) ~= "table" then fail("expects a table {url=, ...}", 3) end
  local url = opts.url
  if type(url) ~= "string" or url == "" then fail("url must be a non-empty string", 3) end
  local method = check_optional(opts, "method", "string") or "GET"
  method = method:upper()
  if not method:match("^[A-Z]+$") then fail(("bad method %q"):format(method), 3) end
  for _, k in ipairs({ "unix_socket", "body", "cacert", "cert", "key", "token" }) do
    check_optional(opts, k, "string")
  end
  check_optional(opts, "on_data", "function")
  local headers = {}
  local h = opts.headers
  if h ~= nil then
    if type(h) ~= "table" then fail("headers must be a table", 3) end
    local names = {}
    for name in pairs(h) do
      if type(name) == "string" then names[#names + 1] = name end
    end
    table.sort(names) -- a stable order on the wire
    for _, name in ipairs(names) do
      headers[#headers + 1] = header_line(name, h[name])
    end
    for i, line in ipairs(h) do -- a list of "Name: value" lines works too
      local name, value = tostring(line):match("^([^:]+):%s*(.*)$")
      if not name then fail(("bad header line %d %q"):format(i, tostring(line)), 3) end
      headers[#headers + 1] = header_line(name, value)
    end
  end
  if opts.token then
    headers[#headers + 1] = header_line("Authorization", "Bearer " .. opts.token)
  end
  local max_body = opts.max_body
  if max_body ~= nil and (type(max_body) ~= "number" or max_body < 1) then
    fail("max_body must be a positive number of bytes", 3)
  end
  return {
    url = url, method = method, unix_socket = opts.unix_socket,
    headers = headers, body = opts.body,
    -- (`on_data and false or 60` is always 60: a stream has no total timeout)
    timeout_ms = seconds_to_ms(opts, "timeout", (not opts.on_data) and DEFAULT_TIMEOUT),
    connect_timeout_ms = seconds_to_ms(opts, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
    idle_timeout_ms = seconds_to_ms(opts, "idle_timeout", false),
    cacert = opts.cacert, cert = opts.cert, key = opts.key,
    insecure = opts.insecure and true or false,
    follow = opts.follow and true or false,
    stream = opts.on_data ~= nil, max_body = max_body,
  }
end

-- Polls the multi handle once (up to timeout_s) and hands every event to
-- its request, waking the task that waits for it.
local function pump(timeout_s)
  if not multi then return end
  local events, err = multi:poll(math.floor(timeout_s * 1000 + 0.5))
  if not events then
    -- The multi handle itself failed: every request in it has failed.
    events = {}
    for id, rec in pairs(records) do
      multi:remove(id)
      events[#events + 1] = { id = id, done = true, err = rec.url .. ": " .. err, kind = "protocol" }
    end
  end
  for _, ev in ipairs(events) do
    local rec = records[ev.id]
    if rec then
      rec.queue[#rec.queue + 1] = ev
      if ev.done then
        records[ev.id] = nil
        in_flight = in_flight - 1
      end
      if rec.waiting then
        rec.waiting = false
        sched.wake(rec.task)
      end
    end
  end
end

local function forget(id)
  if records[id] then
    records[id] = nil
    in_flight = in_flight - 1
  end
  multi:remove(id)
end

local function interrupted(url)
  return nil, url .. ": interrupted by SIG" .. (sys.signal_pending() or "?"), "interrupted"
end

local poller = {
  pending = function() return in_flight end,
  poll = function(timeout_s) pump(timeout_s) end,
  interrupt = function() -- a caught signal aborts what tasks wait for
    for id, rec in pairs(records) do
      if rec.task then
        forget(id)
        rec.queue[#rec.queue + 1] = sched.INTERRUPTED
        if rec.waiting then
          rec.waiting = false
          sched.wake(rec.task)
        end
      end
    end
  end,
}

-- One try of a request: M.request's answer, plus whether on_data was called.
local function attempt(opts, nopts)
  if sys.signal_pending() then return interrupted(nopts.url) end
  if not multi then
    local m, err = native.multi()
    if not m then return nil, err, "unavailable" end
    multi = m
  end
  local id, err = multi:add(nopts)
  if not id then return nil, err, "protocol" end
  local task = sched.current()
  local rec = { queue = {}, url = nopts.url, task = task }
  records[id] = rec
  in_flight = in_flight + 1
  if task then sched.set_poller(poller) end
  local on_data = opts.on_data
  while true do
    if rec.queue[1] == nil then
      if task then
        rec.waiting = true
        sched.suspend()
      elseif sys.signal_pending() then
        forget(id)
        return interrupted(nopts.url)
      else
        pump(1)
      end
    end
    local ev = table.remove(rec.queue, 1)
    if ev == sched.INTERRUPTED then
      return interrupted(nopts.url)
    elseif ev and ev.data then
      rec.delivered = true
      local ok, r = pcall(on_data, ev.data)
      if not ok or r == false then
        forget(id)
        if not ok then
          return nil, ("%s: on_data failed: %s"):format(nopts.url, tostring(r)), "aborted"
        end
        return nil, nopts.url .. ": stopped by on_data", "aborted"
      end
    elseif ev and ev.done then
      if ev.err then return nil, ev.err, ev.kind, rec.delivered end
      return { status = ev.status, headers = ev.headers, body = ev.body }, nil, nil, rec.delivered
    end
  end
end

-- Answers worth another try: the server is busy or restarting.
M.RETRY_STATUS = { [429] = true, [502] = true, [503] = true, [504] = true }
M.RETRY_DELAYS = { 0.25, 0.75 } -- seconds before the 2nd and the 3rd try

-- Is another try safe and useful?  Nothing sent (connection refused, no
-- socket) is safe for any method.  A GET or HEAD is idempotent: it may be
-- sent again after a dropped connection, a cut body or a busy answer, unless
-- part of a streamed body was handed on already.  A timeout is not retried:
-- the caller's time is spent.
local function retryable(method, res, kind, delivered)
  if delivered then return false end
  if not res then
    if kind == "connect" then return true end
    return kind == "protocol" and (method == "GET" or method == "HEAD")
  end
  return (method == "GET" or method == "HEAD") and M.RETRY_STATUS[res.status] == true
end

-- http.request{url=, method="GET", unix_socket=, headers={name=value}|{"Name: value"},
--   body=, token=, timeout=60|false, connect_timeout=10, cacert=, cert=, key=,
--   insecure=false, follow=false, max_body=, on_data=fn(chunk), idle_timeout=,
--   retry=true}
--   -> { status=, headers={lower-case name = value}, body= } | nil, err, kind
-- Timeouts are in seconds (each try); with on_data the default total timeout
-- is none.  idle_timeout: fail ("timeout") when the peer sends nothing (under
-- a byte a second) for that long -- a stalled stream; default none.  Up to #RETRY_DELAYS more tries when retryable() says so (retry =
-- false: one try); the last try's answer is the answer.
function M.request(opts)
  local nopts = native_opts(opts)
  local tries = opts.retry == false and 1 or #M.RETRY_DELAYS + 1
  for n = 1, tries do
    local res, err, kind, delivered = attempt(opts, nopts)
    if n == tries or not retryable(nopts.method, res, kind, delivered) or sys.signal_pending() then
      return res, err, kind
    end
    if not sched.sleep(M.RETRY_DELAYS[n]) then return interrupted(nopts.url) end
  end
end

local function shortcut(method, with_body)
  return function(url, a, b)
    local opts, body
    if with_body then body, opts = a, b else opts = a end
    if opts ~= nil and type(opts) ~= "table" then
      error(("http.%s: options must be a table"):format(method:lower()), 2)
    end
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    o.url, o.method = url, method
    if with_body then o.body = body end
    return M.request(o)
  end
end

-- http.get(url [, opts]), http.head, http.delete -> same as request
-- http.post(url, body [, opts]), http.put, http.patch
M.get = shortcut("GET")
M.head = shortcut("HEAD")
M.delete = shortcut("DELETE")
M.post = shortcut("POST", true)
M.put = shortcut("PUT", true)
M.patch = shortcut("PATCH", true)

-- http.urlencode(s) -> s with every byte outside RFC 3986's unreserved set
-- written %XX
function M.urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- http.query(q [, value]) -> "?k=v&..." | ""   keys sorted, so that one query
-- is one URL (logs, counters).  value(v) -> string | nil words a value the
-- way the API wants it (booleans differ: Docker 1/0, Kubernetes true);
-- nil leaves the key out.  The default writes the value as it is.
function M.query(q, value)
  if not q then return "" end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    if value then v = value(v) end
    if v ~= nil then parts[#parts + 1] = M.urlencode(k) .. "=" .. M.urlencode(v) end
  end
  if #parts == 0 then return "" end
  return "?" .. table.concat(parts, "&")
end

-- http.close()  -- aborts whatever is in flight and drops the connections
function M.close()
  if multi then
    multi:close()
    multi = nil
  end
  for id, rec in pairs(records) do
    records[id] = nil
    rec.queue[#rec.queue + 1] = { id = id, done = true, err = rec.url .. ": aborted: http closed", kind = "aborted" }
    if rec.waiting then
      rec.waiting = false
      sched.wake(rec.task)
    end
  end
  in_flight = 0
end

return M
