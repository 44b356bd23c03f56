-- deloc status [SERVICES...] (alias ps): what runs, from the engine's labels.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "status",
  aliases = { "ps" },
  order = 21,
  usage = "deloc status [SERVICES...] [--stats] [--json]",
  summary = "show the project's services, their state, health and ports",
  help = [[
Built from the Docker engine's labels (one request), so it is right even
without the state file.  --stats adds CPU and memory use against the limits
(one stats request per running container, made in parallel).]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "stats", "s", help = "add CPU and memory use (slower: asks each container)" },
  },
}

local function mib(n)
  if not n then return "-" end
  if n >= 2 ^ 30 then return ("%.1fGi"):format(n / 2 ^ 30) end
  return ("%.0fMi"):format(n / 2 ^ 20)
end

local function colour(on, state)
  local style = ({ healthy = "green", running = "green", completed = "green",
    unhealthy = "red", exited = "red", dead = "red", starting = "yellow",
    created = "yellow", restarting = "yellow", paused = "yellow" })[state]
  if not on or not style then return state end
  return require("deloc.term").colorize(true, style, state)
end

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local docker = require("deloc.adapters.docker")
  local c
  c, err = docker.connect({ lazy = true }) -- one request: the list itself
  if not c then return nil, err end
  local rows
  rows, err = cmdutil.in_task(docker.status, c, project.name, { stats = opts.stats, services = rest })
  if not rows then return nil, err end
  -- The engine says "starting" until its steady-state check (every 5 s or
  -- slower) first runs; deloc's own probe during 'up' may have passed already.
  local st = require("deloc.state").load(project.dir, project.name, { peek = true })
  local ready = {}
  for _, s in pairs(st and st.services or {}) do
    for _, id in ipairs(type(s.ready) == "table" and s.ready or {}) do ready[id] = true end
  end
  for _, r in ipairs(rows) do
    if r.state == "starting" and ready[r.id] then r.state, r.health = "healthy", "healthy" end
  end
  if opts.json then
    -- and what deloc recorded (the state file, no engine request): each
    -- row's lifecycle state, and per service its state, reason and last
    -- transitions
    local lifecycle = {}
    for _, r in ipairs(rows) do
      r.ports = require("deloc.array").of(r.ports)
      local s = st and st.services[r.service or ""]
      if type(s) == "table" and s.state then
        r.lifecycle = s.state
        lifecycle[r.service] = { state = s.state, since = s.since, reason = s.detail,
          history = require("deloc.array").of(type(s.history) == "table" and s.history or {}) }
      end
    end
    cmdutil.print_json({ project = project.name, services = require("deloc.array").of(rows),
      lifecycle = next(lifecycle) and lifecycle or nil })
    return 0
  end
  if #rows == 0 then
    io.stdout:write(cmdutil.nothing_deployed(project), "\n")
    return 0
  end
  local on = cmdutil.color(opts)
  local out = {}
  for _, r in ipairs(rows) do
    local name = r.service
    if r.component and r.component ~= r.service then name = name .. "/" .. r.component end
    if r.replica > 1 or (r.kind ~= "oneshot" and false) then name = name .. "#" .. r.replica end
    local state = r.state
    if state == "exited" and r.exit_code then state = ("exited (%d)"):format(r.exit_code) end
    local row = { name, colour(on, state), r.uptime or "-", table.concat(r.ports, " ") }
    if opts.stats then
      row[#row + 1] = r.cpu_percent and ("%.1f%%"):format(r.cpu_percent) or "-"
      row[#row + 1] = r.memory and (mib(r.memory) .. " / " .. mib(r.memory_limit)) or "-"
    end
    out[#out + 1] = row
  end
  local headers = { "SERVICE", "STATE", "UP", "PORTS" }
  if opts.stats then headers[5], headers[6] = "CPU", "MEMORY" end
  cmdutil.table(headers, out)
  return 0
end

return M
