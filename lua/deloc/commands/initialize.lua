-- deloc init: a commented deloc.yaml and an example user recipe.  (The file is
-- not init.lua: that name would make it the module deloc.commands itself.)
local errors = require("deloc.errors")

local M = {
  name = "init",
  order = 10,
  usage = "deloc init [SERVICES...] [--force]",
  summary = "write a commented deloc.yaml and an example recipe in this directory",
  help = [[
Writes ./deloc.yaml (listing the services named, postgres by default),
./recipes/hello.lua, a small user recipe to copy from, and a .gitignore that
keeps .deloc/ (state and generated secrets) out of git (added to an existing
one).  A service without a recipe is refused with a did-you-mean.  `deloc
plan` accepts the files as written.  Existing files are left alone unless
--force is given.]],
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
#  hello:                             # the example recipe in ./recipes/hello.lua
#    mounts: { site: ./site }         # your files, read-only, at its content point
#  airflow:
#    mounts:
#      dags: ./dags                   # read-only unless asked:
#      logs: { source: ./logs, writable: true }
#      /opt/airflow/config/extra.cfg: ./extra.cfg   # or any container path

# Secrets are generated under .deloc/secrets/; give one instead with
# secrets:
#   postgres.password: { file: ./pw.txt }    # or { env: PG_PASSWORD }
# Values may use ${VAR} and ${VAR:-default}, from the environment or ./.env.

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
-- An example user recipe: a small static web server for your own files.
-- Copy it to write your own; `deloc recipes show hello` shows what deloc
-- understood, `deloc plan hello` how it would run.  A recipe here wins over a
-- built-in one of the same name.  It listens on 8080 as an unprivileged user:
-- no privileged port, no extra capability.
return recipe "hello" {
  description = "busybox httpd serving ./site (an example recipe)",
  category = "ui",
  image = "busybox:1.36.1",               -- always a pinned tag
  command = { "httpd", "-f", "-v", "-p", "8080", "-h", "/www" },
  ports = { http = { port = 8080, http = true } },
  -- a content point: deloc.yaml maps your files onto it (services.hello.mounts.site)
  mounts = { site = { path = "/www", description = "the files to serve" } },
  health = { tcp = "http", interval = "5s", timeout = "3s", retries = 10 },
  resources = {
    minimal     = { memory = "16Mi", cpu = 0.05 },
    development = { memory = "32Mi", cpu = 0.1 },
    production  = { memory = "64Mi", cpu = 0.5 },
    min = { memory = "8Mi", cpu = 0.05 },
  },
  user = "65534:65534",                   -- nobody
  read_only = true,
  connections = { "http://{host}:{port:http}/" },
}
]]

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- gitignore(path) -> true | nil, err: .deloc/ (state and secrets) listed,
-- added to an existing file rather than replacing it
function M.gitignore(path)
  local sys = require("deloc.sys")
  local text = sys.exists(path) and (sys.read_file(path) or "") or ""
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local l = line:gsub("%s+$", "")
    if l == ".deloc/" or l == ".deloc" or l == "/.deloc/" or l == "/.deloc" then return true end
  end
  if text ~= "" and text:sub(-1) ~= "\n" then text = text .. "\n" end
  return sys.write_atomic(path, text .. "# deloc's state and generated secrets\n.deloc/\n")
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
  local reg = require("deloc.registry").new({ project = project.defaults(".") })
  local known = reg and reg:names() or {}
  local is_known = { hello = true }
  for _, n in ipairs(known) do is_known[n] = true end
  known[#known + 1] = "hello"
  local lines = {}
  for _, n in ipairs(names) do
    local ok, why = require("deloc.recipe").dns_label(n)
    if not ok then
      return nil, errors.new("USAGE", ("'%s' is not a valid service name: %s"):format(n, why))
    end
    if not is_known[n] then
      local c = require("deloc.recipe").closest(n, known)
      return nil, errors.new("SERVICE_NOT_FOUND", ("no recipe for service '%s'%s"):format(n,
        c and (" (did you mean '" .. c .. "'?)") or ""), { hint = "'deloc recipes' lists them" })
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
  ok, err = M.gitignore(".gitignore")
  if not ok then return nil, errors.wrap("IO_ERROR", err) end
  if not opts.json then
    io.stdout:write(("wrote %s, %s and .gitignore\nnext: deloc plan   (then deloc up)\n"):format(file, recipe_path))
  else
    io.stdout:write(require("deloc.json").encode({ written = require("deloc.array").of({ file, recipe_path,
      ".gitignore" }) }), "\n")
  end
  return 0
end

return M
