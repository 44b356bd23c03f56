-- deloc.planner: recipes + project + flags -> the plan, the one input every
-- adapter uses.  Nothing here starts anything; the plan is plain data.
--
--   local plan, err = planner.plan{
--     services = { "airflow" },        -- asked for; default: the project's services
--     registry = registry.new{...},    -- where recipes come from
--     project = project,               -- deloc.project.load(...) result, or nil
--     profile = "minimal", target = "docker", reserve = 0.15,   -- flags (win over the project)
--     overrides = { kafka = { resources = { memory = "1Gi" } } },  -- flags, same shape as
--                                      -- deloc.yaml services.<name> (win over the project)
--     images = { ["postgres:16.4-bookworm"] = "my/pg:16", redis = "my/redis:7" },
--     mirror = "registry.local:5000/",
--     capacity = { cpu=, memory=, disk=, source = {...} },  -- instead of this machine's
--                                      -- (the Docker driver passes the engine's /info)
--     listening = { [5432] = true },   -- host ports in use, or a function returning them,
--                                      -- called only if a port is published (default:
--                                      -- /proc/net/tcp{,6}, udp{,6})
--     previous = plan,                 -- last applied plan: its host ports are ours, kept
--     explain = true,                  -- plan.explain says where each value came from
--   }
--
-- The plan (contract.md; arrays marked with deloc.array so `[]` stays `[]`):
--
--   plan = { project=, profile=, target=, network = "deloc-<project>", dir = project dir,
--     capacity = { cpu=, memory=, disk=, source = {...}, reserve=,
--                  usable = { cpu=, memory=, disk= } },
--     order = { services, dependencies first }, levels = { { ... }, ... },
--     services = { NAME = {
--       name=, recipe = { name=, origin = "builtin"|"user", path= }, why = "asked for" | "needed by X",
--       description=, category=, options = { resolved }, depends_on = { services },
--       component_order = { ... }, primary = component name,
--       components = { NAME = {
--         name=, service=, kind = "service"|"oneshot", image=, replicas=, scalable=,
--         cpu=, memory= (bytes), heap_mb= | nil, env = { K = "string" },
--         command=, entrypoint=, ports = { NAME = { container=, host= | nil, protocol=, publish=, http= } },
--         volumes = { NAME = { path=, name = "deloc-<project>-<service>-<volume>", data=, size= } },
--         tmpfs=, secrets = { NAME | "svc.NAME" = { file = "/run/secrets/<svc>.<name>",
--                              source = ".deloc/secrets/<svc>.<name>", service=, name=, length= } },
--         health = { kind=, exec=, port= (container number), path=, scheme=, pattern=,
--                    interval=, timeout=, retries=, start_period= } | nil,   -- seconds
--         user=, read_only=, capabilities=, restricted=, restricted_reason=,
--         depends_on = { { service=, component=, condition = "healthy"|"completed" } },
--         aliases = { DNS names on the project network }, config_hash = "16 hex" } },
--       backup = { exec=, restore=, component= } | nil,
--       connections = { "postgresql://deloc:<secret postgres.password>@127.0.0.1:5433/deloc" },
--       endpoints = { { component=, port=, url = "127.0.0.1:5433" } } } },
--     verdict = { fits=, needed = { cpu=, memory=, disk= }, available = { cpu=, memory=, disk= },
--                 shrunk = { { service=, component=, from=, to= } }, choices = { "drop trino", ... },
--                 reasons = { ... } },
--     warnings = { ... }, explain = { [service] = { [component] = { key = "where from" } } } | nil }
--
-- Sizing: each component starts at its recipe's value for the profile (or the
-- built-in profile it derives from), capped at the profile's per-service
-- limit, never below the recipe's min nor above its max; a value given in the
-- project file or a flag is fixed.  Needed memory is the sum over running
-- components (times replicas) plus the largest one-shot.  Over the target
-- (the smaller of the profile budget and the usable capacity) every component
-- gives up the same fraction of its room above its min.  Still over the
-- capacity at the mins: the plan does not fit and the verdict lists choices.
-- Over only the budget: a warning.  CPU shrinks the same way; CPU over the
-- capacity at the mins is a warning for Docker (limits are caps) and does not
-- fit for Kubernetes (requests must be schedulable).  JVM heaps come last,
-- from the final memory: heap_ratio (recipe, else profile) of it, leaving at
-- least 64 MiB outside the heap.
--
-- Errors (nil, err with deloc.errors codes): unknown service
-- (SERVICE_NOT_FOUND, did-you-mean), a dependency without a recipe, a cycle
-- ("dependency cycle: a -> b -> a"), a name twice, a name that is not a
-- DNS-1123 label, unknown options or choices, bad quantities, an unknown
-- profile or target, two components with one DNS name, a recipe function
-- that fails or loops.  Not fitting is not an error: plan.verdict.fits.
local array = require("deloc.array")
local errors = require("deloc.errors")
local quantity = require("deloc.quantity")
local recipe_mod = require("deloc.recipe")
local profiles = require("deloc.profiles")
local dag = require("deloc.dag")

local M = {}

local Mi = 1024 * 1024
M.DEFAULT_RESERVE = 0.15
M.TARGETS = { "docker", "kubernetes" }

local function invalid(msg, extra)
  return errors.new("CONFIG_INVALID", msg, extra)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function env_string(v)
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return tostring(v)
  end
  return tostring(v)
end

-- ---- host ports in use ----

local function read_listening(set, path, state)
  local f = io.open(path, "rb")
  if not f then return end
  f:read("*l")
  for line in f:lines() do
    local port, st = line:match("^%s*%d+:%s+%x+:(%x+)%s+%x+:%x+%s+(%x%x)")
    if port and st == state then set[tonumber(port, 16)] = true end
  end
  f:close()
end

-- listening() -> { [port] = true }: TCP ports listening and bound UDP ports
function M.listening(proc)
  proc = proc or "/proc"
  local set = {}
  read_listening(set, proc .. "/net/tcp", "0A")
  read_listening(set, proc .. "/net/tcp6", "0A")
  read_listening(set, proc .. "/net/udp", "07")
  read_listening(set, proc .. "/net/udp6", "07")
  return set
