-- deloc.k8s.files: a project's mounted files on Kubernetes, where a host path
-- cannot be bound.  Small read-only files become a ConfigMap mounted at the
-- same place; what cannot (writable, a directory with subdirectories, too
-- large, names a ConfigMap key cannot take) is left out with the reason,
-- which the Helm chart's NOTES.txt repeats.
--
--   files.config_map(mount) -> { data = {...}, binary = {...}, keys = {...} } | nil, why
local sys = require("deloc.sys")

local M = {}

-- A ConfigMap holds at most 1 MiB; base64 grows binary files by a third.
M.MAX_BYTES = 512 * 1024

-- binaryData is base64 (the Kubernetes client's encoder is a target's; the
-- shared objects keep their own)
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for k = 3, 0, -1 do
      local x = math.floor(n / 64 ^ k) % 64
      q[#q + 1] = B64:sub(x + 1, x + 1)
    end
    if not c then q[4] = "=" end
    if not b then q[3] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end
M.base64 = base64

local function text_safe(s)
  -- printable ASCII and common whitespace only: anything else goes as binaryData
  return not s:find("[^\t\n\r\32-\126]") and not s:find("__DELOC_", 1, true)
end

function M.config_map(m)
  if m.writable then return nil, "writable: a ConfigMap is read-only (use a volume, or mount it read-only)" end
  local entries = {}
  if m.kind == "directory" then
    local names, err = sys.listdir(m.source)
    if not names then return nil, tostring(err) end
    for _, n in ipairs(names) do
      local kind = sys.stat(m.source .. "/" .. n)
      if kind ~= "file" then
        return nil, ("'%s' holds '%s', not a plain file: a ConfigMap is flat"):format(m.source, n)
      end
      entries[#entries + 1] = { key = n, path = m.source .. "/" .. n }
    end
  else
    entries[1] = { key = (m.source:match("([^/]+)$")), path = m.source }
  end
  local data, binary, keys, total = {}, {}, {}, 0
  for _, e in ipairs(entries) do
    if not e.key:match("^[%w._-]+$") then
      return nil, ("file name '%s' cannot be a ConfigMap key"):format(e.key)
    end
    local body, err = sys.read_file(e.path)
    if not body then return nil, tostring(err) end
    total = total + #body
    if total > M.MAX_BYTES then
      return nil, ("over %d KiB: too large for a ConfigMap"):format(math.floor(M.MAX_BYTES / 1024))
    end
    if text_safe(body) then data[e.key] = body
    else binary[e.key] = base64(body) end
    keys[#keys + 1] = e.key
  end
  return { data = data, binary = binary, keys = keys }
end

return M
