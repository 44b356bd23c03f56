-- luacheck (Debian: apt-get install lua-check): luacheck lua adapters recipes spec
-- The framework and adapters run in the binary's LuaJIT; no globals at all.
std = "luajit"
max_line_length = false

-- Specs run under busted inside the binary.
files["spec"] = { std = "+busted" }

-- Recipes run sandboxed (lua/deloc/recipe.lua `environment`): only these
-- names exist there, so a recipe that uses anything else fails at load.
stds.recipe = {
  read_globals = {
    "recipe", "string", "table", "math", "pairs", "ipairs", "next", "select", "type",
    "tostring", "tonumber", "unpack", "error", "assert",
  },
}
files["recipes"] = { std = "recipe" }
files["spec/fixtures/**/recipes/*.lua"] = { std = "recipe" }
files["spec/fixtures/model"] = { std = "recipe" }
