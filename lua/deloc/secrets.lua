-- deloc.secrets: secret values the user gives instead of generated ones.
--
--   secrets:                                   # deloc.yaml
--     postgres.password: { file: ./pw.txt }    # inside the project
--     minio.root_password: { env: MINIO_PW }   # from deloc's environment
--
-- The plan carries where a value comes from (comp.secrets[k].from), never the
-- value.  provide(plan, root) copies each given value into the secret's file,
-- .deloc/secrets/<service>.<name> (mode 0600), before a driver or renderer
-- reads the files: every target then uses one path for generated and given
-- secrets.  Trailing newlines of a file are dropped (`echo pw > pw.txt` means
-- "pw", as the official images' _FILE handling reads it).
--
--   secrets.value(from) -> value | nil, err
--   secrets.provide(plan, root) -> true | nil, err
local errors = require("deloc.errors")

local M = {}

function M.value(from, what)
  local sys = require("deloc.sys")
  if from.env then
    local v = sys.getenv(from.env)
    if v == nil or v == "" then
      return nil, errors.new("CONFIG_INVALID", ("secret %s: environment variable '%s' is not set"):format(what, from.env),
        { hint = ("export %s=... before deloc, or drop the secret from deloc.yaml to have one generated"):format(from.env) })
    end
    return v
  end
  local v, err = sys.read_file(from.file)
  if not v then return nil, errors.wrap("CONFIG_INVALID", err) end
  v = v:gsub("[\r\n]+$", "")
  if v == "" then
    return nil, errors.new("CONFIG_INVALID", ("secret %s: '%s' is empty"):format(what, from.file))
  end
  return v
end

-- unknown(given, service, declared) -> nil | err: a deloc.yaml secret the
-- service's recipe does not declare
function M.unknown(given, service, declared)
  for key in pairs(given or {}) do
    local svc, name = key:match("^([^.]+)%.(.+)$")
    if svc == service and not declared[name] then
      local names = {}
      for k in pairs(declared) do names[#names + 1] = k end
      table.sort(names)
      local c = require("deloc.suggest").closest(name, names)
      return errors.new("CONFIG_INVALID", ("deloc.yaml secrets: service '%s' has no secret '%s'%s"):format(
        service, name, c and (" (did you mean '" .. c .. "'?)") or ""),
        { hint = #names > 0 and ("its secrets: " .. table.concat(names, ", ")) or "it declares no secrets" })
    end
  end
  return nil
end

function M.provide(plan, root)
  local state = require("deloc.state")
  local done = {}
  for _, sname in ipairs(plan.order or {}) do
    for _, comp in pairs(plan.services[sname].components or {}) do
      for _, s in pairs(comp.secrets or {}) do
        local name = s.service .. "." .. s.name
        if s.from and not done[name] then
          done[name] = true
          local v, err = M.value(s.from, name)
          if not v then return nil, err end
          -- below the project without following links (deloc.sys.at)
          local dir, rel = state.at(root), state.secret_rel(name)
          if dir:kind(rel) ~= "file" or dir:read(rel, 65536) ~= v then
            local ok
            ok, err = dir:write(rel, v, 384, 448)
            if not ok then return nil, err end
          end
        end
      end
    end
  end
  return true
end

return M
