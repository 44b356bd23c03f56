-- deloc.term: is a stream a terminal, how wide is it, and colour that honours
-- NO_COLOR (https://no-color.org) and never colours a pipe.
--
--   io.stderr:write(term.colorize("stderr", "red", "error:"), " no such service\n")
--
-- A stream is "stdin" | "stdout" | "stderr", io.stdin/io.stdout/io.stderr, or
-- a file descriptor number.
local native = require("deloc.native.term")

local M = {}

local names = { stdin = 0, stdout = 1, stderr = 2 }

local function fd_of(stream, fn)
  if stream == nil then return 1 end
  if type(stream) == "number" and stream >= 0 and stream % 1 == 0 then return stream end
  if names[stream] then return names[stream] end
  if stream == io.stdout then return 1 end
  if stream == io.stderr then return 2 end
  if stream == io.stdin then return 0 end
  error(("term.%s: unknown stream '%s' (use \"stdout\", \"stderr\", \"stdin\" or an fd)")
    :format(fn, tostring(stream)), 3)
end

-- term.isatty([stream = "stdout"]) -> boolean
function M.isatty(stream)
  return native.isatty(fd_of(stream, "isatty"))
end

-- term.width([stream = "stdout"]) -> columns: the terminal's, else $COLUMNS,
-- else 80.
function M.width(stream)
  local w = native.width(fd_of(stream, "width"))
  if w then return w end
  local cols = tonumber(os.getenv("COLUMNS") or "")
  if cols and cols > 0 and cols % 1 == 0 then return cols end
  return 80
end

-- term.color_enabled([stream = "stdout"] [, mode = "auto"]) -> boolean
-- "auto": off when NO_COLOR is set to anything non-empty, when TERM is
-- "dumb", or when the stream is not a terminal.  "always"/"never" decide
-- outright (for a --color flag).
function M.color_enabled(stream, mode)
  mode = mode or "auto"
  local fd = fd_of(stream, "color_enabled")
  if mode == "always" then return true end
  if mode == "never" then return false end
  if mode ~= "auto" then
    error(("term.color_enabled: mode must be \"auto\", \"always\" or \"never\", got '%s'")
      :format(tostring(mode)), 2)
  end
  local no_color = os.getenv("NO_COLOR")
  if no_color and no_color ~= "" then return false end
  if os.getenv("TERM") == "dumb" then return false end
  return native.isatty(fd)
end

-- SGR codes of the styles colorize knows.
M.styles = {
  reset = 0, bold = 1, dim = 2, italic = 3, underline = 4, inverse = 7,
  black = 30, red = 31, green = 32, yellow = 33, blue = 34, magenta = 35,
  cyan = 36, white = 37, gray = 90, grey = 90,
}

local function sgr(style)
  local codes = {}
  for word in style:gmatch("%S+") do
    local code = M.styles[word]
    if not code then
      error(("term.colorize: unknown style '%s'"):format(word), 3)
    end
    codes[#codes + 1] = code
  end
  if #codes == 0 then error("term.colorize: empty style", 3) end
  return "\27[" .. table.concat(codes, ";") .. "m"
end

-- term.colorize(stream | enabled, style, text) -> text, wrapped in the style's
-- escape codes when colour is on for that stream.  style is one name or
-- several separated by spaces ("bold red").  Pass a boolean instead of the
-- stream to decide once for many calls.
function M.colorize(stream, style, text)
  if type(style) ~= "string" then error("term.colorize: style must be a string", 2) end
  text = tostring(text)
  local on
  if type(stream) == "boolean" then
    on = stream
  else
    fd_of(stream, "colorize")
    on = M.color_enabled(stream)
  end
  local start = sgr(style) -- an unknown style is a bug even when colour is off
  if not on or text == "" then return text end
  return start .. text .. "\27[0m"
end

-- escape(s [, keep_newlines]) -> s with control characters made visible:
-- ESC as \e, CR as \r, tab as \t, other C0 bytes and DEL as \xNN, C1
-- controls (U+0080..U+009F, e.g. the 8-bit CSI) as \u0080.., and bytes that
-- are not UTF-8 as \xNN.  Text from recipes, deloc.yaml or the engine goes
-- through it before a terminal sees it: a string must not move the cursor,
-- rewrite a line or set the window title.  keep_newlines: "\n" stays.
local named = { ["\27"] = "\\e", ["\r"] = "\\r", ["\t"] = "\\t", ["\n"] = "\\n" }

local function escape_high(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local b = s:byte(i)
    local len = b < 0x80 and 1 or b >= 0xC2 and b <= 0xDF and 2 or b >= 0xE0 and b <= 0xEF and 3
      or b >= 0xF0 and b <= 0xF4 and 4 or 0
    local ok = len > 0 and i + len - 1 <= n
    for k = i + 1, i + len - 1 do
      local c = ok and s:byte(k)
      if not c or c < 0x80 or c > 0xBF then ok = false end
    end
    if not ok then
      out[#out + 1] = ("\\x%02x"):format(b)
      i = i + 1
    elseif len == 2 and b == 0xC2 and s:byte(i + 1) <= 0x9F then
      out[#out + 1] = ("\\u%04x"):format(s:byte(i + 1))
      i = i + 2
    else
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    end
  end
  return table.concat(out)
end

function M.escape(s, keep_newlines)
  s = tostring(s)
  local controls = keep_newlines and "[%z\1-\9\11-\31\127]" or "[%z\1-\31\127]"
  s = s:gsub(controls, function(c) return named[c] or ("\\x%02x"):format(c:byte()) end)
  if s:find("[\128-\255]") then s = escape_high(s) end
  return s
end

return M
