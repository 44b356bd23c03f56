-- deloc.adapters.kubernetes.commands: the lifecycle commands for the
-- kubernetes target.  lua/deloc/commands/<name>.lua hand over to these
-- through deloc.targets.delegate when the target is kubernetes; options are
-- the command's own (plus --target and --context).
--
--   commands.up(opts, rest) -> exit code | nil, err      (update is the same)
--   commands.plan / status / logs / health / scale / stop / down / clean
local errors = require("deloc.errors")
local json = require("deloc.json")
local array = require("deloc.array")
local term = require("deloc.term")
local cmdutil = require("deloc.cmdutil")
local k8s = require("deloc.adapters.kubernetes")

local M = {}

local function connect(opts, progress)
  local c, err = k8s.connect({ context = opts.context })
  if not c then return nil, err end
  for _, w in ipairs(c.config_warnings or {}) do
    if progress then progress:note("warning: " .. w) else io.stderr:write("warning: ", w, "\n") end
  end
  return c
end

-- The project and a connected client: how most read-only commands start.
local function project_and_client(opts)
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local c
  c, err = connect(opts)
  if not c then return nil, err end
  return project, c
end

local function overrides(opts, scale)
  local o = cmdutil.scale_overrides(scale) or {}
  if opts.set then
    local sets, err = require("deloc.commands.plan").parse_sets(opts.set)
    if not sets then return nil, err end
    for svc, v in pairs(sets) do
      o[svc] = o[svc] and require("deloc.planner").merge_override(o[svc], v) or v
    end
  end
  return next(o) and o or nil
end

