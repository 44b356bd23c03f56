-- deloc recipes [list | show NAME]: the services deloc knows and where each
-- recipe comes from.
local errors = require("deloc.errors")

local M = {
  name = "recipes",
  order = 30,
  usage = "deloc recipes [list | show NAME] [--json]",
  summary = "list the services deloc can run, or show one recipe",
  help = [[
Recipes come from the binary (built in), then ./recipes/, then
$XDG_CONFIG_HOME/deloc/recipes/, then $DELOC_PATH, then the project file's
`recipes:` directories; a later one wins over an earlier one of the same name.
The ORIGIN column says which won ("user" recipes show their file).]],
}

local function origin_text(r)
  if r.origin == "builtin" then return "built in" end
  local t = r.path
  if #r.shadows > 0 then t = t .. " (over " .. (r.shadows[1].origin == "builtin" and "built in" or r.shadows[1].path) .. ")" end
  return t
end

local function list(opts)
  local api = require("deloc.api")
  local recipes, err = api.recipes({ file = opts.file })
  if not recipes then return nil, err end
  if opts.json then
    io.stdout:write(require("deloc.json").encode(recipes, { indent = true }), "\n")
    return 0
  end
  local rows = {}
  for _, r in ipairs(recipes) do
    rows[#rows + 1] = { r.name, r.category, r.image, origin_text(r), r.description }
  end
  local width
  local ok, term = pcall(require, "deloc.term")
  if ok and term.isatty("stdout") then width = term.width("stdout") end
  io.stdout:write(require("deloc.ui.table").render({ "NAME", "CATEGORY", "IMAGE", "ORIGIN", "DESCRIPTION" },
    rows, { width = width }))
  return 0
end

local function show(opts, name)
  local api = require("deloc.api")
  local reg, err = api.registry({ file = opts.file })
  if not reg then return nil, err end
  local r
  r, err = reg:get(name)
  if not r then return nil, err end
  local q = require("deloc.quantity")
  local e = reg:entry(name)
  if opts.json then
    local data = { name = r.name, description = r.description, category = r.category, image = r.image,
      origin = e.origin, path = e.path, options = r.options, secrets = r.secrets,
      depends_on = type(r.depends_on) == "table" and r.depends_on or "computed from options",
      components = {} }
    for _, cn in ipairs(r.component_names) do
      local c = r.components[cn]
      data.components[cn] = { image = c.image, ports = c.ports, volumes = c.volumes, mounts = c.mounts, health = c.health,
        resources = c.resources, jvm = c.jvm, user = c.user, read_only = c.read_only,
        oneshot = c.oneshot, scalable = c.scalable, replicas = c.replicas,
        depends_on = c.depends_on, enabled = type(c.enabled) == "function" and "computed from options" or c.enabled }
    end
    io.stdout:write(require("deloc.json").encode(data, { indent = true }), "\n")
    return 0
  end
  local out = {}
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  add("%s: %s\n", r.name, r.description)
  add("  category  %s\n", r.category)
  add("  recipe    %s\n", e.origin == "builtin" and ("built in (" .. e.path .. ")") or e.path)
  if r.image then add("  image     %s\n", r.image) end
  if type(r.depends_on) == "function" then
    add("  needs     (depends on its options)\n")
  elseif #r.depends_on > 0 then
    add("  needs     %s\n", table.concat(r.depends_on, ", "))
  end
  local onames = {}
  for k in pairs(r.options) do onames[#onames + 1] = k end
  table.sort(onames)
  for _, k in ipairs(onames) do
    local o = r.options[k]
    add("  option    %s = %s%s%s\n", k, tostring(o.default),
      o.choices and (" (" .. table.concat(o.choices, " | ") .. ")") or "",
      o.description and ("  " .. o.description) or "")
  end
  for _, cn in ipairs(r.component_names) do
    local c = r.components[cn]
    add("\n  component %s%s\n", cn, c.oneshot and " (runs once)" or (c.scalable and " (scalable)" or ""))
    if c.image ~= r.image then add("    image   %s\n", c.image) end
    local pn = {}
    for k in pairs(c.ports) do pn[#pn + 1] = k end
    table.sort(pn)
    for _, k in ipairs(pn) do add("    port    %s %d/%s\n", k, c.ports[k].port, c.ports[k].protocol) end
    local vn = {}
    for k in pairs(c.volumes) do vn[#vn + 1] = k end
    table.sort(vn)
    for _, k in ipairs(vn) do
      local v = c.volumes[k]
      add("    volume  %s %s%s%s\n", k, v.path, v.data and " (data)" or "", v.size and (" " .. q.format_memory(v.size)) or "")
    end
    local mn = {}
    for k in pairs(c.mounts or {}) do mn[#mn + 1] = k end
    table.sort(mn)
    for _, k in ipairs(mn) do -- content points: deloc.yaml services.NAME.mounts.<point>: ./path
      local m = c.mounts[k]
      add("    mount   %s %s%s\n", k, m.path, m.description and (" (" .. m.description .. ")") or "")
    end
    if c.health then
      local h = c.health
      local what = h.kind == "exec" and table.concat(h.exec, " ") or h.kind == "http" and ("http " .. tostring(h.port) .. h.path)
        or h.kind == "tcp" and ("tcp " .. tostring(h.port)) or ("log /" .. tostring(h.pattern) .. "/")
      add("    health  %s (every %ss, %d tries)\n", what, tostring(h.interval), h.retries)
    end
    for _, p in ipairs({ "minimal", "development", "production", "min", "max" }) do
      local v = c.resources.profiles[p] or (p == "min" or p == "max") and c.resources[p] or nil
      if v and (v.memory or v.cpu) then
        add("    %-11s memory %s, cpu %s\n", p, q.format_memory(v.memory), q.format_cpu(v.cpu))
      end
    end
    if c.jvm then add("    jvm     heap ratio %s\n", tostring(c.jvm.heap_ratio or "from the profile")) end
    add("    runs as %s%s\n", c.user or "the image's user", c.read_only and ", read-only root" or "")
  end
  io.stdout:write(require("deloc.term").escape(table.concat(out), true)) -- recipe text, escaped
  return 0
end

function M.run(opts, args)
  local sub = args[1] or "list"
  if sub == "list" or sub == "ls" then
    if args[2] then return nil, errors.new("USAGE", "recipes list takes no arguments") end
    return list(opts)
  elseif sub == "show" then
    if not args[2] then
      return nil, errors.new("USAGE", "recipes show needs a name", { hint = "deloc recipes show NAME" })
    end
    return show(opts, args[2])
  end
  -- `deloc recipes kafka` means show
  if not args[2] then return show(opts, sub) end
  return nil, errors.new("USAGE", ("unknown recipes command '%s'"):format(sub), { hint = "deloc recipes [list | show NAME]" })
end

return M
