-- spec/support/e2e.lua: projects, temporary directories, clean-up and the
-- deloc binary for end-to-end specs against the real Docker engine.
--
--   local e2e = dofile("spec/support/e2e.lua")
--   local project = e2e.project("up")          --> "e2e-up-4f2a9c"
--   local dir = e2e.workdir(project, "services:\n  postgres: {}\n")
--   finally(function() e2e.cleanup(project); e2e.rmdir(dir) end)
--   local status, out, err = e2e.deloc({ "up", "postgres" }, { cwd = dir,
--     env = { DELOC_IMAGES = images.overrides(tags) } })
--   assert.same({}, e2e.leftovers(project))
--
-- e2e.project(prefix) -> a unique DNS-1123 project name "e2e-<prefix>-<6 hex>"
--   (at most 40 characters; prefix lower-cased, other characters become "-").
-- e2e.tmpdir() -> absolute path of a new empty directory (mode 0700) under
--   $TMPDIR or /tmp, named deloc-e2e.*
-- e2e.rmdir(path) -> true | nil, err   removes a directory made by tmpdir/workdir
-- e2e.workdir(project [, yaml]) -> path: a tmpdir holding deloc.yaml with
--   "project: <project>" followed by yaml (text) when given
-- e2e.deloc(args [, opts]) -> status, stdout, stderr, err
--   Runs the built deloc (DELOC_BIN or <repo>/deloc) with argv args.
--   opts.cwd (default: a new tmpdir), opts.env (laid over the environment;
--   NO_COLOR=1 is set unless given), opts.stdin, opts.timeout (seconds,
--   default 300).  status is the exit code (nil if killed by a signal or timed
--   out; err then says why).
-- e2e.docker(args [, opts]) -> status, stdout, stderr, err   the docker CLI, same shape
-- e2e.cleanup(project) -> true | nil, message
--   Removes every container (forced, with anonymous volumes), network and
--   volume labelled dev.deloc.project=<project>, by id (two networks may
--   share a name).  Safe to call twice.
-- e2e.leftovers([project]) -> { "container NAME", "network NAME", "volume NAME", ... }
--   What is still labelled with the project, or with any e2e-* project when no
--   project is given; sorted; {} when clean.
-- e2e.label(project) -> { "--label", "dev.deloc.project=<project>" }  for docker run
local KEY = "spec.support.e2e"
if package.loaded[KEY] then return package.loaded[KEY] end

local sys = require("deloc.sys")

local M = {}

local LABEL = "dev.deloc.project"

local function repo_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/spec/support/[^/]+$") or "."
  return assert(sys.realpath(dir ~= "" and dir or "/"))
end

M.root = repo_root()

-- ---- names and directories ----

local counter = 0
local seeded = false

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local bytes = f:read(math.ceil(n / 2))
    f:close()
    return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end)):sub(1, n)
  end
  if not seeded then
    math.randomseed(sys.pid() * 1000 + math.floor(sys.now() * 1000) % 1000)
    seeded = true
  end
  counter = counter + 1
  return ("%06x"):format((math.random(0, 0xffffff) + counter) % 0x1000000):sub(1, n)
end

function M.project(prefix)
  prefix = prefix or "t"
  if type(prefix) ~= "string" then error("e2e.project: prefix must be a string", 2) end
  local p = prefix:lower():gsub("[^a-z0-9]+", "-"):gsub("^-+", ""):gsub("-+$", "")
  if p == "" then p = "t" end
  p = p:sub(1, 29):gsub("-+$", "")
  return ("e2e-%s-%s"):format(p, random_hex(6))
end

function M.label(project)
  return { "--label", LABEL .. "=" .. project }
end

local TMP_PREFIX = "deloc-e2e."

local function tmp_base()
  local t = os.getenv("TMPDIR")
  if not t or t == "" then t = "/tmp" end
  return (t:gsub("/+$", ""))
end

function M.tmpdir()
  for _ = 1, 10 do
    local path = ("%s/%s%s"):format(tmp_base(), TMP_PREFIX, random_hex(10))
    if not sys.exists(path) then
      local ok, err = sys.mkdir_p(path, tonumber("700", 8))
      if not ok then error("e2e.tmpdir: " .. tostring(err), 2) end
      return path
    end
  end
  error("e2e.tmpdir: cannot find a free name", 2)
end

function M.rmdir(path)
  if type(path) ~= "string" then error("e2e.rmdir: path must be a string", 2) end
  local base = path:match("^(.*)/[^/]+$")
  local name = path:match("[^/]+$") or ""
  if name:sub(1, #TMP_PREFIX) ~= TMP_PREFIX or base ~= tmp_base() then
    error(("e2e.rmdir: '%s' was not made by e2e.tmpdir"):format(path), 2)
  end
  if not sys.exists(path) then return true end
  local r, err = sys.spawn({ argv = { "rm", "-rf", "--one-file-system", "--", path }, timeout = 60 })
  if not r then return nil, tostring(err) end
  if r.status ~= 0 then return nil, ("cannot remove '%s': %s"):format(path, r.stderr) end
  return true
end

function M.workdir(project, yaml)
  if type(project) ~= "string" then error("e2e.workdir: project must be a string", 2) end
  if yaml ~= nil and type(yaml) ~= "string" then error("e2e.workdir: yaml must be a string", 2) end
  local dir = M.tmpdir()
  local ok, err = sys.write_atomic(dir .. "/deloc.yaml",
    ("project: %s\n%s"):format(project, yaml or ""))
  if not ok then error("e2e.workdir: " .. tostring(err), 2) end
  return dir
end

-- e2e.project_file(dir, project, body [, recipes_dir]) writes dir/deloc.yaml
-- naming the project and a recipe directory (default: the Docker fixture
-- recipes), then `body`; raises on failure.
M.FIXTURE_RECIPES = M.root .. "/spec/fixtures/docker/recipes"

function M.project_file(dir, project, body, recipes_dir)
  local ok, err = sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s ]\n%s")
    :format(project, recipes_dir or M.FIXTURE_RECIPES, body or ""))
  if not ok then error("e2e.project_file: " .. tostring(err), 2) end
