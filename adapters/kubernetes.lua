-- deloc.adapters.kubernetes: the Kubernetes driver (deloc.drivers has the
-- interface every driver implements).  It talks HTTPS to the API server
-- (deloc.http; no kubectl or helm at run time), applies the very objects the
-- Helm chart templates (deloc.k8s.objects) with server-side apply, and finds
-- what it made again by the labels dev.deloc.project / service / component
-- in the namespace "deloc-<project>".  Its parts: kubernetes/client.lua,
-- build.lua (objects from the plan), apply.lua (converge steps), ops.lua
-- (capacity, placement, status, health, logs, scale, removal, endpoints),
-- exec.lua + ws.lua (pods/exec over a WebSocket), cp.lua (tar over exec).
--
--   also: k8s.place(plan, capacity), k8s.objects(plan, root), k8s.namespace(project)
-- Every call works inside or outside a sched task.
local sched = require("deloc.sched")
local errors = require("deloc.errors")
local client = require("deloc.adapters.kubernetes.client")
local build = require("deloc.adapters.kubernetes.build")
local apply = require("deloc.adapters.kubernetes.apply")
local ops = require("deloc.adapters.kubernetes.ops")

local L = build.LABEL
local M = {
  name = "kubernetes",
  interface = "driver",
  where = "the cluster",
  columns = { status = { "workload", "ready", "restarts", "nodes" },
              endpoints = { "ADDRESS (in the cluster)", "FROM THIS MACHINE" } },
  -- what the planner needs to know of this target (deloc.plan.traits)
  traits = {
    title = "Kubernetes",
    local_build = false,      -- the nodes pull images; one built here does not reach them
    writable_mounts = false,  -- project files go in as ConfigMaps, read-only
    mounts_note = "a host path does not reach the cluster; small read-only files go in as ConfigMaps",
    cpu = "request",          -- a request is reserved on a node: the minimums must be schedulable
    more_memory = "add cluster memory",
  },
}
M.LABEL = L

local function in_task(fn, ...)
  if sched.current() then return fn(...) end
  local args = { n = select("#", ...), ... }
  local r
  local ok, e = sched.wait(sched.spawn(function() r = { fn(unpack(args, 1, args.n)) } end))
  if not ok then error(e, 0) end
  return unpack(r, 1, 3)
end

function M.connect(opts)
  local c, err = client.connect({ context = (opts or {}).context })
  if not c then return nil, err end
  c.notes = c.config_warnings
  return c
end

-- The nodes' allocatable minus what is requested; the planner places every
-- replica on a node, and a plan whose replicas do not all fit does not.
function M.capacity(s)
  return in_task(ops.capacity, s.conn)
end

function M.plan_inputs() return {} end

function M.describe(s, plan)
  return ("cluster: %s (context '%s'), namespace %s"):format(s.conn.server, s.conn.context,
    build.namespace(plan.project))
end

-- What up will change, from the workloads' config-hash labels and replica
-- counts against the plan (one list request per workload kind).
function M.diff(s, plan)
  local have, err = in_task(apply.existing, s.conn, plan.project, { "Deployment", "StatefulSet", "Job" })
  if not have then
    if errors.is(err) and err.status == 404 then have = {} else return nil, err end
  end
  local by, jobs = {}, {}
  for _, o in pairs(have) do
    local lab = o.metadata.labels or {}
    local key = (lab[L.service] or "?") .. "/" .. (lab[L.component] or "?")
    if o.kind == "Job" then -- a new configuration is a new Job
      jobs[key] = jobs[key] or {}
      jobs[key][lab[L.hash] or ""] = o
    else
      by[key] = o
    end
  end
  local out = { services = {}, components = {} }
  local rank = { stopped = 1, scaled = 2, new = 3, changed = 4 }
  for _, sname in ipairs(plan.order) do
    local svc = plan.services[sname]
    for _, cname in ipairs(svc.component_order) do
      local comp = svc.components[cname]
      local key = sname .. "/" .. cname
      local o, why = by[key], nil
      if comp.kind == "oneshot" then
        if not jobs[key] then why = "new" elseif not jobs[key][tostring(comp.config_hash)] then why = "changed" end
      elseif not o then why = "new"
      elseif (o.metadata.labels or {})[L.hash] ~= comp.config_hash then why = "changed"
      else
        local n = (o.spec or {}).replicas or 1
        if n == 0 and (comp.replicas or 1) > 0 then why = "stopped"
        elseif n ~= (comp.replicas or 1) then why = "scaled" end
      end
      out.components[key] = why
      local cur = out.services[sname]
      if why and (not cur or rank[why] > rank[cur]) then out.services[sname] = why end
    end
  end
  return out
end

