-- deloc.plan.traits: what the planner needs to know of a target, as facts.
-- The model never names a target: a driver (deloc.adapters.<name>, an
-- adapter) declares `traits = { ... }`, and the planner reads them.  The
-- model may not require a driver (spec/layers_spec.lua), so the CLI hands it
-- the driver registry at start (deloc.cli: traits.registry = deloc.targets).
--
--   traits.of(name) -> traits (DEFAULTS filled in) | nil, names (the targets there are)
--   traits.default() -> the target when nothing names one (the registry's DEFAULT)
--   traits.complete(t, name) -> t with DEFAULTS filled in (a copy)
--   traits.unknown(name, names) -> message, hint (the one wording of a bad name)
--   traits.registry = { DEFAULT = name, names = fn() -> { name },
--                       traits = fn(name) -> table | nil }
--
-- The traits, and what the planner makes of them:
--   title = "Docker"          the target in a sentence (default: its name)
--   where = "this machine"    where a plan goes (the driver's `where`)
--   local_build = true        an image built from the project's files on this
--                             machine can run there; false: a build is an error
--   writable_mounts = true    project files are host paths mounted as they are;
--                             false: a writable mount is a warning, saying
--   mounts_note = "..."       why, in the target's terms
--   cpu = "limit"             a component's CPU is a cap, so CPUs can be shared:
--                             needing more at the minimums is a warning;
--         "request"           it is reserved: needing more does not fit, and
--                             the choices say "add N CPUs to <where>"
--   more_memory = "..."       the choice when memory is short
--                             (default: "give <title> more memory")
local M = {}

M.DEFAULTS = { local_build = true, writable_mounts = true, cpu = "limit" }

M.registry = nil

function M.complete(t, name)
  local out = {}
  for k, v in pairs(M.DEFAULTS) do out[k] = v end
  for k, v in pairs(t or {}) do out[k] = v end
  out.title = out.title or tostring(name)
  out.where = out.where or "the target"
  out.more_memory = out.more_memory or ("give " .. out.title .. " more memory")
  return out
end

function M.default()
  return M.registry and M.registry.DEFAULT
end

function M.of(name)
  local reg = M.registry
  if type(name) == "string" and name:match("^[%w_]+$") and reg then
    local t = reg.traits(name)
    if t then return M.complete(t, name) end
  end
  return nil, reg and reg.names() or {}
end

function M.unknown(name, names)
  local hint = require("deloc.recipe").hint(tostring(name), names)
  return ("unknown target '%s'%s"):format(tostring(name), hint), "targets: " .. table.concat(names, ", ")
end

return M
