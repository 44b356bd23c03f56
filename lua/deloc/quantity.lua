-- deloc.quantity: the one place resource quantities are read and written.
--
--   quantity.memory("512Mi") --> 536870912       quantity.memory("1G") --> 1e9
--   quantity.cpu("500m")     --> 0.5             quantity.cpu(2)      --> 2
--   quantity.duration("5s")  --> 5               quantity.duration("250ms") --> 0.25
--   quantity.memory("lots")  --> nil, "invalid memory 'lots' (accepted: ...)"
--
-- Memory and disk: a plain number of bytes, or a number with a binary suffix
-- (Ki Mi Gi Ti) or a decimal one (K k M G T), as Kubernetes writes them.  CPU:
-- cores as a number or a string (`0.5`, `2`), or millicores (`500m`).
-- Durations: a number of seconds, or `250ms`, `5s`, `1m`, `2h`, and sums like
-- `1m30s`.  Each parser returns the value or nil and a message that shows
-- the accepted forms; none raises.
local M = {}

local memory_units = {
  [""] = 1,
  Ki = 1024, Mi = 1024 ^ 2, Gi = 1024 ^ 3, Ti = 1024 ^ 4,
  K = 1e3, k = 1e3, M = 1e6, G = 1e9, T = 1e12,
}

M.MEMORY_FORMS = "bytes as a number, or 512Mi, 1Gi, 1G, 500M, 1024Ki"
M.CPU_FORMS = "cores as 0.5, 2, or millicores as 500m"
M.DURATION_FORMS = "seconds as a number, or 250ms, 5s, 1m, 1m30s, 2h"

local function describe(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

-- memory(v) -> bytes | nil, err
function M.memory(v, what)
  what = what or "memory"
  if type(v) == "number" then
    if v >= 0 and v < math.huge and v == math.floor(v) then return v end
  elseif type(v) == "string" then
    local num, unit = v:match("^%s*(%d+%.?%d*)%s*(%a*)%s*$")
    if not num then num, unit = v:match("^%s*(%.%d+)%s*(%a*)%s*$") end
    local mult = unit and memory_units[unit]
    if num and mult then
      return math.floor(tonumber(num) * mult + 0.5)
    end
  end
  return nil, ("invalid %s %s (accepted: %s)"):format(what, describe(v), M.MEMORY_FORMS)
end

-- cpu(v) -> cores | nil, err
function M.cpu(v)
  local n
  if type(v) == "number" then
    n = v
  elseif type(v) == "string" then
    local milli = v:match("^%s*(%d+)m%s*$")
    if milli then
      n = tonumber(milli) / 1000
    elseif v:match("^%s*%d*%.?%d+%s*$") or v:match("^%s*%d+%.%s*$") then
      n = tonumber(v)
    end
  end
  if n and n > 0 and n < math.huge then
    return n
  end
  return nil, ("invalid cpu %s (accepted: %s)"):format(describe(v), M.CPU_FORMS)
end

local duration_units = { ms = 0.001, s = 1, m = 60, h = 3600 }

-- duration(v) -> seconds | nil, err
function M.duration(v)
  if type(v) == "number" then
    if v >= 0 and v < math.huge then return v end
  elseif type(v) == "string" and v:match("%S") then
    local total, pos, s = 0, 1, v:match("^%s*(.-)%s*$")
    while pos <= #s do
      local num, unit, nxt = s:match("^(%d+%.?%d*)(%a+)()", pos)
      local mult = unit and duration_units[unit]
      if not mult then total = nil; break end
      total = total + tonumber(num) * mult
      pos = nxt
    end
    if total then return total end
  end
  return nil, ("invalid duration %s (accepted: %s)"):format(describe(v), M.DURATION_FORMS)
end

-- format_memory(bytes) -> "512Mi", "1.5Gi", "100M"-free binary text for humans
function M.format_memory(bytes)
  if bytes == nil then return "-" end
  local units = { { "Ti", 1024 ^ 4 }, { "Gi", 1024 ^ 3 }, { "Mi", 1024 ^ 2 }, { "Ki", 1024 } }
  for _, u in ipairs(units) do
    if bytes >= u[2] then
      local n = bytes / u[2]
      if n == math.floor(n) then return ("%d%s"):format(n, u[1]) end
      if n >= 100 then return ("%d%s"):format(math.floor(n + 0.5), u[1]) end
      return (("%.1f"):format(n):gsub("%.0$", "")) .. u[1]
    end
  end
  return tostring(math.floor(bytes))
end

-- format_cpu(cores) -> "0.5", "2", "0.25"
function M.format_cpu(cores)
  if cores == nil then return "-" end
  if cores == math.floor(cores) then return ("%d"):format(cores) end
  local s = ("%.2f"):format(cores):gsub("0+$", "")
  return s
end

return M
