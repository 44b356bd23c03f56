-- deloc.cmdutil: what the lifecycle commands (up, status, logs, down, ...)
-- share: the session with a progress display, options, signals, tables,
-- JSON output and the wording of a failed deploy.  Commands stay short and
-- know no target; drivers never print.
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local term = require("deloc.term")
local json = require("deloc.json")

local M = {}

-- The options most lifecycle commands take.
M.profile_option = { "profile", "p", arg = "NAME", help = "sizing profile (minimal, development, production, ...)" }
M.timeout_option = { "timeout", arg = "DURATION", help = "give up waiting after this long (e.g. 90s, 5m; default 5m)" }
M.mount_option = { "mount", arg = "SVC.POINT=PATH", many = true,
  help = "mount your own PATH at a content point or /container/path (':rw' to write)" }
M.wait_lock_option = { "wait-lock", arg = "SECONDS", help = "wait this long for another deloc on the project (default: fail at once)" }

-- The one wording every command uses for a project with nothing deployed.
function M.nothing_deployed(project)
  return ("nothing deployed for project '%s'"):format(project.name)
end

-- The project the command is about: { name=, dir=, file=, ... }
function M.project(opts)
  local ok, api = pcall(require, "deloc.api")
  if not ok then error(api, 0) end
  return api.project(opts.file)
end

function M.scale_overrides(scale) return require("deloc.session").scale_overrides(scale) end

function M.duration(v, default, what)
  if v == nil then return default end
  local q = require("deloc.quantity")
  local d, err = q.duration(v)
  if not d then
    return nil, errors.new("USAGE", ("%s: %s"):format(what or "--timeout", tostring(err)))
  end
  return d
end

-- open(opts, how) -> session | nil, err: deloc.session.open with, when
-- how.progress, a progress display as the sink (session.progress); the
-- driver's notes (e.g. an insecure kubeconfig) go to the user at once.
function M.open(opts, how)
  how = how or {}
  local progress = how.progress and M.progress(opts) or nil
  local s, err = require("deloc.session").open(opts, { lock = how.lock, lazy = how.lazy,
    connect = how.connect,
    sink = progress and function(ev) progress:event(ev) end or nil,
    tick = progress and function() progress:tick() end or nil })
  if not s then
    if progress then progress:finish() end
    return nil, err
  end
  for _, w in ipairs(s.notes) do
    if progress then progress:note("warning: " .. w) else io.stderr:write("warning: ", w, "\n") end
  end
  s.progress = progress
  return s
end

-- Ends what open began: the progress display, the lock.
function M.close(s)
  if s.progress then s.progress:finish(); s.progress = nil end
  s:close()
end

-- stop, down and clean: under the project's lock, the driver removes (with
-- a progress display) and the state file records it.
-- cmdutil.remove(opts, o) -> summary, nil, session | nil, err   (o: deloc.stack.remove's)
function M.remove(opts, o)
  local s, err = M.open(opts, { lock = true, progress = true })
  if not s then return nil, err end
  local out
  out, err = require("deloc.stack").remove(s, o)
  M.close(s)
  if not out then return nil, err end
  for _, k in ipairs({ "removed", "stopped", "volumes" }) do
    if out[k] then out[k] = require("deloc.array").of(out[k]) end
  end
  return out, nil, s
end

-- Ctrl-C and TERM set a flag that the driver watches; the command then ends
-- with INTERRUPTED (exit 130) after leaving things consistent.
function M.catch_signals()
  sys.signal_catch("INT")
  sys.signal_catch("TERM")
end

function M.release_signals()
  sys.signal_default("INT")
  sys.signal_default("TERM")
end

function M.progress(opts)
  local color
  if opts.color then color = true end
  if os.getenv("DELOC_PROGRESS") == "plain" then
    return require("deloc.ui.progress").new({ json = opts.json, color = color, mode = not opts.json and "plain" or nil })
  end
  return require("deloc.ui.progress").new({ json = opts.json, color = color })
end

function M.color(opts, stream)
  if opts.color then return true end
  return term.color_enabled(stream or "stdout")
end

-- A plain table: rows of strings, column widths from the content.
function M.table(headers, rows, stream)
  stream = stream or io.stdout
  local widths = {}
  for i, h in ipairs(headers) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #headers do
      local v = tostring(r[i] or "")
      local visible = #(v:gsub("\27%[[%d;]*m", ""))
      if visible > widths[i] then widths[i] = visible end
    end
  end
  local function line(cells)
    local parts = {}
    for i = 1, #headers do
      local v = tostring(cells[i] or "")
      local visible = #(v:gsub("\27%[[%d;]*m", ""))
      parts[i] = i < #headers and (v .. (" "):rep(widths[i] - visible)) or v
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local out = { line(headers) }
  for _, r in ipairs(rows) do out[#out + 1] = line(r) end
  stream:write(table.concat(out, "\n"), "\n")
end

function M.print_json(value)
  io.stdout:write(json.encode(value, { indent = true }), "\n")
end

-- The error a failed deploy reports: the cause, its last probe output and
-- the last log lines of the container, indented below.
function M.failure(err)
  if not errors.is(err) then return err end
  local extra = {}
  if err.logs and #err.logs > 0 then
    extra[#extra + 1] = "last log lines:"
    for _, l in ipairs(err.logs) do extra[#extra + 1] = "  | " .. l end
  end
  if #extra > 0 and not err.details_added then
    err.message = err.message .. "\n" .. table.concat(extra, "\n")
    err.details_added = true
  end
  return err
end

-- Runs fn in a sched task (where HTTP requests run concurrently) and returns
-- what it returns.
function M.in_task(fn, ...)
  local sched = require("deloc.sched")
  local args = { n = select("#", ...), ... }
  local r
  local t = sched.spawn(function() r = { fn(unpack(args, 1, args.n)) } end)
  local ok, e = sched.wait(t)
  if not ok then error(e, 0) end
  return unpack(r, 1, 3)
end

-- Service names a list of rows mentions, for "no such service" checks.
function M.check_services(rows, services)
  if not services or #services == 0 then return true end
  local have = {}
  for _, r in ipairs(rows) do have[r.service or ""] = true end
  for _, s in ipairs(services) do
    if not have[s] then
      local names = {}
      for k in pairs(have) do names[#names + 1] = k end
      table.sort(names)
      local c = require("deloc.suggest").closest(s, names)
      return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in this project"):format(s),
        { hint = c and ("did you mean '" .. c .. "'?") or (#names > 0 and ("the project has: " .. table.concat(names, ", ")) or "nothing is deployed; 'deloc up' first") })
    end
  end
  return true
end

return M
