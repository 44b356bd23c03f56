-- deloc.adapters.docker.logs: the logs of a project's containers, merged.
--
--   logs.run(c, project, { services=, follow=, tail=, since=, on_line=fn(line) })
--     -> true | nil, err
--   line = { key = "postgres" | "airflow/scheduler#2", service=, component=,
--            stream = "stdout"|"stderr", time = "2024-...Z", text = "..." }
--
-- Each container's stream (multiplexed: 8-byte frame headers) is read in its
-- own task with timestamps on; lines are gathered for a moment, sorted by
-- their timestamp and handed on, so several services read as one story.
-- Without follow every line is in before the first is handed on.
local errors = require("deloc.errors")
local sys = require("deloc.sys")
local sched = require("deloc.sched")
local stream = require("deloc.adapters.docker.stream")
local build = require("deloc.adapters.docker.build")

local L = build.LABEL
local M = {}

M.BATCH = 0.1

-- "2024-05-01T10:00:00.123456789Z text" -> time, text
function M.split_timestamp(line)
  local ts, text = line:match("^(%d%d%d%d%-%d%d%-%d%dT[%d:%.]+Z) (.*)$")
  if ts then return ts, text end
  ts = line:match("^(%d%d%d%d%-%d%d%-%d%dT[%d:%.]+Z)$")
  if ts then return ts, "" end
  return nil, line
end

-- Docker writes nanoseconds with trailing zeros trimmed: pad for sorting.
local function sort_key(ts)
  if not ts then return "" end
  local head, frac = ts:match("^(.-)%.(%d+)Z$")
  if not head then return ts:gsub("Z$", "") .. ".000000000" end
  return head .. "." .. frac .. ("0"):rep(9 - #frac)
end

-- days from 1970-01-01 to a date of the proleptic Gregorian calendar
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
end

-- logs.timestamp(text) -> unix seconds (with the fraction) | nil
-- What docker accepts: RFC 3339 (2026-11-27T06:00:00Z, with a fraction or an
-- offset like +01:00), shortened to the minute or the hour, or a date
-- (2026-11-27); without a zone the time is local, as for docker.
function M.timestamp(text)
  local y, mo, d, rest = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  local h, mi, sec, frac = 0, 0, 0, 0
  local zone
  local clock = rest:match("^[Tt](.*)$")
  if clock then
    local hh, tail = clock:match("^(%d%d)(.*)$")
    if not hh then return nil end
    h = tonumber(hh)
    local mm, tail2 = tail:match("^:(%d%d)(.*)$")
    if mm then
      mi, tail = tonumber(mm), tail2
      local ss, tail3 = tail:match("^:(%d%d)(.*)$")
      if ss then
        sec, tail = tonumber(ss), tail3
        local f, tail4 = tail:match("^%.(%d+)(.*)$")
        if f then frac, tail = tonumber("0." .. f), tail4 end
      end
    end
    zone = tail
  else
    zone = rest
  end
  local offset
  if zone == "Z" or zone == "z" then
    offset = 0
  elseif zone ~= "" then
    local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
    if not sign then return nil end
    zh, zm = tonumber(zh), tonumber(zm)
    if zh > 23 or zm > 59 then return nil end
    offset = (zh * 60 + zm) * 60 * (sign == "-" and -1 or 1)
  end
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) or h > 23 or mi > 59 or sec > 59 then
    return nil
  end
  local t
  if offset then
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
  else
    t = os.time({ year = y, month = mo, day = d, hour = h, min = mi, sec = sec })
    if not t then return nil end
  end
  return t + frac
end

-- logs.since(text) -> unix seconds | nil, err: "10m" (ago), an RFC 3339
-- time (logs.timestamp), or a unix time (with a fraction: 1700000000.5)
function M.since(text)
  if text == nil then return nil end
  local n = text:match("^%d+%.?%d*$") and tonumber(text)
  if n then return n end
  n = M.timestamp(text)
  if n then return n end
  local d = require("deloc.quantity").duration(text)
  if d then return math.floor(sys.time() - d) end
  return nil, errors.new("USAGE", ("--since: '%s' is neither a duration (10m, 2h), "
    .. "an RFC 3339 time (2026-11-27T06:00:00Z) nor a unix time"):format(tostring(text)))
end

