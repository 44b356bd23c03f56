-- deloc.names: the rules for the names and references that reach generated
-- files, engine objects and Kubernetes objects.  A project may be someone
-- else's repository, so every name from deloc.yaml or a recipe is checked
-- against a strict alphabet before it can reach a Compose file, a chart, a
-- comment or an API path: no control character, line break, quote or
-- template syntax can get through a name.
--
--   local names = require("deloc.names")
--   local ok, why = names.check("profile", "my-profile")  -- true | nil, why
--   names.dns_label(s), names.profile(s), names.option(s), names.secret(s),
--   names.env(s), names.image(s), names.path(s)           -- same shape
--   names.RULES[kind] -> the rule in words, for messages and docs
--
-- `why` says the rule ("must be ..."), so a caller that knows the file and
-- line makes the message: `deloc.yaml:3:3: profile name 'x y' must be ...`.
-- The value itself is never part of `why` (the caller quotes it, escaped).
local M = {}

M.RULES = {
  -- Kubernetes object names, Docker network aliases, Helm chart names
  dns_label = "must be lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 (DNS-1123 label)",
  -- profiles name files (values-<profile>.yaml) and labels
  profile = "must be 1 to 63 letters, digits, '-' and '_', starting and ending with a letter or digit",
  -- recipe options are Lua identifiers (svc.options.NAME)
  option = "must be 1 to 63 letters, digits and '_', not starting with a digit",
  -- secret files (.deloc/secrets/<service>.<name>) and Secret data keys
  secret = "must be 1 to 63 lower-case letters, digits, '-' and '_', starting with a letter or digit",
  -- environment variable names (Compose mapping keys, Kubernetes env names)
  env = "must be letters, digits, '_', '.' and '-', not starting with a digit or '-' (at most 255)",
  -- image references: [registry[:port]/]path[:tag][@digest]
  -- paths inside a container (volumes, tmpfs): Docker's short syntax and
  -- Compose's tmpfs "PATH:OPTIONS" split on ':' and ','
  path = "must be an absolute path of letters, digits and . _ - / @ + only, at most 1024 characters",
  utf8 = "is not UTF-8 text",
  image = "must be an image reference: letters, digits and . _ - / : @ + | only, at most 255 characters",
}

local function sized(s, max)
  return type(s) == "string" and #s >= 1 and #s <= max
end

function M.dns_label(s)
  if sized(s, 63) and s:match("^[a-z0-9][a-z0-9-]*$") and s:sub(-1) ~= "-" then return true end
  return nil, M.RULES.dns_label
end

function M.profile(s)
  if sized(s, 63) and s:match("^[%w][%w_-]*$") and s:sub(-1):match("%w") then return true end
  return nil, M.RULES.profile
end

function M.option(s)
  if sized(s, 63) and s:match("^[%a_][%w_]*$") then return true end
  return nil, M.RULES.option
end

function M.secret(s)
  if sized(s, 63) and s:match("^[a-z0-9][a-z0-9_-]*$") then return true end
  return nil, M.RULES.secret
end

function M.env(s)
  if sized(s, 255) and s:match("^[%a_][%w_.-]*$") then return true end
  return nil, M.RULES.env
end

function M.image(s)
  -- ('|' for placeholders like Airflow's "apache/airflow:|version|", which
  -- deloc import keeps as the guide wrote them)
  if sized(s, 255) and s:match("^[%w][%w._/:@+|-]*$") then return true end
  return nil, M.RULES.image
end

function M.path(s)
  if sized(s, 1024) and s:match("^/[%w._/@+-]*$") then return true end
  return nil, M.RULES.path
end

-- names.utf8(s) -> true | nil, why: s is UTF-8 text (what a generated
-- file can hold: YAML is Unicode; bytes that are not text are refused where
-- they come from, with the file and line, not deep inside a renderer)
function M.utf8(s)
  if type(s) ~= "string" then return nil, "must be text" end
  if not s:find("[\128-\255]") then return true end
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, v, min = 1, c, 0
    if c >= 0xf0 and c < 0xf5 then len, v, min = 4, c - 0xf0, 0x10000
    elseif c >= 0xe0 and c < 0xf0 then len, v, min = 3, c - 0xe0, 0x800
    elseif c >= 0xc2 and c < 0xe0 then len, v, min = 2, c - 0xc0, 0x80
    elseif c >= 0x80 then return nil, M.RULES.utf8 end
    for k = 1, len - 1 do
      local b = s:byte(i + k)
      if not b or b < 0x80 or b >= 0xc0 then return nil, M.RULES.utf8 end
      v = v * 64 + (b - 0x80)
    end
    if v < min or v > 0x10ffff or (v >= 0xd800 and v <= 0xdfff) then return nil, M.RULES.utf8 end
    i = i + len
  end
  return true
end

-- names.check(kind, s) -> true | nil, why
function M.check(kind, s)
  local f = M[kind]
  if type(f) ~= "function" or not M.RULES[kind] then
    error("names.check: unknown kind '" .. tostring(kind) .. "'", 2)
  end
  return f(s)
end

-- names.quote(s) -> s for a message: printable ASCII kept, every other byte
-- written \xHH (a name that failed the check may hold anything)
function M.quote(s)
  return "'" .. tostring(s):sub(1, 80):gsub("[^\32-\126]", function(c)
    return ("\\x%02X"):format(c:byte())
  end) .. (#tostring(s) > 80 and "...'" or "'")
end

return M
