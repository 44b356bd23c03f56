-- deloc restore SERVICE FILE
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "restore",
  order = 27,
  usage = "deloc restore SERVICE FILE",
  summary = "put back a service's data from a backup file",
  help = [[
The inverse of 'deloc backup': the recipe's restore command reads the file
(Postgres: pg_restore --clean, Redis: the snapshot is loaded), or the volume
archive is unpacked over the service's data volumes while it is stopped.]],
  options = { cmdutil.wait_lock_option, require("deloc.targets").option, require("deloc.targets").context_option },
}

function M.run(opts, rest)
  local service, file = rest[1], rest[2]
  if not service or not file or rest[3] then
    return nil, errors.new("USAGE", "restore needs a service and a file", { hint = M.usage })
  end
  local data, err = require("deloc.sys").read_file(file)
  if not data then return nil, err end
  local s
  s, err = cmdutil.open(opts, { lock = true })
  if not s then return nil, err end
  local info
  info, err = require("deloc.stack").restore(s, service, data)
  s:close()
  if not info then return nil, err end
  if opts.json then
    cmdutil.print_json({ service = service, file = file, kind = info.kind, bytes = info.bytes })
  else
    io.stderr:write(("restored %s from %s\n"):format(service, file))
  end
  return 0
end

return M
