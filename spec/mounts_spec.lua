-- Your files in the stack: content points, deloc.yaml's mapping, the trust
-- boundary, and what each target makes of them.
local mounts = require("deloc.mounts")
local sys = require("deloc.sys")
local project = require("deloc.project")

local e2e = dofile("spec/support/e2e.lua")
local rmtree = e2e.rmdir
local function tmpdir() return assert(sys.realpath(e2e.tmpdir())) end

local RECIPE = [[
return recipe "web" {
  description = "a web server", image = "busybox:1.36",
  mounts = { site = { path = "/srv/site" }, conf = "/etc/web/web.conf" },
  volumes = { data = "/srv/site", cache = "/var/cache/web" },
  ports = { http = 8080 },
  user = "1000:1000",
}
]]

describe("deloc.mounts", function()
  local dir
  before_each(function()
    dir = tmpdir()
    assert(sys.mkdir_p(dir .. "/site"))
    assert(sys.mkdir_p(dir .. "/recipes"))
    assert(sys.write_atomic(dir .. "/site/index.html", "<h1>hi</h1>\n"))
    assert(sys.write_atomic(dir .. "/web.conf", "listen 8080\n"))
    assert(sys.write_atomic(dir .. "/recipes/web.lua", RECIPE))
  end)
  after_each(function() rmtree(dir) end)

  local function load(services_yaml)
    local text = "project: mt\nservices:\n" .. services_yaml
    assert(sys.write_atomic(dir .. "/deloc.yaml", text))
    return project.parse(text, dir .. "/deloc.yaml", dir, { environ = {} })
  end

  local function plan(services_yaml, extra)
    local p = assert(load(services_yaml))
    local o = { project = p, capacity = { cpu = 8, memory = 2 ^ 34, disk = 2 ^ 40 }, listening = {} }
    for k, v in pairs(extra or {}) do o[k] = v end
    return require("deloc.api").plan(o)
  end

  it("keeps a project file's paths inside the project", function()
    assert(sys.spawn({ argv = { "ln", "-s", "/etc", dir .. "/escape" } }))
    for _, bad in ipairs({ "/", "../", "~", "/etc", "./escape", "./escape/passwd" }) do
      local p, err = load("  web:\n    mounts:\n      site: '" .. bad .. "'\n")
      assert.is_nil(p, bad)
      assert.matches("deloc.yaml:%d+:%d+: services.web.mounts.site: ", err.message)
    end
    local _, err = load("  web:\n    mounts:\n      site: ./escape\n")
    assert.matches("resolves to /etc, outside the project directory", err.message, 1, true)
    assert(sys.mkdir_p(dir .. "/.deloc/secrets"))
    for _, bad in ipairs({ ".", "./.deloc", "./.deloc/secrets" }) do
      _, err = load("  web:\n    mounts:\n      site: '" .. bad .. "'\n")
      assert.matches("would expose .deloc/", err.message, 1, true)
    end
    _, err = load("  web:\n    mounts:\n      site: ./nope\n")
    assert.matches("'./nope' does not exist", err.message, 1, true)
    _, err = load("  web:\n    mounts:\n      site: { source: ./site, writable: 'yes' }\n")
    assert.matches("'writable' must be true or false", err.message, 1, true)
  end)

  it("lets the command line mount a path anywhere", function()
    local svc, key, e = assert(mounts.flag("web.site=" .. dir .. "/site:rw"))
    assert.equal("web", svc)
    assert.equal("site", key)
    assert.is_true(e.writable)
    assert.equal(dir .. "/site", e.source)
    local _, key2, e2 = assert(mounts.flag("web./etc/hosts=/etc/hosts", "."))
    assert.equal("/etc/hosts", key2)
    assert.equal("file", e2.kind)
    local none, err = mounts.flag("web=/etc")
    assert.is_nil(none)
    assert.matches("SERVICE.POINT=PATH", err.message, 1, true)
    local p = assert(plan("  web: {}\n", { mounts = { "web./etc/hosts=/etc/hosts" } }))
    assert.equal("/etc/hosts", p.services.web.components.web.mounts["/etc/hosts"].source)
  end)

  it("maps onto content points or any path; a mount replaces a volume at its path", function()
    local p = assert(plan("  web:\n    mounts:\n      site: ./site\n      conf: ./web.conf\n"
      .. "      /opt/extra: { source: ./site, writable: true }\n"))
    local c = p.services.web.components.web
    assert.same({ source = dir .. "/site", path = "/srv/site", kind = "directory", point = "site",
      writable = false, gid = c.mounts.site.gid, given = "./site" }, c.mounts.site)
    assert.equal("/etc/web/web.conf", c.mounts.conf.path)
    assert.equal("file", c.mounts.conf.kind)
    assert.is_true(c.mounts["/opt/extra"].writable)
    assert.is_nil(c.volumes.data) -- /srv/site is the user's now
    assert.truthy(c.volumes.cache)
    local r = assert(sys.spawn({ argv = { sys.realpath("./deloc"), "plan", "-f", dir .. "/deloc.yaml" } }))
    assert.equal(0, r.status, r.stderr)
    assert.matches("\nmounts:\n.*  web%s+./site%s+/srv/site%s+read%-only\n", r.stdout)
    assert.matches("\nmounts:\n.*  web%s+./site%s+/opt/extra%s+read%-write\n", r.stdout)
    local none, err = plan("  web:\n    mounts:\n      sit: ./site\n")
    assert.is_nil(none)
    assert.matches("service 'web' has no content point 'sit' (did you mean 'site'?)", err.message, 1, true)
  end)

  it("changes the config hash with the mapping, not with the content", function()
    local yaml = "  web:\n    mounts:\n      site: ./site\n"
    local h1 = assert(plan(yaml)).services.web.components.web.config_hash
    assert(sys.write_atomic(dir .. "/site/index.html", "<h1>changed</h1>\n"))
    assert.equal(h1, assert(plan(yaml)).services.web.components.web.config_hash)
    local h2 = assert(plan("  web:\n    mounts:\n      site: { source: ./site, writable: true }\n"))
      .services.web.components.web.config_hash
    assert.not_equal(h1, h2)
  end)

  it("becomes read-only binds on Docker and in Compose, and is checked against the user", function()
    local p = assert(plan("  web:\n    mounts:\n      site: ./site\n      /opt/rw: { source: ./site, writable: true }\n"))
    local body = require("deloc.adapters.docker.build").container(p, "web", "web", 1, { root = dir })
    local binds = {}
    for _, m in ipairs(body.HostConfig.Mounts) do
      if m.Type == "bind" then binds[m.Target] = m end
    end
    assert.same({ Type = "bind", Source = dir .. "/site", Target = "/srv/site", ReadOnly = true }, binds["/srv/site"])
    assert.is_false(binds["/opt/rw"].ReadOnly)
    local files = assert(require("deloc.adapters.compose").render(p))
    local text = files["docker-compose.yaml"] or select(2, next(files))
    assert.matches("type: bind\n%s+source: ./site\n%s+target: /srv/site\n%s+read_only: true", text)
    -- a Compose file written outside the project names the sources absolutely
    text = assert(require("deloc.adapters.compose").text(p, { secrets_dir = dir .. "/.deloc/secrets" }))
    assert.matches("source: " .. dir .. "/site\n", text, 1, true)
    -- 1000:1000 cannot write a 0755 directory of another owner: said, with the fix, not changed
    local binds_check = require("deloc.adapters.docker.binds")
    assert(sys.chmod(dir .. "/site", tonumber("755", 8)))
    local ok, err = binds_check.check(p)
    if sys.stat(dir .. "/site") and select(2, sys.stat(dir .. "/site")).uid ~= 1000 then
      assert.is_nil(ok)
      assert.matches("web runs as 1000:1000 and cannot write " .. dir .. "/site", err.message, 1, true)
      assert.matches("chmod o+wx ./site", err.hint, 1, true)
      assert.equal(tonumber("755", 8), select(2, sys.stat(dir .. "/site")).mode) -- untouched
    end
    assert(sys.chmod(dir .. "/site", tonumber("777", 8)))
    assert.is_true(binds_check.check(p))
  end)

  it("becomes ConfigMaps in the Helm chart where it can, and says where not", function()
    assert(sys.write_atomic(dir .. "/site/logo.bin", "\0\1\2"))
    local p = assert(plan("  web:\n    mounts:\n      site: ./site\n      conf: ./web.conf\n"
      .. "      /opt/rw: { source: ./site, writable: true }\n", { target = "kubernetes" }))
    local objs = require("deloc.k8s.objects").build(p)
    local cms = {}
    for _, o in ipairs(objs) do if o.kind == "ConfigMap" then cms[o.metadata.name] = o end end
    assert.equal("<h1>hi</h1>\n", cms["web-files-site"].data["index.html"])
    assert.equal("AAEC", cms["web-files-site"].binaryData["logo.bin"])
    local b64 = require("deloc.k8s.files").base64
    assert.equal("", b64(""))
    assert.equal("YQ==", b64("a"))
    assert.equal("YWI=", b64("ab"))
    assert.equal("YWJj", b64("abc"))
    assert.equal("/+8A", b64("\255\239\0"))
    assert.equal("listen 8080\n", cms["web-files-conf"].data["web.conf"])
    assert.matches("web: /opt/rw %(.-%) is not mounted: writable", objs.mount_notes[1])
    local files = assert(require("deloc.adapters.helm").render(p))
    assert.matches("WARNING: web: /opt/rw", files["templates/NOTES.txt"], 1, true)
    local warned = false
    for _, w in ipairs(p.warnings) do
      if w:find("web: /opt/rw cannot be mounted writable on Kubernetes", 1, true) then warned = true end
    end
    assert.is_true(warned)
    assert.truthy(files["templates/configmap-web-files-site.yaml"])
  end)
end)

