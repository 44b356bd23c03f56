-- deloc.plan.containers: the planner's sixth stage.  What each component
-- runs: image (overrides, image map, mirror), JVM heap, secrets, env,
-- command and entrypoint (recipe functions see the planned component),
-- ports (from deloc.plan.ports), volumes, health, dependencies; per service
-- its disk and backup.
--
--   containers.run(st) -> true | nil, err; sets st.services (the plan's
--     services table, without connections and endpoints) and st.disk_needed
local array = require("deloc.array")
local errors = require("deloc.errors")
local quantity = require("deloc.quantity")
local recipe_mod = require("deloc.recipe")
local facts = require("deloc.plan.facts")
local mounts = require("deloc.mounts")

local M = {}

local Mi = 1024 * 1024
local SECRET_DIR = ".deloc/secrets/"

local function invalid(msg, extra)
  return errors.new("CONFIG_INVALID", msg, extra)
end

local function env_string(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
  return tostring(v)
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

local function heap_of(c, comp, profile, why_c)
  if not c.jvm then return end
  local ratio = c.jvm.heap_ratio or profile.jvm_heap_ratio
  local mb = math.floor(comp.memory / Mi)
  local heap = math.floor(mb * ratio)
  if mb - heap < 64 then heap = mb - 64 end
  if heap < 32 then heap = 32 end
  comp.heap_mb = heap
  why_c.heap_mb = ("%d%% of %s"):format(math.floor(ratio * 100 + 0.5), quantity.format_memory(comp.memory))
end

local function secret_ref(service, name, sdef)
  return { file = "/run/secrets/" .. service .. "." .. name, source = SECRET_DIR .. service .. "." .. name,
           service = service, name = name, length = sdef.length }
end

-- The planned component as recipe functions see it: s.host, s.port and
-- s.secret_file name other services' components, ports and secrets.
local function view(st, svc, cname, comp)
  local recipes, primary = st.recipes, st.primary
  local s = {
    service = svc, component = cname, project = st.project_name, profile = st.profile.name,
    target = st.target, memory = comp.memory, memory_mb = math.floor(comp.memory / Mi),
    cpu = comp.cpu, heap_mb = comp.heap_mb, replicas = comp.replicas,
    options = st.options[svc], profile_values = st.pv,
  }
  local function known(fn, service)
    local rr = recipes[service]
    if not rr then error(("s.%s: service '%s' is not in this plan (add it to depends_on)"):format(fn, tostring(service)), 3) end
    return rr
  end
  function s.host(service, component)
    service = service or svc
    local rr = known("host", service)
    component = component or primary[service]
    if not rr.components[component] then
      error(("s.host: service '%s' has no component '%s'"):format(service, tostring(component)), 2)
    end
    return facts.id(service, component)
  end
  function s.port(name, service)
    service = service or svc
    local rr = known("port", service)
    local p = rr.components[primary[service]].ports[name]
    if p then return p.port end
    for _, cn in ipairs(st.comp_order[service]) do
      p = rr.components[cn].ports[name]
      if p then return p.port end
    end
    error(("s.port: service '%s' has no port '%s'"):format(service, tostring(name)), 2)
  end
  -- the host port published for this component's port NAME (its container
  -- port when it is not published): what host clients dial
  function s.host_port(name)
    local p = comp.ports[name]
    if not p then
      error(("s.host_port: component '%s' has no port '%s'%s"):format(cname, tostring(name),
        recipe_mod.hint(tostring(name), st.recipes[svc].components[cname].ports)), 2)
    end
    return p.host or p.container
  end
  function s.secret_file(name, service)
    service = service or svc
    local rr = known("secret_file", service)
    local sd = rr.secrets[name]
    if not sd then
      error(("s.secret_file: service '%s' has no secret '%s'%s"):format(service, tostring(name),
        recipe_mod.hint(tostring(name), rr.secrets)), 2)
    end
    local ref = secret_ref(service, name, sd)
    comp.secrets[service == svc and name or (service .. "." .. name)] = ref
    return ref.file
  end
  return s
end

-- env: the recipe's layers (tables or functions of s), then the overrides
local function env_of(c, s, where, ov, cov, why_c)
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
      if why_c then why_c["env." .. k] = "override" end
    end
  end
  return env
end

-- command or entrypoint: a list, or a function of s (a string runs in sh -c)
local function argv_of(c, key, s, where)
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
  return v and array.of({ unpack(v) }) or false
