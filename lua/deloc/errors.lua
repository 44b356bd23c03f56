-- deloc.errors: the one shape of an expected failure, and its exit code.
--
--   local err = errors.new("CONFIG_INVALID", "deloc.yaml:3:5: unknown key 'profil'",
--                          { hint = "did you mean 'profile'?" })
--   return nil, err
--
-- An error is a table { code=, message=, context=, hint= } that prints as its
-- message (and hint); `errors.exit_code(err)` gives the CLI's exit status.
local M = {}

-- Exit codes per class, stable for scripts: 2 is usage, as in every Unix tool.
M.exit_codes = {
  USAGE = 2,
  CONFIG_INVALID = 3,
  SERVICE_NOT_FOUND = 3,
  RESOURCE_EXHAUSTED = 4,
  ENGINE_UNAVAILABLE = 5,
  NETWORK_ERROR = 5,
  DEPLOYMENT_FAILED = 6,
  TIMEOUT = 6,
  BUSY = 7,
  UNHEALTHY = 8,
  IO_ERROR = 1,
  INTERRUPTED = 130,
}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  if e.hint then
    return e.message .. "\nhint: " .. e.hint
  end
  return e.message
end

function M.new(code, message, extra)
  assert(M.exit_codes[code], "unknown error code " .. tostring(code))
  local e = { code = code, message = message }
  if extra then
    for k, v in pairs(extra) do
      e[k] = v
    end
  end
  return setmetatable(e, Error)
end

function M.is(value)
  return getmetatable(value) == Error
end

-- Wraps a low-level "what: why" string (or passes an error table through).
function M.wrap(code, err, extra)
  if M.is(err) then
    return err
  end
  return M.new(code, tostring(err), extra)
end

function M.exit_code(err)
  return M.is(err) and M.exit_codes[err.code] or 1
end

-- The plain table for --json output (no metatable, no functions).
function M.data(err)
  if not M.is(err) then
    return { code = "ERROR", message = tostring(err) }
  end
  local t = {}
  for k, v in pairs(err) do
    if type(v) ~= "function" then
      t[k] = v
    end
  end
  return t
end

return M
