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
local function string_literal(s)
  -- cjson escapes '/' as '\/'; both are valid, the plain one reads better.
  return (encode_string(s):gsub("\\/", "/"))
end

local function number_literal(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error("cannot encode " .. tostring(n) .. " as JSON", 0)
  end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then
    return ("%d"):format(n)
  end
  -- the shortest form that reads back as the same number (0.15, not 0.14999999999999999)
  for digits = 15, 16 do
    local s = ("%." .. digits .. "g"):format(n)
    if tonumber(s) == n then return s end
  end
  return ("%.17g"):format(n)
end

local function is_sequence(t)
  if array.is(t) then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function encode(v, out, indent, depth, seen)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = string_literal(v)
  elseif t == "number" then
    out[#out + 1] = number_literal(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif t == "table" then
    if seen[v] then error("cannot encode a table that contains itself", 0) end
    if depth > 200 then error("cannot encode: nesting deeper than 200", 0) end
    seen[v] = true
    local nl = indent and ("\n" .. indent:rep(depth + 1)) or ""
    local close = indent and ("\n" .. indent:rep(depth)) or ""
    local colon = indent and ": " or ":"
    if is_sequence(v) then
      if #v == 0 then
        out[#out + 1] = "[]"
      else
        out[#out + 1] = "["
        for i = 1, #v do
          if i > 1 then out[#out + 1] = "," end
          out[#out + 1] = nl
          encode(v[i], out, indent, depth + 1, seen)
        end
        out[#out + 1] = close .. "]"
      end
    else
      local keys = {}
      for k in pairs(v) do
        local tk = type(k)
        if tk ~= "string" and tk ~= "number" then
          error("cannot encode a " .. tk .. " key as JSON", 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      if #keys == 0 then
        out[#out + 1] = "{}"
      else
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
          if i > 1 then out[#out + 1] = "," end
          out[#out + 1] = nl
          out[#out + 1] = string_literal(tostring(k))
          out[#out + 1] = colon
          encode(v[k], out, indent, depth + 1, seen)
        end
        out[#out + 1] = close .. "}"
      end
    end
    seen[v] = nil
  else
    error("cannot encode a " .. t .. " as JSON", 0)
  end
end

function M.encode(value, opts)
  local out = {}
  local indent = opts and opts.indent and "  " or nil
  local ok, err = pcall(encode, value, out, indent, 0, {})
  if not ok then return nil, err end
  return table.concat(out)
end

-- decode(text) -> value | nil, "invalid JSON: ..."
function M.decode(text)
  local v, err = cjson_safe.decode(text)
  if v == nil and err then return nil, "invalid JSON: " .. err end
  return v
end

return M
