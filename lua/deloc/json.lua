-- deloc.json: JSON through lua-cjson, with the two things Debian's lua-cjson
-- 2.1.0 does not do: `[]` for an empty array (tables marked with deloc.array,
-- see vendor/lua-cjson.md) and deterministic output (keys sorted), so plans,
-- state files and --json output are byte-stable.
--
--   json.encode(value [, {indent = true}]) -> string | nil, err
--   json.decode(text) -> value | nil, err      (JSON null is json.null)
local cjson = require("cjson")
local cjson_safe = require("cjson.safe")
local array = require("deloc.array")

local M = {}

M.null = cjson.null
M.array = array.of

local encode_string = cjson.encode
local find, format = string.find, string.format
local concat, sort = table.concat, table.sort

local function string_literal(s)
  -- most strings need no escape: quoted as they are, no call into cjson
  if not find(s, '[%c"\\/\127-\255]') then return '"' .. s .. '"' end
  -- cjson escapes '/' as '\/'; both are valid, the plain one reads better.
  return (encode_string(s):gsub("\\/", "/"))
end

local function number_literal(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error("cannot encode " .. tostring(n) .. " as JSON", 0)
  end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then
    return format("%d", n)
  end
  -- the shortest form that reads back as the same number (0.15, not 0.14999999999999999)
  for digits = 15, 16 do
    local s = format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
  return format("%.17g", n)
end

local function is_sequence(t)
  if array.is(t) then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function by_string(a, b) return tostring(a) < tostring(b) end

-- the keys of a mapping, sorted as strings (a plain sort when all are strings)
local function sorted_keys(v)
  local keys, n, plain = {}, 0, true
  for k in pairs(v) do
    local tk = type(k)
    if tk ~= "string" then
      if tk ~= "number" then error("cannot encode a " .. tk .. " key as JSON", 0) end
      plain = false
    end
    n = n + 1
    keys[n] = k
  end
  if plain then sort(keys) else sort(keys, by_string) end
  return keys, n
end

-- The encoder's state: the output pieces, their count, the indent strings
-- by depth and the tables being encoded (a cycle is an error).
local function encoder(indent)
  local out, n, seen = {}, 0, {}
  -- keys and many values repeat: each string is made a literal once
  local literal = setmetatable({}, { __index = function(t, s)
    local l = string_literal(s)
    t[s] = l
    return l
  end })
  local nls, closes = {}, {}
  local colon = indent and ": " or ":"
  local function nl(depth)
    if not indent then return "" end
    local s = nls[depth]
    if not s then s = "\n" .. indent:rep(depth + 1); nls[depth] = s end
    return s
  end
  local function close(depth)
    if not indent then return "" end
    local s = closes[depth]
    if not s then s = "\n" .. indent:rep(depth); closes[depth] = s end
    return s
  end
  local encode
  local function sequence(v, depth)
    local len = #v
    if len == 0 then n = n + 1; out[n] = "[]"; return end
    local sep = nl(depth)
    n = n + 1; out[n] = "["
    for i = 1, len do
      if i > 1 then n = n + 1; out[n] = "," end
      n = n + 1; out[n] = sep
      encode(v[i], depth + 1)
    end
    n = n + 1; out[n] = close(depth) .. "]"
  end
  local function mapping(v, depth)
    local keys, count = sorted_keys(v)
    if count == 0 then n = n + 1; out[n] = "{}"; return end
    local sep = nl(depth)
    n = n + 1; out[n] = "{"
    for i = 1, count do
      local k = keys[i]
      if i > 1 then n = n + 1; out[n] = "," end
      out[n + 1] = sep
      out[n + 2] = literal[type(k) == "string" and k or tostring(k)]
      out[n + 3] = colon
      n = n + 3
      encode(v[k], depth + 1)
    end
    n = n + 1; out[n] = close(depth) .. "}"
  end
  function encode(v, depth)
    local t = type(v)
    if t == "string" then
      n = n + 1; out[n] = literal[v]
    elseif t == "number" then
      n = n + 1; out[n] = number_literal(v)
    elseif t == "boolean" then
      n = n + 1; out[n] = v and "true" or "false"
    elseif v == nil or v == M.null then
      n = n + 1; out[n] = "null"
    elseif t == "table" then
      if seen[v] then error("cannot encode a table that contains itself", 0) end
      if depth > 200 then error("cannot encode: nesting deeper than 200", 0) end
      seen[v] = true
      if is_sequence(v) then sequence(v, depth) else mapping(v, depth) end
      seen[v] = nil
    else
      error("cannot encode a " .. t .. " as JSON", 0)
    end
  end
  return encode, function() return concat(out, "", 1, n) end
end

-- The same encoder in C (deloc.native.json): what `deloc plan --json` and
-- every state file use.  The Lua one above stays as its specification and
-- for a binary without it.
local ok_native, native = pcall(require, "deloc.native.json")
local native_encode = ok_native and native.encode or nil

function M.encode(value, opts)
  local indent = opts and opts.indent
  if native_encode then return native_encode(value, indent, M.null, array.metatable) end
  local encode, text = encoder(indent and "  " or nil)
  local ok, err = pcall(encode, value, 0)
  if not ok then return nil, err end
  return text()
end

-- decode(text) -> value | nil, "invalid JSON: ..."
function M.decode(text)
  local v, err = cjson_safe.decode(text)
  if v == nil and err then return nil, "invalid JSON: " .. err end
  return v
end

return M
