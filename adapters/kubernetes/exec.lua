-- deloc.adapters.kubernetes.exec: a process in a running pod through the
-- pods/exec subresource, and `cp` as tar over it (what kubectl does).
--
--   exec.find(c, project, target) -> pod, container | nil, err
--     target = { service=, component=, replica= }: the running pods with the
--     labels deloc puts on them, replica N the Nth by name (StatefulSet pods
--     end in -N-1); a pod that is not Running is an error that says so
--   exec.capture(c, pod, container, argv, opts) -> { code=, stdout=, stderr= } | nil, err
--     opts = { input = string (stdin, then end of input), on_stdout = fn(s),
--              on_stderr = fn(s) (stream instead of collecting), timeout = s }
--   exec.for_driver(c, project, target, argv, opts)   the driver's exec
--   exec.cp(c, project, from, to, opts)               the driver's cp
--
-- The stream: GET .../pods/NAME/exec?command=...  on a raw connection
-- (deloc.native.stream, libcurl CONNECT_ONLY: TLS with the kubeconfig's CA
-- and client certificate) upgraded to a WebSocket with subprotocol
-- v5.channel.k8s.io (or v4): every message starts with its channel byte,
-- 1 stdout, 2 stderr, 3 the exit status; v5 lets us close stdin (channel
-- 255), which v4 cannot, so input needs v5 (Kubernetes 1.30 and later).
local errors = require("deloc.errors")
local ws = require("deloc.adapters.kubernetes.ws")
local build = require("deloc.adapters.kubernetes.build")

local M = {}

M.PROTOCOLS = { "v5.channel.k8s.io", "v4.channel.k8s.io" }

local function native() return require("deloc.native.stream") end

local function fail(code, msg, hint)
  return nil, errors.new(code, msg, { hint = hint })
end

local function replica_of(name, index)
  return tonumber(name:match("%-(%d+)$") or "") and tonumber(name:match("%-(%d+)$")) + 1 or index
end

