-- deloc backup SERVICE [-o FILE]
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "backup",
  order = 26,
  usage = "deloc backup SERVICE [-o FILE]",
  summary = "save a service's data to a file",
  help = [[
Service-aware where the recipe says so (Postgres: pg_dump, Redis: a snapshot),
else a tar archive of the service's data volumes.  The default file is
SERVICE-YYYYmmdd-HHMMSS.backup in the current directory; '-o -' writes to
standard output.  The file is made mode 0600 (a backup holds the service's
data) and appears only once complete.  'deloc restore SERVICE FILE' puts it
back.  On Kubernetes the recipe's dump runs in the pod (a volume archive is
the Docker target's only); the file is the same on both targets.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "output", "o", arg = "FILE", help = "where to write the backup" },
  },
}

function M.run(opts, rest)
  local service = rest[1]
  if not service or rest[2] then
    return nil, errors.new("USAGE", "backup needs one service", { hint = M.usage })
  end
  local s, err = cmdutil.open(opts)
  if not s then return nil, err end
  local path = opts.output or os.date(service .. "-%Y%m%d-%H%M%S.backup")
  -- A file is written mode 0600 beside its final name and renamed into
  -- place once complete and synced (deloc.filesink).
  local sink
  if path ~= "-" then
    sink, err = require("deloc.filesink").new(path)
    if not sink then return nil, err end
  end
  local werr
  local info
  info, err = require("deloc.stack").backup(s, service, function(chunk)
    if werr then return end
    local ok, e
    if sink then ok, e = sink:write(chunk) else ok, e = io.stdout:write(chunk) end
    if not ok then werr = e end
  end)
  if info and werr then
    info, err = nil, errors.is(werr) and werr or errors.new("IO_ERROR",
      ("cannot write '%s': %s"):format(path, tostring(werr)))
  end
  if not info then
    if sink then sink:abort() end
    return nil, err
  end
  if sink then
    local ok, cerr = sink:commit()
    if not ok then return nil, cerr end
  end
  if opts.json then
    cmdutil.print_json({ service = service, file = path, kind = info.kind, bytes = info.bytes })
  elseif path ~= "-" then
    io.stderr:write(("backed up %s to %s (%s, %d bytes)\n"):format(service, path,
      info.kind == "exec" and "service dump" or "volume archive", info.bytes))
  end
  return 0
end

return M
