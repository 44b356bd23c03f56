-- deloc.adapters.kubernetes.ops: what the Kubernetes driver does besides
-- apply: capacity and placement, status, health, logs, scale, removal and
-- endpoints, all by the project's labels.
--
--   ops.quantity("3800m") -> 3.8;  ops.quantity("16Gi") -> 17179869184
--   ops.capacity(c) -> { cpu=, memory=, disk=, source = {cpu=, memory=, disk=},
--                        nodes = { { name=, cpu=, memory=, allocatable = {cpu=, memory=} } },
--                        skipped = { "node: why" } } | nil, err
--   ops.place(plan, capacity [, strategy]) -> { placement = { ["svc/comp#i"] = node },
--       by_node = { [node] = { "svc/comp#i", ... } }, unplaced = {...}, reasons = {...}, fits= }
--   ops.status(c, project [, {services=}]) -> rows: { service=, component=, kind=, name=,
--       state = "ready"|"starting"|"pending"|"completed"|"failed"|"scaled to 0",
--       ready = "1/1", replicas=, image=, pods = { { name=, phase=, ready=, restarts=, node=, reason= } } }
--   ops.health(c, project [, {services=}]) -> rows { service=, component=, name=, state=, healthy=, output= }
--   ops.logs(c, project, services, { follow=, tail=, since=, on_line = fn(l) }) -> pods | nil, err
--   ops.scale(c, project, service, component, n) -> true | nil, err
--   ops.remove(c, project, { services=, volumes=, namespace=, on_event= })
--       -> { removed = { "Kind/name" }, volumes = { claim names }, namespace = name | nil } | nil, err
--   ops.endpoints(plan) -> { { service=, component=, address = "postgres.deloc-p.svc:5432",
--       forward = "kubectl -n deloc-p port-forward svc/postgres 5432:5432" } }
local errors = require("deloc.errors")
local sched = require("deloc.sched")
local client = require("deloc.adapters.kubernetes.client")
local build = require("deloc.adapters.kubernetes.build")
local apply = require("deloc.adapters.kubernetes.apply")

local L = build.LABEL
local M = {}

