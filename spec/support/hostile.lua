-- spec/support/hostile.lua: deterministic hostile strings for the specs that
-- feed attacker-controlled text to deloc's generators.
--
--   local hostile = dofile("spec/support/hostile.lua")
--   local gen = hostile.new(seed)      -- a generator of its own (no math.random)
--   gen:string([opts]) -> text          one to four hostile atoms with filler between
--     opts.utf8 = true: only valid UTF-8 (no lone bytes);  opts.max: cap the length
--   gen:int(n) -> 1..n;  gen:pick(list) -> an element
--   hostile.ATOMS: what the strings are made of (line breaks of every kind,
--   document markers, comments, template actions, interpolation, NUL, ESC,
--   placeholders, YAML indicators, long text, bytes that are not UTF-8)
--   hostile.utf8(s) -> true when s is valid UTF-8
local M = {}

M.ATOMS = {
  "\n", "\r", "\r\n", "\n\n", "\194\133" --[[ NEL ]], "\226\128\168" --[[ LS ]],
  "\226\128\169" --[[ PS ]], "\n---\n", "---", "...", "\n...\n", "# c", " #x", "#",
  "{{ .Release.Name }}", "{{", "}}", "{{- /* x */ -}}", '{{ "{{" }}', "$", "${X}", "$X", "$$", "${X:-y}",
  "\0", "\27[31m", "\27]0;t\7", "\t", ": ", "- ", "? ", "&a", "*a", "!!str", "|", ">", "%",
  "@", "`", "'", '"', "\\", "\\n", "null", "true", "0777", "~", "", "__DELOC_V1__",
  "__DELOC_B2__", "__DELOC0_V1__", "\nkind: ConfigMap\n", "\rapiVersion: v1\r",
  "\239\187\191" --[[ BOM ]], "\240\159\152\128", "\255", "\192\128", "\237\160\128",
}

-- atoms that are not valid UTF-8
local BAD = { ["\255"] = true, ["\192\128"] = true, ["\237\160\128"] = true }

function M.utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, min
    if c < 0x80 then len, min = 1, 0
    elseif c >= 0xc2 and c < 0xe0 then len, min = 2, 0x80
    elseif c >= 0xe0 and c < 0xf0 then len, min = 3, 0x800
    elseif c >= 0xf0 and c < 0xf5 then len, min = 4, 0x10000
    else return false end
    local v = len == 1 and c or c % (2 ^ (7 - len))
    for k = 1, len - 1 do
      local b = s:byte(i + k)
      if not b or b < 0x80 or b >= 0xc0 then return false end
      v = v * 64 + b % 64
    end
    if v < min or v > 0x10ffff or (v >= 0xd800 and v <= 0xdfff) then return false end
    i = i + len
  end
  return true
end

local Gen = {}
Gen.__index = Gen

-- Park-Miller minimal standard: the same sequence on every platform
function Gen:next()
  self.state = (self.state * 16807) % 2147483647
  return self.state
end

function Gen:int(n) return self:next() % n + 1 end

function Gen:pick(list) return list[self:int(#list)] end

local FILLER = { "a", "x y", "value", "k=v", "/path", "1", "-", "." }

function Gen:string(opts)
  opts = opts or {}
  local parts = { self:pick(FILLER) }
  for _ = 1, self:int(4) do
    local atom
    repeat atom = self:pick(M.ATOMS) until not (opts.utf8 and BAD[atom])
    parts[#parts + 1] = atom
    if self:int(3) == 1 then parts[#parts + 1] = self:pick(FILLER) end
  end
  if not opts.max and self:int(25) == 1 then
    parts[#parts + 1] = ("long text "):rep(600) -- 6000 bytes
  end
  local s = table.concat(parts)
  if opts.max then s = s:sub(1, opts.max) end
  if opts.utf8 then
    while not M.utf8(s) do s = s:sub(1, -2) end -- a cut may split a character
  end
  return s
end

function M.new(seed)
  local s = math.floor(tonumber(seed) or 20261204) % 2147483647
  if s == 0 then s = 1 end
  return setmetatable({ state = s }, Gen)
end

return M
