-- deloc.adapters.docker.stream: the byte streams the Engine sends back.
--
--   local d = stream.demuxer(function(kind, data) ... end)  -- kind "stdout"|"stderr"|"stdin"
--   d:feed(chunk) ... d:finish() -> true | nil, "truncated frame"
--     The multiplexed stream of logs and exec output (no TTY): frames of an
--     8-byte header (stream byte, 3 zero bytes, big-endian uint32 length) and
--     the payload.  Chunks may split headers and payloads anywhere.
--   local l = stream.lines(function(line) ... end)  -- l:feed(chunk); l:finish()
--     Splits text on "\n" across chunks (JSON progress of /images/create).
--   stream.demux(text) -> { {kind, data}, ... } | nil, err   (the whole thing at once)
local M = {}

local kinds = { [0] = "stdin", [1] = "stdout", [2] = "stderr" }

local Demuxer = {}
Demuxer.__index = Demuxer

function M.demuxer(sink)
  return setmetatable({ sink = sink, buf = "", raw = nil }, Demuxer)
end

function Demuxer:feed(chunk)
  if chunk == nil or chunk == "" then return end
  if self.raw then -- not multiplexed (a TTY container): pass through
    self.sink("stdout", chunk)
    return
  end
  local buf = self.buf .. chunk
  local pos = 1
  while #buf - pos + 1 >= 8 do
    local b1, b2, b3, b4 = buf:byte(pos, pos + 3)
    local kind = kinds[b1]
    if self.first == nil then
      self.first = true
      if not kind or b2 ~= 0 or b3 ~= 0 or b4 ~= 0 then
        -- No frame header: the container has a TTY and its output is raw.
        self.raw = true
        self.sink("stdout", buf:sub(pos))
        self.buf = ""
        return
      end
    end
    if not kind then kind = "stdout" end
    local s1, s2, s3, s4 = buf:byte(pos + 4, pos + 7)
    local len = ((s1 * 256 + s2) * 256 + s3) * 256 + s4
    if #buf - pos + 1 < 8 + len then break end
    if len > 0 then self.sink(kind, buf:sub(pos + 8, pos + 7 + len)) end
    pos = pos + 8 + len
  end
  self.buf = buf:sub(pos)
end

function Demuxer:finish()
  if self.buf ~= "" then
    local left = #self.buf
    self.buf = ""
    return nil, ("truncated frame (%d byte%s left over)"):format(left, left == 1 and "" or "s")
  end
  return true
end

function M.demux(text)
  local out = {}
  local d = M.demuxer(function(kind, data) out[#out + 1] = { kind, data } end)
  d:feed(text)
  local ok, err = d:finish()
  if not ok then return nil, err end
  return out
end

local Lines = {}
Lines.__index = Lines

function M.lines(sink)
  return setmetatable({ sink = sink, buf = "" }, Lines)
end

function Lines:feed(chunk)
  if chunk == nil or chunk == "" then return end
  local buf = self.buf .. chunk
  local pos = 1
  while true do
    local nl = buf:find("\n", pos, true)
    if not nl then break end
    local line = buf:sub(pos, nl - 1):gsub("\r$", "")
    self.sink(line)
    pos = nl + 1
  end
  self.buf = buf:sub(pos)
end

function Lines:finish()
  if self.buf ~= "" then
    local line = self.buf
    self.buf = ""
    self.sink(line)
  end
end

-- A line-splitting demuxer: sink(kind, line) once per complete line of each
-- stream, keeping partial lines per stream until the rest arrives.
function M.line_demuxer(sink)
  local parts = {}
  local function splitter(kind)
    local l = parts[kind]
    if not l then
      l = M.lines(function(line) sink(kind, line) end)
      parts[kind] = l
    end
    return l
  end
  local d = M.demuxer(function(kind, data) splitter(kind):feed(data) end)
  local finish = d.finish
  function d.finish(self)
    local ok, err = finish(self)
    for _, l in pairs(parts) do l:finish() end
    return ok, err
  end
  return d
end

return M
