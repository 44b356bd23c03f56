-- deloc smoke [SERVICES...]: is the stack really working?  Runs each
-- service's smoke (a short real use declared by its recipe: a query, a
-- message, a job) inside its running container, with the image's own
-- tools, and prints a pass/fail table.  Exit status 8 if any fails.
--
-- The smokes come from the last applied plan (.deloc/state.json), so what
-- runs is what `deloc up` deployed.  This command names no target: it
-- reaches the stack only through `exec_in` below.
local errors = require("deloc.errors")
local cmdutil = require("deloc.cmdutil")
local array = require("deloc.array")
local sys = require("deloc.sys")

local M = {
  name = "smoke",
  order = 24,
  usage = "deloc smoke [SERVICES...] [--json]",
  summary = "run each service's smoke test (a real query, message or job); exit 8 on a failure",
  help = [[
Each recipe declares a smoke: postgres runs `select 1`, redis a SET and GET,
kafka produces and consumes a zstd and a snappy message, spark runs SparkPi,
and so on (`deloc recipes show NAME`).  The smokes run inside the live
stack's containers, several at a time; the table says which passed, how
long each took and, for a failure, the end of its output.]],
  options = { require("deloc.targets").option, require("deloc.targets").context_option },
}

M.PARALLEL = 4
M.OUTPUT_TAIL = 400

-- The one place that reaches the running stack: the session's driver and
-- its exec (driver.exec(session, target, argv, opts) -> { code, stdout,
-- stderr }); a target whose driver cannot exec says so itself.
local function exec_in(session, target, argv, opts)
  return session.driver.exec(session, { service = target.service, component = target.component, replica = 1 },
    argv, opts)
end

-- The smokes of the applied plan, for the services asked (all by default).
local function smokes_of(plan, asked)
  local list, missing = {}, {}
  local want = {}
  for _, s in ipairs(asked) do want[s] = true end
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
    if svc and (#asked == 0 or want[sname]) then
      for _, cname in ipairs(svc.component_order or {}) do
        local c = svc.components[cname]
        if c and type(c.smoke) == "table" and type(c.smoke.exec) == "table" then
          list[#list + 1] = { service = sname, component = cname, smoke = c.smoke }
        end
      end
    end
    want[sname] = nil
  end
  for s in pairs(want) do missing[#missing + 1] = s end
  table.sort(missing)
  return list, missing
end

local function tail(text)
  text = tostring(text or ""):gsub("%s+$", "")
  if #text > M.OUTPUT_TAIL then text = "..." .. text:sub(-M.OUTPUT_TAIL) end
  return text
end

-- run_one(session, item) -> result row (never raises on a failed smoke)
local function run_one(session, item)
  local t0 = sys.now()
  local r, err = exec_in(session, item, item.smoke.exec, { timeout = item.smoke.timeout })
  local row = { service = item.service, component = item.component }
  row.seconds = sys.now() - t0
  if not r then
    row.passed, row.output = false, tostring(err and err.message or err)
    return row
  end
  local out = tostring(r.stdout or "") .. tostring(r.stderr or "")
  row.exit_code = r.code
  row.passed = r.code == 0 and (item.smoke.expect == nil or out:find(item.smoke.expect, 1, true) ~= nil)
  if r.code == 0 and not row.passed then
    row.output = ("output lacks '%s': %s"):format(item.smoke.expect, tail(out))
  else
    row.output = tail(out)
  end
  return row
end

local function render(opts, project, rows)
  if opts.json then
    local failed = 0
    for _, r in ipairs(rows) do if not r.passed then failed = failed + 1 end end
    cmdutil.print_json({ project = project.name, passed = failed == 0, failed = failed,
      smokes = array.of(rows) })
    return
  end
  local on = cmdutil.color(opts)
  local term = require("deloc.term")
  local t = {}
  for _, r in ipairs(rows) do
    local name = r.component ~= r.service and (r.service .. "/" .. r.component) or r.service
    local verdict = r.passed and "pass" or "FAIL"
    if on then verdict = term.colorize(true, r.passed and "green" or "red", verdict) end
    -- the output is the container's: no control character reaches the terminal raw
    local out = r.passed and "" or tostring(r.output):gsub("%s*\n%s*", " | "):gsub("%c", "?")
    t[#t + 1] = { name, verdict, ("%.1fs"):format(r.seconds or 0), out }
  end
  cmdutil.table({ "SERVICE", "SMOKE", "TIME", "OUTPUT" }, t)
end

function M.run(opts, rest)
  local session, err = cmdutil.open(opts)
  if not session then return nil, err end
  local project = session.project
  local st = session:state()
  if not (st and st.plan and st.plan.services) then
    return nil, errors.new("SERVICE_NOT_FOUND", ("nothing deployed for project '%s'"):format(project.name),
      { hint = "deloc up" })
  end
  local items, missing = smokes_of(st.plan, rest or {})
  if #missing > 0 then
    return nil, errors.new("SERVICE_NOT_FOUND", ("not deployed: %s"):format(table.concat(missing, ", ")),
      { hint = "deloc up " .. table.concat(missing, " ") })
  end
  if #items == 0 then
    return nil, errors.new("SERVICE_NOT_FOUND", "no smoke to run: the applied plan has none (run deloc up again)")
  end
  local progress = require("deloc.ui.progress").new({ mode = opts.json and "quiet" or nil,
    color = opts.color and true or nil })
  local rows = {}
  local ok, rerr = cmdutil.in_task(function()
    local _, errs = require("deloc.sched").map(items, function(item, i)
      progress:event({ service = item.service, component = item.component, state = "smoke",
        detail = "running" })
      rows[i] = run_one(session, item)
      progress:event({ service = item.service, component = item.component,
        state = rows[i].passed and "completed" or "failed",
        detail = rows[i].passed and "passed" or "failed" })
    end, M.PARALLEL)
    for i, item in ipairs(items) do
      if not rows[i] then
        rows[i] = { service = item.service, component = item.component, passed = false, seconds = 0,
          output = tostring(errs and errs[i] or "did not run") }
      end
    end
    return true
  end)
  progress:finish()
  if not ok then return nil, rerr end
  render(opts, project, rows)
  local bad = {}
  for _, r in ipairs(rows) do
    if not r.passed then bad[#bad + 1] = r.component ~= r.service and (r.service .. "/" .. r.component) or r.service end
  end
  if #bad > 0 then
    -- --json: the document above says it all; one JSON value on stdout
    if opts.json then return errors.exit_codes.UNHEALTHY end
    return nil, errors.new("UNHEALTHY", ("smoke failed: %s"):format(table.concat(bad, ", ")))
  end
  return 0
end

M._smokes_of = smokes_of
return M
