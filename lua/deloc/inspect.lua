-- deloc.inspect: a readable, deterministic rendering of any Lua value, for the
-- REPL and debugging.  Keys are sorted (numbers first, then strings); arrays
-- print without their indices; cycles print as <cycle>; depth is bounded.
local M = {}

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    if ta == "number" then return true end
    if tb == "number" then return false end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function scalar(v)
  local t = type(v)
  if t == "string" then
    return (("%q"):format(v):gsub("\\\n", "\\n"))
  elseif t == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then
      return ("%d"):format(v)
    end
    return ("%.14g"):format(v)
  end
  return tostring(v)
end

local function render(v, indent, depth, seen, opts, out)
  if type(v) ~= "table" then
    out[#out + 1] = scalar(v)
    return
  end
  local mt = getmetatable(v)
  if mt and mt.__tostring and not opts.raw then
    out[#out + 1] = tostring(v)
    return
  end
  if seen[v] then
    out[#out + 1] = "<cycle>"
    return
  end
  if depth >= opts.depth then
    out[#out + 1] = "{...}"
    return
  end
  seen[v] = true
  local n = #v
  local keys = {}
  for k in pairs(v) do
    if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then
      keys[#keys + 1] = k
    end
  end
  table.sort(keys, key_less)
  if n == 0 and #keys == 0 then
    out[#out + 1] = "{}"
    seen[v] = nil
    return
  end
  local inner = indent .. "  "
  out[#out + 1] = "{\n"
  for i = 1, n do
    out[#out + 1] = inner
    render(v[i], inner, depth + 1, seen, opts, out)
    out[#out + 1] = ",\n"
  end
  for _, k in ipairs(keys) do
    out[#out + 1] = inner
    if is_identifier(k) then
      out[#out + 1] = k
    else
      out[#out + 1] = "["
      out[#out + 1] = scalar(k)
      out[#out + 1] = "]"
    end
    out[#out + 1] = " = "
    render(v[k], inner, depth + 1, seen, opts, out)
    out[#out + 1] = ",\n"
  end
  out[#out + 1] = indent .. "}"
  seen[v] = nil
end

-- inspect(value [, {depth = 8, raw = false}]) -> string
function M.inspect(value, opts)
  opts = opts or {}
  opts.depth = opts.depth or 8
  local out = {}
  render(value, "", 0, {}, opts, out)
  return table.concat(out)
end

return setmetatable(M, { __call = function(_, ...) return M.inspect(...) end })
