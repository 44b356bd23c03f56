-- deloc.adapters.docker.apply: converge the engine to a plan, like
-- `docker compose up`, but each component starts the moment what it needs is
-- ready (healthy, or for one-shots: exited 0), several requests in flight.
--
--   apply.run(client, plan, opts) -> result | nil, err
--   opts = { root = project dir (absolute), on_event = fn(ev), wait = true,
--            timeout = seconds, remove_orphans = false, rollback = false,
--            partial = true when the user named services (no orphan report
--            for the rest of the project),
--            user_sources = binds.user_sources(--mount list): the sources the
--            user chose, the only binds allowed outside the project }
--   result = { components = { ["svc/comp"] = { state=, ids = {...}, detail= } },
--              orphans = { name... }, removed = { name... }, failed = { key... },
--              created = n, recreated = n, unchanged = n, elapsed = seconds }
--
-- Convergence per replica: same config hash and running -> untouched (not a
-- single mutating call); same hash but stopped -> started; other hash ->
-- the old one is stopped and removed, then the new one is created under the
-- final name and started (a crash in between leaves no second container and
-- no temporary name: the next run creates or starts what is missing).
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local sched = require("deloc.sched")
local build = require("deloc.adapters.docker.build")
local probe = require("deloc.adapters.docker.probe")
local stream = require("deloc.adapters.docker.stream")
local secrets = require("deloc.adapters.docker.secrets")

local L = build.LABEL
local M = {}

M.STOP_TIMEOUT = 10

-- ---- what exists ----

-- apply.existing(c, project) -> { list = containers, by = { ["svc/comp"] = { [replica] = ctr } } }
function M.existing(c, project)
  local list, err = c:get("/containers/json", { all = 1, filters = build.filters(project) })
  if not list then return nil, err end
  local by = {}
  for _, ctr in ipairs(list) do
    local lab = ctr.Labels or {}
    local key = (lab[L.service] or "?") .. "/" .. (lab[L.component] or "?")
    by[key] = by[key] or {}
    local r = tonumber(lab[L.replica]) or 1
    if by[key][r] then
      by[key].extra = by[key].extra or {}
      table.insert(by[key].extra, ctr)
    else
      by[key][r] = ctr
    end
  end
  return { list = list, by = by }
end

-- ---- one-time work shared by the tasks ----

-- once(cache, key, fn): the first caller runs fn; others wait for its result.
local function once(cache, key, fn, ...)
  local e = cache[key]
  if e then return e:wait() end
  e = sched.event()
  cache[key] = e
  local ok, v, err = pcall(fn, ...)
  if not ok then v, err = nil, v end
  e:set(v, err)
  if not ok then error(err, 0) end
  return v, err
end

local function split_image(image)
  local digest_at = image:find("@", 1, true)
  if digest_at then return image, nil end
  local slash = image:match(".*()/") or 0
  local colon = image:match(".*():")
  if colon and colon > slash then return image:sub(1, colon - 1), image:sub(colon + 1) end
  return image, "latest"
end
M.split_image = split_image

local function human_mb(n) return ("%.0f MB"):format(n / 1e6) end

