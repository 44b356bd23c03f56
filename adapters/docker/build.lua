-- deloc.adapters.docker.build: Engine API request bodies made from the plan.
-- Functions of the plan: what a container, network or volume of a planned
-- component looks like, and the hash that says whether a running container
-- still matches it.  The one I/O: each bind of the user's files is checked
-- (deloc.adapters.docker.binds.confine, a realpath) where it becomes a bind.
--
--   build.container_name(project, service, component, replica) -> name
--   build.container(plan, service, component, replica, ctx) -> body, hash | nil, err
--     (the plan's facts translated: labels, pids limit, capabilities, restart,
--     host address, engine health check, network; hash = the plan's config hash)
--     ctx = { root = absolute project directory (secret files live there),
--             user_sources = the --mount sources (binds.user_sources) }
--   build.network(plan) -> body;  build.volume(plan, service, vol) -> body
--   build.hash(value) -> 16 hex digits (stable: keys sorted)
--
-- The hash covers the whole create body except what differs between replicas
-- (name, replica label, host port bindings of replica 2..N), so changing a
-- replica count recreates nothing and changing anything a container runs with
-- recreates exactly the containers it applies to.
local json = require("deloc.json")
local array = require("deloc.array")
local health = require("deloc.health")
local binds = require("deloc.adapters.docker.binds")
local bit = require("bit")

local M = {}

M.LABEL = {
  project = "dev.deloc.project",
  service = "dev.deloc.service",
  component = "dev.deloc.component",
  hash = "dev.deloc.config-hash",
  replica = "dev.deloc.replica",
  kind = "dev.deloc.kind",
  depends = "dev.deloc.depends-on",
  helper = "dev.deloc.helper",
}

M.MIN_HEALTH_INTERVAL = health.MIN_INTERVAL
M.DEFAULT_PIDS_LIMIT = 4096
M.NS = 1e9

-- FNV-1a over the text, twice with different offsets: 64 bits, plenty to tell
-- one configuration from the next (this is no security boundary).
local function fnv(s, h)
  for i = 1, #s do
    h = bit.bxor(h, s:byte(i))
    h = bit.tobit(h * 16777619 % 4294967296)
  end
  return h
end

function M.hash(value)
  local text = type(value) == "string" and value or assert(json.encode(value))
  return bit.tohex(fnv(text, bit.tobit(2166136261))) .. bit.tohex(fnv(text, bit.tobit(0x6b43a9b5)))
end

function M.container_name(project, service, component, replica)
  if component == nil or component == service then
    return ("%s-%s-%d"):format(project, service, replica or 1)
  end
  return ("%s-%s-%s-%d"):format(project, service, component, replica or 1)
end

local sorted_keys, list = array.sorted_keys, array.strings

local function seconds_ns(v)
  return math.floor(v * M.NS + 0.5)
end

-- A health check in the container for steady state (`docker ps`, restarts
-- are not tied to it); the rule is deloc.health's, shared with Compose.
function M.healthcheck(h, check)
  if check then -- the plan's fact (seconds)
    return { Test = list(check.test), Interval = seconds_ns(check.interval), Timeout = seconds_ns(check.timeout),
      Retries = check.retries, StartPeriod = seconds_ns(check.start_period) }
  end
  local test = health.test(h)
  if not test then return nil end
  local t = health.timing(h)
  return {
    Test = test,
    Interval = seconds_ns(t.interval),
    Timeout = seconds_ns(t.timeout),
    Retries = t.retries,
    StartPeriod = seconds_ns(t.start_period),
  }
end

local function nonroot(u)
  if u == nil then return false end
  u = tostring(u)
  return not (u == "0" or u == "root" or u:match("^0:") or u:match("^root:"))
end

local function tmpfs_of(list_, chown)
  local t = {}
  local any = false
  for _, e in ipairs(list_ or {}) do
    local path, size = e, nil
    if type(e) == "table" then path, size = e.path, e.size end
    local o = "rw,nosuid,nodev"
    if chown then o = o .. ",U" end
    if size then o = o .. ",size=" .. math.floor(size) end
    t[path] = o
    any = true
  end
  return any and t or nil
end

local function depends_label(comp)
  local seen, out = {}, {}
  for _, d in ipairs(comp.depends_on or {}) do
    local k = d.component and d.component ~= d.service and (d.service .. "." .. d.component)
      or d.service
    if k and not seen[k] then seen[k] = true; out[#out + 1] = k end
  end
  table.sort(out)
  return table.concat(out, ",")
end

-- build.container(plan, service, component, replica, ctx) -> body, hash | nil, err
-- service and component are the plan's tables (or their names).
function M.container(plan, service, component, replica, ctx)
  ctx = ctx or {}
  if type(service) == "string" then service = assert(plan.services[service], service) end
  if type(component) == "string" then
    component = assert(service.components[component], component)
  end
  local comp = component
  local oneshot = comp.kind == "oneshot"
  local network = plan.network or ("deloc-" .. plan.project)

  local env = array.of({})
  for _, k in ipairs(sorted_keys(comp.env)) do env[#env + 1] = k .. "=" .. tostring(comp.env[k]) end

  local exposed, bindings = nil, nil
  for _, name in ipairs(sorted_keys(comp.ports)) do
    local p = comp.ports[name]
    local key = ("%d/%s"):format(p.container, p.protocol or "tcp")
    exposed = exposed or {}
    exposed[key] = {}
    if p.publish ~= false and p.host then
      bindings = bindings or {}
      bindings[key] = array.of({ { HostIp = p.host_ip or comp.host_ip or "127.0.0.1", HostPort = tostring(p.host) } })
    end
  end

  local mounts = array.of({})
  for _, name in ipairs(sorted_keys(comp.volumes)) do
    local v = comp.volumes[name]
    mounts[#mounts + 1] = { Type = "volume", Source = v.name, Target = v.path }
  end
  for _, name in ipairs(sorted_keys(comp.secrets)) do
    local s = comp.secrets[name]
    local source, err = binds.secret_source(service.name or comp.service, name, s, ctx)
    if not source then return nil, err end
    mounts[#mounts + 1] = { Type = "bind", Source = source, Target = s.file,
                            ReadOnly = true }
  end
  -- the user's own files (deloc.mounts): binds, read-only unless asked; the
  -- container joins each source's group (never root's) so group bits apply
  local groups
  for _, name in ipairs(sorted_keys(comp.mounts or {})) do
    local m = comp.mounts[name]
    local source, err = binds.confine(service.name or comp.service, name, m, ctx)
    if not source then return nil, err end
    mounts[#mounts + 1] = { Type = "bind", Source = source, Target = m.path,
                            ReadOnly = not m.writable }
    if m.gid and m.gid ~= 0 then
      groups = groups or {}
      groups[tostring(m.gid)] = true
    end
  end

  local labels = {}
  for k, v in pairs(comp.labels or {}) do labels[k] = v end
  for k, v in pairs({
    [M.LABEL.project] = plan.project,
    [M.LABEL.service] = service.name,
    [M.LABEL.component] = comp.name,
    [M.LABEL.kind] = oneshot and "oneshot" or "service",
    [M.LABEL.depends] = depends_label(comp),
  }) do labels[k] = v end

  local body = {
    Image = comp.image,
    Cmd = comp.command and list(comp.command) or nil,
    Entrypoint = comp.entrypoint and list(comp.entrypoint) or nil,
    Env = env,
    User = comp.user,
    Labels = labels,
    ExposedPorts = exposed,
    Healthcheck = (not oneshot) and M.healthcheck(comp.health, comp.healthcheck) or nil,
    StopTimeout = comp.stop_timeout,
    HostConfig = {
      Memory = comp.memory and math.floor(comp.memory) or nil,
      NanoCpus = comp.cpu and math.floor(comp.cpu * 1e9 + 0.5) or nil,
      PidsLimit = comp.pids_limit or M.DEFAULT_PIDS_LIMIT,
      RestartPolicy = { Name = comp.restart or (oneshot and "no" or "unless-stopped") },
      SecurityOpt = comp.no_new_privileges ~= false and array.of({ "no-new-privileges:true" }) or nil,
      CapDrop = list(comp.cap_drop or { "ALL" }),
      CapAdd = list(comp.cap_add or comp.capabilities),
      ReadonlyRootfs = comp.read_only and true or false,
      -- Podman mounts a tmpfs root-owned; the plan says when the user must own it
      Tmpfs = tmpfs_of(comp.tmpfs, ctx.podman and (comp.tmpfs_owned or (comp.tmpfs_owned == nil and nonroot(comp.user)))),
      PortBindings = bindings,
      Mounts = mounts,
      GroupAdd = groups and list(sorted_keys(groups)) or nil,
      NetworkMode = network,
      Init = comp.init,
    },
    NetworkingConfig = {
      EndpointsConfig = { [network] = { Aliases = list(comp.aliases or { comp.name }) } },
    },
  }
  -- The plan's config hash says when the component changes (one rule for
  -- every target); a plan without it (hand-written) hashes the body.
  local hash = comp.config_hash or M.hash(body)
  labels[M.LABEL.hash] = hash
  replica = replica or 1
  labels[M.LABEL.replica] = tostring(replica)
  if replica > 1 and bindings then
    -- A host port can be bound once: replicas after the first publish on a
    -- port the engine picks.
    for key in pairs(bindings) do
      bindings[key] = array.of({ { HostIp = "127.0.0.1", HostPort = "" } })
    end
  end
  return body, hash
end

function M.network(plan)
  return {
    Name = plan.network or ("deloc-" .. plan.project),
    CheckDuplicate = true,
    Driver = "bridge",
    Labels = { [M.LABEL.project] = plan.project },
  }
end

function M.volume(plan, service, vol)
  return {
    Name = vol.name,
    Labels = { [M.LABEL.project] = plan.project, [M.LABEL.service] = service },
  }
end

-- The filter query value selecting what belongs to a project (and service).
function M.filters(project, service, extra)
  local labels = { M.LABEL.project .. "=" .. project }
  if service then labels[2] = M.LABEL.service .. "=" .. service end
  for _, l in ipairs(extra or {}) do labels[#labels + 1] = l end
  return assert(json.encode({ label = labels }))
end

return M
