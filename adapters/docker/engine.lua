-- deloc.adapters.docker.engine: a small Docker Engine API client on deloc.http.
--
--   local engine = require("deloc.adapters.docker.engine")
--   local c, err = engine.connect()            -- pings; err.code ENGINE_UNAVAILABLE
--   engine.connect{ lazy = true }              -- no ping: the first request tells
--     (at API 1.41; an older engine's "client version" refusal pings and retries)
--   local list = c:get("/containers/json", { all = 1, filters = ... })
--   local r = c:post("/containers/create", { name = "x" }, body)
--   c:request{ method=, path=, query=, body=, on_data=fn(chunk), timeout=, idle_timeout=, raw=true }
--     -> { status=, headers=, body=, json= } | nil, err
--
-- DELOC_ENGINE_TIMEOUT (seconds, default 60) bounds each request that does
-- not set its own timeout.
-- Endpoint: DOCKER_HOST (unix:///path, tcp://host:port; TLS when
-- DOCKER_TLS_VERIFY is set, with ca.pem/cert.pem/key.pem from
-- DOCKER_CERT_PATH, default ~/.docker), else unix:///var/run/docker.sock.
-- The API version comes from /_ping's Api-Version header, capped at the
-- newest version deloc was written against; every path is prefixed with it.
--
-- Inside sched tasks requests run concurrently; those that make the engine
-- work (see M.limited) at most `limit` (6) at a time.  c.calls counts requests: total, mutating (anything but
-- GET/HEAD) and per "METHOD /path-shape".  DELOC_TRACE_API=FILE appends one
-- line per request ("POST /containers/create 201 11.2ms") for specs and
-- debugging.
local errors = require("deloc.errors")
local json = require("deloc.json")
local sys = require("deloc.sys")

local M = {}

M.MAX_VERSION = "1.41"
M.DEFAULT_HOST = "unix:///var/run/docker.sock"
M.LIMIT = 6

local Client = {}
Client.__index = Client

local function version_less(a, b)
  local a1, a2 = a:match("^(%d+)%.(%d+)")
  local b1, b2 = b:match("^(%d+)%.(%d+)")
  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)
  if not (a1 and b1) then return false end
  return a1 < b1 or (a1 == b1 and a2 < b2)
end
M.version_less = version_less

-- engine.endpoint([host]) -> { display=, base=, unix_socket=, cacert=, cert=, key= } | nil, err
function M.endpoint(host)
  host = host or os.getenv("DOCKER_HOST")
  if host == nil or host == "" then host = M.DEFAULT_HOST end
  local e = { display = host }
  local path = host:match("^unix://(.+)$")
  if path then
    e.unix_socket = path
    e.base = "http://localhost"
    return e
  end
  local hp = host:match("^tcp://([^/]+)/?$") or host:match("^https?://([^/]+)/?$")
  if not hp then
    return nil, errors.new("ENGINE_UNAVAILABLE",
      ("cannot reach the Docker engine at %s: unsupported address"):format(host),
      { hint = "DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://HOST:PORT" })
  end
  local tls = os.getenv("DOCKER_TLS_VERIFY")
  if (tls and tls ~= "" and tls ~= "0") or host:match("^https://") then
    local dir = os.getenv("DOCKER_CERT_PATH")
    if not dir or dir == "" then dir = (os.getenv("HOME") or "") .. "/.docker" end
    e.cacert, e.cert, e.key = dir .. "/ca.pem", dir .. "/cert.pem", dir .. "/key.pem"
    e.base = "https://" .. hp
  else
    e.base = "http://" .. hp
  end
  return e
end

local function shape(path)
  -- "/containers/3f2a.../start" -> "/containers/{id}/start" for the counters
  return (path:gsub("^(/%w+/)[^/?]+(/[%w_]+)$", "%1{id}%2"):gsub("^(/%w+/)[^/?]+$", "%1{id}"))
end

local function http()
  return require("deloc.http")
end

function M.urlencode(s) return http().urlencode(s) end

-- The Engine API takes booleans as 1 and 0.
local function engine_value(v)
  if v == true then return "1" elseif v == false then return "0" end
  return v
end

local function query_string(q)
  return http().query(q, engine_value)
end
M.query_string = query_string

