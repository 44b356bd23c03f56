-- deloc.project: the project file, deloc.yaml.
--
--   local project, err = project.load("deloc.yaml")   -- a file that must exist
--   local project, err = project.find{ file = opts.file }  -- -f FILE, else ./deloc.yaml, else defaults
--
-- project = { file = path | nil, dir = absolute directory, base = directory as given,
--   name = DNS-1123 label,
--   profile=, target=, reserve = fraction | nil, services = { NAME = overrides },
--   service_order = { names as written }, recipes = { dirs }, images = { from = to },
--   mirror = prefix | nil, profiles = { NAME = user profile },
--   secrets = { ["svc.name"] = { file = realpath } | { env = NAME } } }
--
-- Values may say ${VAR}, ${VAR:-default} and the rest of Compose's forms
-- (deloc.interpolate), read from the environment over a .env file beside the
-- project file.  services.NAME.mounts maps project paths into containers
-- (deloc.mounts); the paths are resolved and checked here, at load.
--
-- The file is read through deloc.yaml with its limits (1 MiB, depth 64, alias
-- expansion capped: a YAML bomb is refused) and validated here: an unknown key
-- or a wrong value is `deloc.yaml:LINE:COL: message`, with a did-you-mean for
-- keys.  Nothing is written.
local yaml = require("deloc.yaml")
local errors = require("deloc.errors")
local recipe = require("deloc.recipe")
local overrides = require("deloc.plan.overrides")
local traits = require("deloc.plan.traits")
local profiles = require("deloc.profiles")
local naming = require("deloc.names")
local mounts = require("deloc.mounts")
local interpolate = require("deloc.interpolate")

local M = {}

M.FILE = "deloc.yaml"

local top_keys = { project = 1, profile = 1, target = 1, reserve = 1, services = 1,
  recipes = 1, images = 1, mirror = 1, profiles = 1, secrets = 1 }

local function basename(path)
  return (path:gsub("/+$", ""):match("([^/]+)$")) or path
end

local function dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

-- dns_name(text) -> a DNS-1123 label made from a directory name
function M.dns_name(text)
  local s = text:lower():gsub("[^a-z0-9-]+", "-"):gsub("^-+", ""):sub(1, 63):gsub("-+$", "")
  if s == "" then return "deloc" end
  return s
end

local function absdir(dir)
  local ok, sys = pcall(require, "deloc.sys")
  if ok then
    local real = sys.realpath(dir)
    if real then return real end
  end
  return dir
end

