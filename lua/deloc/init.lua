-- deloc: the whole API for `deloc run` programs and the REPL.  Submodules load
-- on first use, so `deloc version` pays for none of them.
--
--   deloc.sys.resources()      deloc.plan{ services = {"kafka"} }
--   deloc.yaml.load(text)      deloc.recipes()
local M = {}

-- name -> module; what `deloc.<TAB>` completes in the REPL.
local lazy = {
  sys = "deloc.sys",
  term = "deloc.term",
  dag = "deloc.dag",
  pack = "deloc.pack",
  yaml = "deloc.yaml",
  json = "deloc.json",
  array = "deloc.array",
  http = "deloc.http",
  sched = "deloc.sched",
  errors = "deloc.errors",
  inspect = "deloc.inspect",
  api = "deloc.api",
  generate = "deloc.generate",
}

-- Functions of deloc.api exposed at the top level (deloc.plan{...}, ...).
local api_functions = {
  "plan", "recipes", "resources", "up", "down", "status", "project", "env",
}

M.version = require("deloc.native.host").version()

-- The names completion offers before anything is loaded.
function M._names()
  local names = {}
  for k in pairs(lazy) do names[#names + 1] = k end
  for _, k in ipairs(api_functions) do names[#names + 1] = k end
  for k in pairs(M) do names[#names + 1] = k end
  table.sort(names)
  return names
end

local is_api = {}
for _, k in ipairs(api_functions) do is_api[k] = true end

return setmetatable(M, {
  __index = function(t, k)
    local mod = lazy[k]
    if mod then
      local v = require(mod)
      rawset(t, k, v)
      return v
    end
    if is_api[k] then
      local ok, api = pcall(require, "deloc.api")
      local v = ok and api[k] or nil
      if v ~= nil then rawset(t, k, v) end
      return v
    end
    return nil
  end,
})
