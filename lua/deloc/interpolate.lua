-- deloc.interpolate: ${VAR} in deloc.yaml (and in Compose files being
-- imported), with Compose's rules, and the .env file beside them.
--
--   local s, err = interpolate.string("${PG_PORT:-5432}", lookup)
--   local env, err = interpolate.dotenv(text, ".env", lookup)  -- KEY=VALUE lines
--   local vars = interpolate.environment(dir)  -- the process environment over
--                                              -- <dir>/.env, as Compose reads them
--   local ok, err = interpolate.tree(doc, lookup, where)  -- every string value
--
-- Forms (as Compose's): $VAR and ${VAR}; ${VAR:-default} (unset or empty),
-- ${VAR-default} (unset); ${VAR:?message} and ${VAR?message} (an error);
-- ${VAR:+alt} and ${VAR+alt}; `$$` is a literal `$`.  A default may itself
-- hold ${...}.  An unset variable without a default is an error naming it:
-- Compose substitutes "" with a warning, but a silently empty password or
-- port is a worse surprise than an error.
-- Precedence: the process environment wins over .env (Compose's rule).
-- Only values are interpolated, never keys.  A value that was nothing but
-- substitutions and reads as a number or true/false becomes one, so
-- `port: ${PORT:-5433}` is still a number.
local errors = require("deloc.errors")

local M = {}

local NAME = "^[%a_][%w_]*"

-- string(s, lookup) -> result, substituted | nil, message
-- lookup(name) -> value | nil
function M.string(s, lookup)
  local out, i, n, did = {}, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if c ~= "$" then
      local j = s:find("$", i, true) or n + 1
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    elseif s:sub(i + 1, i + 1) == "$" then
      out[#out + 1] = "$"
      i = i + 2
    elseif s:sub(i + 1, i + 1) == "{" then
      local close, depth = nil, 1
      for k = i + 2, n do
        local ch = s:sub(k, k)
        if ch == "{" then depth = depth + 1
        elseif ch == "}" then
          depth = depth - 1
          if depth == 0 then close = k break end
        end
      end
      if not close then return nil, ("unclosed '${' in '%s'"):format(s) end
      local v, err = M.expression(s:sub(i + 2, close - 1), lookup)
      if not v then return nil, err end
      out[#out + 1] = v
      did = true
      i = close + 1
    else
      local name = s:match(NAME, i + 1)
      if name then
        local v = lookup(name)
        if v == nil then
          return nil, ("variable '%s' is not set and has no default"):format(name), name
        end
        out[#out + 1] = v
        did = true
        i = i + 1 + #name
      else
        out[#out + 1] = "$" -- a lone `$` stays, as in Compose
        i = i + 1
      end
    end
  end
  return table.concat(out), did
end

-- expression("VAR:-default", lookup) -> value | nil, message, name
function M.expression(expr, lookup)
  local name = expr:match(NAME)
  if not name then return nil, ("invalid substitution '${%s}'"):format(expr) end
  local op, arg = expr:sub(#name + 1):match("^(:?[-?+])(.*)$")
  if not op and #expr > #name then return nil, ("invalid substitution '${%s}'"):format(expr) end
  local v = lookup(name)
  if not op then
    if v == nil then return nil, ("variable '%s' is not set and has no default"):format(name), name end
    return v
  end
  local unset = v == nil or (op:sub(1, 1) == ":" and v == "")
  local kind = op:sub(-1)
  if kind == "-" then
    if not unset then return v end
    return (M.string(arg, lookup))
  elseif kind == "?" then
    if not unset then return v end
    return nil, ("variable '%s' is required: %s"):format(name, arg ~= "" and arg or "it is not set"), name
  end
  if unset then return "" end -- `+`: the alternative only when set
  return (M.string(arg, lookup))
end

-- The typed value of a scalar that was only substitutions.
local function typed(s)
  if s == "true" then return true end
  if s == "false" then return false end
  if s:match("^%-?%d+$") and #s < 16 then return tonumber(s) end
  if s:match("^%-?%d+%.%d+$") then return tonumber(s) end
  return s
end

-- tree(t, lookup, where) -> true | nil, err: interpolates every string value
-- in place; where(parent, key) -> "file:line:col: " for messages.
function M.tree(t, lookup, where, seen)
  seen = seen or {}
  if seen[t] then return true end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "string" and v:find("$", 1, true) then
      local r, did = M.string(v, lookup)
      if r == nil then
        return nil, errors.new("CONFIG_INVALID", where(t, k) .. did, {
          hint = "set it in the environment or in the .env file beside the project file" })
      end
      local only = did and v:match("^%${[^}]*}$") or v:match("^%$[%a_][%w_]*$")
      t[k] = only and typed(r) or r
    elseif type(v) == "table" then
      local ok, err = M.tree(v, lookup, where, seen)
      if not ok then return nil, err end
    end
  end
  return true
end

-- dotenv(text, name, lookup) -> { NAME = value } | nil, err
-- Lines `NAME=value`, `export NAME=value`, `# comments`; 'single quotes' are
-- literal, "double quotes" know \n \t \\ \" and ${...}; an unquoted value
-- ends at ` #` and has ${...} substituted (from lookup, then the lines above).
function M.dotenv(text, name, lookup)
  local vars = {}
  local function look(k)
    local v = lookup and lookup(k)
    if v ~= nil then return v end
    return vars[k]
  end
  local lineno = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    local body = line:gsub("^%s+", "")
    if body ~= "" and body:sub(1, 1) ~= "#" then
      body = body:gsub("^export%s+", "")
      local key, rest = body:match("^([%a_][%w_.]*)%s*=%s*(.*)$")
      if not key then
        return nil, errors.new("CONFIG_INVALID", ("%s:%d: expected NAME=value"):format(name, lineno))
      end
      local value
      local q = rest:sub(1, 1)
      if q == "'" then
        value = rest:match("^'(.-)'")
        if not value then
          return nil, errors.new("CONFIG_INVALID", ("%s:%d: unclosed single quote"):format(name, lineno))
        end
      elseif q == '"' then
        local raw = rest:match('^"(.-[^\\])"') or rest:match('^"()"') and ""
        if not raw then
          return nil, errors.new("CONFIG_INVALID", ("%s:%d: unclosed double quote"):format(name, lineno))
        end
        raw = raw:gsub("\\(.)", function(ch)
          return ({ n = "\n", t = "\t", r = "\r" })[ch] or ch
        end)
        value = raw
      else
        value = rest:gsub("%s+#.*$", ""):gsub("%s+$", "")
      end
      if q ~= "'" then
        local r, msg = M.string(value, look)
        if not r then
          return nil, errors.new("CONFIG_INVALID", ("%s:%d: %s"):format(name, lineno, msg))
        end
        value = r
      end
      vars[key] = value
    end
  end
  return vars
end

-- environment(dir [, environ]) -> lookup, dotenv_path | nil, err
-- The process environment first, then <dir>/.env (Compose's precedence).
function M.environment(dir, environ)
  environ = environ or require("deloc.sys").environ()
  local path = (dir or ".") .. "/.env"
  local f = io.open(path, "rb")
  local file_vars = {}
  if f then
    local text = f:read("*a")
    f:close()
    local vars, err = M.dotenv(text, path, function(k) return environ[k] end)
    if not vars then return nil, err end
    file_vars = vars
  end
  return function(k)
    local v = environ[k]
    if v ~= nil then return v end
    return file_vars[k]
  end, f and path or nil
end

return M
