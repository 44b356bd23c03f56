-- deloc.array: marks a table as a sequence, so that an empty one is written as
-- `[]` by both the JSON encoder and the YAML dumper.  Kubernetes and the Docker
-- Engine treat `{}` and `[]` differently (e.g. `"Cmd": []`, `containers: []`),
-- and an empty Lua table says neither; the marker decides.  Also the two
-- helpers every renderer of a plan (Docker, Compose, Kubernetes, Helm) needs
-- to write the same plan the same way every time.
local M = {}

local marker = { __deloc_array = true }

-- array.of(t) -> t, marked as a sequence (t defaults to a new table)
function M.of(t)
  return setmetatable(t or {}, marker)
end

-- array.is(t) -> true when t was marked
function M.is(t)
  return getmetatable(t) == marker
end

M.metatable = marker

-- array.strings(t) -> a new marked sequence of tostring(v) for each v of t
-- (t may be nil: an empty sequence)
function M.strings(t)
  local out = M.of({})
  for i, v in ipairs(t or {}) do out[i] = tostring(v) end
  return out
end

-- array.sorted_keys(t) -> the keys of t (may be nil) in a plain table, in
-- the order of their string forms: output never depends on pairs()
local function by_string(a, b) return tostring(a) < tostring(b) end

function M.sorted_keys(t)
  local keys, n, plain = {}, 0, true
  for k in pairs(t or {}) do
    n = n + 1
    keys[n] = k
    if plain and type(k) ~= "string" then plain = false end
  end
  -- all strings (the common case): the same order without a comparator
  if plain then table.sort(keys) else table.sort(keys, by_string) end
  return keys
end

return M
