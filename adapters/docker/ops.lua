-- deloc.adapters.docker.ops: what the Docker driver does to a running
-- project besides apply: status rows, health, removal, exec.
--
--   ops.status(c, project [, {stats=true, services={...}}]) -> rows
--     rows = { { service=, component=, replica=, name=, id=, state=, health=,
--                ports = { "127.0.0.1:5432->5432/tcp", ... }, uptime=, image=,
--                kind=, exit_code=, cpu_percent=, memory=, memory_limit= }, ... }
--   ops.health(c, project [, { services= }]) -> rows + { healthy = bool,
--     output = "last probe output", checked_by = "engine"|"deloc"|nil }
--   ops.remove(c, project, { services=, volumes=, stop_only=, timeout=, on_event= })
--     -> { removed = {names}, stopped = {names}, volumes = {names}, network = name|nil }
--   ops.clean(c, project [, {on_event=}]) -> same shape, everything labelled
--   ops.exec(c, project, target, argv, opts) -> { code=, stdout=, stderr= } | nil, err
--
-- The engine's own last health-check result where it has one; where it has
-- not run yet ("starting"), deloc runs the container's check itself right
-- now, so the answer is current.
local errors = require("deloc.errors")
local sched = require("deloc.sched")
local apply = require("deloc.adapters.docker.apply")
local build = require("deloc.adapters.docker.build")
local probe = require("deloc.adapters.docker.probe")

local L = build.LABEL
local M = {}

local function argv_of(test)
  if type(test) ~= "table" or #test == 0 then return nil end
  if test[1] == "CMD" then
    local a = {}
    for i = 2, #test do a[#a + 1] = test[i] end
    return a
  elseif test[1] == "CMD-SHELL" then
    return { "sh", "-c", test[2] }
  end
end

local function trim(s) return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", "")) end

