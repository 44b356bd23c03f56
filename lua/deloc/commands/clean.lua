-- deloc clean: remove everything labelled for the project.
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "clean",
  order = 30,
  usage = "deloc clean [--secrets]",
  summary = "remove every container, volume and network of the project (data too)",
  help = [[
Removes everything the engine has labelled dev.deloc.project=<project>,
whatever state it is in -- also what a crashed run or a backup helper left
behind -- and resets the state file.  Generated secrets stay in
.deloc/secrets/ unless --secrets is given.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "secrets", help = "delete the generated secrets too" },
    cmdutil.wait_lock_option,
  },
}

function M.run(opts)
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, nil)
  if handled then return code, terr end
  local project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local docker = require("deloc.adapters.docker")
  local c
  c, err = docker.connect()
  if not c then lock:unlock(); return nil, err end
  local progress = cmdutil.progress(opts)
  local out
  out, err = docker.clean(c, project.name, { on_event = function(ev) progress:event(ev) end })
  progress:finish()
  if out then
    local state = require("deloc.state")
    local sys = require("deloc.sys")
    local st = state.new(project.name)
    state.record(st, "clean", {})
    state.save(project.dir, st)
    if opts.secrets then
      local dir = state.secrets_dir(project.dir)
      for _, name in ipairs(sys.listdir(dir) or {}) do sys.remove(dir .. "/" .. name) end
    end
  end
  lock:unlock()
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json(out)
  else
    io.stdout:write(("removed %d container%s, %d volume%s%s\n"):format(#out.removed,
      #out.removed == 1 and "" or "s", #out.volumes, #out.volumes == 1 and "" or "s",
      out.network and (", network " .. out.network) or ""))
  end
  return 0
end

return M
