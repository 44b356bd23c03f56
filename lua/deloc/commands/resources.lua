-- deloc resources: what this machine offers the planner, and where each
-- figure comes from.
local M = {
  name = "resources",
  order = 35,
  usage = "deloc resources [--reserve PERCENT] [--json]",
  summary = "show the CPU, memory and disk detected and what the planner may use",
  options = {
    require("deloc.targets").option, require("deloc.targets").context_option,
    { "reserve", arg = "PERCENT", help = "safety margin kept free (default: the project's, else 15%)" },
  },
}

function M.run(opts)
  local api = require("deloc.api")
  local reserve
  if opts.reserve then
    local err
    reserve, err = require("deloc.planner").reserve(opts.reserve)
    if not reserve then return nil, err end
  else
    local p = api.project(opts.file)
    reserve = p and p.reserve or nil
  end
  -- The target's own size counts (for Docker the smaller of the engine and
  -- this machine for a local engine; its own for a remote one).
  local sess, serr = require("deloc.cmdutil").open(opts, { lazy = true })
  if not sess then return nil, serr end
  local cap, cerr = sess.driver.capacity(sess)
  if not cap then return nil, cerr end
  local capacity = cap.cpu and cap or nil
  local engine_note = cap.warning
  local r, err = api.resources({ reserve = reserve, capacity = capacity })
  if not r then return nil, err end
  if opts.json then
    io.stdout:write(require("deloc.json").encode(r, { indent = true }), "\n")
    return 0
  end
  local q = require("deloc.quantity")
  local src = r.source or {}
  local rows = {
    { "cpu", q.format_cpu(r.cpu), q.format_cpu(r.usable.cpu), src.cpu or "" },
    { "memory", q.format_memory(r.memory), q.format_memory(r.usable.memory), src.memory or "" },
    { "disk", r.disk and q.format_memory(r.disk) or "-", r.usable.disk and q.format_memory(r.usable.disk) or "-", src.disk or "" },
  }
  if r.engine then
    local e = r.engine
    rows[#rows + 1] = { sess.target .. " engine", ("%s CPUs, %s"):format(q.format_cpu(e.cpu), q.format_memory(e.memory)),
      "", ("%s (/info)"):format(e.endpoint) }
  end
  io.stdout:write(require("deloc.ui.table").render({ "RESOURCE", "DETECTED", "USABLE", "FROM" }, rows,
    { align = { nil, "right", "right" } }))
  if engine_note then io.stdout:write("\n", engine_note, "\n") end
  io.stdout:write(("\nusable = detected minus a %d%% reserve; `deloc plan` sizes stacks to it\n"):format(
    math.floor(r.reserve * 100 + 0.5)))
  return 0
end

return M
