-- deloc.api: the model from Lua (`deloc run` programs, `deloc -e`, the REPL);
-- deloc.plan, deloc.recipes, ... are these functions.
--
--   deloc.plan{ services = { "kafka" }, profile = "minimal", file = "deloc.yaml",
--               mounts = { "airflow.dags=/abs/dags" },   -- as --mount
--               target = "docker", overrides = { kafka = { resources = { memory = "1Gi" } } },
--               capacity = {...}, explain = true }          -> plan | nil, err
--   deloc.recipes([{ file = }])    -> { { name=, description=, category=, image=, origin=, path=,
--                                        shadows = { { origin=, path= } } }, ... } | nil, err
--   deloc.recipe(name [, { file = }]) -> recipe (normalised, deloc.recipe) | nil, err
--   deloc.resources()              -> capacity as the planner sees it | nil, err
--   deloc.project([file])          -> project | nil, err
--   deloc.env([{ services =, file = }]) -> { DATABASE_URL = ..., PGHOST = ... } | nil, err
--
-- A stack, as a test fixture (the same code as `deloc up`, `status`, `down`):
--   local stack = assert(deloc.up{ "postgres", "redis", file =, profile =, target =,
--                                  context =, timeout = "2m", wait = true, on_event = fn })
--   stack.plan, stack.endpoints       what was applied, where to reach it
--   stack:status() -> rows            stack:health() -> rows, not_healthy_names
--   stack:exec("postgres", { "psql", "-c", "select 1" } [, { component=, replica=, env=, user= }])
--     -> { code=, stdout=, stderr= } | nil, err
--   stack:logs{ services =, tail = } -> { { service=, key=, text= }, ... }
--   stack:down{ volumes = true }      removes the project (on any target)
--   deloc.down{ "redis", volumes = true, file = } / deloc.status{ file = }: the same
--   without a stack at hand.
--
-- The environment adds to the project: DELOC_PROFILE and DELOC_TARGET (below
-- flags, above deloc.yaml), DELOC_IMAGES="postgres=my/pg:16,redis=..." (image
-- overrides after the file's).
local errors = require("deloc.errors")

local M = {}

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

-- images_from_env() -> { from = to } | nil, err
function M.images_from_env()
  local spec = env("DELOC_IMAGES")
  local images = {}
  if not spec then return images end
  for item in spec:gmatch("[^,%s]+") do
    local from, to = item:match("^([^=]+)=(.+)$")
    if not from then
      return nil, errors.new("CONFIG_INVALID", ("DELOC_IMAGES: '%s' is not NAME=IMAGE"):format(item))
    end
    images[from] = to
  end
  return images
end

local function project_of(opts)
  if type(opts.project) == "table" then return opts.project end
  return require("deloc.project").find({ file = opts.file })
end

-- project([file]) -> project | nil, err
function M.project(file)
  if file ~= nil and type(file) ~= "string" then error("deloc.project: file must be a path", 2) end
  return require("deloc.project").find({ file = file })
end

-- plan(opts) -> plan | nil, err
function M.plan(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("deloc.plan: expected a table of options", 2) end
  local known = { services = 1, profile = 1, file = 1, target = 1, overrides = 1, capacity = 1,
    explain = 1, reserve = 1, project = 1, listening = 1, previous = 1, registry = 1, mounts = 1 }
  for k in pairs(opts) do
    if not known[k] then
      error(("deloc.plan: unknown option '%s'%s"):format(tostring(k),
        require("deloc.recipe").hint(tostring(k), known)), 2)
    end
  end
  local services = opts.services
  if type(services) == "string" then services = { services } end
  local project, err = project_of(opts)
  if not project then return nil, err end
  local images = {}
  for k, v in pairs(project.images or {}) do images[k] = v end
  local extra
  extra, err = M.images_from_env()
  if not extra then return nil, err end
  for k, v in pairs(extra) do images[k] = v end
  -- --mount SVC.POINT=PATH: the user's own paths, anywhere (deloc.mounts)
  local overrides = opts.overrides
  if opts.mounts then
    local m
    m, err = require("deloc.mounts").flags(opts.mounts)
    if err then return nil, err end
    overrides = require("deloc.planner").merge_override(overrides, m)
  end
  local reserve = opts.reserve
  if reserve ~= nil then
    reserve, err = require("deloc.planner").reserve(reserve)
    if not reserve then return nil, err end
  end
  return require("deloc.planner").plan({
    services = services,
    project = project,
    registry = opts.registry,
    profile = opts.profile or env("DELOC_PROFILE"),
    target = opts.target or env("DELOC_TARGET"),
    reserve = reserve,
    overrides = overrides,
    images = images,
    mirror = project.mirror,
    capacity = opts.capacity,
    listening = opts.listening,
    previous = opts.previous,
    explain = opts.explain,
  })
end

-- env([{ services =, file =, rows = }]) -> { NAME = value } | nil, err: what
-- `deloc env` prints, for a program on this host.  The applied plan's host
-- ports are kept (planned again with it as `previous`); secrets are read from
-- .deloc/secrets/.  rows = true: { { service=, name=, value= } } in order.
function M.env(opts)
  opts = opts or {}
  local services = opts.services
  if type(services) == "string" then services = { services } end
  local project, err = project_of(opts)
  if not project then return nil, err end
  local st = require("deloc.state").load(project.dir, project.name)
  local previous = st and type(st.plan) == "table" and st.plan.services and st.plan or nil
  local asked = services
  if (not asked or #asked == 0) and previous then
    asked = {}
    for _, s in ipairs(previous.order or {}) do
      if previous.services[s].why == "asked for" then asked[#asked + 1] = s end
    end
  end
  local plan
  plan, err = M.plan({ services = asked and #asked > 0 and asked or nil, project = project,
    previous = previous, target = previous and previous.target or nil,
    listening = previous and function() return {} end or nil })
  if not plan then return nil, err end
  for _, s in ipairs(services or {}) do
    if not plan.services[s] then
      return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in this project"):format(s))
    end
  end
  local rows
  rows, err = require("deloc.exports").values(plan, project.dir, services)
  if not rows or opts.rows then return rows, err end
  local out = {}
  for _, r in ipairs(rows) do out[r.name] = r.value end
  return out
end

-- registry([opts]) -> registry | nil, err
function M.registry(opts)
  opts = opts or {}
  local project, err = project_of(opts)
  if not project then return nil, err end
  return require("deloc.registry").new({ project = project })
end

-- recipes([opts]) -> list | nil, err
function M.recipes(opts)
  local reg, err = M.registry(opts)
  if not reg then return nil, err end
  local list = require("deloc.array").of({})
  for _, name in ipairs(reg:names()) do
    local r
    r, err = reg:get(name)
    if not r then return nil, err end
    local e = reg:entry(name)
    local shadows = require("deloc.array").of({})
    for _, s in ipairs(e.shadows or {}) do
      shadows[#shadows + 1] = { origin = s.origin, path = s.path }
    end
    list[#list + 1] = { name = name, description = r.description, category = r.category,
      image = r.image or r.components[r.component_names[1]].image, origin = e.origin, path = e.path,
      source = e.source, shadows = shadows, components = r.component_names,
      options = r.options }
  end
  return list
end

-- recipe(name [, opts]) -> recipe | nil, err
function M.recipe(name, opts)
  if type(name) ~= "string" then error("deloc.recipe: name must be a string", 2) end
  local reg, err = M.registry(opts)
  if not reg then return nil, err end
  return reg:get(name)
end

-- resources([opts]) -> { cpu=, memory=, disk=, source=, reserve=, usable = {...} } | nil, err
function M.resources(opts)
  opts = opts or {}
  local sys = require("deloc.sys")
  local r, err = sys.resources()
  if not r then return nil, err end
  if opts.capacity then -- e.g. the Docker engine's figures, combined with ours
    for _, k in ipairs({ "cpu", "memory", "disk" }) do r[k] = opts.capacity[k] end
    r.source = opts.capacity.source
    r.engine = opts.capacity.engine
  end
  local reserve = opts.reserve or 0.15
  r.reserve = reserve
  r.usable = {
    cpu = math.floor(r.cpu * (1 - reserve) * 100) / 100,
    memory = math.floor(r.memory * (1 - reserve)),
    disk = r.disk and math.floor(r.disk * (1 - reserve)) or nil,
  }
  return r
end

-- ---- stacks ----

local Stack = {}
Stack.__index = Stack

local SESSION_KEYS = { file = true, target = true, context = true, profile = true, wait_lock = true }

local function session_opts(t)
  local o = {}
  for k in pairs(SESSION_KEYS) do o[k] = t[k] end
  return o
end

-- with_session(opts, how, fn) -> what fn(s) returns, the lock released
local function with_session(opts, how, fn)
  local s, err = require("deloc.session").open(session_opts(opts), how)
  if not s then return nil, err end
  local r = { pcall(fn, s) }
  s:close()
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, 3)
end

local function names_of(t)
  local out = {}
  for _, v in ipairs(t) do out[#out + 1] = v end
  return out
end

-- up{ "svc", ... , options } -> stack | nil, err
function M.up(opts)
  if type(opts) == "string" then opts = { opts } end
  opts = opts or {}
  if type(opts) ~= "table" then error("deloc.up: expected a table of services and options", 2) end
  local timeout = 300
  if opts.timeout then
    local err
    timeout, err = require("deloc.quantity").duration(opts.timeout)
    if not timeout then return nil, errors.new("USAGE", "deloc.up: timeout: " .. tostring(err)) end
  end
  local out, err = with_session(opts, { lock = true, sink = opts.on_event }, function(s)
    return require("deloc.stack").up(s, names_of(opts), { wait = opts.wait ~= false, timeout = timeout,
      rollback = opts.rollback, remove_orphans = opts.remove_orphans })
  end)
  if not out then return nil, err end
  return setmetatable({ opts = session_opts(opts), plan = out.plan, endpoints = out.endpoints,
    result = out.result, services = out.plan.order }, Stack)
end

function Stack:status()
  return M.status(self.opts)
end

function Stack:health()
  return with_session(self.opts, {}, function(s) return require("deloc.stack").health(s, {}) end)
end

function Stack:exec(service, argv, opts)
  opts = opts or {}
  if type(service) ~= "string" then error("stack:exec: the first argument is a service name", 2) end
  return with_session(self.opts, {}, function(s)
    return require("deloc.stack").exec(s, { service = service, component = opts.component,
      replica = opts.replica }, argv, opts)
  end)
end

function Stack:logs(opts)
  opts = opts or {}
  local lines = require("deloc.array").of({})
  local ok, err = with_session(self.opts, {}, function(s)
    return s.driver.logs(s, { services = opts.services, tail = opts.tail,
      on_line = function(l) lines[#lines + 1] = { service = l.service, component = l.component,
        key = l.key, text = l.text } end })
  end)
  if not ok then return nil, err end
  return lines
end

function Stack:down(opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(self.opts) do if o[k] == nil then o[k] = v end end
  return M.down(o) -- the whole project: its network goes too
end

-- down{ "svc", ..., volumes = true } -> summary | nil, err (no names: the whole project)
function M.down(opts)
  opts = opts or {}
  local names = names_of(opts)
  return with_session(opts, { lock = true, sink = opts.on_event }, function(s)
    return require("deloc.stack").remove(s, { services = #names > 0 and names or nil,
      volumes = opts.volumes, timeout = opts.stop_timeout or 5 })
  end)
end

-- status{ "svc", ... } -> rows | nil, err
function M.status(opts)
  opts = opts or {}
  local names = names_of(opts)
  return with_session(opts, { lazy = true }, function(s)
    return require("deloc.stack").status(s, { services = #names > 0 and names or nil })
  end)
end

return M
