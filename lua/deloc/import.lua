-- deloc.import: a Compose file -> one recipe per service and a deloc.yaml.
--
--   local out, err = import.convert(text, "docker-compose.yml", { dir =, environ =, out = })
--   (dir: the Compose file's directory; out: where deloc.yaml goes, the
--   directory binds must be inside)
--   out = { recipes = { NAME = lua text }, project = yaml text, services = { names },
--           skipped = { { service=, key=, why= } }, notes = { ... } }
--
-- What carries over: image, command and entrypoint (a string is split as
-- Compose splits it, not run by a shell), environment and env_file, ports
-- (published and expose), named volumes, binds (as mounts: a content point
-- in the recipe, the host path in deloc.yaml), tmpfs, depends_on with its
-- conditions (a service others wait on with service_completed_successfully
-- becomes a one-shot), healthcheck, user, mem_limit / cpus /
-- deploy.resources (the recipe's development sizes; reservations its
-- minimum), restart, secrets (file secrets are mounted where Compose puts
-- them, /run/secrets/NAME), profiles (a service in a profile is written but
-- not started by default), anchors and << merge keys (deloc.yaml's loader),
-- ${VAR:-default} and $$.
--
-- Interpolation: environment values keep their ${...} and go to deloc.yaml,
-- which interpolates them at every load as Compose does (a bare ${VAR}
-- becomes ${VAR:-}: Compose's empty value when unset); everything else is
-- interpolated once, now, from the environment over the .env beside the file.
--
-- Trust: a Compose file is input.  Names are checked (DNS labels, variable
-- names), every string reaches the recipe through lua_string (all control
-- characters and quotes escaped), and each recipe written is loaded back
-- through the recipe sandbox before anything is written.
local yaml = require("deloc.yaml")
local errors = require("deloc.errors")
local interpolate = require("deloc.interpolate")

local M = {}

-- ---- Lua emission ----

local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat "
  .. "return then true until while"):gmatch("%a+") do KEYWORDS[w] = true end

-- lua_string(s) -> a Lua string literal: every control character, quote and
-- backslash escaped, so no input can end the literal or hide a line
function M.lua_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return ("\\%03d"):format(c:byte())
  end) .. '"'
end

local function lua_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. M.lua_string(k) .. "]"
end

local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t and (n > 0 or yaml.is_sequence(t))
end