local function pick_component(pods, target)
  local comps, seen = {}, {}
  for _, p in ipairs(pods) do
    local comp = p.metadata.labels[build.LABEL.component]
    if comp and not seen[comp] then seen[comp] = true; comps[#comps + 1] = comp end
  end
  table.sort(comps)
  if target.component then return seen[target.component] and target.component or nil, comps end
  if #comps == 1 then return comps[1] end
  if seen[target.service] then return target.service end
  return nil, comps
end

function M.find(c, project, target)
  local ns = build.namespace(project)
  local pods, err = c:list("Pod", ns, build.selector(project, target.service))
  if not pods then
    if err.status ~= 404 then return nil, err end
    pods = {}
  end
  if #pods == 0 then
    return fail("SERVICE_NOT_FOUND", ("no service '%s' is deployed in project '%s'"):format(target.service, project),
      "'deloc status' lists what runs; 'deloc up " .. target.service .. "' starts it")
  end
  local comp, comps = pick_component(pods, target)
  if not comp then
    local names = {}
    for i, n in ipairs(comps) do names[i] = target.service .. "." .. n end
    return fail("SERVICE_NOT_FOUND", target.component and ("no component '%s' in service '%s'"):format(
      target.component, target.service) or ("service '%s' has several components"):format(target.service),
      "name one: " .. table.concat(names, ", "))
  end
  local mine = {}
  for _, p in ipairs(pods) do
    if p.metadata.labels[build.LABEL.component] == comp and not p.metadata.deletionTimestamp then
      mine[#mine + 1] = p
    end
  end
  table.sort(mine, function(a, b) return a.metadata.name < b.metadata.name end)
  local want = target.replica or 1
  for i, p in ipairs(mine) do
    if replica_of(p.metadata.name, i) == want then
      local phase = (p.status or {}).phase
      if phase ~= "Running" then
        return fail("DEPLOYMENT_FAILED", ("%s.%s (pod %s) is not running (%s)"):format(target.service, comp,
          p.metadata.name, tostring(phase)), "'deloc status " .. target.service .. "' says why")
      end
      local ctrs = p.spec.containers
      local name = ctrs[1].name
      for _, ct in ipairs(ctrs) do if ct.name == comp then name = ct.name end end
      return p, name
    end
  end
  return fail("SERVICE_NOT_FOUND", ("%s.%s has no replica %d"):format(target.service, comp, want))
end

local function stream_error(msg)
  return errors.new("ENGINE_UNAVAILABLE", "exec stream: " .. tostring(msg))
end

-- The upgrade request and the answer's head -> conn, protocol | nil, err
function M.open(c, path, query)
  local conn, cerr = native().connect({ url = c.server .. "/", cacert = c.cacert, cert = c.cert,
    key = c.key, insecure = c.insecure })
  if not conn then
    return nil, errors.new("ENGINE_UNAVAILABLE", ("cannot open a stream to %s: %s"):format(c:describe(), tostring(cerr)))
  end
  local host = c.server:match("^https?://([^/]+)") or "localhost"
  local key = require("deloc.kubeconfig").base64_encode(ws.random(16))
  local lines = { ("GET %s%s HTTP/1.1"):format(path, query), "Host: " .. host, "User-Agent: deloc",
    "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: " .. key, "Sec-WebSocket-Protocol: " .. table.concat(M.PROTOCOLS, ", ") }
  if c.token then lines[#lines + 1] = "Authorization: Bearer " .. c.token end
  lines[#lines + 1] = ""
  lines[#lines + 1] = ""
  local ok, err = conn:send(table.concat(lines, "\r\n"))
  if not ok then conn:close(); return nil, stream_error(err) end
  local head = ""
  while not head:find("\r\n\r\n", 1, true) do
    local chunk, rerr = conn:recv(30000)
    if not chunk or chunk == "" then conn:close(); return nil, stream_error(rerr or "closed before answering") end
    head = head .. chunk
    if #head > 65536 then conn:close(); return nil, stream_error("answer head too long") end
  end
  local stop = head:find("\r\n\r\n", 1, true)
  local rest = head:sub(stop + 4)
  local status = tonumber(head:match("^HTTP/[%d.]+ (%d%d%d)"))
  local proto = head:sub(1, stop):lower():match("\r\nsec%-websocket%-protocol:%s*([%w%.%-]+)")
  if status ~= 101 then
    conn:close()
    local st = require("deloc.json").decode(rest)
    local msg = type(st) == "table" and type(st.message) == "string" and st.message or head:match("^[^\r\n]*")
    local code = status == 404 and "SERVICE_NOT_FOUND" or "DEPLOYMENT_FAILED"
    if status == 401 or status == 403 then
      return nil, errors.new(code, ("%s refused pods/exec: %s"):format(c:describe(), msg),
        { status = status, hint = ("user '%s' needs the 'create' right on pods/exec (RBAC)"):format(c.user or "?") })
    end
    return nil, errors.new(code, "exec: " .. msg, { status = status })
  end
  -- the answer proves it read our key (RFC 6455 4.1: else fail the
  -- connection), so no cache or proxy in between answers for the server
  local accept
  for name, value in head:sub(1, stop):gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
    if name:lower() == "sec-websocket-accept" then accept = value:gsub("%s+$", "") end
  end
  if accept ~= ws.accept(key) then
    conn:close()
    return nil, stream_error("the API server's WebSocket answer does not match the key deloc sent "
      .. "(Sec-WebSocket-Accept " .. (accept and "wrong" or "missing") .. ")")
  end
  if proto ~= "v5.channel.k8s.io" and proto ~= "v4.channel.k8s.io" then
    conn:close()
    return nil, stream_error("the API server agreed no channel protocol deloc speaks (" .. tostring(proto) .. ")")
  end
  if rest ~= "" then conn:unread(rest) end
  return conn, proto
end

function M.query(container, argv, stdin, tty)
  local http = require("deloc.http")
  local q = {}
  for _, a in ipairs(argv) do q[#q + 1] = "command=" .. http.urlencode(a) end
  q[#q + 1] = "container=" .. http.urlencode(container)
  q[#q + 1] = "stdout=true"
  q[#q + 1] = "stderr=true"
  if stdin then q[#q + 1] = "stdin=true" end
  if tty then q[#q + 1] = "tty=true" end
  return "?" .. table.concat(q, "&")
end

local function send_input(conn, proto, input)
  local CHUNK = 32768
  for i = 1, #input, CHUNK do
    local ok, err = conn:send(ws.frame(ws.BINARY, ws.message(ws.STDIN, input:sub(i, i + CHUNK - 1))))
    if not ok then return nil, err end
  end
  if proto == "v5.channel.k8s.io" then return conn:send(ws.frame(ws.BINARY, ws.close_stdin())) end
  return true
end

-- Reads messages until the server closes; -> status text | nil, err
local function read_loop(conn, sinks, timeout)
  local p = ws.parser()
  local status
  while true do
    local chunk, rerr = conn:recv(timeout)
    if not chunk then return nil, rerr == "timeout" and "no output in time" or rerr end
    if chunk == "" then return status end
    local msgs, perr = p:feed(chunk)
    if not msgs then return nil, perr end
    for _, m in ipairs(msgs) do
      if m.opcode == ws.PING then
        conn:send(ws.frame(ws.PONG, m.data))
      elseif m.opcode == ws.CLOSE then
        conn:send(ws.frame(ws.CLOSE, m.data:sub(1, 2)))
        return status
      elseif (m.opcode == ws.BINARY or m.opcode == ws.TEXT) and #m.data > 1 then
        local ch, data = m.data:byte(1), m.data:sub(2)
        if ch == ws.ERROR then status = (status or "") .. data
        elseif sinks[ch] then sinks[ch](data) end
      end
    end
  end
end

function M.capture(c, pod, container, argv, opts)
  opts = opts or {}
  local path = ("/api/v1/namespaces/%s/pods/%s/exec"):format(pod.metadata.namespace, pod.metadata.name)
  local conn, proto = M.open(c, path, M.query(container, argv, opts.input ~= nil, false))
  if not conn then return nil, proto end
  if opts.input then
    if proto ~= "v5.channel.k8s.io" then
      conn:close()
      return fail("DEPLOYMENT_FAILED", "input to a process in a pod needs the v5.channel.k8s.io protocol " ..
        "(end of input), which this API server does not speak", "Kubernetes 1.30 and later speak it")
    end
    local ok, err = send_input(conn, proto, opts.input)
    if not ok then conn:close(); return nil, stream_error(err) end
  end
  local out, errs = {}, {}
  local sinks = {
    [ws.STDOUT] = opts.on_stdout or function(s) out[#out + 1] = s end,
    [ws.STDERR] = opts.on_stderr or function(s) errs[#errs + 1] = s end,
  }
  local ok, status, err = pcall(read_loop, conn, sinks, (opts.timeout or 3600) * 1000)
  conn:close()
  if not ok then error(status, 0) end
  if not status then
    if err then return nil, stream_error(err) end
    return nil, stream_error("the stream ended without the process's exit status")
  end
  local code, why = ws.exit_code(status)
  if not code then return fail("DEPLOYMENT_FAILED", "exec: " .. why) end
  return { code = code, stdout = table.concat(out), stderr = table.concat(errs) }
end

-- env as an `env K=V ...` prefix: the API has no environment field (values
-- are visible in the pod's process list, so only for non-secret values)
-- env = { "K=V" } or { K = V }
local function with_env(argv, env)
  local kv = {}
  for k, v in pairs(env or {}) do kv[#kv + 1] = type(k) == "number" and tostring(v) or (k .. "=" .. tostring(v)) end
  if #kv == 0 then return argv end
  table.sort(kv)
  local out = { "env" }
  for _, a in ipairs(kv) do out[#out + 1] = a end
  for _, a in ipairs(argv) do out[#out + 1] = a end
  return out
end

function M.for_driver(c, project, target, argv, opts)
  opts = opts or {}
  if opts.user then
    return fail("USAGE", "--user is not available for the kubernetes target: pods/exec runs as the container's user",
      "set the user in the recipe (it becomes the pod's securityContext)")
  end
  if opts.workdir then
    return fail("USAGE", "--workdir is not available for the kubernetes target: pods/exec has no working directory",
      "run 'sh -c \"cd DIR && CMD\"' instead")
  end
  -- as the Docker driver: without a terminal or stdin the output is collected
  local capture = opts.capture or not (opts.tty or opts.stdin)
  local pod, container = M.find(c, project, target)
  if not pod then return nil, container end
  argv = with_env(argv, opts.env)
  if capture then return M.capture(c, pod, container, argv, opts) end
  local code, err = require("deloc.adapters.kubernetes.attach").run(c, pod, container, argv, opts)
  if not code then return nil, err end
  return { code = code }
end

return M
