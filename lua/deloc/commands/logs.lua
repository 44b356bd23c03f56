-- deloc logs [--follow] [--tail N] [--since T] [SERVICES...]
local cmdutil = require("deloc.cmdutil")

local M = {
  name = "logs",
  order = 22,
  usage = "deloc logs [SERVICES...] [--follow] [--tail N] [--since T] [--timestamps]",
  summary = "show the services' logs, merged in time order",
  help = [[
Each line is prefixed with its service (and component and replica); lines of
several services are merged in time order.  --follow keeps following until every
container stops or Ctrl-C.  --since takes a duration (10m, 2h), an RFC 3339
time (2026-11-27T06:00:00Z, 2026-11-27T07:00:00+01:00; without a zone: local
time; a date alone: its midnight) or a unix time, as docker does.]],
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "follow", help = "keep printing new lines (-f is --file, as in every command)" },
    { "tail", "n", arg = "N", help = "only the last N lines of each container (default: all)" },
    { "since", arg = "T", help = "only lines newer than T (10m, 2h, 2026-11-27T06:00:00Z, or a unix time)" },
    { "timestamps", help = "show each line's timestamp (-t is --target)" },
  },
}

local palette = { "cyan", "yellow", "green", "magenta", "blue", "red" }

function M.run(opts, rest)
  if opts.tail and not tonumber(opts.tail) then
    return nil, require("deloc.errors").new("USAGE", "--tail needs a number of lines")
  end
  local s, err = cmdutil.open(opts)
  if not s then return nil, err end
  local since
  if opts.since then
    since, err = s.driver.since(opts.since)
    if not since then return nil, err end
  end
  local term = require("deloc.term")
  local on = cmdutil.color(opts)
  local colours, n = {}, 0
  local width = 0
  local out = io.stdout
  if opts.follow then cmdutil.catch_signals() end
  local count
  count, err = s.driver.logs(s, {
    services = rest, follow = opts.follow, tail = opts.tail, since = since, timestamps = opts.timestamps,
    on_keys = function(keys)
      for _, k in ipairs(keys) do if #k > width then width = #k end end
    end,
    on_line = function(l)
      if #l.key > width then width = #l.key end
      local prefix = ("%-" .. width .. "s |"):format(l.key)
      if on then
        local col = colours[l.service or l.key]
        if not col then
          n = n + 1
          col = palette[(n - 1) % #palette + 1]
          colours[l.service or l.key] = col
        end
        prefix = term.colorize(true, col, prefix)
      end
      if opts.json then
        out:write(require("deloc.json").encode({ service = l.service, component = l.component,
          key = l.key, stream = l.stream, time = l.time, text = l.text }), "\n")
      elseif opts.timestamps and l.time then
        out:write(prefix, " ", l.time, " ", l.text, "\n")
      else
        out:write(prefix, " ", l.text, "\n")
      end
      if opts.follow then out:flush() end
    end,
  })
  if opts.follow then cmdutil.release_signals() end
  if not count then return nil, err end
  if count == 0 then
    io.stderr:write(("%s%s\n"):format(cmdutil.nothing_deployed(s.project),
      (rest and #rest > 0) and (" (" .. table.concat(rest, ", ") .. ")") or ""))
  end
  return 0
end

return M
