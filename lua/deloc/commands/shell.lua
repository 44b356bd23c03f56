-- deloc shell [-T] [-u USER] [-w DIR] [-e K=V] SERVICE[.COMPONENT]
local exec = require("deloc.commands.exec")

local M = {
  name = "shell",
  order = 25,
  usage = "deloc shell [-T] [-u USER] [-w DIR] [-e K=V] SERVICE[.COMPONENT]",
  summary = "open a shell in a running service (bash if it has one, else sh)",
  help = [[
`deloc exec SERVICE` with the image's own shell: bash when the image has it,
else sh.  On a terminal it is interactive; with stdin a pipe, the shell reads
its commands from it (`echo 'id -u' | deloc shell postgres`).]],
  raw_args = true,
  options = exec.common_options,
}

-- sh looks for bash itself: the image decides, not deloc.
M.ARGV = { "/bin/sh", "-c",
  'if command -v bash >/dev/null 2>&1; then exec bash "$@"; else exec sh "$@"; fi', "sh" }

function M.run(opts, rest)
  local o, target, after = exec.start(M, opts, rest)
  if not o then return o == false and 0 or nil, target end
  local err
  if after[2] then
    return nil, require("deloc.errors").new("USAGE", "shell takes no command",
      { hint = "deloc exec " .. after[1] .. " -- CMD..." })
  end
  local env
  env, err = exec.env(o)
  if not env then return nil, err end
  local argv = { unpack(M.ARGV) }
  local tty = exec.want_tty(o)
  if tty then argv[#argv + 1] = "-i" end
  return exec.exec(o, target, argv, { tty = tty, stdin = true, env = env,
    user = o.user, workdir = o.workdir })
end

return M
