-- deloc.plan.facts: the facts every target needs about a planned component,
-- decided once, here, so that renderers (compose, helm) and drivers (docker,
-- kubernetes) only translate them.
--
--   facts.component(plan, service, component) -> component, with:
--     id = "<service>" | "<service>-<component>"   the one name a target uses
--     pids_limit = 4096, cap_drop = { "ALL" }, cap_add = { recipe capabilities },
--     no_new_privileges = true, read_only = bool,
--     restart = "unless-stopped" | "no" (one-shots),
--     tmpfs_owned = true when a non-root user must own the tmpfs mounts
--       (Podman mounts them root-owned otherwise; Docker's are 1777 already),
--     host_ip = "127.0.0.1": the address published ports bind on the host,
--     healthcheck = { test = { "CMD"|"CMD-SHELL", ... }, interval=, timeout=,
--                     retries=, start_period= } (seconds) | nil: the check a
--       container engine runs (none for one-shots and log patterns),
--     depends_on[i].component filled in (a dependency on a whole service
--       means its primary component),
--     config_hash = hash = 16 hex digits over everything that, when changed,
--       means recreating (all of the above, image, env, command, ports,
--       volumes, secrets, limits, user...; not the replica count nor the smoke),
--     labels = { dev.deloc.project, .service, .component, .kind, .config-hash }
--   facts.complete(plan) -> plan: the same for every component, plus
--     plan.network, service.primary, and plan.components, the components in
--     start order: { { service=, component=, id= }, ... }.  Idempotent; a
--     plan from the planner is complete already, a hand-written or older
--     one (a state file's) is completed in place.
--   facts.primary(service_table) -> the component a dependency on the whole
--     service means: the one named like the service, else the first that is
--     not a one-shot, else the first
--   facts.config_hash(component) -> 16 hex digits
--   facts.LABEL, facts.DEFAULT_PIDS_LIMIT, facts.HOST_IP, facts.network_name(project)
local array = require("deloc.array")
local health = require("deloc.health")
local sys = require("deloc.sys")

local M = {}

M.DEFAULT_PIDS_LIMIT = 4096
M.HOST_IP = "127.0.0.1"
M.LABEL = {
  project = "dev.deloc.project",
  service = "dev.deloc.service",
  component = "dev.deloc.component",
  kind = "dev.deloc.kind",
  hash = "dev.deloc.config-hash",
}

local sorted_keys = array.sorted_keys

function M.network_name(project) return "deloc-" .. project end

function M.id(service, component)
  if component == nil or component == service then return service end
  return service .. "-" .. component
end

-- ---- config hash: FNV-1a 64 (C) over a canonical encoding ----

-- not configuration: the count (scaling recreates nothing), the smoke (it
-- runs beside the container, not in its config), the hash itself and what
-- is made from it
local SKIP = { replicas = true, smoke = true, config_hash = true, hash = true, labels = true }

-- canon(v, out, n, top) -> n: v's canonical text appended to out (keys
-- sorted, strings length-prefixed: no escaping needed)
local function canon(v, out, n, top)
  local t = type(v)
  if t == "table" then
    if v[1] ~= nil or array.is(v) then
      n = n + 1; out[n] = "["
      for i = 1, #v do
        n = canon(v[i], out, n)
        n = n + 1; out[n] = ","
      end
      n = n + 1; out[n] = "]"
    else
      n = n + 1; out[n] = "{"
      for _, k in ipairs(sorted_keys(v)) do
        if not (top and SKIP[k]) and k ~= "config_hash" then
          out[n + 1] = k
          out[n + 2] = "="
          n = canon(v[k], out, n + 2)
          n = n + 1; out[n] = ";"
        end
      end
      n = n + 1; out[n] = "}"
    end
  elseif t == "string" then
    out[n + 1] = #v
    out[n + 2] = ":"
    out[n + 3] = v
    n = n + 3
  else
    n = n + 1; out[n] = tostring(v)
  end
  return n
end

-- The same text hashed in C without being made (deloc.native.json.hash):
-- ~0.7 ms of a 50-service plan in Lua.  canon stays as its specification.
local ok_native, native = pcall(require, "deloc.native.json")
local native_hash = ok_native and native.hash or nil
local SKIP_ALL = { config_hash = true }

function M.config_hash(comp)
  if native_hash then return native_hash(comp, SKIP, SKIP_ALL, array.metatable, tostring) end
  local out = {}
  local n = canon(comp, out, 0, true)
  return sys.hash(table.concat(out, "", 1, n))
end

-- ---- the facts ----

local function nonroot(u)
  if u == nil then return false end
  u = tostring(u)
  return not (u == "0" or u == "root" or u:match("^0:") or u:match("^root:"))
end

function M.primary(svc)
  if svc.primary then return svc.primary end
  local order = svc.component_order or sorted_keys(svc.components)
  if svc.components[svc.name] then return svc.name end
  for _, c in ipairs(order) do
    if svc.components[c].kind ~= "oneshot" then return c end
  end
  return order[1]
end

local function container_check(comp)
  if comp.kind == "oneshot" then return nil end
  local test = health.test(comp.health)
  if not test then return nil end
  local t = health.timing(comp.health)
  return { test = test, interval = t.interval, timeout = t.timeout, retries = t.retries,
           start_period = t.start_period }
end

-- Defaults the recipe did not set, the same on every target.
local function defaults(comp)
  local oneshot = comp.kind == "oneshot"
  comp.id = comp.id or M.id(comp.service, comp.name)
  comp.pids_limit = comp.pids_limit or M.DEFAULT_PIDS_LIMIT
  comp.cap_drop = comp.cap_drop or array.of({ "ALL" })
  comp.cap_add = comp.cap_add or array.of({ unpack(comp.capabilities or {}) })
  comp.no_new_privileges = true
  comp.read_only = comp.read_only and true or false
  comp.restart = comp.restart or (oneshot and "no" or "unless-stopped")
  comp.tmpfs_owned = #(comp.tmpfs or {}) > 0 and nonroot(comp.user) or nil
  comp.aliases = comp.aliases or array.of({ comp.id })
  comp.host_ip = comp.host_ip or M.HOST_IP
  if comp.healthcheck == nil then comp.healthcheck = container_check(comp) end
end

local function resolve_depends(plan, comp)
  for _, d in ipairs(comp.depends_on or {}) do
    if not d.component then
      local dsvc = plan.services[d.service]
      if dsvc then d.component = M.primary(dsvc) end
    end
  end
end

function M.component(plan, service, comp)
  defaults(comp)
  resolve_depends(plan, comp)
  comp.config_hash = comp.config_hash or M.config_hash(comp)
  comp.hash = comp.config_hash
  comp.labels = {
    [M.LABEL.project] = plan.project,
    [M.LABEL.service] = service.name,
    [M.LABEL.component] = comp.name,
    [M.LABEL.kind] = comp.kind == "oneshot" and "oneshot" or "service",
    [M.LABEL.hash] = comp.config_hash,
  }
  return comp
end

function M.complete(plan)
  plan.network = plan.network or M.network_name(plan.project)
  local list = array.of({})
  for _, sname in ipairs(plan.order or sorted_keys(plan.services)) do
    local svc = plan.services[sname]
    svc.name = svc.name or sname
    svc.component_order = svc.component_order or array.of(sorted_keys(svc.components))
    svc.primary = M.primary(svc)
    for _, cname in ipairs(svc.component_order) do
      local comp = svc.components[cname]
      comp.name, comp.service = comp.name or cname, comp.service or sname
      list[#list + 1] = { service = sname, component = cname, id = M.id(sname, cname) }
    end
  end
  for _, e in ipairs(list) do
    local svc = plan.services[e.service]
    M.component(plan, svc, svc.components[e.component])
  end
  plan.components = list
  return plan
end

return M
