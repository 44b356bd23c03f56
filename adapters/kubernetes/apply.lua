-- deloc.adapters.kubernetes.apply: converge a cluster to a plan with
-- server-side apply.
--
--   apply.run(c, plan, opts) -> result | nil, err (err.result holds the result)
--   opts = { root = project dir, on_event = fn(ev), tick = fn(), wait = true,
--            timeout = seconds (300), rollback = false, previous = last applied plan,
--            remove_orphans = false, partial = false (services were named) }
--   result = { namespace=, created=, configured=, unchanged=, elapsed=,
--              objects = { ["Kind/name"] = "created" | "configured" | "unchanged" },
--              components = { ["svc/comp"] = { service=, component=, state=, detail= } },
--              failed = { "svc/comp", ... }, orphans = { "Kind/name" }, removed = { "Kind/name" },
--              warnings = { server warnings } }
--
-- The namespace first (labelled for Pod Security), then the objects that
-- are not workloads (service accounts, RBAC, secrets, network policies,
-- services) together, then each workload once the workloads it depends on
-- are ready (with wait) -- dependencies first.  An object whose applied
-- configuration is unchanged is not written: its resourceVersion stays.
-- Nothing marks an operation "in progress" anywhere, so a killed deloc
-- leaves nothing to unlock: the next `up` simply converges.
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local sched = require("deloc.sched")
local client = require("deloc.adapters.kubernetes.client")
local build = require("deloc.adapters.kubernetes.build")

local L = build.LABEL
local M = {}

M.POLL = 1
M.WORKLOAD_KINDS = { Deployment = true, StatefulSet = true, Job = true }
-- what a project may own, dependents before what they need (removal order)
M.PROJECT_KINDS = { "Job", "Deployment", "StatefulSet", "Service", "NetworkPolicy", "RoleBinding",
                    "Role", "Secret", "ConfigMap", "ServiceAccount", "PodDisruptionBudget" }

local function key_of(service, component) return service .. "/" .. component end

-- apply.existing(c, project) -> { ["Kind/name"] = object } | nil, err
function M.existing(c, project, kinds)
  local ns = build.namespace(project)
  local out = {}
  local _, errs = sched.map(kinds or M.PROJECT_KINDS, function(kind)
    local items, err = c:list(kind, ns, build.selector(project))
    if not items then error(err, 0) end
    for _, it in ipairs(items) do out[kind .. "/" .. it.metadata.name] = it end
  end, 6)
  local _, e = next(errs)
  if e then return nil, e end
  return out
end

-- ---- readiness ----

local function condition(obj, type_)
  for _, cnd in ipairs((obj.status or {}).conditions or {}) do
    if cnd.type == type_ then return cnd end
  end
end

-- ready(obj) -> "ready" | "completed" | "failed", detail | nil, detail (not yet)
function M.ready(obj)
  local st = obj.status or {}
  local md = obj.metadata or {}
  if obj.kind == "Job" then
    local done = condition(obj, "Complete")
    if done and done.status == "True" then return "completed" end
    local failed = condition(obj, "Failed")
    if failed and failed.status == "True" then
      return "failed", failed.message or failed.reason or "the job failed"
    end
    return nil, ("%d running, %d failed"):format(st.active or 0, st.failed or 0)
  end
  local want = (obj.spec or {}).replicas or 1
  if (st.observedGeneration or 0) < (md.generation or 0) then return nil, "rollout not observed yet" end
  local ready = st.readyReplicas or 0
  local updated = st.updatedReplicas or 0
  if obj.kind == "Deployment" then
    local avail = st.availableReplicas or 0
    if updated >= want and avail >= want and ready >= want and (st.replicas or 0) <= want then
      return "ready", ("%d/%d ready"):format(ready, want)
    end
    local progressing = condition(obj, "Progressing")
    if progressing and progressing.reason == "ProgressDeadlineExceeded" then
      return "failed", progressing.message
    end
  else
    if ready >= want and updated >= want and (st.replicas or 0) <= want then
      return "ready", ("%d/%d ready"):format(ready, want)
    end
  end
  return nil, ("%d/%d ready"):format(ready, want)
