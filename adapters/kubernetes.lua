-- deloc.adapters.kubernetes: the Kubernetes driver.  It talks HTTPS to the
-- API server (deloc.http; no kubectl or helm at run time), applies the very
-- objects the Helm chart templates (deloc.k8s.objects) with server-side
-- apply, and finds what it made again by the labels dev.deloc.project /
-- service / component in the namespace "deloc-<project>".
--
--   local k8s = require("deloc.adapters.kubernetes")
--   local c, err = k8s.connect{ context = "kind-dev", kubeconfig = path }
--   k8s.capacity(c)                 -> capacity for the planner (nodes' allocatable minus requests)
--   k8s.place(plan, capacity)       -> which node would take which component (deloc.pack)
--   k8s.apply(c, plan, opts)        -> result | nil, err            (kubernetes/apply.lua)
--   k8s.status(c, project, opts)    -> rows                          (kubernetes/ops.lua)
--   k8s.health(c, project, opts)    -> rows
--   k8s.logs(c, project, services, opts) -> true, pods | nil, err
--   k8s.scale(c, project, service, component, n) -> true, workload | nil, err
--   k8s.remove(c, project, { services=, volumes=, on_event= }) -> summary | nil, err
--   k8s.clean(c, project [, opts])  -> summary (every labelled object, claims and the namespace)
--   k8s.endpoints(plan)             -> { { service=, address=, forward=, local= } }
--   k8s.objects(plan, root)         -> the objects `up` applies (namespace first)
--   k8s.namespace(project)          -> "deloc-<project>"
-- Every call works inside or outside a sched task.
local sched = require("deloc.sched")
local client = require("deloc.adapters.kubernetes.client")
local build = require("deloc.adapters.kubernetes.build")
local apply = require("deloc.adapters.kubernetes.apply")
local ops = require("deloc.adapters.kubernetes.ops")

local M = {}

M.name = "kubernetes"
M.LABEL = build.LABEL

local function in_task(fn, ...)
  if sched.current() then return fn(...) end
  local args = { n = select("#", ...), ... }
  local r
  local ok, e = sched.wait(sched.spawn(function() r = { fn(unpack(args, 1, args.n)) } end))
  if not ok then error(e, 0) end
  return unpack(r, 1, 3)
end

function M.connect(opts) return client.connect(opts) end
function M.capacity(c) return in_task(ops.capacity, c) end
M.place = ops.place
function M.apply(c, plan, opts) return in_task(apply.run, c, plan, opts) end
function M.status(c, project, opts) return in_task(ops.status, c, project, opts) end
function M.health(c, project, opts) return in_task(ops.health, c, project, opts) end
function M.logs(c, project, services, opts) return in_task(ops.logs, c, project, services, opts) end
function M.scale(c, project, service, component, n)
  return in_task(ops.scale, c, project, service, component, n)
end
function M.remove(c, project, opts) return in_task(ops.remove, c, project, opts) end
function M.clean(c, project, opts)
  opts = opts or {}
  return in_task(ops.remove, c, project, { volumes = true, namespace = true, on_event = opts.on_event })
end
M.endpoints = ops.endpoints
M.objects = build.objects
M.namespace = build.namespace
M.quantity = ops.quantity

return M
