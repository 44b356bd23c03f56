-- deloc.repl: an interactive Lua prompt with deloc loaded, after lua.c:
-- `1+1` prints 2 (the line is tried as `return <line>` first), a chunk that is
-- not complete keeps reading, results are pretty-printed, errors print and the
-- prompt stays.  On a terminal: libedit line editing, history under
-- $XDG_STATE_HOME/deloc/, tab completion of dotted names, Ctrl-C clears the line
-- or interrupts running code, Ctrl-D leaves.  From a pipe: statements in, results out.
local host = require("deloc.native.host")
local sandbox = require("deloc.sandbox")
local inspect = require("deloc.inspect")

local M = {}

local keywords = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while",
}

local function history_path()
  local sys = require("deloc.sys")
  local state = os.getenv("XDG_STATE_HOME")
  if not state or state == "" then
    local home = os.getenv("HOME")
    if not home or home == "" then return nil end
    state = home .. "/.local/state"
  end
  local dir = state .. "/deloc"
  if not sys.mkdir_p(dir, tonumber("700", 8)) then return nil end
  return dir .. "/history"
end

-- Looks a name up without tripping strict globals or lazy loaders' errors.
local function lookup(env, base, path)
  local v
  for i, part in ipairs(path) do
    if i == 1 then
      v = rawget(env, part)
      if v == nil then v = base[part] end
    elseif type(v) == "table" then
      local ok, r = pcall(function() return v[part] end)
      v = ok and r or nil
    else
      return nil
    end
  end
  return v
end

local function keys_of(t)
  local names = {}
  if type(t) ~= "table" then return names end
  if type(rawget(t, "_names")) == "function" then
    for _, k in ipairs(t._names()) do names[#names + 1] = k end
  end
  for k in pairs(t) do
    if type(k) == "string" then names[#names + 1] = k end
  end
  local mt = getmetatable(t)
  if mt and type(mt.__index) == "table" then
    for k in pairs(mt.__index) do
      if type(k) == "string" then names[#names + 1] = k end
    end
  end
  return names
end

-- complete(env, base, word) -> sorted candidates that extend `word`.
function M.complete(env, base, word)
  local head, sep, partial = word:match("^(.*)([%.:])([%w_]*)$")
  local pool, prefix
  if head then
    local path = {}
    for part in head:gmatch("[^%.:]+") do path[#path + 1] = part end
    pool = keys_of(lookup(env, base, path))
    prefix = head .. sep
  else
    partial, prefix = word, ""
    pool = keys_of(env)
    for _, k in ipairs(keys_of(base)) do pool[#pool + 1] = k end
    for _, k in ipairs(keywords) do pool[#pool + 1] = k end
  end
  local seen, out = {}, {}
  for _, k in ipairs(pool) do
    local hidden = k:sub(1, 1) == "_" and partial:sub(1, 1) ~= "_"
    if not seen[k] and not hidden and k:match("^[%a_][%w_]*$") and k:sub(1, #partial) == partial then
      seen[k] = true
      out[#out + 1] = prefix .. k
    end
  end
  table.sort(out)
  return out
end

-- compile(buffer, env) -> fn | nil, "incomplete" | nil, err
function M.compile(buffer, env)
  local fn = load("return " .. buffer, "=stdin", "t", env)
  if fn then return fn end
  local err
  fn, err = load(buffer, "=stdin", "t", env)
  if fn then return fn end
  if err:match("'<eof>'$") or err:match("<eof>$") then return nil, "incomplete" end
  return nil, err
end

local function show(n, results)
  local parts = {}
  for i = 1, n do parts[i] = inspect(results[i]) end
  if n > 0 then io.stdout:write(table.concat(parts, "\t"), "\n") end
  io.stdout:flush()
end

local function report(err, verbose)
  local msg = tostring(err)
  if not verbose then msg = msg:gsub("\nstack traceback:.*$", "") end
  io.stderr:write(msg, "\n")
  io.stderr:flush()
end

-- execute(fn, env) -> ok; prints results or the error
local function execute(fn, verbose, interruptible)
  if interruptible then host.interrupt(true) end
  local function collect(ok, ...)
    return ok, select("#", ...), { ... }
  end
  local ok, n, results = collect(xpcall(fn, function(e)
    if type(e) ~= "string" then return tostring(e) end
    return debug.traceback(e, 2)
  end))
  if interruptible then host.interrupt(false) end
  if not ok then
    report(results[1], verbose)
    return false
  end
  show(n, results)
  return true
end

-- One read-eval-print loop over `read(prompt)`, which returns a line, nil at
-- the end of input, or false when the user pressed Ctrl-C.
local function loop(read, env, opts)
  local failures = 0
  local buffer
  while true do
    local line = read(buffer and opts.prompt2 or opts.prompt)
    if line == nil then
      if opts.interactive then io.stdout:write("\n") end
      break
    elseif line == false then
      buffer = nil -- Ctrl-C: drop what was typed
      io.stdout:write("\n")
    else
      buffer = buffer and (buffer .. "\n" .. line) or line
      local fn, err = M.compile(buffer, env)
      if fn then
        if opts.on_chunk then opts.on_chunk(buffer) end
        buffer = nil
        if not execute(fn, opts.verbose, opts.interactive) then failures = failures + 1 end
      elseif err ~= "incomplete" then
        if opts.on_chunk then opts.on_chunk(buffer) end
        buffer = nil
        report(err, true)
        failures = failures + 1
      end
    end
  end
  if buffer and not opts.interactive then
    report("stdin: unfinished chunk at end of input", true)
    failures = failures + 1
  end
  return failures
end

-- run{verbose=} -> exit status
function M.run(opts)
  opts = opts or {}
  local term = require("deloc.term")
  local base = sandbox.user_base()
  local env = sandbox.strict(base, { allow_new_globals = true })
  opts.interactive = term.isatty("stdin")
  if not opts.interactive then
    local lines = io.stdin:lines()
    local failures = loop(function() return lines() end, env, opts)
    return failures > 0 and 1 or 0
  end
  -- The JIT skips the interrupt hook inside compiled loops; the prompt is for
  -- exploring, where Ctrl-C that always works beats raw speed.
  jit.off()
  local le = require("deloc.native.lineedit")
  le.set_completer(function(word) return M.complete(env, base, word) end)
  local history = history_path()
  if history then le.load_history(history) end
  io.stdout:write(("deloc %s (%s) — Lua with deloc loaded; Ctrl-D leaves\n"):format(
    host.version(), jit.version))
  opts.prompt, opts.prompt2 = "deloc> ", "  ...> "
  opts.on_chunk = function(chunk)
    le.add_history(chunk)
    if history then le.save_history(history, 1000) end
  end
  loop(le.readline, env, opts)
  return 0
end

return M
