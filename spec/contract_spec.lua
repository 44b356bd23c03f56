-- Every built-in recipe held to its image contract (recipes/contracts/NAME.lua):
-- each env var, path, tool, port and uid a recipe uses must be one its
-- image's contract lists, on the plan, the rendered Docker container, the
-- compose file and the Kubernetes objects — under every option mode.
local deloc = require("deloc")
local sys = require("deloc.sys")
local yaml = require("deloc.yaml")
local build = require("deloc.adapters.docker.build")
local compose = require("deloc.adapters.compose")
local objects = require("deloc.k8s.objects")

local CATALOG = {
  "airflow", "flink", "jupyter", "kafka", "kafka-ui", "minio", "postgres", "redis",
  "schema-registry", "spark", "trino", "zookeeper",
}
-- every option mode a recipe offers
local VARIANTS = {
  airflow = { {}, { executor = "celery" } },
  kafka = { {} },
  ["kafka-ui"] = { {}, { schema_registry = "yes" } },
}
local Gi = 1024 ^ 3
local CAPACITY = { cpu = 32, memory = 128 * Gi, disk = 1024 * Gi, source = { cpu = "spec", memory = "spec" } }

local contracts = {}
local function contract(name)
  if not contracts[name] then
    contracts[name] = assert(loadfile("recipes/contracts/" .. name .. ".lua"))()
  end
  return contracts[name]
end

local function tmpdir()
  local r = assert(sys.spawn({ argv = { "mktemp", "-d", "/tmp/deloc-contract-spec.XXXXXX" } }))
  return (r.stdout:gsub("%s+$", ""))
end

local function plan_of(dir, name, options, target)
  local file = dir .. "/deloc.yaml"
  assert(sys.write_atomic(file, "project: contract-spec\n"))
  return assert(deloc.plan({ file = file, services = { name }, target = target, capacity = CAPACITY,
    overrides = { [name] = { options = options } }, listening = {} }))
end

-- ---- reading commands out of argv and shell scripts ----

