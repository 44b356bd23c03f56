-- deloc.adapters.docker.ops: health of a running project.
--
--   ops.health(c, project [, { services=, known_ready = {id=true} }]) -> rows | nil, err
--     rows = { { service=, component=, replica=, name=, id=, state=, healthy = bool,
--                output = "last probe output", checked_by = "engine"|"deloc"|nil }, ... }
--
-- The engine's own last health-check result where it has one; where it has
-- not run yet ("starting"), deloc runs the container's check itself right
-- now, so the answer is current.
local sched = require("deloc.sched")
local build = require("deloc.adapters.docker.build")
local probe = require("deloc.adapters.docker.probe")

local L = build.LABEL
local M = {}

local function argv_of(test)
  if type(test) ~= "table" or #test == 0 then return nil end
  if test[1] == "CMD" then
    local a = {}
    for i = 2, #test do a[#a + 1] = test[i] end
    return a
  elseif test[1] == "CMD-SHELL" then
    return { "sh", "-c", test[2] }
  end
end

local function trim(s) return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", "")) end

function M.health(c, project, opts)
  opts = opts or {}
  local docker = require("deloc.adapters.docker")
  local rows, err = docker.status(c, project, { services = opts.services })
  if not rows then return nil, err end
  local function check_all()
    sched.map(rows, function(r)
      if r.state == "exited" or r.state == "created" or r.state == "completed" or r.state == "dead" then
        r.healthy = r.state == "completed"
        r.output = r.exit_code and ("exit code " .. r.exit_code) or r.state
        return
      end
      local info = c:get("/containers/" .. r.id .. "/json")
      if type(info) ~= "table" then r.healthy = false; r.output = "cannot inspect"; return end
      local h = info.State and info.State.Health
      if not h then
        r.healthy = info.State and info.State.Running or false
        r.output = "no health check; " .. (r.healthy and "running" or tostring(info.State and info.State.Status))
        return
      end
      local log = type(h.Log) == "table" and h.Log or {}
      local last = log[#log]
      if h.Status == "healthy" or h.Status == "unhealthy" then
        r.healthy = h.Status == "healthy"
        r.output = last and trim(last.Output) or h.Status
        r.checked_by = "engine"
        r.state = h.Status
        return
      end
      -- starting: ask now
      local argv = argv_of(info.Config and info.Config.Healthcheck and info.Config.Healthcheck.Test)
      if not argv then r.healthy = false; r.output = "health check not run yet"; return end
      local code, out = probe.exec(c, r.id, argv, 10)
      r.checked_by = "deloc"
      r.healthy = code == 0
      r.state = r.healthy and "healthy" or "starting"
      r.output = trim(out)
      if r.output == "" then r.output = code == 0 and "ok" or ("exit code " .. tostring(code)) end
    end, 8)
  end
  if sched.current() then check_all() else
    local ok, e = sched.wait(sched.spawn(check_all))
    if not ok then error(e, 0) end
  end
  return rows
end

M.LABEL = L
return M