-- ---- quantities (the API's format: 3800m, 16Gi, 16384Ki, 1e3, 129M) ----

local SUFFIX = {
  [""] = 1, m = 1e-3, u = 1e-6, n = 1e-9,
  k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15, E = 1e18,
  Ki = 2 ^ 10, Mi = 2 ^ 20, Gi = 2 ^ 30, Ti = 2 ^ 40, Pi = 2 ^ 50, Ei = 2 ^ 60,
}

function M.quantity(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" then return nil end
  local num, suffix = s:match("^%s*([+-]?%d*%.?%d+)([a-zA-Z]*)%s*$")
  if num and SUFFIX[suffix] then return tonumber(num) * SUFFIX[suffix] end
  num = s:match("^%s*([+-]?%d*%.?%d+[eE][+-]?%d+)%s*$")
  return num and tonumber(num) or nil
end

-- ---- capacity ----

local function pod_requests(pod)
  local spec = pod.spec or {}
  local cpu, mem = 0, 0
  for _, ctr in ipairs(spec.containers or {}) do
    local r = (ctr.resources or {}).requests or {}
    cpu = cpu + (M.quantity(r.cpu) or 0)
    mem = mem + (M.quantity(r.memory) or 0)
  end
  for _, ctr in ipairs(spec.initContainers or {}) do
    local r = (ctr.resources or {}).requests or {}
    if ctr.restartPolicy == "Always" then -- a sidecar runs along
      cpu = cpu + (M.quantity(r.cpu) or 0)
      mem = mem + (M.quantity(r.memory) or 0)
    else
      cpu = math.max(cpu, M.quantity(r.cpu) or 0)
      mem = math.max(mem, M.quantity(r.memory) or 0)
    end
  end
  local o = spec.overhead or {}
  return cpu + (M.quantity(o.cpu) or 0), mem + (M.quantity(o.memory) or 0)
end

local function node_problem(node)
  if (node.spec or {}).unschedulable then return "cordoned (unschedulable)" end
  for _, t in ipairs((node.spec or {}).taints or {}) do
    if t.effect == "NoSchedule" or t.effect == "NoExecute" then
      return ("tainted %s:%s"):format(t.key or "?", t.effect)
    end
  end
  local ready
  for _, cnd in ipairs((node.status or {}).conditions or {}) do
    if cnd.type == "Ready" then ready = cnd.status == "True" end
  end
  if not ready then return "not Ready" end
end

local function fmt_cpu(v) return require("deloc.quantity").format_cpu(v) end
local function fmt_mem(v) return require("deloc.quantity").format_memory(v) end

function M.capacity(c)
  local nodes, err = c:list("Node")
  if not nodes then return nil, err end
  local pods
  pods, err = c:get("/api/v1/pods", { fieldSelector = "status.phase!=Succeeded,status.phase!=Failed" })
  if not pods then return nil, err end
  local used = {}
  for _, p in ipairs(pods.items or {}) do
    local n = (p.spec or {}).nodeName
    if n then
      local cpu, mem = pod_requests(p)
      used[n] = used[n] or { cpu = 0, memory = 0 }
      used[n].cpu, used[n].memory = used[n].cpu + cpu, used[n].memory + mem
    end
  end
  local cap = { cpu = 0, memory = 0, disk = 0, nodes = {}, skipped = {} }
  local alloc_cpu, alloc_mem = 0, 0
  table.sort(nodes, function(a, b) return a.metadata.name < b.metadata.name end)
  for _, n in ipairs(nodes) do
    local name = n.metadata.name
    local why = node_problem(n)
    if why then
      cap.skipped[#cap.skipped + 1] = name .. ": " .. why
    else
      local a = (n.status or {}).allocatable or {}
      local cpu, mem = M.quantity(a.cpu) or 0, M.quantity(a.memory) or 0
      local u = used[name] or { cpu = 0, memory = 0 }
      local free = { name = name, cpu = math.max(cpu - u.cpu, 0), memory = math.max(mem - u.memory, 0),
                     allocatable = { cpu = cpu, memory = mem }, requested = u }
      cap.nodes[#cap.nodes + 1] = free
      cap.cpu, cap.memory = cap.cpu + free.cpu, cap.memory + free.memory
      alloc_cpu, alloc_mem = alloc_cpu + cpu, alloc_mem + mem
      cap.disk = cap.disk + (M.quantity(a["ephemeral-storage"]) or 0)
    end
  end
  cap.cpu = math.floor(cap.cpu * 1000 + 0.5) / 1000
  cap.memory = math.floor(cap.memory)
  local n = #cap.nodes
  local where = ("cluster: %d schedulable node%s"):format(n, n == 1 and "" or "s")
  if n == 0 then
    where = "cluster: no schedulable Ready node" .. (#cap.skipped > 0 and (" (" .. table.concat(cap.skipped, "; ") .. ")") or "")
  end
  cap.source = {
    cpu = ("%s, allocatable %s CPUs minus %s requested"):format(where, fmt_cpu(alloc_cpu), fmt_cpu(alloc_cpu - cap.cpu)),
    memory = ("%s, allocatable %s minus %s requested"):format(where, fmt_mem(alloc_mem), fmt_mem(alloc_mem - cap.memory)),
    disk = ("%s, allocatable ephemeral storage (claims come from the storage class)"):format(where),
  }
  return cap
end

-- place(plan, capacity) -> packing of every replica onto the nodes
function M.place(plan, capacity, strategy)
  local items = {}
  for _, sname in ipairs(plan.order) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order) do
      local comp = s.components[cname]
      local n = comp.kind == "oneshot" and 1 or (comp.replicas or 1)
      for i = 1, n do
        local name = sname == cname and sname or (sname .. "/" .. cname)
        if n > 1 then name = name .. "#" .. i end
        -- a wait init container asks for 10m/32Mi at most: below the main one
        items[#items + 1] = { name = name, cpu = comp.cpu or 0, memory = comp.memory or 0 }
      end
    end
  end
  local reserve = (plan.capacity or {}).reserve or 0
  local bins = {}
  for _, node in ipairs(capacity.nodes or {}) do
    bins[#bins + 1] = { name = node.name, cpu = math.floor(node.cpu * (1 - reserve) * 1000) / 1000,
                        memory = math.floor(node.memory * (1 - reserve)) }
  end
  local r = require("deloc.pack").pack(items, bins, { strategy = strategy or "best" })
  r.by_node = {}
  for _, b in ipairs(bins) do r.by_node[b.name] = (r.bins[b.name] or {}).items or {} end
  return r
end

-- ---- status and health ----

local function wanted(services)
  if not services or #services == 0 then return nil end
  local w = {}
  for _, s in ipairs(services) do w[s] = true end
  return w
end

local function pod_row(p)
  local st = p.status or {}
  local ready, restarts, reason = true, 0, nil
  for _, cs in ipairs(st.containerStatuses or {}) do
    if not cs.ready then ready = false end
    restarts = restarts + (cs.restartCount or 0)
    local w = cs.state and cs.state.waiting
    if w and w.reason then reason = w.reason end
  end
  if #(st.containerStatuses or {}) == 0 then ready = false end
  for _, cnd in ipairs(st.conditions or {}) do
    if cnd.type == "PodScheduled" and cnd.status == "False" then reason = cnd.reason or "Unschedulable" end
  end
  return { name = p.metadata.name, phase = st.phase or "Pending", ready = ready, restarts = restarts,
           node = (p.spec or {}).nodeName, reason = reason, started = st.startTime }
end

function M.status(c, project, opts)
  opts = opts or {}
  local ns = build.namespace(project)
  local want = wanted(opts.services)
  local have, err = apply.existing(c, project, { "Deployment", "StatefulSet", "Job" })
  if not have then return nil, err end
  local pods
  pods, err = c:list("Pod", ns, build.selector(project))
  if not pods then
    if err.status == 404 then pods = {} else return nil, err end
  end
  local by = {}
  for _, p in ipairs(pods) do
    local lab = p.metadata.labels or {}
    local k = (lab[L.service] or "?") .. "/" .. (lab[L.component] or "?")
    by[k] = by[k] or {}
    table.insert(by[k], pod_row(p))
  end
  local rows = {}
  for _, o in pairs(have) do
    local lab = o.metadata.labels or {}
    if not want or want[lab[L.service]] then
      local k = (lab[L.service] or "?") .. "/" .. (lab[L.component] or "?")
      local state, detail = apply.ready(o)
      local st = o.status or {}
      local want_n = o.kind == "Job" and 1 or ((o.spec or {}).replicas or 1)
      local row = { service = lab[L.service], component = lab[L.component], kind = o.kind,
        name = o.metadata.name, replicas = want_n, pods = by[k] or {},
        image = (((o.spec or {}).template or {}).spec or {}).containers
          and o.spec.template.spec.containers[1].image or nil,
        hash = lab[L.hash], ready = o.kind == "Job" and (state == "completed" and "1/1" or "0/1")
          or ("%d/%d"):format(st.readyReplicas or 0, want_n) }
      if state then
        row.state = state
      elseif want_n == 0 then
        row.state = "scaled to 0"
      else
        row.state = "starting"
        local any_pod = #row.pods > 0
        if not any_pod then row.state = "pending" end
        for _, p in ipairs(row.pods) do
          if p.reason then row.detail = p.reason end
          if p.reason == "CrashLoopBackOff" or p.reason == "ImagePullBackOff" or p.reason == "ErrImagePull" then
            row.state = "failing"
          end
        end
        row.detail = row.detail or detail
      end
      rows[#rows + 1] = row
    end
  end
  table.sort(rows, function(a, b)
    if a.service ~= b.service then return (a.service or "") < (b.service or "") end
    return (a.component or "") < (b.component or "")
  end)
  return rows
end

function M.health(c, project, opts)
  local rows, err = M.status(c, project, opts)
  if not rows then return nil, err end
  local out = {}
  for _, r in ipairs(rows) do
    local healthy = r.state == "ready" or r.state == "completed"
    local reasons = {}
    for _, p in ipairs(r.pods) do
      if not p.ready and p.phase ~= "Succeeded" then
        reasons[#reasons + 1] = ("%s: %s%s"):format(p.name, p.phase, p.reason and (" (" .. p.reason .. ")") or "")
      end
    end
    out[#out + 1] = { service = r.service, component = r.component, name = r.name, state = r.state,
      healthy = healthy, output = #reasons > 0 and table.concat(reasons, "; ")
        or (healthy and (r.ready .. " ready") or (r.detail or (r.ready .. " ready"))) }
  end
  return out
end

-- ---- logs ----

local function line_splitter(emit)
  local buf = ""
  return {
    feed = function(chunk)
      buf = buf .. chunk
      while true do
        local nl = buf:find("\n", 1, true)
        if not nl then break end
        emit(buf:sub(1, nl - 1))
        buf = buf:sub(nl + 1)
      end
    end,
    finish = function()
      if buf ~= "" then emit(buf) end
      buf = ""
    end,
  }
end

-- logs(c, project, services, { follow=, tail=, since = { seconds= }, timestamps=,
--   on_keys = fn(keys), on_line = fn(l) }) -> pods | nil, err
--   l = { key = pod name, service=, component=, text= }
function M.logs(c, project, services, opts)
  opts = opts or {}
  local on_line = opts.on_line or function() end
  local ns = build.namespace(project)
  local pods, err = c:list("Pod", ns, build.selector(project))
  if not pods then return nil, err end
  local want = wanted(services)
  local chosen = {}
  for _, p in ipairs(pods) do
    local lab = p.metadata.labels or {}
    if not want or want[lab[L.service]] then chosen[#chosen + 1] = p end
  end
  table.sort(chosen, function(a, b) return a.metadata.name < b.metadata.name end)
  if #chosen == 0 then return 0 end
  if opts.on_keys then
    local keys = {}
    for _, p in ipairs(chosen) do keys[#keys + 1] = p.metadata.name end
    opts.on_keys(keys)
  end
  local function one(p)
    local lab = p.metadata.labels or {}
    local container = (((p.spec or {}).containers or {})[1] or {}).name
    local function emit(text)
      on_line({ key = p.metadata.name, service = lab[L.service], component = lab[L.component], text = text })
    end
    local lines = line_splitter(emit)
    local q = { container = container, follow = opts.follow and true or nil,
                tailLines = opts.tail and tostring(opts.tail) or nil, timestamps = opts.timestamps or nil,
                sinceSeconds = opts.since and opts.since.seconds or nil }
    local _, e = c:request({ method = "GET", path = client.collection("Pod", ns) .. "/" .. p.metadata.name .. "/log",
      query = q, accept = "*/*", on_data = function(chunk) lines.feed(chunk) end,
      timeout = not opts.follow and 60 or nil })
    lines.finish()
    if e and not (opts.follow and e.code == "INTERRUPTED") then
      -- a pod that never started has no log yet: say so, do not fail the rest
      emit(("(no log: %s)"):format(e.message))
    end
  end
  if sched.current() then
    sched.map(chosen, one, 8)
  else
    sched.wait(sched.spawn(function() sched.map(chosen, one, 8) end))
  end
  return #chosen
end

-- ---- scale ----

function M.scale(c, project, service, component, n)
  local have, err = apply.existing(c, project, { "Deployment", "StatefulSet" })
  if not have then return nil, err end
  local target
  for _, o in pairs(have) do
    local lab = o.metadata.labels or {}
    if lab[L.service] == service and (component == nil or lab[L.component] == component) then
      if target then
        return nil, errors.new("USAGE", ("service '%s' has several components; name one: %s/<component>")
          :format(service, service))
      end
      target = o
    end
  end
  if not target then
    return nil, errors.new("SERVICE_NOT_FOUND", ("no scalable workload for '%s%s' in project '%s'")
      :format(service, component and ("/" .. component) or "", project))
  end
  local _
  _, err = c:request({ method = "PATCH", path = client.path(target) .. "/scale",
    body = { spec = { replicas = n } }, content_type = "application/merge-patch+json",
    query = { fieldManager = "deloc-scale" } })
  if err then return nil, err end
  return true, target
end

-- ---- removal ----

function M.remove(c, project, opts)
  opts = opts or {}
  local emit = opts.on_event
  local want = wanted(opts.services)
  local kinds = {}
  for _, k in ipairs(apply.PROJECT_KINDS) do kinds[#kinds + 1] = k end
  local have, err = apply.existing(c, project, kinds)
  if not have then
    if err.status == 404 then have = {} else return nil, err end
  end
  local objs = {}
  for _, o in pairs(have) do
    local lab = o.metadata.labels or {}
    if not want or want[lab[L.service]] then objs[#objs + 1] = o end
  end
  local out = { removed = {}, volumes = {} }
  local removed
  removed, err = apply.remove_objects(c, objs, emit)
  if not removed then return nil, err end
  out.removed = removed
  if opts.volumes then
    local claims
    claims, err = c:list("PersistentVolumeClaim", build.namespace(project), build.selector(project))
    if not claims and err.status ~= 404 then return nil, err end
    for _, cl in ipairs(claims or {}) do
      local lab = cl.metadata.labels or {}
      if not want or want[lab[L.service]] then
        local ok, derr = c:delete(cl)
        if not ok then return nil, derr end
        out.volumes[#out.volumes + 1] = cl.metadata.name
        if emit then
          emit({ service = lab[L.service] or "deloc", component = lab[L.component], state = "removed",
            detail = "PersistentVolumeClaim/" .. cl.metadata.name })
        end
      end
    end
  end
  -- the namespace goes with the last of the project (it holds the claims)
  if not want and (opts.volumes or opts.namespace) then
    local ns = build.namespace(project)
    local live = c:get("/api/v1/namespaces/" .. ns)
    if live and ((live.metadata or {}).labels or {})[L.project] == project then
      local ok, derr = c:delete({ kind = "Namespace", metadata = { name = ns } })
      if not ok then return nil, derr end
      out.namespace = ns
      if emit then emit({ service = "deloc", state = "removed", detail = "Namespace/" .. ns }) end
    end
  end
  table.sort(out.removed)
  table.sort(out.volumes)
  return out
end

-- ---- endpoints ----

function M.endpoints(plan)
  local objects = require("deloc.k8s.objects")
  local ns = build.namespace(plan.project)
  local out = {}
  for _, sname in ipairs(plan.order) do
    local s = plan.services[sname]
    for _, cname in ipairs(s.component_order) do
      local comp = s.components[cname]
      if comp.kind ~= "oneshot" and next(comp.ports or {}) then
        local n = objects.names(plan, sname, cname)
        local pnames = {}
        for pn in pairs(comp.ports) do pnames[#pnames + 1] = pn end
        table.sort(pnames)
        for _, pn in ipairs(pnames) do
          local p = comp.ports[pn]
          if p.publish ~= false then
            local local_port = p.host or p.container
            out[#out + 1] = { service = sname, component = cname, port = pn,
              address = ("%s.%s.svc:%d"):format(n.services[1], ns, p.container),
              forward = ("kubectl -n %s port-forward svc/%s %d:%d"):format(ns, n.services[1], local_port, p.container),
              ["local"] = ("127.0.0.1:%d"):format(local_port) }
          end
        end
      end
    end
  end
  return out
end

return M