-- Words that come before a command, and shell builtins (no program runs).
local PREFIX, BUILTIN = {}, {}
for w in ([[if then else elif do while until exec time ! { ]]):gmatch("%S+") do PREFIX[w] = true end
for w in ([[fi for done in case esac export set local echo printf true false test [ read return
  exit cd unset trap wait shift : } ]]):gmatch("%S+") do BUILTIN[w] = true end

-- Heredoc bodies are data, not commands.
local function strip_heredocs(script)
  return (script:gsub("<<%-?%s*['\"]?([%w_]+)['\"]?([^\n]*)\n(.-)\n%1\n", "%2\n"))
end

-- The commands a shell script runs: the first word of every simple command.
local function script_commands(script, out)
  script = strip_heredocs(script)
  local vars = {}
  for name, value in script:gmatch("([%a_][%w_]*)=([^%s;'\"$]+)") do vars[name] = value end
  script = script:gsub("%$%{?([%a_][%w_]*)%}?", function(n) return vars[n] end)
  script = script:gsub("'[^']*'", "Q"):gsub('"[^"]*"', "Q")
  for segment in (script .. "\n"):gmatch("([^\n;|&`()]*)") do
    local words = {}
    for w in segment:gmatch("%S+") do words[#words + 1] = w end
    local i = 1
    while words[i] and (words[i]:match("^[%a_][%w_]*=") or PREFIX[words[i]]) do i = i + 1 end
    local w = words[i]
    -- a program name; not a comment, a redirection or the tail of a $(...) word
    if w and not BUILTIN[w] and w:match("^[%a/._][%w/._-]*$") and w ~= "Q" then
      out[#out + 1] = w
    end
  end
  return out
end

local SHELLS = { sh = true, bash = true, ["/bin/sh"] = true, ["/bin/bash"] = true }

local function argv_commands(argv, out)
  if type(argv) ~= "table" or not argv[1] then return out end
  out[#out + 1] = argv[1]
  if SHELLS[argv[1]] and argv[2] == "-c" and argv[3] then script_commands(argv[3], out) end
  return out
end

-- A *_CMD value is split like a shell line by Airflow (shlex): its command,
-- and a bash -c script inside it.
local function cmd_value_commands(value, out)
  local first, script = value:match("^(%S+)%s+%-c%s+'(.*)'$")
  if first then
    out[#out + 1] = first
    return script_commands(script, out)
  end
  out[#out + 1] = value:match("^(%S+)")
  return out
end

local function has_tool(img, word)
  for _, t in ipairs(img.entrypoint_modes or {}) do
    if t == word then return true end
  end
  for _, t in ipairs(img.tools) do
    if t == word or t == word:match("([^/]+)$") then return true end
  end
  return false
end

-- ---- users and paths ----

local function ids(user)
  if not user then return nil end
  local u, g = tostring(user):match("^(%d+):?(%d*)$")
  return tonumber(u), tonumber(g)
end

local function covered(path, comp)
  for _, v in pairs(comp.volumes or {}) do
    if path == v.path or path:sub(1, #v.path + 1) == v.path .. "/" then return true end
  end
  for _, t in ipairs(comp.tmpfs or {}) do
    t = type(t) == "table" and t.path or t
    if path == t or path:sub(1, #t + 1) == t .. "/" then return true end
  end
  return false
end

-- Can uid:gid write `path` as the image ships it, without CAP_DAC_OVERRIDE?
local function writable(img, path, uid, gid)
  local best
  for p, info in pairs(img.paths or {}) do
    if (path == p or path:sub(1, #p + 1) == p .. "/") and info.mode and (not best or #p > #best) then best = p end
  end
  if not best then return true end
  local info = img.paths[best]
  local ou, og = ids(info.owner)
  local mode = tonumber(info.mode, 8) % 512
  if uid == ou then return math.floor(mode / 128) % 2 == 1 end
  if gid == og then return math.floor(mode / 16) % 2 == 1 end
  return math.floor(mode / 2) % 2 == 1
end

-- ---- the checks on a planned component ----

local function env_allowed(img, k)
  if (img.env or {})[k] or (img.file_env or {})[k] or (img.cmd_env or {})[k] then return true end
  if k:match("_FILE$") or k:match("_CMD$") then return false end
  for _, pat in ipairs(img.env_patterns or {}) do
    if k:match(pat) then return true end
  end
  return false
end

local function check_component(comp, img, where, problems)
  local function bad(fmt, ...) problems[#problems + 1] = where .. ": " .. fmt:format(...) end
  local user = comp.user or img.user
  local found = false
  for _, u in ipairs(img.users) do if u == user then found = true end end
  if not found then bad("user %s is not one the image runs as (%s)", tostring(user), table.concat(img.users, ", ")) end
  local uid, gid = ids(user)
  if comp.restricted ~= false and not (comp.user and uid and uid ~= 0) then
    bad("restricted but no numeric non-root user in the recipe (runAsNonRoot cannot verify the image's)")
  end
  for k in pairs(comp.env or {}) do
    if not env_allowed(img, k) then bad("env %s is not in the image's contract", k) end
  end
  for _, v in pairs(comp.volumes or {}) do
    local info = img.paths[v.path]
    if not info then
      bad("volume at %s: path not in the contract", v.path)
    elseif not writable(img, v.path, uid, gid) then
      bad("volume at %s is owned %s mode %s: not writable by %s", v.path, info.owner, info.mode, tostring(user))
    end
  end
  for _, t in ipairs(comp.tmpfs or {}) do
    t = type(t) == "table" and t.path or t
    if not img.paths[t] then bad("tmpfs at %s: path not in the contract", t) end
  end
  local caps = {}
  for _, c in ipairs(comp.capabilities or {}) do caps[c] = true end
  for _, w in ipairs(img.writes or {}) do
    if w:match("^[%u_]+$") then w = (comp.env or {})[w] or (img.env_defaults or {})[w] end
    if w and not covered(w, comp) then
      if comp.read_only then
        bad("read-only root but the image writes %s (no volume or tmpfs there)", w)
      elseif not caps.DAC_OVERRIDE and not writable(img, w, uid, gid) then
        bad("the image writes %s, which %s cannot write without CAP_DAC_OVERRIDE", w, tostring(user))
      end
    end
  end
  for _, v in ipairs(img.volumes or {}) do
    if not covered(v, comp) then
      bad("the image declares VOLUME %s: mount it (else each container leaves an anonymous volume)", v)
    end
  end
  for _, p in pairs(comp.ports or {}) do
    if not img.ports[p.container] then bad("port %d is not one the image listens on", p.container) end
  end
  local cmds = {}
  if comp.health and comp.health.kind == "exec" then argv_commands(comp.health.exec, cmds) end
  if comp.smoke then argv_commands(comp.smoke.exec, cmds) end
  if comp.entrypoint then
    argv_commands({ comp.entrypoint[1], comp.entrypoint[2], comp.command and comp.command[1] }, cmds)
  elseif not img.command_is_args then
    argv_commands(comp.command, cmds)
  end
  for k, v in pairs(comp.env or {}) do
    if k:match("_CMD$") then cmd_value_commands(v, cmds) end
  end
  for _, c in ipairs(cmds) do
    if not has_tool(img, c) then bad("runs '%s', which the image does not have", c) end
  end
  if comp.health and comp.health.kind == "http" and not (has_tool(img, "sh")
      and (has_tool(img, "curl") or has_tool(img, "wget"))) then
    bad("HTTP health check needs sh and curl or wget in the image")
  end
  if comp.health and comp.health.kind == "tcp" and not (has_tool(img, "nc") or has_tool(img, "bash")) then
    bad("TCP health check needs nc or bash in the image")
  end
end

-- ---- the checks on what the renderers and drivers make of it ----

local function check_docker(p, svc, comp, img, where, problems)
  local function bad(fmt, ...) problems[#problems + 1] = where .. " (docker): " .. fmt:format(...) end
  local body = build.container(p, svc, comp, 1, { root = "/project" })
  for _, kv in ipairs(body.Env or {}) do
    local k = kv:match("^([^=]+)=")
    if not env_allowed(img, k) then bad("container env %s is not in the contract", k) end
  end
  if (body.User or img.user) ~= (comp.user or img.user) then bad("User %s", tostring(body.User)) end
  for _, m in ipairs(body.HostConfig.Mounts or {}) do
    if m.Type == "volume" and not img.paths[m.Target] then bad("volume mount at %s", m.Target) end
    if m.Type == "bind" and not m.Target:match("^/run/secrets/[%w_.-]+$") then bad("bind mount at %s", m.Target) end
  end
  for path, opts in pairs(body.HostConfig.Tmpfs or {}) do
    if not img.paths[path] then bad("tmpfs at %s", path) end
    if path == "/tmp" and img.exec_tmp and opts:find("noexec", 1, true) then
      bad("/tmp is noexec but the image loads native code from it")
    end
  end
end

local function check_compose(p, img_of, problems)
  local files = assert(compose.render(p))
  local doc = assert(yaml.load(files["compose.yaml"]))
  for sname, svc in pairs(p.services) do
    for cname, comp in pairs(svc.components) do
      local key = compose.service_name(sname, cname)
      local s = doc.services[key]
      local img = img_of(sname, comp)
      local where = ("%s.%s (compose)"):format(sname, cname)
      if not s then
        problems[#problems + 1] = where .. ": no compose service " .. key
      elseif img then
        for k in pairs(s.environment or {}) do
          if not env_allowed(img, k) then problems[#problems + 1] = where .. ": env " .. k end
        end
        if (s.user or img.user) ~= (comp.user or img.user) then
          problems[#problems + 1] = where .. ": user " .. tostring(s.user)
        end
        for _, t in ipairs(s.tmpfs or {}) do
          local path = t:match("^([^:]+)")
          if not img.paths[path] then problems[#problems + 1] = where .. ": tmpfs " .. path end
          if path == "/tmp" and img.exec_tmp and t:find("noexec", 1, true) then
            problems[#problems + 1] = where .. ": /tmp is noexec"
          end
        end
      end
    end
  end
end

local function check_kubernetes(p, img_of, problems)
  for _, o in ipairs(objects.build(p)) do
    local pod = o.spec and o.spec.template and o.spec.template.spec
    if pod then
      local labels = o.metadata.labels or {}
      local sname, cname = labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]
      local comp = p.services[sname].components[cname or sname]
      local img = img_of(sname, comp)
      local where = ("%s.%s (kubernetes %s)"):format(sname, comp.name, o.kind)
      local ctr = pod.containers[1]
      local sc = pod.securityContext or {}
      local uid, gid = ids(comp.user or img.user)
      for _, e in ipairs(ctr.env or {}) do
        if not env_allowed(img, e.name) then problems[#problems + 1] = where .. ": env " .. e.name end
      end
      if sc.runAsNonRoot and not (sc.runAsUser and sc.runAsUser ~= 0) then
        problems[#problems + 1] = where .. ": runAsNonRoot without a numeric runAsUser"
      end
      if sc.runAsUser and sc.runAsUser ~= uid then
        problems[#problems + 1] = where .. ": runAsUser " .. sc.runAsUser .. " but the image's user is " .. tostring(uid)
      end
      -- a fresh claim is root-owned: a non-root user writes it through
      -- fsGroup (emptyDir and secret volumes are not claims)
      local not_claim = {}
      for _, v in ipairs(pod.volumes or {}) do
        if v.emptyDir or v.secret or v.projected then not_claim[v.name] = true end
      end
      for _, m in ipairs(ctr.volumeMounts or {}) do
        local info = img.paths[m.mountPath]
        if info and info.writes and not not_claim[m.name] and uid ~= 0 and sc.fsGroup ~= gid then
          problems[#problems + 1] = where .. ": volume at " .. m.mountPath .. " needs fsGroup " .. tostring(gid)
        end
      end
    end
  end
end

describe("image contracts", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function()
    if dir and dir:match("^/tmp/deloc%-contract%-spec%.") then sys.spawn({ argv = { "rm", "-rf", dir } }) end
  end)

  it("exist for every built-in recipe, with sources cited per fact", function()
    for _, name in ipairs(CATALOG) do
      local c = contract(name)
      assert.equal(name, c.recipe)
      for image, img in pairs(c.images) do
        assert.is_string(img.user, image)
        assert.is_true(#img.facts >= 3, image .. ": too few facts")
        for _, f in ipairs(img.facts) do
          assert.is_string(f[1], image)
          assert.matches("[%w-]+/[%w._-]+ ", f[2], image .. ": a fact without repo and path")
        end
      end
    end
  end)

  it("reads commands out of shell scripts as the checks need", function()
    assert.same({ "sh", "pg_isready" }, argv_commands({ "sh", "-c", "exec pg_isready -h x" }, {}))
    assert.same({ "sh", "redis-server" },
      argv_commands({ "sh", "-c", "exec redis-server - <<EOF\nrequirepass $(cat f)\nEOF\n" }, {}))
    assert.same({ "bash", "cat", "/opt/k/bin/x.sh", "grep" },
      argv_commands({ "bash", "-c", "K=/opt/k/bin; A=$(cat f); $K/x.sh | grep -q y" }, {}))
  end)

  it("finds a recipe that breaks its contract (the spec can fail)", function()
    local img = contract("minio").images["quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"]
    local problems = {}
    -- the bucket job as it was: mc as root, no capabilities, no MC_CONFIG_DIR
    check_component({ user = nil, restricted = false, env = {}, volumes = {}, tmpfs = {}, ports = {},
      capabilities = {}, command = { "mc mb x" }, entrypoint = { "/bin/sh", "-c" } }, img, "minio.buckets", problems)
    assert.equal(1, #problems, table.concat(problems, "\n"))
    assert.matches("writes /root/.mc, which 0:0 cannot write without CAP_DAC_OVERRIDE", problems[1], 1, true)
    problems = {}
    check_component({ user = "999:999", restricted = true, env = { NOPE = "1" }, volumes = {}, tmpfs = {},
      ports = { x = { container = 1 } }, capabilities = {}, health = { kind = "exec", exec = { "curl", "x" } } },
      contract("postgres").images["postgres:16.4-bookworm"], "postgres", problems)
    assert.equal(4, #problems, table.concat(problems, "\n"))
    assert.matches("VOLUME /var/lib/postgresql/data", table.concat(problems, "\n"), 1, true)
  end)

  for _, name in ipairs(CATALOG) do
    for _, options in ipairs(VARIANTS[name] or { {} }) do
      local label = name
      for k, v in pairs(options) do label = label .. (" %s=%s"):format(k, v) end
      it(label .. ": plan, docker, compose and kubernetes keep to the contracts", function()
        local problems = {}
        for _, target in ipairs({ "docker", "kubernetes" }) do
          local p = plan_of(dir, name, options, target)
          local function img_of(sname, comp)
            local c = contract(p.services[sname].recipe.name)
            local img = c.images[comp.image]
            if not img then problems[#problems + 1] = ("%s: image %s has no contract"):format(sname, comp.image) end
            return img
          end
          for sname, svc in pairs(p.services) do
            for cname, comp in pairs(svc.components) do
              local img = img_of(sname, comp)
              local where = ("%s.%s [%s]"):format(sname, cname, target)
              if img then
                check_component(comp, img, where, problems)
                if target == "docker" then check_docker(p, svc, comp, img, where, problems) end
              end
            end
          end
          if target == "docker" then check_compose(p, img_of, problems) else check_kubernetes(p, img_of, problems) end
        end
        assert.same({}, problems)
      end)
    end
  end
end)
