-- spec/support/generate.lua: helpers shared by the generate specs.
--
--   local g = dofile("spec/support/generate.lua")
--   g.plan([overrides]) -> the hand-written fixture plan (spec/fixtures/generate/plan.lua)
--   g.tempdir() -> new empty directory;  g.rm_tree(dir)
--   g.write(path, text);  g.read(path) -> text | nil
--   g.project(dir, yaml_body) -> writes dir/deloc.yaml
--   g.deloc(cwd, env, ...) -> status, stdout, stderr   (the built binary, clean environment)
--   g.tool(name) -> path of a cached Go tool (spec/tools/install-go-tools), or error
--   g.documents(text) -> { doc, ... } a multi-document YAML stream, loaded
local KEY = "spec.support.generate"
if package.loaded[KEY] then return package.loaded[KEY] end

local sys = require("deloc.sys")
local yaml = require("deloc.yaml")

local M = {}

local function root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/spec/support/[^/]+$") or "."
  return assert(sys.realpath(dir ~= "" and dir or "/"))
end
M.root = root()
M.EXE = M.root .. "/deloc"

function M.plan(o)
  return dofile(M.root .. "/spec/fixtures/generate/plan.lua")(o)
end

function M.tempdir()
  local d = os.tmpname()
  os.remove(d)
  assert(sys.mkdir_p(d, 448))
  return d
end

function M.rm_tree(dir)
  if dir and dir:match("^/tmp/") then
    local r = sys.spawn({ argv = { "rm", "-rf", "--", dir } })
    assert(r and r.status == 0)
  end
end

function M.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.project(dir, body)
  M.write(dir .. "/deloc.yaml", body)
end

-- Runs deloc in cwd with a clean environment plus env.
function M.deloc(cwd, env, ...)
  local e = { PATH = os.getenv("PATH"), DELOC_DEBUG = "0", HOME = cwd,
    XDG_CONFIG_HOME = cwd .. "/.no-config", DELOC_LUA_DIR = os.getenv("DELOC_LUA_DIR") or false,
    DELOC_PATH = false, DELOC_PROFILE = false, DELOC_TARGET = false, DELOC_IMAGES = false,
    NO_COLOR = "1" }
  for k, v in pairs(env or {}) do e[k] = v end
  local r = assert(sys.spawn({ argv = { M.EXE, ... }, cwd = cwd, env = e, env_clear = true,
                               timeout = 120 }))
  return r.status, r.stdout, r.stderr
end

local tools = {}
function M.tool(name)
  if tools[name] then return tools[name] end
  local r, err = sys.spawn({ argv = { M.root .. "/spec/tools/install-go-tools", name }, timeout = 3600,
                             env = { PATH = (os.getenv("PATH") or "") .. ":/usr/local/go/bin" } })
  assert(r, tostring(err))
  assert(r.status == 0, ("install-go-tools %s failed:\n%s"):format(name, r.stderr))
  local path = r.stdout:match("^%S+ (%S+)")
  tools[name] = assert(path, r.stdout)
  return path
end

function M.documents(text)
  local out, cur = {}, {}
  local function flush()
    local body = table.concat(cur, "\n")
    cur = {}
    if body:gsub("#[^\n]*", ""):match("%S") then
      out[#out + 1] = assert(yaml.load(body))
    end
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line == "---" or line:match("^%-%-%- ") then flush() else cur[#cur + 1] = line end
  end
  flush()
  return out
end

package.loaded[KEY] = M
return M
