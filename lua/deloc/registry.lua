-- deloc.registry: which recipes exist and where each comes from.
--
--   local reg = registry.new{ project = project }     -- or { dirs = {...}, builtin = false }
--   reg:names()      --> { "airflow", "kafka", ... }
--   reg:entry("kafka") --> { name=, origin = "builtin" | "user", path=, shadows = { entries } }
--   reg:get("kafka") --> recipe | nil, err          (loaded on first use, then cached)
--   reg:all()        --> { recipe, ... } | nil, err
--
-- Sources, each later one winning over the earlier for the same name:
--   1. built in: recipes/*.lua compiled into the binary (deloc.recipes.NAME)
--   2. ./recipes/ beside the project file (the current directory without one);
--      skipped in deloc's own source tree, whose recipes/ is the built-in set
--   3. $XDG_CONFIG_HOME/deloc/recipes/ (~/.config/deloc/recipes/)
--   4. the directories in $DELOC_PATH (colon-separated), in order
--   5. the project file's `recipes:` directories, in order
-- A recipe's file name (without .lua) is its name; the file must declare
-- `recipe "<that name>"`.  User recipes load as text only (deloc.recipe).
-- Listing a source costs a directory read; a recipe loads only when asked for.
local host = require("deloc.native.host")
local recipe = require("deloc.recipe")
local errors = require("deloc.errors")

local M = {}

local PREFIX = "deloc.recipes."

-- Built-in recipes load once per process, whatever the registry.
local builtin_cache = {}

local function listdir(dir)
  local ok, sys = pcall(require, "deloc.sys")
  if ok then return sys.listdir(dir) end
  return nil, "no deloc.sys"
end

local function isdir(dir)
  local f = io.open(dir .. "/.", "rb")
  if f then f:close() return true end
  return false
end

local function join(dir, name)
  if dir == "." then return name end
  return (dir:gsub("/+$", "")) .. "/" .. name
end

-- The project's own directory, resolved: recipes from the project (./recipes
-- and its `recipes:` directories) must be inside it.  A cloned project's
-- recipe that is a link to /etc/shadow would otherwise be read (and a syntax
-- error would quote it).
local function project_root(project)
  local ok, sys = pcall(require, "deloc.sys")
  if not ok then return nil end
  return sys.realpath(project and (project.dir or project.base) or ".")
end

-- inside(root, path) -> real path | nil, why: path resolved, under root
local function inside(root, path)
  local real = require("deloc.sys").realpath(path)
  if not real then return nil, "cannot be resolved (a dangling link?)" end
  if real ~= root and real:sub(1, #root + 1) ~= (root == "/" and "/" or root .. "/") then
    return nil, ("leads outside the project (to '%s')"):format(real)
  end
  return real
end
M.inside = inside

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

-- default_dirs(project) -> { { path=, label= }, ... } | nil, err
function M.default_dirs(project)
  local dirs = {}
  local base = project and (project.base or project.dir) or "."
  local root = project_root(project)
  local in_source_tree = io.open(join(base, "lua/deloc/registry.lua"), "rb")
  if in_source_tree then
    in_source_tree:close()
  else
    dirs[#dirs + 1] = { path = join(base, "recipes"), label = "./recipes", root = root }
  end
  local xdg = env("XDG_CONFIG_HOME") or (env("HOME") and env("HOME") .. "/.config")
  if xdg then
    dirs[#dirs + 1] = { path = xdg .. "/deloc/recipes", label = "$XDG_CONFIG_HOME/deloc/recipes" }
  end
  for d in (env("DELOC_PATH") or ""):gmatch("[^:]+") do
    dirs[#dirs + 1] = { path = d, label = "DELOC_PATH" }
  end
  for _, d in ipairs(project and project.recipes or {}) do
    local path = d:sub(1, 1) == "/" and d or join(base, d)
    if not isdir(path) then
      return nil, errors.new("CONFIG_INVALID", ("%s: recipe directory '%s' does not exist"):format(
        project.file or "deloc.yaml", d))
    end
    -- A directory named by its absolute path is the user's to check (it
    -- is in plain sight in deloc.yaml); a relative one must not lead out of
    -- the project through a link or '..'.  Either way, links inside it must
    -- stay inside it.
    local droot = root
    if d:sub(1, 1) == "/" then
      droot = require("deloc.sys").realpath(path)
    elseif root then
      local _, why = inside(root, path)
      if why then
        return nil, errors.new("CONFIG_INVALID", ("%s: recipe directory '%s' %s"):format(
          project.file or "deloc.yaml", d, why), { hint = "a project's recipes live inside it; "
          .. "name a shared directory by its absolute path or in $DELOC_PATH" })
      end
    end
    dirs[#dirs + 1] = { path = path, label = project.file or "deloc.yaml", required = true, root = droot }
  end
  return dirs
end

local Registry = {}
Registry.__index = Registry

-- new{ project=, dirs = { path | { path=, label= } ... }, builtin = true } -> registry | nil, err
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({ entries = {}, loaded = {} }, Registry)
  if opts.builtin ~= false then
    for _, mod in ipairs(host.modules(PREFIX)) do
      local name = mod:sub(#PREFIX + 1)
      self.entries[name] = { name = name, origin = "builtin", module = mod,
        path = "recipes/" .. name .. ".lua", shadows = {} }
    end
  end
  local dirs = opts.dirs
  if dirs == nil then
    local err
    dirs, err = M.default_dirs(opts.project)
    if not dirs then return nil, err end
  end
  for _, d in ipairs(dirs) do
    if type(d) == "string" then d = { path = d, label = d } end
    local files = listdir(d.path)
    if files and d.root then
      local _, why = inside(d.root, d.path)
      if why then
        return nil, errors.new("CONFIG_INVALID", ("recipe directory '%s' %s"):format(d.path, why),
          { hint = "a project's recipes live inside it; remove the link" })
      end
    end
    for _, f in ipairs(files or {}) do
      local name = f:match("^(.+)%.lua$")
      if name and f:sub(1, 1) ~= "." then
        local prev = self.entries[name]
        local shadows = {}
        if prev then
          shadows = prev.shadows
          prev.shadows = nil
          table.insert(shadows, 1, prev)
        end
        local path = join(d.path, f)
        local refused
        if d.root then
          local _, why = inside(d.root, path)
          refused = why and ("recipe '%s' %s; refused"):format(path, why)
        end
        self.entries[name] = { name = name, origin = "user", path = path,
          source = d.label, shadows = shadows, refused = refused }
      end
    end
  end
  return self
end

function Registry:names()
  local names = {}
  for name in pairs(self.entries) do names[#names + 1] = name end
  table.sort(names)
  return names
end

function Registry:entry(name)
  return self.entries[name]
end

-- not_found(name [, needed_by]) -> err: an unknown service, with did-you-mean
function Registry:not_found(name, needed_by)
  local c = recipe.closest(name, self:names())
  local msg
  if needed_by then
    msg = ("'%s' depends on '%s', which has no recipe"):format(needed_by, name)
  else
    msg = ("unknown service '%s'"):format(name)
  end
  return errors.new("SERVICE_NOT_FOUND", msg, {
    hint = c and ("did you mean '" .. c .. "'?") or "'deloc recipes' lists the services",
    service = name,
  })
end

M.MAX_RECIPE = 1024 * 1024

-- The text of a user recipe (bounded), read by trusted code before any
-- recipe runs.
local function read_text(e)
  local f, err = io.open(e.path, "rb")
  if not f then
    return nil, errors.new("IO_ERROR", ("cannot read recipe '%s': %s"):format(e.path,
      (err or ""):gsub("^[^:]*: ", ""):lower()))
  end
  local text = f:read(M.MAX_RECIPE + 1) or ""
  f:close()
  if #text > M.MAX_RECIPE then
    return nil, errors.new("CONFIG_INVALID", ("recipe '%s' is larger than %d bytes"):format(e.path, M.MAX_RECIPE))
  end
  return text
end

local function load_entry(e)
  if e.refused then
    return nil, errors.new("CONFIG_INVALID", e.refused, { hint = "a project's recipes live inside it" })
  end
  if e.origin == "builtin" then
    local r = builtin_cache[e.module]
    if r then return r end
    local fn, path = host.chunk(e.module)
    if not fn then return nil, errors.new("IO_ERROR", path) end
    local err
    r, err = recipe.load_chunk(fn, path or e.path)
    if not r then return nil, err end
    builtin_cache[e.module] = r
    return r
  end
  local text, err = e.text, e.text_err
  if text == nil and err == nil then text, err = read_text(e) end
  if not text then return nil, err end
  return recipe.load_string(text, e.path)
end

-- untrusted() -> true when a recipe that is not built in may load
function Registry:untrusted()
  for _, e in pairs(self.entries) do
    if e.origin == "user" then return true end
  end
  return false
end

-- preload(): reads every user recipe's text, so a child that may no longer
-- open files can load them (deloc.isolate)
function Registry:preload()
  for _, e in pairs(self.entries) do
    if e.origin == "user" and not e.refused and e.text == nil then
      e.text, e.text_err = read_text(e)
    end
  end
end

-- Loads every user recipe in an isolated child (deloc.isolate) and keeps
-- what comes back: data, with each recipe function replaced by one that
-- says functions run only in the planner.  One child for all of them: the
-- time bound holds for the project as a whole.
function Registry:load_untrusted()
  if self.untrusted_loaded then return true end
  local isolate = require("deloc.isolate")
  local names = {}
  for name, e in pairs(self.entries) do
    if e.origin == "user" then names[#names + 1] = name end
  end
  table.sort(names)
  local results, err = isolate.run(function()
    local out = {}
    for _, name in ipairs(names) do
      local r, rerr = load_entry(self.entries[name])
      out[name] = r and { recipe = r } or { err = rerr }
    end
    return out
  end, { what = "loading the project's recipes", prepare = function() self:preload() end })
  if not results then return nil, err end
  self.untrusted_loaded = true
  self.isolated_results = {}
  for _, name in ipairs(names) do
    local res = results[name]
    if type(res) ~= "table" or (type(res.recipe) ~= "table" and res.err == nil) then
      res = { err = errors.new("CONFIG_INVALID", ("recipe '%s': no answer from its evaluation"):format(name)) }
    end
    if res.recipe then res.recipe.isolated = true end
    self.isolated_results[name] = res
  end
  return true
end

-- get(name) -> recipe | nil, err
function Registry:get(name, needed_by)
  local r = self.loaded[name]
  if r and not (r.isolated and require("deloc.isolate").inside) then return r end
  local e = self.entries[name]
  if not e then return nil, self:not_found(name, needed_by) end
  local err
  if e.origin == "user" and not e.refused and not require("deloc.isolate").inside then
    local ok, lerr = self:load_untrusted()
    if not ok then return nil, lerr end
    local res = self.isolated_results[name]
    r, err = res.recipe, res.err
  else
    r, err = load_entry(e)
  end
  if not r then return nil, err end
  if r.name ~= name then
    return nil, errors.new("CONFIG_INVALID", ("%s:%s: the recipe is named '%s' but its file says '%s'"):format(
      e.path, r.line or 1, r.name, name), { hint = ("name the file %s.lua or write recipe \"%s\""):format(r.name, name) })
  end
  r.origin, r.path = e.origin, e.path
  self.loaded[name] = r
  return r
end

-- all() -> { recipe, ... } sorted by name | nil, err
function Registry:all()
  local list = {}
  for _, name in ipairs(self:names()) do
    local r, err = self:get(name)
    if not r then return nil, err end
    list[#list + 1] = r
  end
  return list
end

return M
