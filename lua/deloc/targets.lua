-- deloc.targets: which target a lifecycle command acts on.
--
--   targets.name(opts [, project]) -> name | nil, err
--     --target flag, else DELOC_TARGET, else the project file's `target:`,
--     else docker; a name no driver answers to is a USAGE error with a hint
--   targets.names() -> the targets there are (every driver module)
--   targets.get(name [, from]) -> driver | nil, err (USAGE, with the names there are)
--   targets.driver(name) -> driver (raises for an unknown name)
--   targets.traits(name) -> what the planner needs to know of the target (the
--     driver's `traits`, deloc.plan.traits) | nil when no driver answers to it
--   targets.wire() hands the model this registry (deloc.cli does, at start):
--     the model may not require a driver, so it asks through deloc.plan.traits
--   targets.option, targets.context_option: the --target / --context options
local errors = require("deloc.errors")

local M = {}

M.DEFAULT = "docker"

M.option = { "target", arg = "NAME", help = "docker or kubernetes (default: DELOC_TARGET, deloc.yaml's target, docker)" }
M.context_option = { "context", arg = "NAME", help = "kubeconfig context for the kubernetes target (default: current-context)" }

local function driver_of(name)
  local ok, mod = pcall(require, "deloc.adapters." .. tostring(name))
  if ok and type(mod) == "table" and mod.interface == "driver" then return mod end
  return nil
end

-- The names of the targets there are: every deloc.adapters.<name> module
-- (embedded, or in the tree under DELOC_LUA_DIR) that says it is a driver.
function M.names()
  local seen = {}
  for mod in pairs(package.preload) do
    local n = mod:match("^deloc%.adapters%.([%w_]+)$")
    if n then seen[n] = true end
  end
  local tree = os.getenv("DELOC_LUA_DIR")
  if tree and tree ~= "" then
    for _, f in ipairs(require("deloc.sys").listdir(tree .. "/adapters") or {}) do
      local n = f:match("^([%w_]+)%.lua$")
      if n then seen[n] = true end
    end
  end
  local out = {}
  for n in pairs(seen) do
    if driver_of(n) then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

-- get(name) -> driver | nil, err (USAGE, with the names there are)
function M.get(name, from)
  local mod = driver_of(name)
  if mod then return mod end
  local names = M.names()
  local near = require("deloc.suggest").closest(tostring(name), names)
  return nil, errors.new("USAGE", ("unknown target '%s'%s"):format(tostring(name), from and (" in " .. from) or ""),
    { hint = near and ("did you mean '" .. near .. "'?") or ("targets: " .. table.concat(names, ", ")) })
end

local function check(name, from)
  local d, err = M.get(name, from)
  if not d then return nil, err end
  return name
end

function M.name(opts, project)
  opts = opts or {}
  if opts.target then return check(opts.target, "--target") end
  local env = os.getenv("DELOC_TARGET")
  if env and env ~= "" then return check(env, "DELOC_TARGET") end
  if type(project) ~= "table" then
    local ok, p = pcall(function() return require("deloc.project").find({ file = opts.file }) end)
    project = ok and p or nil
  end
  if type(project) == "table" and project.target then
    return check(project.target, "deloc.yaml")
  end
  -- an unreadable project file is the command's own error to report
  return M.DEFAULT
end

-- The driver's traits as plain data; `where` is the driver's own.
function M.traits(name)
  local d = driver_of(name)
  if not d then return nil end
  local t = {}
  for k, v in pairs(d.traits or {}) do t[k] = v end
  t.where = t.where or d.where
  return t
end

function M.wire()
  require("deloc.plan.traits").registry = M
end

function M.driver(name)
  local d, err = M.get(name)
  if not d then error(err.message, 2) end
  return d
end

return M
