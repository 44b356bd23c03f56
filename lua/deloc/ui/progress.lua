-- deloc.ui.progress: renders the events drivers emit while they work.
--
--   local p = progress.new{ mode = "live"|"plain"|"json"|"quiet", stream = io.stderr,
--                           color = true|false }   -- defaults: decided from the stream
--   p:event{ service=, component=, state=, detail=, elapsed= }
--   p:tick()      -- redraw live lines (elapsed time moves on)
--   p:finish()
--
-- live: one line per service, rewritten in place (a terminal);
-- plain: one line per change of state (a pipe or a log file);
-- json: one JSON object per event on stdout, for machines.
-- Colour only when the stream is a terminal and NO_COLOR is unset (deloc.term).
local term = require("deloc.term")
local json = require("deloc.json")
local sys = require("deloc.sys")

local M = {}

M.style = {
  healthy = "green", running = "green", completed = "green", unchanged = "green",
  ready = "green", created = "green", stopped = "gray", removed = "gray",
  failed = "red", unhealthy = "red", exited = "red", interrupted = "red",
  orphan = "yellow",
}

local Progress = {}
Progress.__index = Progress

local function key_of(ev)
  if ev.component and ev.component ~= ev.service then
    return ev.service .. "/" .. ev.component
  end
  return ev.service or "deloc"
end

function M.key(ev) return key_of(ev) end

-- progress.new(opts) -> renderer
function M.new(opts)
  opts = opts or {}
  local stream = opts.stream or io.stderr
  local mode = opts.mode
  if not mode then
    if opts.json then
      mode = "json"
    elseif term.isatty(stream) and os.getenv("TERM") ~= "dumb" then
      mode = "live"
    else
      mode = "plain"
    end
  end
  local color = opts.color
  if color == nil then color = term.color_enabled(stream) end
  return setmetatable({
    mode = mode, stream = stream, out = opts.out or io.stdout, color = color,
    order = {}, lines = {}, drawn = 0, start = sys.now(),
    width = opts.width or ((mode == "live" and (stream == io.stderr or stream == io.stdout))
      and term.width(stream) or 80),
  }, Progress)
end

local function fmt_elapsed(s)
  if not s then return "" end
  if s < 60 then return ("%.1fs"):format(s) end
  return ("%dm%02ds"):format(math.floor(s / 60), math.floor(s % 60))
end

function Progress:paint(state, text)
  local style = M.style[state]
  if state and not style then style = "yellow" end
  if not self.color or not style then return text end
  return term.colorize(true, style, text)
end

function Progress:line_text(key, l, name_width)
  local elapsed = l.done and l.elapsed or (l.started and (sys.now() - l.started))
  -- key, state and detail come from the engine and recipes: escaped
  local text = ("%-" .. name_width .. "s  %s"):format(term.escape(key),
    self:paint(l.state, term.escape(l.state or "")))
  if l.detail and l.detail ~= "" then text = text .. "  " .. term.escape(l.detail) end
  if elapsed then text = text .. "  " .. fmt_elapsed(elapsed) end
  if self.mode == "live" and self.width > 10 then
    -- Keep each entry on one terminal row so the cursor arithmetic holds.
    local visible = text:gsub("\27%[[%d;]*m", "")
    if #visible > self.width - 1 then
      text = visible:sub(1, self.width - 2) .. "…"
    end
  end
  return text
end

local final = { healthy = true, running = true, completed = true, unchanged = true,
                failed = true, removed = true, stopped = true, interrupted = true,
                ready = true, orphan = true, exited = true }

function Progress:event(ev)
  if self.mode == "quiet" then return end
  if self.mode == "json" then
    local e = { service = ev.service, component = ev.component, state = ev.state,
                detail = ev.detail, elapsed = ev.elapsed, time = sys.time() }
    self.out:write(json.encode(e), "\n")
    self.out:flush()
    return
  end
  local key = key_of(ev)
  local l = self.lines[key]
  if not l then
    l = { started = sys.now() }
    self.lines[key] = l
    self.order[#self.order + 1] = key
  end
  local changed = l.state ~= ev.state or l.detail ~= ev.detail
  l.state, l.detail = ev.state, ev.detail
  l.done = final[ev.state] or false
  l.elapsed = ev.elapsed
  if l.done and not l.elapsed then l.elapsed = sys.now() - l.started end
  if self.mode == "plain" then
    if changed then
      self.stream:write(self:line_text(key, l, 0):gsub("^(%S+)  ", "%1: "), "\n")
      self.stream:flush()
    end
    return
  end
  self:draw()
end

function Progress:draw()
  if self.mode ~= "live" then return end
  local w = 0
  for _, k in ipairs(self.order) do if #k > w then w = #k end end
  local parts = {}
  if self.drawn > 0 then parts[#parts + 1] = ("\27[%dA"):format(self.drawn) end
  for _, k in ipairs(self.order) do
    parts[#parts + 1] = "\r\27[2K" .. self:line_text(k, self.lines[k], w) .. "\n"
  end
  self.drawn = #self.order
  self.stream:write(table.concat(parts))
  self.stream:flush()
end

function Progress:tick()
  if self.mode == "live" and #self.order > 0 then self:draw() end
end

-- A message between or after the live lines (warnings, orphans).
function Progress:note(text)
  if self.mode == "json" then
    self.out:write(json.encode({ note = text, time = sys.time() }), "\n")
    return
  end
  if self.mode == "quiet" then return end
  if self.mode == "live" and self.drawn > 0 then
    -- Clear the live lines, print the note, draw them again below it.
    self.stream:write(("\27[%dA\27[J"):format(self.drawn))
    self.drawn = 0
    self.stream:write(term.escape(text, true), "\n")
    self:draw()
    return
  end
  self.stream:write(term.escape(text, true), "\n")
end

function Progress:finish()
  if self.mode == "live" then self:draw() end
  self.stream:flush()
end

return M