end

-- the recipe's smoke: a short real use of the service, run beside it
local function smoke_of(c, s, where)
  if not c.smoke then return nil end
  local argv = c.smoke.exec
  if type(argv) == "function" then
    local err
    argv, err = recipe_mod.call(argv, where .. "smoke.exec", s)
    if err then return nil, err end
    if type(argv) == "string" then argv = { "sh", "-c", argv } end
    if type(argv) ~= "table" then return nil, invalid(where .. "smoke.exec: must return a list of strings") end
  end
  return { exec = array.of({ unpack(argv) }), expect = c.smoke.expect, timeout = c.smoke.timeout }
end

local function health_of(c, where)
  if not c.health then return nil end
  local h = {}
  for k, v in pairs(c.health) do h[k] = v end
  if h.exec then h.exec = array.of({ unpack(h.exec) }) end
  if type(h.port) == "string" then
    local p = c.ports[h.port]
    if not p then
      return nil, invalid(("%shealth: no port named '%s'%s"):format(where, h.port, recipe_mod.hint(h.port, c.ports)))
    end
    h.port = p.port
  end
  return h
end

-- dependencies: on components of its own service, named ones of others, a
-- whole service (all its components), and every component of the services
-- the recipe depends on
local function depends_of(st, svc, r, c, where)
  local recipes, comp_order = st.recipes, st.comp_order
  local deps, seen = array.of({}), {}
  local function add(ds, dc)
    local k = ds .. "." .. dc
    if seen[k] then return end
    seen[k] = true
    deps[#deps + 1] = { service = ds, component = dc,
      condition = recipes[ds].components[dc].oneshot and "completed" or "healthy" }
  end
  for _, d in ipairs(c.depends_on) do
    if r.components[d] then
      add(svc, d)
    else
      local ds, dc = d:match("^([^.]+)%.(.+)$")
      ds = ds or d
      if not recipes[ds] then return nil, invalid(("%sdepends_on: no service '%s'"):format(where, ds)) end
      if dc and not recipes[ds].components[dc] then
        return nil, invalid(("%sdepends_on: service '%s' has no component '%s'"):format(where, ds, dc))
      end
      if dc then add(ds, dc) else for _, dcn in ipairs(comp_order[ds]) do add(ds, dcn) end end
    end
  end
  for _, ds in ipairs(st.graph[svc]) do
    for _, dcn in ipairs(comp_order[ds]) do add(ds, dcn) end
  end
  return deps
end

