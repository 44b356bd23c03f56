-- Hostile strings in every free-text field of a plan, of a recipe and of
-- deloc.yaml reach the generated Compose file and Helm chart as values:
-- what a reader parses is what was meant -- no extra key, no extra document,
-- no changed value -- or deloc refuses the input with a clear error.
--
-- Property-based and deterministic: the strings come from
-- spec/support/hostile.lua with a fixed seed (DELOC_HOSTILE_SEED replays
-- another run; every failure names its seed and case).  The unit part reads
-- the files back with deloc's own loader; the #e2e parts run the real
-- consumers: the Compose v5 loader (`config --format json`), Debian's
-- docker-compose 1.29 (`config`), `helm template` and the strict Kubernetes
-- decoder (spec/tools/k8s-strict, which prints the decoded objects).
local sys = require("deloc.sys")
local yaml = require("deloc.yaml")
local json = require("deloc.json")
local compose = require("deloc.adapters.compose")
local helm = require("deloc.adapters.helm")
local health = require("deloc.health")
local g = dofile("spec/support/generate.lua")
local hostile = dofile("spec/support/hostile.lua")

local SEED = tonumber(os.getenv("DELOC_HOSTILE_SEED")) or 20261204

-- Compose writes `$` as `$$`; config prints it so again.
local function unescape_dollars(s) return (s:gsub("%$%$", "$")) end

-- The fixture plan with a hostile string in each free-text field; returns
-- the plan and what each field was given.
local function hostile_plan(gen, opts)
  local plan = g.plan()
  local h = {}
  local function s() return gen:string(opts) end
  local app = plan.services.app.components
  h.profile = s(); plan.profile = h.profile
  h.env = s(); app.api.env.HOSTILE = h.env
  h.java = s(); app.api.env.JAVA_OPTS = h.java
  h.api_cmd = s(); app.api.command = { h.api_cmd }
  h.init_arg = s(); app.init.command = { "sh", "-c", h.init_arg }
  h.worker_env = s(); app.worker.env.QUEUE = h.worker_env
  h.reason = s(); app.worker.restricted_reason = h.reason
  h.health_arg = s()
  local pg = plan.services.postgres.components.postgres
  pg.health.exec = { "pg_isready", "-U", h.health_arg }
  h.description = s(); plan.services.app.description = h.description
  return plan, h
end

