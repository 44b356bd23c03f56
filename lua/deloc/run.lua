-- deloc.run: `deloc run FILE [ARGS...]` and `deloc -e CODE`: user Lua loaded as
-- text into a strict environment with `deloc` available and `arg` set as the
-- `lua` interpreter sets it (so `deloc run /usr/bin/busted spec` works).
local sandbox = require("deloc.sandbox")
local errors = require("deloc.errors")

local M = {}

-- arg[0] is the script, arg[1..] its arguments, arg[-k] what came before.
local function make_arg(argv, script_index)
  local arg = {}
  for i = 0, #argv do
    arg[i - script_index] = argv[i]
  end
  return arg
end

local function environment(arg)
  local base = sandbox.user_base()
  base.arg = arg
  return sandbox.strict(base)
end

-- The program's own modules sit beside it: `require("helpers")` finds
-- helpers.lua (or helpers/init.lua) in the script's directory first.
local function beside(path)
  local dir = path:match("^(.*)/[^/]*$") or "."
  if dir == "" then dir = "/" end
  local add = dir .. "/?.lua;" .. dir .. "/?/init.lua;"
  if package.path:sub(1, #add) ~= add then package.path = add .. package.path end
end

-- file(path, argv, script_index) -> values returned by the program
function M.file(path, argv, script_index)
  local arg = make_arg(argv, script_index)
  beside(path)
  local fn, err = sandbox.loadfile(path, environment(arg))
  if not fn then
    if err:match("wrong mode") then
      return nil, errors.new("CONFIG_INVALID", ("cannot run '%s': it is a binary (bytecode) chunk; deloc runs Lua source only"):format(path))
    end
    if err:match("^cannot open") then
      return nil, errors.new("IO_ERROR", ("cannot run '%s': %s"):format(path,
        err:match(": (.*)$") or err))
    end
    return nil, errors.new("CONFIG_INVALID", err)
  end
  _G.arg = arg -- programs like busted read the real global, as under `lua`
  return fn(unpack(arg, 1, #arg))
end

-- chunk(code, argv, next_index) -> values returned by the chunk
function M.chunk(code, argv, next_index)
  local arg = make_arg(argv, (next_index or 1) - 1)
  local fn, err = sandbox.loadstring(code, "=(command line)", environment(arg))
  if not fn then
    return nil, errors.new("CONFIG_INVALID", err)
  end
  return fn()
end

return M
