-- deloc.adapters.docker.cli: what the lifecycle commands need of the
-- Docker target: the engine and the plan for it.  What every target's
-- commands share is in deloc.cmdutil.
local cmdutil = require("deloc.cmdutil")

local M = {}

-- The plan for the services named (or the project's), for the docker target.
-- `ctx.containers` (the project's containers, from /containers/json) and
-- `ctx.previous` (the last applied plan) keep host ports stable: a port our
-- own container publishes is not "in use" for the planner.
function M.plan(opts, services, project, ctx)
  ctx = ctx or {}
  local api = require("deloc.api")
  local listening
  if ctx.containers then
    listening = require("deloc.planner").listening()
    for _, ctr in ipairs(ctx.containers) do
      for _, p in ipairs(ctr.Ports or {}) do
        if p.PublicPort then listening[p.PublicPort] = nil end
      end
    end
  end
  local capacity, cap_warning = require("deloc.adapters.docker.capacity").for_plan({ client = ctx.client })
  local plan, err = api.plan({
    services = (services and #services > 0) and services or nil,
    profile = opts.profile, file = opts.file, target = "docker",
    project = project, listening = listening, previous = ctx.previous,
    overrides = cmdutil.scale_overrides(ctx.scale), capacity = capacity, mounts = opts.mount,
  })
  if plan and cap_warning then
    plan.warnings = plan.warnings or require("deloc.array").of({})
    table.insert(plan.warnings, cap_warning)
  end
  return plan, err
end

-- The plan a command about a running project acts on: the last applied one
-- (state file), else planned afresh (the state file may be gone).
function M.current_plan(opts, project)
  local state = require("deloc.state")
  local st = state.load(project.dir, project.name)
  if st and type(st.plan) == "table" and st.plan.services then return st.plan, st end
  local plan, err = M.plan(opts, nil, project)
  return plan, err
end

return M