-- What a reader of the Compose file must find, given the parsed document
-- (values with `$$` already read back as `$`).
local function check_compose_doc(doc, plan, h, where)
  local keys = {}
  for k in pairs(doc) do if k ~= "name" then keys[#keys + 1] = k end end
  table.sort(keys)
  assert.same({ "networks", "secrets", "services", "volumes" }, keys, where)
  local names = {}
  for k in pairs(doc.services) do names[#names + 1] = k end
  table.sort(names)
  assert.same({ "app-api", "app-init", "app-worker", "postgres", "redis" }, names, where)
  local api = doc.services["app-api"]
  assert.equal(h.env, api.environment.HOSTILE, where)
  assert.equal(h.java, api.environment.JAVA_OPTS, where)
  assert.same({ h.api_cmd }, api.command, where)
  assert.same({ "sh", "-c", h.init_arg }, doc.services["app-init"].command, where)
  assert.equal(h.worker_env, doc.services["app-worker"].environment.QUEUE, where)
  local want = health.test(plan.services.postgres.components.postgres.health)
  local got = doc.services.postgres.healthcheck.test
  assert.same({ unpack(want) }, { unpack(got) }, where)
  assert.equal("gen", api.labels["dev.deloc.project"], where)
end

local function map_strings(v, f)
  if type(v) == "string" then return f(v) end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = map_strings(x, f) end
    return out
  end
  return v
end

describe("generate: hostile strings stay values (deloc's reader)", function()
  it("in the Compose file and the chart's plain files, for 300 seeded plans", function()
    local gen = hostile.new(SEED)
    local refused = 0
    for case = 1, 300 do
      local where = ("seed %d case %d"):format(SEED, case)
      local plan, h = hostile_plan(gen)
      local function all_text(fields)
        for _, f in ipairs(fields) do if not hostile.utf8(h[f]) then return false end end
        return true
      end
      local in_compose = { "env", "java", "api_cmd", "init_arg", "worker_env", "health_arg" }
      local utf8 = all_text(in_compose)
      local files, err = compose.render(plan)
      local chart, herr = helm.render(plan)
      if not (utf8 and all_text({ "reason", "profile" })) then
        assert.is_nil(chart, where)
        assert.matches("not valid UTF%-8 at '[^']+'", tostring(herr), nil, false, where)
      end
      if not utf8 then
        -- a value that is not text is refused, and the message says where
        assert.is_nil(files, where)
        assert.matches("not valid UTF%-8 at '[^']+'", tostring(err), nil, false, where)
        refused = refused + 1
      else
        assert.is_table(files, tostring(err) .. " " .. where)
        local text = files["compose.yaml"]
        assert.is_true(compose.is_ours(text), where)
        local doc = assert(yaml.load(text, { name = where }))
        check_compose_doc(map_strings(doc, unescape_dollars), plan, h, where)

      end
      if chart then
        local values = assert(yaml.load(chart["values.yaml"]))
        assert.same({ "networkPolicy", "secrets", "services", "waitImages" },
          require("deloc.array").sorted_keys(values), where)
        local meta = assert(yaml.load(chart["Chart.yaml"]))
        assert.equal("gen", meta.name, where)
        assert.equal(h.profile, meta.annotations["deloc.dev/profile"], where)
        -- a comment line never holds a line break of any kind
        for name, t in pairs(chart) do
          for line in t:gmatch("[^\n]*") do
            if line:match("^%s*#") then
              assert.is_nil(line:find("\r", 1, true), name .. " " .. where)
              assert.is_nil(line:find("\0", 1, true), name .. " " .. where)
              assert.is_nil(line:find("\194\133", 1, true), name .. " " .. where)
              assert.is_nil(line:find("\226\128\168", 1, true), name .. " " .. where)
              assert.is_nil(line:find("\226\128\169", 1, true), name .. " " .. where)
            end
          end
        end
      end
    end
    assert.is_true(refused > 0 and refused < 300, "the seed must exercise both outcomes")
  end)

  it("a plan string shaped like a chart placeholder stays text", function()
    local plan = g.plan()
    plan.services.app.components.api.env.TRAP = "__DELOC0_V1__ __DELOC_V1__ __DELOC0_B2__"
    local chart = assert(helm.render(plan))
    local found = false
    for _, t in pairs(chart) do
      if t:find("TRAP", 1, true) then
        found = true
        assert.matches("value: __DELOC0_V1__ __DELOC_V1__ __DELOC0_B2__\n", t, 1, true)
      end
    end
    assert.is_true(found)
  end)

  it("a header comment cannot end early: the known profile-name attack", function()
    local plan = g.plan()
    plan.profile = "x\nservices:\n  evil:\n    image: evil\n#"
    local text = assert(compose.text(plan))
    local doc = assert(yaml.load(text))
    assert.is_nil(doc.services.evil)
    assert.matches("^# Generated by deloc[^\n]*profile x\\x0Aservices:", text)
  end)
end)

-- ---- the real consumers ----

local function run(argv, opts)
  opts = opts or {}
  local r, err = sys.spawn({ argv = argv, cwd = opts.cwd, stdin = opts.stdin, env = opts.env,
                             timeout = opts.timeout or 120 })
  assert(r, tostring(err))
  return r.status, r.stdout, r.stderr
end

-- docker-compose 1.29's own loader (its Python package), as JSON: the
-- top-level sections and the services by name
local DC_LOAD = [[
import json
from compose.config import config
from compose.config.environment import Environment
cfg = config.load(config.find('.', ['compose.yaml'], Environment.from_env_file('.')))
out = {"services": {s.pop("name"): s for s in cfg.services}}
for k in ("networks", "volumes", "secrets"):
    out[k] = getattr(cfg, k)
print(json.dumps(out, default=str))
]]

local function strict_objects(strict, rendered)
  local s, out, err = run({ strict }, { stdin = rendered,
    env = { K8S_STRICT_JSON = "1", PATH = os.getenv("PATH") } })
  assert.equal(0, s, out .. err)
  local objs, kinds = {}, {}
  for line in out:gmatch("[^\n]+") do
    local j = line:match("^json (.*)$")
    if j then
      local o = assert(json.decode(j))
      objs[o.kind .. " " .. o.metadata.name] = o
      kinds[#kinds + 1] = o.kind .. " " .. o.metadata.name
    end
  end
  table.sort(kinds)
  return objs, kinds
end

local function container(obj, name)
  local pod = obj.spec.template.spec
  for _, c in ipairs(pod.containers) do if c.name == name then return c end end
  error("no container " .. name .. " in " .. obj.metadata.name)
end

-- Kubernetes expands $(VAR) in env values, command and args; `$$` is a `$`.
local function kexpand(s) return (s:gsub("%$%$", "$")) end

local function env_of(c)
  local e = {}
  for _, v in ipairs(c.env or {}) do e[v.name] = v.value and kexpand(v.value) end
  return e
end

local function args_of(c)
  local a = {}
  for i, v in ipairs(c.args or {}) do a[i] = kexpand(v) end
  return a
end

local function job_named(objs, prefix)
  for k, o in pairs(objs) do
    if o.kind == "Job" and k:find("Job " .. prefix, 1, true) then return o end
  end
  error("no Job " .. prefix)
end

describe("generate: hostile strings stay values in the real consumers #e2e", function()
  local v5, helmbin, strict, dir, baseline

  setup(function()
    v5 = g.tool("docker-compose-v5")
    helmbin = g.tool("helm")
    strict = g.tool("k8s-strict")
    dir = g.tempdir()
    -- the documents a clean chart has: a hostile one has exactly these
    assert(require("deloc.generate").helm(g.plan(), dir .. "/clean"))
    local s, rendered, err = run({ helmbin, "template", "rel", dir .. "/clean", "--namespace", "ns" })
    assert.equal(0, s, err)
    local _
    _, baseline = strict_objects(strict, rendered)
  end)
  teardown(function() g.rm_tree(dir) end)

  it("Compose v5, docker-compose 1.29, helm template + strict decoding: 12 seeded plans", function()
    local gen = hostile.new(SEED + 1)
    for case = 1, 12 do
      local where = ("seed %d case %d"):format(SEED + 1, case)
      local plan, h = hostile_plan(gen, { utf8 = true })
      local files = assert(compose.render(plan))
      g.write(dir .. "/compose.yaml", files["compose.yaml"])

      local s, out, err = run({ v5, "-f", "compose.yaml", "-p", "gen", "config", "--format", "json" },
        { cwd = dir })
      assert.equal(0, s, err .. " " .. where)
      check_compose_doc(map_strings(assert(json.decode(out)), unescape_dollars), plan, h, "v5 " .. where)

      s, out, err = run({ "docker-compose", "-f", "compose.yaml", "-p", "gen", "config", "-q" }, { cwd = dir })
      assert.equal(0, s, out .. err .. " " .. where)
      -- what docker-compose 1.29's loader holds (interpolated: `$$` is `$`
      -- already).  Its `config` output is no oracle: PyYAML writes NEL, LS
      -- and PS raw in single quotes and reads them back as spaces.
      s, out, err = run({ "/usr/bin/python3", "-c", DC_LOAD }, { cwd = dir })
      assert.equal(0, s, err .. " " .. where)
      local doc = assert(json.decode(out))
      check_compose_doc(doc, plan, h, "docker-compose " .. where)

      local chart = dir .. "/chart" .. case
      assert(require("deloc.generate").helm(plan, chart))
      local rendered
      s, rendered, err = run({ helmbin, "template", "rel", chart, "--namespace", "ns" })
      assert.equal(0, s, err .. " " .. where)
      local objs, kinds = strict_objects(strict, rendered)
      assert.same(baseline, kinds, where) -- no extra, no missing document
      local api = env_of(container(objs["Deployment app-api"], "api"))
      assert.equal(h.env, api.HOSTILE, where)
      assert.equal(h.java, api.JAVA_OPTS, where)
      assert.same({ h.api_cmd }, args_of(container(objs["Deployment app-api"], "api")), where)
      local init = job_named(objs, "app-init")
      assert.same({ "sh", "-c", h.init_arg }, args_of(init.spec.template.spec.containers[1]), where)
      assert.equal(h.worker_env, env_of(container(objs["Deployment app-worker"], "worker")).QUEUE, where)
      assert.equal(h.reason, objs["Deployment app-worker"].metadata.annotations["deloc.dev/not-restricted"],
        where)
      g.rm_tree(chart)
    end
  end)
end)

-- ---- through the binary: a cloned project's recipe and deloc.yaml ----

local RECIPE = [[
return recipe "evil" {
  description = %q,
  image = %q,
  ports = { http = 8080 },
  env = { HOSTILE = %q, OTHER = "x" },
  command = { "sh", "-c", %q },
  health = { exec = { "test", %q } },
  tmpfs = { %q },
  resources = { development = { memory = "64Mi", cpu = 0.1 } },
  restricted = false,
  restricted_reason = %q,
}
]]

local function project_with(dir, r, yaml_text)
  sys.mkdir_p(dir .. "/recipes", 448)
  g.write(dir .. "/recipes/evil.lua", RECIPE:format(r.description, r.image, r.env, r.cmd, r.health,
    r.tmpfs, r.reason))
  g.write(dir .. "/deloc.yaml", yaml_text or "project: demo\nrecipes: [recipes]\nservices:\n  evil: {}\n")
end

local function clean_recipe()
  return { description = "d", image = "busybox:1.37.0", env = "v", cmd = "sleep 1", health = "x",
           tmpfs = "/tmp", reason = "r" }
end

-- a message for the terminal: no control byte but the newlines between
-- its lines (the message, a hint)
local function printable(msg)
  return msg:find("[%z\1-\9\11-\31\127-\255]") == nil
end

describe("generate: hostile names in a cloned project are refused with file, line and rule", function()
  local names = require("deloc.names")
  local dir
  before_each(function() dir = g.tempdir() end)
  after_each(function() g.rm_tree(dir) end)

  -- field -> how to place the string, the rule it must pass, where an error points
  local FIELDS = {
    { "project", "dns_label", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: %s\nrecipes: [recipes]\nservices:\n  evil: {}\n"):format(json.encode(s)) end },
    { "profile", "profile", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nprofile: %s\nrecipes: [recipes]\nservices:\n  evil: {}\n"):format(json.encode(s)) end },
    { "profile key", "profile", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nprofiles:\n  %s:\n    from: minimal\nrecipes: [recipes]\nservices:\n  evil: {}\n")
        :format(json.encode(s)) end },
    { "service key", "dns_label", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nrecipes: [recipes]\nservices:\n  %s: {}\n"):format(json.encode(s)) end },
    { "image override", "image", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nrecipes: [recipes]\nservices:\n  evil: {}\nimages:\n  evil: %s\n")
        :format(json.encode(s)) end },
    { "override env name", "env", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nrecipes: [recipes]\nservices:\n  evil:\n    env:\n      %s: x\n")
        :format(json.encode(s)) end },
    { "override image", "image", "deloc%.yaml:%d+:%d+:", function(s)
      return nil, ("project: demo\nrecipes: [recipes]\nservices:\n  evil:\n    image: %s\n")
        :format(json.encode(s)) end },
    { "recipe image", "image", "recipes/evil%.lua:3:", function(s)
      local r = clean_recipe(); r.image = s; return r end },
    { "recipe tmpfs", "path", "recipes/evil%.lua:8:", function(s)
      local r = clean_recipe(); r.tmpfs = "/" .. s; return r end },
  }

  it("for 63 seeded cases (deloc generate compose)", function()
    local gen = hostile.new(SEED + 2)
    for case = 1, 63 do
      local f = FIELDS[(case - 1) % #FIELDS + 1]
      local s = gen:string({ max = 300 })
      local where = ("seed %d case %d (%s = %s)"):format(SEED + 2, case, f[1], names.quote(s))
      local r, y = f[4](s)
      project_with(dir, r or clean_recipe(), y)
      local value = f[1] == "recipe tmpfs" and "/" .. s or s
      local valid = names.check(f[2], value) and not (f[1] == "recipe image" and not value:find(":"))
      local status, out, err = g.deloc(dir, nil, "generate", "compose", "-o", "out.yaml")
      if valid then
        assert.equal(0, status, err .. where)
      else
        assert.is_not.equal(0, status, out .. where)
        assert.matches("^deloc: " .. f[3], err, nil, false, where)
        assert.is_true(printable(err), where .. ": " .. err)
        assert.is_nil(g.read(dir .. "/out.yaml"), where)
      end
      os.remove(dir .. "/out.yaml")
    end
  end)
end)

describe("generate: hostile text in a cloned project's recipe reaches the consumers unchanged #e2e", function()
  local v5, helmbin, strict, dir
  setup(function()
    v5 = g.tool("docker-compose-v5")
    helmbin = g.tool("helm")
    strict = g.tool("k8s-strict")
  end)
  before_each(function() dir = g.tempdir() end)
  after_each(function() g.rm_tree(dir) end)

  it("description, env, command, health and restricted_reason: 6 seeded recipes", function()
    local gen = hostile.new(SEED + 3)
    for case = 1, 6 do
      local where = ("seed %d case %d"):format(SEED + 3, case)
      local r = clean_recipe()
      for _, k in ipairs({ "description", "env", "cmd", "health", "reason" }) do r[k] = gen:string() end
      project_with(dir, r)
      local text = true
      for _, k in ipairs({ "description", "env", "cmd", "health", "reason" }) do
        if not hostile.utf8(r[k]) then text = false end
      end
      local status, out, err = g.deloc(dir, nil, "generate", "compose", "-o", "compose.yaml")
      if not text then
        -- bytes that are not text: refused where they are written
        assert.is_not.equal(0, status, out .. where)
        assert.matches("^deloc: recipes/evil%.lua:%d+: '[%w._%[%]]+' is not UTF%-8 text", err, nil, false, where)
      else
        assert.equal(0, status, err .. where)
        local s, o, e = run({ v5, "-f", "compose.yaml", "-p", "demo", "config", "--format", "json" }, { cwd = dir })
        assert.equal(0, s, e .. where)
        local doc = map_strings(assert(json.decode(o)), unescape_dollars)
        assert.same({ "evil" }, require("deloc.array").sorted_keys(doc.services), where)
        assert.equal(r.env, doc.services.evil.environment.HOSTILE, where)
        assert.same({ "sh", "-c", r.cmd }, doc.services.evil.command, where)

        local hstatus, _, herr = g.deloc(dir, nil, "generate", "helm", "-o", "chart")
        assert.equal(0, hstatus, herr .. where)
        local rendered
        s, rendered, e = run({ helmbin, "template", "rel", dir .. "/chart", "--namespace", "ns" })
        assert.equal(0, s, e .. where)
        local objs, kinds = strict_objects(strict, rendered)
        assert.same({ "Deployment evil", "NetworkPolicy evil", "Service evil", "ServiceAccount demo" }, kinds, where)
        local c = container(objs["Deployment evil"], "evil")
        assert.equal(r.env, env_of(c).HOSTILE, where)
        assert.same({ "sh", "-c", r.cmd }, args_of(c), where)
        assert.equal(r.reason, objs["Deployment evil"].metadata.annotations["deloc.dev/not-restricted"], where)
      end
      g.rm_tree(dir .. "/chart")
      os.remove(dir .. "/compose.yaml")
    end
  end)
end)
