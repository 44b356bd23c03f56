-- deloc.health: the container health check of a planned component, in the
-- form the Docker Engine API and Compose both take.  One rule for both, so a
-- stack generated with `deloc generate compose` checks its services exactly
-- as `deloc up` does.
--
--   health.test(h) -> { "CMD", argv... } | { "CMD-SHELL", script } | nil
--   health.timing(h) -> { interval=, timeout=, retries=, start_period= }   (seconds)
--
-- h is a planned health ({ kind=, exec=, port=, path=, interval=, ... }).
-- Log patterns have no test: deloc watches them itself, during `up` only.
local array = require("deloc.array")

local M = {}

-- Steady-state health checks run no more often than this: 20 containers
-- checking every second use half of a 2-core machine.  deloc probes on its
-- own, promptly, while it waits during `up`.
M.MIN_INTERVAL = 5

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- An exec check as given, except that an argument with white space goes
-- through the shell: Podman 4 splits CMD arguments on spaces, so a
-- `sh -c SCRIPT` becomes CMD-SHELL SCRIPT and anything else an `exec` of the
-- quoted words.
local function exec_test(argv)
  local spaced = false
  for _, a in ipairs(argv) do if tostring(a):find("%s") then spaced = true end end
  if spaced and #argv == 3 and argv[1] == "sh" and argv[2] == "-c" then
    return array.of({ "CMD-SHELL", tostring(argv[3]) })
  elseif spaced then
    local q = {}
    for i, a in ipairs(argv) do q[i] = quote(a) end
    return array.of({ "CMD-SHELL", "exec " .. table.concat(q, " ") })
  end
  local test = array.of({ "CMD" })
  for _, a in ipairs(argv) do test[#test + 1] = tostring(a) end
  return test
end

-- http and tcp go through a shell with whatever client the image has.
function M.test(h)
  if not h or not h.kind then return nil end
  if h.kind == "exec" and h.exec then
    return exec_test(h.exec)
  elseif h.kind == "http" and h.port then
    local url = ("http://127.0.0.1:%d%s"):format(h.port, h.path or "/")
    return array.of({ "CMD-SHELL", ("curl -fsS -o /dev/null '%s' || wget -q -O /dev/null '%s'")
      :format(url, url) })
  elseif h.kind == "tcp" and h.port then
    return array.of({ "CMD-SHELL", ("nc -z 127.0.0.1 %d || bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'")
      :format(h.port, h.port) })
  end
  return nil
end

function M.timing(h)
  return {
    interval = math.max(tonumber(h.interval) or M.MIN_INTERVAL, M.MIN_INTERVAL),
    timeout = tonumber(h.timeout) or 3,
    retries = math.floor(tonumber(h.retries) or 3),
    start_period = tonumber(h.start_period) or 0,
  }
end

return M
