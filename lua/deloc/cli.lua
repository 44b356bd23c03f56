-- deloc.cli: the command line.  Commands are modules under deloc.commands.*,
-- each returning { name=, aliases=, usage=, summary=, help=, options=, run= };
-- they match by exact name, alias, or unique prefix (as git and tmux do).
local host = require("deloc.native.host")
local args = require("deloc.args")
local errors = require("deloc.errors")
local suggest = require("deloc.suggest")

-- The model asks the drivers for a target's traits through the registry
-- (deloc.plan.traits; it may not require a driver itself).
require("deloc.targets").wire()

local M = {}

-- Options every command understands.
M.global_options = {
  { "file", "f", arg = "FILE", help = "project file (default: ./deloc.yaml)" },
  { "json", help = "print machine-readable JSON" },
  { "color", help = "colour output (default: on a terminal without NO_COLOR)" },
  { "verbose", "v", help = "more detail; tracebacks on internal errors" },
  { "help", "h", help = "show help for the command" },
}

local commands_cache

-- All commands, sorted by their `order` then name.
function M.commands()
  if commands_cache then return commands_cache end
  local list = {}
  for _, mod in ipairs(host.modules("deloc.commands.")) do
    local c = require(mod)
    if c.name then c = { c } end
    for _, cmd in ipairs(c) do list[#list + 1] = cmd end
  end
  table.sort(list, function(a, b)
    local oa, ob = a.order or 100, b.order or 100
    if oa ~= ob then return oa < ob end
    return a.name < b.name
  end)
  commands_cache = list
  return list
end

-- find(name) -> command | nil, err (unknown or ambiguous, exit 2)
function M.find(name)
  -- The common case, an exact name, loads only that command's module, so
  -- `deloc version` does not pay for the planner or the Docker driver.
  if name:match("^[%w-]+$") and package.preload["deloc.commands." .. name] then
    local c = require("deloc.commands." .. name)
    if c.name then c = { c } end
    for _, cmd in ipairs(c) do
      if cmd.name == name then return cmd end
    end
  end
  local prefix_matches = {}
  local names = {}
  for _, c in ipairs(M.commands()) do
    names[#names + 1] = c.name
    if c.name == name then return c end
    for _, a in ipairs(c.aliases or {}) do
      if a == name then return c end
    end
    if c.name:sub(1, #name) == name then prefix_matches[#prefix_matches + 1] = c end
  end
  if #prefix_matches == 1 then return prefix_matches[1] end
  if #prefix_matches > 1 then
    local ns = {}
    for _, c in ipairs(prefix_matches) do ns[#ns + 1] = c.name end
    table.sort(ns)
    return nil, errors.new("USAGE", ("ambiguous command '%s': could be %s"):format(
      name, table.concat(ns, ", ")))
  end
  local c = suggest.closest(name, names)
  return nil, errors.new("USAGE", ("unknown command '%s'"):format(name), {
    hint = c and ("did you mean 'deloc " .. c .. "'? ('deloc help' lists the commands)")
      or "'deloc help' lists the commands",
  })
end

-- The command's own options, then the global ones it does not redefine:
-- a command may not give a global short flag another meaning (spec/flags_spec.lua).
function M.options_of(cmd)
  local all, long, short = {}, {}, {}
  for _, o in ipairs(cmd.options or {}) do
    all[#all + 1] = o
    long[o[1]] = true
    if o[2] then short[o[2]] = true end
  end
  if not cmd.raw_args then
    for _, o in ipairs(M.global_options) do
      if not long[o[1]] then
        if o[2] and short[o[2]] then
          all[#all + 1] = { o[1], arg = o.arg, help = o.help, many = o.many }
        else
          all[#all + 1] = o
        end
      end
    end
  end
  return all
end

function M.help_text(cmd)
  if cmd then
    local parts = { "usage: " .. cmd.usage, "", cmd.summary }
    if cmd.help then parts[#parts + 1] = "\n" .. cmd.help end
    local options = M.options_of(cmd)
    if #options > 0 then
      parts[#parts + 1] = "\noptions:\n" .. args.describe(options)
    end
    if cmd.aliases then
      parts[#parts + 1] = "\naliases: " .. table.concat(cmd.aliases, ", ")
    end
    return table.concat(parts, "\n") .. "\n"
  end
  local lines = {
    "usage: deloc [-e CODE] [-v] COMMAND [ARGS...]",
    "",
    "deloc stands up a data-engineering stack on this machine (Docker) or a",
    "cluster (Kubernetes), sized to the resources really there.",
    "",
    "commands:",
  }
  local width = 0
  for _, c in ipairs(M.commands()) do
    if #c.name > width and not c.hidden then width = #c.name end
  end
  for _, c in ipairs(M.commands()) do
    if not c.hidden then
      lines[#lines + 1] = ("  %-" .. width .. "s  %s"):format(c.name, c.summary)
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "  -e CODE    run a Lua chunk with deloc loaded"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Commands match by unique prefix. 'deloc help COMMAND' tells more."
  return table.concat(lines, "\n") .. "\n"
end

-- Prints an error the one readable way; --json prints the table instead.
function M.report(err, json)
  if json then
    io.stdout:write(require("cjson").encode({ error = errors.data(err) }), "\n")
    return
  end
  local e = errors.is(err) and err or { message = tostring(err) }
  local escape = require("deloc.term").escape -- messages quote recipes, files, the engine
  io.stderr:write("deloc: ", escape(e.message, true), "\n")
  if e.hint then io.stderr:write("hint: ", escape(e.hint, true), "\n") end
end

local function debug_on(opts)
  local d = os.getenv("DELOC_DEBUG")
  return (opts and opts.verbose) or (d and d ~= "" and d ~= "0")
end

-- `error()` with no value (busted's way to exit non-zero under Lua 5.1):
-- fail quietly, as the lua interpreter does.
local SILENT = setmetatable({}, { __tostring = function() return "" end })

-- Runs fn under xpcall: error tables are expected failures; anything else is a bug.
function M.protect(fn, opts, ...)
  local n = select("#", ...)
  local params = { ... }
  local ok, a, b = xpcall(function() return fn(unpack(params, 1, n)) end, function(e)
    if errors.is(e) then return e end
    if e == nil then return SILENT end
    if type(e) == "string" and e:match("interrupted$") then
      return errors.new("INTERRUPTED", "interrupted")
    end
    if debug_on(opts) then return debug.traceback(tostring(e), 2) end
    return tostring(e)
  end)
  if not ok then return nil, a end
  return a, b
end

local function exit_status(result, err, json)
  if err == SILENT then return 1 end
  if err ~= nil then
    M.report(err, json)
    return errors.exit_code(err)
  end
  if type(result) == "number" then return result end
  return 0
end

local function run_chunks(argv)
  -- deloc -e CODE [-e CODE ...] [COMMAND ...]
  local i = 1
  local chunks = {}
  local verbose = false
  while argv[i] == "-e" or argv[i] == "-v" do
    if argv[i] == "-v" then
      verbose = true
      i = i + 1
    else
      if argv[i + 1] == nil then
        return nil, errors.new("USAGE", "option '-e' needs a value (CODE)"), i
      end
      chunks[#chunks + 1] = argv[i + 1]
      i = i + 2
    end
  end
  return chunks, verbose, i
end

function M.main(argv)
  local chunks, verbose, i = run_chunks(argv)
  if not chunks then return exit_status(nil, verbose) end
  if #chunks > 0 then
    local run = require("deloc.run")
    for _, code in ipairs(chunks) do
      local _, err = M.protect(run.chunk, { verbose = verbose }, code, argv, i)
      if err then return exit_status(nil, err) end
    end
    if argv[i] == nil then return 0 end
  end
  -- Global options may come before the command too: deloc -f x.yaml status
  local pre = {}
  while argv[i] and argv[i]:sub(1, 1) == "-" and argv[i] ~= "-" and argv[i] ~= "--help"
    and argv[i] ~= "-h" and argv[i] ~= "--version" do
    local opts, rest_or_err = args.parse({ argv[i], argv[i + 1] }, M.global_options, 1, true)
    if not opts then return exit_status(nil, rest_or_err) end
    local used = (#rest_or_err == 0 and argv[i + 1] ~= nil) and 2 or 1
    for k, v in pairs(opts) do pre[k] = v end
    i = i + used
  end
  local name = argv[i]
  if name == nil or name == "--help" or name == "-h" then
    io.stdout:write(M.help_text())
    return 0
  end
  if name == "--version" then name = "version" end
  local cmd, err = M.find(name)
  if not cmd then return exit_status(nil, err) end
  local opts, rest
  if cmd.raw_args then
    opts, rest = {}, {}
    for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
  else
    opts, rest = args.parse(argv, M.options_of(cmd), i + 1)
    if not opts then
      rest.hint = rest.hint or ("see 'deloc help " .. cmd.name .. "'")
      return exit_status(nil, rest)
    end
  end
  for k, v in pairs(pre) do
    if opts[k] == nil then opts[k] = v end
  end
  opts.verbose = opts.verbose or verbose
  if opts.help then
    io.stdout:write(M.help_text(cmd))
    return 0
  end
  local result, rerr = M.protect(cmd.run, opts, opts, rest, { argv = argv, index = i })
  return exit_status(result, rerr, opts.json)
end

return M
