-- deloc import COMPOSE_FILE [-o DIR]: a Compose file becomes recipes and a
-- deloc.yaml (deloc.import does the work; this writes and reports).
local errors = require("deloc.errors")

local M = {
  name = "import",
  order = 11,
  usage = "deloc import [COMPOSE_FILE] [-o DIR] [--force]",
  summary = "turn a docker-compose.yml into recipes and a deloc.yaml",
  help = [[
Reads COMPOSE_FILE (default: compose.yaml, docker-compose.yml, ... here) and
writes DIR/deloc.yaml and one recipe a service in DIR/recipes/ (DIR: the
Compose file's directory).  Carried over: image, command, entrypoint,
environment, env_file, ports, expose, volumes (named ones as volumes, binds as
mounts of your files), tmpfs, depends_on and its conditions, healthcheck,
user, mem_limit/cpus/deploy.resources (the recipe's development sizes),
restart, secrets and configs (file ones mounted where Compose puts them),
build (context, dockerfile, target: a context inside DIR), profiles,
anchors and << merges, ${VAR:-default} and $$.  Every key that is not carried
over is listed with the reason.  Then: deloc plan, deloc up.]],
  options = {
    { "output", "o", arg = "DIR", help = "where to write deloc.yaml and recipes/ (default: beside the Compose file)" },
    { "force", help = "overwrite deloc.yaml and recipes that exist" },
  },
}

M.DEFAULT_FILES = { "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml" }

local function find_default()
  local sys = require("deloc.sys")
  for _, f in ipairs(M.DEFAULT_FILES) do
    if sys.exists(f) then return f end
  end
  return nil
end

function M.run(opts, args)
  local sys = require("deloc.sys")
  if #args > 1 then return nil, errors.new("USAGE", "import takes one Compose file") end
  local file = args[1] or find_default()
  if not file then
    return nil, errors.new("USAGE", "no Compose file here", { hint = "deloc import path/to/docker-compose.yml" })
  end
  local text, err = sys.read_file(file)
  if not text then return nil, errors.wrap("IO_ERROR", err) end
  local dir = opts.output or (file:match("^(.*)/[^/]*$") or ".")
  local ok
  ok, err = sys.mkdir_p(dir .. "/recipes")
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  local out
  out, err = require("deloc.import").convert(text, file, { out = dir })
  if not out then return nil, err end
  local targets = { dir .. "/deloc.yaml" }
  for _, svc in ipairs(out.services) do targets[#targets + 1] = dir .. "/recipes/" .. svc .. ".lua" end
  if not opts.force then
    for _, t in ipairs(targets) do
      if sys.exists(t) then
        return nil, errors.new("USAGE", ("'%s' already exists"):format(t), { hint = "use --force to overwrite it" })
      end
    end
  end
  ok, err = sys.write_atomic(targets[1], out.project)
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  for i, svc in ipairs(out.services) do
    ok, err = sys.write_atomic(targets[i + 1], out.recipes[svc])
    if not ok then return nil, errors.wrap("IO_ERROR", err) end
  end
  if opts.json then
    local array = require("deloc.array")
    io.stdout:write(require("deloc.json").encode({ written = array.of(targets), skipped = array.of(out.skipped),
      notes = array.of(out.notes), unset = array.of(out.unset) }), "\n")
    return 0
  end
  local lines = { ("wrote %s and %d recipes in %s/recipes"):format(targets[1], #out.services, dir) }
  if #out.skipped > 0 then
    lines[#lines + 1] = "not carried over:"
    for _, s in ipairs(out.skipped) do
      lines[#lines + 1] = ("  %s.%s: %s"):format(s.service, s.key, s.why)
    end
  end
  if #out.notes > 0 then
    lines[#lines + 1] = "notes:"
    for _, n in ipairs(out.notes) do lines[#lines + 1] = ("  %s: %s"):format(n.service, n.note) end
  end
  if #out.unset > 0 then
    lines[#lines + 1] = "unset variables (empty, as Compose does): " .. table.concat(out.unset, ", ")
  end
  lines[#lines + 1] = "next: deloc plan   (then deloc up)"
  -- a Compose file is someone's input: no control character reaches the terminal
  for i, l in ipairs(lines) do lines[i] = l:gsub("%c", "?") end
  io.stdout:write(table.concat(lines, "\n"), "\n")
  return 0
end

return M