local function pull(run, image, service, emit)
  local c = run.c
  local ok, err = c:get("/images/" .. image .. "/json")
  if ok then return true end
  if not (errors.is(err) and err.status == 404) then return nil, err end
  local from, tag = split_image(image)
  emit("pulling", image)
  local layers, perr = {}, nil
  local last_emit = 0
  local function report()
    local cur, tot = 0, 0
    for _, l in pairs(layers) do cur, tot = cur + l[1], tot + l[2] end
    if tot == 0 then return false end
    emit("pulling", ("%s %d%% of %s"):format(image, math.floor(cur * 100 / tot), human_mb(tot)))
    return true
  end
  local lines = stream.lines(function(line)
    local ev = require("deloc.json").decode(line)
    if type(ev) ~= "table" then return end
    if ev.error then perr = ev.error; return end
    -- download progress per layer (extracting starts again from 0: a layer
    -- downloaded counts as whole, so the percentage only grows)
    local l = ev.id and layers[ev.id]
    if ev.status == "Downloading" and type(ev.progressDetail) == "table" and ev.progressDetail.total then
      layers[ev.id] = { ev.progressDetail.current or 0, ev.progressDetail.total }
    elseif l and (ev.status == "Download complete" or ev.status == "Extracting"
        or ev.status == "Pull complete") then
      l[1] = l[2]
    end
    -- at most 4 a second; only an event with a total counts, so a pull
    -- faster than that still shows its progress
    local now = sys.now()
    if now - last_emit > 0.25 and report() then last_emit = now end
  end)
  local res
  res, err = c:request({ method = "POST", path = "/images/create",
    query = { fromImage = from, tag = tag }, on_data = function(ch) lines:feed(ch) end,
    timeout = 3600 })
  lines:finish()
  if not res then perr = err and (err.engine_message or err.message) or perr end
  if not perr and last_emit > 0 then report() end -- where it ended (100%)
  if perr then
    return nil, errors.new("DEPLOYMENT_FAILED",
      ("cannot pull image '%s' for %s: %s"):format(image, service, tostring(perr):gsub("\n.*", "")),
      { context = { image = image, service = service },
        hint = ("no registry reachable? use a local image: `images: { %s: IMAGE }` in deloc.yaml, "
          .. "or DELOC_IMAGES=%s=IMAGE"):format(service, service) })
  end
  return true
end

