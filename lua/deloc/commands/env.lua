-- deloc env [SERVICES...]: the settings a program on the host needs to reach
-- the stack, from the plan's host ports and the project's secret files.
local errors = require("deloc.errors")
local array = require("deloc.array")

local M = {
  name = "env",
  order = 27,
  usage = "deloc env [SERVICES...] [--format shell|dotenv|json]",
  summary = "print connection settings for your own programs (eval \"$(deloc env)\")",
  help = [[
Prints what each service exports for programs on this machine: DATABASE_URL
and PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (postgres), REDIS_URL,
KAFKA_BOOTSTRAP_SERVERS, AWS_ENDPOINT_URL with AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (minio), SPARK_MASTER_URL, TRINO_HOST/TRINO_PORT, ...
Host ports are those of the running stack (the last 'deloc up'); secrets come
from .deloc/secrets/.

  --format shell   export NAME='value' lines: eval "$(deloc env)" (default)
  --format dotenv  NAME='value' lines for a .env file
  --format json    one object (also --json)

The values hold passwords: print them to a pipe or a file only you can read.]],
  options = {
    { "format", arg = "FORMAT", help = "shell (default), dotenv or json" },
  },
}

function M.run(opts, rest)
  local format = opts.json and "json" or (opts.format or "shell")
  if format ~= "shell" and format ~= "dotenv" and format ~= "json" then
    return nil, errors.new("USAGE", ("unknown format '%s'"):format(format), { hint = "--format shell, dotenv or json" })
  end
  local rows, err = require("deloc.api").env({ services = rest, file = opts.file, rows = true })
  if not rows then return nil, err end
  local exports = require("deloc.exports")
  if format == "json" then
    local out = {}
    for _, r in ipairs(rows) do out[r.name] = r.value end
    if next(out) == nil then out = array.of({}) end
    io.stdout:write(require("deloc.json").encode(out, { indent = true }), "\n")
    return 0
  end
  local lines = {}
  for _, r in ipairs(rows) do
    if format == "shell" then
      lines[#lines + 1] = ("export %s=%s"):format(r.name, exports.shell_quote(r.value))
    else
      lines[#lines + 1] = ("%s=%s"):format(r.name, exports.dotenv_quote(r.value))
    end
  end
  if #lines > 0 then io.stdout:write(table.concat(lines, "\n"), "\n") end
  return 0
end

return M
