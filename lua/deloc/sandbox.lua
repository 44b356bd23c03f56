-- deloc.sandbox: environments with strict globals for user code (`deloc run`
-- files, `-e` chunks, the REPL) and recipes.  Reading a global that does not
-- exist is an error that names it and suggests the closest known name; so is
-- creating one, unless the environment allows it (the REPL does).
local suggest = require("deloc.suggest")

local M = {}

local function known_names(env, base)
  local names = {}
  for k in pairs(env) do if type(k) == "string" then names[#names + 1] = k end end
  for k in pairs(base) do if type(k) == "string" then names[#names + 1] = k end end
  return names
end

-- strict(base, opts) -> env: names come from `base` (read-only fallback) and
-- from what the code defines; opts.allow_new_globals lets code create globals.
function M.strict(base, opts)
  opts = opts or {}
  local env = {}
  local mt = {}
  function mt.__index(t, k)
    local v = base[k]
    if v == nil then
      error(("unknown global '%s'%s"):format(tostring(k),
        suggest.hint(tostring(k), known_names(t, base))), 2)
    end
    return v
  end
  function mt.__newindex(t, k, v)
    if not opts.allow_new_globals and base[k] == nil then
      error(("assignment to undeclared global '%s' (use 'local %s')"):format(
        tostring(k), tostring(k)), 2)
    end
    rawset(t, k, v)
  end
  return setmetatable(env, mt)
end

-- The globals a user program sees: Lua's own plus `deloc`.
function M.user_base()
  local base = {}
  for k, v in pairs(_G) do base[k] = v end
  base._G = nil
  base.deloc = require("deloc")
  return base
end

-- Loads a file as text only (never bytecode) into `env`.
function M.loadfile(path, env)
  return loadfile(path, "t", env)
end

function M.loadstring(code, name, env)
  return load(code, name, "t", env)
end

return M