function M.apply(s, plan, _, opts)
  opts = opts or {}
  local previous = opts.previous
  if previous and previous.target ~= "kubernetes" then previous = nil end
  local res, err = in_task(apply.run, s.conn, plan, {
    root = s.project.dir or ".", on_event = s.emit, tick = s.tick, wait = opts.wait,
    timeout = opts.timeout, rollback = opts.rollback, previous = previous,
    remove_orphans = opts.remove_orphans, partial = opts.partial or opts.only ~= nil, only = opts.only,
  })
  local r = res or (err and err.result)
  if r then
    r.changed = r.configured
    r.location = ("namespace %s on %s (context '%s')"):format(r.namespace, s.conn.server, s.conn.context)
    r.notes = {}
    for _, w in ipairs(s.conn.warnings or {}) do r.notes[#r.notes + 1] = "the API server said: " .. w end
  end
  return res, err
end

-- Scaling is applying the plan with the new counts (and waiting for them).
function M.scale(s, plan, changes, opts)
  local o = { wait = true }
  for k, v in pairs(opts or {}) do if o[k] == nil then o[k] = v end end
  return M.apply(s, plan, changes, o)
end

function M.endpoints(_, plan)
  local rows = {}
  local eps, seen = ops.endpoints(plan), {}
  for _, e in ipairs(eps) do
    seen[e.service] = true
    rows[#rows + 1] = { service = e.service, component = e.component, port = e.port,
      address = e.address, connection = e.forward, ["local"] = e["local"] }
  end
  local out = {}
  for _, sname in ipairs(plan.order) do
    if not seen[sname] then out[#out + 1] = { service = sname, address = "-", connection = "" } end
    for _, r in ipairs(rows) do if r.service == sname then out[#out + 1] = r end end
  end
  return out
end

-- Rows of the one shape (deloc.drivers): a workload a row, its pods along.
function M.status(s, opts)
  local rows, err = in_task(ops.status, s.conn, s.project.name, opts)
  if not rows then return nil, err end
  for _, r in ipairs(rows) do
    local restarts, nodes = 0, {}
    for _, p in ipairs(r.pods) do
      restarts = restarts + p.restarts
      if p.node then nodes[#nodes + 1] = p.node end
    end
    r.workload = r.kind:lower() .. "/" .. r.name
    r.kind = r.kind == "Job" and "oneshot" or "service"
    r.restarts, r.nodes, r.replica = restarts, nodes, 1
    r.pods = require("deloc.array").of(r.pods)
  end
  return rows
end

function M.health(s, opts)
  return in_task(ops.health, s.conn, s.project.name, opts)
end

-- --since: a duration (10m, 2h) or a unix time, as the API's sinceSeconds.
function M.since(text)
  local n = tonumber(text)
  if n then return { seconds = math.max(1, math.floor(os.time() - n)) } end
  local d, err = require("deloc.quantity").duration(text)
  if not d then
    return nil, errors.new("USAGE", ("--since '%s': %s"):format(tostring(text), tostring(err)),
      { hint = "the kubernetes target takes a duration (10m, 2h) or a unix time" })
  end
  return { seconds = math.max(1, math.floor(d)) }
end

function M.logs(s, opts)
  return in_task(ops.logs, s.conn, s.project.name, opts.services, opts)
end

-- pods/exec over a WebSocket (kubernetes/exec.lua); cp is tar over it.
-- Without a connection (deloc.commands.exec asks a bare session whether the
-- verb exists at all) they fail as unreachable, never as a usage error.
local function unreachable()
  return nil, errors.new("ENGINE_UNAVAILABLE", "not connected to the Kubernetes API server")
end

function M.exec(s, target, argv, opts)
  if not s.conn then return unreachable() end
  return in_task(require("deloc.adapters.kubernetes.exec").for_driver, s.conn, s.project.name, target, argv, opts)
end

function M.cp(s, from, to, opts)
  if not s.conn then return unreachable() end
  return in_task(require("deloc.adapters.kubernetes.cp").for_driver, s.conn, s.project.name, from, to, opts)
end

-- stop: every Deployment and StatefulSet scaled to 0 (up brings them back);
-- all: every labelled object, the claims and the namespace.
function M.remove(s, opts)
  opts = opts or {}
  local project = s.project.name
  if opts.stop_only then
    local rows, err = M.status(s, { services = opts.services })
    if not rows then return nil, err end
    local out = { stopped = {} }
    for _, r in ipairs(rows) do
      if r.kind ~= "oneshot" then
        local ok, serr = in_task(ops.scale, s.conn, project, r.service, r.component, 0)
        if not ok then return nil, serr end
        out.stopped[#out.stopped + 1] = r.workload
        s.emit({ service = r.service, component = r.component, state = "stopped", detail = "scaled to 0" })
      end
    end
    return out
  end
  if opts.all then
    return in_task(ops.remove, s.conn, project, { volumes = true, namespace = true, on_event = s.emit })
  end
  return in_task(ops.remove, s.conn, project, { services = opts.services, volumes = opts.volumes,
    on_event = s.emit })
end

function M.backup(s, plan, service, write)
  if not s.conn then return unreachable() end
  return in_task(require("deloc.adapters.kubernetes.backup").backup, s.conn, plan, service, write)
end

function M.restore(s, plan, service, data)
  if not s.conn then return unreachable() end
  return in_task(require("deloc.adapters.kubernetes.backup").restore, s.conn, plan, service, data)
end

M.place = ops.place
M.objects = build.objects
M.namespace = build.namespace
M.quantity = ops.quantity

return M
