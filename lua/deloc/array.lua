-- deloc.array: marks a table as a sequence, so that an empty one is written as
-- `[]` by both the JSON encoder and the YAML dumper.  Kubernetes and the Docker
-- Engine treat `{}` and `[]` differently (e.g. `"Cmd": []`, `containers: []`),
-- and an empty Lua table says neither; the marker decides.
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

return M
