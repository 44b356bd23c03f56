-- deloc stop [SERVICES...]: stop containers, keep them (up starts them again).
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "stop",
  order = 29,
  usage = "deloc stop [SERVICES...] [--timeout DURATION]",
  summary = "stop services without removing them ('deloc up' starts them again)",
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "timeout", arg = "DURATION", help = "how long a container may take to stop (default 10s)" },
    cmdutil.wait_lock_option,
  },
}

function M.run(opts, rest)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local t
  t, err = cmdutil.duration(opts.timeout, 10)
  if not t then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local docker = require("deloc.adapters.docker")
  local c
  c, err = docker.connect()
  if not c then lock:unlock(); return nil, err end
  local progress = cmdutil.progress(opts)
  local out
  out, err = docker.remove(c, project.name, { services = rest, stop_only = true,
    timeout = math.floor(t + 0.5), on_event = function(ev) progress:event(ev) end })
  progress:finish()
  if out then
    local state = require("deloc.state")
    local st = state.load(project.dir, project.name)
    if st then
      local want = {}
      for _, s in ipairs(rest or {}) do want[s] = true end
      for s in pairs(st.services) do
        if #rest == 0 or want[s] then state.set_service(st, s, "Stopped") end
      end
      state.record(st, "stop", { services = rest })
      state.save(project.dir, st)
    end
  end
  lock:unlock()
  if not out then return nil, err end
  if opts.json then cmdutil.print_json(out) end
  return 0
end

return M
