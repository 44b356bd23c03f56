-- deloc.adapters.docker.apply: converge the engine to a plan, like
-- `docker compose up`, but each component starts the moment what it needs is
-- ready (healthy, or for one-shots: exited 0), several requests in flight.
--
--   apply.run(client, plan, opts) -> result | nil, err
--   opts = { root = project dir (absolute), on_event = fn(ev), wait = true,
--            timeout = seconds, remove_orphans = false, rollback = false,
--            partial = true when the user named services (no orphan report
--            for the rest of the project) }
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

-- The project network, exactly one of that name.  A run killed while its
-- create was in flight can leave the engine with two networks of the same
-- name (its duplicate check is best effort); the extra empty ones go.
local function ensure_network(run)
  local c, plan = run.c, run.plan
  local body = build.network(plan)
  local nets, err = c:get("/networks", { filters = require("deloc.json").encode({ name = { body.Name } }) })
  if not nets then return nil, err end
  local same = {}
  for _, n in ipairs(nets) do
    if n.Name == body.Name then same[#same + 1] = n end
  end
  if #same > 1 then
    table.sort(same, function(a, b) return (a.Created or "") < (b.Created or "") end)
    for i = 2, #same do c:delete("/networks/" .. same[i].Id) end
  end
  if #same > 0 then return true end
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
  local ok, err = c:delete("/containers/" .. id, { force = 1 })
  if not ok and not (errors.is(err) and err.status == 404) then return nil, err end
  return true
end

local function create_and_start(run, svc, comp, replica, body, name)
  local c = run.c
  local r, err = c:post("/containers/create", { name = name }, body)
  if not r and errors.is(err) and err.status == 409 then
    -- A container of that name without our labels' match (e.g. made by hand
    -- or by a run killed at the wrong moment): it is ours by name, replace it.
    local old = c:get("/containers/" .. name .. "/json")
    if old and old.Config and old.Config.Labels and old.Config.Labels[L.project] == run.plan.project then
      M.remove_container(c, { Id = old.Id, State = old.State and old.State.Status }, 5)
      r, err = c:post("/containers/create", { name = name }, body)
    end
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
  if not ok and not (errors.is(err) and err.status == 304) then
    err.message = ("cannot start %s: %s"):format(name, err.message)
    return nil, err, r.Id
  end
  return r.Id
end

-- ---- readiness bookkeeping ----

local function key_of(service, component) return service .. "/" .. component end

local function settle(run, key, ok, err)
  run.ready[key]:set(ok, err)
end

local function wait_for(run, key)
  local ev = run.ready[key]
  if not ev then return true end -- not part of this plan: assume it is there
  return ev:wait()
end

-- ---- what to do ----

-- apply.decide(plan, svc, comp, have, ctx) -> actions, surplus, unchanged
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

-- ---- one component ----

