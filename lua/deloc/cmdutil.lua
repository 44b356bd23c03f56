-- deloc.cmdutil: what the lifecycle commands (up, status, logs, down, ...)
-- share whatever the target: the project, options, the lock, signals,
-- progress, tables, JSON output and the wording of a failed deploy.
-- Commands stay short; drivers never print.  The Docker-only parts (engine,
-- plan for the docker target) are in deloc.adapters.docker.cli.
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local term = require("deloc.term")
local json = require("deloc.json")

local M = {}

-- The options most lifecycle commands take.
M.profile_option = { "profile", "p", arg = "NAME", help = "sizing profile (minimal, development, production, ...)" }
M.timeout_option = { "timeout", arg = "DURATION", help = "give up waiting after this long (e.g. 90s, 5m; default 5m)" }
M.wait_lock_option = { "wait-lock", arg = "SECONDS", help = "wait this long for another deloc on the project (default: fail at once)" }

-- The project the command is about: { name=, dir=, file=, ... }
function M.project(opts)
  local ok, api = pcall(require, "deloc.api")
  if not ok then error(api, 0) end
  return api.project(opts.file)
end

-- Replica counts set by `deloc scale` ({ ["spark.worker"] = 3, redis = 1 })
-- as planner overrides; nil when there are none.
function M.scale_overrides(scale)
  if type(scale) ~= "table" or next(scale) == nil then return nil end
  local o = {}
  for key, n in pairs(scale) do
    local svc, comp = key:match("^([^.]+)%.(.+)$")
    if svc then
      o[svc] = o[svc] or {}
      o[svc].components = o[svc].components or {}
      o[svc].components[comp] = { replicas = n }
    else
      o[key] = o[key] or {}
      o[key].replicas = n
    end
  end
  return o
end

function M.duration(v, default, what)
  if v == nil then return default end
  local q = require("deloc.quantity")
  local d, err = q.duration(v)
  if not d then
    return nil, errors.new("USAGE", ("%s: %s"):format(what or "--timeout", tostring(err)))
  end
  return d
end

-- Takes the project's lock (BUSY with the holder when someone has it).
function M.lock(root, opts)
  local wait
  if opts["wait_lock"] then
    wait = tonumber(opts["wait_lock"])
    if not wait then return nil, errors.new("USAGE", "--wait-lock needs a number of seconds") end
  end
  return require("deloc.state").lock(root, { wait = wait })
end

-- Runs what stop, down and clean do on any target: under the project's lock,
-- connect(), then fn(conn, on_event) with a progress display, then, only when
-- fn succeeded, after(out).  after writes the state file: while the lock is
-- still held, so that no other deloc on the project reads it half-way.
-- cmdutil.locked(opts, project, connect, fn, after) -> out | nil, err
function M.locked(opts, project, connect, fn, after)
  local lock, err = M.lock(project.dir, opts)
  if not lock then return nil, err end
  local c
  c, err = connect()
  if not c then lock:unlock(); return nil, err end
  local progress = M.progress(opts)
  local out
  out, err = fn(c, function(ev) progress:event(ev) end)
  progress:finish()
  if out and after then after(out) end
  lock:unlock()
  if not out then return nil, err end
  return out
end

-- After stop or down: the services named (every one in the state file when
-- none is) are Stopped, and the command is recorded with `fields`.
function M.record_stopped(project, services, action, fields)
  local state = require("deloc.state")
  local st = state.load(project.dir, project.name)
  if not st then return end
  local named = services and #services > 0
  local want = {}
  for _, s in ipairs(services or {}) do want[s] = true end
  for s in pairs(st.services) do
    if not named or want[s] then state.set_service(st, s, "Stopped") end
  end
  state.record(st, action, fields)
  state.save(project.dir, st)
end

-- After clean: nothing is left, so the state starts afresh (recording the
-- clean); with --secrets the generated secrets go too.
function M.record_clean(project, opts, fields)
  local state = require("deloc.state")
  local st = state.new(project.name)
  state.record(st, "clean", fields)
  state.save(project.dir, st)
  if opts.secrets then
    state.remove_secrets(project.dir)
  end
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
