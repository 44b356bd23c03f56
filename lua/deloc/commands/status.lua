-- deloc status [SERVICES...] (alias ps): what runs, from the engine's labels.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "status",
  aliases = { "ps" },
  order = 21,
  usage = "deloc status [SERVICES...] [--stats] [--json]",
  summary = "show the project's services, their state, health and ports",
  help = [[
Built from the target's labels (on Docker one request), so it is right even
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
  local style = ({ healthy = "green", running = "green", completed = "green", ready = "green",
    unhealthy = "red", exited = "red", dead = "red", starting = "yellow",
    created = "yellow", restarting = "yellow", paused = "yellow" })[state]
  if not on or not style then return state end
  return require("deloc.term").colorize(true, style, state)
end

-- The optional columns a target fills (driver.columns.status), in order.
local COLUMNS = {
  workload = { "WORKLOAD", function(r) return r.workload or "-" end },
  ready = { "READY", function(r) return r.ready or "-" end },
  uptime = { "UP", function(r) return r.uptime or "-" end },
  restarts = { "RESTARTS", function(r) return tostring(r.restarts or 0) end },
  nodes = { "NODES", function(r) return (r.nodes and #r.nodes > 0) and table.concat(r.nodes, ",") or "-" end },
  ports = { "PORTS", function(r) return table.concat(r.ports or {}, " ") end },
}
local BEFORE_STATE = { workload = true }

local function state_text(on, r)
  local state = r.state or "-"
  local shown = state
  if state == "exited" and r.exit_code then
    shown = ("exited (%d)"):format(r.exit_code)
  elseif r.detail and state ~= "ready" and state ~= "healthy" then
    shown = state .. " (" .. r.detail .. ")"
  end
  return on and shown == state and colour(on, state) or shown
end

function M.run(opts, rest)
  local s, err = cmdutil.open(opts, { lazy = true }) -- one request: the list itself
  if not s then return nil, err end
  local rows, lifecycle = require("deloc.stack").status(s, { stats = opts.stats, services = rest })
  s:close()
  if not rows then return nil, lifecycle end
  if opts.json then
    cmdutil.print_json({ project = s.project.name, target = s.target, services = require("deloc.array").of(rows),
      lifecycle = next(lifecycle) and lifecycle or nil })
    return 0
  end
  if #rows == 0 then
    local where = s.driver.describe(s, { project = s.project.name })
    io.stdout:write(cmdutil.nothing_deployed(s.project), where and (" (" .. where .. ")") or "", "\n")
    return 0
  end
  local on = cmdutil.color(opts)
  local cols = s.driver.columns.status or {}
  local headers = { "SERVICE" }
  for _, c in ipairs(cols) do if BEFORE_STATE[c] then headers[#headers + 1] = COLUMNS[c][1] end end
  headers[#headers + 1] = "STATE"
  for _, c in ipairs(cols) do if not BEFORE_STATE[c] then headers[#headers + 1] = COLUMNS[c][1] end end
  local stats = opts.stats and s.driver.columns.stats
  if stats then headers[#headers + 1], headers[#headers + 2] = "CPU", "MEMORY" end
  local out = {}
  for _, r in ipairs(rows) do
    local name = r.service
    if r.component and r.component ~= r.service then name = name .. "/" .. r.component end
    if (r.replica or 1) > 1 then name = name .. "#" .. r.replica end
    local row = { name }
    for _, c in ipairs(cols) do if BEFORE_STATE[c] then row[#row + 1] = COLUMNS[c][2](r) end end
    row[#row + 1] = state_text(on, r)
    for _, c in ipairs(cols) do if not BEFORE_STATE[c] then row[#row + 1] = COLUMNS[c][2](r) end end
    if stats then
      row[#row + 1] = r.cpu_percent and ("%.1f%%"):format(r.cpu_percent) or "-"
      row[#row + 1] = r.memory and (mib(r.memory) .. " / " .. mib(r.memory_limit)) or "-"
    end
    out[#out + 1] = row
  end
  cmdutil.table(headers, out)
  return 0
end

return M