function M.health(c, project, opts)
  opts = opts or {}
  local rows, err = M.status(c, project, { services = opts.services })
  if not rows then return nil, err end
  local function check_all()
    sched.map(rows, function(r)
      if r.state == "exited" or r.state == "created" or r.state == "completed" or r.state == "dead" then
        r.healthy = r.state == "completed"
        r.output = r.exit_code and ("exit code " .. r.exit_code) or r.state
        return
      end
      local info = c:get("/containers/" .. r.id .. "/json")
      if type(info) ~= "table" then r.healthy = false; r.output = "cannot inspect"; return end
      local h = info.State and info.State.Health
      if not h then
        r.healthy = info.State and info.State.Running or false
        r.output = "no health check; " .. (r.healthy and "running" or tostring(info.State and info.State.Status))
        return
      end
      local log = type(h.Log) == "table" and h.Log or {}
      local last = log[#log]
      if h.Status == "healthy" or h.Status == "unhealthy" then
        r.healthy = h.Status == "healthy"
        r.output = last and trim(last.Output) or h.Status
        r.checked_by = "engine"
        r.state = h.Status
        return
      end
      -- starting: ask now
      local argv = argv_of(info.Config and info.Config.Healthcheck and info.Config.Healthcheck.Test)
      if not argv then r.healthy = false; r.output = "health check not run yet"; return end
      local code, out = probe.exec(c, r.id, argv, 10)
      r.checked_by = "deloc"
      r.healthy = code == 0
      r.state = r.healthy and "healthy" or "starting"
      r.output = trim(out)
      if r.output == "" then r.output = code == 0 and "ok" or ("exit code " .. tostring(code)) end
    end, 8)
  end
  if sched.current() then check_all() else
    local ok, e = sched.wait(sched.spawn(check_all))
    if not ok then error(e, 0) end
  end
  return rows
end

-- ---- status ----

local function container_name(ctr)
  return ((ctr.Names and ctr.Names[1]) or ctr.Id or "?"):gsub("^/", "")
end

local function health_of(status)
  status = status or ""
  if status:find("(healthy)", 1, true) then return "healthy" end
  if status:find("(unhealthy)", 1, true) then return "unhealthy" end
  if status:find("(health: starting)", 1, true) then return "starting" end
  return nil
end

local function ports_of(ctr)
  local out = {}
  local seen = {}
  for _, p in ipairs(ctr.Ports or {}) do
    local s
    if p.PublicPort then
      s = ("%s:%d->%d/%s"):format(p.IP or "0.0.0.0", p.PublicPort, p.PrivatePort, p.Type or "tcp")
    else
      s = ("%d/%s"):format(p.PrivatePort, p.Type or "tcp")
    end
    -- the engine lists IPv4 and IPv6 bindings separately
    if not seen[s] and not (p.IP and p.IP:find(":", 1, true)) then
      seen[s] = true
      out[#out + 1] = s
    end
  end
  table.sort(out)
  return out
end

-- One row of status from a /containers/json entry.
function M.row(ctr)
  local lab = ctr.Labels or {}
  local kind = lab[L.kind] or "service"
  local health = health_of(ctr.Status)
  local state = ctr.State
  local exit_code = tonumber((ctr.Status or ""):match("^Exited %((%-?%d+)%)"))
  if state == "running" then
    state = health or "running"
    if health == "starting" then state = "starting" end
  elseif state == "exited" and kind == "oneshot" and exit_code == 0 then
    state = "completed"
  end
  local uptime = (ctr.State == "running") and (ctr.Status or ""):match("^Up (.-)%s*%(") or
    (ctr.State == "running" and (ctr.Status or ""):match("^Up (.*)$")) or nil
  return {
    service = lab[L.service], component = lab[L.component],
    replica = tonumber(lab[L.replica]) or 1, name = container_name(ctr), id = ctr.Id,
    state = state, health = health, ports = ports_of(ctr), uptime = uptime,
    status = ctr.Status, image = ctr.Image, kind = kind, exit_code = exit_code,
    created = ctr.Created, depends_on = lab[L.depends],
  }
end

local function list(c, project, filters_extra)
  return c:get("/containers/json", { all = 1, filters = build.filters(project, nil, filters_extra) })
end
M.list = list

local function wanted_set(services)
  if not services or #services == 0 then return nil end
  local w = {}
  for _, s in ipairs(services) do w[s] = true end
  return w
end

-- docker.status(c, project [, opts]) -> rows | nil, err
-- One GET /containers/json; with opts.stats, one stats call per running
-- container, in parallel.
function M.status(c, project, opts)
  opts = opts or {}
  local ctrs, err = list(c, project)
  if not ctrs then return nil, err end
  local want = wanted_set(opts.services)
  local rows = {}
  for _, ctr in ipairs(ctrs) do
    local lab = ctr.Labels or {}
    if not lab[L.helper] and (not want or want[lab[L.service]]) then
      rows[#rows + 1] = M.row(ctr)
    end
  end
  table.sort(rows, function(a, b)
    if a.service ~= b.service then return (a.service or "") < (b.service or "") end
    if a.component ~= b.component then return (a.component or "") < (b.component or "") end
    return a.replica < b.replica
  end)
  if opts.stats then
    local running = {}
    for _, r in ipairs(rows) do
      if r.state ~= "exited" and r.state ~= "completed" and r.state ~= "created" then
        running[#running + 1] = r
      end
    end
    local function stats_all()
      sched.map(running, function(r)
        local s = c:get("/containers/" .. r.id .. "/stats", { stream = "false", ["one-shot"] = "true" })
        if type(s) ~= "table" then return end
        local mem = s.memory_stats or {}
        local usage = mem.usage
        if usage and mem.stats then
          -- what `docker stats` shows: usage minus the page cache
          usage = usage - (mem.stats.inactive_file or mem.stats.total_inactive_file or 0)
        end
        r.memory, r.memory_limit = usage, mem.limit
        local cpu, pre = s.cpu_stats or {}, s.precpu_stats or {}
        local cu, pu = cpu.cpu_usage or {}, pre.cpu_usage or {}
        local d_cpu = (cu.total_usage or 0) - (pu.total_usage or 0)
        local d_sys = (cpu.system_cpu_usage or 0) - (pre.system_cpu_usage or 0)
        local ncpu = cpu.online_cpus or (cu.percpu_usage and #cu.percpu_usage) or 1
        if d_sys > 0 and d_cpu >= 0 then r.cpu_percent = d_cpu / d_sys * ncpu * 100 end
      end, 8)
    end
    if sched.current() then stats_all() else sched.wait(sched.spawn(stats_all)) end
  end
  return rows
end

-- ---- stop, down, clean ----

-- Groups containers by "service/component" and orders removal so that a
-- component goes after everything that depends on it (reverse dependency
-- order), independent ones together.
local function removal_tasks(groups, fn)
  local dependents = {}
  for key, g in pairs(groups) do
    for dep in (g.depends or ""):gmatch("[^,]+") do
      local dk = dep:find(".", 1, true) and dep:gsub("%.", "/", 1) or (dep .. "/" .. dep)
      local target = groups[dk]
      if not target then
        for k2, g2 in pairs(groups) do
          if g2.service == dep and k2 ~= key then target = g2 end
        end
      end
      if target and target ~= g then
        dependents[target] = dependents[target] or {}
        table.insert(dependents[target], g)
      end
    end
  end
  local tasks = {}
  local keys = {}
  for k in pairs(groups) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local g = groups[k]
    g.task = sched.spawn(function()
      -- every group's task exists before the first one runs
      for _, d in ipairs(dependents[g] or {}) do sched.wait(d.task) end
      return fn(g)
    end)
    tasks[#tasks + 1] = g.task
  end
  return tasks
end

local function group_containers(ctrs, want)
  local groups = {}
  for _, ctr in ipairs(ctrs) do
    local lab = ctr.Labels or {}
    if not want or want[lab[L.service]] then
      local key = (lab[L.service] or "?") .. "/" .. (lab[L.component] or "?")
      local g = groups[key]
      if not g then
        g = { key = key, service = lab[L.service], component = lab[L.component],
              depends = lab[L.depends], ctrs = {} }
        groups[key] = g
      end
      g.ctrs[#g.ctrs + 1] = ctr
    end
  end
  return groups
end

local function run_in_task(fn)
  if sched.current() then return fn() end
  local r1, r2
  local ok, e = sched.wait(sched.spawn(function() r1, r2 = fn() end))
  if not ok then error(e, 0) end
  return r1, r2
end

-- docker.remove(c, project, opts) -> summary | nil, err
function M.remove(c, project, opts)
  opts = opts or {}
  local emit = opts.on_event or function() end
  return run_in_task(function()
    local ctrs, err = list(c, project)
    if not ctrs then return nil, err end
    local want = wanted_set(opts.services)
    local groups = group_containers(ctrs, want)
    local out = { removed = {}, stopped = {}, volumes = {}, errors = {} }
    local t = opts.timeout or 5
    local tasks = removal_tasks(groups, function(g)
      local ok_all = true
      sched.map(g.ctrs, function(ctr)
        local name = container_name(ctr)
        if opts.stop_only then
          if ctr.State == "running" or ctr.State == "restarting" then
            emit({ service = g.service, component = g.component, state = "stopping" })
            local ok, e = c:post("/containers/" .. ctr.Id .. "/stop", { t = t }, nil,
              { timeout = t + 30 })
            if not ok and not (errors.is(e) and e.status == 304) then
              ok_all = false
              out.errors[#out.errors + 1] = e
              return
            end
          end
          out.stopped[#out.stopped + 1] = name
        else
          emit({ service = g.service, component = g.component, state = "removing" })
          local ok, e = apply.remove_container(c, ctr, t)
          if not ok then
            ok_all = false
            out.errors[#out.errors + 1] = e
            return
          end
          out.removed[#out.removed + 1] = name
        end
      end, 8)
      emit({ service = g.service, component = g.component,
        state = ok_all and (opts.stop_only and "stopped" or "removed") or "failed" })
    end)
    for _, task in ipairs(tasks) do sched.wait(task) end
    if #out.errors > 0 then return nil, out.errors[1] end
    if opts.stop_only then return out end

    if opts.volumes then
      local vols
      vols, err = c:get("/volumes", { filters = build.filters(project) })
      if not vols then return nil, err end
      local names = {}
      for _, v in ipairs(vols.Volumes or {}) do
        local lab = v.Labels or {}
        if not want or want[lab[L.service]] then names[#names + 1] = v.Name end
      end
      local _, errs = sched.map(names, function(n)
        local ok, e = c:delete("/volumes/" .. n)
        if not ok and not (errors.is(e) and e.status == 404) then error(e, 0) end
        out.volumes[#out.volumes + 1] = n
      end, 8)
      local _, e = next(errs)
      if e then return nil, e end
    end
    if not want then
      local nets
      nets, err = c:get("/networks", { filters = build.filters(project) })
      if not nets then return nil, err end
      for _, n in ipairs(nets) do
        local ok, e = c:delete("/networks/" .. n.Id)
        if not ok and not (errors.is(e) and e.status == 404) then return nil, e end
        out.network = n.Name
      end
    end
    table.sort(out.removed)
    table.sort(out.volumes)
    return out
  end)
end

-- docker.clean(c, project) -> summary | nil, err: every container (helpers
-- too), volume and network labelled for the project, whatever state.
function M.clean(c, project, opts)
  opts = opts or {}
  opts.volumes = true
  opts.services = nil
  opts.timeout = opts.timeout or 2
  return M.remove(c, project, opts)
end

-- ---- exec ----

-- The container of a target: { service=, component= (default: the service's
-- only one, else the one named like the service), replica= (1) }.
local function target_container(c, project, target)
  local ctrs, err = list(c, project, { L.service .. "=" .. tostring(target.service) })
  if not ctrs then return nil, err end
  local by_comp, names = {}, {}
  for _, ctr in ipairs(ctrs) do
    local lab = ctr.Labels or {}
    if not lab[L.helper] and (tonumber(lab[L.replica]) or 1) == (target.replica or 1) then
      if not by_comp[lab[L.component]] then names[#names + 1] = lab[L.component] end
      by_comp[lab[L.component]] = ctr
    end
  end
  local comp = target.component
  if not comp then comp = #names == 1 and names[1] or target.service end
  local ctr = by_comp[comp]
  if ctr then return ctr end
  table.sort(names)
  local what = target.service .. (target.component and ("/" .. target.component) or "")
  return nil, errors.new("SERVICE_NOT_FOUND", ("%s%s is not deployed in project '%s'"):format(what,
    (target.replica or 1) > 1 and ("#" .. target.replica) or "", project),
    { hint = #names > 0 and ("its components: " .. table.concat(names, ", ")) or ("'deloc up " .. target.service .. "' first") })
end

-- ops.exec(c, project, target, argv, opts) -> { code=, stdout=, stderr= } | nil, err
-- Runs argv in the target's container without a TTY and collects both
-- streams apart (interactive exec is adapters/docker/exec.lua's).
function M.exec(c, project, target, argv, opts)
  opts = opts or {}
  local ctr, err = target_container(c, project, target)
  if not ctr then return nil, err end
  if ctr.State ~= "running" then
    return nil, errors.new("DEPLOYMENT_FAILED", ("%s is not running (%s)"):format(target.service, tostring(ctr.State)),
      { hint = "'deloc up " .. target.service .. "' first" })
  end
  local env
  for k, v in pairs(opts.env or {}) do
    env = env or {}
    env[#env + 1] = k .. "=" .. tostring(v)
  end
  if env then table.sort(env) end
  local r
  r, err = c:post("/containers/" .. ctr.Id .. "/exec", nil, {
    AttachStdout = true, AttachStderr = true, AttachStdin = false, Tty = false, Cmd = argv,
    Env = env, User = opts.user, WorkingDir = opts.workdir })
  if not r then return nil, err end
  local out = { stdout = {}, stderr = {} }
  local d = require("deloc.adapters.docker.stream").demuxer(function(kind, data)
    if out[kind] then table.insert(out[kind], data) end
  end)
  local res
  res, err = c:request({ method = "POST", path = "/exec/" .. r.Id .. "/start",
    body = { Detach = false, Tty = false }, timeout = opts.timeout or 3600,
    on_data = function(chunk) d:feed(chunk) end })
  if not res then return nil, err end
  if res.body and res.body ~= "" then d:feed(res.body) end
  d:finish()
  local info
  info, err = c:get("/exec/" .. r.Id .. "/json")
  if not info then return nil, err end
  return { code = info.ExitCode, stdout = table.concat(out.stdout), stderr = table.concat(out.stderr) }
end

M.LABEL = L
return M
