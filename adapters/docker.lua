-- deloc.adapters.docker: the Docker Engine driver.  It consumes the plan and
-- decides nothing about sizes or order; every object it makes carries the
-- labels dev.deloc.project / service / component / config-hash, and the engine
-- is the truth about what runs.
--
--   local docker = require("deloc.adapters.docker")
--   local c, err = docker.connect()                         -- ENGINE_UNAVAILABLE
--   docker.apply(c, plan, opts) -> result | nil, err         (see docker/apply.lua)
--   docker.status(c, project [, {stats=true, services={...}}]) -> rows
--     rows = { { service=, component=, replica=, name=, id=, state=, health=,
--                ports = { "127.0.0.1:5432->5432/tcp", ... }, uptime=, image=,
--                kind=, exit_code=, cpu_percent=, memory=, memory_limit= }, ... }
--   docker.remove(c, project, { services=, volumes=, stop_only=, timeout=, on_event= })
--     -> { removed = {names}, stopped = {names}, volumes = {names}, network = name|nil }
--   docker.clean(c, project [, {on_event=}]) -> same shape, everything labelled
--   docker.logs / health / scale / backup / restore: see docker/logs.lua, docker/ops.lua,
--   docker/backup.lua (re-exported here).
--
-- Every function runs inside or outside a sched task; the concurrent parts
-- spawn their own tasks and wait for them.
local errors = require("deloc.errors")
local sched = require("deloc.sched")
local engine = require("deloc.adapters.docker.engine")
local build = require("deloc.adapters.docker.build")
local apply = require("deloc.adapters.docker.apply")

local L = build.LABEL
local M = {}

M.name = "docker"
M.LABEL = L

function M.connect(opts)
  return engine.connect(opts)
end

-- docker.apply(c, plan, opts) -> result | nil, err
function M.apply(c, plan, opts)
  local out, a, b
  local t = sched.spawn(function() a, b = apply.run(c, plan, opts) end)
  local ok, e = sched.wait(t)
  if not ok then error(e, 0) end
  out = a
  return out, b
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
      for _, e in pairs(errs) do return nil, e end
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
-- too), volume and network labelled for the project, whatever state, and the
-- images built for it (summary.images).
function M.clean(c, project, opts)
  opts = opts or {}
  opts.volumes = true
  opts.services = nil
  opts.timeout = opts.timeout or 2
  local out, err = M.remove(c, project, opts)
  if not out then return nil, err end
  out.images, err = require("deloc.adapters.docker.image_build").remove_images(c, project)
  if not out.images then return nil, err end
  return out
end

-- The rest loads on first use (status and up do not pay for them).
function M.logs(...) return require("deloc.adapters.docker.logs").run(...) end
function M.health(...) return require("deloc.adapters.docker.ops").health(...) end
function M.backup(...) return require("deloc.adapters.docker.backup").backup(...) end
function M.restore(...) return require("deloc.adapters.docker.backup").restore(...) end
-- exec, shell, connect and cp: a process attached to this terminal or these
-- pipes (or captured), and copies through the archive API; see
-- docker/exec.lua and docker/archive.lua (for_driver: the driver interface's shapes).
function M.find_container(...) return require("deloc.adapters.docker.exec").find(...) end
function M.exec_process(...) return require("deloc.adapters.docker.exec").for_driver(...) end
function M.copy(...) return require("deloc.adapters.docker.archive").for_driver(...) end

return M
