-- deloc plan [SERVICES...]: what would run, with which limits, in which
-- order, and whether it fits.
local errors = require("deloc.errors")

local M = {
  name = "plan",
  order = 20,
  usage = "deloc plan [SERVICES...] [--profile P] [--target T] [--set SVC.KEY=VALUE] [--explain] [--json]",
  summary = "show what would run, with which limits and in which order, and whether it fits",
  help = [[
Resolves the services named (or those listed in deloc.yaml) and everything
they depend on, sizes every component to the profile and to this machine
(cgroup-aware, minus the reserve), shrinks fairly towards the recipes'
minimums when the stack does not fit, and prints the plan: one line per
component, then the verdict.  Nothing is started or written.

--set overrides a value for this run, above deloc.yaml:
  --set kafka.memory=1Gi  --set kafka.cpu=2  --set spark.worker.replicas=3
  --set postgres.image=my/pg:16  --set kafka.env.KAFKA_X=y
  --set airflow.options.executor=celery  --set postgres.ports.postgres=15432

Exit status 4 when the stack does not fit (the verdict says why and what to do).]],
  options = {
    require("deloc.targets").context_option,
    { "profile", "p", arg = "NAME", help = "sizing profile: minimal, development, production or the project's" },
    { "target", "t", arg = "NAME", help = require("deloc.targets").option.help },
    { "set", arg = "SVC.KEY=VALUE", many = true, help = "override a value (see above)" },
    { "reserve", arg = "PERCENT", help = "safety margin kept free (default 15%)" },
    { "explain", help = "show where each value came from" },
    require("deloc.cmdutil").mount_option,
  },
}

local function usage(msg, hint)
  return nil, errors.new("USAGE", msg, { hint = hint })
end

local scalar_keys = { memory = "resources", cpu = "resources", replicas = true, image = true }

local function convert(v)
  if v == "true" then return true end
  if v == "false" then return false end
  if v:match("^%-?%d+%.?%d*$") then return tonumber(v) end
  return v
end