describe("deloc.secrets: values given instead of generated", function()
  local secrets = require("deloc.secrets")
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmtree(dir) end)

  local function plan_with(from)
    return { order = { "postgres" }, services = { postgres = { components = { postgres = {
      secrets = { password = { service = "postgres", name = "password", from = from } } } } } } }
  end

  it("copies a file's value (trailing newlines dropped) into .deloc/secrets, mode 0600", function()
    assert(sys.write_atomic(dir .. "/pw.txt", "s3cret'\"$x\n\n"))
    assert(secrets.provide(plan_with({ file = dir .. "/pw.txt" }), dir))
    local path = dir .. "/.deloc/secrets/postgres.password"
    assert.equal("s3cret'\"$x", sys.read_file(path))
    assert.equal(tonumber("600", 8), select(2, sys.stat(path)).mode)
    assert(sys.write_atomic(dir .. "/pw.txt", "rotated"))
    assert(secrets.provide(plan_with({ file = dir .. "/pw.txt" }), dir))
    assert.equal("rotated", sys.read_file(path))
  end)

  it("takes an environment variable's value, and says which is unset", function()
    assert(sys.setenv("DELOC_SPEC_PW", "from-env"))
    finally(function() sys.setenv("DELOC_SPEC_PW", nil) end)
    assert(secrets.provide(plan_with({ env = "DELOC_SPEC_PW" }), dir))
    assert.equal("from-env", sys.read_file(dir .. "/.deloc/secrets/postgres.password"))
    local ok, err = secrets.provide(plan_with({ env = "DELOC_SPEC_UNSET_PW" }), dir)
    assert.is_nil(ok)
    assert.matches("secret postgres.password: environment variable 'DELOC_SPEC_UNSET_PW' is not set", err.message, 1, true)
  end)

  it("accepts only a file inside the project in deloc.yaml", function()
    local text = "services: [postgres]\nsecrets:\n  postgres.password: { file: /etc/passwd }\n"
    local p, err = project.parse(text, dir .. "/deloc.yaml", dir, { environ = {} })
    assert.is_nil(p)
    assert.matches("deloc.yaml:3:%d+: secret 'postgres.password': '/etc/passwd' resolves to /etc/passwd, outside", err.message)
    p, err = project.parse("secrets:\n  password: { env: X }\n", dir .. "/deloc.yaml", dir, { environ = {} })
    assert.is_nil(p)
    assert.matches("must be named SERVICE.SECRET", err.message, 1, true)
  end)
end)
