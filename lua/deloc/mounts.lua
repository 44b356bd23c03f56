-- deloc.mounts: the user's own files in the stack.
--
-- A recipe declares content points (`mounts = { dags = { path = "/opt/airflow/dags" } }`);
-- deloc.yaml maps project paths onto them or onto any absolute container path:
--
--   services:
--     airflow:
--       mounts:
--         dags: ./dags                          # read-only
--         logs: { source: ./logs, writable: true }
--         /opt/airflow/config/extra.cfg: ./extra.cfg
--
-- Trust: deloc.yaml may come from someone else's repository, so a host path it
-- names must resolve (realpath: symbolic links followed) inside the project
-- directory, and not to .deloc/ (the secrets) or anything holding it.  A path
-- given on the command line (`--mount airflow.dags=/abs/path`) is the user's
-- own choice and may be anywhere.
--
--   mounts.source(dir, given, opts) -> { source = realpath, given=, kind = "file"|"directory" } | nil, message
--   mounts.parse(dir, spec, opts) -> { KEY = { source=, given=, kind=, writable= } } | nil, keypath, message
--   mounts.flag("airflow.dags=/abs/path[:rw]", cwd) -> service, key, mount | nil, err
--   mounts.resolve(component, recipe_component, given, where) -> plan mounts | nil, err
--
-- In the plan each component carries
--   mounts = { KEY = { source = "/abs/host/path", path = "/container/path",
--                      writable = bool, kind = "file"|"directory", point = NAME | nil,
--                      gid = the source's group (drivers may let the container join it),
--                      given = the path as the user wrote it, for messages } }
-- The mapping (source, path, writable) is part of the component's config
-- hash; the files' content is not, so editing a DAG recreates nothing.
local errors = require("deloc.errors")

local M = {}

local function sys() return require("deloc.sys") end

