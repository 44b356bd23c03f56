-- deloc update [SERVICES...]: re-plan and roll changed services one at a time.
local cmdutil = require("deloc.cmdutil")
local cli = require("deloc.adapters.docker.cli")

local M = {
  name = "update",
  order = 25,
  usage = "deloc update [SERVICES...] [--timeout DURATION]",
  summary = "re-plan and roll out changed services one at a time, waiting for health",
  help = [[
Plans again (recipes, deloc.yaml, this machine) and recreates the services
whose configuration changed, one service at a time in dependency order,
waiting until each is healthy before the next.  Stops at the first that fails;
the ones before it stay updated.  Unchanged services are not touched.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    cmdutil.profile_option,
    cmdutil.timeout_option,
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local timeout
  timeout, err = cmdutil.duration(opts.timeout, 300)
  if not timeout then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local function fail(e) lock:unlock(); return nil, e end
  local docker = require("deloc.adapters.docker")
  local apply = require("deloc.adapters.docker.apply")
  local c
  c, err = docker.connect()
  if not c then return fail(err) end
  local state = require("deloc.state")
  local st = state.load(project.dir, project.name)
  local existing
  existing, err = cmdutil.in_task(apply.existing, c, project.name)
  if not existing then return fail(err) end
  local services = (#rest > 0 and rest) or (st.plan and st.plan.order) or nil
  local plan
  plan, err = cli.plan(opts, services, project, { containers = existing.list, previous = st.plan,
    scale = st.scale })
  if not plan then return fail(err) end
  local changed = apply.changes(plan, existing, project.dir)
  local names = {}
  for _, s in ipairs(plan.order) do if changed[s] then names[#names + 1] = s end end
  local progress = cmdutil.progress(opts)
  if #names == 0 then
    lock:unlock()
    if opts.json then cmdutil.print_json({ updated = require("deloc.array").of({}) }) else
      io.stdout:write("everything is up to date\n")
    end
    return 0
  end
  cmdutil.catch_signals()
  local done = {}
  for _, name in ipairs(names) do
    existing, err = cmdutil.in_task(apply.existing, c, project.name)
    if not existing then break end
    local _
    _, err = docker.apply(c, apply.subplan(plan, { name }), { root = project.dir,
      on_event = function(ev) progress:event(ev) end, tick = function() progress:tick() end,
      wait = true, timeout = timeout, existing = existing, partial = true })
    if err then
      state.set_service(st, name, "Failed")
      break
    end
    state.set_service(st, name, "Running")
    done[#done + 1] = name
  end
  cmdutil.release_signals()
  progress:finish()
  if not err then st.plan = plan end
  state.record(st, "update", { services = done, result = err and err.code or "ok" })
  state.save(project.dir, st)
  lock:unlock()
  if err then return nil, cmdutil.failure(err) end
  if opts.json then cmdutil.print_json({ updated = require("deloc.array").of(done) }) end
  return 0
end

return M