end

-- ---- processes ----

local function run(argv, opts, fn)
  opts = opts or {}
  if type(opts) ~= "table" then error(fn .. ": options must be a table", 3) end
  local r, err = sys.spawn({ argv = argv, cwd = opts.cwd, env = opts.env,
    stdin = opts.stdin, timeout = opts.timeout or 300 })
  if not r then
    local partial = type(err) == "table" and err.result or {}
    return nil, partial.stdout or "", partial.stderr or "", err
  end
  if r.status == nil then
    return nil, r.stdout, r.stderr, ("killed by signal %s"):format(tostring(r.signal))
  end
  return r.status, r.stdout, r.stderr
end

function M.bin()
  local bin = os.getenv("DELOC_BIN")
  if not bin or bin == "" then bin = M.root .. "/deloc" end
  return bin
end

function M.deloc(args, opts)
  if type(args) ~= "table" then error("e2e.deloc: args must be a list of strings", 2) end
  opts = opts or {}
  local bin = M.bin()
  if not sys.exists(bin) then error(("e2e.deloc: '%s' not built (run make)"):format(bin), 2) end
  local argv = { bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local env = { NO_COLOR = "1" }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local cwd = opts.cwd or M.tmpdir()
  return run(argv, { cwd = cwd, env = env, stdin = opts.stdin, timeout = opts.timeout }, "e2e.deloc")
end

function M.docker(args, opts)
  if type(args) ~= "table" then error("e2e.docker: args must be a list of strings", 2) end
  local argv = { "docker" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return run(argv, opts, "e2e.docker")
end

-- ---- what a project left behind ----

local KINDS = {
  { kind = "container", list = { "ps", "-a", "--no-trunc", "--format" }, name = "{{.Names}}", id = "{{.ID}}" },
  { kind = "network", list = { "network", "ls", "--no-trunc", "--format" }, name = "{{.Name}}", id = "{{.ID}}" },
  { kind = "volume", list = { "volume", "ls", "--format" }, name = "{{.Name}}", id = "{{.Name}}" },
}

-- { { kind=, name=, id=, project= }, ... } labelled with project (or any e2e-*).
-- Networks are told apart by id: two may share a name (a run killed while
-- the engine created one can leave a duplicate).
local function labelled(project)
  local found = {}
  for _, k in ipairs(KINDS) do
    local args = {}
    for _, a in ipairs(k.list) do args[#args + 1] = a end
    args[#args + 1] = k.id .. "\t" .. k.name .. '\t{{.Label "' .. LABEL .. '"}}'
    args[#args + 1] = "--filter"
    args[#args + 1] = "label=" .. LABEL .. (project and "=" .. project or "")
    local status, out, err, why = M.docker(args, { timeout = 60 })
    if status ~= 0 then
      return nil, ("docker %s: %s"):format(table.concat(k.list, " ", 1, 2),
        tostring(why or err):gsub("%s+$", ""))
    end
    for line in out:gmatch("[^\n]+") do
      local id, name, p = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      if name and (project or p:sub(1, 4) == "e2e-") then
        found[#found + 1] = { kind = k.kind, name = name, id = id, project = p }
      end
    end
  end
  return found
end

function M.leftovers(project)
  if project ~= nil and type(project) ~= "string" then
    error("e2e.leftovers: project must be a string", 2)
  end
  local found, err = labelled(project)
  if not found then error("e2e.leftovers: " .. err, 2) end
  local list = {}
  for _, f in ipairs(found) do list[#list + 1] = f.kind .. " " .. f.name end
  table.sort(list)
  return list
end

function M.cleanup(project)
  if type(project) ~= "string" or project == "" then
    error("e2e.cleanup: project must be a non-empty string", 2)
  end
  local found, err = labelled(project)
  if not found then return nil, err end
  local by = { container = {}, network = {}, volume = {} }
  for _, f in ipairs(found) do table.insert(by[f.kind], f.id) end
  local problems = {}
  local function remove(args, names)
    if #names == 0 then return end
    local argv = {}
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    for _, n in ipairs(names) do argv[#argv + 1] = n end
    local status, _, stderr, why = M.docker(argv, { timeout = 120 })
    if status ~= 0 then
      problems[#problems + 1] = tostring(why or stderr):gsub("%s+$", "")
    end
  end
  -- Containers first: networks and volumes in use cannot go.
  remove({ "rm", "-f", "-v" }, by.container)
  remove({ "network", "rm" }, by.network)
  remove({ "volume", "rm", "-f" }, by.volume)
  if #problems > 0 then
    return nil, ("cleanup of %s: %s"):format(project, table.concat(problems, "; "))
  end
  return true
end

package.loaded[KEY] = M
return M