local function deploy_component(run, svc, comp)
  local c, plan = run.c, run.plan
  local key = key_of(svc.name, comp.name)
  local started = sys.now()
  local out = run.result.components[key]
  local function emit(state, detail)
    out.state, out.detail = state, detail
    run.emit({ service = svc.name, component = comp.name, state = state, detail = detail,
      elapsed = sys.now() - started })
  end
  local oneshot = comp.kind == "oneshot"

  -- What it needs must be ready first.
  local deps = comp.depends_on or {}
  if #deps > 0 then
    local names = {}
    for _, d in ipairs(deps) do
      local dk = key_of(d.service, d.component or d.service)
      local r = run.ready[dk]
      if r and not r:is_set() then names[#names + 1] = d.component ~= d.service and dk or d.service end
    end
    if #names > 0 then emit("waiting", "for " .. table.concat(names, ", ")) end
    for _, d in ipairs(deps) do
      local dk = key_of(d.service, d.component or d.service)
      local ok, derr = wait_for(run, dk)
      if not ok then
        local who = (d.component and d.component ~= d.service) and (d.service .. "/" .. d.component) or d.service
        local why = derr and derr.message or "failed"
        local me = comp.name == svc.name and svc.name or key
        return nil, errors.new("DEPLOYMENT_FAILED", ("%s: needs %s, which failed: %s")
          :format(me, who, why:gsub("\n.*", "")), { dependency = who, cause = derr })
      end
    end
    started = sys.now()
  end
  if run.interrupted() then return nil, errors.new("INTERRUPTED", "interrupted") end

  if comp.build then -- the image's tag is the hash of the project's files
    local tag, berr = require("deloc.adapters.docker.image_build").resolve(comp, run.root, plan.project)
    if not tag then return nil, berr end
  end
  local plans, surplus, all_same = M.decide(plan, svc, comp, run.existing.by[key] or {},
    { root = run.root, podman = run.c.podman })
  if not all_same then
    -- Shared prerequisites: secrets are on disk already; the network, the
    -- image and the volumes once per run.
    local ok, err = once(run.cache, "network", ensure_network, run)
    if not ok then return nil, err end
    ok, err = once(run.cache, "image:" .. comp.image, comp.build
      and require("deloc.adapters.docker.image_build").ensure or pull, run, comp.image, svc.name, emit, comp)
    if not ok then return nil, err end
    for _, vname in ipairs(run.sorted(comp.volumes)) do
      local vol = comp.volumes[vname]
      ok, err = once(run.cache, "volume:" .. vol.name, ensure_volume, run, svc.name, vol)
      if not ok then return nil, err end
    end
  end

  for _, p in ipairs(plans) do
    if run.interrupted() then return nil, errors.new("INTERRUPTED", "interrupted") end
    if p.action == "recreate" then
      emit("recreating", p.ctr.State ~= "running" and nil or "stopping the old container")
      local ok, err = M.remove_container(c, p.ctr, oneshot and 1 or comp.stop_timeout)
      if not ok then return nil, err end
      run.result.recreated = run.result.recreated + 1
    end
    if p.action == "create" or p.action == "recreate" then
      emit("creating")
      local id, err = create_and_start(run, svc, comp, p.i, p.body, p.name)
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
  for _, ctr in ipairs(surplus) do
    emit("scaling", ("removing replica %s"):format((ctr.Labels or {})[L.replica] or "?"))
    local ok, err = M.remove_container(c, ctr, 5)
    if not ok then return nil, err end
  end

  if all_same then
    run.result.unchanged = run.result.unchanged + 1
    if oneshot then
      emit("completed", "unchanged")
      return true
    end
    -- Running and unchanged: ready if the engine says healthy (or there is
    -- no health check); otherwise it is still starting, so probe below.
    local all_ready = true
    for _, p in ipairs(plans) do
      local st = p.ctr.Status or ""
      if st:find("(unhealthy)", 1, true) then all_ready = false end
      -- "starting" only means the engine has not run its (slow, steady-state)
      -- check yet; deloc's own probe may have passed on an earlier run.
      if st:find("(health: starting)", 1, true) and not run.known_ready[p.ctr.Id] then
        all_ready = false
      end
    end
    if all_ready then
      emit("unchanged")
      return true
    end
  end

  -- Ready?
  local deadline = run.deadline
  if oneshot then
    emit("running", "one-shot")
    for _, p in ipairs(plans) do
      local code, st = probe.wait_exit(c, p.id, { deadline = deadline, what = key,
        interrupted = run.interrupted })
      if code == nil then return nil, st end
      if code ~= 0 then
        local lines = probe.logs_tail(c, p.id)
        local msg = ("%s exited with exit code %d"):format(comp.name == svc.name and svc.name or key, code)
        if st and st.OOMKilled then msg = msg .. " (killed: out of memory)" end
        return nil, errors.new("DEPLOYMENT_FAILED", msg, { exit_code = code, logs = lines })
      end
    end
    emit("completed")
    return true
  end
  if not run.wait_for_health(key) then
    emit("running")
    return true
  end
  emit("starting", "waiting for health")
  for _, p in ipairs(plans) do
    local ok, err = probe.wait_ready(c, p.id, comp, {
      deadline = deadline, interrupted = run.interrupted,
      what = comp.name == svc.name and svc.name or key,
      on_probe = function(o) out.probe = o end,
    })
    if not ok then return nil, err end
  end
  emit((comp.health and comp.health.kind) and "healthy" or "running")
  return true
end

-- ---- the run ----

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

-- Who needs whom: a component is waited for when a dependent needs it or the
-- user asked to wait.
local function needed_by_someone(plan)
  local needed = {}
  for _, pair in ipairs(component_list(plan)) do
    for _, d in ipairs(pair[2].depends_on or {}) do
      needed[key_of(d.service, d.component or d.service)] = true
    end
  end
  return needed
end

function M.run(c, plan, opts)
  opts = opts or {}
  local t0 = sys.now()
  local emit = opts.on_event or function() end
  local run = {
    c = c, plan = plan, root = opts.root or ".", emit = emit, sorted = sorted,
    cache = {}, ready = {}, known_ready = opts.known_ready or {},
    made = { containers = {}, volumes = {}, network = nil },
    deadline = opts.timeout and (t0 + opts.timeout) or nil,
    result = { components = {}, orphans = {}, removed = {}, failed = {}, created = 0,
               recreated = 0, unchanged = 0 },
  }
  local stop_flag = false
  function run.interrupted()
    if stop_flag then return true end
    local sig = sys.signal_pending()
    if sig == "INT" or sig == "TERM" then stop_flag = true end
    return stop_flag
  end
  local needed = needed_by_someone(plan)
  function run.wait_for_health(key)
    return opts.wait ~= false or needed[key]
  end

  -- Secrets first: files on disk before any container mounts them.
  local ok, err = secrets.ensure(plan, run.root)
  if not ok then return nil, err end

  local existing = opts.existing
  if not existing then
    existing, err = M.existing(c, plan.project)
    if not existing then return nil, err end
  end
  run.existing = existing

  local comps = component_list(plan)
  local planned = {}
  for _, pair in ipairs(comps) do
    local key = key_of(pair[1].name, pair[2].name)
    planned[key] = true
    run.ready[key] = sched.event()
    run.result.components[key] = { service = pair[1].name, component = pair[2].name, ids = {} }
  end

  -- Orphans: what the project has that the plan does not.
  local orphans = {}
  for _, ctr in ipairs(existing.list) do
    local lab = ctr.Labels or {}
    local key = key_of(lab[L.service] or "?", lab[L.component] or "?")
    local svc_planned = plan.services[lab[L.service] or ""] ~= nil
    if not planned[key] and not lab[L.helper] and (svc_planned or not opts.partial) then
      orphans[#orphans + 1] = ctr
    end
  end

  local tasks = {}
  for _, pair in ipairs(comps) do
    local svc, comp = pair[1], pair[2]
    local key = key_of(svc.name, comp.name)
    tasks[#tasks + 1] = sched.spawn(function()
      local okc, errc = deploy_component(run, svc, comp)
      if okc then run.result.components[key].ready = true end
      if not okc then
        local r = run.result.components[key]
        r.state, r.error = "failed", errc
        if errors.is(errc) and errc.code == "INTERRUPTED" then r.state = "interrupted" end
        emit({ service = svc.name, component = comp.name, state = r.state,
          detail = errc and errc.message or tostring(errc) })
      end
      settle(run, key, okc and true or false, errc)
      return okc
    end)
  end
  if #orphans > 0 then
    tasks[#tasks + 1] = sched.spawn(function()
      for _, ctr in ipairs(orphans) do
        local name = (ctr.Names and ctr.Names[1] or ctr.Id):gsub("^/", "")
        local lab = ctr.Labels or {}
        if opts.remove_orphans then
          local okr, rerr = M.remove_container(c, ctr, 5)
          if not okr then error(rerr, 0) end
          run.result.removed[#run.result.removed + 1] = name
          emit({ service = lab[L.service], component = lab[L.component], state = "removed",
            detail = "orphan " .. name })
        else
          run.result.orphans[#run.result.orphans + 1] = name
          emit({ service = lab[L.service], component = lab[L.component], state = "orphan",
            detail = name .. " is not in the plan (--remove-orphans removes it)" })
        end
      end
    end)
  end
  if opts.tick then
    local ticker
    ticker = sched.spawn(function()
      while true do
        local alive = false
        for _, t in ipairs(tasks) do if t.state ~= "done" then alive = true end end
        if not alive or run.interrupted() then return end
        opts.tick()
        sched.sleep(0.2)
      end
    end)
  end
  for _, t in ipairs(tasks) do
    local okw, e = sched.wait(t)
    if not okw then
      return nil, errors.is(e) and e or errors.new("DEPLOYMENT_FAILED", tostring(e),
        { traceback = t.traceback })
    end
  end
  run.result.elapsed = sys.now() - t0

  local first_err, interrupted
  for _, pair in ipairs(comps) do
    local key = key_of(pair[1].name, pair[2].name)
    local r = run.result.components[key]
    if r.error then
      run.result.failed[#run.result.failed + 1] = key
      if errors.is(r.error) and r.error.code == "INTERRUPTED" then interrupted = true end
      -- the root cause, not the dependents that only waited on it
      if not first_err and not (errors.is(r.error) and r.error.dependency) then first_err = r.error end
      first_err = first_err or r.error
    end
  end

  if #run.result.failed > 0 and opts.rollback then
    emit({ service = "deloc", state = "rolling back", detail = "removing what this run created" })
    M.rollback(c, run.made)
  end
  run.result.made = run.made

  if interrupted or run.interrupted() then
    return nil, errors.new("INTERRUPTED", "interrupted", { result = run.result })
  end
  if first_err then
    -- One line per failure: causes first (with their last log lines), then
    -- the components that failed only because they needed one of them.
    local causes, dependents = {}, {}
    for _, key in ipairs(run.result.failed) do
      local e = run.result.components[key].error
      if errors.is(e) and e.dependency then dependents[#dependents + 1] = e else causes[#causes + 1] = e end
    end
    local lines = {}
    local function add(e)
      local m = errors.is(e) and e.message or tostring(e)
      lines[#lines + 1] = m
      for i, l in ipairs(errors.is(e) and e.logs or {}) do
        if i == 1 then lines[#lines + 1] = "  last log lines:" end
        lines[#lines + 1] = "  | " .. l
      end
    end
    for _, e in ipairs(causes) do add(e) end
    for _, e in ipairs(dependents) do add(e) end
    local msg
    if #lines == 1 or (#causes == 1 and #dependents == 0) then
      msg = table.concat(lines, "\n")
    else
      msg = ("%d components failed:\n  "):format(#run.result.failed) .. table.concat(lines, "\n  ")
    end
    local code = "DEPLOYMENT_FAILED"
    if #causes == 1 and causes[1].code == "TIMEOUT" then code = "TIMEOUT" end
    return nil, errors.new(code, msg, {
      result = run.result, probe = first_err.probe, details_added = true,
      hint = first_err.hint,
    })
  end
  return run.result
end

-- apply.changes(plan, existing, root) -> { service = "why" }: the services
-- whose containers do not match the plan (missing, other hash, replica count).
function M.changes(plan, existing, root)
  local out = {}
  for _, pair in ipairs(component_list(plan)) do
    local svc, comp = pair[1], pair[2]
    if comp.build then require("deloc.adapters.docker.image_build").resolve(comp, root or ".", plan.project) end
    local actions, surplus = M.decide(plan, svc, comp,
      existing.by[key_of(svc.name, comp.name)] or {}, { root = root })
    for _, a in ipairs(actions) do
      if a.action == "create" then out[svc.name] = out[svc.name] or "new" end
      if a.action == "recreate" then out[svc.name] = "changed" end
    end
    if #surplus > 0 then out[svc.name] = out[svc.name] or "scaled" end
  end
  return out
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
