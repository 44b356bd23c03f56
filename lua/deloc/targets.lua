-- deloc.targets: which target a lifecycle command acts on.
--
--   targets.name(opts [, project]) -> name | nil, err
--     --target flag, else DELOC_TARGET, else the project file's `target:`,
--     else docker; a name no driver answers to is a USAGE error with a hint
--   targets.driver(name) -> the driver (deloc.drivers.get)
--   targets.option, targets.context_option: the --target / --context options
local drivers = require("deloc.drivers")

local M = {}

M.DEFAULT = "docker"

M.option = { "target", arg = "NAME", help = "docker or kubernetes (default: DELOC_TARGET, deloc.yaml's target, docker)" }
M.context_option = { "context", arg = "NAME", help = "kubeconfig context for the kubernetes target (default: current-context)" }

local function check(name, from)
  local d, err = drivers.get(name, from)
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

function M.driver(name)
  local d, err = drivers.get(name)
  if not d then error(err.message, 2) end
  return d
end

return M
