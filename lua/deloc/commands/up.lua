-- deloc up [SERVICES...]: plan, then converge the target to the plan.
local term = require("deloc.term")
local array = require("deloc.array")
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "up",
  aliases = { "deploy" }, -- the architecture document's verb
  order = 20,
  usage = "deloc up [SERVICES...] [--wait|--no-wait] [--timeout DURATION] [--remove-orphans] [--rollback]",
  summary = "start services (and what they need), sized to this machine",
  help = [[
Plans the services named (default: those in deloc.yaml) with their
dependencies, then converges the target to the plan: pulls missing images,
creates the project network, volumes and containers (or the Kubernetes
objects), and starts each service as soon as what it needs is healthy.  An
unchanged service is left alone; a changed one is recreated; a service no
longer planned is reported (--remove-orphans removes it).  With --wait (the
default on a terminal) deloc waits until every service is healthy and fails
naming the one that is not, with its last probe output and log lines; a
container that exits or restarts while deloc waits fails at once.
--rollback removes what this run created if it fails.  Secrets are generated
once per project under .deloc/secrets/ (mode 0600) and handed to containers as
files under /run/secrets/.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    cmdutil.profile_option,
    { "wait", help = "wait until every service is healthy (default on a terminal)" },
    cmdutil.timeout_option,
    { "remove-orphans", help = "remove containers of services no longer in the plan" },
    { "rollback", help = "on failure, remove what this run created" },
    cmdutil.wait_lock_option,
    cmdutil.mount_option,
  },
}

-- Table rows: a service's state on its first endpoint row.
local function endpoint_rows(out)
  local state_of = {}
  for _, r in pairs(out.result and out.result.components or {}) do
    if not state_of[r.service] or r.state == "failed" then state_of[r.service] = r.state end
  end
  local rows, json_rows, last = {}, {}, nil
  for _, e in ipairs(out.endpoints) do
    local first = e.service ~= last
    last = e.service
    rows[#rows + 1] = { first and e.service or "", first and (state_of[e.service] or "-") or "",
      e.address or "", e.connection or "" }
    json_rows[#json_rows + 1] = { service = e.service, component = e.component, state = state_of[e.service] or "-",
      endpoints = e.address, connection = e.connection }
  end
  return rows, json_rows
end

local COUNTS = { "created", "changed", "recreated", "configured", "unchanged", "elapsed", "objects", "namespace" }
local LISTS = { "failed", "orphans", "removed" }

local function print_result(s, out, err)
  local res = out.result
  local rows, json_rows = endpoint_rows(out)
  if s.opts.json then
    local r
    if res then
      r = {}
      for _, k in ipairs(COUNTS) do r[k] = res[k] end
      for _, k in ipairs(LISTS) do r[k] = array.of(res[k] or {}) end
    end
    cmdutil.print_json({ ok = err == nil, project = out.plan.project, target = s.target, result = r,
      endpoints = array.of(json_rows) })
    return
  end
  if not res or (err and #(res.failed or {}) >= #out.plan.order) then return end
  if res.location then
    io.stdout:write(("\n%s: %d created, %d changed, %d unchanged\n"):format(res.location, res.created or 0,
      res.changed or 0, res.unchanged or 0))
  else
    io.stdout:write("\n")
  end
  local cols = s.driver.columns.endpoints or { "ENDPOINT", "CONNECTION" }
  cmdutil.table({ "SERVICE", "STATE", cols[1], cols[2] }, rows)
  for _, sname in ipairs(out.plan.order) do
    for _, conn in ipairs(out.plan.services[sname].connections or {}) do
      if conn:find("<secret", 1, true) then
        io.stdout:write("secrets: .deloc/secrets/<service>.<name> (mode 0600), never printed\n")
        return
      end
    end
  end
end

function M.run(opts, rest)
  local timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  -- Like plan and generate: up is a short batch of planning, then waiting on
  -- the engine; compiling traces costs more CPU than it saves (no-op up of
  -- 50 services: ~6 ms less CPU, measured), and waiting needs no JIT.
  jit.off()
  local s
  -- lazy: the container list, the first request, settles the engine; a
  -- /_ping first would only add a round trip to every (even no-op) up
  s, err = cmdutil.open(opts, { lock = true, progress = true, lazy = true })
  if not s then return nil, err end
  local wait = opts.wait
  if wait == nil then wait = term.isatty("stdout") end
  cmdutil.catch_signals()
  local out
  out, err = require("deloc.stack").up(s, rest, { wait = wait, timeout = timeout,
    rollback = opts.rollback, remove_orphans = opts.remove_orphans,
    on_plan = function(plan)
      if s.state_warning then s.progress:note("warning: " .. s.state_warning) end
      for _, w in ipairs(plan.warnings or {}) do s.progress:note("warning: " .. tostring(w)) end
    end })
  cmdutil.close(s)
  cmdutil.release_signals()
  out = out or (err and err.up)
  if out then
    for _, n in ipairs(out.result and out.result.notes or {}) do io.stderr:write("warning: ", n, "\n") end
    print_result(s, out, err)
  end
  if err then return nil, cmdutil.failure(err) end
  return 0
end

return M
