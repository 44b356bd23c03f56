-- deloc.drivers: the interface every live target implements.  A driver is
-- the module deloc.adapters.<name> (adapters/<name>.lua, its parts in
-- adapters/<name>/) with `interface = "driver"`; deloc.targets finds it by
-- name, so adding a target is that folder and nothing else.
--
-- Every method takes a session `s` first (deloc.session opens it):
--   s.project = { name=, dir=, ... }   s.conn = what connect returned
--   s.emit(ev)  the progress sink: ev = { service=, component=, state=, detail= }
--   s.opts      the command's options (read-only; drivers take what they need)
-- Drivers never print; they return data or `nil, err` (deloc.errors).
--
--   driver.connect(opts) -> conn | nil, err        opts = { context=, lazy= }
--     conn.notes: warnings to show the user now (e.g. an insecure kubeconfig)
--   driver.capacity(s) -> capacity | nil, err      what the planner sizes to
--     capacity = { cpu=, memory=, disk=, source=, nodes = {...}|nil, warning = "..."|nil }
--   driver.plan_inputs(s) -> { listening = { [port] = true } | nil }   planner inputs
--   driver.describe(s, plan) -> "where this plan goes" line | nil
--   driver.diff(s, plan) -> changes | nil, err      computed once per run
--     changes = { services = { [svc] = "new"|"changed"|"scaled"|"stopped" },
--                 components = { ["svc/comp"] = driver's own decision } }
--   driver.apply(s, plan, changes, opts) -> result | nil, err (err.result = result)
--     opts = { wait=, timeout=, rollback=, remove_orphans=, partial=, previous=,
--              only = { svc, ... } (deploy just these), known_ready=, tick= }
--     result = { components = { ["svc/comp"] = { service=, component=, state=, ready=,
--                ids=, error= } }, failed = { "svc/comp" }, created=, changed=,
--                unchanged=, removed = {}, orphans = {}, elapsed=, location=, notes = {} }
--   driver.scale(s, plan, changes, opts) -> result | nil, err  (apply of what scaling changes)
--   driver.endpoints(s, plan) -> { { service=, component=, address=, connection= } }
--   driver.status(s, { services=, stats= }) -> rows (deloc.drivers.ROW)
--   driver.health(s, { services= }) -> rows: ROW + { healthy = bool, output = "last check" }
--   driver.logs(s, { services=, follow=, tail=, since=, timestamps=, on_line = fn(l) })
--     -> lines | nil, err;  l = { service=, component=, key=, stream=, time=, text= }
--   driver.since(text) -> the --since value in the driver's terms | nil, err
--   driver.exec(s, target, argv, opts) -> { code=, stdout=, stderr= } | nil, err
--     target = { service=, component= (default: the service's primary), replica= (1) }
--     opts = { tty=, stdin=, env = { K = V }, user=, workdir=, capture = true }
--   driver.cp(s, from, to, opts) -> true | nil, err
--     from/to = a local path or { service=, component=, replica=, path= }
--   driver.remove(s, { services=, volumes=, stop_only=, all=, timeout= }) -> summary
--     summary = { removed = {}, stopped = {}, volumes = {}, network=|nil, namespace=|nil }
--   driver.backup(s, plan, service, write) -> { kind=, bytes= } | nil, err
--   driver.restore(s, plan, service, data) -> { kind=, bytes= } | nil, err
--
-- ROW, one shape for every target (fields a target does not know stay nil):
--   { service=, component=, replica=, name=, id=, kind = "service"|"oneshot",
--     state=, detail=, health=, exit_code=, uptime=, ports = { "..." }, image=,
--     workload=, ready = "1/1", restarts=, nodes = { "..." }, cpu_percent=,
--     memory=, memory_limit= }
-- driver.columns.status lists the optional ROW fields the target fills, in
-- the order a table shows them.
local errors = require("deloc.errors")

local M = {}

M.METHODS = { "connect", "capacity", "plan_inputs", "describe", "diff", "apply", "scale",
  "endpoints", "status", "health", "logs", "since", "exec", "cp", "remove", "backup", "restore" }

-- missing(driver) -> { method names the driver lacks } (a spec holds every driver to none)
function M.missing(driver)
  local out = {}
  for _, m in ipairs(M.METHODS) do
    if type(driver[m]) ~= "function" then out[#out + 1] = m end
  end
  return out
end

-- What a target cannot do: a clear error, the same words everywhere.
function M.unsupported(target, what, hint)
  return nil, errors.new("USAGE", ("'deloc %s' is not available for the %s target"):format(what, target),
    { hint = hint })
end

return M
