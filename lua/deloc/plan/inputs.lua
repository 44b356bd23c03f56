-- deloc.plan.inputs: the planner's first stage.  Flags win over the project
-- file, the project file over the defaults: profile, target, reserve,
-- project name, the services asked for and each service's overrides.  The
-- target is known by its traits (deloc.plan.traits): opts.traits when the
-- caller has the driver, else the driver registry's for the name.
--
--   inputs.run(opts) -> st | nil, err
--     st = { opts=, project=, registry=, warnings=, explain=, profile=,
--            target=, traits=, reserve=, project_name=, asked = { names },
--            override_of = function(name) -> merged overrides | nil }
local array = require("deloc.array")
local errors = require("deloc.errors")
local recipe_mod = require("deloc.recipe")
local profiles = require("deloc.profiles")
local overrides = require("deloc.plan.overrides")
local traits = require("deloc.plan.traits")

local M = {}

local function invalid(msg, extra)
  return errors.new("CONFIG_INVALID", msg, extra)
end

local function settings(st, opts, project)
  local profile, perr = profiles.resolve(opts.profile or project.profile or profiles.default, project.profiles)
  if not profile then return nil, perr end
  st.profile = profile
  local target = opts.target or project.target or traits.default()
  local t, names
  if opts.traits then t = traits.complete(opts.traits, target) else t, names = traits.of(target) end
  if not t then
    local msg, hint = traits.unknown(target, names)
    return nil, invalid(msg, { hint = hint })
  end
  st.target, st.traits = target, t
  local reserve = opts.reserve or project.reserve or overrides.DEFAULT_RESERVE
  if type(reserve) ~= "number" or reserve < 0 or reserve >= 0.9 then
    local r, err = overrides.reserve(reserve)
    if not r then return nil, err end
    reserve = r
  end
  st.reserve = reserve
  st.project_name = opts.project_name or project.name or "deloc"
  local ok_name, why_name = recipe_mod.dns_label(st.project_name)
  if not ok_name then
    return nil, invalid(("project name '%s' %s"):format(st.project_name, why_name))
  end
  return true
end

local function asked_services(opts, project)
  local asked = opts.services
  if asked == nil or #asked == 0 then
    asked = project.service_order or array.sorted_keys(project.services or {})
  end
  if #asked == 0 then
    return nil, errors.new("USAGE", "no services named, and the project lists none", {
      hint = "name some (e.g. postgres kafka), list them under 'services:' in deloc.yaml, or run 'deloc init'" })
  end
  local seen = {}
  for _, name in ipairs(asked) do
    if type(name) ~= "string" then
      return nil, invalid(("a service name must be a string, got %s"):format(type(name)))
    end
    local ok, why = recipe_mod.dns_label(name)
    if not ok then
      return nil, invalid(("'%s' is not a valid service name: %s"):format(name, why))
    end
    if seen[name] then
      return nil, errors.new("USAGE", ("service '%s' is named twice"):format(name))
    end
    seen[name] = true
  end
  return asked
end

local function override_lookup(opts, project)
  local flag_over = opts.overrides or {}
  for name, o in pairs(flag_over) do
    local ok, kp, msg = overrides.check(o)
    if not ok then
      return nil, invalid(("override of '%s'%s: %s"):format(name,
        #kp > 0 and (" " .. table.concat(kp, ".")) or "", msg))
    end
  end
  return function(name)
    return overrides.merge((project.services or {})[name], flag_over[name])
  end
end

function M.run(opts)
  local project = opts.project or {}
  local reg = opts.registry
  if not reg then
    local err
    reg, err = require("deloc.registry").new({ project = opts.project })
    if not reg then return nil, err end
  end
  local st = { opts = opts, project = project, registry = reg, warnings = array.of({}),
               explain = opts.explain and {} or nil }
  local ok, err = settings(st, opts, project)
  if not ok then return nil, err end
  st.asked, err = asked_services(opts, project)
  if not st.asked then return nil, err end
  st.override_of, err = override_lookup(opts, project)
  if not st.override_of then return nil, err end
  return st
end

return M
