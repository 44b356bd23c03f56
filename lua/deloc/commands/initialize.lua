-- deloc init: a commented deloc.yaml and an example user recipe.  (The file is
-- not init.lua: that name would make it the module deloc.commands itself.)
local errors = require("deloc.errors")

local M = {
  name = "init",
  order = 10,
  usage = "deloc init [SERVICES...] [--force]",
  summary = "write a commented deloc.yaml and an example recipe in this directory",
  help = [[
Writes ./deloc.yaml (listing the services named, postgres by default) and
./recipes/hello.lua, a small user recipe to copy from.  `deloc plan` accepts
both as written.  Existing files are left alone unless --force is given.]],
  options = {
    { "force", help = "overwrite existing files" },
  },
}

M.PROJECT = [[
# deloc project file.  `deloc plan` shows what this stack would run and
# whether it fits; `deloc up` starts it.  Every key is optional.

# Project name: prefixes containers, volumes and the network (deloc-<project>).
project: %s

# Sizing profile: minimal | development | production, or one defined below.
profile: development

# Where it runs: docker | kubernetes.
target: docker

# Kept free for everything else on the machine.
reserve: 15%%

# The services `deloc up` / `deloc plan` start when none are named.  What they
# depend on is added by itself.  Each may override its recipe:
services:
%s
#  kafka:
#    options: { mode: kraft }        # recipe options (deloc recipes show kafka)
#    env: { KAFKA_NUM_PARTITIONS: "3" }
#    ports: { broker: 19092 }        # host port for a named port
#    resources: { memory: 1Gi, cpu: 1 }
#    image: apache/kafka:3.9.1
#  spark:
#    components: { worker: { replicas: 2 } }
#  hello: {}                          # the example recipe in ./recipes/hello.lua

# More recipe directories (./recipes/ is always read).
# recipes: [ ../shared-recipes ]

# Image overrides, by recipe image or by service name, and a mirror prefix for
# every image not overridden (offline and air-gapped use).
# images:
#   postgres:16.4-bookworm: registry.local:5000/postgres:16
# mirror: registry.local:5000/

# Your own profiles, derived from a built-in one.
# profiles:
#   laptop: { from: development, budget: { memory: 6Gi }, per_service: { memory: 1Gi } }
]]

M.RECIPE = [[
-- An example user recipe: a small web server.  Copy it to write your own;
-- `deloc recipes show hello` shows what deloc understood, `deloc plan hello`
-- how it would run.  A recipe here wins over a built-in one of the same name.
return recipe "hello" {
  description = "nginx serving its welcome page (an example recipe)",
  category = "ui",
  image = "nginx:1.27.3-alpine",          -- always a pinned tag
  ports = { http = { port = 80, http = true } },
  tmpfs = { "/var/cache/nginx", "/var/run", "/tmp" },
  env = function(s)                        -- s is the planned component
    return { NGINX_WORKER_PROCESSES = tostring(math.max(1, math.floor(s.cpu))) }
  end,
  health = { exec = { "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/" },
             interval = "5s", timeout = "3s", retries = 10 },
  resources = {
    minimal     = { memory = "32Mi",  cpu = 0.1 },
    development = { memory = "64Mi",  cpu = 0.25 },
    production  = { memory = "256Mi", cpu = 1 },
    min = { memory = "16Mi", cpu = 0.05 },
  },
  read_only = true,
  restricted = false,
  restricted_reason = "nginx starts as root to bind port 80, then drops to its user",
  connections = { "http://{host}:{port:http}/" },
}
]]

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function M.run(opts, args)
  local sys = require("deloc.sys")
  local project = require("deloc.project")
  local file = opts.file or project.FILE
  local recipe_path = "recipes/hello.lua"
  if not opts.force then
    for _, p in ipairs({ file, recipe_path }) do
      if exists(p) then
        return nil, errors.new("USAGE", ("'%s' already exists"):format(p), { hint = "use --force to overwrite it" })
      end
    end
  end
  local names = #args > 0 and args or { "postgres" }
  local lines = {}
  for _, n in ipairs(names) do
    local ok, why = require("deloc.recipe").dns_label(n)
    if not ok then
      return nil, errors.new("USAGE", ("'%s' is not a valid service name: %s"):format(n, why))
    end
    lines[#lines + 1] = "  " .. n .. ": {}"
  end
  local dir = sys.realpath(".") or "."
  local text = M.PROJECT:format(project.dns_name(dir:match("([^/]+)/*$") or "deloc"), table.concat(lines, "\n"))
  local ok, err = sys.mkdir_p("recipes")
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  ok, err = sys.write_atomic(file, text)
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  ok, err = sys.write_atomic(recipe_path, M.RECIPE)
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  if not opts.json then
    io.stdout:write(("wrote %s and %s\nnext: deloc plan   (then deloc up)\n"):format(file, recipe_path))
  else
    io.stdout:write(require("deloc.json").encode({ written = require("deloc.array").of({ file, recipe_path }) }), "\n")
  end
  return 0
end

return M
