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
  local out, err = cmdutil.remove(opts, { all = true, secrets = opts.secrets })
  if not out then return nil, err end
  if opts.json then
    cmdutil.print_json(out)
  else
    io.stdout:write(("removed %d %s, %d volume%s%s\n"):format(#out.removed,
      out.namespace and "object" .. (#out.removed == 1 and "" or "s") or ("container" .. (#out.removed == 1 and "" or "s")),
      #out.volumes, #out.volumes == 1 and "" or "s",
      out.network and (", network " .. out.network) or (out.namespace and (", namespace " .. out.namespace) or "")))
  end
  return 0
end

return M