-- The project's networks of that name, oldest first; extra ones (a run
-- killed while its create was in flight, the engine's duplicate check being
-- best effort) are removed: exactly one stays.
local function dedupe_networks(c, name)
  local nets, err = c:get("/networks", { filters = require("deloc.json").encode({ name = { name } }) })
  if not nets then return nil, err end
  local same = {}
  for _, n in ipairs(nets) do
    if n.Name == name then same[#same + 1] = n end
  end
  table.sort(same, function(a, b) return (a.Created or "") < (b.Created or "") end)
  for i = 2, #same do c:delete("/networks/" .. same[i].Id) end
  return #same
end

local function ensure_network(run)
  local c, plan = run.c, run.plan
  local body = build.network(plan)
  local n, err = dedupe_networks(c, body.Name)
  if not n then return nil, err end
  if n > 0 then return true end
  local ok
  ok, err = c:post("/networks/create", nil, body)
  if not ok and not (errors.is(err) and err.status == 409) then return nil, err end
  run.made.network = body.Name
  return true
end

local function ensure_volume(run, service, vol)
  local c = run.c
  local ok, err = c:get("/volumes/" .. vol.name)
  if ok then return true end
  if not (errors.is(err) and err.status == 404) then return nil, err end
  ok, err = c:post("/volumes/create", nil, build.volume(run.plan, service, vol))
  if not ok then return nil, err end
  run.made.volumes[#run.made.volumes + 1] = vol.name
  return true
end

-- ---- containers ----

function M.remove_container(c, ctr, stop_timeout)
  local id = ctr.Id or ctr
  if (ctr.State == nil or ctr.State == "running" or ctr.State == "restarting") and stop_timeout ~= false then
    local ok, err = c:post("/containers/" .. id .. "/stop", { t = stop_timeout or M.STOP_TIMEOUT },
      nil, { timeout = (stop_timeout or M.STOP_TIMEOUT) + 30 })
    if not ok and not (errors.is(err) and (err.status == 304 or err.status == 404)) then
      return nil, err
    end
  end
  local ok, err = c:delete("/containers/" .. id, { force = 1, v = 1 }) -- and its anonymous volumes (an image VOLUME deloc does not mount)
  if not ok and errors.is(err) and err.status == 409
      and tostring(err.message):find("already in progress", 1, true) then
    -- a killed run's removal the engine is still doing: wait until it is gone
    for _ = 1, 60 do
      local _, gerr = c:get("/containers/" .. id .. "/json")
      if errors.is(gerr) and gerr.status == 404 then return true end
      sched.sleep(0.25)
    end
  end
  if not ok and not (errors.is(err) and err.status == 404) then return nil, err end
  return true
end

local function create_and_start(run, body, name)
  local c = run.c
  local r, err = c:post("/containers/create", { name = name }, body)
  -- A container of that name we did not list (made by a run killed at the
  -- wrong moment, whose create the engine finished after our list): it is
  -- ours by its project label, so it is replaced; the engine may still be
  -- busy with it for a moment.
  for attempt = 1, 5 do
    if r or not (errors.is(err) and err.status == 409) then break end
    local old = c:get("/containers/" .. name .. "/json")
    if not (old and old.Config and old.Config.Labels and old.Config.Labels[L.project] == run.plan.project) then
      break
    end
    M.remove_container(c, { Id = old.Id, State = old.State and old.State.Status }, 5)
    r, err = c:post("/containers/create", { name = name }, body)
    if not r then sched.sleep(0.2 * attempt) end
  end
  if not r then
    if errors.is(err) and err.status == 404 then
      err.message = ("cannot create %s: %s"):format(name, err.message)
    end
    return nil, err
  end
  run.made.containers[#run.made.containers + 1] = r.Id
  local ok
  ok, err = c:post("/containers/" .. r.Id .. "/start")
  if not ok and errors.is(err) and tostring(err.message):find("is ambiguous", 1, true) then
    -- a duplicate network appeared after ours was ensured (a killed run's create)
    dedupe_networks(c, build.network(run.plan).Name)
    ok, err = c:post("/containers/" .. r.Id .. "/start")
  end
  if not ok and not (errors.is(err) and err.status == 304) then
    err.message = ("cannot start %s: %s"):format(name, err.message)
    return nil, err, r.Id
  end
  return r.Id
end

local function key_of(service, component) return service .. "/" .. component end

-- ---- what to do ----

-- apply.decide(plan, svc, comp, have, ctx) -> actions, surplus, unchanged | nil, err
-- have: the component's containers by replica number (from existing()).
-- actions[i] = { i=, name=, body=, hash=, ctr=, action = "keep" | "start" |
-- "create" | "recreate" | "wait" }; surplus: containers above the replica
-- count (or duplicates) to remove; unchanged: every action is "keep".
function M.decide(plan, svc, comp, have, ctx)
  local oneshot = comp.kind == "oneshot"
  local want = comp.replicas or 1
  local plans = {}
  local all_same = true
  for i = 1, want do
    local body, hash = build.container(plan, svc, comp, i, ctx)
    if not body then return nil, hash end -- a bind the driver refuses
    local ctr = have[i]
    local action
    if not ctr then
      action = "create"
    elseif (ctr.Labels or {})[L.hash] ~= hash then
      action = "recreate"
    elseif oneshot then
      if ctr.State == "exited" and (ctr.Status or ""):match("^Exited %(0%)") then
        action = "keep"
      elseif ctr.State == "running" then
        action = "wait"
      else
        action = "recreate" -- failed or never started: run it again
      end
    elseif ctr.State == "running" then
      action = "keep"
    else
      action = "start"
    end
    if action ~= "keep" then all_same = false end
    plans[i] = { i = i, body = body, hash = hash, ctr = ctr, action = action,
      name = build.container_name(plan.project, svc.name, comp.name, i) }
  end
  local surplus = {}
  for r, ctr in pairs(have) do
    if type(r) == "number" and r > want then surplus[#surplus + 1] = ctr end
  end
  for _, ctr in ipairs(have.extra or {}) do surplus[#surplus + 1] = ctr end
  if #surplus > 0 then all_same = false end
  return plans, surplus, all_same
end

-- ---- the converge steps (deloc.converge runs them) ----

local function sorted(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function component_list(plan)
  local out = {}
  for _, sname in ipairs(plan.order or sorted(plan.services)) do
    local svc = plan.services[sname]
    local order = svc.component_order or sorted(svc.components)
    for _, cname in ipairs(order) do
      out[#out + 1] = { svc, svc.components[cname] }
    end
  end
  return out
end
M.component_list = component_list

-- A component built from the project's files: its image tag is the hash of
-- the context (docker/image_build.lua), known before anything is compared.
local function resolve_build(comp, root, project)
  if not comp.build then return true end
  return require("deloc.adapters.docker.image_build").resolve(comp, root or ".", project)
end

local function decision(run, svc, comp)
  local key = key_of(svc.name, comp.name)
  local d = run.changes.components[key]
  if not d then
    local ok, err = resolve_build(comp, run.root, run.plan.project)
    if not ok then return nil, err end
    local plans, surplus, all_same = M.decide(run.plan, svc, comp, run.existing.by[key] or {},
      { root = run.root, podman = run.c.podman, user_sources = run.user_sources })
    if not plans then return nil, surplus end
    d = { plans = plans, surplus = surplus, all_same = all_same }
  end
  return d
end

-- Shared prerequisites: secrets are on disk already; the network, the
-- image and the volumes once per run.
local function prerequisites(run, svc, comp, emit)
  local ok, err = once(run.cache, "network", ensure_network, run)
  if not ok then return nil, err end
  ok, err = once(run.cache, "image:" .. comp.image, comp.build
    and require("deloc.adapters.docker.image_build").ensure or pull, run, comp.image, svc.name, emit, comp)
  if not ok then return nil, err end
  for _, vname in ipairs(sorted(comp.volumes)) do
    local vol = comp.volumes[vname]
    ok, err = once(run.cache, "volume:" .. vol.name, ensure_volume, run, svc.name, vol)
    if not ok then return nil, err end
  end
  return true
end

-- Running and unchanged: ready if the engine says healthy (or there is no
-- health check); "starting" only means the engine has not run its (slow,
-- steady-state) check yet, and deloc's own probe may have passed on an
-- earlier run.
local function unchanged_ready(run, plans)
  for _, p in ipairs(plans) do
    local st = p.ctr.Status or ""
    if st:find("(unhealthy)", 1, true) then return false end
    if st:find("(health: starting)", 1, true) and not run.known_ready[p.ctr.Id] then return false end
  end
  return true
end

-- deploy: create, recreate or start each replica as decided; remove surplus.
local function deploy(run, svc, comp, emit)
  local c = run.c
  local out = run.result.components[key_of(svc.name, comp.name)]
  local d, derr = decision(run, svc, comp)
  if not d then return nil, derr end
  local oneshot = comp.kind == "oneshot"
  if not d.all_same then
    local ok, err = prerequisites(run, svc, comp, emit)
    if not ok then return nil, err end
  end
  for _, p in ipairs(d.plans) do
    if run.interrupted() then return nil, errors.new("INTERRUPTED", "interrupted") end
    if p.action == "recreate" then
      emit("recreating", p.ctr.State ~= "running" and nil or "stopping the old container")
      local ok, err = M.remove_container(c, p.ctr, oneshot and 1 or comp.stop_timeout)
      if not ok then return nil, err end
      run.result.recreated = run.result.recreated + 1
    end
    if p.action == "create" or p.action == "recreate" then
      emit("creating")
      local id, err = create_and_start(run, p.body, p.name)
      if not id then return nil, err end
      p.id = id
      if p.action == "create" then run.result.created = run.result.created + 1 end
      emit("starting")
    elseif p.action == "start" then
      emit("starting")
      local ok, err = c:post("/containers/" .. p.ctr.Id .. "/start")
      if not ok and not (errors.is(err) and err.status == 304) then return nil, err end
      p.id = p.ctr.Id
    else
      p.id = p.ctr.Id
    end
    out.ids[#out.ids + 1] = p.id
  end
  for _, ctr in ipairs(d.surplus) do
    emit("scaling", ("removing replica %s"):format((ctr.Labels or {})[L.replica] or "?"))
    local ok, err = M.remove_container(c, ctr, 5)
    if not ok then return nil, err end
  end
  run.plans[key_of(svc.name, comp.name)] = d.plans
  if d.all_same then
    run.result.unchanged = run.result.unchanged + 1
    if oneshot then
      emit("completed", "unchanged")
      return true, "completed"
    end
    if unchanged_ready(run, d.plans) then
      emit("unchanged")
      return true, "unchanged"
    end
  end
  if not oneshot and not run.must_wait(key_of(svc.name, comp.name)) then emit("running") end
  return true
end

-- ready: a one-shot has exited 0; a service's health passes (deloc's own
-- probe, promptly), and a container that exits or restarts fails at once.
local function ready(run, svc, comp, emit)
  local c, key = run.c, key_of(svc.name, comp.name)
  local what = comp.name == svc.name and svc.name or key
  local out = run.result.components[key]
  if comp.kind == "oneshot" then
    emit("running", "one-shot")
    for _, p in ipairs(run.plans[key]) do
      local code, st = probe.wait_exit(c, p.id, { deadline = run.deadline, what = key,
        interrupted = run.interrupted })
      if code == nil then return nil, st end
      if code ~= 0 then
        local msg = ("%s exited with exit code %d"):format(what, code)
        if st and st.OOMKilled then msg = msg .. " (killed: out of memory)" end
        return nil, errors.new("DEPLOYMENT_FAILED", msg, { exit_code = code, logs = probe.logs_tail(c, p.id) })
      end
    end
    emit("completed")
    return "completed"
  end
  emit("starting", "waiting for health")
  for _, p in ipairs(run.plans[key]) do
    local ok, err = probe.wait_ready(c, p.id, comp, {
      deadline = run.deadline, interrupted = run.interrupted, what = what,
      fresh = p.action == "create" or p.action == "recreate" or p.action == "start",
      on_probe = function(o) out.probe = o end,
    })
    if not ok then return nil, err end
  end
  local state = (comp.health and comp.health.kind) and "healthy" or "running"
  emit(state)
  return state
end

-- Orphans: what the project has that the plan does not (reported, or
-- removed with remove_orphans).
local function orphans(run)
  local c, plan, opts = run.c, run.plan, run.opts
  local planned = {}
  for _, pair in ipairs(component_list(plan)) do planned[key_of(pair[1].name, pair[2].name)] = true end
  for _, ctr in ipairs(run.existing.list) do
    local lab = ctr.Labels or {}
    local key = key_of(lab[L.service] or "?", lab[L.component] or "?")
    local svc_planned = plan.services[lab[L.service] or ""] ~= nil
    if not planned[key] and not lab[L.helper] and (svc_planned or not opts.partial) then
      local name = (ctr.Names and ctr.Names[1] or ctr.Id):gsub("^/", "")
      if opts.remove_orphans then
        local okr, rerr = M.remove_container(c, ctr, 5)
        if not okr then return nil, rerr end
        run.result.removed[#run.result.removed + 1] = name
        run.result.removed_services[#run.result.removed_services + 1] = lab[L.service]
        run.emit({ service = lab[L.service], component = lab[L.component], state = "removed",
          detail = "orphan " .. name })
      else
        run.result.orphans[#run.result.orphans + 1] = name
        run.emit({ service = lab[L.service], component = lab[L.component], state = "orphan",
          detail = name .. " is not in the plan (--remove-orphans removes it)" })
      end
    end
  end
  return true
end

function M.run(c, plan, opts)
  opts = opts or {}
  local root = opts.root or "."
  local steps = { deploy = deploy, ready = ready, finish = orphans, oneshots_finish = true }
  function steps.prepare(run)
    run.c, run.root, run.cache, run.plans = c, root, {}, {}
    run.user_sources = opts.user_sources
    run.known_ready = opts.known_ready or {}
    run.made = { containers = {}, volumes = {}, network = nil }
    run.result.made = run.made
    -- Secrets first: files on disk before any container mounts them.
    local ok, err = secrets.ensure(plan, root)
    if not ok then return nil, err end
    ok, err = require("deloc.adapters.docker.binds").check(plan)
    if not ok then return nil, err end
    local existing = opts.existing
    if not existing then
      existing, err = M.existing(c, plan.project)
      if not existing then return nil, err end
    end
    run.existing = existing
    if opts.changes then
      run.changes = opts.changes
    else
      run.changes, err = M.diff(plan, existing, { root = root, podman = c.podman,
        user_sources = opts.user_sources })
      if not run.changes then return nil, err end
    end
    return true
  end
  function steps.rollback(run)
    run.emit({ service = "deloc", state = "rolling back", detail = "removing what this run created" })
    M.rollback(c, run.made)
  end
  local result, err = require("deloc.converge").run(plan, steps, opts, { orphans = {}, removed = {},
    removed_services = {}, created = 0, recreated = 0, unchanged = 0 })
  local r = result or (err and err.result)
  if r then r.changed = r.recreated end
  return result, err
end

-- apply.diff(plan, existing, ctx) -> { services = { svc = why }, components = { key = decision } }
-- The one change list of a run: what each component's replicas need (see
-- decide) and, per service, why it changes ("stopped" < "scaled" < "new" <
-- "changed"; absent: untouched).  The state file and the apply both use it.
-- ctx = { root = project dir, podman = the engine is Podman }
function M.diff(plan, existing, ctx)
  local out = { services = {}, components = {} }
  local rank = { stopped = 1, scaled = 2, new = 3, changed = 4 }
  local function note(sname, why)
    local cur = out.services[sname]
    if not cur or rank[why] > rank[cur] then out.services[sname] = why end
  end
  for _, pair in ipairs(component_list(plan)) do
    local svc, comp = pair[1], pair[2]
    local key = key_of(svc.name, comp.name)
    local built, berr = resolve_build(comp, ctx.root, plan.project)
    if not built then return nil, berr end
    local plans, surplus, all_same = M.decide(plan, svc, comp, existing.by[key] or {}, ctx)
    if not plans then return nil, surplus end
    out.components[key] = { plans = plans, surplus = surplus, all_same = all_same }
    for _, a in ipairs(plans) do
      if a.action == "create" then note(svc.name, a.i > 1 and "scaled" or "new")
      elseif a.action == "recreate" then note(svc.name, "changed")
      elseif a.action == "start" then note(svc.name, "stopped") end
    end
    if #surplus > 0 then note(svc.name, "scaled") end
  end
  return out
end

-- apply.changes(plan, existing, root) -> { service = "why" } (diff's services)
function M.changes(plan, existing, root)
  local d, err = M.diff(plan, existing, { root = root })
  if not d then return nil, err end
  return d.services
end

-- apply.subplan(plan, names) -> the plan restricted to some services (their
-- dependencies outside it are taken as already there).
function M.subplan(plan, names)
  local sub = {}
  for k, v in pairs(plan) do sub[k] = v end
  sub.order, sub.services = {}, {}
  local want = {}
  for _, n in ipairs(names) do want[n] = true end
  for _, n in ipairs(plan.order) do
    if want[n] then
      sub.order[#sub.order + 1] = n
      sub.services[n] = plan.services[n]
    end
  end
  return sub
end

function M.rollback(c, made)
  sched.map(made.containers, function(id) return M.remove_container(c, { Id = id }, 2) end, 6)
  sched.map(made.volumes, function(name) return c:delete("/volumes/" .. name, { force = 1 }) end, 6)
  if made.network then c:delete("/networks/" .. made.network) end
end

return M
