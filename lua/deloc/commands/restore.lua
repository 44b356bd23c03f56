-- deloc restore SERVICE FILE
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")
local cli = require("deloc.adapters.docker.cli")

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
  local handled, code, terr = require("deloc.targets").delegate(M.name, opts, rest)
  if handled then return code, terr end
  local service, file = rest[1], rest[2]
  if not service or not file or rest[3] then
    return nil, errors.new("USAGE", "restore needs a service and a file", { hint = M.usage })
  end
  local data, err = require("deloc.sys").read_file(file)
  if not data then return nil, err end
  local project
  project, err = cmdutil.project(opts)
  if not project then return nil, err end
  local lock
  lock, err = cmdutil.lock(project.dir, opts)
  if not lock then return nil, err end
  local plan
  plan, err = cli.current_plan(opts, project)
  if not plan then lock:unlock(); return nil, err end
  local docker = require("deloc.adapters.docker")
  local c
  c, err = docker.connect()
  if not c then lock:unlock(); return nil, err end
  local info
  info, err = cmdutil.in_task(require("deloc.adapters.docker.backup").restore, c, plan, service, data)
  lock:unlock()
  if not info then return nil, err end
  if opts.json then
    cmdutil.print_json({ service = service, file = file, kind = info.kind, bytes = info.bytes })
  else
    io.stderr:write(("restored %s from %s\n"):format(service, file))
  end
  return 0
end

return M
