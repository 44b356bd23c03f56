-- deloc.recipe: the recipe DSL, its sandbox and its schema.
--
--   return recipe "postgres" { description = "...", image = "postgres:16.4-bookworm", ... }
--
-- A recipe file runs in an environment that offers only the DSL (`recipe`)
-- and the harmless parts of Lua (string, table, math, pairs, ...), with strict
-- globals: an unknown name is an error with a did-you-mean.  Loading is
-- bounded: a recipe that runs more than `M.INSTRUCTION_LIMIT` VM instructions
-- (an endless loop) fails, and so do the functions it declares (env, command,
-- depends_on, enabled) when the planner calls them.
--
-- What a recipe may declare is the contract in the header of deloc.planner;
-- every unknown key or wrong type is an error `file:line: message` naming the
-- key.  The result of loading is a normalised recipe:
--
--   { name=, description=, category=, image=, path=, line=, origin=,
--     options = { NAME = { default=, choices=, description= } },
--     depends_on = { "svc", ... } | function(opt),
--     secrets = { NAME = { length= } },
--     backup = { exec=, restore=, component= } | nil, connections = { ... },
--     connect = { exec=, commands = { NAME = argv }, url=, component=, description= } | nil,
--     component_names = { sorted names },
--     components = { NAME = {
--         name=, image=, build = { context=, dockerfile= } | nil (image may then be nil),
--         command=, entrypoint=, env = table | function | list of both,
--         ports = { NAME = { port=, protocol=, publish=, http= } },
--         volumes = { NAME = { path=, data=, size= } }, tmpfs = { ... },
--         mounts = { NAME = { path=, description= } },  -- content points
--         (recipe-level: exports = { VAR = "template" }, what `deloc env` prints)
--         health = { kind=, exec=, port=, path=, pattern=, interval=, timeout=,
--                    retries=, start_period= } | nil,          -- seconds
--         smoke = { exec = argv | function(s), expect=, timeout= } | nil,
--         resources = { profiles = { minimal = { memory=, cpu= }, ... },
--                       min = { memory=, cpu= }, max = { memory=, cpu= }, disk= },
--         jvm = { heap_ratio= } | nil, user=, read_only=, capabilities=,
--         restricted=, restricted_reason=, depends_on = { "name", ... },
--         replicas=, scalable=, oneshot=, enabled = true | function(opt) } } }
local errors = require("deloc.errors")
local quantity = require("deloc.quantity")
local suggest = require("deloc.suggest")
local sandbox = require("deloc.sandbox")
local names = require("deloc.names")

local M = {}

-- Validation runs once per recipe per process: compiling its loops costs
-- more than interpreting them (callgrind: 18.6M -> 12.9M instructions to
-- load the built-ins), so its functions stay in the interpreter.
jit.off(true, true)

-- Enough for any honest recipe (a few thousand instructions) and small
-- enough that an endless loop fails in tens of milliseconds.
M.INSTRUCTION_LIMIT = 2000000

M.CATEGORIES = { "database", "cache", "streaming", "processing", "orchestration",
  "storage", "query", "notebook", "ui", "coordination", "monitoring", "other" }
M.PROFILES = { "minimal", "development", "production" }

local is_category = {}
for _, c in ipairs(M.CATEGORIES) do is_category[c] = true end

-- ---- names ----

local function sorted_letters(s)
  local t = {}
  for i = 1, #s do t[i] = s:sub(i, i) end
  table.sort(t)
  return table.concat(t)
end

