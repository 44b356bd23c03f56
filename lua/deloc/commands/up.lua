-- deloc up [SERVICES...]: plan, then converge the Docker engine to the plan.
local errors = require("deloc.errors")
local term = require("deloc.term")
local cmdutil = require("deloc.cmdutil")
local cli = require("deloc.adapters.docker.cli")

local M = {
  name = "up",
  aliases = { "deploy" }, -- the architecture document's verb
  order = 20,
  usage = "deloc up [SERVICES...] [--wait|--no-wait] [--timeout DURATION] [--remove-orphans] [--rollback]",
  summary = "start services (and what they need), sized to this machine",
  help = [[
Plans the services named (default: those in deloc.yaml) with their
dependencies, then converges Docker to the plan: pulls missing images, creates
the project network, volumes and containers, and starts each service as soon
as what it needs is healthy.  An unchanged service is left alone; a changed
one is recreated; a service no longer planned is reported (--remove-orphans
removes it).  With --wait (the default on a terminal) deloc waits until every
service is healthy and fails naming the one that is not, with its last probe
output and log lines.  --rollback removes what this run created if it fails.
Secrets are generated once per project under .deloc/secrets/ (mode 0600) and
handed to containers as files under /run/secrets/.]],
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

local function endpoints(plan, result)
  local rows = {}
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
    local conns = svc.connections or {}
    local eps = {}
    for _, e in ipairs(svc.endpoints or {}) do eps[#eps + 1] = e.url end
    if #eps == 0 then
      for _, comp in pairs(svc.components or {}) do
        for _, p in pairs(comp.ports or {}) do
          if p.publish ~= false and p.host then eps[#eps + 1] = "127.0.0.1:" .. p.host end
        end
      end
      table.sort(eps)
    end
    local state = "-"
    for _, r in pairs(result and result.components or {}) do
      if r.service == sname then
        if state == "-" or r.state == "failed" then state = r.state or "-" end
      end
    end
    rows[#rows + 1] = { sname, state, table.concat(eps, " "), conns[1] or "" }
  end
  return rows
end

-- up.changing(plan, existing, ctx) -> { service = reason }: the services
-- this run will touch (create, recreate, start, or remove surplus replicas),
-- with the same decisions the driver makes; pure (no engine request).
-- ctx = { root = project dir, podman = engine is Podman } as for apply.decide
function M.changing(plan, existing, ctx)
  local apply = require("deloc.adapters.docker.apply")
  local out = {}
  local rank = { stopped = 1, scaled = 2, new = 3, changed = 4 }
  local function note(sname, why)
    if not out[sname] or rank[why] > rank[out[sname]] then out[sname] = why end
  end
  for _, pair in ipairs(apply.component_list(plan)) do
    local svc, comp = pair[1], pair[2]
    local actions, surplus = apply.decide(plan, svc, comp,
      existing.by[svc.name .. "/" .. comp.name] or {}, ctx)
    for _, a in ipairs(actions) do
      if a.action == "create" then note(svc.name, a.i > 1 and "scaled" or "new")
      elseif a.action == "recreate" then note(svc.name, "changed")
      elseif a.action == "start" then note(svc.name, "stopped") end
    end
    if #surplus > 0 then note(svc.name, "scaled") end
  end
  return out
end

-- The reason a deployed service is Running: how its components ended.
function M.ready_reason(res, sname)
  local healthy, completed = false, false
  for _, r in pairs(res.components) do
    if r.service == sname then
      if r.state == "healthy" then healthy = true end
      if r.state == "completed" then completed = true end
    end
  end
  return healthy and "healthy" or (completed and "completed" or "started")
end

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
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

  local docker = require("deloc.adapters.docker")
  local c
  c, err = docker.connect()
  if not c then return fail(err) end
  local existing
  existing, err = cmdutil.in_task(require("deloc.adapters.docker.apply").existing, c, project.name)
  if not existing then return fail(err) end

  local state = require("deloc.state")
  local st, warn = state.load(root, project.name)
  if not st then return fail(warn) end

  local plan
  plan, err = cli.plan(opts, rest, project, { containers = existing.list,
    previous = st.plan, scale = st.scale, client = c })
  if not plan then return fail(err) end
  if plan.verdict and plan.verdict.fits == false then
    local choices = plan.verdict.choices or {}
    return fail(errors.new("RESOURCE_EXHAUSTED", "the stack does not fit this machine (see 'deloc plan')",
      { hint = #choices > 0 and ("try: " .. table.concat(choices, "; ")) or nil }))
  end

  local progress = cmdutil.progress(opts)
  if warn then progress:note("warning: " .. warn) end
  for _, w in ipairs(plan.warnings or {}) do progress:note("warning: " .. tostring(w)) end

  local wait = opts.wait
  if wait == nil then wait = term.isatty("stdout") end

  -- The engine is the truth while the run goes on; the state file records
  -- the lifecycle around it: Deploying for the services this run will change
  -- (decided here, before the first mutating call; one write), then Running or
  -- Failed after.  A run that changes nothing writes nothing.
  local before = require("deloc.json").encode(st.services)
  st.plan_saved = st.plan ~= nil
  st.project = plan.project
  local changing = M.changing(plan, existing, { root = root, podman = c.podman })
  local marked = false
  for _, sname in ipairs(plan.order) do
    if changing[sname] then
      local _, moved = state.set_service(st, sname, "Deploying", changing[sname])
      marked = marked or moved
    end
  end
  if marked then
    local ok_save, serr = state.save(root, st)
    if not ok_save then return fail(serr) end
  end

  -- Containers deloc saw ready on earlier runs (the engine's own check may
  -- not have run yet).
  local known_ready = {}
  for _, s in pairs(st.services or {}) do
    for _, id in ipairs(type(s.ready) == "table" and s.ready or {}) do known_ready[id] = true end
  end

  cmdutil.catch_signals()
  local result
  result, err = docker.apply(c, plan, {
    root = root, on_event = function(ev) progress:event(ev) end,
    tick = function() progress:tick() end,
    wait = wait, timeout = timeout,
    remove_orphans = opts.remove_orphans, rollback = opts.rollback,
    partial = rest and #rest > 0, existing = existing, known_ready = known_ready,
  })
  progress:finish()
  local res = result or (err and err.result)

  -- Remember what was applied, per service.
  local failed = {}
  for _, key in ipairs(res and res.failed or {}) do
    local sname = key:match("^[^/]+")
    if not failed[sname] then
      local e = res.components[key] and res.components[key].error
      local why = errors.is(e) and e.message or (e and tostring(e)) or "failed"
      failed[sname] = (why:gsub("\n.*", ""))
    end
  end
  for _, sname in ipairs(plan.order) do
    if failed[sname] then
      state.set_service(st, sname, "Failed", failed[sname])
    elseif res then
      state.set_service(st, sname, "Running", changing[sname] and M.ready_reason(res, sname) or nil)
    elseif changing[sname] then
      -- the run ended before it deployed anything (e.g. secrets, interrupted)
      local why = errors.is(err) and err.message or tostring(err)
      state.set_service(st, sname, "Failed", (why:gsub("\n.*", "")))
    end
    if res and st.services[sname] then
      local ids = {}
      for _, r in pairs(res.components) do
        if r.service == sname and r.ready then
          for _, id in ipairs(r.ids) do ids[#ids + 1] = id end
        end
      end
      table.sort(ids)
      st.services[sname].ready = require("deloc.array").of(ids)
    end
  end
  if res and res.removed then
    for _, name in ipairs(res.removed) do
      local s = name:match("^" .. plan.project:gsub("%-", "%%-") .. "%-(.-)%-%d+$")
      if s then st.services[s] = nil end
    end
  end
  local changed = err or not res or res.created > 0 or res.recreated > 0
    or #(res.removed or {}) > 0
  if not err then st.plan = plan end
  if changed then
    state.record(st, "up", { services = plan.order, result = err and (err.code or "failed") or "ok",
      created = res and res.created, recreated = res and res.recreated })
  end
  if not changed and not st.plan_saved then changed = true end
  st.plan_saved = nil
  if changed or require("deloc.json").encode(st.services) ~= before then
    local ok_save, serr = state.save(root, st)
    if not ok_save and not err then err = serr end
  end
  lock:unlock()
  cmdutil.release_signals()

  if opts.json then
    cmdutil.print_json({ ok = err == nil, project = plan.project, result = res and {
      created = res.created, recreated = res.recreated, unchanged = res.unchanged,
      failed = res.failed, orphans = res.orphans, removed = res.removed, elapsed = res.elapsed,
    } or nil, endpoints = (function()
      local out = {}
      for _, r in ipairs(endpoints(plan, res)) do
        out[#out + 1] = { service = r[1], state = r[2], endpoints = r[3], connection = r[4] }
      end
      return out
    end)() })
  elseif not err or (res and #res.failed < #plan.order) then
    io.stdout:write("\n")
    cmdutil.table({ "SERVICE", "STATE", "ENDPOINT", "CONNECTION" }, endpoints(plan, res))
    local has_secret = false
    for _, sname in ipairs(plan.order) do
      for _, conn in ipairs(plan.services[sname].connections or {}) do
        if conn:find("<secret", 1, true) then has_secret = true end
      end
    end
    if has_secret then
      io.stdout:write("secrets: .deloc/secrets/<service>.<name> (mode 0600), never printed\n")
    end
  end
  if err then return nil, cmdutil.failure(err) end
  return 0
end

return M
