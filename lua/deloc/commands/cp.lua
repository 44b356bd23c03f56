-- deloc cp SERVICE[.COMPONENT]:PATH LOCAL | deloc cp LOCAL SERVICE[.COMPONENT]:PATH
local errors = require("deloc.errors")
local exec = require("deloc.commands.exec")
local targets = require("deloc.targets")

local M = {
  name = "cp",
  order = 26,
  usage = "deloc cp SERVICE[.COMPONENT]:PATH LOCAL | deloc cp LOCAL SERVICE[.COMPONENT]:PATH",
  summary = "copy files out of a service or into it",
  help = [[
Copies a file or a directory tree, as `docker cp` does: into an existing
directory under its own name, otherwise under the name given.  PATH is
absolute in the container.  Copying out, the archive is unpacked safely:
names with '..' or absolute names stop the copy, links that point outside
what is copied are skipped (and listed), nothing already at LOCAL is
followed if it is a link, and set-id bits are dropped; the files belong to
you.  Copying in, they belong to the container's user.  A container with a
read-only root file system takes files only in its volumes.]],
  options = { targets.option, targets.context_option,
    { "replica", arg = "N", help = "which replica (default 1)" } },
}

local function parse_side(word, opts)
  local svc, path = word:match("^([%w_.-]+):(/.*)$")
  if not svc then
    if word:match("^[%w_.-]+:") then
      return nil, errors.new("USAGE", ("'%s': the path in the container must be absolute"):format(word))
    end
    return { path = word }
  end
  local target, err = exec.target(svc, opts)
  if not target then return nil, err end
  target.path = path
  return target
end

local function human(n)
  if n >= 1048576 then return ("%.1f MiB"):format(n / 1048576) end
  if n >= 1024 then return ("%.1f KiB"):format(n / 1024) end
  return n .. " B"
end

-- Progress on stderr when it is a terminal, at most ~5 times a second.
local function progress(opts)
  if opts.json or not require("deloc.term").isatty("stderr") then return nil end
  local sys = require("deloc.sys")
  local last = 0
  return function(bytes, name)
    local now = sys.now()
    if now - last < 0.2 then return end
    last = now
    io.stderr:write(("\r\27[Kcopying %s  %s"):format(human(bytes), tostring(name or ""):sub(-50)))
  end
end

local function copy(opts, from, to, on_progress)
  local s, err = exec.session(opts, "cp")
  if not s then return nil, err end
  local out
  out, err = s.driver.cp(s, from.service and from or from.path, to.service and to or to.path,
    { on_progress = on_progress })
  s:close()
  return out, err
end

function M.run(opts, rest)
  if #rest ~= 2 then
    return nil, errors.new("USAGE", "cp needs a source and a destination", { hint = M.usage })
  end
  local from, err = parse_side(rest[1], opts)
  if not from then return nil, err end
  local to
  to, err = parse_side(rest[2], opts)
  if not to then return nil, err end
  if (from.service ~= nil) == (to.service ~= nil) then
    return nil, errors.new("USAGE", "one side must be SERVICE:PATH and the other a local path", { hint = M.usage })
  end
  local on_progress = progress(opts)
  local summary
  summary, err = copy(opts, from, to, on_progress)
  if on_progress then io.stderr:write("\r\27[K") end
  if not summary then return nil, err end
  if opts.json then
    require("deloc.cmdutil").print_json(summary)
  else
    for _, s in ipairs(summary.skipped or {}) do io.stderr:write("skipped: ", s, "\n") end
    io.stdout:write(("copied %d file%s, %s\n"):format(summary.files, summary.files == 1 and "" or "s",
      human(summary.bytes)))
  end
  return 0
end

return M