-- inside(root, path) -> boolean: path is root or below it
function M.inside(root, path)
  if root == "/" then return true end
  return path == root or path:sub(1, #root + 1) == root .. "/"
end

local function join(dir, p)
  if p:sub(1, 1) == "/" then return p end
  return dir .. "/" .. p
end

-- source(dir, given, opts) -> entry | nil, message
-- opts.anywhere: the path came from the command line
function M.source(dir, given, opts)
  opts = opts or {}
  if type(given) ~= "string" or given == "" then return nil, "a mount source must be a path" end
  if given:find("%c") then return nil, "a mount source must not hold control characters" end
  local s = sys()
  local root = s.realpath(dir) or dir
  local real = s.realpath(join(root, given))
  if not real then
    return nil, ("'%s' does not exist (create it first)"):format(given)
  end
  if not opts.anywhere then
    if not M.inside(root, real) then
      return nil, ("'%s' resolves to %s, outside the project directory %s; a project file may only mount "
        .. "its own files (pass --mount on the command line for a path elsewhere)"):format(given, real, root)
    end
    local state_dir = root .. "/.deloc"
    if M.inside(state_dir, real) or M.inside(real, state_dir) then
      return nil, ("'%s' would expose .deloc/ (the project's secrets) to a container"):format(given)
    end
  end
  local kind, info = s.stat(real)
  return { source = real, given = given, kind = kind == "directory" and "directory" or "file",
    gid = info and info.gid or nil }
end

local function valid_key(k)
  if type(k) ~= "string" then return false end
  if k:sub(1, 1) == "/" then
    return not k:find("%c") and not k:find("/%.%.?/") and not k:find("/%.%.?$") and k ~= "/"
  end
  return k:match("^[a-z0-9][a-z0-9_-]*$") ~= nil
end

-- parse(dir, spec, opts) -> mounts | nil, keypath, message (deloc.yaml's shape)
function M.parse(dir, spec, opts)
  if type(spec) ~= "table" or spec[1] ~= nil then
    return nil, {}, "'mounts' must be a mapping of content point (or /container/path): ./host/path"
  end
  local out = {}
  for k, v in pairs(spec) do
    if not valid_key(k) then
      return nil, { k }, ("'%s' is neither a content point name nor an absolute container path"):format(tostring(k))
    end
    local given, writable = v, false
    if type(v) == "table" then
      for vk in pairs(v) do
        if vk ~= "source" and vk ~= "writable" then
          return nil, { k, vk }, ("unknown key '%s' (source, writable)"):format(tostring(vk))
        end
      end
      given = v.source
      if v.writable ~= nil and type(v.writable) ~= "boolean" then
        return nil, { k, "writable" }, "'writable' must be true or false"
      end
      writable = v.writable or false
    end
    local e, why = M.source(dir, given, opts)
    if not e then return nil, { k }, why end
    e.writable = writable
    out[k] = e
  end
  return out
end

-- flag("svc.key=/path[:rw]", cwd) -> service, key, entry | nil, err
function M.flag(text, cwd)
  local svc, key, path = text:match("^([a-z0-9][a-z0-9-]*)%.([^=]+)=(.+)$")
  if not svc then
    return nil, errors.new("USAGE", ("--mount '%s': expected SERVICE.POINT=PATH (or SERVICE./container/path=PATH)")
      :format(text), { hint = "e.g. --mount airflow.dags=$PWD/dags or --mount airflow.logs=./logs:rw" })
  end
  local writable = false
  if path:match(":rw$") then path, writable = path:sub(1, -4), true
  elseif path:match(":ro$") then path = path:sub(1, -4) end
  if not valid_key(key) then
    return nil, errors.new("USAGE", ("--mount '%s': '%s' is neither a content point name nor an absolute container path")
      :format(text, key))
  end
  local e, why = M.source(cwd or ".", path, { anywhere = true })
  if not e then return nil, errors.new("USAGE", ("--mount '%s': %s"):format(text, why)) end
  e.writable = writable
  return svc, key, e
end

-- flags(list, cwd) -> overrides { svc = { mounts = {...} } } | nil, err
function M.flags(list, cwd)
  if not list or #list == 0 then return nil end
  local o = {}
  for _, text in ipairs(list) do
    local svc, key, e = M.flag(text, cwd)
    if not svc then return nil, key end
    o[svc] = o[svc] or { mounts = {} }
    o[svc].mounts[key] = e
  end
  return o
end

local sorted = require("deloc.array").sorted_keys

-- resolve(points, given, where) -> mounts for one component | nil, err
-- points: the recipe component's content points { NAME = { path=, writable= } };
-- given: the service's mounts (deloc.yaml and flags). A named point the
-- component does not have is skipped here (another component may have it);
-- the planner checks that each name lands somewhere.
function M.resolve(points, given)
  local out, used = {}, {}
  for _, key in ipairs(sorted(given or {})) do
    local g = given[key]
    local path, point
    if key:sub(1, 1) == "/" then
      path = key
    elseif points[key] then
      path, point = points[key].path, key
    end
    if path then
      out[key] = { source = g.source, path = path, kind = g.kind, point = point,
        writable = g.writable and true or false, gid = g.gid, given = g.given }
      used[key] = true
    end
  end
  return out, used
end

-- apply(comp, points, given, secret_sources, use): one planned component
-- gets the service's mounts that land on it (a mount onto a path a volume
-- holds replaces that volume there: both would be a duplicate mount point)
-- and where its given secret values come from (deloc.yaml secrets:); `use`
-- collects the points used and offered, for unknown().
function M.apply(comp, points, given, secret_sources, use)
  local got, used = M.resolve(points or {}, given)
  for k in pairs(used) do use.used[k] = true end
  for k in pairs(points or {}) do use.points[k] = true end
  for _, m in pairs(got) do
    for vname, v in pairs(comp.volumes) do
      if v.path == m.path then comp.volumes[vname] = nil end
    end
  end
  comp.mounts = next(got) and got or nil -- absent when none: hashes stay as they were
  for key, sec in pairs(comp.secrets) do
    local from = (secret_sources or {})[sec.service .. "." .. sec.name]
    if from then comp.secrets[key].from = { file = from.file, env = from.env } end
  end
end

-- unknown(given, used_anywhere, points_anywhere, service) -> nil | err
function M.unknown(given, used, points, service)
  for _, key in ipairs(sorted(given or {})) do
    if not used[key] then
      local names = sorted(points)
      local c = require("deloc.suggest").closest(key, names)
      return errors.new("CONFIG_INVALID", ("service '%s' has no content point '%s'%s"):format(service, key,
        c and (" (did you mean '" .. c .. "'?)") or ""), {
        hint = #names > 0 and ("its content points: " .. table.concat(names, ", ")
          .. "; or mount onto an absolute container path") or "mount onto an absolute container path instead" })
    end
  end
  return nil
end

return M
