-- deloc connect SERVICE [COMMAND] [-- ARGS...]
--
-- What to run is the recipe's `connect` (data: exec, commands, url); this
-- command only picks it and hands it to `exec`.  Credentials: recipes read
-- the secret files mounted in the container (/run/secrets/...) inside the
-- container's own shell, so a password never travels on a command line
-- (world-readable in /proc/PID/cmdline and reported by `docker events`) or
-- in the exec's environment (stored by the engine).  At most it reaches the
-- environment of the client process itself, which Linux shows only to that
-- uid and root - who can read the secret file anyway - or a 0600 file in a
-- private directory (postgres' pgpass).
local errors = require("deloc.errors")
local exec = require("deloc.commands.exec")
local targets = require("deloc.targets")

local M = {
  name = "connect",
  order = 25,
  usage = "deloc connect [-T] SERVICE [COMMAND] [-- ARGS...]",
  summary = "open the service's own client, logged in (psql, redis-cli, ...)",
  help = [[
Runs the service's client inside its container with the project's
credentials: postgres -> psql, redis -> redis-cli, kafka -> a console
consumer (or: producer, topics), trino -> the trino CLI, minio -> mc;
jupyter prints the URL with its token.  ARGS go to the client
(`deloc connect postgres -- -c 'select 1'`, `deloc connect kafka producer
-- --topic t`).  The password never appears on a command line or in an
environment others can read: the client reads it from the secret file inside
the container.]],
  raw_args = true,
  options = { targets.option, targets.context_option,
    { "no-tty", "T", help = "no terminal even when stdin and stdout are one" } },
}

local function secret_value(opts, svc, name)
  local project, err = require("deloc.cmdutil").project(opts)
  if not project then return nil, err end
  local path = require("deloc.state").secrets_dir(project.dir) .. "/" .. svc .. "." .. name
  local v = require("deloc.sys").read_file(path)
  if not v then
    return nil, errors.new("SERVICE_NOT_FOUND", ("no secret %s.%s in this project"):format(svc, name),
      { hint = "'deloc up " .. svc .. "' generates it" })
  end
  return (v:gsub("%s+$", ""))
end

-- The host port published for a container port of the running service
-- (the status rows' "127.0.0.1:HOST->PORT/tcp").
local function host_port(opts, target, container_port)
  local s, err = exec.session(opts, "status")
  if not s then return nil, err end
  local rows
  rows, err = s.driver.status(s, { services = { target.service } })
  s:close()
  if not rows then return nil, err end
  for _, r in ipairs(rows) do
    for _, p in ipairs(r.component == target.component and r.ports or {}) do
      local host = p:match(":(%d+)%->" .. container_port .. "/tcp$")
      if host then return host end
    end
  end
  return nil, errors.new("SERVICE_NOT_FOUND", ("%s publishes no port for %d (is it up?)"):format(
    target.service, container_port))
end

local function fill_url(opts, recipe, target, tmpl)
  local comp = recipe.components[target.component]
  local err
  local url = tmpl:gsub("{([%w_:.-]+)}", function(tag)
    if err then return "" end
    if tag == "host" then return "127.0.0.1" end
    local kind, arg = tag:match("^(%a+):(.+)$")
    local v, e
    if kind == "port" and comp.ports[arg] then
      v, e = host_port(opts, target, comp.ports[arg].port)
    elseif kind == "secret" then
      v, e = secret_value(opts, target.service, arg)
    else
      e = errors.new("CONFIG_INVALID", ("%s: connect.url: unknown placeholder '{%s}'"):format(recipe.path or recipe.name, tag))
    end
    err = e
    return v or ""
  end)
  if err then return nil, err end
  return url
end

function M.run(opts, rest)
  local o, target, after = exec.start(M, opts, rest)
  if not o then return o == false and 0 or nil, target end
  local err
  local recipe
  recipe, err = require("deloc.api").recipe(target.service, { file = o.file })
  if not recipe then return nil, err end
  local conn = recipe.connect
  if not conn then
    return nil, errors.new("USAGE", ("'%s' has no client to connect with"):format(target.service),
      { hint = "'deloc shell " .. target.service .. "' opens a shell in it" })
  end
  target.component = target.component or conn.component
  local argv, i = conn.exec, 2
  if after[2] and after[2] ~= "--" and conn.commands[after[2]] then
    argv, i = conn.commands[after[2]], 3
  elseif after[2] and after[2] ~= "--" then
    local names = {}
    for n in pairs(conn.commands) do names[#names + 1] = n end
    table.sort(names)
    return nil, errors.new("USAGE", ("'%s' is not a client of %s"):format(after[2], target.service),
      { hint = #names > 0 and ("one of: " .. table.concat(names, ", ") .. "; arguments for the client go after --")
        or "arguments for the client go after --" })
  end
  if conn.url and not argv then
    local url
    url, err = fill_url(o, recipe, target, conn.url)
    if not url then return nil, err end
    if o.json then require("deloc.cmdutil").print_json({ service = target.service, url = url })
    else io.stdout:write(url, "\n") end
    return 0
  end
  if not argv then return nil, errors.new("USAGE", ("name one of %s's clients"):format(target.service)) end
  argv = { unpack(argv) }
  if after[i] == "--" then i = i + 1 end
  for j = i, #after do argv[#argv + 1] = after[j] end
  return exec.exec(o, target, argv, { tty = exec.want_tty(o), stdin = true })
end

return M