-- closest(name, candidates) -> the likely intended name | nil: deloc.suggest,
-- plus two swapped letters ('imgae' for 'image', 'alpah' for 'alpha')
local function closest(name, candidates)
  if type(name) ~= "string" or #name > suggest.MAX_LENGTH then return nil end
  local c = suggest.closest(name, candidates)
  if c then return c end
  local letters = sorted_letters(name)
  local list = {}
  for k, v in pairs(candidates) do list[#list + 1] = type(k) == "string" and k or v end
  table.sort(list)
  for _, cand in ipairs(list) do
    if type(cand) == "string" and #cand == #name and sorted_letters(cand) == letters
      and suggest.distance(cand, name) <= 2 then
      return cand
    end
  end
  return nil
end
M.closest = closest

-- " (did you mean 'x'?)" or ""
local function hint(name, candidates)
  local c = closest(name, candidates)
  return c and (" (did you mean '" .. c .. "'?)") or ""
end
M.hint = hint

-- dns_label(name) -> true | nil, why: a DNS-1123 label, as Docker network
-- aliases and Kubernetes object names need
function M.dns_label(name)
  if type(name) ~= "string" then return nil, "must be a string" end
  return names.dns_label(name)
end

-- url_path(s) -> true when s is an absolute URL path (and query) of the
-- characters RFC 3986 allows there; what a health probe may ask for
function M.url_path(s)
  return type(s) == "string" and s:match("^/[%w%-%._~!%$&'%(%)%*%+,;=:@/%%%?]*$") ~= nil
end

-- Kubernetes port names: IANA service names, at most 15 characters.
local function port_name(name)
  if type(name) ~= "string" or #name == 0 or #name > 15 or not name:match("^[a-z0-9][a-z0-9-]*$")
    or name:sub(-1) == "-" or not name:match("%a") then
    return nil, "must be 1 to 15 lower-case letters, digits and '-', with a letter"
  end
  return true
end

-- ---- the sandbox ----

local new_table = require("table.new")

-- What each recipe's copy of string, table and math holds, filtered once
-- per process; copy() makes a fresh table of it, sized up front (growing
-- one key at a time rehashed it five times, three tables per recipe).
local function template(t, except)
  local c, n = {}, 0
  for k, v in pairs(t) do
    if not except[k] then c[k] = v; n = n + 1 end
  end
  return { fields = c, n = n }
end
local STRING = template(string, { dump = true })
local TABLE = template(table, {})
local MATH = template(math, { randomseed = true, random = true })

local function copy(tpl)
  local c = new_table(0, tpl.n)
  for k, v in pairs(tpl.fields) do c[k] = v end
  return c
end

-- The environment a recipe file runs in; `define` receives what `recipe`
-- declares.  Each recipe gets its own copies of string, table and math: what
-- one recipe assigns there never reaches another.  (The string metatable,
-- behind ("x"):upper(), is out of reach: no getmetatable, no debug.)
local function environment(define)
  local base = {
    string = copy(STRING), table = copy(TABLE), math = copy(MATH),
    pairs = pairs, ipairs = ipairs, next = next, select = select, type = type,
    tostring = tostring, tonumber = tonumber, unpack = unpack, error = error,
    assert = assert,
  }
  base.recipe = function(name)
    local line = debug.getinfo(2, "l")
    line = line and line.currentline or nil
    if type(name) ~= "string" then
      error("recipe needs a name: recipe \"NAME\" { ... }", 2)
    end
    return function(def)
      if type(def) ~= "table" then
        error(("recipe '%s' needs a table: recipe \"%s\" { ... }"):format(name, name), 2)
      end
      return define(name, def, line)
    end
  end
  return sandbox.strict(base)
end

-- Runs fn(...) under the instruction bound; returns ok, results... like pcall.
local function bounded(fn, ...)
  local old = { debug.gethook() }
  debug.sethook(function()
    error(("recipe runs too long (more than %d instructions; an endless loop?)")
      :format(M.INSTRUCTION_LIMIT), 2)
  end, "", M.INSTRUCTION_LIMIT)
  local r = { pcall(fn, ...) }
  -- a hook set from C shows as a string and cannot be put back from Lua
  if type(old[1]) == "function" then debug.sethook(old[1], old[2], old[3]) else debug.sethook() end
  return unpack(r, 1, table.maxn(r))
end

-- A deep copy of what the planner hands a recipe function (functions such
-- as s.port stay the planner's), so that a recipe changing s.options or
-- s.profile_values changes nothing another recipe, or the plan, sees.
local function private(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[private(k, seen)] = private(x, seen) end
  return setmetatable(c, getmetatable(v))
end

-- call(fn, where, ...) -> value | nil, err: a recipe's function, bounded, its
-- error turned into a CONFIG_INVALID that says where.
function M.call(fn, where, ...)
  local args = { ... }
  for i = 1, select("#", ...) do args[i] = private(args[i]) end
  local ok, v = bounded(fn, unpack(args, 1, select("#", ...)))
  if not ok then
    return nil, errors.new("CONFIG_INVALID", ("%s: %s"):format(where, tostring(v)))
  end
  return v
end

-- ---- locating keys in the source ----

-- The line of key path `keys` in `text`, searching from line `from`.
local function key_line(text, from, keys)
  if not text then return from end
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local line, found = from or 1, from
  for _, key in ipairs(keys) do
    if type(key) ~= "string" then break end
    local pat1 = "[%s{,]" .. key:gsub("%p", "%%%0") .. "%s*="
    local pat2 = "%[%s*[\"']" .. key:gsub("%p", "%%%0") .. "[\"']%s*%]%s*="
    local hit
    for i = line, #lines do
      local l = " " .. lines[i]
      if l:find(pat1) or l:find(pat2) then hit = i; break end
    end
    if not hit then break end
    line, found = hit, hit
  end
  return found
end
M._key_line = key_line

-- ---- the schema ----

-- Validation raises { path = { keys... }, msg = ... }; validate() catches it.
local function fail(path, msg)
  error({ path = path, msg = msg }, 0)
end

local function sub(path, key)
  local p = {}
  for i = 1, #path do p[i] = path[i] end
  p[#p + 1] = key
  return p
end

local function path_text(path)
  local parts = {}
  for _, k in ipairs(path) do
    if type(k) == "number" then
      parts[#parts] = (parts[#parts] or "") .. "[" .. k .. "]"
    else
      parts[#parts + 1] = k
    end
  end
  return table.concat(parts, ".")
end

local function type_error(path, want, v)
  fail(path, ("'%s' must be %s, got %s"):format(path_text(path), want, type(v)))
end

local function check_keys(t, allowed, path, what)
  for k in pairs(t) do
    if type(k) ~= "string" then
      fail(path, ("%s has a non-name key %s"):format(what, tostring(k)))
    end
    if allowed[k] == nil then
      local p = sub(path, k)
      fail(p, ("unknown key '%s' in %s%s"):format(k, what, hint(k, allowed)))
    end
  end
end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local function want_string(v, path)
  if type(v) ~= "string" then type_error(path, "a string", v) end
  if not names.utf8(v) then fail(path, ("'%s' %s"):format(path_text(path), names.RULES.utf8)) end
  return v
end

local function want_bool(v, path)
  if type(v) ~= "boolean" then type_error(path, "true or false", v) end
  return v
end

local function want_integer(v, path, lo, hi)
  if type(v) ~= "number" or v ~= math.floor(v) or v < lo or v > hi then
    fail(path, ("'%s' must be a whole number from %d to %d, got %s"):format(
      path_text(path), lo, hi, tostring(v)))
  end
  return v
end

local function want_string_list(v, path)
  if type(v) == "table" and next(v) == nil then return {} end
  if not is_list(v) then type_error(path, "a list of strings", v) end
  local out = {}
  for i, s in ipairs(v) do
    out[i] = want_string(s, sub(path, i))
  end
  return out
end

local function want_argv(v, path, allow_fn)
  if allow_fn and type(v) == "function" then return v end
  if type(v) == "string" then return { "sh", "-c", v } end
  local argv = want_string_list(v, path)
  if #argv == 0 then fail(path, ("'%s' must not be empty"):format(path_text(path))) end
  return argv
end

local function want_map(v, path)
  if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then
    type_error(path, "a table of name = value", v)
  end
  return v
end

local function want_memory(v, path)
  local n, err = quantity.memory(v)
  if not n then fail(path, ("'%s': %s"):format(path_text(path), err)) end
  return n
end

local function want_cpu(v, path)
  local n, err = quantity.cpu(v)
  if not n then fail(path, ("'%s': %s"):format(path_text(path), err)) end
  return n
end

local function want_duration(v, path)
  local n, err = quantity.duration(v)
  if not n then fail(path, ("'%s': %s"):format(path_text(path), err)) end
  return n
end

local function want_port_number(v, path)
  if type(v) ~= "number" or v ~= math.floor(v) or v < 1 or v > 65535 then
    fail(path, ("'%s': port %s is out of range (1-65535)"):format(path_text(path), tostring(v)))
  end
  return v
end

local function want_abs_path(v, path)
  want_string(v, path)
  if v:sub(1, 1) ~= "/" then
    fail(path, ("'%s': '%s' must be an absolute path"):format(path_text(path), v))
  end
  local ok, why = names.path(v)
  if not ok then fail(path, ("'%s': %s %s"):format(path_text(path), names.quote(v), why)) end
  return v
end

local function ports(v, path)
  want_map(v, path)
  local out, seen = {}, {}
  for name, p in pairs(v) do
    local pp = sub(path, name)
    local ok, why = port_name(name)
    if not ok then fail(pp, ("port name '%s' %s"):format(tostring(name), why)) end
    local port
    if type(p) == "number" then
      port = { port = want_port_number(p, pp), protocol = "tcp", publish = true }
    elseif type(p) == "table" then
      check_keys(p, { port = 1, protocol = 1, publish = 1, http = 1 }, pp, "port '" .. name .. "'")
      port = {
        port = want_port_number(p.port, sub(pp, "port")),
        protocol = p.protocol and want_string(p.protocol, sub(pp, "protocol")) or "tcp",
        publish = p.publish == nil and true or want_bool(p.publish, sub(pp, "publish")),
        http = p.http ~= nil and want_bool(p.http, sub(pp, "http")) or nil,
      }
      if port.protocol ~= "tcp" and port.protocol ~= "udp" then
        fail(sub(pp, "protocol"), ("port '%s': protocol must be tcp or udp"):format(name))
      end
    else
      type_error(pp, "a port number or { port = N }", p)
    end
    local key = port.port .. "/" .. port.protocol
    if seen[key] then
      fail(pp, ("ports '%s' and '%s' both use %s"):format(seen[key], name, key))
    end
    seen[key] = name
    out[name] = port
  end
  return out
end

local function volumes(v, path)
  want_map(v, path)
  local out, seen = {}, {}
  for name, vol in pairs(v) do
    local vp = sub(path, name)
    local ok, why = M.dns_label(name)
    if not ok then fail(vp, ("volume name %s %s"):format(names.quote(name), why)) end
    local r
    if type(vol) == "string" then
      r = { path = want_abs_path(vol, vp), data = true }
    elseif type(vol) == "table" then
      check_keys(vol, { path = 1, data = 1, size = 1 }, vp, "volume '" .. name .. "'")
      r = {
        path = want_abs_path(vol.path, sub(vp, "path")),
        data = vol.data == nil and true or want_bool(vol.data, sub(vp, "data")),
        size = vol.size ~= nil and want_memory(vol.size, sub(vp, "size")) or nil,
      }
    else
      type_error(vp, "a path or { path = ... }", vol)
    end
    if seen[r.path] then
      fail(vp, ("volumes '%s' and '%s' both mount %s"):format(seen[r.path], name, r.path))
    end
    seen[r.path] = name
    out[name] = r
  end
  return out
end

-- Content points: where a user's own files go (`deloc.yaml` maps project
-- paths onto them by name).
local function content_points(v, path)
  want_map(v, path)
  local out = {}
  for name, m in pairs(v) do
    local mp = sub(path, name)
    if not name:match("^[a-z0-9][a-z0-9_-]*$") then
      fail(mp, ("content point name '%s' must be lower-case letters, digits, '-' and '_'"):format(tostring(name)))
    end
    if type(m) == "string" then
      out[name] = { path = want_abs_path(m, mp) }
    else
      want_map(m, mp)
      check_keys(m, { path = 1, description = 1 }, mp, "mount '" .. name .. "'")
      out[name] = { path = want_abs_path(m.path, sub(mp, "path")),
        description = m.description ~= nil and want_string(m.description, sub(mp, "description")) or nil }
    end
  end
  return out
end

-- exports: NAME = template, what `deloc env` prints for programs on the host
-- (placeholders as in connections: {host}, {port:NAME}, {secret:NAME}).
local function exports(v, path)
  want_map(v, path)
  for k, t in pairs(v) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
      fail(sub(path, tostring(k)), ("export name '%s' must be an environment variable name"):format(tostring(k)))
    end
    want_string(t, sub(path, k))
  end
  return v
end

local function health(v, path)
  want_map(v, path)
  check_keys(v, { exec = 1, http = 1, tcp = 1, log = 1, interval = 1, timeout = 1,
    retries = 1, start_period = 1 }, path, "health")
  local h = {}
  local kinds = 0
  if v.exec ~= nil then
    kinds = kinds + 1
    h.kind, h.exec = "exec", want_argv(v.exec, sub(path, "exec"))
  end
  if v.http ~= nil then
    kinds = kinds + 1
    local hp = sub(path, "http")
    h.kind = "http"
    if type(v.http) ~= "table" then type_error(hp, "{ port = ..., path = ... }", v.http) end
    check_keys(v.http, { port = 1, path = 1, scheme = 1 }, hp, "health.http")
    if type(v.http.port) ~= "string" then want_port_number(v.http.port, sub(hp, "port")) end
    h.port = v.http.port
    h.path = v.http.path and want_string(v.http.path, sub(hp, "path")) or "/"
    -- deloc probes http://127.0.0.1:<planned port><path>: a path that does
    -- not start with '/' (or has characters outside a URL path) could name
    -- another host ("@evil.example/") or smuggle a request line
    if #h.path > 1024 or not M.url_path(h.path) then
      fail(sub(hp, "path"), ("health.http.path '%s' must be a URL path: '/' then letters, digits and -._~!$&'()*+,;=:@/%%?"):format(h.path))
    end
    h.scheme = v.http.scheme and want_string(v.http.scheme, sub(hp, "scheme")) or "http"
    if h.scheme ~= "http" and h.scheme ~= "https" then
      fail(sub(hp, "scheme"), ("health.http.scheme '%s' must be http or https"):format(h.scheme))
    end
  end
  if v.tcp ~= nil then
    kinds = kinds + 1
    h.kind = "tcp"
    if type(v.tcp) ~= "string" then want_port_number(v.tcp, sub(path, "tcp")) end
    h.port = v.tcp
  end
  if v.log ~= nil then
    kinds = kinds + 1
    h.kind, h.pattern = "log", want_string(v.log, sub(path, "log"))
  end
  if kinds ~= 1 then
    fail(path, "health needs exactly one of exec, http, tcp or log")
  end
  h.interval = v.interval and want_duration(v.interval, sub(path, "interval")) or 5
  h.timeout = v.timeout and want_duration(v.timeout, sub(path, "timeout")) or 3
  h.retries = v.retries and want_integer(v.retries, sub(path, "retries"), 1, 10000) or 10
  h.start_period = v.start_period and want_duration(v.start_period, sub(path, "start_period")) or 0
  return h
end

local function limits(v, path, what)
  want_map(v, path)
  check_keys(v, { memory = 1, cpu = 1 }, path, what)
  return {
    memory = v.memory ~= nil and want_memory(v.memory, sub(path, "memory")) or nil,
    cpu = v.cpu ~= nil and want_cpu(v.cpu, sub(path, "cpu")) or nil,
  }
end

local resource_keys = { min = 1, max = 1, disk = 1 }
for _, p in ipairs(M.PROFILES) do resource_keys[p] = 1 end

local function resources(v, path)
  want_map(v, path)
  check_keys(v, resource_keys, path, "resources")
  local r = { profiles = {} }
  for _, p in ipairs(M.PROFILES) do
    if v[p] ~= nil then r.profiles[p] = limits(v[p], sub(path, p), "resources." .. p) end
  end
  r.min = v.min and limits(v.min, sub(path, "min"), "resources.min") or {}
  r.max = v.max and limits(v.max, sub(path, "max"), "resources.max") or {}
  r.disk = v.disk ~= nil and want_memory(v.disk, sub(path, "disk")) or nil
  for _, k in ipairs({ "memory", "cpu" }) do
    local lo, hi = r.min[k], r.max[k]
    local fmt = k == "memory" and quantity.format_memory or quantity.format_cpu
    if lo and hi and lo > hi then
      fail(sub(path, "min"), ("resources.min.%s %s is above resources.max.%s %s"):format(
        k, fmt(lo), k, fmt(hi)))
    end
    for _, p in ipairs(M.PROFILES) do
      local val = r.profiles[p] and r.profiles[p][k]
      if val and lo and val < lo then
        fail(sub(sub(path, p), k), ("resources.%s.%s %s is below resources.min.%s %s"):format(
          p, k, fmt(val), k, fmt(lo)))
      end
      if val and hi and val > hi then
        fail(sub(sub(path, p), k), ("resources.%s.%s %s is above resources.max.%s %s"):format(
          p, k, fmt(val), k, fmt(hi)))
      end
    end
  end
  return r
end

local function jvm(v, path)
  if v == true then return {} end
  want_map(v, path)
  check_keys(v, { heap_ratio = 1 }, path, "jvm")
  local r = v.heap_ratio
  if r ~= nil and (type(r) ~= "number" or r <= 0 or r >= 1) then
    fail(sub(path, "heap_ratio"), "'jvm.heap_ratio' must be a number between 0 and 1")
  end
  return { heap_ratio = r }
end

local function image(v, path)
  want_string(v, path)
  local okn, why = names.image(v)
  if not okn then fail(path, ("image %s %s"):format(names.quote(v), why)) end
  local name = v:gsub("@.*$", "")
  local tag = name:match(":([^/:]+)$")
  if not v:find("@", 1, true) and (tag == nil or tag == "latest") then
    fail(path, ("image '%s' must be pinned to a tag (not 'latest')"):format(v))
  end
  return v
end

local function env(v, path)
  if type(v) == "function" then return v end
  want_map(v, path)
  for k, val in pairs(v) do
    if not names.env(k) then
      fail(sub(path, k), ("environment variable name %s %s"):format(names.quote(k), names.RULES.env))
    end
    local t = type(val)
    if t ~= "string" and t ~= "number" and t ~= "boolean" then
      type_error(sub(path, k), "a string, number or boolean", val)
    end
    if t == "string" and not names.utf8(val) then
      fail(sub(path, k), ("'%s' %s"):format(path_text(sub(path, k)), names.RULES.utf8))
    end
  end
  return v
end

local function user(v, path)
  if type(v) == "number" then return tostring(v) end
  return want_string(v, path)
end

-- What `docker run` grants without --cap-add: containers start with none
-- (CapDrop ALL) and a recipe may add back only these.  The rest (SYS_ADMIN,
-- SYS_PTRACE, SYS_MODULE, NET_ADMIN, BPF, DAC_READ_SEARCH, ...) reach the
-- host kernel or other processes; a cloned project must not ask for them.
M.CAPABILITIES = { "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
  "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT" }
local allowed_cap = {}
for _, c in ipairs(M.CAPABILITIES) do allowed_cap[c] = true end

local function capabilities(v, path)
  local caps = want_string_list(v, path)
  for i, c in ipairs(caps) do
    if not c:match("^[A-Z_]+$") then
      fail(sub(path, i), ("capability '%s' must be a name like NET_BIND_SERVICE"):format(c))
    end
    if not allowed_cap[c] then
      fail(sub(path, i), ("capability '%s' is not one a container gets by default; a recipe may add only: %s")
        :format(c, table.concat(M.CAPABILITIES, ", ")))
    end
  end
  return caps
end

-- smoke = { exec = argv | "script" | function(s), expect = "text", timeout = "60s" }:
-- a short real use of the service, run in this component's container by
-- `deloc smoke`; it passes when it exits 0 (and prints `expect`, if given).
local function smoke(v, path)
  want_map(v, path)
  check_keys(v, { exec = 1, expect = 1, timeout = 1 }, path, "smoke")
  if v.exec == nil then fail(path, "smoke needs 'exec' (the command to run)") end
  return {
    exec = want_argv(v.exec, sub(path, "exec"), true),
    expect = v.expect ~= nil and want_string(v.expect, sub(path, "expect")) or nil,
    timeout = v.timeout ~= nil and want_duration(v.timeout, sub(path, "timeout")) or 60,
  }
end

-- build = { context = DIR, dockerfile = FILE, target = STAGE }: the image is
-- built from the project's own files (DIR relative to the project directory,
-- inside it; FILE relative to DIR), up to the named stage if one is given.
function M.build_def(v, path)
  want_map(v, path)
  check_keys(v, { context = 1, dockerfile = 1, target = 1 }, path, "build")
  local out = { context = v.context ~= nil and want_string(v.context, sub(path, "context")) or ".",
    dockerfile = v.dockerfile ~= nil and want_string(v.dockerfile, sub(path, "dockerfile")) or "Dockerfile" }
  if v.target ~= nil then
    out.target = want_string(v.target, sub(path, "target"))
    -- a Dockerfile stage name (FROM ... AS name): what the builder accepts
    if not out.target:match("^[%a][%w_.%-]*$") or #out.target > 128 then
      fail(sub(path, "target"), ("build.target '%s' is not a stage name (letters, digits, '_', '.', '-')")
        :format(out.target))
    end
  end
  for _, k in ipairs({ "context", "dockerfile" }) do
    local bad = out[k]:sub(1, 1) == "/" or ("/" .. out[k] .. "/"):find("/../", 1, true)
    if bad or out[k] == "" then
      fail(sub(path, k), ("build.%s '%s' must be a path inside the project (relative, without '..')"):format(k, out[k]))
    end
  end
  return out
end

-- Keys a component may set; `inherit` marks those it takes from the recipe.
local component_fields = {
  image = { image, inherit = true },
  build = { function(v, p) return M.build_def(v, p) end, inherit = true },
  command = { function(v, p) return want_argv(v, p, true) end },
  entrypoint = { function(v, p) return want_argv(v, p, true) end },
  env = { env, inherit = true },
  ports = { ports },
  volumes = { volumes },
  mounts = { content_points, inherit = true },
  tmpfs = { function(v, p)
    local l = want_string_list(v, p)
    for i, s in ipairs(l) do want_abs_path(s, sub(p, i)) end
    return l
  end, inherit = true },
  health = { health },
  smoke = { smoke },
  resources = { resources, inherit = true },
  jvm = { jvm, inherit = true },
  user = { user, inherit = true },
  read_only = { want_bool, inherit = true },
  capabilities = { capabilities, inherit = true },
  restricted = { want_bool, inherit = true },
  restricted_reason = { want_string, inherit = true },
  depends_on = { want_string_list },
  replicas = { function(v, p) return want_integer(v, p, 0, 1000) end },
  scalable = { want_bool },
  oneshot = { want_bool },
  enabled = { function(v, p)
    if type(v) ~= "function" then want_bool(v, p) end
    return v
  end },
  description = { want_string },
}

local recipe_only = {
  description = 1, category = 1, options = 1, depends_on = 1, secrets = 1,
  backup = 1, connections = 1, components = 1, connect = 1, exports = 1,
}

local function options(v, path)
  want_map(v, path)
  local out = {}
  for name, o in pairs(v) do
    local op = sub(path, name)
    if not names.option(name) then
      fail(op, ("option name %s %s"):format(names.quote(name), names.RULES.option))
    end
    want_map(o, op)
    check_keys(o, { default = 1, choices = 1, description = 1 }, op, "option '" .. name .. "'")
    local r = { default = o.default, description = o.description }
    if o.description ~= nil then want_string(o.description, sub(op, "description")) end
    if o.choices ~= nil then
      r.choices = want_string_list(o.choices, sub(op, "choices"))
      local ok = false
      for _, c in ipairs(r.choices) do if c == o.default then ok = true end end
      if not ok then
        fail(sub(op, "default"), ("option '%s': default %s is not one of its choices"):format(
          name, tostring(o.default)))
      end
    end
    local t = type(o.default)
    if t ~= "string" and t ~= "number" and t ~= "boolean" then
      type_error(sub(op, "default"), "a string, number or boolean", o.default)
    end
    out[name] = r
  end
  return out
end

local function secrets(v, path)
  want_map(v, path)
  local out = {}
  for name, s in pairs(v) do
    local sp = sub(path, name)
    if not names.secret(name) then
      fail(sp, ("secret name %s %s"):format(names.quote(name), names.RULES.secret))
    end
    if s == true then s = {} end
    want_map(s, sp)
    check_keys(s, { length = 1 }, sp, "secret '" .. name .. "'")
    out[name] = { length = s.length and want_integer(s.length, sub(sp, "length"), 8, 4096) or 24 }
  end
  return out
end

local function component(name, def, path, shared)
  local c = { name = name }
  for k, v in pairs(def) do
    local f = component_fields[k]
    if f then
      c[k] = f[1](v, sub(path, k))
    end
  end
  for k, f in pairs(component_fields) do
    if f.inherit and c[k] == nil and shared[k] ~= nil then
      c[k] = shared[k]
    elseif k == "env" and c.env ~= nil and shared.env ~= nil then
      c.env = { shared.env, c.env } -- merged at plan time, the component's last
    end
  end
  if c.image == nil and not c.build then
    fail(path, ("component '%s' has no image (set 'image' on the recipe or the component)"):format(name))
  end
  c.ports = c.ports or {}
  c.volumes = c.volumes or {}
  c.mounts = c.mounts or {}
  c.tmpfs = c.tmpfs or {}
  c.capabilities = c.capabilities or {}
  c.depends_on = c.depends_on or {}
  c.resources = c.resources or { profiles = {}, min = {}, max = {} }
  if c.restricted == nil then c.restricted = true end
  if c.read_only == nil then c.read_only = false end
  if c.restricted == false and not c.restricted_reason then
    fail(sub(path, "restricted"), "'restricted = false' needs a 'restricted_reason'")
  end
  c.oneshot = c.oneshot or false
  c.scalable = c.scalable or false
  if c.replicas == nil then c.replicas = 1 end
  if c.oneshot and c.replicas ~= 1 then
    fail(sub(path, "replicas"), ("one-shot component '%s' runs exactly once (replicas = 1)"):format(name))
  end
  if c.enabled == nil then c.enabled = true end
  return c
end

local top_keys = {}
for k in pairs(component_fields) do top_keys[k] = 1 end
for k in pairs(recipe_only) do top_keys[k] = 1 end
top_keys.oneshot, top_keys.enabled = nil, nil

local per_component_only = { ports = 1, volumes = 1, health = 1, command = 1, entrypoint = 1,
  replicas = 1, scalable = 1, smoke = 1 }

local function build(name, def)
  local path = {}
  local ok, why = M.dns_label(name)
  if not ok then fail(path, ("recipe name %s %s"):format(names.quote(name), why)) end
  check_keys(def, top_keys, path, "recipe '" .. name .. "'")
  local r = { name = name }
  r.description = want_string(def.description, { "description" })
  if def.category ~= nil then
    want_string(def.category, { "category" })
    if not is_category[def.category] then
      fail({ "category" }, ("unknown category '%s'%s (one of: %s)"):format(def.category,
        hint(def.category, M.CATEGORIES), table.concat(M.CATEGORIES, ", ")))
    end
  end
  r.category = def.category or "other"
  r.options = def.options and options(def.options, { "options" }) or {}
  if type(def.depends_on) == "function" then
    r.depends_on = def.depends_on
  else
    r.depends_on = def.depends_on and want_string_list(def.depends_on, { "depends_on" }) or {}
  end
  r.secrets = def.secrets and secrets(def.secrets, { "secrets" }) or {}
  r.connections = def.connections and want_string_list(def.connections, { "connections" }) or {}
  r.exports = def.exports and exports(def.exports, { "exports" }) or {}
  if def.image ~= nil then r.image = image(def.image, { "image" }) end

  -- What components take from the recipe.
  local shared = {}
  if def.components ~= nil then
    for k, f in pairs(component_fields) do
      if f.inherit and def[k] ~= nil then shared[k] = f[1](def[k], { k }) end
    end
  end

  r.components = {}
  if def.components ~= nil then
    want_map(def.components, { "components" })
    if next(def.components) == nil then fail({ "components" }, "'components' is empty") end
    for k in pairs(per_component_only) do
      if def[k] ~= nil then
        fail({ k }, ("set '%s' on each component: the recipe has components"):format(k))
      end
    end
    for cname, cdef in pairs(def.components) do
      local cp = { "components", cname }
      local okn, whyn = M.dns_label(cname)
      if not okn then fail(cp, ("component name %s %s"):format(names.quote(cname), whyn)) end
      want_map(cdef, cp)
      check_keys(cdef, component_fields, cp, "component '" .. cname .. "'")
      r.components[cname] = component(cname, cdef, cp, shared)
    end
  else
    local single = {}
    for k in pairs(component_fields) do
      if not recipe_only[k] and def[k] ~= nil then single[k] = def[k] end
    end
    single.description = nil
    r.components[name] = component(name, single, {}, {})
  end

  r.component_names = {}
  for cname, c in pairs(r.components) do
    r.component_names[#r.component_names + 1] = cname
    for i, d in ipairs(c.depends_on) do
      if d == cname then
        fail({ "components", cname, "depends_on", i }, ("component '%s' depends on itself"):format(cname))
      end
    end
  end
  table.sort(r.component_names)

  if def.backup ~= nil then
    want_map(def.backup, { "backup" })
    check_keys(def.backup, { exec = 1, restore = 1, component = 1 }, { "backup" }, "backup")
    r.backup = {
      exec = want_argv(def.backup.exec, { "backup", "exec" }),
      restore = want_argv(def.backup.restore, { "backup", "restore" }),
      component = def.backup.component and want_string(def.backup.component, { "backup", "component" })
        or (r.components[name] and name or r.component_names[1]),
    }
    if not r.components[r.backup.component] then
      fail({ "backup", "component" }, ("backup names unknown component '%s'%s"):format(
        r.backup.component, hint(r.backup.component, r.component_names)))
    end
  end
  if def.connect ~= nil then r.connect = M.connect_def(def.connect, r, name) end
  return r
end

-- connect = { exec = ARGV, commands = { NAME = ARGV }, url = TEMPLATE,
--   component = NAME, description = TEXT }: how `deloc connect` opens the
-- service's own client (exec, run with a terminal, the user's arguments
-- appended; commands: named alternatives) or shows where to go (url).
function M.connect_def(v, r, name)
  local p = { "connect" }
  want_map(v, p)
  check_keys(v, { exec = 1, commands = 1, url = 1, component = 1, description = 1 }, p, "connect")
  local out = {
    exec = v.exec ~= nil and want_argv(v.exec, sub(p, "exec")) or nil,
    url = v.url ~= nil and want_string(v.url, sub(p, "url")) or nil,
    description = v.description ~= nil and want_string(v.description, sub(p, "description")) or nil,
    component = v.component ~= nil and want_string(v.component, sub(p, "component"))
      or (r.components[name] and name or r.component_names[1]),
    commands = {},
  }
  if v.commands ~= nil then
    want_map(v.commands, sub(p, "commands"))
    for cname, argv in pairs(v.commands) do
      out.commands[cname] = want_argv(argv, sub(sub(p, "commands"), cname))
    end
  end
  if not out.exec and not out.url and next(out.commands) == nil then
    fail(p, "connect needs exec, commands or url")
  end
  if not r.components[out.component] then
    fail(sub(p, "component"), ("connect names unknown component '%s'%s"):format(
      out.component, hint(out.component, r.component_names)))
  end
  return out
end

-- validate(name, def, where) -> recipe | nil, err; `where` = { path=, line=, text= }
function M.validate(name, def, where)
  where = where or {}
  local ok, r = pcall(build, name, def)
  if ok then
    r.path, r.line = where.path, where.line
    return r
  end
  if type(r) ~= "table" then error(r, 0) end -- our bug, not the recipe's
  local line = key_line(where.text or M.source_text(where.path), where.line, r.path)
  local loc = (where.path or ("recipe '" .. name .. "'")) .. (line and (":" .. line) or "")
  return nil, errors.new("CONFIG_INVALID", loc .. ": " .. r.msg, {
    context = { path = where.path, line = line, key = path_text(r.path) },
  })
end

-- run(fn, where) -> recipe | nil, err: runs a recipe chunk (already loaded)
-- in a fresh sandbox and validates what it declares.
local function run(fn, where)
  local declared, derr
  local recipe_env = environment(function(name, def, line)
    if declared then error("a recipe file declares one recipe", 2) end
    declared = { name = name, def = def, line = line }
    return declared
  end)
  setfenv(fn, recipe_env)
  jit.off(fn, true) -- count hooks only fire in the interpreter
  local ok, ret = bounded(fn)
  if not ok then
    local msg = tostring(ret)
    return nil, errors.new("CONFIG_INVALID", msg:find("^" .. (where.path or "\0"):gsub("%p", "%%%0"))
      and msg or ((where.path or "recipe") .. ": " .. msg))
  end
  if not declared then
    derr = ("%s: no recipe declared (write: return recipe \"NAME\" { ... })"):format(where.path or "recipe")
    return nil, errors.new("CONFIG_INVALID", derr)
  end
  if ret ~= nil and ret ~= declared then
    return nil, errors.new("CONFIG_INVALID",
      ("%s: the file must return the recipe (return recipe \"NAME\" { ... })"):format(where.path or "recipe"))
  end
  where.line = declared.line
  return M.validate(declared.name, declared.def, where)
end

-- load_string(text, path) -> recipe | nil, err  (text only, never bytecode)
function M.load_string(text, path)
  if text:sub(1, 1) == "\27" then
    return nil, errors.new("CONFIG_INVALID", path .. ": a compiled (binary) chunk; recipes load as text only")
  end
  local fn, err = load(text, "@" .. path, "t")
  if not fn then return nil, errors.new("CONFIG_INVALID", err) end
  return run(fn, { path = path, text = text })
end

-- load_file(path) -> recipe | nil, err
function M.load_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, errors.new("IO_ERROR", ("cannot read recipe '%s': %s"):format(path,
      (err or ""):gsub("^[^:]*: ", ""):lower()))
  end
  local text = f:read("*a")
  f:close()
  return M.load_string(text, path)
end

-- load_chunk(fn, path) -> recipe | nil, err: a built-in recipe's compiled
-- chunk; `path` names its source (the text, when readable, gives key lines).
function M.load_chunk(fn, path)
  local where = { path = path }
  return run(fn, where)
end

-- Adds source text for error lines when the source file can be read.
function M.source_text(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local t = f:read("*a")
  f:close()
  return t
end

return M
