-- deloc.adapters.docker: the Docker driver (deloc.drivers has the interface
-- every driver implements).  It talks to the Engine API over its socket
-- (deloc.http; no docker CLI), labels everything it makes with
-- dev.deloc.project / service / component / config-hash, and the engine is
-- the truth about what runs.  Its parts: docker/engine.lua (the client),
-- build.lua (request bodies from the plan), apply.lua (converge steps),
-- probe.lua (readiness), ops.lua (status, health, removal, exec), logs.lua,
-- backup.lua, capacity.lua, secrets.lua.
--
-- Every method runs inside or outside a sched task.
local sched = require("deloc.sched")
local engine = require("deloc.adapters.docker.engine")
local build = require("deloc.adapters.docker.build")
local apply = require("deloc.adapters.docker.apply")
local ops = require("deloc.adapters.docker.ops")

local M = {
  name = "docker",
  interface = "driver",
  where = "this machine",
  -- the optional row fields this target fills, in table order
  columns = { status = { "uptime", "ports" }, stats = true,
              endpoints = { "ENDPOINT", "CONNECTION" } },
  -- what the planner needs to know of this target (deloc.plan.traits)
  traits = {
    title = "Docker",
    local_build = true,      -- the engine runs the images it builds here
    writable_mounts = true,  -- project files are bind mounts of the host paths
    cpu = "limit",           -- --cpus caps a container; the CPUs are shared
    more_memory = "give Docker more memory",
  },
}
M.LABEL = build.LABEL

local function in_task(fn, ...)
  if sched.current() then return fn(...) end
  local args = { n = select("#", ...), ... }
  local r
  local ok, e = sched.wait(sched.spawn(function() r = { fn(unpack(args, 1, args.n)) } end))
  if not ok then error(e, 0) end
  return unpack(r, 1, 3)
end

function M.connect(opts)
  opts = opts or {}
  return engine.connect({ lazy = opts.lazy })
end

-- The engine's size (Docker Desktop's VM, a remote engine); unreachable,
-- the plan sizes to this machine and says so.
function M.capacity(s)
  local c = s.conn and s.conn.version_ok and s.conn or nil
  local cap, warning = require("deloc.adapters.docker.capacity").for_plan({ client = c })
  return cap or { warning = warning }
end

-- What exists of the project (one request, kept for the session).
local function existing(s)
  if s.cache.existing then return s.cache.existing end
  local ex, err = in_task(apply.existing, s.conn, s.project.name)
  if not ex then return nil, err end
  s.cache.existing = ex
  return ex
end

-- A port our own container publishes is not "in use" for the planner, so
-- host ports stay stable from one run to the next.
function M.plan_inputs(s)
  local ex, err = existing(s)
  if not ex then return nil, err end
  local listening = require("deloc.planner").listening()
  for _, ctr in ipairs(ex.list) do
    for _, p in ipairs(ctr.Ports or {}) do
      if p.PublicPort then listening[p.PublicPort] = nil end
    end
  end
  return { listening = listening }
end

function M.describe() return nil end

-- The --mount sources as this process resolved them: the only binds a plan
-- may name outside the project (the plan itself is the sandbox's answer).
local function user_sources(s)
  return require("deloc.adapters.docker.binds").user_sources((s.opts or {}).mount)
end

function M.diff(s, plan)
  local ex, err = existing(s)
  if not ex then return nil, err end
  local user
  user, err = user_sources(s)
  if not user then return nil, err end
  return apply.diff(plan, ex, { root = s.project.dir or ".", podman = s.conn.podman, user_sources = user })
end

function M.apply(s, plan, changes, opts)
  opts = opts or {}
  local ex, err = existing(s)
  if not ex then return nil, err end
  local sub = opts.only and apply.subplan(plan, opts.only) or plan
  local user
  user, err = user_sources(s)
  if not user then return nil, err end
  s.cache.existing = nil -- what runs changes now
  return in_task(apply.run, s.conn, sub, {
    root = s.project.dir or ".", on_event = s.emit, tick = s.tick, wait = opts.wait,
    timeout = opts.timeout, remove_orphans = opts.remove_orphans, rollback = opts.rollback,
    partial = opts.partial or opts.only ~= nil, existing = ex, known_ready = opts.known_ready,
    changes = changes, user_sources = user,
  })
end

function M.scale(s, plan, changes, opts)
  local only = {}
  for _, sname in ipairs(plan.order) do
    if changes.services[sname] then only[#only + 1] = sname end
  end
  if #only == 0 then return { components = {}, failed = {}, created = 0, changed = 0, unchanged = 0 } end
  local o = { wait = true, only = only }
  for k, v in pairs(opts or {}) do o[k] = o[k] == nil and v or o[k] end
  return M.apply(s, plan, changes, o)
end

-- One row per service: where it listens on this machine and how to connect.
function M.endpoints(_, plan)
  local rows = {}
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
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
    rows[#rows + 1] = { service = sname, address = table.concat(eps, " "),
      connection = (svc.connections or {})[1] or "" }
  end
  return rows
end

function M.status(s, opts)
  return in_task(ops.status, s.conn, s.project.name, opts)
end

function M.health(s, opts)
  return ops.health(s.conn, s.project.name, opts)
end

function M.since(text)
  return require("deloc.adapters.docker.logs").since(text)
end

function M.logs(s, opts)
  return require("deloc.adapters.docker.logs").run(s.conn, s.project.name, opts)
end

-- With a terminal or stdin the process is attached to this one's (the
-- hijacked stream of docker/exec.lua); otherwise its output is collected.
function M.exec(s, target, argv, opts)
  opts = opts or {}
  if opts.tty or opts.stdin then
    return require("deloc.adapters.docker.exec").for_driver(s.conn, s.project.name, target, argv, opts)
  end
  return in_task(ops.exec, s.conn, s.project.name, target, argv, opts)
end

-- Through the archive API, unpacked safely (docker/archive.lua).
function M.cp(s, from, to, opts)
  return require("deloc.adapters.docker.archive").for_driver(s.conn, s.project.name, from, to, opts)
end

function M.remove(s, opts)
  opts = opts or {}
  if opts.all then -- clean: the images built for the project go too
    local out, err = ops.clean(s.conn, s.project.name, { on_event = s.emit, timeout = opts.timeout })
    if not out then return nil, err end
    out.images, err = require("deloc.adapters.docker.image_build").remove_images(s.conn, s.project.name)
    if not out.images then return nil, err end
    return out
  end
  return ops.remove(s.conn, s.project.name, { services = opts.services, volumes = opts.volumes,
    stop_only = opts.stop_only, timeout = opts.timeout, on_event = s.emit })
end

function M.backup(s, plan, service, write)
  return in_task(require("deloc.adapters.docker.backup").backup, s.conn, plan, service, write)
end

function M.restore(s, plan, service, data)
  return in_task(require("deloc.adapters.docker.backup").restore, s.conn, plan, service, data)
end

return M