-- A component built from the project's files: the plan says from where and
-- names the image per project ("deloc-<project>/<service>[-<component>]:build";
-- the Docker driver tags it with the context's hash when it builds).  An
-- image set in deloc.yaml wins over a recipe's build; a build in deloc.yaml
-- wins over any image.  A target without `local_build` (an image built
-- here does not reach a cluster) cannot use one.
local function build_of(st, comp, c, ov, cov, why)
  local b = cov.build or ov.build
  if not b and c.build and comp.image == c.image then b = c.build end
  if not b then return true end
  b = recipe_mod.build_def(b, { "build" })
  local name = comp.service .. (comp.name ~= comp.service and ("-" .. comp.name) or "")
  if not st.traits.local_build then
    return nil, invalid(("%s: its image is built from %s; %s cannot use a local build"):format(
      name, b.context, st.traits.title), {
      hint = ("push the image to a registry and set services.%s.image in deloc.yaml"):format(comp.service) })
  end
  comp.build = b
  comp.image = ("deloc-%s/%s:build"):format(st.project_name, name)
  why.image = "built from " .. b.context .. "/" .. b.dockerfile
  return true
end

local function base_component(svc, cname, c, it)
  return {
    name = cname, service = svc, kind = c.oneshot and "oneshot" or "service",
    replicas = it.replicas, scalable = c.scalable,
    cpu = it.final_cpu, memory = it.final_memory,
    user = c.user, read_only = c.read_only, capabilities = array.of({ unpack(c.capabilities) }),
    restricted = c.restricted, restricted_reason = c.restricted_reason,
    tmpfs = array.of({ unpack(c.tmpfs) }),
    aliases = array.of({ facts.id(svc, cname) }),
    volumes = {}, secrets = {},
  }
end

-- one component | nil, err
local function component(st, svc, cname, ov, use)
  local r = st.recipes[svc]
  local c, it = r.components[cname], st.item_of[svc][cname]
  local cov = ov.components and ov.components[cname] or {}
  local comp, why_c = base_component(svc, cname, c, it), it.why
  comp.image, why_c.image = image_for(svc, c, r.image, ov, cov, st.opts.images or {}, st.opts.mirror)
  local built, berr = build_of(st, comp, c, ov, cov, why_c)
  if not built then return nil, berr end
  heap_of(c, comp, st.profile, why_c)
  for sname, sdef in pairs(r.secrets) do comp.secrets[sname] = secret_ref(svc, sname, sdef) end
  comp.ports = st.ports[svc][cname]
  local s = view(st, svc, cname, comp)
  local where = (r.path or svc) .. ": " .. (cname == svc and "" or ("components." .. cname .. "."))
  local err
  comp.env, err = env_of(c, s, where, ov, cov, st.explain and why_c)
  if not comp.env then return nil, err end
  for _, key in ipairs({ "command", "entrypoint" }) do
    local v
    v, err = argv_of(c, key, s, where)
    if v == nil then return nil, err end
    comp[key] = v or nil
  end
  comp.smoke, err = smoke_of(c, s, where)
  if err then return nil, err end
  for vname, v in pairs(c.volumes) do
    comp.volumes[vname] = { path = v.path, name = "deloc-" .. st.project_name .. "-" .. svc .. "-" .. vname,
      data = v.data, size = v.size }
  end
  comp.health, err = health_of(c, where)
  if err then return nil, err end
  comp.depends_on, err = depends_of(st, svc, r, c, where)
  if not comp.depends_on then return nil, err end
  mounts.apply(comp, c.mounts, ov.mounts, (st.project or {}).secrets, use)
  for _, m in pairs(not st.traits.writable_mounts and comp.mounts or {}) do
    if m.writable then
      st.warnings[#st.warnings + 1] = ("%s: %s cannot be mounted writable on %s%s"):format(facts.id(svc, cname),
        m.path, st.traits.title, st.traits.mounts_note and (" (" .. st.traits.mounts_note .. ")") or "")
    end
  end
  return comp
end

-- a service's disk: the recipe's disk resource if any component says, else
-- the sum of its volumes (components that declare the same name share it)
local function disk_of(r, comp_order)
  local service_disk, volume_sizes = 0, {}
  for _, cname in ipairs(comp_order) do
    local c = r.components[cname]
    for vname, v in pairs(c.volumes) do
      volume_sizes[vname] = math.max(volume_sizes[vname] or 0, v.size or 0)
    end
    if c.resources.disk and c.resources.disk > service_disk then service_disk = c.resources.disk end
  end
  if service_disk == 0 then
    for _, size in pairs(volume_sizes) do service_disk = service_disk + size end
  end
  return service_disk
end

local function service(st, svc)
  local r = st.recipes[svc]
  local ov = st.override_of(svc) or {}
  local s_out = {
    name = svc, recipe = { name = r.name, origin = r.origin or "builtin", path = r.path },
    why = st.why[svc], description = r.description, category = r.category,
    options = st.options[svc], depends_on = array.of({ unpack(st.graph[svc]) }),
    component_order = array.of({ unpack(st.comp_order[svc]) }), primary = st.primary[svc],
    components = {},
  }
  local use = { used = {}, points = {} } -- content points, for mounts.unknown
  for _, cname in ipairs(st.comp_order[svc]) do
    local comp, err = component(st, svc, cname, ov, use)
    if not comp then return nil, err end
    s_out.components[cname] = comp
    if st.explain then
      st.explain[svc] = st.explain[svc] or {}
      st.explain[svc][cname] = st.item_of[svc][cname].why
    end
  end
  local uerr = mounts.unknown(ov.mounts, use.used, use.points, svc)
    or require("deloc.secrets").unknown((st.project or {}).secrets, svc, r.secrets)
  if uerr then return nil, uerr end
  s_out.disk = disk_of(r, st.comp_order[svc])
  if r.backup then
    s_out.backup = { exec = array.of({ unpack(r.backup.exec) }), restore = array.of({ unpack(r.backup.restore) }),
      component = r.backup.component }
  end
  return s_out
end

function M.run(st)
  st.services, st.disk_needed = {}, 0
  for _, svc in ipairs(st.order) do
    local s_out, err = service(st, svc)
    if not s_out then return nil, err end
    st.services[svc] = s_out
    st.disk_needed = st.disk_needed + s_out.disk
  end
  return true
end

return M