-- The names in a service's overrides (the planner checks their shape):
-- environment variable names and image references.  -> true | nil, keypath, msg
local function override_names(o, path)
  for k, v in pairs(o) do
    local p = { unpack(path) }
    p[#p + 1] = k
    if k == "env" and type(v) == "table" then
      for ek in pairs(v) do
        if not naming.env(ek) then
          p[#p + 1] = ek
          return nil, p, ("environment variable name %s %s"):format(naming.quote(ek), naming.RULES.env)
        end
      end
    elseif k == "image" and type(v) == "string" and not naming.image(v) then
      return nil, p, ("image %s %s"):format(naming.quote(v), naming.RULES.image)
    elseif k == "components" and type(v) == "table" then
      for ck, cv in pairs(v) do
        if type(cv) == "table" then
          local cp = { unpack(p) }
          cp[#cp + 1] = ck
          local ok, kp, msg = override_names(cv, cp)
          if not ok then return nil, kp, msg end
        end
      end
    end
  end
  return true
end

-- parse(text, name [, dir [, opts]]) -> project | nil, err
-- opts.environ: the environment for ${VAR} (default: this process's), over
-- the .env file beside the project file
function M.parse(text, name, dir, opts)
  local doc, marks = yaml.load(text, { marks = true, name = name })
  if doc == nil then
    return nil, errors.new("CONFIG_INVALID", tostring(marks))
  end
  local function at(t, key)
    local m = marks and marks[t]
    local p = m and key ~= nil and m.keys and m.keys[key] or m
    if key ~= nil and m and m.values and m.values[key] and not (m.keys and m.keys[key]) then
      p = m.values[key]
    end
    if p then return ("%s:%d:%d: "):format(name, p.line, p.col) end
    return name .. ": "
  end
  local function value_at(t, key)
    local line, col = yaml.locate(marks, t, key)
    if line then return ("%s:%d:%d: "):format(name, line, col) end
    return at(t, key)
  end
  local function bad(where, msg, hint)
    return nil, errors.new("CONFIG_INVALID", where .. msg, { hint = hint })
  end
  local function is_map(v)
    return type(v) == "table" and not yaml.is_sequence(v)
  end

  if doc == yaml.null then doc = {} end
  if not is_map(doc) then
    return bad(name .. ":1:1: ", "the project file must be a mapping (project:, services:, ...)")
  end
  local ok_i, ierr = M.interpolate(doc, dir or dirname(name), opts, value_at)
  if not ok_i then return nil, ierr end
  for k in pairs(doc) do
    if not top_keys[k] then
      return bad(at(doc, k), ("unknown key '%s'%s"):format(tostring(k), recipe.hint(tostring(k), top_keys)))
    end
  end
  local p = { file = name, dir = dir or dirname(name) }
  p.base = p.dir -- as given, for paths shown to the user
  p.dir = absdir(p.dir)

  if doc.project ~= nil then
    if type(doc.project) ~= "string" then return bad(value_at(doc, "project"), "'project' must be a name") end
    local ok, why = recipe.dns_label(doc.project)
    if not ok then return bad(value_at(doc, "project"), ("project name %s %s"):format(naming.quote(doc.project), why)) end
    p.name = doc.project
  else
    p.name = M.dns_name(basename(p.dir))
  end

  for _, k in ipairs({ "profile", "target", "mirror" }) do
    if doc[k] ~= nil then
      if type(doc[k]) ~= "string" then return bad(value_at(doc, k), ("'%s' must be a string"):format(k)) end
      p[k] = doc[k]
    end
  end
  if p.profile then
    local ok, why = naming.profile(p.profile)
    if not ok then return bad(value_at(doc, "profile"), ("profile name %s %s"):format(naming.quote(p.profile), why)) end
  end
  if p.mirror and p.mirror ~= "" and not naming.image(p.mirror) then
    return bad(value_at(doc, "mirror"), ("mirror %s %s"):format(naming.quote(p.mirror), naming.RULES.image))
  end
  if p.target then
    local known, names = traits.of(p.target)
    if not known then return bad(value_at(doc, "target"), traits.unknown(p.target, names)) end
  end
  if doc.reserve ~= nil then
    local r, err = overrides.reserve(doc.reserve)
    if not r then return bad(value_at(doc, "reserve"), err.message) end
    p.reserve = r
  end

  -- services: a mapping of name -> overrides (or null), or a list of names
  p.services, p.service_order = {}, {}
  local svcs = doc.services
  if svcs ~= nil and svcs ~= yaml.null then
    if yaml.is_sequence(svcs) then
      for i, n in ipairs(svcs) do
        if type(n) ~= "string" then return bad(value_at(svcs, i), "a service must be a name") end
        local ok, why = recipe.dns_label(n)
        if not ok then return bad(value_at(svcs, i), ("%s is not a valid service name: %s"):format(naming.quote(n), why)) end
        if p.services[n] then return bad(value_at(svcs, i), ("service '%s' is listed twice"):format(n)) end
        p.services[n] = {}
        p.service_order[#p.service_order + 1] = n
      end
    elseif is_map(svcs) then
      local names = {}
      for n in pairs(svcs) do names[#names + 1] = n end
      table.sort(names, function(a, b)
        local la = marks and marks[svcs] and marks[svcs].keys and marks[svcs].keys[a]
        local lb = marks and marks[svcs] and marks[svcs].keys and marks[svcs].keys[b]
        if la and lb and la.line ~= lb.line then return la.line < lb.line end
        return tostring(a) < tostring(b)
      end)
      for _, n in ipairs(names) do
        if type(n) ~= "string" then return bad(at(svcs, n), "a service must be a name") end
        local ok, why = recipe.dns_label(n)
        if not ok then return bad(at(svcs, n), ("%s is not a valid service name: %s"):format(naming.quote(n), why)) end
        local o = svcs[n]
        if o == yaml.null then o = {} end
        if is_map(o) and o.mounts ~= nil then
          local m, mkp, mmsg = mounts.parse(p.dir, o.mounts)
          if not m then
            local t = o.mounts
            local where = is_map(t) and mkp[1] ~= nil and t[mkp[1]] ~= nil and value_at(t, mkp[1]) or at(o, "mounts")
            return bad(where, ("services.%s.mounts%s: %s"):format(n,
              #mkp > 0 and ("." .. table.concat(mkp, ".")) or "", mmsg))
          end
          o.mounts = m
        end
        local okc, kp, msg = overrides.check(o)
        if okc then okc, kp, msg = override_names(o, {}) end
        if not okc then
          -- walk the key path to the deepest table we have marks for
          local t, parent, pkey = o, svcs, n
          for _, k in ipairs(kp) do
            if type(t) ~= "table" or t[k] == nil then break end
            parent, pkey, t = t, k, t[k]
          end
          local shown = {}
          for i, k in ipairs(kp) do shown[i] = naming.quote(k):sub(2, -2) end -- no raw control bytes
          return bad(at(parent, pkey), ("services.%s%s: %s"):format(n,
            #shown > 0 and ("." .. table.concat(shown, ".")) or "", msg))
        end
        p.services[n] = o
        p.service_order[#p.service_order + 1] = n
      end
    else
      return bad(value_at(doc, "services"), "'services' must be a mapping of name: overrides, or a list of names")
    end
  end

  local sec, serr = M.secret_sources(doc, p.dir, value_at, bad)
  if not sec then return nil, serr end
  p.secrets = sec

  p.recipes = {}
  if doc.recipes ~= nil then
    local r = doc.recipes
    if type(r) == "string" then r = { r } end
    if not yaml.is_sequence(r) and type(r) ~= "table" then
      return bad(value_at(doc, "recipes"), "'recipes' must be a list of directories")
    end
    for i, d in ipairs(r) do
      if type(d) ~= "string" then return bad(value_at(r, i), "a recipe directory must be a path") end
      p.recipes[#p.recipes + 1] = d
    end
  end

  p.images = {}
  if doc.images ~= nil then
    if not is_map(doc.images) then return bad(value_at(doc, "images"), "'images' must be a mapping of image or service: image") end
    for k, v in pairs(doc.images) do
      if type(v) ~= "string" or not naming.image(v) then
        return bad(value_at(doc.images, k), ("image override for %s %s"):format(naming.quote(k), naming.RULES.image))
      end
      p.images[tostring(k)] = v
    end
  end

  p.profiles = {}
  if doc.profiles ~= nil then
    if not is_map(doc.profiles) then return bad(value_at(doc, "profiles"), "'profiles' must be a mapping") end
    for pname, def in pairs(doc.profiles) do
      local okn, why = naming.profile(pname)
      if not okn then return bad(at(doc.profiles, pname), ("profile name %s %s"):format(naming.quote(pname), why)) end
      local ok, kp, msg = profiles.check(def)
      if not ok then
        local t, parent, pkey = def, doc.profiles, pname
        for _, k in ipairs(kp or {}) do
          if type(t) == "table" and t[k] ~= nil then parent, pkey, t = t, k, t[k] else break end
        end
        return bad(at(parent, pkey), ("profile '%s': %s"):format(tostring(pname), msg))
      end
      p.profiles[pname] = def
    end
    for pname in pairs(p.profiles) do
      local _, err = profiles.resolve(pname, p.profiles)
      if err then return bad(at(doc.profiles, pname), err.message, err.hint) end
    end
  end
  if p.profile then
    local _, err = profiles.resolve(p.profile, p.profiles)
    if err then return bad(value_at(doc, "profile"), err.message, err.hint) end
  end
  return p
end

-- check_link(path) -> true | nil, err: a project file that is a link must
-- stay in its directory (a cloned repository's deloc.yaml linked to a file
-- elsewhere is refused, and nothing of that file is shown)
function M.check_link(path)
  local sys = require("deloc.sys")
  local dir = dirname(path)
  if sys.at(dir):kind(basename(path)) ~= "link" then return true end
  local root = sys.realpath(dir)
  local _, why = require("deloc.registry").inside(root or dir, path)
  if why then
    return nil, errors.new("CONFIG_INVALID", ("project file '%s' is a link that %s; refused"):format(path, why),
      { hint = "a project file lives in its project; copy it there" })
  end
  return true
end

-- interpolate(doc, dir, opts, value_at) -> true | nil, err: ${VAR} in every
-- value, from opts.environ or the environment over <dir>/.env
function M.interpolate(doc, dir, opts, value_at)
  local lookup, err = interpolate.environment(dir, opts and opts.environ)
  if not lookup then return nil, err end
  return interpolate.tree(doc, lookup, value_at)
end

-- secrets:  SERVICE.NAME: { file: ./path } | { env: VARIABLE }
-- The value then comes from there instead of being generated.  A file must
-- be inside the project (the project file may be someone else's).
function M.secret_sources(doc, dir, value_at, bad)
  local out = {}
  local s = doc.secrets
  if s == nil or s == yaml.null then return out end
  if type(s) ~= "table" or yaml.is_sequence(s) then
    return bad(value_at(doc, "secrets"), "'secrets' must be a mapping of service.secret: { file: PATH } or { env: NAME }")
  end
  for k, v in pairs(s) do
    if type(k) ~= "string" or not k:match("^[a-z0-9][a-z0-9-]*%.[a-z0-9][a-z0-9_-]*$") then
      return bad(value_at(s, k), ("secret '%s' must be named SERVICE.SECRET (e.g. postgres.password)"):format(tostring(k)))
    end
    if type(v) ~= "table" or yaml.is_sequence(v) then
      return bad(value_at(s, k), ("secret '%s' must be { file: PATH } or { env: NAME }"):format(k))
    end
    local n = 0
    for vk in pairs(v) do
      n = n + 1
      if vk ~= "file" and vk ~= "env" then
        return bad(value_at(v, vk), ("secret '%s': unknown key '%s' (file or env)"):format(k, tostring(vk)))
      end
    end
    if n ~= 1 then return bad(value_at(s, k), ("secret '%s' needs exactly one of file or env"):format(k)) end
    if v.env ~= nil then
      if type(v.env) ~= "string" or not v.env:match("^[%a_][%w_]*$") then
        return bad(value_at(v, "env"), ("secret '%s': env must be a variable name"):format(k))
      end
      out[k] = { env = v.env }
    else
      local e, why = mounts.source(dir, v.file)
      if not e then return bad(value_at(v, "file"), ("secret '%s': %s"):format(k, why)) end
      if e.kind ~= "file" then return bad(value_at(v, "file"), ("secret '%s': '%s' is not a file"):format(k, v.file)) end
      out[k] = { file = e.source }
    end
  end
  return out
end

-- load(path) -> project | nil, err
function M.load(path)
  local link, lerr = M.check_link(path)
  if not link then return nil, lerr end
  local f, err = io.open(path, "rb")
  if not f then
    return nil, errors.new("CONFIG_INVALID", ("cannot read '%s': %s"):format(path,
      (tostring(err):gsub("^[^:]*: ", ""):lower())))
  end
  local text = f:read("*a")
  f:close()
  return M.parse(text, path)
end

-- defaults([dir]) -> the project of a directory without a deloc.yaml
function M.defaults(dir)
  local base = dir or "."
  dir = absdir(base)
  return { dir = dir, base = base, name = M.dns_name(basename(dir)), services = {}, service_order = {},
    recipes = {}, images = {}, profiles = {}, secrets = {} }
end

-- find{ file = } -> project | nil, err: -f FILE (must exist), else ./deloc.yaml, else defaults
function M.find(opts)
  opts = opts or {}
  if opts.file then return M.load(opts.file) end
  local f = io.open(M.FILE, "rb")
  if f then
    f:close()
    return M.load(M.FILE)
  end
  return M.defaults(".")
end

return M
