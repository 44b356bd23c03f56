-- deloc.filesink: a file written as a stream that appears whole or not at
-- all.  A backup holds a service's data (and maybe its credentials): it is
-- made mode 0600 from the first byte, in a temporary file beside the target
-- (O_CREAT|O_EXCL, so nothing else's file is written through), synced, then
-- renamed over the target, so FILE is the old content or the whole new
-- backup, never a part.  Streamed: a dump never sits in memory.
--
--   local sink, err = filesink.new(path)
--   sink:write(chunk) -> true | nil, err;  sink:commit() -> true | nil, err;  sink:abort()
local sys = require("deloc.sys")

local M = {}

local Sink = {}
Sink.__index = Sink

function M.new(path)
  assert(type(path) == "string" and path ~= "", "filesink.new: path must be a string")
  local w, err = sys.atomic_writer(path, tonumber("600", 8))
  if not w then return nil, err end
  return setmetatable({ writer = w, path = path, bytes = 0 }, Sink)
end

function Sink:write(chunk)
  local ok, err = self.writer:write(chunk)
  if not ok then return nil, err end
  self.bytes = self.bytes + #chunk
  return true
end

function Sink:commit()
  return self.writer:commit()
end

function Sink:abort()
  self.writer:abort()
end

return M
