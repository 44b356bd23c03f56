-- deloc run FILE [ARGS...]
local run = require("deloc.run")
local errors = require("deloc.errors")

return {
  name = "run",
  order = 90,
  usage = "deloc run FILE.lua [ARGS...]",
  summary = "run a Lua program with deloc loaded",
  help = [[
The program is loaded as text into an environment with strict globals: reading
or assigning an unknown global is an error (use 'local'). `deloc` is the whole
API (deloc.plan, deloc.recipes, deloc.sys, ...); `arg` is set as lua sets it, so
`DELOC_TEST=1 deloc run /usr/bin/busted spec` runs busted inside deloc.]],
  raw_args = true,
  run = function(_, rest, ctx)
    if rest[1] == nil then
      return nil, errors.new("USAGE", "run needs a file", { hint = "deloc run FILE.lua [ARGS...]" })
    end
    local argv = ctx.argv
    local script_index = ctx.index + 1
    local result, err = run.file(rest[1], argv, script_index)
    if result == nil and errors.is(err) then return nil, err end
    if type(result) == "number" then return result end
    return 0
  end,
}