end

-- Waiting reasons that do not go away by waiting: the wait fails at once.
M.FATAL = { CrashLoopBackOff = true, ImagePullBackOff = true, ErrImagePull = true,
  InvalidImageName = true, CreateContainerConfigError = true, CreateContainerError = true,
  RunContainerError = true }

-- A container that restarted since the wait began (restart counts seen
-- first are the baseline), or waits for a reason in FATAL.
local function container_trouble(cs, pod, seen)
  local key = pod.metadata.name .. "/" .. tostring(cs.name)
  local n = cs.restartCount or 0
  if seen[key] == nil then seen[key] = n end
  local w = cs.state and cs.state.waiting
  local t = cs.lastState and cs.lastState.terminated
  local exit = t and (" (last exit code %s)"):format(tostring(t.exitCode)) or ""
  if w and w.reason and w.reason ~= "ContainerCreating" and w.reason ~= "PodInitializing" then
    return ("%s: %s%s%s"):format(cs.name, w.reason, w.message and (": " .. w.message) or "", exit),
      M.FATAL[w.reason] or n > seen[key]
  end
  if t and n > 0 then
    return ("%s restarted %d times%s"):format(cs.name, n, exit), n > seen[key]
  end
end

-- Why the pods of a workload are not ready yet (the first reason found):
-- detail, fatal, pod, container.
local function pod_trouble(c, ns, obj, seen)
  local lab = obj.metadata.labels or {}
  local pods = c:list("Pod", ns, build.selector(lab[L.project], lab[L.service], lab[L.component]))
  if not pods then return nil end
  if #pods == 0 then return "no pod yet" end
  local first
  for _, p in ipairs(pods) do
    -- a pod on its way out (an earlier revision's) is no reason to fail
    local st = p.metadata.deletionTimestamp and {} or (p.status or {})
    for _, cnd in ipairs(st.conditions or {}) do
      if cnd.type == "PodScheduled" and cnd.status == "False" then
        first = first or { ("unschedulable: %s"):format(cnd.message or cnd.reason or "?") }
      end
    end
    for _, l in ipairs({ st.initContainerStatuses or {}, st.containerStatuses or {} }) do
      for _, cs in ipairs(l) do
        local detail, fatal = container_trouble(cs, p, seen or {})
        if fatal then return detail, true, p, cs end
        if detail then first = first or { detail } end
      end
    end
    if not st.phase or st.phase == "Pending" then first = first or { "pod pending" } end
  end
  if first then return first[1] end
end

-- The last log lines of a pod's container (its previous run, when it restarted).
local function pod_log_tail(c, pod, cs)
  local ns, name = pod.metadata.namespace, pod.metadata.name
  local body = c:request({ method = "GET", path = client.collection("Pod", ns) .. "/" .. name .. "/log",
    query = { container = cs.name, tailLines = "12", previous = (cs.restartCount or 0) > 0 and "true" or nil },
    accept = "*/*", timeout = 10 })
  local lines = {}
  if type(body) == "string" then
    for l in body:gmatch("[^\n]+") do lines[#lines + 1] = l end
  end
  return lines
end

-- wait_ready(c, obj, deadline, emit) -> state | nil, err
local function wait_ready(run, obj, emit)
  local c = run.c
  local path = client.path(obj)
  local last_detail
  local seen = {}
  while true do
    local live, err = c:get(path)
    if not live then return nil, err end
    live.kind = obj.kind
    local state, detail = M.ready(live)
    if state == "failed" then
      return nil, errors.new("DEPLOYMENT_FAILED", ("%s %s failed: %s"):format(obj.kind:lower(),
        obj.metadata.name, tostring(detail)))
    elseif state then
      return state, detail
    end
    local trouble, fatal, pod, cs = pod_trouble(c, obj.metadata.namespace, obj, seen)
    if fatal then
      return nil, errors.new("DEPLOYMENT_FAILED", ("%s %s failed: pod %s: %s"):format(obj.kind:lower(),
        obj.metadata.name, pod.metadata.name, trouble), { logs = pod_log_tail(c, pod, cs),
        hint = "see 'deloc logs' and 'deloc status'; fix the image or configuration and run 'deloc up' again" })
    end
    detail = trouble or detail
    if detail ~= last_detail then
      emit("starting", detail)
      last_detail = detail
    end
    if sys.now() >= run.deadline then
      return nil, errors.new("TIMEOUT", ("%s %s not ready after %ds: %s"):format(obj.kind:lower(),
        obj.metadata.name, math.floor(run.timeout), tostring(detail)),
        { hint = "see 'deloc status' and 'deloc logs'; raise --timeout if it is only slow" })
    end
    if sys.signal_pending() then
      return nil, errors.new("INTERRUPTED", "interrupted while waiting for " .. obj.metadata.name)
    end
    sched.sleep(M.POLL)
  end
end

-- ---- applying ----

-- A StatefulSet's volume claim templates (and selector, service name)
-- cannot change in place: the StatefulSet is deleted with its pods and
-- claims orphaned, then applied again and adopts them (pods roll to the new
-- template; existing claims keep their size -- resizing a claim is the
-- storage class's business).
local function replace_statefulset(run, obj)
  run.emit({ service = (obj.metadata.labels or {})[L.service] or "deloc",
    component = (obj.metadata.labels or {})[L.component], state = "recreating",
    detail = "statefulset " .. obj.metadata.name .. ": a field that cannot change in place changed" })
  local ok, err = run.c:delete(obj, { propagationPolicy = "Orphan" })
  if not ok then return nil, err end
  local deadline = sys.now() + 60
  while true do
    local live, gerr = run.c:get(client.path(obj))
    if not live then
      if gerr.status == 404 then break end
      return nil, gerr
    end
    if sys.now() > deadline then
      return nil, errors.new("TIMEOUT", ("statefulset %s is still being deleted after 60s"):format(obj.metadata.name),
        { hint = "the cluster's garbage collector removes it; run up again once it is gone" })
    end
    sched.sleep(0.5)
  end
  return run.c:apply(obj)
end

local function apply_one(run, obj)
  local k = build.key(obj)
  local before = run.existing[k]
  local live, err = run.c:apply(obj)
  if not live and obj.kind == "StatefulSet" and err.status == 422
      and tostring(err.message):find("updates to statefulset spec for fields other than", 1, true) then
    live, err = replace_statefulset(run, obj)
  end
  if not live then
    err.message = ("cannot apply %s: %s"):format(k, err.message)
    return nil, err
  end
  local action
  if not before then
    action = "created"
    run.made[#run.made + 1] = obj
  elseif before.metadata.resourceVersion == live.metadata.resourceVersion then
    action = "unchanged"
  else
    action = "configured"
  end
  run.result.objects[k] = action
  run.result[action] = run.result[action] + 1
  return live, action
end

-- deploy: apply the component's workload; without a wait its action is its state.
local function deploy(run, svc, comp, emit)
  local key = key_of(svc.name, comp.name)
  local obj = run.workloads[key]
  if not obj then return true, "unchanged" end -- nothing to run (no workload object)
  emit("applying", obj.kind:lower() .. " " .. obj.metadata.name)
  local live, action = apply_one(run, obj)
  if not live then return nil, action end
  run.result.components[key].action = action
  if not run.must_wait(key) then
    emit(action, obj.kind:lower() .. " " .. obj.metadata.name)
    return true, action
  end
  return true
end

-- ready: the workload reports ready (a Job: complete); a pod that crash-loops
-- or cannot pull its image fails at once.
local function ready(run, svc, comp, emit)
  local key = key_of(svc.name, comp.name)
  local obj = run.workloads[key]
  local state, detail = wait_ready(run, obj, emit)
  if not state then return nil, detail end
  -- a just-created Job that has completed reports its action, not "unchanged"
  local action = run.result.components[key].action
  if action == "unchanged" then detail = "unchanged" end
  emit(state, detail or action)
  return state
end

-- Removes objects (in PROJECT_KINDS order); returns the keys removed.
function M.remove_objects(c, objs, emit)
  local rank = {}
  for i, k in ipairs(M.PROJECT_KINDS) do rank[k] = i end
  table.sort(objs, function(a, b)
    local ra, rb = rank[a.kind] or 0, rank[b.kind] or 0
    if ra ~= rb then return ra < rb end
    return a.metadata.name < b.metadata.name
  end)
  local removed = {}
  for _, o in ipairs(objs) do
    local ok, err = c:delete({ kind = o.kind, metadata = o.metadata })
    if not ok then return nil, err, removed end
    removed[#removed + 1] = build.key(o)
    if emit then
      local lab = o.metadata.labels or {}
      emit({ service = lab[L.service] or "deloc", component = lab[L.component], state = "removed",
        detail = build.key(o) })
    end
  end
  return removed
end

-- A StatefulSet (OrderedReady) does not replace a pod that is not Ready when
-- its template goes back (Kubernetes' "forced rollback"): once the controller
-- has seen the reverted template, the pods of another revision that are not
-- Ready are deleted, and it makes them again from the restored one.
local function force_statefulset_rollback(run, obj)
  local path = client.path(obj)
  local deadline = sys.now() + 30
  local live, err
  while true do
    live, err = run.c:get(path)
    if not live then return nil, err end
    local st = live.status or {}
    if (st.observedGeneration or 0) >= (live.metadata.generation or 0) and st.updateRevision then break end
    if sys.now() > deadline then return true end
    sched.sleep(0.5)
  end
  local lab = obj.metadata.labels or {}
  local pods
  pods, err = run.c:list("Pod", obj.metadata.namespace, build.selector(lab[L.project], lab[L.service], lab[L.component]))
  if not pods then return nil, err end
  for _, p in ipairs(pods) do
    local is_ready = false
    for _, cnd in ipairs((p.status or {}).conditions or {}) do
      if cnd.type == "Ready" and cnd.status == "True" then is_ready = true end
    end
    local rev = (p.metadata.labels or {})["controller-revision-hash"]
    if rev ~= live.status.updateRevision and not is_ready and not p.metadata.deletionTimestamp then
      local ok, derr = run.c:delete({ kind = "Pod", metadata = p.metadata })
      if not ok and derr.status ~= 404 then return nil, derr end
    end
  end
  return true
end

-- Undoes a failed run: re-applies the previous plan's objects (an upgrade)
-- and removes what this run created that the previous plan did not have.
local function rollback(run, opts)
  run.emit({ service = "deloc", state = "rolling back",
    detail = opts.previous and "re-applying the previous revision" or "removing what this run created" })
  local keep = {}
  if opts.previous and not run.fresh then
    local prev = build.objects(opts.previous, opts.root)
    for _, o in ipairs(prev or {}) do
      if o.kind ~= "Namespace" then
        keep[build.key(o)] = true
        local ok, err = run.c:apply(o)
        if not ok then return nil, err end
        if o.kind == "StatefulSet" then
          ok, err = force_statefulset_rollback(run, o)
          if not ok then return nil, err end
        end
      end
    end
  end
  local gone = {}
  for _, o in ipairs(run.made) do
    if not keep[build.key(o)] and o.kind ~= "Namespace" then gone[#gone + 1] = o end
  end
  local removed, err = M.remove_objects(run.c, gone)
  if not removed then return nil, err end
  if run.fresh then
    local ok, derr = run.c:delete({ kind = "Namespace", metadata = { name = run.ns } })
    if not ok then return nil, derr end
    removed[#removed + 1] = "Namespace/" .. run.ns
  end
  run.result.rolled_back = removed
  return true
end

local function check_namespace(c, plan)
  local ns = build.namespace(plan.project)
  local live, err = c:get("/api/v1/namespaces/" .. ns)
  if not live then
    if err.status == 404 then return false end
    return nil, err
  end
  local lab = (live.metadata or {}).labels or {}
  if lab[L.project] ~= plan.project then
    return nil, errors.new("DEPLOYMENT_FAILED", ("namespace '%s' exists and does not belong to deloc project '%s'")
      :format(ns, plan.project), { hint = "rename the project (project: in deloc.yaml) or remove that namespace" })
  end
  if live.metadata.deletionTimestamp then
    return nil, errors.new("BUSY", ("namespace '%s' is being deleted"):format(ns),
      { hint = "wait until it is gone ('kubectl get namespace " .. ns .. "'), then run up again" })
  end
  return true
end

-- prepare: the namespace (checked to be the project's), then every object
-- that is not a workload, together.
local function prepare(run, c, plan, opts)
  run.c, run.plan, run.made = c, plan, {}
  run.ns = build.namespace(plan.project)
  run.wait = opts.wait ~= false
  local objs, err = build.objects(plan, opts.root)
  if not objs then return nil, err end
  run.objs = objs
  local had_ns
  had_ns, err = check_namespace(c, plan)
  if had_ns == nil then return nil, err end
  run.fresh = not had_ns
  local level, reasons = build.pod_security(plan)
  if level ~= "restricted" then
    run.emit({ service = "deloc", state = "warning", detail = ("namespace %s enforces Pod Security '%s', not 'restricted': %s")
      :format(run.ns, level, table.concat(reasons, "; ")) })
  end
  local ns_obj = table.remove(objs, 1)
  run.existing = {}
  if had_ns then
    run.existing, err = M.existing(c, plan.project)
    if not run.existing then return nil, err end
    run.existing[build.key(ns_obj)] = c:get("/api/v1/namespaces/" .. run.ns)
  end
  local ok
  ok, err = apply_one(run, ns_obj)
  if not ok then return nil, err end
  local others = {}
  for _, o in ipairs(objs) do
    if not M.WORKLOAD_KINDS[o.kind] then others[#others + 1] = o end
  end
  run.workloads = build.workloads(objs)
  local _, errs = sched.map(others, function(o)
    local live, e = apply_one(run, o)
    if not live then error(e, 0) end
  end, 6)
  local _, e = next(errs)
  if e then return nil, e end
  return true
end

-- finish: what the project has that the plan does not: old jobs (a new
-- configuration is a new job) go once nothing failed; the rest with
-- remove_orphans, else it is reported.
local function finish(run, failed, opts)
  local plan = run.plan
  local desired = {}
  for _, o in ipairs(run.objs) do desired[build.key(o)] = true end
  local stale = {}
  for k, o in pairs(run.existing) do
    local lab = o.metadata.labels or {}
    local planned_svc = plan.services[lab[L.service] or ""] ~= nil
    if not desired[k] and o.kind ~= "Namespace" and (planned_svc or not opts.partial) then
      local planned_comp = planned_svc and plan.services[lab[L.service]].components[lab[L.component] or ""]
      if (o.kind == "Job" and planned_comp) or opts.remove_orphans then
        stale[#stale + 1] = o
      else
        run.result.orphans[#run.result.orphans + 1] = k
        run.emit({ service = lab[L.service] or "deloc", component = lab[L.component], state = "orphan",
          detail = k .. " is not in the plan (--remove-orphans removes it)" })
      end
    end
  end
  table.sort(run.result.orphans)
  if #stale > 0 and not failed then
    local removed, rerr = M.remove_objects(run.c, stale, run.emit)
    for _, k in ipairs(removed or {}) do run.result.removed[#run.result.removed + 1] = k end
    if not removed then return nil, rerr end
  end
  return true
end

function M.run(c, plan, opts)
  opts = opts or {}
  local steps = { deploy = deploy, ready = ready, wait_needed = false }
  function steps.prepare(run) return prepare(run, c, plan, opts) end
  function steps.finish(run, failed) return finish(run, failed, opts) end
  function steps.rollback(run)
    local ok, err = rollback(run, opts)
    if not ok then run.emit({ service = "deloc", state = "failed", detail = "rollback: " .. tostring(err) }) end
  end
  local ns = build.namespace(plan.project)
  local result, err = require("deloc.converge").run(plan, steps, opts, { namespace = ns, created = 0,
    configured = 0, unchanged = 0, objects = {}, orphans = {}, removed = {}, warnings = c.warnings })
  local r = result or (err and err.result)
  if r then r.made = nil end
  return result, err
end

return M