end

-- ---- config hash: FNV-1a, two 32-bit lanes, over a canonical encoding ----

local bxor, tobit, lshift, rol = bit.bxor, bit.tobit, bit.lshift, bit.rol
local byte = string.byte

-- FNV-1a over 4-byte words, two lanes (the second rotated), so a component's
-- few kilobytes hash in a few hundred steps
local function fnv2(s)
  local h1, h2 = tobit(0x811c9dc5), tobit(0x050c5d1f)
  local n = #s
  for i = 1, n, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local w = tobit(a + (b or 0) * 256 + (c or 0) * 65536 + (d or 0) * 16777216)
    h1 = bxor(h1, w)
    h1 = tobit(lshift(h1, 24) + h1 * 403) -- h * 16777619 mod 2^32
    h2 = bxor(h2, rol(w, 13))
    h2 = tobit(lshift(h2, 24) + h2 * 403)
    h2 = rol(h2, 7)
  end
  return bxor(h1, n), h2
end

local function canon(v, out)
  local t = type(v)
  if t == "table" then
    if v[1] ~= nil or array.is(v) then
      out[#out + 1] = "["
      for i = 1, #v do canon(v[i], out); out[#out + 1] = "," end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      for _, k in ipairs(sorted_keys(v)) do
        if k ~= "config_hash" then
          out[#out + 1] = k
          out[#out + 1] = "="
          canon(v[k], out)
          out[#out + 1] = ";"
        end
      end
      out[#out + 1] = "}"
    end
  elseif t == "string" then
    out[#out + 1] = #v .. ":" .. v -- length-prefixed: no escaping needed
  else
    out[#out + 1] = tostring(v)
  end
end

-- config_hash(component) -> 16 hex digits, the same for equal content; the
-- replica count is left out (scaling is not a change of configuration)
function M.config_hash(t)
  local out = {}
  local c = {}
  for k, v in pairs(t) do if k ~= "replicas" then c[k] = v end end
  canon(c, out)
  local a, b = fnv2(table.concat(out))
  return bit.tohex(a) .. bit.tohex(b)
end

-- ---- overrides: deloc.yaml services.<name> and flags ----

local override_keys = { options = 1, env = 1, ports = 1, replicas = 1, resources = 1,
  image = 1, components = 1, build = 1 }
local component_override_keys = { replicas = 1, resources = 1, env = 1, image = 1, enabled = 1, build = 1 }
M.override_keys, M.component_override_keys = override_keys, component_override_keys

local function is_map(v)
  return type(v) == "table" and not array.is(v) and (next(v) == nil or v[1] == nil)
end

-- check_override(o) -> true | nil, keypath, message: a service's overrides
-- (used by deloc.project with marks, and for the Lua API's overrides)
function M.check_override(o)
  if not is_map(o) then return nil, {}, "must be a mapping" end
  local function check_common(t, path, keys)
    for k, v in pairs(t) do
      local p = { unpack(path) }
      p[#p + 1] = k
      if not keys[k] then
        return nil, p, ("unknown key '%s'%s"):format(tostring(k), recipe_mod.hint(tostring(k), keys))
      end
      if k == "env" then
        if not is_map(v) then return nil, p, "'env' must be a mapping of NAME: value" end
        for ek, ev in pairs(v) do
          local tv = type(ev)
          if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
            return nil, { unpack(p) }, ("env '%s' must be a string, number or boolean"):format(tostring(ek))
          end
        end
      elseif k == "replicas" then
        if type(v) ~= "number" or v ~= math.floor(v) or v < 1 or v > 1000 then
          return nil, p, "'replicas' must be a whole number from 1 to 1000"
        end
      elseif k == "resources" then
        if not is_map(v) then return nil, p, "'resources' must be a mapping (memory, cpu)" end
        for rk, rv in pairs(v) do
          local rp = { unpack(p) }
          rp[#rp + 1] = rk
          if rk == "memory" then
            local _, err = quantity.memory(rv)
            if err then return nil, rp, err end
          elseif rk == "cpu" then
            local _, err = quantity.cpu(rv)
            if err then return nil, rp, err end
          else
            return nil, rp, ("unknown key '%s' in resources (memory, cpu)%s"):format(tostring(rk),
              recipe_mod.hint(tostring(rk), { memory = 1, cpu = 1 }))
          end
        end
      elseif k == "image" then
        if type(v) ~= "string" or v == "" then return nil, p, "'image' must be an image reference" end
      elseif k == "enabled" then
        if type(v) ~= "boolean" then return nil, p, "'enabled' must be true or false" end
      elseif k == "build" then
        local okb, berr = pcall(recipe_mod.build_def, v, p)
        if not okb then return nil, type(berr) == "table" and berr.path or p, type(berr) == "table" and berr.msg or tostring(berr) end
      elseif k == "options" then
        if not is_map(v) then return nil, p, "'options' must be a mapping" end
      elseif k == "ports" then
        if not is_map(v) then return nil, p, "'ports' must be a mapping of port name: host port" end
        local seen = {}
        for pk, pv in pairs(v) do
          local pp = { unpack(p) }
          pp[#pp + 1] = pk
          if type(pv) ~= "number" or pv ~= math.floor(pv) or pv < 1 or pv > 65535 then
            return nil, pp, ("host port %s for '%s' is out of range (1-65535)"):format(tostring(pv), tostring(pk))
          end
          if seen[pv] then
            return nil, pp, ("host port %d is given to both '%s' and '%s'"):format(pv, seen[pv], tostring(pk))
          end
          seen[pv] = tostring(pk)
        end
      elseif k == "components" then
        if not is_map(v) then return nil, p, "'components' must be a mapping" end
        for ck, cv in pairs(v) do
          local cp = { unpack(p) }
          cp[#cp + 1] = ck
          if not is_map(cv) then return nil, cp, "must be a mapping" end
          local ok, kp, msg = check_common(cv, cp, component_override_keys)
          if not ok then return nil, kp, msg end
        end
      end
    end
    return true
  end
  return check_common(o, {}, override_keys)
end

-- Layers b over a (both service overrides); b wins key by key.
local function merge_override(a, b)
  if not a then return b end
  if not b then return a end
  local r = {}
  for k, v in pairs(a) do r[k] = v end
  for k, v in pairs(b) do
    if type(v) == "table" and type(r[k]) == "table" then
      r[k] = merge_override(r[k], v)
    else
      r[k] = v
    end
  end
  return r
end
M.merge_override = merge_override

-- ---- capacity ----

local function capacity_of(opts, reserve)
  local c = opts.capacity
  local src = {}
  if not c or not c.memory or not c.cpu or not c.disk then
    local sys = require("deloc.sys")
    local r, err = sys.resources()
    if not r then return nil, err end
    c = c or {}
    src = r.source or {}
    c = { cpu = c.cpu or r.cpu, memory = c.memory or r.memory, disk = c.disk or r.disk,
          source = c.source or {} }
    for k, v in pairs(src) do if c.source[k] == nil then c.source[k] = v end end
  end
  local cap = {
    cpu = c.cpu, memory = c.memory, disk = c.disk, source = c.source or {}, reserve = reserve,
  }
  cap.usable = {
    cpu = math.floor(c.cpu * (1 - reserve) * 100) / 100,
    memory = math.floor(c.memory * (1 - reserve)),
    disk = c.disk and math.floor(c.disk * (1 - reserve)) or nil,
  }
  return cap
end

-- ---- reserve ----

-- reserve(v) -> fraction | nil, err: 0.15, "15%", 15 (percent when > 1)
function M.reserve(v)
  local n
  if type(v) == "number" then n = v > 1 and v / 100 or v
  elseif type(v) == "string" then
    local p = v:match("^%s*(%d+%.?%d*)%%%s*$")
    if p then n = tonumber(p) / 100 else n = tonumber(v) end
  end
  if not n or n < 0 or n >= 0.9 then
    return nil, invalid(("invalid reserve %s (a percentage below 90%%, like 15%%)"):format(tostring(v)))
  end
  return n
end

-- ---- the plan ----

local function alias_of(service, component)
  if component == service then return service end
  return service .. "-" .. component
end

-- Fair shrinking: every item gives up the same fraction f of (value - min);
-- the total is sum over running items (value * replicas) + the largest one-shot.
local function total_at(items, key, f)
  local steady, oneshot = 0, 0
  for i = 1, #items do
    local it = items[i]
    local v = it[key].min + f * (it[key].want - it[key].min)
    if it.oneshot then
      if v > oneshot then oneshot = v end
    else
      steady = steady + v * it.replicas
    end
  end
  return steady + oneshot
end

local function shrink(items, key, target)
  local full = total_at(items, key, 1)
  if full <= target then return 1, full end
  local low = total_at(items, key, 0)
  if low >= target then return 0, low end
  local lo, hi = 0, 1
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    if total_at(items, key, mid) <= target then lo = mid else hi = mid end
  end
  return lo, total_at(items, key, lo)
end

local function fmt_mem(b) return quantity.format_memory(b) end

local function resolve_options(r, given, svc)
  local opt = {}
  for k, o in pairs(r.options) do opt[k] = o.default end
  for k, v in pairs(given or {}) do
    local o = r.options[k]
    if not o then
      return nil, invalid(("service '%s' has no option '%s'%s"):format(svc, tostring(k),
        recipe_mod.hint(tostring(k), r.options)), {
        hint = next(r.options) and ("options: " .. table.concat(sorted_keys(r.options), ", ")) or nil })
    end
    if o.choices then
      local ok = false
      for _, c in ipairs(o.choices) do if c == v then ok = true end end
      if not ok then
        return nil, invalid(("option '%s' of '%s' cannot be '%s' (one of: %s)"):format(k, svc,
          tostring(v), table.concat(o.choices, ", ")))
      end
    elseif o.default ~= nil and type(v) ~= type(o.default) then
      return nil, invalid(("option '%s' of '%s' must be a %s"):format(k, svc, type(o.default)))
    end
    opt[k] = v
  end
  return opt
end

-- A component built from the project's files: the plan says from where and
-- names the image per project ("deloc-<project>/<service>[-<component>]:build";
-- the Docker driver tags it with the context's hash when it builds).  An
-- image set in deloc.yaml wins over a recipe's build; a build in deloc.yaml
-- wins over any image.  Kubernetes cannot use a local build.
local function build_of(comp, c, ov, cov, project, target, why)
  local b = cov.build or ov.build
  if not b and c.build and comp.image == c.image then b = c.build end
  if not b then return true end
  b = recipe_mod.build_def(b, { "build" })
  if target == "kubernetes" then
    return nil, invalid(("%s: its image is built from %s; Kubernetes cannot use a local build"):format(
      comp.service .. (comp.name ~= comp.service and ("." .. comp.name) or ""), b.context), {
      hint = ("push the image to a registry and set services.%s.image in deloc.yaml"):format(comp.service) })
  end
  comp.build = b
  comp.image = ("deloc-%s/%s:build"):format(project, comp.service .. (comp.name ~= comp.service and ("-" .. comp.name) or ""))
  why.image = "built from " .. b.context .. "/" .. b.dockerfile
  return true
end

local function image_for(svc, comp, recipe_image, ov, cov, images, mirror)
  if cov and cov.image then return cov.image, "component override" end
  if ov and ov.image and (comp.image == recipe_image or recipe_image == nil) then
    return ov.image, "service override"
  end
  if images[svc .. "." .. comp.name] then return images[svc .. "." .. comp.name], "images: " .. svc .. "." .. comp.name end
  if images[svc] and (comp.image == recipe_image or recipe_image == nil) then return images[svc], "images: " .. svc end
  if images[comp.image] then return images[comp.image], "images: " .. comp.image end
  if mirror and mirror ~= "" then return mirror .. comp.image, "mirror" end
  return comp.image, "recipe"
end

local function pick_value(res, base, key)
  local p = res.profiles
  for _, name in ipairs({ base, "development", "minimal", "production" }) do
    if p[name] and p[name][key] then return p[name][key], name end
  end
  return nil
end

-- plan(opts) -> plan | nil, err
function M.plan(opts)
  opts = opts or {}
  local project = opts.project or {}
  local reg = opts.registry
  if not reg then
    local err
    reg, err = require("deloc.registry").new({ project = opts.project })
    if not reg then return nil, err end
  end
  local warnings = array.of({})
  local explain = opts.explain and {} or nil

  -- profile, target, reserve, project name
  local profile_name = opts.profile or project.profile or profiles.default
  local profile, perr = profiles.resolve(profile_name, project.profiles)
  if not profile then return nil, perr end
  local target = opts.target or project.target or "docker"
  if target ~= "docker" and target ~= "kubernetes" then
    return nil, invalid(("unknown target '%s'%s"):format(tostring(target), recipe_mod.hint(tostring(target), M.TARGETS)),
      { hint = "targets: docker, kubernetes" })
  end
  local reserve = opts.reserve or project.reserve or M.DEFAULT_RESERVE
  if type(reserve) ~= "number" or reserve < 0 or reserve >= 0.9 then
    local r, err = M.reserve(reserve)
    if not r then return nil, err end
    reserve = r
  end
  local project_name = opts.project_name or project.name or "deloc"
  local ok_name, why_name = recipe_mod.dns_label(project_name)
  if not ok_name then
    return nil, invalid(("project name '%s' %s"):format(project_name, why_name))
  end

  -- what was asked for
  local asked = opts.services
  if asked == nil or #asked == 0 then
    asked = project.service_order or sorted_keys(project.services or {})
  end
  if #asked == 0 then
    return nil, errors.new("USAGE", "no services to plan", {
      hint = "name some (deloc plan postgres kafka) or list them under 'services:' in deloc.yaml" })
  end
  local seen_asked = {}
  for _, name in ipairs(asked) do
    if type(name) ~= "string" then
      return nil, invalid(("a service name must be a string, got %s"):format(type(name)))
    end
    local ok, why = recipe_mod.dns_label(name)
    if not ok then
      return nil, invalid(("'%s' is not a valid service name: %s"):format(name, why))
    end
    if seen_asked[name] then
      return nil, errors.new("USAGE", ("service '%s' is named twice"):format(name))
    end
    seen_asked[name] = true
  end

  local flag_over = opts.overrides or {}
  for name, o in pairs(flag_over) do
    local ok, kp, msg = M.check_override(o)
    if not ok then
      return nil, invalid(("override of '%s'%s: %s"):format(name,
        #kp > 0 and (" " .. table.concat(kp, ".")) or "", msg))
    end
  end
  local function override_of(name)
    return merge_override((project.services or {})[name], flag_over[name])
  end

  -- closure: breadth-first from what was asked, recipes loaded as needed
  local recipes, why, graph, opt_of, comp_enabled = {}, {}, {}, {}, {}
  local queue, head = {}, 1
  for _, name in ipairs(asked) do
    why[name] = "asked for"
    queue[#queue + 1] = name
  end
  while queue[head] do
    local name = queue[head]
    head = head + 1
    local r, err = reg:get(name, why[name]:match("^needed by (.+)$"))
    if not r then return nil, err end
    recipes[name] = r
    local ov = override_of(name)
    local opt
    opt, err = resolve_options(r, ov and ov.options, name)
    if not opt then return nil, err end
    opt_of[name] = opt
    local deps = r.depends_on
    if type(deps) == "function" then
      deps, err = recipe_mod.call(deps, (r.path or name) .. ": depends_on", opt)
      if err then return nil, err end
      if type(deps) ~= "table" then
        return nil, invalid(("%s: depends_on must return a list of service names"):format(r.path or name))
      end
    end
    local dep_list, dep_seen = {}, {}
    local function add_dep(d)
      if not dep_seen[d] then
        dep_seen[d] = true
        dep_list[#dep_list + 1] = d
      end
    end
    for _, d in ipairs(deps) do add_dep(d) end
    -- enabled components, and the services their depends_on name
    local enabled = {}
    local cov_all = ov and ov.components or {}
    for cname in pairs(cov_all) do
      if not r.components[cname] then
        return nil, invalid(("service '%s' has no component '%s'%s"):format(name, cname,
          recipe_mod.hint(cname, r.component_names)))
      end
    end
    for _, cname in ipairs(r.component_names) do
      local c = r.components[cname]
      local on = c.enabled
      if type(on) == "function" then
        on, err = recipe_mod.call(on, (r.path or name) .. ": components." .. cname .. ".enabled", opt)
        if err then return nil, err end
      end
      if cov_all[cname] and cov_all[cname].enabled ~= nil then on = cov_all[cname].enabled end
      if on then
        enabled[#enabled + 1] = cname
        for _, d in ipairs(c.depends_on) do
          if not r.components[d] then
            add_dep((d:match("^([^.]+)")))
          end
        end
      end
    end
    if #enabled == 0 then
      return nil, invalid(("service '%s' has no enabled component"):format(name))
    end
    comp_enabled[name] = enabled
    table.sort(dep_list)
    graph[name] = dep_list
    for _, d in ipairs(dep_list) do
      if d == name then
        return nil, invalid(("dependency cycle: %s -> %s"):format(name, name))
      end
      if not why[d] then
        why[d] = "needed by " .. name
        queue[#queue + 1] = d
      end
    end
  end

  local order, levels = dag.order(graph)
  if not order then return nil, levels end

  -- components: order within each service, primary, DNS names
  local comp_order, primary, names_taken = {}, {}, {}
  for _, svc in ipairs(order) do
    local r = recipes[svc]
    local g, on = {}, {}
    for _, c in ipairs(comp_enabled[svc]) do on[c] = true end
    for _, cname in ipairs(comp_enabled[svc]) do
      local deps = {}
      for _, d in ipairs(r.components[cname].depends_on) do
        if r.components[d] then
          if not on[d] then
            return nil, invalid(("component '%s' of '%s' depends on '%s', which is not enabled"):format(
              cname, svc, d))
          end
          deps[#deps + 1] = d
        end
      end
      g[cname] = deps
    end
    local corder, err = dag.order(g)
    if not corder then
      return nil, invalid(("%s: components: %s"):format(svc, err.message))
    end
    comp_order[svc] = corder
    if on[svc] then
      primary[svc] = svc
    else
      for _, c in ipairs(corder) do
        if not r.components[c].oneshot then primary[svc] = c break end
      end
      primary[svc] = primary[svc] or corder[1]
    end
    for _, c in ipairs(corder) do
      local a = alias_of(svc, c)
      if names_taken[a] then
        return nil, invalid(("two components are named '%s': %s and %s"):format(a, names_taken[a],
          svc .. "." .. c), { hint = "rename one of the services or components" })
      end
      names_taken[a] = svc .. "." .. c
    end
  end

  local capacity, cerr = capacity_of(opts, reserve)
  if not capacity then return nil, cerr end

  -- sizing
  local items = {}
  local item_of = {}
  local pv = profiles.values(profile)
  for _, svc in ipairs(order) do
    local r = recipes[svc]
    local ov = override_of(svc) or {}
    local single = #comp_order[svc] == 1
    item_of[svc] = {}
    for _, cname in ipairs(comp_order[svc]) do
      local c = r.components[cname]
      local cov = ov.components and ov.components[cname] or {}
      local res = c.resources
      local it = { svc = svc, comp = cname, oneshot = c.oneshot, why = {} }
      -- replicas
      local replicas = c.replicas
      local rep_src = "recipe"
      local want_rep = cov.replicas
      if want_rep == nil and ov.replicas ~= nil and (single or c.scalable) then want_rep = ov.replicas end
      if want_rep ~= nil then
        if want_rep > 1 and not c.scalable then
          return nil, invalid(("%s.%s cannot run %d replicas: it is not scalable"):format(svc, cname, want_rep))
        end
        replicas, rep_src = want_rep, "override"
      end
      it.replicas = replicas
      it.why.replicas = rep_src
      -- memory and cpu
      local fixed = {}
      local rov = merge_override(ov.resources or {}, cov.resources or {})
      if not single and ov.resources and not cov.resources then rov = ov.resources end
      for _, key in ipairs({ "memory", "cpu" }) do
        local v, from = pick_value(res, profile.base, key)
        local src
        if v then
          src = ("recipe %s"):format(from)
        else
          v = key == "memory" and (profile.per_service.memory or 256 * Mi) or 0.5
          src = "profile default"
        end
        local cap = profile.per_service[key]
        if cap and v > cap then
          v = cap
          src = src .. (", capped by profile %s per-service %s"):format(profile.name,
            key == "memory" and fmt_mem(cap) or quantity.format_cpu(cap))
        end
        local lo = res.min[key]
        if not lo then
          lo = key == "memory" and math.min(v, math.max(32 * Mi, math.floor(v / 2))) or math.min(v, 0.1)
        end
        local hi = res.max[key]
        if v < lo then v = lo; src = src .. ", raised to the recipe min" end
        if hi and v > hi then v = hi; src = src .. ", lowered to the recipe max" end
        if rov[key] ~= nil then
          v = key == "memory" and quantity.memory(rov[key]) or quantity.cpu(rov[key])
          src = "override"
          fixed[key] = true
          if v < lo then
            warnings[#warnings + 1] = ("%s.%s: %s %s is below the recipe's minimum %s"):format(svc, cname, key,
              key == "memory" and fmt_mem(v) or quantity.format_cpu(v),
              key == "memory" and fmt_mem(lo) or quantity.format_cpu(lo))
          end
          lo = v
        end
        it[key] = { want = v, min = lo }
        it.why[key] = src
      end
      items[#items + 1] = it
      item_of[svc][cname] = it
    end
  end

  -- shrink to the budget and the capacity
  local verdict = { fits = true, shrunk = array.of({}), choices = array.of({}), reasons = array.of({}) }
  local mem_target = capacity.usable.memory
  if profile.budget.memory and profile.budget.memory < mem_target then mem_target = profile.budget.memory end
  local mem_why = mem_target < capacity.usable.memory
    and ("to fit profile %s's budget %s"):format(profile.name, fmt_mem(mem_target)) or "to fit this machine"
  local fm, mem_total = shrink(items, "memory", mem_target)
  local mem_min_total = total_at(items, "memory", 0)
  local cpu_target = capacity.usable.cpu
  if profile.budget.cpu and profile.budget.cpu < cpu_target then cpu_target = profile.budget.cpu end
  local fc, cpu_total = shrink(items, "cpu", cpu_target)
  for _, it in ipairs(items) do
    local m = it.memory
    local v = math.floor((m.min + fm * (m.want - m.min)) / Mi) * Mi
    if v < m.min then v = m.min end
    it.final_memory = v
    local c = it.cpu
    local cv = math.floor((c.min + fc * (c.want - c.min)) * 100) / 100
    if cv < c.min then cv = c.min end
    it.final_cpu = cv
    if v < m.want or cv < c.want then
      verdict.shrunk[#verdict.shrunk + 1] = { service = it.svc, component = it.comp,
        from = { memory = m.want, cpu = c.want }, to = { memory = v, cpu = cv } }
      if v < m.want then it.why.memory = it.why.memory .. (", shrunk from %s %s"):format(fmt_mem(m.want), mem_why) end
      if cv < c.want then it.why.cpu = it.why.cpu .. (", shrunk from %s to fit the CPUs"):format(quantity.format_cpu(c.want)) end
    end
  end
  local steady_m, one_m, steady_c, one_c = 0, 0, 0, 0
  for _, it in ipairs(items) do
    if it.oneshot then
      if it.final_memory > one_m then one_m = it.final_memory end
      if it.final_cpu > one_c then one_c = it.final_cpu end
    else
      steady_m = steady_m + it.final_memory * it.replicas
      steady_c = steady_c + it.final_cpu * it.replicas
    end
  end
  mem_total, cpu_total = steady_m + one_m, math.floor((steady_c + one_c) * 100 + 0.5) / 100
  verdict.needed = { memory = mem_total, cpu = cpu_total, memory_min = mem_min_total,
    cpu_min = math.floor(total_at(items, "cpu", 0) * 100 + 0.5) / 100 }
  verdict.available = { memory = capacity.usable.memory, cpu = capacity.usable.cpu, disk = capacity.usable.disk }
  if mem_min_total > capacity.usable.memory then
    verdict.fits = false
    verdict.reasons[#verdict.reasons + 1] = ("memory: the stack needs at least %s, %s is usable (%s detected, %d%% kept in reserve)")
      :format(fmt_mem(mem_min_total), fmt_mem(capacity.usable.memory), fmt_mem(capacity.memory),
        math.floor(reserve * 100 + 0.5))
  elseif profile.budget.memory and mem_min_total > profile.budget.memory then
    warnings[#warnings + 1] = ("the stack's minimum memory %s is above profile %s's budget %s"):format(
      fmt_mem(mem_min_total), profile.name, fmt_mem(profile.budget.memory))
  end
  if verdict.needed.cpu_min > capacity.usable.cpu then
    local msg = ("cpu: the stack needs at least %s CPUs, %s are usable"):format(
      quantity.format_cpu(verdict.needed.cpu_min), quantity.format_cpu(capacity.usable.cpu))
    if target == "kubernetes" then
      verdict.fits = false
      verdict.reasons[#verdict.reasons + 1] = msg
    else
      warnings[#warnings + 1] = msg .. "; containers will share them"
    end
  end

  -- host ports: the set of ports in use is read only when a published port
  -- needs checking (reading /proc/net costs ~3 ms of a plan that may publish none)
  local listening = opts.listening or M.listening
  if type(listening) == "function" then
    local load, set = listening, nil
    listening = setmetatable({}, { __index = function(_, port)
      set = set or load()
      return set[port]
    end })
  end
  local own = {}
  if opts.previous and opts.previous.services then
    for sname, ps in pairs(opts.previous.services) do
      for cname, pc in pairs(ps.components or {}) do
        for pname, pp in pairs(pc.ports or {}) do
          if pp.host then own[sname .. "." .. cname .. "." .. pname] = pp.host end
        end
      end
    end
  end
  local assigned = {}
  local function free(p) return not listening[p] and not assigned[p] end

  -- the components
  local services = {}
  local disk_needed = 0
  local secret_dir = ".deloc/secrets/"
  local volume_prefix = "deloc-" .. project_name .. "-"
  for _, svc in ipairs(order) do
    local r = recipes[svc]
    local ov = override_of(svc) or {}
    local s_out = {
      name = svc, recipe = { name = r.name, origin = r.origin or "builtin", path = r.path },
      why = why[svc], description = r.description, category = r.category,
      options = opt_of[svc], depends_on = array.of({ unpack(graph[svc]) }),
      component_order = array.of({ unpack(comp_order[svc]) }), primary = primary[svc],
      components = {},
    }
    services[svc] = s_out
    local service_disk, volume_sizes = 0, {}
    for _, cname in ipairs(comp_order[svc]) do
      local c = r.components[cname]
      local it = item_of[svc][cname]
      local cov = ov.components and ov.components[cname] or {}
      local comp = {
        name = cname, service = svc, kind = c.oneshot and "oneshot" or "service",
        replicas = it.replicas, scalable = c.scalable,
        cpu = it.final_cpu, memory = it.final_memory,
        user = c.user, read_only = c.read_only, capabilities = array.of({ unpack(c.capabilities) }),
        restricted = c.restricted, restricted_reason = c.restricted_reason,
        tmpfs = array.of({ unpack(c.tmpfs) }),
        aliases = array.of({ alias_of(svc, cname) }),
      }
      local why_c = it.why
      comp.image, why_c.image = image_for(svc, c, r.image, ov, cov, opts.images or {}, opts.mirror)
      local ok_b, berr = build_of(comp, c, ov, cov, project_name, target, why_c)
      if not ok_b then return nil, berr end
      if c.jvm then
        local ratio = c.jvm.heap_ratio or profile.jvm_heap_ratio
        local mb = math.floor(comp.memory / Mi)
        local heap = math.floor(mb * ratio)
        if mb - heap < 64 then heap = mb - 64 end
        if heap < 32 then heap = 32 end
        comp.heap_mb = heap
        why_c.heap_mb = ("%d%% of %s"):format(math.floor(ratio * 100 + 0.5), fmt_mem(comp.memory))
      end
      -- secrets: the service's own, and those its functions ask for
      comp.secrets = {}
      for sname, sdef in pairs(r.secrets) do
        comp.secrets[sname] = { file = "/run/secrets/" .. svc .. "." .. sname,
          source = secret_dir .. svc .. "." .. sname, service = svc, name = sname, length = sdef.length }
      end
      -- the planned component as recipes' functions see it
      local s = {
        service = svc, component = cname, project = project_name, profile = profile.name,
        target = target, memory = comp.memory, memory_mb = math.floor(comp.memory / Mi),
        cpu = comp.cpu, heap_mb = comp.heap_mb, replicas = comp.replicas,
        options = opt_of[svc], profile_values = pv,
      }
      function s.host(service, component)
        service = service or svc
        local rr = recipes[service]
        if not rr then error(("s.host: service '%s' is not in this plan (add it to depends_on)"):format(tostring(service)), 2) end
        component = component or primary[service]
        if not rr.components[component] then
          error(("s.host: service '%s' has no component '%s'"):format(service, tostring(component)), 2)
        end
        return alias_of(service, component)
      end
      function s.port(name, service)
        service = service or svc
        local rr = recipes[service]
        if not rr then error(("s.port: service '%s' is not in this plan (add it to depends_on)"):format(tostring(service)), 2) end
        local p = rr.components[primary[service]].ports[name]
        if p then return p.port end
        for _, cn in ipairs(comp_order[service]) do
          p = rr.components[cn].ports[name]
          if p then return p.port end
        end
        error(("s.port: service '%s' has no port '%s'"):format(service, tostring(name)), 2)
      end
      function s.secret_file(name, service)
        service = service or svc
        local rr = recipes[service]
        if not rr then error(("s.secret_file: service '%s' is not in this plan (add it to depends_on)"):format(tostring(service)), 2) end
        local sd = rr.secrets[name]
        if not sd then
          error(("s.secret_file: service '%s' has no secret '%s'%s"):format(service, tostring(name),
            recipe_mod.hint(tostring(name), rr.secrets)), 2)
        end
        local key = service == svc and name or (service .. "." .. name)
        local file = "/run/secrets/" .. service .. "." .. name
        comp.secrets[key] = { file = file, source = secret_dir .. service .. "." .. name,
          service = service, name = name, length = sd.length }
        return file
      end
      local where = (r.path or svc) .. ": " .. (cname == svc and "" or ("components." .. cname .. "."))
      -- env
      local env = {}
      local layers = c.env
      if layers ~= nil and (type(layers) == "function" or layers[1] == nil) then layers = { layers } end
      for _, layer in ipairs(layers or {}) do
        local e = layer
        if type(layer) == "function" then
          local err
          e, err = recipe_mod.call(layer, where .. "env", s)
          if err then return nil, err end
          if type(e) ~= "table" then return nil, invalid(where .. "env: must return a table of NAME = value") end
        end
        for k, v in pairs(e) do
          local tv = type(v)
          if type(k) ~= "string" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
            return nil, invalid(("%senv: '%s' must be a string, number or boolean"):format(where, tostring(k)))
          end
          env[k] = env_string(v)
        end
      end
      for _, layer in ipairs({ ov.env or {}, cov.env or {} }) do
        for k, v in pairs(layer) do
          env[k] = env_string(v)
          if explain then why_c["env." .. k] = "override" end
        end
      end
      comp.env = env
      for _, key in ipairs({ "command", "entrypoint" }) do
        local v = c[key]
        if type(v) == "function" then
          local err
          v, err = recipe_mod.call(v, where .. key, s)
          if err then return nil, err end
          if type(v) == "string" then v = { "sh", "-c", v } end
          if type(v) ~= "table" then return nil, invalid(where .. key .. ": must return a list of strings") end
          for i, a in ipairs(v) do
            if type(a) ~= "string" and type(a) ~= "number" then
              return nil, invalid(("%s%s[%d] must be a string"):format(where, key, i))
            end
            v[i] = tostring(a)
          end
        end
        comp[key] = v and array.of({ unpack(v) }) or nil
      end
      -- ports
      comp.ports = {}
      local port_over = ov.ports or {}
      for _, pname in ipairs(sorted_keys(c.ports)) do
        local p = c.ports[pname]
        local po = { container = p.port, protocol = p.protocol, publish = p.publish, http = p.http }
        if p.publish and (c.scalable or comp.replicas > 1) then
          po.publish = false
          why_c["ports." .. pname] = "not published: the component scales"
        end
        if po.publish then
          local want = port_over[pname]
          local explicit = want ~= nil
          local key = svc .. "." .. cname .. "." .. pname
          local shown = (cname == svc and svc or (svc .. "." .. cname)) .. " port '" .. pname .. "'"
          if want == nil and own[key] and not assigned[own[key]] then
            want = own[key]
            why_c["ports." .. pname] = "kept from the running stack"
          elseif want == nil then
            want = p.port
          end
          if explicit then
            if assigned[want] then
              return nil, invalid(("host port %d of %s is also given to %s"):format(want, shown, assigned[want]))
            end
            if listening[want] then
              warnings[#warnings + 1] = ("%s: host port %d is in use on this machine"):format(shown, want)
            end
            why_c["ports." .. pname] = "override"
          elseif want ~= own[key] and not free(want) then
            local cand = want + 1
            while cand <= 65535 and not free(cand) do cand = cand + 1 end
            if cand > 65535 then
              cand = 1024
              while cand < want and not free(cand) do cand = cand + 1 end
            end
            warnings[#warnings + 1] = ("%s: host port %d is in use; using %d"):format(shown, want, cand)
            why_c["ports." .. pname] = ("picked: %d is in use"):format(want)
            want = cand
          end
          po.host = want
          assigned[want] = shown
        end
        comp.ports[pname] = po
      end
      -- volumes (named per service: components that declare the same name share it)
      comp.volumes = {}
      for vname, v in pairs(c.volumes) do
        comp.volumes[vname] = { path = v.path, name = volume_prefix .. svc .. "-" .. vname,
          data = v.data, size = v.size }
        volume_sizes[vname] = math.max(volume_sizes[vname] or 0, v.size or 0)
      end
      if c.resources.disk and c.resources.disk > service_disk then service_disk = c.resources.disk end
      -- health, with port names resolved
      if c.health then
        local h = {}
        for k, v in pairs(c.health) do h[k] = v end
        if h.exec then h.exec = array.of({ unpack(h.exec) }) end
        if type(h.port) == "string" then
          local p = c.ports[h.port]
          if not p then
            return nil, invalid(("%shealth: no port named '%s'%s"):format(where, h.port,
              recipe_mod.hint(h.port, c.ports)))
          end
          h.port = p.port
        end
        comp.health = h
      end
      -- dependencies
      local deps = array.of({})
      local dep_seen = {}
      local function add(ds, dc)
        local k = ds .. "." .. dc
        if dep_seen[k] then return end
        dep_seen[k] = true
        deps[#deps + 1] = { service = ds, component = dc,
          condition = recipes[ds].components[dc].oneshot and "completed" or "healthy" }
      end
      for _, d in ipairs(c.depends_on) do
        if r.components[d] then
          add(svc, d)
        else
          local ds, dc = d:match("^([^.]+)%.(.+)$")
          ds = ds or d
          if not recipes[ds] then
            return nil, invalid(("%sdepends_on: no service '%s'"):format(where, ds))
          end
          if dc then
            if not recipes[ds].components[dc] then
              return nil, invalid(("%sdepends_on: service '%s' has no component '%s'"):format(where, ds, dc))
            end
            add(ds, dc)
          else
            for _, dcn in ipairs(comp_order[ds]) do add(ds, dcn) end
          end
        end
      end
      for _, ds in ipairs(graph[svc]) do
        for _, dcn in ipairs(comp_order[ds]) do add(ds, dcn) end
      end
      comp.depends_on = deps
      comp.config_hash = M.config_hash(comp)
      s_out.components[cname] = comp
      if explain then
        explain[svc] = explain[svc] or {}
        explain[svc][cname] = why_c
      end
    end
    if service_disk == 0 then
      for _, size in pairs(volume_sizes) do service_disk = service_disk + size end
    end
    s_out.disk = service_disk
    disk_needed = disk_needed + service_disk
    if r.backup then
      s_out.backup = { exec = array.of({ unpack(r.backup.exec) }), restore = array.of({ unpack(r.backup.restore) }),
        component = r.backup.component }
    end
  end

  -- connections and endpoints, with host ports
  for _, svc in ipairs(order) do
    local r, s_out = recipes[svc], services[svc]
    local function host_port(name)
      local c = s_out.components[primary[svc]]
      local p = c.ports[name]
      if not p then
        for _, cn in ipairs(comp_order[svc]) do
          p = s_out.components[cn].ports[name]
          if p and p.host then break end
        end
      end
      if not p then return nil end
      return p.host or p.container
    end
    local conns = array.of({})
    for _, tmpl in ipairs(r.connections) do
      local bad
      local text = tmpl:gsub("{([%w_:.-]+)}", function(tag)
        if tag == "host" then return "127.0.0.1" end
        if tag == "service" then return svc end
        if tag == "project" then return project_name end
        local kind, arg = tag:match("^(%a+):(.+)$")
        if kind == "port" then
          local p = host_port(arg)
          if p then return tostring(p) end
        elseif kind == "secret" then
          if r.secrets[arg] then return "<secret " .. svc .. "." .. arg .. ">" end
        end
        bad = tag
      end)
      if bad then
        return nil, invalid(("%s: connections: unknown placeholder '{%s}' (host, port:NAME, secret:NAME)"):format(
          r.path or svc, bad))
      end
      conns[#conns + 1] = text
    end
    s_out.connections = conns
    local eps = array.of({})
    for _, cn in ipairs(comp_order[svc]) do
      for _, pname in ipairs(sorted_keys(s_out.components[cn].ports)) do
        local p = s_out.components[cn].ports[pname]
        if p.host then
          eps[#eps + 1] = { component = cn, port = pname, url = (p.http and "http://" or "") .. "127.0.0.1:" .. p.host }
        end
      end
    end
    s_out.endpoints = eps
  end

  -- disk
  verdict.needed.disk = disk_needed
  if capacity.usable.disk and disk_needed > capacity.usable.disk then
    verdict.fits = false
    verdict.reasons[#verdict.reasons + 1] = ("disk: volumes need %s, %s is free where they live%s"):format(
      fmt_mem(disk_needed), fmt_mem(capacity.usable.disk),
      capacity.source.disk and (" (" .. capacity.source.disk .. ")") or "")
  end

  -- choices when it does not fit
  if not verdict.fits then
    local choices = verdict.choices
    local over = mem_min_total - capacity.usable.memory
    if over > 0 then
      if profile.name ~= "minimal" then
        -- the minimal profile does not go below the mins, but flags and
        -- project values it would not cap may be the cause
        local fixed_over = false
        for _, it in ipairs(items) do if it.why.memory == "override" then fixed_over = true end end
        if fixed_over then choices[#choices + 1] = "remove the memory overrides in deloc.yaml or flags" end
      end
      -- dropping a service nobody else in the plan needs
      local needed_by = {}
      for _, svc in ipairs(order) do
        for _, d in ipairs(graph[svc]) do needed_by[d] = true end
      end
      local drops = {}
      for _, svc in ipairs(order) do
        if not needed_by[svc] then
          local m = 0
          for _, it in ipairs(items) do
            if it.svc == svc and not it.oneshot then m = m + it.memory.min * it.replicas end
          end
          drops[#drops + 1] = { svc = svc, mem = m }
        end
      end
      table.sort(drops, function(a, b) if a.mem ~= b.mem then return a.mem > b.mem end return a.svc < b.svc end)
      for _, d in ipairs(drops) do
        if d.mem >= over then choices[#choices + 1] = ("drop %s (frees %s)"):format(d.svc, fmt_mem(d.mem)) end
      end
      -- lowering the biggest component below its recipe min, at its own risk
      table.sort(items, function(a, b)
        if a.memory.min ~= b.memory.min then return a.memory.min > b.memory.min end
        return a.svc .. a.comp < b.svc .. b.comp
      end)
      local big = items[1]
      if big then
        local to = math.floor((big.memory.min - over / big.replicas) / Mi) * Mi
        if to >= 64 * Mi then
          choices[#choices + 1] = ("set %s memory <= %s (below its recipe minimum %s)"):format(
            big.comp == big.svc and big.svc or (big.svc .. "." .. big.comp), fmt_mem(to), fmt_mem(big.memory.min))
        end
        for _, it in ipairs(items) do
          if it.replicas > 1 then
            choices[#choices + 1] = ("run fewer replicas of %s.%s (now %d)"):format(it.svc, it.comp, it.replicas)
          end
        end
      end
      choices[#choices + 1] = target == "docker"
        and ("give Docker more memory: %s more is needed"):format(fmt_mem(over))
        or ("add cluster memory: %s more is needed"):format(fmt_mem(over))
      choices[#choices + 1] = ("lower the reserve (now %d%%)"):format(math.floor(reserve * 100 + 0.5))
    end
    if capacity.usable.disk and disk_needed > capacity.usable.disk then
      choices[#choices + 1] = ("free %s of disk"):format(fmt_mem(disk_needed - capacity.usable.disk))
    end
    if verdict.needed.cpu_min > capacity.usable.cpu and target == "kubernetes" then
      choices[#choices + 1] = ("add %s CPUs to the cluster"):format(
        quantity.format_cpu(verdict.needed.cpu_min - capacity.usable.cpu))
    end
  end

  local plan = {
    project = project_name, profile = profile.name, target = target,
    profile_values = pv,
    dir = project.dir or ".",
    file = project.file,
    network = "deloc-" .. project_name,
    capacity = capacity,
    order = order, levels = levels,
    services = services,
    verdict = verdict,
    warnings = warnings,
    explain = explain,
  }
  if explain then
    plan.explain_plan = { profile = opts.profile and "flag" or (project.profile and "deloc.yaml") or "default",
      target = opts.target and "flag" or (project.target and "deloc.yaml") or "default" }
  end
  return plan
end

return M