-- overrides_from_sets({ "kafka.memory=1Gi", ... }) -> overrides | nil, err
function M.parse_sets(sets)
  local o = {}
  for _, item in ipairs(sets or {}) do
    local path, value = item:match("^([^=]+)=(.*)$")
    if not path then
      return usage(("--set '%s': expected SERVICE.KEY=VALUE"):format(item))
    end
    local parts = {}
    for p in path:gmatch("[^.]+") do parts[#parts + 1] = p end
    if #parts < 2 then return usage(("--set '%s': expected SERVICE.KEY=VALUE"):format(item)) end
    local svc = table.remove(parts, 1)
    o[svc] = o[svc] or {}
    local t = o[svc]
    local function put(tbl, keys)
      local k = keys[1]
      if scalar_keys[k] and #keys == 1 then
        if scalar_keys[k] == "resources" then
          tbl.resources = tbl.resources or {}
          tbl.resources[k] = value
        elseif k == "replicas" then
          tbl.replicas = tonumber(value) or value
        else
          tbl[k] = value
        end
        return true
      elseif (k == "env" or k == "options" or k == "ports") and #keys == 2 then
        tbl[k] = tbl[k] or {}
        if k == "env" then tbl[k][keys[2]] = value
        elseif k == "ports" then tbl[k][keys[2]] = tonumber(value) or value
        else tbl[k][keys[2]] = convert(value) end
        return true
      elseif k == "enabled" and #keys == 1 then
        tbl.enabled = convert(value)
        return true
      end
      return false
    end
    if not put(t, parts) then
      -- SERVICE.COMPONENT.KEY
      local comp = table.remove(parts, 1)
      t.components = t.components or {}
      t.components[comp] = t.components[comp] or {}
      if #parts == 0 or not put(t.components[comp], parts) then
        return usage(("--set '%s': unknown key"):format(item),
          "keys: memory, cpu, replicas, image, env.NAME, options.NAME, ports.NAME, COMPONENT.KEY")
      end
    end
  end
  return o
end

local function fmt_ports(c)
  local out = {}
  local names = {}
  for n in pairs(c.ports) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    local p = c.ports[n]
    if p.host then
      out[#out + 1] = p.host == p.container and tostring(p.host) or (p.host .. "→" .. p.container)
    end
  end
  return table.concat(out, ",")
end

local q = require("deloc.quantity")
local tbl = require("deloc.ui.table")

-- "a.b" for a component, "a" when it is named like its service
local function shown(svc, cn) return cn == svc and svc or (svc .. "." .. cn) end

-- the DEPENDS ON cell: own components by name, other services by theirs
local function deps_cell(svc, c)
  local deps, seen = {}, {}
  for _, d in ipairs(c.depends_on) do
    local name = d.service == svc and d.component or d.service
    if not seen[name] then
      seen[name] = true
      deps[#deps + 1] = name .. (d.condition == "completed" and " (done)" or "")
    end
  end
  return table.concat(deps, ",")
end

local function components_table(plan, width)
  local level_of = {}
  for i, l in ipairs(plan.levels) do for _, s in ipairs(l) do level_of[s] = i end end
  local rows = {}
  for _, svc in ipairs(plan.order) do
    local s = plan.services[svc]
    for _, cn in ipairs(s.component_order) do
      local c = s.components[cn]
      rows[#rows + 1] = {
        level_of[svc], svc, cn ~= svc and cn or "", c.image,
        q.format_cpu(c.cpu), q.format_memory(c.memory),
        c.heap_mb and (c.heap_mb .. "m") or "",
        c.replicas ~= 1 and ("x" .. c.replicas) or (c.kind == "oneshot" and "once" or ""),
        fmt_ports(c), deps_cell(svc, c),
      }
    end
  end
  return tbl.render({ "#", "SERVICE", "COMPONENT", "IMAGE", "CPU", "MEMORY", "HEAP", "RUNS", "PORTS", "DEPENDS ON" },
    rows, { align = { "right", nil, nil, nil, "right", "right", "right" }, width = width })
end

local function verdict_text(plan, out)
  local v, cap = plan.verdict, plan.capacity
  local avail = ("%s of %s memory usable, %s of %s CPUs (%d%% reserve)"):format(
    q.format_memory(cap.usable.memory), q.format_memory(cap.memory),
    q.format_cpu(cap.usable.cpu), q.format_cpu(cap.cpu), math.floor(cap.reserve * 100 + 0.5))
  if v.fits then
    out[#out + 1] = ("fits: needs %s memory and %s CPU%s; %s\n"):format(
      q.format_memory(v.needed.memory), q.format_cpu(v.needed.cpu), v.needed.cpu == 1 and "" or "s", avail)
    if #v.shrunk > 0 then
      local names = {}
      for _, x in ipairs(v.shrunk) do names[#names + 1] = shown(x.service, x.component) end
      out[#out + 1] = ("shrunk to fit: %s\n"):format(table.concat(names, ", "))
    end
  else
    out[#out + 1] = ("does not fit: %s\n"):format(avail)
    for _, r in ipairs(v.reasons) do out[#out + 1] = "  " .. r .. "\n" end
    if #v.choices > 0 then
      out[#out + 1] = "choices:\n"
      for _, c in ipairs(v.choices) do out[#out + 1] = "  - " .. c .. "\n" end
    end
  end
  for _, w in ipairs(plan.warnings) do out[#out + 1] = "warning: " .. w .. "\n" end
end

-- one row a connection string, a mount of a component, an explained value
local function connection_rows(plan)
  local rows = {}
  for _, svc in ipairs(plan.order) do
    for _, c in ipairs(plan.services[svc].connections) do rows[#rows + 1] = { svc, c } end
  end
  return rows
end

local function mount_rows(plan)
  local rows = {}
  for _, svc in ipairs(plan.order) do
    local s = plan.services[svc]
    for _, cn in ipairs(s.component_order) do
      for _, key in ipairs(require("deloc.array").sorted_keys(s.components[cn].mounts)) do
        local m = s.components[cn].mounts[key]
        rows[#rows + 1] = { shown(svc, cn), m.given or m.source, m.path, m.writable and "read-write" or "read-only" }
      end
    end
  end
  return rows
end

local function explain_rows(plan)
  local rows = {}
  for _, svc in ipairs(plan.order) do
    for _, cn in ipairs(plan.services[svc].component_order) do
      local e = plan.explain[svc] and plan.explain[svc][cn] or {}
      local keys = {}
      for k in pairs(e) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do rows[#rows + 1] = { shown(svc, cn), k, e[k] } end
    end
  end
  return rows
end

-- text(plan [, opts]) -> the plan as a person reads it
function M.text(plan, opts)
  opts = opts or {}
  local out = {}
  out[#out + 1] = ("plan for project %s: profile %s, target %s\n\n"):format(plan.project, plan.profile, plan.target)
  out[#out + 1] = components_table(plan, opts.width)
  out[#out + 1] = "\n"
  verdict_text(plan, out)
  local conns = connection_rows(plan)
  if #conns > 0 then
    out[#out + 1] = "\nconnections:\n"
    out[#out + 1] = tbl.render(nil, conns, { indent = "  " })
  end
  -- your files: one row a mount of a component
  local mrows = mount_rows(plan)
  if #mrows > 0 then
    out[#out + 1] = "\nmounts:\n"
    out[#out + 1] = tbl.render(nil, mrows, { indent = "  " })
  end
  if plan.explain then
    out[#out + 1] = "\nwhere values come from:\n"
    local ep = plan.explain_plan or {}
    out[#out + 1] = ("  profile %s: %s; target %s: %s\n"):format(plan.profile, ep.profile or "?", plan.target, ep.target or "?")
    out[#out + 1] = tbl.render(nil, explain_rows(plan), { indent = "  " })
  end
  return table.concat(out)
end

-- Where each replica goes, for a target of several nodes.
local function placement_text(plan)
  local rows = {}
  for _, n in ipairs(plan.placement.nodes or {}) do
    rows[#rows + 1] = { n.node, #n.components > 0 and table.concat(n.components, ", ") or "-" }
  end
  for _, u in ipairs(plan.placement.unplaced or {}) do
    rows[#rows + 1] = { "(no room)", u .. ": " .. tostring((plan.placement.reasons or {})[u]) }
  end
  if #rows == 0 then return "" end
  return "placement:\n" .. require("deloc.ui.table").render({ "NODE", "COMPONENTS" }, rows)
end

function M.run(opts, args)
  -- A plan is a short batch job: compiling traces (and the hundreds of
  -- mprotect calls that come with them) costs more than it saves here
  -- (17 -> 14 ms for 50 services, measured).
  jit.off()
  -- and a short run does better without collection cycles: the process
  -- ends (and frees everything) a few milliseconds later
  collectgarbage("stop")
  local overrides, err = M.parse_sets(opts.set)
  if not overrides then return nil, err end
  -- The target's own size counts (the Docker engine's VM, a cluster's
  -- nodes); the session asks its driver, without a request where it can.
  local s
  s, err = require("deloc.cmdutil").open(opts, { lazy = true })
  if not s then return nil, err end
  local plan
  plan, err = s:plan(args)
  if not plan then return nil, err end
  if opts.json then
    local text, jerr = require("deloc.json").encode(plan, { indent = true })
    if not text then return nil, jerr end
    io.stdout:write(text, "\n")
  else
    local width
    local ok, term = pcall(require, "deloc.term")
    if ok and term.isatty("stdout") then width = term.width("stdout") end
    io.stdout:write(M.text(plan, { width = width }))
    local where = s.driver.describe(s, plan)
    if where then io.stdout:write("\n", where, "\n") end
    if plan.placement then io.stdout:write(placement_text(plan)) end
  end
  if not plan.verdict.fits then return errors.exit_codes.RESOURCE_EXHAUSTED end
  return 0
end

return M