-- The one place that sends requests through deloc.http.
local function transport(ep, req)
  local headers = {}
  for k, v in pairs(req.headers or {}) do headers[#headers + 1] = k .. ": " .. v end
  local res, err, kind = http().request({
    url = req.url, method = req.method, unix_socket = ep.unix_socket,
    cacert = ep.cacert, cert = ep.cert, key = ep.key,
    headers = headers, body = req.body, on_data = req.on_data,
    timeout = req.timeout, idle_timeout = req.idle_timeout,
  })
  if not res then return nil, { message = tostring(err), kind = kind } end
  return res
end

local function header(res, name)
  local h = res.headers or {}
  return h[name] or h[name:lower()]
end

function Client:trace(method, path, status, started)
  local f = self.trace_file
  if not f then return end
  f:write(("%s %s %s %.1fms\n"):format(method, path, tostring(status),
    (sys.now() - started) * 1000))
  f:flush()
end

local function unreachable(ep, why)
  why = tostring(why or "no answer"):gsub("^[%w+.-]+://[^:]*:%s*", "")
  return errors.new("ENGINE_UNAVAILABLE",
    ("cannot reach the Docker engine at %s: %s"):format(ep.display, why), {
      context = { endpoint = ep.display },
      hint = "is the Docker daemon running and may this user use it? "
        .. "(DOCKER_HOST selects another engine, e.g. unix:///run/podman/podman.sock)",
    })
end

-- c:request{ method=, path=, query=, body= (table: JSON, string: raw),
--   content_type=, on_data=, timeout=, versioned=true } -> res | nil, err
-- res = { status=, headers=, body=, json= (decoded when JSON) }.
-- An HTTP status >= 400 is an error whose .status and .engine_message say what
-- the engine answered.
function Client:request(r)
  local method = r.method or "GET"
  local path = r.path
  local url_path = (r.versioned == false and "" or ("/v" .. self.version)) .. path .. query_string(r.query)
  local body, ctype = r.body, r.content_type
  if type(body) == "table" then
    body = assert(json.encode(body))
    ctype = ctype or "application/json"
  end
  local headers = r.headers or {}
  if ctype then headers["Content-Type"] = ctype end
  if body == nil and method == "POST" then body = "" end
  local mutating = method ~= "GET" and method ~= "HEAD"
  local calls = self.calls
  calls.total = calls.total + 1
  if mutating then calls.mutating = calls.mutating + 1 end
  local key = method .. " " .. shape(path)
  calls.by[key] = (calls.by[key] or 0) + 1

  local idle = r.idle_timeout
  if idle == nil and r.on_data then idle = self.timeout end
  local limited = self.sem and M.limited(method, path, r.on_data) and require("deloc.sched").current()
  if limited then self.sem:acquire() end
  local started = sys.now()
  -- A streamed answer goes to on_data; keep its start too, for the error
  -- message should the status say it failed.
  local head, on_data = nil, r.on_data
  if on_data then
    head = {}
    local kept = 0
    on_data = function(chunk)
      if kept < 4096 then head[#head + 1] = chunk; kept = kept + #chunk end
      return r.on_data(chunk)
    end
  end
  local ok, res, err = pcall(transport, self.ep, {
    url = self.ep.base .. url_path, method = method, headers = headers, body = body,
    on_data = on_data, timeout = r.timeout or (not r.on_data and self.timeout or nil),
    -- a stream fails when the engine stalls: nothing for `timeout` (60 s)
    -- unless the caller says otherwise (false: a follow, silent as long as
    -- the service is; a backup's dump may think for longer)
    idle_timeout = idle,
  })
  if limited then self.sem:release() end
  if not ok then error(res, 0) end
  self:trace(method, path .. query_string(r.query), res and res.status or "ERR", started)
  if not res then
    local kind = type(err) == "table" and err.kind
    if kind == "interrupted" then return nil, errors.new("INTERRUPTED", "interrupted") end
    if kind == "connect" or (not self.version_ok) then return nil, unreachable(self.ep, err and err.message) end
    if kind == "timeout" or (type(err) == "table" and err.code == "TIMEOUT") then
      return nil, errors.new("TIMEOUT", ("the Docker engine did not answer %s %s in time")
        :format(method, path), { context = { endpoint = self.ep.display } })
    end
    return nil, errors.new("ENGINE_UNAVAILABLE", ("Docker engine request %s %s failed: %s")
      :format(method, path, tostring(type(err) == "table" and (err.message or err.err) or err)),
      { context = { endpoint = self.ep.display } })
  end
  local ct = header(res, "content-type") or ""
  if (ct:find("json", 1, true) or (ct == "" and (res.body or ""):match("^%s*[%[{]")))
    and res.body and res.body ~= "" and not r.on_data then
    res.json = json.decode(res.body)
  end
  if res.status >= 400 and head and (res.body or "") == "" then
    res.body = table.concat(head)
    if ct:find("json", 1, true) then res.json = json.decode(res.body) end
  end
  if res.status == 400 and not self.version_ok and not r.retried
      and tostring(res.body):find("client version", 1, true) then
    -- A lazily connected client guessed a version newer than the engine's:
    -- settle it with /_ping and ask again.
    local pinged, perr = self:ping()
    if not pinged then return nil, perr end
    r.retried = true
    return self:request(r)
  end
  if res.status < 400 then
    self.version_ok = true
    if self.podman == nil then self:settle(res) end
  end
  if res.status >= 400 then
    local msg = res.json and res.json.message or (res.body or ""):gsub("%s+$", "")
    local text, hint = msg ~= "" and msg or ("HTTP " .. res.status), nil
    if res.status >= 500 then
      -- a server-side failure: say which request, after the retries deloc.http made
      local shown = path:gsub("%x+", function(id) return #id > 12 and id:sub(1, 12) or id end)
      text = ("the Docker engine answered HTTP %d to %s %s: %s"):format(res.status, method, shown, text)
      if res.status ~= 500 then hint = "the engine is busy or restarting; run the command again" end
    end
    local e = errors.new("DEPLOYMENT_FAILED", text, {
      status = res.status, engine_message = msg, context = { method = method, path = path }, hint = hint,
    })
    return nil, e
  end
  return res
end

-- Which requests take one of the `limit` slots: the ones that make the
-- engine work (create, start, remove...).  Reads, streams and requests that
-- mostly wait — a stop waiting for the process to exit, a probe's exec —
-- would only hold slots others need (20 stops of ~0.5 s each held six slots
-- for ~2 s of a 2.2 s `down`).
function M.limited(method, path, streaming)
  if streaming or method == "GET" or method == "HEAD" then return false end
  if path:match("/stop$") or path:match("/wait$") or path:match("/kill$") then return false end
  if path:match("^/exec/[^/]+/start$") then return false end
  return true
end

function Client:get(path, query, opts)
  local r = { method = "GET", path = path, query = query }
  for k, v in pairs(opts or {}) do r[k] = v end
  local res, err = self:request(r)
  if not res then return nil, err end
  return res.json or res.body, res
end

function Client:post(path, query, body, opts)
  local r = { method = "POST", path = path, query = query, body = body }
  for k, v in pairs(opts or {}) do r[k] = v end
  local res, err = self:request(r)
  if not res then return nil, err end
  return res.json or res.body or true, res
end

function Client:delete(path, query)
  local res, err = self:request({ method = "DELETE", path = path, query = query })
  if not res then return nil, err end
  return true, res
end

function Client:put(path, query, body, content_type)
  local res, err = self:request({ method = "PUT", path = path, query = query, body = body,
    content_type = content_type })
  if not res then return nil, err end
  return true, res
end

-- engine.new(endpoint [, opts]) -> client (not yet pinged)
function M.new(ep, opts)
  opts = opts or {}
  local c = setmetatable({
    ep = ep, version = opts.version or M.MAX_VERSION, timeout = opts.timeout or 60,
    calls = { total = 0, mutating = 0, by = {} },
  }, Client)
  local ok, sched = pcall(require, "deloc.sched")
  if ok then c.sem = sched.semaphore(opts.limit or M.LIMIT) end
  local trace = os.getenv("DELOC_TRACE_API")
  if trace and trace ~= "" then c.trace_file = io.open(trace, "a") end
  return c
end

-- What the engine is, from any answer's headers: Docker's version middleware
-- sets Api-Version on every response and Podman adds Libpod-Api-Version to
-- every one, so a lazily connected client learns it from its first request
-- and need not spend a /_ping on it.
function Client:settle(res)
  self.server_version = header(res, "api-version")
  self.podman = header(res, "libpod-api-version") ~= nil
end

-- Pings the engine and settles the API version.
function Client:ping()
  local res, err = self:request({ method = "GET", path = "/_ping", versioned = false, timeout = 10 })
  if not res then
    if errors.is(err) and err.code ~= "ENGINE_UNAVAILABLE" and not err.status then
      return nil, unreachable(self.ep, err.message)
    end
    if errors.is(err) and err.status then
      return nil, unreachable(self.ep, ("HTTP %d from /_ping: %s"):format(err.status, err.message))
    end
    return nil, err
  end
  self.version_ok = true
  local v = header(res, "api-version")
  if v and v:match("^%d+%.%d+$") then
    self.version = version_less(v, M.MAX_VERSION) and v or M.MAX_VERSION
  end
  self:settle(res)
  self.calls.total = self.calls.total - 1 -- the ping is bookkeeping, not work
  self.calls.by["GET /_ping"] = nil
  return self
end

-- engine.connect([{host=, limit=, timeout=}]) -> client | nil, err
function M.connect(opts)
  opts = opts or {}
  local ep, err = M.endpoint(opts.host)
  if not ep then return nil, err end
  if os.getenv("DOCKER_API_VERSION") and os.getenv("DOCKER_API_VERSION") ~= "" then
    opts.version = os.getenv("DOCKER_API_VERSION")
  end
  -- DELOC_ENGINE_TIMEOUT=SECONDS: how long one request may take (default 60)
  local t = tonumber(os.getenv("DELOC_ENGINE_TIMEOUT") or "")
  if t and t > 0 and not opts.timeout then opts.timeout = t end
  local c = M.new(ep, opts)
  if opts.lazy then return c end
  return c:ping()
end

return M
