-- deloc exec [-T] [-u USER] [-w DIR] [-e K=V] SERVICE[.COMPONENT] [--] CMD...
--
-- Also the shared part of `shell` and `connect`: the target parsing, the
-- options and the one function that reaches a target (M.exec), so the three
-- commands know no target.
local errors = require("deloc.errors")
local term = require("deloc.term")
local targets = require("deloc.targets")

local M = {
  name = "exec",
  order = 24,
  usage = "deloc exec [-T] [-u USER] [-w DIR] [-e K=V] SERVICE[.COMPONENT] [--] CMD [ARGS...]",
  summary = "run a command in a running service",
  help = [[
Runs CMD in the service's container (SERVICE.COMPONENT names a component of a
service that has several; --replica picks a replica, default 1).  With stdin
and stdout both terminals it gets a terminal of its own: the local one is put
in raw mode (and restored when it ends, whatever ends it) and its size follows
this window's.  Otherwise (or with -T) its output keeps stdout and stderr apart.
Stdin is streamed to it; end of input closes its stdin, so
`echo hi | deloc exec redis -- cat` prints hi.  deloc exits with the
command's own exit status.  Options go before SERVICE; everything after it is
the command.]],
  raw_args = true,
}

M.common_options = {
  targets.option, targets.context_option,
  { "no-tty", "T", help = "no terminal even when stdin and stdout are one" },
  { "user", "u", arg = "USER", help = "run as this user (name or uid[:gid])" },
  { "workdir", "w", arg = "DIR", help = "working directory in the container" },
  { "env", "e", arg = "K=V", many = true, help = "set an environment variable (repeatable)" },
  { "replica", arg = "N", help = "which replica (default 1)" },
}
M.options = M.common_options

local function usage(msg, hint)
  return nil, errors.new("USAGE", msg, { hint = hint })
end

-- The command's options parsed up to SERVICE; the rest is SERVICE and what
-- follows, untouched.  raw_args: `deloc exec redis ls -l` must not read -l.
function M.parse(cmd, opts, rest)
  local cli = require("deloc.cli")
  local parsed, after = require("deloc.args").parse(rest,
    cli.options_of({ options = cmd.options }), 1, true)
  if not parsed then return nil, after end
  for k, v in pairs(opts) do if parsed[k] == nil then parsed[k] = v end end
  return parsed, after
end

-- What exec, shell and connect do first: options up to SERVICE, --help,
-- the target.  -> o, target, after | false (help was shown) | nil, err
function M.start(cmd, opts, rest)
  local o, after = M.parse(cmd, opts, rest)
  if not o then return nil, after end
  if o.help then
    io.stdout:write(require("deloc.cli").help_text(cmd))
    return false
  end
  local target, err = M.target(after[1], o, cmd.usage)
  if not target then return nil, err end
  return o, target, after
end

-- "spark.worker" -> { service = "spark", component = "worker", replica = n }
function M.target(word, opts, hint)
  if not word or word == "" then return usage("which service?", hint or "deloc exec SERVICE CMD...") end
  local svc, comp = word:match("^([%w_-]+)%.([%w_-]+)$")
  svc = svc or word:match("^[%w_-]+$")
  if not svc then return usage(("'%s' is not SERVICE or SERVICE.COMPONENT"):format(word)) end
  local replica
  if opts.replica then
    replica = tonumber(opts.replica)
    if not replica or replica < 1 or replica % 1 ~= 0 then return usage("--replica needs a number from 1") end
  end
  return { service = svc, component = comp, replica = replica }
end

-- K=V list from -e, checked.
function M.env(opts)
  local out = {}
  for _, kv in ipairs(opts.env or {}) do
    if not kv:match("^[%a_][%w_]*=") then
      return usage(("-e %s: want NAME=VALUE"):format(kv))
    end
    out[#out + 1] = kv
  end
  return out
end

-- Should the process get a terminal?  Both ends must be one, as docker -it.
function M.want_tty(opts)
  if opts.no_tty then return false end
  return term.isatty("stdin") and term.isatty("stdout")
end

-- The project's session on its target (deloc.session), for a driver verb
-- ("exec", "cp", "status").  When the target cannot be reached, a driver
-- that has no such verb at all says so instead (it answers without a
-- connection: Kubernetes' exec and cp), which is the more useful error.
-- -> s | nil, err;  the caller closes it
function M.session(opts, verb)
  local cmdutil = require("deloc.cmdutil")
  local s, err = cmdutil.open(opts, { lazy = true })
  if s then return s end
  local bare = cmdutil.open(opts, { connect = false })
  if bare then
    local ok, r, uerr = pcall(bare.driver[verb], bare, { service = "-" }, {}, {})
    bare:close()
    if ok and r == nil and errors.is(uerr) and uerr.code == "USAGE" then return nil, uerr end
  end
  return nil, err
end

-- Runs argv in target with the terminal or pipes of this process, through
-- the target's driver.  eopts = { tty=, stdin=, env=, user=, workdir= }
-- -> exit code | nil, err
function M.exec(opts, target, argv, eopts)
  local s, err = M.session(opts, "exec")
  if not s then return nil, err end
  local r
  r, err = s.driver.exec(s, target, argv, eopts)
  s:close()
  if not r then return nil, err end
  return r.code
end

function M.run(opts, rest)
  local o, target, after = M.start(M, opts, rest)
  if not o then return o == false and 0 or nil, target end
  local err
  local argv = {}
  for i = 2, #after do argv[#argv + 1] = after[i] end
  if argv[1] == "--" then table.remove(argv, 1) end
  if #argv == 0 then return usage("exec needs a command", "deloc exec " .. after[1] .. " -- CMD [ARGS...]") end
  local env
  env, err = M.env(o)
  if not env then return nil, err end
  return M.exec(o, target, argv, { tty = M.want_tty(o), stdin = true, env = env,
    user = o.user, workdir = o.workdir })
end

return M
