-- deloc.targets: which target a lifecycle command acts on, and its driver.
--
--   targets.name(opts) -> "docker" | "kubernetes" | nil, err
--     --target flag, else DELOC_TARGET, else the project file's `target:`,
--     else docker
--   targets.driver(name) -> driver module (deloc.adapters.<name>)
--   targets.delegate(command, opts, rest) -> handled [, exit code, err]
--     for a target other than docker, runs the command's implementation for
--     that target (deloc.adapters.kubernetes.commands[command]); the command
--     module itself stays the Docker one and calls this first:
--       local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
--       if handled then return code, terr end
--   targets.option, targets.context_option: the --target / --context options
local errors = require("deloc.errors")

local M = {}

M.DRIVERS = {
  docker = "deloc.adapters.docker",
  kubernetes = "deloc.adapters.kubernetes",
}
M.COMMANDS = {
  kubernetes = "deloc.adapters.kubernetes.commands",
}

M.option = { "target", arg = "NAME", help = "docker or kubernetes (default: DELOC_TARGET, deloc.yaml's target, docker)" }
M.context_option = { "context", arg = "NAME", help = "kubeconfig context for the kubernetes target (default: current-context)" }

local function check(name, from)
  if M.DRIVERS[name] then return name end
  local names = {}
  for k in pairs(M.DRIVERS) do names[#names + 1] = k end
  table.sort(names)
  local near = require("deloc.suggest").closest(name, names)
  return nil, errors.new("USAGE", ("unknown target '%s'%s"):format(name, from and (" in " .. from) or ""),
    { hint = near and ("did you mean '" .. near .. "'?") or ("targets: " .. table.concat(names, ", ")) })
end

function M.name(opts)
  opts = opts or {}
  if opts.target then return check(opts.target, "--target") end
  local env = os.getenv("DELOC_TARGET")
  if env and env ~= "" then return check(env, "DELOC_TARGET") end
  local ok, project = pcall(function() return require("deloc.api").project(opts.file) end)
  if ok and type(project) == "table" and project.target then
    return check(project.target, "deloc.yaml")
  end
  -- an unreadable project file is the command's own error to report
  return "docker"
end

function M.driver(name)
  local mod = M.DRIVERS[name]
  if not mod then error("targets.driver: unknown target " .. tostring(name), 2) end
  return require(mod)
end

function M.delegate(command, opts, rest)
  local name, err = M.name(opts)
  if not name then return true, nil, err end
  if not M.COMMANDS[name] then return false end
  local impl = require(M.COMMANDS[name])
  local fn = impl[command]
  if not fn then
    return true, nil, errors.new("USAGE", ("'deloc %s' is not available for the %s target"):format(command, name),
      { hint = "use --target docker for it" })
  end
  return true, fn(opts, rest or {})
end

return M
