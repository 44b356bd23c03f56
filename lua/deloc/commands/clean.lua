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
  local docker = require("deloc.adapters.docker")
  local out
  out, err = cmdutil.locked(opts, project, docker.connect, function(c, on_event)
    return docker.clean(c, project.name, { on_event = on_event })
  end, function() cmdutil.record_clean(project, opts, {}) end)
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
