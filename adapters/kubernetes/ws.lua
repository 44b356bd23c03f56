-- deloc.adapters.kubernetes.ws: the WebSocket framing (RFC 6455) the API
-- server's streaming subresources speak (pods/exec), and the channel layer
-- of the v4/v5.channel.k8s.io subprotocols on top of it.
--
--   ws.frame(opcode, payload [, mask4]) -> bytes of one client frame (FIN set,
--     always masked: a client must mask; mask4 defaults to random bytes)
--   ws.parser() -> p;  p:feed(bytes) -> { msg... } | nil, err
--     msg = { opcode=, data= }: whole messages (fragments joined; a control
--     frame between fragments comes out on its own); a masked server frame
--     is unmasked, a bad one is an error
--   ws.accept(key) -> the Sec-WebSocket-Accept a server must answer to key
--     (RFC 6455 4.2.2: base64 of SHA-1 of key .. the protocol's GUID)
--   ws.message(channel, data) -> the payload of one channel message
--   ws.close_stdin() -> payload of v5's "close channel 0" (channel 255)
--   ws.exit_code(status_json_text) -> code | nil, err
--     channel 3: a metav1.Status; Success is 0, NonZeroExitCode carries
--     details.causes[reason=ExitCode].message
local bit = require("bit")
local ffi = require("ffi")
local json = require("deloc.json")

local M = {}

M.TEXT, M.BINARY, M.CLOSE, M.PING, M.PONG = 1, 2, 8, 9, 10
M.STDIN, M.STDOUT, M.STDERR, M.ERROR, M.RESIZE, M.CLOSE_CHANNEL = 0, 1, 2, 3, 4, 255

-- Random bytes for the masks and the handshake key (unpredictable masks are
-- what keeps a cache in between from being poisoned); read in blocks.
local pool = ""
function M.random(n)
  if #pool < n then
    local f = assert(io.open("/dev/urandom", "rb"))
    pool = pool .. f:read(4096)
    f:close()
  end
  local out = pool:sub(1, n)
  pool = pool:sub(n + 1)
  return out
end

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

function M.accept(key)
  return require("deloc.kubeconfig").base64_encode(require("deloc.sys").sha1(key .. GUID))
end

-- payload XOR the 4-byte key (the same operation masks and unmasks)
local function xor_mask(payload, key)
  local n = #payload
  if n == 0 then return "" end
  local buf = ffi.new("uint8_t[?]", n)
  ffi.copy(buf, payload, n)
  local k = { key:byte(1, 4) }
  for i = 0, n - 1 do buf[i] = bit.bxor(buf[i], k[i % 4 + 1]) end
  return ffi.string(buf, n)
end
M.xor_mask = xor_mask

local function be(n, bytes)
  local t = {}
  for i = bytes, 1, -1 do
    t[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(t)
end

function M.frame(opcode, payload, mask4)
  payload = payload or ""
  mask4 = mask4 or M.random(4)
  local n = #payload
  local head = string.char(0x80 + opcode)
  if n < 126 then head = head .. string.char(0x80 + n)
  elseif n < 65536 then head = head .. string.char(0x80 + 126) .. be(n, 2)
  else head = head .. string.char(0x80 + 127) .. be(n, 8) end
  return head .. mask4 .. xor_mask(payload, mask4)
end

local Parser = {}
Parser.__index = Parser

function M.parser()
  return setmetatable({ buf = "", parts = nil, first_op = nil }, Parser)
end

-- One frame off the front of buf: frame, rest | nil (need more) | false, err
local function take(buf)
  if #buf < 2 then return nil end
  local b1, b2 = buf:byte(1, 2)
  if bit.band(b1, 0x70) ~= 0 then return false, "a frame with reserved bits set (no extension was agreed)" end
  local masked, len, pos = bit.band(b2, 0x80) ~= 0, bit.band(b2, 0x7f), 3
  if len == 126 then
    if #buf < 4 then return nil end
    len, pos = buf:byte(3) * 256 + buf:byte(4), 5
  elseif len == 127 then
    if #buf < 10 then return nil end
    len = 0
    for i = 3, 10 do len = len * 256 + buf:byte(i) end
    pos = 11
    if len > 2 ^ 40 then return false, "a frame longer than 1 TiB" end
  end
  local key
  if masked then
    if #buf < pos + 3 then return nil end
    key, pos = buf:sub(pos, pos + 3), pos + 4
  end
  if #buf < pos + len - 1 then return nil end
  local data = buf:sub(pos, pos + len - 1)
  if key then data = xor_mask(data, key) end
  local f = { fin = bit.band(b1, 0x80) ~= 0, opcode = bit.band(b1, 0x0f), data = data }
  if f.opcode >= 8 and (not f.fin or len > 125) then
    return false, "a fragmented or over-long control frame"
  end
  return f, buf:sub(pos + len)
end

function Parser:feed(bytes)
  self.buf = self.buf .. bytes
  local out = {}
  while true do
    local f, rest = take(self.buf)
    if f == nil then break end
    if f == false then return nil, "WebSocket: " .. rest end
    self.buf = rest
    if f.opcode >= 8 then
      out[#out + 1] = { opcode = f.opcode, data = f.data }
    elseif f.opcode == 0 then
      if not self.parts then return nil, "WebSocket: a continuation frame with no message to continue" end
      self.parts[#self.parts + 1] = f.data
    else
      if self.parts then return nil, "WebSocket: a new message inside a fragmented one" end
      self.parts, self.first_op = { f.data }, f.opcode
    end
    if f.opcode < 8 and f.fin then
      out[#out + 1] = { opcode = self.first_op, data = table.concat(self.parts) }
      self.parts, self.first_op = nil, nil
    end
  end
  return out
end

function M.message(channel, data)
  return string.char(channel) .. (data or "")
end

function M.close_stdin()
  return string.char(M.CLOSE_CHANNEL, M.STDIN)
end

function M.exit_code(text)
  local st = json.decode(text)
  if type(st) ~= "table" then return nil, "an unreadable status: " .. tostring(text):sub(1, 200) end
  if st.status == "Success" then return 0 end
  if st.reason == "NonZeroExitCode" then
    for _, c in ipairs(((st.details or {}).causes) or {}) do
      if c.reason == "ExitCode" and tonumber(c.message) then return tonumber(c.message) end
    end
  end
  return nil, tostring(st.message or st.reason or text)
end

return M