-- The engine's form of a time: "seconds[.nanoseconds]" (a fraction is read
-- as nanoseconds, so 1.5 must go as 1.500000000).  A double holds a unix time
-- to about a microsecond: the fraction is rounded to that.
function M.since_param(t)
  if t == nil then return nil end
  local whole = math.floor(t)
  local us = math.floor((t - whole) * 1e6 + 0.5)
  if us >= 1e6 then whole, us = whole + 1, 0 end
  if us == 0 then return ("%d"):format(whole) end
  return ("%d.%09d"):format(whole, us * 1000)
end

function M.run(c, project, opts)
  opts = opts or {}
  local on_line = opts.on_line or function() end
  local want
  if opts.services and #opts.services > 0 then
    want = {}
    for _, s in ipairs(opts.services) do want[s] = true end
  end
  local function body()
    local ctrs, err = c:get("/containers/json", { all = 1, filters = build.filters(project) })
    if not ctrs then return nil, err end
    local chosen = {}
    for _, ctr in ipairs(ctrs) do
      local lab = ctr.Labels or {}
      if not lab[L.helper] and (not want or want[lab[L.service]]) then chosen[#chosen + 1] = ctr end
    end
    if want then
      local have = {}
      for _, ctr in ipairs(chosen) do have[(ctr.Labels or {})[L.service]] = true end
      for s in pairs(want) do
        if not have[s] then
          return nil, errors.new("SERVICE_NOT_FOUND", ("no service '%s' in project '%s'"):format(s, project))
        end
      end
    end
    if opts.on_keys then
      local keys = {}
      for _, ctr in ipairs(chosen) do
        local lab = ctr.Labels or {}
        local key = lab[L.service] or "?"
        if lab[L.component] and lab[L.component] ~= key then key = key .. "/" .. lab[L.component] end
        if (tonumber(lab[L.replica]) or 1) > 1 then key = key .. "#" .. lab[L.replica] end
        keys[#keys + 1] = key
      end
      opts.on_keys(keys)
    end
    local pending = {}
    local seq = 0
    local open = #chosen
    local function flush()
      if #pending == 0 then return end
      local batch = pending
      pending = {}
      table.sort(batch, function(a, b)
        if a.sort ~= b.sort then return a.sort < b.sort end
        return a.seq < b.seq
      end)
      for _, l in ipairs(batch) do on_line(l) end
    end
    local stopped = false
    local function interrupted()
      local sig = sys.signal_pending()
      if sig == "INT" or sig == "TERM" then stopped = true end
      return stopped
    end
    local readers, failed = {}, nil
    for _, ctr in ipairs(chosen) do
      local lab = ctr.Labels or {}
      local key = lab[L.service] or "?"
      if lab[L.component] and lab[L.component] ~= key then key = key .. "/" .. lab[L.component] end
      local replica = tonumber(lab[L.replica]) or 1
      if replica > 1 then key = key .. "#" .. replica end
      readers[#readers + 1] = sched.spawn(function()
        local d = stream.line_demuxer(function(kind, line)
          local ts, text = M.split_timestamp(line)
          seq = seq + 1
          pending[#pending + 1] = { key = key, service = lab[L.service], component = lab[L.component],
            stream = kind, time = ts, text = text, sort = sort_key(ts), seq = seq }
        end)
        -- a stream cut short (engine gone, connection dropped) is an error,
        -- not the end of the logs
        local res, rerr = c:request({ method = "GET", path = "/containers/" .. ctr.Id .. "/logs",
          query = { stdout = 1, stderr = 1, timestamps = 1, follow = opts.follow and 1 or 0,
                    tail = opts.tail or "all", since = M.since_param(opts.since) },
          idle_timeout = opts.follow and false or nil,
          on_data = function(chunk)
            d:feed(chunk)
            if interrupted() then return false end
          end })
        d:finish()
        if not res and not stopped and not failed then failed = rerr end
        open = open - 1
      end)
    end
    if not opts.follow then
      for _, t in ipairs(readers) do sched.wait(t) end
      flush()
      if failed then return nil, failed end
      return #chosen
    end
    -- Following: hand lines on in small sorted batches until every stream
    -- has ended or the user interrupts.
    while open > 0 and not interrupted() do
      sched.sleep(M.BATCH)
      flush()
    end
    flush()
    if stopped then return nil, errors.new("INTERRUPTED", "interrupted") end
    if failed then return nil, failed end
    return #chosen
  end
  local r1, r2
  local t = sched.spawn(function() r1, r2 = body() end)
  local ok, e = sched.wait(t)
  if not ok then error(e, 0) end
  return r1, r2
end

return M