-- lua_value(v, indent) -> text
function M.lua_value(v, indent)
  indent = indent or ""
  local t = type(v)
  if t == "string" then return M.lua_string(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("not a finite number") end
    if v == math.floor(v) then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  if t == "boolean" then return tostring(v) end
  if t ~= "table" then error("cannot write a " .. t) end
  local inner = indent .. "  "
  local parts = {}
  if is_list(v) then
    for _, x in ipairs(v) do parts[#parts + 1] = M.lua_value(x, inner) end
    local one = "{ " .. table.concat(parts, ", ") .. " }"
    if #one < 80 then return #parts == 0 and "{}" or one end
    return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. ",\n" .. indent .. "}"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = lua_key(k) .. " = " .. M.lua_value(v[k], inner) end
  if #parts == 0 then return "{}" end
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. ",\n" .. indent .. "}"
end

-- ---- Compose values ----

-- split(s) -> argv: Compose's shell-like split of a string command (no shell runs it)
function M.split(s)
  local argv, cur, i, n, have = {}, {}, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      if have then argv[#argv + 1] = table.concat(cur); cur, have = {}, false end
      i = i + 1
    elseif c == "'" then
      local j = s:find("'", i + 1, true)
      if not j then return nil, "unclosed single quote" end
      cur[#cur + 1] = s:sub(i + 1, j - 1); have = true
      i = j + 1
    elseif c == '"' then
      i = i + 1
      while true do
        local ch = s:sub(i, i)
        if ch == "" then return nil, "unclosed double quote" end
        if ch == '"' then break end
        if ch == "\\" and s:sub(i + 1, i + 1):match('["\\$`\n]') then
          if s:sub(i + 1, i + 1) ~= "\n" then cur[#cur + 1] = s:sub(i + 1, i + 1) end
          i = i + 2
        else
          cur[#cur + 1] = ch; i = i + 1
        end
      end
      have = true
      i = i + 1
    elseif c == "\\" then
      if s:sub(i + 1, i + 1) ~= "\n" then cur[#cur + 1] = s:sub(i + 1, i + 1); have = true end
      i = i + 2
    else
      cur[#cur + 1] = c; have = true
      i = i + 1
    end
  end
  if have then argv[#argv + 1] = table.concat(cur) end
  return argv
end

-- memory("512m") -> "512Mi" | nil: Compose's byte units are binary
function M.memory(v)
  if type(v) == "number" then return ("%d"):format(v) end
  if type(v) ~= "string" then return nil end
  local num, unit = v:lower():match("^%s*(%d+%.?%d*)%s*([kmgt]?)b?%s*$")
  if not num then return nil end
  if unit == "" then return ("%d"):format(tonumber(num)) end
  return num .. unit:upper() .. "i"
end

local function name_of(s)
  local n = tostring(s):lower():gsub("[^a-z0-9-]+", "-"):gsub("^-+", ""):gsub("-+$", ""):sub(1, 63)
  n = n:gsub("-+$", "")
  return n ~= "" and n or nil
end

-- ---- the conversion ----

local Conv = {}
Conv.__index = Conv

function Conv:skip(svc, key, why)
  self.skipped[#self.skipped + 1] = { service = svc, key = key, why = why }
end

function Conv:note(svc, text)
  self.notes[#self.notes + 1] = { service = svc, note = text }
end

-- now(s, svc, key) -> s interpolated now (everything outside environment)
function Conv:now(s, svc, key)
  if type(s) ~= "string" then return s end
  local r, msg = interpolate.string(s, self.lookup_empty)
  if not r then return nil, errors.new("CONFIG_INVALID", ("%s: services.%s.%s: %s"):format(self.name, svc, key, msg)) end
  if r ~= s and s:find("%${?[%a_]") then
    self.used_vars[#self.used_vars + 1] = ("%s.%s: %s -> %s"):format(svc, key, s, r)
  end
  return r
end

local function list_of(v)
  if v == nil or v == yaml.null then return {} end
  if type(v) == "table" then return v end
  return { v }
end

function Conv:argv(v, svc, key)
  if v == nil or v == yaml.null then return nil end
  if type(v) == "string" then
    local s, err = self:now(v, svc, key)
    if not s then return nil, err end
    local argv, why = M.split(s)
    if not argv then
      return nil, errors.new("CONFIG_INVALID", ("%s: services.%s.%s: %s"):format(self.name, svc, key, why))
    end
    return argv
  end
  local out = {}
  for i, a in ipairs(v) do
    local s, err = self:now(tostring(a), svc, key)
    if not s then return nil, err end
    out[i] = s
  end
  return out
end

function Conv:environment(svc, s, r, y)
  local env, live = {}, {}
  local function put(k, v)
    if type(k) ~= "string" or not k:match("^[%a_][%w_.-]*$") then
      self:skip(svc, "environment." .. tostring(k), "not a valid variable name")
      return
    end
    if v == nil or v == yaml.null then
      -- `- NAME` takes the value from the shell running Compose
      live[k] = "${" .. k .. ":-}"
      return
    end
    v = type(v) == "boolean" and tostring(v) or tostring(v)
    if v:find("$", 1, true) then
      -- kept for deloc.yaml to interpolate at every load; a bare ${VAR} gets
      -- Compose's empty default
      live[k] = v:gsub("%${([%a_][%w_]*)}", "${%1:-}"):gsub("%$([%a_][%w_]*)", "${%1:-}")
    else
      env[k] = v
    end
  end
  for _, f in ipairs(list_of(s.env_file)) do
    local path, required = f, true
    if type(f) == "table" then path, required = f.path, f.required ~= false end
    local p = self:now(tostring(path), svc, "env_file")
    local full = p and (p:sub(1, 1) == "/" and p or (self.dir .. "/" .. p))
    local fh = full and io.open(full, "rb")
    if fh then
      local vars, err = interpolate.dotenv(fh:read("*a"), p, self.lookup_empty)
      fh:close()
      if not vars then return nil, err end
      for k, v in pairs(vars) do env[k] = v end
    else
      self:skip(svc, "env_file", ("'%s' not found%s"):format(tostring(p),
        required and " (Compose would refuse to start)" or ""))
    end
  end
  local e = s.environment
  if type(e) == "table" and yaml.is_sequence(e) then
    for _, item in ipairs(e) do
      local k, v = tostring(item):match("^([^=]+)=(.*)$")
      if k then put(k, v) else put(tostring(item), nil) end
    end
  elseif type(e) == "table" then
    for k, v in pairs(e) do put(k, v) end
  end
  for k in pairs(live) do env[k] = nil end
  if next(env) then r.env = env end
  if next(live) then y.env = live end
  return true
end

local function port_name(container, proto, taken)
  local n = "p" .. container .. (proto == "udp" and "-udp" or "")
  while taken[n] do n = n .. "x" end
  taken[n] = true
  return n
end

function Conv:ports(svc, s, r, y)
  local ports, host, taken = {}, {}, {}
  for _, p in ipairs(list_of(s.ports)) do
    local container, proto, hostport, ip
    if type(p) == "table" then
      container, proto, hostport, ip = tonumber(p.target), p.protocol or "tcp", tonumber(p.published), p.host_ip
    else
      local text = self:now(tostring(p), svc, "ports")
      local spec, pr = text:match("^(.-)/(%a+)$")
      text, proto = spec or text, pr or "tcp"
      local parts = {}
      for x in (text .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = x end
      container = tonumber(parts[#parts])
      hostport = #parts >= 2 and tonumber(parts[#parts - 1]) or nil
      ip = #parts >= 3 and parts[1] or nil
      if not container or (#parts >= 2 and parts[#parts - 1] ~= "" and not hostport) then
        self:skip(svc, "ports", ("'%s': port ranges and names are not carried over"):format(tostring(p)))
        container = nil
      end
    end
    if container then
      local n = port_name(container, proto, taken)
      ports[n] = proto == "tcp" and container or { port = container, protocol = proto }
      if hostport then host[n] = hostport else
        self:note(svc, ("port %d: Compose picks a random host port; deloc publishes it on %d or the next free one")
          :format(container, container))
      end
      if ip and ip ~= "" and ip ~= "127.0.0.1" then
        self:skip(svc, "ports", ("host IP %s: deloc publishes on 127.0.0.1 only"):format(ip))
      end
    end
  end
  for _, p in ipairs(list_of(s.expose)) do
    local c = tonumber((tostring(p):match("^(%d+)")))
    if c then
      local n = port_name(c, "tcp", taken)
      ports[n] = { port = c, publish = false }
    end
  end
  if next(ports) then r.ports = ports end
  if next(host) then y.ports = host end
end

-- a content point's name from its container path
local function point_name(path, taken)
  local n = name_of(path:match("([^/]+)/*$") or "files") or "files"
  n = n:gsub("-", "_")
  if not n:match("^[a-z0-9]") then n = "m" .. n end
  local base, i = n, 2
  while taken[n] do n = base .. i; i = i + 1 end
  taken[n] = true
  return n
end

function Conv:volumes(svc, s, r, y)
  local vols, points, mounts, tmpfs, vtaken, ptaken = {}, {}, {}, {}, {}, {}
  for _, v in ipairs(list_of(s.volumes)) do
    local typ, src, target, ro
    if type(v) == "table" then
      typ, src, target, ro = v.type, v.source, v.target, v.read_only
    else
      local text = self:now(tostring(v), svc, "volumes")
      local parts = {}
      for x in (text .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = x end
      if #parts == 1 then typ, target = "volume", parts[1]
      else
        src, target = parts[1], parts[2]
        ro = parts[3] ~= nil and parts[3]:find("ro") ~= nil
        typ = (src:match("^[./~]") or src:sub(1, 1) == "/") and "bind" or "volume"
      end
    end
    if type(src) == "string" then src = self:now(src, svc, "volumes") end
    if type(target) ~= "string" or target:sub(1, 1) ~= "/" then
      self:skip(svc, "volumes", ("'%s': no absolute container path"):format(tostring(target)))
    elseif typ == "volume" then
      local n = name_of(src or target) or "data"
      while vtaken[n] do n = n .. "-2" end
      vtaken[n] = true
      vols[n] = target
      self.volume_users[src or n] = (self.volume_users[src or n] or 0) + 1
      if ro then self:skip(svc, "volumes." .. n, "read-only named volumes: deloc mounts volumes writable") end
    elseif typ == "tmpfs" then
      tmpfs[#tmpfs + 1] = target
    elseif typ == "bind" then
      local full = src:sub(1, 1) == "/" and src or (self.dir .. "/" .. src:gsub("^%./", ""))
      local inside = require("deloc.mounts").inside
      if src:sub(1, 1) == "~" or not inside(self.out, full) then
        self:skip(svc, "volumes", ("bind '%s': outside the project directory %s; a project file may not mount it "
          .. "(pass --mount %s.%s=%s on the command line)"):format(src, self.out, svc, target, full))
      else
        local rel = full == self.out and "." or ("./" .. full:sub(#self.out + 2))
        local n = point_name(target, ptaken)
        points[n] = target
        do
          mounts[n] = ro and rel or { source = rel, writable = true }
          if not require("deloc.sys").exists(full) then
            self:note(svc, ("bind source %s does not exist yet: create it before deloc up"):format(rel))
          end
        end
      end
    else
      self:skip(svc, "volumes", ("type '%s' is not carried over"):format(tostring(typ)))
    end
  end
  if next(vols) then r.volumes = vols end
  if next(points) then r.mounts = points end
  if #tmpfs > 0 then r.tmpfs = tmpfs end
  for _, t in ipairs(list_of(s.tmpfs)) do
    r.tmpfs = r.tmpfs or {}
    r.tmpfs[#r.tmpfs + 1] = tostring(t):match("^[^:]+")
  end
  if next(mounts) then y.mounts = mounts end
end

-- build: context (a directory of the project), dockerfile, target; what the
-- Engine's build API would need more of is listed.
local BUILD_WHY = {
  args = "build arguments: bake them into the Dockerfile (ARG defaults)",
  cache_from = "deloc builds with the engine's local cache",
  labels = "deloc labels its images itself",
  network = "deloc builds on the engine's default build network",
  platforms = "deloc builds for the engine's own platform",
  secrets = "build secrets are not carried over",
  ssh = "build-time SSH forwarding is not carried over",
  dockerfile_inline = "write the Dockerfile into the context",
}

function Conv:build(svc, s, r)
  local b = s.build
  if type(b) ~= "table" then b = { context = b } end
  local ctx = self:now(tostring(b.context or "."), svc, "build.context")
  if not ctx then return end
  if ctx:find("^%a[%w+.-]*://") or ctx:find("^git@") then
    return self:skip(svc, "build", ("context '%s' is remote: deloc builds from the project's files"):format(ctx))
  end
  local full = ctx:sub(1, 1) == "/" and ctx or (self.dir .. "/" .. ctx:gsub("^%./", ""))
  full = full:gsub("/%.?$", "")
  if ctx:sub(1, 1) == "~" or not require("deloc.mounts").inside(self.out, full) then
    return self:skip(svc, "build", ("context '%s' is outside the project directory %s"):format(ctx, self.out))
  end
  local def = { context = full == self.out and "." or full:sub(#self.out + 2) }
  if b.dockerfile ~= nil then def.dockerfile = self:now(tostring(b.dockerfile), svc, "build.dockerfile") end
  if b.target ~= nil then def.target = self:now(tostring(b.target), svc, "build.target") end
  local ok, err = pcall(require("deloc.recipe").build_def, def, { "build" })
  if not ok then
    return self:skip(svc, "build", tostring(type(err) == "table" and err.message or err))
  end
  r.build = def
  for k in pairs(b) do
    if k ~= "context" and k ~= "dockerfile" and k ~= "target" then
      self:skip(svc, "build." .. tostring(k), BUILD_WHY[k] or "not carried over")
    end
  end
  if not require("deloc.sys").isdir(full) then
    self:note(svc, ("build context %s does not exist yet: create it before deloc up"):format(def.context))
  end
end

function Conv:health(svc, s, r)
  local h = s.healthcheck
  if type(h) ~= "table" then return true end
  if h.disable then return true end
  local test = h.test
  local argv
  if type(test) == "string" then
    argv = { "sh", "-c", test }
  elseif type(test) == "table" then
    local kind = test[1]
    if kind == "NONE" then return true end
    argv = {}
    for i = 2, #test do argv[#argv + 1] = tostring(test[i]) end
    if kind == "CMD-SHELL" then argv = { "sh", "-c", table.concat(argv, " ") } end
  end
  if not argv or #argv == 0 then return true end
  for i, a in ipairs(argv) do
    local v, err = self:now(a, svc, "healthcheck.test")
    if not v then return nil, err end
    argv[i] = v
  end
  r.health = { exec = argv }
  for _, k in ipairs({ "interval", "timeout", "start_period" }) do
    if h[k] ~= nil then r.health[k] = tostring(h[k]) end
  end
  if h.retries ~= nil then r.health.retries = tonumber(h.retries) end
  if h.start_interval ~= nil then self:skip(svc, "healthcheck.start_interval", "deloc probes at one interval") end
  return true
end

function Conv:resources(svc, s, r)
  local mem, cpu, mem_min, cpu_min = s.mem_limit, s.cpus, s.mem_reservation, nil
  local d = type(s.deploy) == "table" and s.deploy.resources
  if type(d) == "table" then
    if type(d.limits) == "table" then mem, cpu = d.limits.memory or mem, d.limits.cpus or cpu end
    if type(d.reservations) == "table" then
      mem_min, cpu_min = d.reservations.memory or mem_min, d.reservations.cpus
    end
  end
  local res = {}
  local dev = {}
  if mem ~= nil then dev.memory = M.memory(mem) end
  if cpu ~= nil then dev.cpu = tonumber(cpu) end
  if next(dev) then res.development = dev end
  local min = {}
  if mem_min ~= nil then min.memory = M.memory(mem_min) end
  if cpu_min ~= nil then min.cpu = tonumber(cpu_min) end
  if next(min) then res.min = min end
  if next(res) then r.resources = res end
  if type(s.deploy) == "table" then
    for k in pairs(s.deploy) do
      if k == "replicas" then
        self:skip(svc, "deploy.replicas", "deloc scales scalable components: deloc scale " .. svc .. " N")
      elseif k ~= "resources" then
        self:skip(svc, "deploy." .. k, "Swarm placement and update settings have no deloc meaning")
      end
    end
  end
end

local CARRIED = {
  image = 1, command = 1, entrypoint = 1, environment = 1, env_file = 1, ports = 1, expose = 1,
  volumes = 1, tmpfs = 1, depends_on = 1, healthcheck = 1, user = 1, mem_limit = 1, cpus = 1,
  mem_reservation = 1, deploy = 1, restart = 1, secrets = 1, configs = 1, profiles = 1, read_only = 1,
  build = 1,
}
local WHY = {
  container_name = "deloc names containers <project>-<service>-<n>",
  hostname = "the service is reachable by its name on the project network",
  networks = "deloc puts a project on one network, each service reachable by name",
  network_mode = "deloc puts a project on one network",
  links = "every service is reachable by name on the project network",
  tty = "deloc does not allocate a terminal",
  stdin_open = "deloc does not keep stdin open",
  labels = "deloc labels its containers itself",
  logging = "deloc leaves logging to the engine's default",
  privileged = "deloc runs every container unprivileged, with all capabilities dropped",
  cap_add = "capabilities are a recipe's decision (capabilities = { ... }) after review",
  extra_hosts = "not carried over",
  working_dir = "not carried over: set it in the image or the command",
  ulimits = "not carried over",
  init = "not carried over",
  stop_grace_period = "deloc stops with the engine's default grace period",
}

function Conv:service(name, s)
  local svc = name_of(name)
  local ok, why = require("deloc.recipe").dns_label(svc or "")
  if not ok then
    return nil, errors.new("CONFIG_INVALID", ("%s: service '%s' cannot be a deloc service name: %s"):format(
      self.name, tostring(name), why))
  end
  if svc ~= name then self:note(svc, ("service '%s' is named '%s' in deloc"):format(name, svc)) end
  if type(s) ~= "table" then s = {} end
  local r, y = { description = ("%s (imported from %s)"):format(svc, self.base) }, {}
  local err
  -- image
  local image = s.image
  if s.build ~= nil then self:build(svc, s, r) end
  if r.build then
    self:note(svc, ("built from %s%s: deloc tags the image per project"):format(r.build.context,
      image ~= nil and (" (Compose tagged it " .. tostring(image) .. ")") or ""))
    image = nil
  elseif image == nil then
    image = ("%s-%s:local"):format(self.project, svc)
    self:note(svc, ("no image (its build is not carried over): the recipe names %s"):format(image))
  else
    image, err = self:now(tostring(image), svc, "image")
    if not image then return nil, err end
    local bare = image:gsub("@.*$", "")
    local tag = bare:match(":([^/:]+)$")
    if not image:find("@", 1, true) and (tag == nil or tag == "latest") then
      local pinned = bare:gsub(":latest$", "") .. ":unpinned"
      self.images[pinned] = bare:gsub(":latest$", "") .. ":latest"
      self:note(svc, ("image '%s' names no tag: the recipe says %s and deloc.yaml's images: maps it to "
        .. "%s; pin a real tag in both"):format(image, pinned, self.images[pinned]))
      image = pinned
    end
  end
  r.image = image
  r.entrypoint, err = self:argv(s.entrypoint, svc, "entrypoint")
  if err then return nil, err end
  r.command, err = self:argv(s.command, svc, "command")
  if err then return nil, err end
  if s.user ~= nil then r.user = self:now(tostring(s.user), svc, "user") end
  if s.read_only == true then r.read_only = true end
  ok, err = self:environment(svc, s, r, y)
  if not ok then return nil, err end
  self:ports(svc, s, r, y)
  -- secrets and configs: Compose mounts a file one at /run/secrets/NAME
  -- (configs: /NAME) or its target; so do the mounts written here
  for _, kind in ipairs({ "secrets", "configs" }) do
    for _, sec in ipairs(list_of(s[kind])) do
      local src, target = sec, nil
      if type(sec) == "table" then src, target = sec.source, sec.target end
      local base = kind == "secrets" and "/run/secrets/" or "/"
      target = target or (base .. tostring(src))
      if target:sub(1, 1) ~= "/" then target = base .. target end
      local def = self[kind][src]
      if def and def.file then
        s.volumes = s.volumes or {}
        table.insert(s.volumes, { type = "bind", source = def.file, target = target, read_only = true })
      else
        self:skip(svc, kind .. "." .. tostring(src), def and def.environment
          and ("from environment variable %s: give it in deloc.yaml secrets: (env:) and read it from the recipe's secret file"):format(def.environment)
          or (def and "only file-based ones are carried over" or "not defined at the top level"))
      end
    end
  end
  self:volumes(svc, s, r, y)
  ok, err = self:health(svc, s, r)
  if not ok then return nil, err end
  self:resources(svc, s, r)
  -- depends_on
  local deps = {}
  local d = s.depends_on
  if type(d) == "table" and yaml.is_sequence(d) then
    for _, x in ipairs(d) do deps[#deps + 1] = { name = x, condition = "service_started" } end
  elseif type(d) == "table" then
    for k, v in pairs(d) do
      deps[#deps + 1] = { name = k, condition = type(v) == "table" and v.condition or "service_started" }
    end
  end
  table.sort(deps, function(a, b) return tostring(a.name) < tostring(b.name) end)
  local dep_names = {}
  for _, x in ipairs(deps) do
    local dn = name_of(x.name)
    dep_names[#dep_names + 1] = dn
    if x.condition == "service_completed_successfully" then self.oneshot[dn] = true
    elseif x.condition == "service_started" then
      self:note(svc, ("waits for %s to be ready (healthy, or running without a health check); "
        .. "Compose waited only for it to start"):format(dn))
    end
  end
  if #dep_names > 0 then r.depends_on = dep_names end
  -- restart
  if s.restart ~= nil and s.restart ~= "unless-stopped" and s.restart ~= "always" then
    if s.restart == "no" then self.norestart[svc] = true end
    self:note(svc, ("restart: %s -> deloc restarts services unless stopped and never one-shots"):format(tostring(s.restart)))
  end
  -- profiles: written, not started by default
  if s.profiles ~= nil and #list_of(s.profiles) > 0 then
    self.in_profile[svc] = true
    self:note(svc, ("in Compose profile(s) %s: not in deloc.yaml's services; start it by name (deloc up %s)")
      :format(table.concat(list_of(s.profiles), ", "), svc))
  end
  local keys = {}
  for k in pairs(s) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not CARRIED[k] and k:sub(1, 2) ~= "x-" then
      self:skip(svc, k, WHY[k] or "not carried over")
    end
  end
  r.restricted = false
  r.restricted_reason = "imported from Compose: review the user, capabilities and read-only root"
  return svc, r, y
end

local HEADER = [[
-- Imported from %s (service '%s') by `deloc import`.  Review it: the
-- image's user, ports, health check and sizes are as Compose had them.
]]

-- convert(text, name, opts) -> out | nil, err
function M.convert(text, name, opts)
  opts = opts or {}
  local doc, err = yaml.load(text, { name = name })
  if doc == nil then return nil, errors.new("CONFIG_INVALID", tostring(err)) end
  if type(doc) ~= "table" or type(doc.services) ~= "table" or yaml.is_sequence(doc.services) then
    return nil, errors.new("CONFIG_INVALID", name .. ": a Compose file needs a 'services:' mapping")
  end
  local dir = opts.dir or (name:match("^(.*)/[^/]*$") or ".")
  local lookup
  lookup, err = interpolate.environment(dir, opts.environ)
  if not lookup then return nil, err end
  local real = require("deloc.sys").realpath(dir) or dir
  local c = setmetatable({
    name = name, base = name:match("([^/]+)$"), dir = real,
    out = opts.out and (require("deloc.sys").realpath(opts.out) or opts.out) or real,
    skipped = {}, notes = {}, used_vars = {}, images = {}, oneshot = {}, norestart = {},
    in_profile = {}, volume_users = {}, secrets = {}, configs = {},
  }, Conv)
  -- Compose gives an unset variable "" (with a warning); so does the import
  c.lookup_empty = function(k)
    local v = lookup(k)
    if v == nil then c.unset = c.unset or {}; c.unset[k] = true; return "" end
    return v
  end
  c.project = name_of(opts.project or (type(doc.name) == "string" and doc.name)
    or (c.dir:match("([^/]+)/*$")) or "imported") or "imported"
  for _, kind in ipairs({ "secrets", "configs" }) do
    for k, v in pairs(type(doc[kind]) == "table" and doc[kind] or {}) do
      if type(v) == "table" then
        c[kind][k] = { file = v.file and c:now(tostring(v.file), "-", kind) or nil, environment = v.environment }
      end
    end
  end
  if type(doc.networks) == "table" and next(doc.networks) then
    c:skip("-", "networks", "deloc puts a project on one network, each service reachable by name")
  end
  local names = {}
  for k in pairs(doc.services) do names[#names + 1] = k end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  local out = { recipes = {}, services = {}, skipped = c.skipped, notes = c.notes }
  local recipes, overrides, order = {}, {}, {}
  for _, n in ipairs(names) do
    local svc, r, y = c:service(n, doc.services[n])
    if not svc then return nil, r end
    if recipes[svc] then
      return nil, errors.new("CONFIG_INVALID", ("%s: two services become '%s'"):format(name, svc))
    end
    recipes[svc], overrides[svc] = r, y
    order[#order + 1] = svc
  end
  -- a one-shot is a component: the recipe then has one, named as the service
  for svc in pairs(c.oneshot) do
    local r = recipes[svc]
    if r then
      local comp = { oneshot = true }
      for k, v in pairs(r) do
        if k ~= "description" and k ~= "depends_on" then comp[k] = v; r[k] = nil end
      end
      r.components = { [svc] = comp }
    end
  end
  for k, n in pairs(c.volume_users) do
    if n > 1 then
      c:note("-", ("volume '%s' is shared by %d services in Compose; deloc gives each service its own"):format(k, n))
    end
  end
  for svc, r in pairs(recipes) do
    for _, d in ipairs(r.depends_on or {}) do
      if not recipes[d] then
        return nil, errors.new("CONFIG_INVALID", ("%s: service '%s' depends on unknown service '%s'"):format(name, svc, d))
      end
    end
    local body = M.lua_value(r)
    local lua = HEADER:format(c.base:gsub("%c", "?"), svc:gsub("%c", "?")) .. "return recipe "
      .. M.lua_string(svc) .. " " .. body .. "\n"
    -- the written recipe must load as what was meant
    local ok, lerr = require("deloc.recipe").load_string(lua, "recipes/" .. svc .. ".lua")
    if not ok then
      return nil, errors.new("CONFIG_INVALID", ("%s: service '%s' does not make a valid recipe: %s"):format(
        name, svc, lerr.message))
    end
    out.recipes[svc] = lua
  end
  -- deloc.yaml
  local svc_order = {}
  local services = yaml.ordered({}, svc_order)
  for _, svc in ipairs(order) do
    if not c.in_profile[svc] then
      services[svc] = next(overrides[svc]) and overrides[svc] or {}
      svc_order[#svc_order + 1] = svc
    end
    out.services[#out.services + 1] = svc
  end
  local project = yaml.ordered({ project = c.project, services = services }, { "project", "services", "images" })
  if next(c.images) then project.images = c.images end
  local body
  body, err = yaml.dump(project)
  if not body then return nil, errors.new("CONFIG_INVALID", tostring(err)) end
  local head = { ("# Imported from %s by `deloc import`."):format(c.base:gsub("%c", "?")) }
  for _, u in ipairs(c.used_vars) do
    head[#head + 1] = "# interpolated at import: " .. u:gsub("%c", " ")
  end
  out.project = table.concat(head, "\n") .. "\n" .. body
  out.unset = {}
  for k in pairs(c.unset or {}) do out.unset[#out.unset + 1] = k end
  table.sort(out.unset)
  return out
end

return M