-- The plan for the cluster: its capacity, then every replica placed on a
-- node (a plan whose replicas cannot all be placed does not fit).
local function plan_for(c, opts, services, project, previous, scale)
  local cap, err = k8s.capacity(c)
  if not cap then return nil, err end
  local o
  o, err = overrides(opts, scale)
  if err then return nil, err end
  local reserve = opts.reserve
  if reserve ~= nil then
    reserve, err = require("deloc.planner").reserve(reserve)
    if not reserve then return nil, err end
  end
  local plan
  plan, err = require("deloc.api").plan({
    services = (services and #services > 0) and services or nil,
    profile = opts.profile, file = opts.file, target = "kubernetes", project = project,
    capacity = { cpu = cap.cpu, memory = cap.memory, disk = cap.disk, source = cap.source },
    previous = previous, overrides = o, reserve = reserve, explain = opts.explain,
  })
  if not plan then return nil, err end
  local placed = k8s.place(plan, cap)
  plan.placement = { nodes = {}, unplaced = array.of(placed.unplaced or {}), reasons = placed.reasons }
  for _, n in ipairs(cap.nodes) do
    plan.placement.nodes[#plan.placement.nodes + 1] = { node = n.name, components = array.of(placed.by_node[n.name] or {}) }
  end
  plan.placement.nodes = array.of(plan.placement.nodes)
  if not placed.fits and plan.verdict.fits then
    plan.verdict.fits = false
    for _, name in ipairs(placed.unplaced) do
      plan.verdict.reasons[#plan.verdict.reasons + 1] = ("%s: %s"):format(name, placed.reasons[name] or "no node has room")
    end
  end
  return plan, nil, cap
end

local function not_fitting(plan)
  local v = plan.verdict or {}
  local choices = v.choices or {}
  return errors.new("RESOURCE_EXHAUSTED", "the stack does not fit the cluster (see 'deloc plan --target kubernetes')"
    .. ((v.reasons or {})[1] and (": " .. tostring(v.reasons[1])) or ""),
    { hint = #choices > 0 and ("try: " .. table.concat(choices, "; ")) or nil })
end

-- ---- plan ----

function M.plan(opts, args)
  local project, c = project_and_client(opts)
  if not project then return nil, c end
  local err
  local plan
  plan, err = plan_for(c, opts, args, project)
  if not plan then return nil, err end
  if opts.json then
    io.stdout:write(assert(json.encode(plan, { indent = true })), "\n")
  else
    local width
    if term.isatty("stdout") then width = term.width("stdout") end
    io.stdout:write(require("deloc.commands.plan").text(plan, { width = width }))
    io.stdout:write(("\ncluster: %s (context '%s'), namespace %s\n"):format(c.server, c.context,
      k8s.namespace(plan.project)))
    local rows = {}
    for _, n in ipairs(plan.placement.nodes) do
      rows[#rows + 1] = { n.node, #n.components > 0 and table.concat(n.components, ", ") or "-" }
    end
    for _, u in ipairs(plan.placement.unplaced) do
      rows[#rows + 1] = { "(no room)", u .. ": " .. tostring(plan.placement.reasons[u]) }
    end
    if #rows > 0 then
      io.stdout:write("placement:\n")
      cmdutil.table({ "NODE", "COMPONENTS" }, rows)
    end
  end
  if not plan.verdict.fits then return errors.exit_codes.RESOURCE_EXHAUSTED end
  return 0
end

-- ---- up / update ----

local function endpoint_rows(plan, result)
  local state_of = {}
  for _, r in pairs(result and result.components or {}) do
    if not state_of[r.service] or r.state == "failed" then state_of[r.service] = r.state end
  end
  local rows, eps = {}, k8s.endpoints(plan)
  local by = {}
  for _, e in ipairs(eps) do
    by[e.service] = by[e.service] or {}
    table.insert(by[e.service], e)
  end
  for _, s in ipairs(plan.order) do
    local list = by[s] or {}
    if #list == 0 then
      rows[#rows + 1] = { s, state_of[s] or "-", "-", "" }
    end
    for i, e in ipairs(list) do
      rows[#rows + 1] = { i == 1 and s or "", i == 1 and (state_of[s] or "-") or "", e.address, e.forward }
    end
  end
  return rows, eps
end

function M.up(opts, rest)
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local timeout
  timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local root = project.dir or "."
  local lock
  lock, err = cmdutil.lock(root, opts)
  if not lock then return nil, err end
  local function fail(e) lock:unlock(); return nil, e end
  local progress = cmdutil.progress(opts)
  local c
  c, err = connect(opts, progress)
  if not c then return fail(err) end
  local state = require("deloc.state")
  local st, warn = state.load(root, project.name)
  if not st then return fail(warn) end
  local plan
  plan, err = plan_for(c, opts, rest, project, st.plan, st.scale)
  if not plan then return fail(err) end
  if not plan.verdict.fits then return fail(not_fitting(plan)) end
  if warn then progress:note("warning: " .. warn) end
  for _, w in ipairs(plan.warnings or {}) do progress:note("warning: " .. tostring(w)) end
  local wait = opts.wait
  if wait == nil then wait = term.isatty("stdout") end

  cmdutil.catch_signals()
  local previous = st.plan
  local result
  result, err = k8s.apply(c, plan, {
    root = root, on_event = function(ev) progress:event(ev) end,
    tick = function() progress:tick() end, wait = wait, timeout = timeout,
    rollback = opts.rollback, previous = previous and previous.target == "kubernetes" and previous or nil,
    remove_orphans = opts.remove_orphans, partial = rest and #rest > 0,
  })
  progress:finish()
  cmdutil.release_signals()
  local res = result or (err and err.result)
  for _, w in ipairs(c.warnings) do io.stderr:write("warning: the API server said: ", w, "\n") end

  local failed = {}
  for _, key in ipairs(res and res.failed or {}) do failed[key:match("^[^/]+")] = true end
  for _, sname in ipairs(plan.order) do
    if failed[sname] then
      state.set_service(st, sname, "Failed", "see 'deloc status'")
    elseif res then
      state.set_service(st, sname, wait and "Running" or "Deploying")
    end
  end
  if not err then st.plan = plan end
  if not res or res.created + res.configured > 0 or err or #(res.removed or {}) > 0 or not st.plan then
    state.record(st, "up", { services = plan.order, target = "kubernetes",
      result = err and (err.code or "failed") or "ok", created = res and res.created,
      configured = res and res.configured })
  end
  local ok_save, serr = state.save(root, st)
  lock:unlock()
  if not ok_save and not err then err = serr end

  local rows, eps = endpoint_rows(plan, res)
  if opts.json then
    cmdutil.print_json({ ok = err == nil, project = plan.project, target = "kubernetes",
      namespace = k8s.namespace(plan.project), context = c.context,
      result = res and { created = res.created, configured = res.configured, unchanged = res.unchanged,
        failed = array.of(res.failed), orphans = array.of(res.orphans), removed = array.of(res.removed),
        elapsed = res.elapsed, objects = res.objects } or nil,
      endpoints = array.of(eps), warnings = array.of(c.warnings) })
  elseif res then
    io.stdout:write(("\nnamespace %s on %s (context '%s'): %d created, %d changed, %d unchanged\n")
      :format(res.namespace, c.server, c.context, res.created, res.configured, res.unchanged))
    cmdutil.table({ "SERVICE", "STATE", "ADDRESS (in the cluster)", "FROM THIS MACHINE" }, rows)
  end
  if err then return nil, cmdutil.failure(err) end
  return 0
end

M.update = M.up

-- ---- status / health ----

function M.status(opts, rest)
  local project, c = project_and_client(opts)
  if not project then return nil, c end
  local err
  local rows
  rows, err = k8s.status(c, project.name, { services = rest })
  if not rows then return nil, err end
  if opts.json then
    for _, r in ipairs(rows) do r.pods = array.of(r.pods) end
    cmdutil.print_json({ project = project.name, target = "kubernetes", namespace = k8s.namespace(project.name),
      services = array.of(rows) })
    return 0
  end
  if #rows == 0 then
    io.stdout:write(("nothing deployed for project '%s' in namespace %s\n"):format(project.name,
      k8s.namespace(project.name)))
    return 0
  end
  local out = {}
  for _, r in ipairs(rows) do
    local name = r.service
    if r.component ~= r.service then name = name .. "/" .. r.component end
    local restarts, nodes = 0, {}
    for _, p in ipairs(r.pods) do
      restarts = restarts + p.restarts
      if p.node then nodes[#nodes + 1] = p.node end
    end
    out[#out + 1] = { name, r.kind:lower() .. "/" .. r.name, r.state .. (r.detail and r.state ~= "ready"
      and (" (" .. r.detail .. ")") or ""), r.ready, tostring(restarts), #nodes > 0 and table.concat(nodes, ",") or "-" }
  end
  cmdutil.table({ "SERVICE", "WORKLOAD", "STATE", "READY", "RESTARTS", "NODES" }, out)
  return 0
end

function M.health(opts, rest)
  local project, c = project_and_client(opts)
  if not project then return nil, c end
  local err
  local rows
  rows, err = k8s.health(c, project.name, { services = rest })
  if not rows then return nil, err end
  local ok
  ok, err = cmdutil.check_services(rows, rest)
  if not ok then return nil, err end
  local bad = {}
  for _, r in ipairs(rows) do
    if not r.healthy then bad[#bad + 1] = r.component ~= r.service and (r.service .. "/" .. r.component) or r.service end
  end
  if opts.json then
    cmdutil.print_json({ project = project.name, healthy = #bad == 0 and #rows > 0, services = array.of(rows) })
  elseif #rows > 0 then
    local t = {}
    for _, r in ipairs(rows) do
      local name = r.component ~= r.service and (r.service .. "/" .. r.component) or r.service
      t[#t + 1] = { name, r.healthy and "healthy" or r.state, r.output or "" }
    end
    cmdutil.table({ "SERVICE", "HEALTH", "DETAIL" }, t)
  end
  if #rows == 0 then
    return nil, errors.new("UNHEALTHY", ("nothing deployed for project '%s'"):format(project.name))
  end
  if #bad > 0 then return nil, errors.new("UNHEALTHY", ("not healthy: %s"):format(table.concat(bad, ", "))) end
  return 0
end

-- ---- logs ----

function M.logs(opts, rest)
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  if opts.tail and not tonumber(opts.tail) then
    return nil, errors.new("USAGE", "--tail needs a number of lines")
  end
  local c
  c, err = connect(opts)
  if not c then return nil, err end
  if opts.follow then cmdutil.catch_signals() end
  local out = io.stdout
  local ok, n
  ok, n = k8s.logs(c, project.name, rest, { follow = opts.follow, tail = opts.tail,
    timestamps = opts.timestamps, write = function(line)
      out:write(line, "\n")
      if opts.follow then out:flush() end
    end })
  if opts.follow then cmdutil.release_signals() end
  if not ok then return nil, n end
  if n == 0 then
    io.stderr:write(("no pods for project '%s'%s\n"):format(project.name,
      (rest and #rest > 0) and (" (" .. table.concat(rest, ", ") .. ")") or ""))
  end
  return 0
end

-- ---- scale / stop ----

function M.scale(opts, rest)
  if #rest == 0 then return nil, errors.new("USAGE", "scale needs SERVICE[.COMPONENT]=N") end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local timeout
  timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local function fail(e) lock:unlock(); return nil, e end
  local state = require("deloc.state")
  local st = state.load(project.dir, project.name)
  local c
  c, err = connect(opts)
  if not c then return fail(err) end
  local services = st.plan and st.plan.order or nil
  local scale = {}
  for k, v in pairs(st.scale or {}) do scale[k] = v end
  local plan
  plan, err = plan_for(c, opts, services, project, st.plan, scale)
  if not plan then return fail(err) end
  for _, a in ipairs(rest) do
    local target, n = a:match("^([%w._-]+)=(%d+)$")
    if not target then return fail(errors.new("USAGE", ("'%s' is not SERVICE[.COMPONENT]=N"):format(a))) end
    local sname, cname = target:match("^([^.]+)%.(.+)$")
    sname = sname or target
    local svc = plan.services[sname]
    if not svc then return fail(errors.new("SERVICE_NOT_FOUND", ("no service '%s' in this project"):format(sname))) end
    local comp = cname and svc.components[cname]
    if not cname then
      local n_comp = 0
      for _, cc in pairs(svc.components) do
        n_comp = n_comp + 1
        if cc.scalable or n_comp == 1 then comp = cc end
      end
    end
    if not comp then return fail(errors.new("USAGE", ("say which component of %s, e.g. %s.NAME=N"):format(sname, sname))) end
    if not comp.scalable then
      return fail(errors.new("USAGE", ("%s cannot be scaled: its recipe does not mark it scalable")
        :format(comp.name == sname and sname or (sname .. "." .. comp.name))))
    end
    scale[comp.name == sname and sname or (sname .. "." .. comp.name)] = tonumber(n)
  end
  plan, err = plan_for(c, opts, services, project, st.plan, scale)
  if not plan then return fail(err) end
  if not plan.verdict.fits then return fail(not_fitting(plan)) end
  local progress = cmdutil.progress(opts)
  cmdutil.catch_signals()
  local res
  res, err = k8s.apply(c, plan, { root = project.dir, wait = opts.wait ~= false, timeout = timeout,
    on_event = function(ev) progress:event(ev) end, tick = function() progress:tick() end })
  cmdutil.release_signals()
  progress:finish()
  if not err then
    st.scale, st.plan = scale, plan
  end
  state.record(st, "scale", { scale = scale, target = "kubernetes", result = err and err.code or "ok" })
  state.save(project.dir, st)
  lock:unlock()
  if err then return nil, cmdutil.failure(err) end
  if opts.json then cmdutil.print_json({ scale = scale, configured = res.configured }) end
  return 0
end

-- stop: every Deployment and StatefulSet scaled to 0 (up brings them back)
function M.stop(opts, rest)
  local project, c = project_and_client(opts)
  if not project then return nil, c end
  local err
  local rows
  rows, err = k8s.status(c, project.name, { services = rest })
  if not rows then return nil, err end
  local progress = cmdutil.progress(opts)
  for _, r in ipairs(rows) do
    if r.kind ~= "Job" then
      local ok, serr = k8s.scale(c, project.name, r.service, r.component, 0)
      if not ok then progress:finish(); return nil, serr end
      progress:event({ service = r.service, component = r.component, state = "stopped", detail = "scaled to 0" })
    end
  end
  progress:finish()
  return 0
end

-- ---- down / clean ----

function M.down(opts, rest)
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local out
  out, err = cmdutil.locked(opts, project, function() return connect(opts) end, function(c, on_event)
    return k8s.remove(c, project.name, { services = rest, volumes = opts.volumes, on_event = on_event })
  end, function()
    cmdutil.record_stopped(project, rest, "down",
      { services = rest, volumes = opts.volumes or nil, target = "kubernetes" })
  end)
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json({ removed = array.of(out.removed), volumes = array.of(out.volumes), namespace = out.namespace })
  elseif #out.removed == 0 and #out.volumes == 0 and not out.namespace then
    io.stdout:write(("nothing to remove for project '%s'\n"):format(project.name))
  end
  return 0
end

function M.clean(opts)
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local out
  out, err = cmdutil.locked(opts, project, function() return connect(opts) end, function(c, on_event)
    return k8s.clean(c, project.name, { on_event = on_event })
  end, function() cmdutil.record_clean(project, opts, { target = "kubernetes" }) end)
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json({ removed = array.of(out.removed), volumes = array.of(out.volumes), namespace = out.namespace })
  end
  return 0
end

return M
