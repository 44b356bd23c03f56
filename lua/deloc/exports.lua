-- deloc.exports: what a program on the host needs to reach the stack
-- (DATABASE_URL, PGHOST, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS, AWS_ENDPOINT_URL,
-- ...), declared by recipes as data and filled from the plan:
--
--   exports = { DATABASE_URL = "postgresql://deloc:{secret_url:password}@{host}:{port:postgres}/deloc",
--               PGPASSWORD = "{secret:password}" }
--
-- Placeholders: {host} (127.0.0.1), {port:NAME} (the host port), {service},
-- {project}, {secret:NAME} (the value), {secret_url:NAME} (percent-encoded,
-- for URLs).  The plan keeps each export as parts, secrets by reference:
--   plan.services.postgres.exports = { DATABASE_URL = { "postgresql://deloc:",
--     { secret = "postgres.password", url = true }, "@127.0.0.1:5433/deloc" } }
-- values() reads the secret files (.deloc/secrets/) only when asked.
--
--   exports.parts(recipe, svc, host_port, project) -> exports | nil, err
--   exports.values(plan, root, services) -> { { name=, value=, service= } } | nil, err
local errors = require("deloc.errors")
local array = require("deloc.array")

local M = {}

function M.parts(r, svc, host_port, project)
  local out = {}
  for name, tmpl in pairs(r.exports or {}) do
    local parts, pos, bad = array.of({}), 1, nil
    local function text(t)
      if t == "" then return end
      if type(parts[#parts]) == "string" then parts[#parts] = parts[#parts] .. t else parts[#parts + 1] = t end
    end
    for s, tag, e in tmpl:gmatch("(){([%w_:.-]+)}()") do
      text(tmpl:sub(pos, s - 1))
      pos = e
      local kind, arg = tag:match("^([%a_]+):(.+)$")
      if tag == "host" then text("127.0.0.1")
      elseif tag == "service" then text(svc)
      elseif tag == "project" then text(project)
      elseif kind == "port" and host_port(arg) then text(tostring(host_port(arg)))
      elseif (kind == "secret" or kind == "secret_url") and r.secrets[arg] then
        parts[#parts + 1] = { secret = svc .. "." .. arg, url = kind == "secret_url" or nil }
      else
        bad = bad or tag
      end
    end
    text(tmpl:sub(pos))
    if bad then
      return nil, errors.new("CONFIG_INVALID", ("%s: exports.%s: unknown placeholder '{%s}' "
        .. "(host, port:NAME, secret:NAME, secret_url:NAME)"):format(r.path or svc, name, bad))
    end
    out[name] = parts
  end
  return out
end

local function url_encode(s)
  return (s:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- values(plan, root, services) -> rows sorted by service then name | nil, err
function M.values(plan, root, services)
  local state = require("deloc.state")
  local want
  if services and #services > 0 then
    want = {}
    for _, s in ipairs(services) do want[s] = true end
  end
  local rows, cache = {}, {}
  for _, sname in ipairs(plan.order or {}) do
    if not want or want[sname] then
      local ex = plan.services[sname].exports or {}
      for _, name in ipairs(array.sorted_keys(ex)) do
        local buf = {}
        for _, p in ipairs(ex[name]) do
          if type(p) == "string" then
            buf[#buf + 1] = p
          else
            local v = cache[p.secret]
            if not v then
              local err
              v, err = state.at(root):read(state.secret_rel(p.secret), 65536)
              if not v then
                return nil, errors.new("SERVICE_NOT_FOUND", ("secret '%s' does not exist yet"):format(p.secret),
                  { hint = "deloc up creates it (or give it in deloc.yaml: secrets: { " .. p.secret .. ": { file: ... } })", cause = err })
              end
              cache[p.secret] = v
            end
            buf[#buf + 1] = p.url and url_encode(v) or v
          end
        end
        rows[#rows + 1] = { service = sname, name = name, value = table.concat(buf) }
      end
    end
  end
  return rows
end

-- shell_quote(s) -> 's' with every ' as '\'' : safe for eval in sh, bash, zsh
function M.shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- dotenv_quote(s): Compose's .env reading: single quotes are literal, but
-- cannot hold a single quote or a newline; double quotes then, escaped
function M.dotenv_quote(s)
  if not s:find("['\n\r]") then return "'" .. s .. "'" end
  return '"' .. s:gsub('[\\"$\n\r]', { ["\\"] = "\\\\", ['"'] = '\\"', ["$"] = "$$", ["\n"] = "\\n", ["\r"] = "\\r" }) .. '"'
end

return M
