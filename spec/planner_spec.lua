-- The planner: closure, order, sizing to the machine, ports, secrets, and a
-- verdict; and every bad input refused with a clear error.
local planner = require("deloc.planner")
local registry = require("deloc.registry")
local json = require("deloc.json")

local FIX = "spec/fixtures/model/"
local Mi, Gi = 1024 ^ 2, 1024 ^ 3

local reg = assert(registry.new({ dirs = { FIX .. "recipes" }, builtin = false }))

-- A machine with `mem` usable after the 15% reserve.
local function machine(mem, cpu, disk)
  return { cpu = (cpu or 3.4) / 0.85, memory = math.ceil(mem / 0.85), disk = disk or 100 * Gi,
    source = { cpu = "test", memory = "test", disk = "test" } }
end

local function plan(services, extra)
  local o = { services = services, registry = reg, capacity = machine(16 * Gi), listening = {},
    project = { name = "t", dir = "/tmp/t", services = {}, profiles = {} } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return planner.plan(o)
end

local function comp(p, svc, c)
  return p.services[svc].components[c or svc]
end

local function fails(services, extra, code, pattern)
  local p, err = plan(services, extra)
  assert.is_nil(p)
  assert.equal(code, err.code)
  assert.matches(pattern, err.message, 1, true)
  return err
end

describe("deloc.planner", function()
  describe("closure and order", function()
    it("adds what the asked-for services need, and says why", function()
      local p = assert(plan({ "beta" }))
      assert.equal("asked for", p.services.beta.why)
      assert.equal("needed by beta", p.services.alpha.why)
      assert.is_nil(p.services.gamma)
      assert.same({ "alpha", "beta" }, p.order)
      assert.same({ { "alpha" }, { "beta" } }, p.levels)
      assert.same({ "alpha" }, p.services.beta.depends_on)
    end)

    it("lets options change dependencies", function()
      local p = assert(plan({ "beta" }, { overrides = { beta = { options = { cache = "gamma" } } } }))
      assert.equal("needed by beta", p.services.gamma.why)
      assert.same({ { "alpha", "gamma" }, { "beta" } }, p.levels)
      assert.equal("gamma", p.services.beta.options.cache)
    end)

    it("orders components inside a service and marks one-shots as completed", function()
      local p = assert(plan({ "beta" }))
      assert.same({ "init", "server", "worker" }, p.services.beta.component_order)
      assert.equal("oneshot", comp(p, "beta", "init").kind)
      assert.same({ { service = "alpha", component = "alpha", condition = "healthy" } }, comp(p, "beta", "init").depends_on)
      local deps = comp(p, "beta", "server").depends_on
      assert.same({ service = "beta", component = "init", condition = "completed" }, deps[1])
      assert.same({ service = "alpha", component = "alpha", condition = "healthy" }, deps[2])
      assert.same({ "beta-worker" }, comp(p, "beta", "worker").aliases)
      assert.same({ "alpha" }, comp(p, "alpha").aliases)
    end)

    it("names a cycle as a path", function()
      local creg = assert(registry.new({ dirs = { FIX .. "cycle" }, builtin = false }))
      local err = fails({ "one" }, { registry = creg }, "CONFIG_INVALID", "dependency cycle: one -> two -> three -> one")
      assert.same({ "one", "two", "three", "one" }, err.cycle)
    end)

    it("names a dependency without a recipe, with a did-you-mean", function()
      local creg = assert(registry.new({ dirs = { FIX .. "cycle" }, builtin = false }))
      local err = fails({ "lonely" }, { registry = creg }, "SERVICE_NOT_FOUND", "'lonely' depends on 'alpah', which has no recipe")
      assert.equal("did you mean 'alpha'?", err.hint)
    end)

    it("refuses an unknown service with a did-you-mean", function()
      local err = fails({ "gama" }, nil, "SERVICE_NOT_FOUND", "unknown service 'gama'")
      assert.equal("did you mean 'gamma'?", err.hint)
    end)

    it("refuses a name given twice and names that are not DNS-1123 labels", function()
      fails({ "alpha", "alpha" }, nil, "USAGE", "service 'alpha' is named twice")
      fails({ "Alpha" }, nil, "CONFIG_INVALID", "'Alpha' is not a valid service name")
      fails({ "a.b" }, nil, "CONFIG_INVALID", "'a.b' is not a valid service name")
      fails({ "alpha" }, { project = { name = "My Project" } }, "CONFIG_INVALID", "project name 'My Project'")
    end)

    it("refuses nothing to plan, unknown options and bad choices", function()
      fails({}, nil, "USAGE", "no services named, and the project lists none")
      fails({ "beta" }, { overrides = { beta = { options = { cahce = "gamma" } } } }, "CONFIG_INVALID",
        "service 'beta' has no option 'cahce' (did you mean 'cache'?)")
      fails({ "beta" }, { overrides = { beta = { options = { cache = "redis" } } } }, "CONFIG_INVALID",
        "option 'cache' of 'beta' cannot be 'redis' (one of: none, gamma)")
      fails({ "beta" }, { overrides = { beta = { components = { wrker = { replicas = 2 } } } } }, "CONFIG_INVALID",
        "service 'beta' has no component 'wrker' (did you mean 'worker'?)")
    end)

    it("refuses an unknown profile or target", function()
      local err = fails({ "alpha" }, { profile = "prod" }, "CONFIG_INVALID", "unknown profile 'prod'")
      assert.matches("did you mean 'production'?", err.hint, 1, true)
      fails({ "alpha" }, { target = "swarm" }, "CONFIG_INVALID", "unknown target 'swarm'")
    end)

    it("refuses bad overrides from the Lua API", function()
      fails({ "alpha" }, { overrides = { alpha = { resources = { memory = "lots" } } } }, "CONFIG_INVALID",
        "override of 'alpha' resources.memory: invalid memory 'lots'")
      fails({ "alpha" }, { overrides = { alpha = { ports = { main = 70000 } } } }, "CONFIG_INVALID", "out of range")
      fails({ "alpha" }, { overrides = { alpha = { replicas = 2 } } }, "CONFIG_INVALID",
        "alpha.alpha cannot run 2 replicas: it is not scalable")
    end)

    it("refuses two components with one DNS name", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(require("deloc.sys").mkdir_p(dir))
      local files = {
        ["x.lua"] = 'return recipe "x" { description = "x", image = "a/x:1", components = { y = {} } }',
        ["x-y.lua"] = 'return recipe "x-y" { description = "x-y", image = "a/xy:1" }',
      }
      for name, text in pairs(files) do
        local f = assert(io.open(dir .. "/" .. name, "w")); f:write(text); f:close()
      end
      finally(function() for name in pairs(files) do os.remove(dir .. "/" .. name) end os.remove(dir) end)
      local r2 = assert(registry.new({ dirs = { dir }, builtin = false }))
      fails({ "x", "x-y" }, { registry = r2 }, "CONFIG_INVALID", "two components are named 'x-y'")
    end)
  end)

  describe("sizing", function()
    it("applies the profile's recipe values when there is room", function()
      local p = assert(plan({ "beta" }))
      assert.equal(256 * Mi, comp(p, "alpha").memory)
      assert.equal(0.5, comp(p, "alpha").cpu)
      assert.equal(512 * Mi, comp(p, "beta", "server").memory)
      assert.equal(256, comp(p, "beta", "server").heap_mb)       -- the recipe's heap ratio 0.5
      assert.equal(358, comp(p, "beta", "worker").heap_mb)       -- the profile's 0.7
      assert.is_nil(comp(p, "alpha").heap_mb)
      assert.is_true(p.verdict.fits)
      assert.equal(0, #p.verdict.shrunk)
      -- running components plus the largest one-shot
      assert.equal((256 + 512 + 512 + 128) * Mi, p.verdict.needed.memory)
    end)

    it("uses the profile's values and caps them at its per-service limit", function()
      local p = assert(plan({ "alpha" }, { profile = "minimal" }))
      assert.equal(128 * Mi, comp(p, "alpha").memory)
      local laptop = { from = "development", per_service = { memory = "200Mi" } }
      p = assert(plan({ "alpha" }, { profile = "laptop", project = { name = "t", profiles = { laptop = laptop } } }))
      assert.equal(200 * Mi, comp(p, "alpha").memory)
      assert.equal("laptop", p.profile)
    end)

    it("shrinks every component by the same share of its room above the min", function()
      -- wants 1408Mi (1280 running + 128 one-shot), mins 512Mi; 960Mi usable: half the room
      local p = assert(plan({ "beta" }, { capacity = machine(960 * Mi) }))
      local function near(want, got) assert.is_true(math.abs(want - got) <= Mi, ("%d vs %d"):format(want, got)) end
      near(160 * Mi, comp(p, "alpha").memory)
      near(384 * Mi, comp(p, "beta", "server").memory)
      near(320 * Mi, comp(p, "beta", "worker").memory)
      near(96 * Mi, comp(p, "beta", "init").memory)
      assert.is_true(p.verdict.fits)
      assert.is_true(p.verdict.needed.memory <= 960 * Mi)
      assert.equal(4, #p.verdict.shrunk)
      -- heaps follow the final memory
      assert.equal(math.floor(comp(p, "beta", "server").memory / Mi * 0.5), comp(p, "beta", "server").heap_mb)
    end)

    it("refuses with a verdict and concrete choices when even the mins do not fit", function()
      local p = assert(plan({ "beta" }, { capacity = machine(400 * Mi) }))
      local v = p.verdict
      assert.is_false(v.fits)
      assert.equal(512 * Mi, v.needed.memory_min)
      assert.matches("memory: the stack needs at least 512Mi, 400Mi is usable", v.reasons[1], 1, true)
      local choices = table.concat(v.choices, "\n")
      assert.matches("drop beta (frees 384Mi)", choices, 1, true)
      assert.matches("set beta.server memory <= 144Mi", choices, 1, true)
      assert.matches("give Docker more memory: 112Mi more is needed", choices, 1, true)
      -- every component sits at its min
      assert.equal(256 * Mi, comp(p, "beta", "server").memory)
    end)

    it("keeps a value given by the project or a flag, flags first", function()
      local project = { name = "t", services = { alpha = { resources = { memory = "512Mi" } } } }
      local p = assert(plan({ "alpha" }, { project = project }))
      assert.equal(512 * Mi, comp(p, "alpha").memory)
      p = assert(plan({ "alpha" }, { project = project, overrides = { alpha = { resources = { memory = "300Mi" } } },
        explain = true }))
      assert.equal(300 * Mi, comp(p, "alpha").memory)
      assert.equal("override", p.explain.alpha.alpha.memory)
      p = assert(plan({ "alpha" }, { overrides = { alpha = { resources = { memory = "32Mi" } } } }))
      assert.equal(32 * Mi, comp(p, "alpha").memory)
      assert.matches("alpha.alpha: memory 32Mi is below the recipe's minimum 64Mi", p.warnings[1], 1, true)
    end)

    it("warns when the mins exceed the profile's budget but fit the machine", function()
      local tiny = { from = "minimal", budget = { memory = "300Mi" } }
      local p = assert(plan({ "beta" }, { profile = "tiny", project = { name = "t", profiles = { tiny = tiny } } }))
      assert.is_true(p.verdict.fits)
      assert.matches("the stack's minimum memory 512Mi is above profile tiny's budget 300Mi",
        table.concat(p.warnings, "\n"), 1, true)
    end)

    it("warns about CPU on Docker, and refuses on Kubernetes", function()
      local p = assert(plan({ "beta" }, { capacity = machine(16 * Gi, 0.5) }))
      assert.is_true(p.verdict.fits)
      assert.matches("cpu: the stack needs at least", table.concat(p.warnings, "\n"), 1, true)
      p = assert(plan({ "beta" }, { capacity = machine(16 * Gi, 0.5), target = "kubernetes" }))
      assert.is_false(p.verdict.fits)
      assert.matches("add .* CPUs to the cluster", table.concat(p.verdict.choices, "\n"))
    end)

    it("checks the disk the volumes need", function()
      local p = assert(plan({ "alpha" }, { capacity = { cpu = 4, memory = 8 * Gi, disk = 512 * Mi, source = { disk = "test" } } }))
      assert.is_false(p.verdict.fits)
      assert.equal(Gi, p.verdict.needed.disk)
      assert.matches("disk: volumes need 1Gi", p.verdict.reasons[1], 1, true)
      assert.matches("free .* of disk", table.concat(p.verdict.choices, "\n"))
    end)

    it("scales only scalable components", function()
      local p = assert(plan({ "beta" }, { overrides = { beta = { replicas = 3 } } }))
      assert.equal(3, comp(p, "beta", "worker").replicas)
      assert.equal(1, comp(p, "beta", "server").replicas)
      fails({ "beta" }, { overrides = { beta = { components = { server = { replicas = 2 } } } } }, "CONFIG_INVALID",
        "beta.server cannot run 2 replicas")
    end)
  end)

  describe("ports", function()
    it("publishes container ports on the same host ports when free", function()
      local p = assert(plan({ "alpha" }))
      assert.same({ container = 7000, host = 7000, protocol = "tcp", publish = true }, comp(p, "alpha").ports.main)
    end)

    it("picks a free host port when one is in use, and says so", function()
      local p = assert(plan({ "alpha" }, { listening = { [7000] = true, [7002] = true } }))
      assert.equal(7001, comp(p, "alpha").ports.admin.host)
      assert.equal(7003, comp(p, "alpha").ports.main.host)
      assert.matches("alpha port 'main': host port 7000 is in use; using 7003", table.concat(p.warnings, "\n"), 1, true)
      assert.equal("alpha://app:<secret alpha.password>@127.0.0.1:7003", p.services.alpha.connections[1])
    end)

    it("reads the ports this machine listens on", function()
      local set = planner.listening()
      assert.equal("table", type(set))
    end)

    it("sees a port that starts listening, through the kernel's socket diagnostics as through /proc", function()
      local sys = require("deloc.sys")
      local out = os.tmpname()
      local pid = assert(sys.spawn_bg({ argv = { "python3", "-c", [[
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(30)]] }, stdout = out }))
      finally(function() sys.kill(pid, "KILL"); sys.waitpid(pid); os.remove(out) end)
      local port
      for _ = 1, 600 do -- python starts slowly on a loaded machine
        port = tonumber(sys.read_file(out) or "")
        if port then break end
        sys.sleep(0.05)
      end
      assert.truthy(port, "the listener did not start")
      assert.is_true(assert(sys.tcp_listening())[port])
      assert.is_true(planner.listening()[port])
      local from_proc = planner.listening("/proc")
      assert.is_true(from_proc[port])
    end)

    it("keeps the host ports of the running stack", function()
      local first = assert(plan({ "alpha" }))
      local p = assert(plan({ "alpha" }, { listening = { [7000] = true, [7001] = true }, previous = first }))
      assert.equal(7000, comp(p, "alpha").ports.main.host)
      assert.equal(comp(first, "alpha").config_hash, comp(p, "alpha").config_hash)
    end)

    it("keeps a host port the user chose, and refuses one given twice", function()
      local p = assert(plan({ "alpha" }, { overrides = { alpha = { ports = { main = 17000 } } }, listening = { [17000] = true } }))
      assert.equal(17000, comp(p, "alpha").ports.main.host)
      assert.matches("host port 17000 is in use on this machine", table.concat(p.warnings, "\n"), 1, true)
      fails({ "alpha", "gamma" }, { overrides = { alpha = { ports = { main = 17000 } }, gamma = { ports = { cache = 17000 } } } },
        "CONFIG_INVALID", "host port 17000 of gamma port 'cache' is also given to alpha port 'main'")
    end)

    it("does not publish the ports of scalable components", function()
      local p = assert(plan({ "beta" }))
      local ui = comp(p, "beta", "worker").ports.ui
      assert.is_false(ui.publish)
      assert.is_nil(ui.host)
      assert.equal(8089, ui.container)
    end)
  end)

  describe("components", function()
    it("resolves health ports, secrets, env and commands", function()
      local p = assert(plan({ "beta" }))
      local server = comp(p, "beta", "server")
      assert.same({ kind = "http", port = 8088, path = "/ready", scheme = "http", interval = 5, timeout = 3,
        retries = 10, start_period = 0 }, server.health)
      assert.equal(8089, comp(p, "beta", "worker").health.port)
      assert.equal("yes", server.env.BETA_COMMON)
      assert.equal("-Xmx256m", server.env.BETA_HEAP)
      local a = comp(p, "alpha")
      assert.equal("/run/secrets/alpha.password", a.env.ALPHA_PASSWORD_FILE)
      assert.equal("256", a.env.ALPHA_MEMORY_MB)
      assert.same({ file = "/run/secrets/alpha.password", source = ".deloc/secrets/alpha.password",
        service = "alpha", name = "password", length = 16 }, a.secrets.password)
      local init = comp(p, "beta", "init")
      assert.same({ "beta-init", "--db", "alpha:7000", "--password-file", "/run/secrets/alpha.password" }, init.command)
      assert.equal("/run/secrets/alpha.password", init.secrets["alpha.password"].file)
      assert.same({ path = "/var/lib/alpha", name = "deloc-t-alpha-data", data = true, size = Gi }, a.volumes.data)
      assert.same({ exec = { "alpha-dump" }, restore = { "alpha-restore" }, component = "alpha" }, p.services.alpha.backup)
    end)

    it("layers env: recipe, then project, then flags", function()
      local project = { name = "t", services = { alpha = { env = { A = "project", B = "project" } } } }
      local p = assert(plan({ "alpha" }, { project = project, overrides = { alpha = { env = { B = "flag" } } } }))
      assert.equal("project", comp(p, "alpha").env.A)
      assert.equal("flag", comp(p, "alpha").env.B)
    end)

    it("overrides images by service, by image, by component, else prefixes the mirror", function()
      local p = assert(plan({ "beta" }, { images = { alpha = "mine/alpha:2", ["example/beta:2.1"] = "mine/beta:2" } }))
      assert.equal("mine/alpha:2", comp(p, "alpha").image)
      assert.equal("mine/beta:2", comp(p, "beta", "server").image)
      p = assert(plan({ "beta" }, { mirror = "registry.local:5000/",
        overrides = { beta = { components = { worker = { image = "w/w:1" } } } } }))
      assert.equal("registry.local:5000/example/alpha:1.0", comp(p, "alpha").image)
      assert.equal("w/w:1", comp(p, "beta", "worker").image)
      p = assert(plan({ "alpha" }, { overrides = { alpha = { image = "o/alpha:3" } } }))
      assert.equal("o/alpha:3", comp(p, "alpha").image)
    end)

    it("gives each component a config hash that changes with its configuration only", function()
      local a = comp(assert(plan({ "beta" })), "beta", "server").config_hash
      local b = comp(assert(plan({ "beta" })), "beta", "server").config_hash
      assert.matches("^%x+$", a)
      assert.equal(16, #a)
      assert.equal(a, b)
      local c = comp(assert(plan({ "beta" }, { overrides = { beta = { env = { X = "1" } } } })), "beta", "server").config_hash
      assert.not_equal(a, c)
      local big = machine(16 * Gi, 16)
      local w1 = comp(assert(plan({ "beta" }, { profile = "production", capacity = big })), "beta", "worker").config_hash
      local w3 = comp(assert(plan({ "beta" }, { profile = "production", capacity = big,
        overrides = { beta = { replicas = 3 } } })),
        "beta", "worker").config_hash
      assert.equal(w1, w3)
    end)

    it("reports a recipe function that fails, with its file and line", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(require("deloc.sys").mkdir_p(dir))
      local f = assert(io.open(dir .. "/bad.lua", "w"))
      f:write('return recipe "bad" { description = "b", image = "b/b:1",\n  env = function(s) return { P = s.port("nope", "bad") } end }\n')
      f:close()
      finally(function() os.remove(dir .. "/bad.lua"); os.remove(dir) end)
      local r2 = assert(registry.new({ dirs = { dir }, builtin = false }))
      local err = fails({ "bad" }, { registry = r2 }, "CONFIG_INVALID", dir .. "/bad.lua: env: ")
      assert.matches("bad.lua:2: s.port: service 'bad' has no port 'nope'", err.message, 1, true)
    end)

    it("is plain data that encodes to JSON with arrays kept as arrays", function()
      local p = assert(plan({ "alpha" }))
      local text = assert(json.encode(p))
      assert.matches('"depends_on":[]', text, 1, true)
      assert.matches('"shrunk":[]', text, 1, true)
      assert.matches('"order":["alpha"]', text, 1, true)
      local back = json.decode(text)
      assert.equal("alpha", back.order[1])
    end)
  end)

  describe("the built-in catalog", function()
    local builtin = assert(registry.new({ dirs = {} }))
    for _, name in ipairs(builtin:names()) do
      it("plans " .. name, function()
        local p, err = planner.plan({ services = { name }, registry = builtin, capacity = machine(64 * Gi, 16),
          listening = {}, project = { name = "cat" } })
        assert(p, tostring(err))
        assert.is_true(p.verdict.fits)
        for _, svc in ipairs(p.order) do
          for _, cn in ipairs(p.services[svc].component_order) do
            local c = p.services[svc].components[cn]
            assert.truthy(c.image:match(":[^/]+$") or c.image:find("@", 1, true))
            assert.is_true(c.memory > 0 and c.cpu > 0)
            if c.kind == "service" then assert.truthy(c.health, svc .. "." .. cn .. " has no health check") end
          end
        end
      end)
    end

    it("plans all of it at once under every profile", function()
      for _, profile in ipairs({ "minimal", "development", "production" }) do
        local p, err = planner.plan({ services = builtin:names(), registry = builtin, capacity = machine(64 * Gi, 16),
          listening = {}, project = { name = "cat" }, profile = profile })
        assert(p, tostring(err))
      end
    end)
  end)

  -- how fast is bench/model.sh's to say (make bench), not a unit spec's
  describe("scale", function()
    it("plans 50 services with dependencies", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(require("deloc.sys").mkdir_p(dir))
      local names = {}
      for i = 1, 50 do
        names[i] = ("svc%02d"):format(i)
        local deps = {}
        if i > 1 then deps[#deps + 1] = ('"svc%02d"'):format(i - 1) end
        if i > 5 then deps[#deps + 1] = ('"svc%02d"'):format(i - 5) end
        local f = assert(io.open(dir .. "/" .. names[i] .. ".lua", "w"))
        f:write(([[return recipe "%s" { description = "s", image = "x/s:1", depends_on = { %s },
          ports = { web = %d }, env = function(s) return { MEM = s.memory_mb } end,
          health = { tcp = "web" }, resources = { development = { memory = "256Mi", cpu = 0.5 }, min = { memory = "64Mi" } } }
        ]]):format(names[i], table.concat(deps, ", "), 9000 + i))
        f:close()
      end
      finally(function() for _, n in ipairs(names) do os.remove(dir .. "/" .. n .. ".lua") end os.remove(dir) end)
      local r50 = assert(registry.new({ dirs = { dir }, builtin = false }))
      assert(planner.plan({ services = { "svc50" }, registry = r50, capacity = machine(8 * Gi), listening = {}, project = { name = "b" } }))
      local p = assert(planner.plan({ services = { "svc50" }, registry = r50, capacity = machine(8 * Gi), listening = {}, project = { name = "b" } }))
      assert.equal(50, #p.order)
      assert.equal("svc01", p.order[1])
    end)
  end)

  describe("the facts every target uses", function()
    it("gives each component its container defaults, labels and one hash", function()
      local p = assert(plan({ "beta" }))
      local a = comp(p, "alpha")
      assert.equal("deloc-t", p.network)
      assert.same({ id = "alpha", pids = 4096, drop = { "ALL" }, add = {}, nnp = true, ro = true,
                    restart = "unless-stopped", ip = "127.0.0.1", owned = true },
        { id = a.id, pids = a.pids_limit, drop = a.cap_drop, add = a.cap_add, nnp = a.no_new_privileges,
          ro = a.read_only, restart = a.restart, ip = a.host_ip, owned = a.tmpfs_owned })
      assert.equal("no", comp(p, "beta", "init").restart)
      assert.equal("beta-init", comp(p, "beta", "init").id)
      assert.same({ ["dev.deloc.project"] = "t", ["dev.deloc.service"] = "alpha",
                    ["dev.deloc.component"] = "alpha", ["dev.deloc.kind"] = "service",
                    ["dev.deloc.config-hash"] = a.config_hash }, a.labels)
      assert.equal(a.config_hash, a.hash)
      assert.matches("^%x+$", a.hash)
      assert.equal(16, #a.hash)
    end)

    it("carries the container health check: the exec as given, none for one-shots", function()
      local p = assert(plan({ "beta" }))
      local hc = comp(p, "alpha").healthcheck
      assert.same({ "CMD", "alpha-ready" }, hc.test)
      assert.same({ 5, 1, 3, 60 }, { hc.interval, hc.timeout, hc.retries, hc.start_period })
      assert.is_nil(comp(p, "beta", "init").healthcheck)
      assert.equal("CMD-SHELL", comp(p, "beta", "server").healthcheck.test[1])
    end)

    it("lists every component in start order", function()
      local p = assert(plan({ "beta" }))
      local ids = {}
      for _, e in ipairs(p.components) do ids[#ids + 1] = e.id end
      assert.same({ "alpha", "beta-init", "beta-server", "beta-worker" }, ids)
      assert.same({ service = "beta", component = "server", id = "beta-server" }, p.components[3])
    end)

    it("changes the hash with what recreates a component (the replica count: see 'components')", function()
      local base = comp(assert(plan({ "beta" })), "beta", "worker").hash
      local env = comp(assert(plan({ "beta" }, { overrides = { beta = { env = { X = "1" } } } })), "beta", "worker")
      assert.are_not.equal(base, env.hash)
      local image = comp(assert(plan({ "beta" }, { images = { beta = "other/beta:3" } })), "beta", "worker")
      assert.are_not.equal(base, image.hash)
    end)

    it("resolves a dependency on a whole service to its primary component, in any plan", function()
      local facts = require("deloc.plan.facts")
      local p = assert(plan({ "beta" }))
      assert.equal("server", p.services.beta.primary)
      -- a hand-written (or older) plan: the model completes it
      local hand = {
        project = "h", order = { "db", "app" },
        services = {
          db = { components = { init = { kind = "oneshot" }, main = {} }, component_order = { "init", "main" } },
          app = { components = { app = { depends_on = { { service = "db", condition = "healthy" } } } } },
        },
      }
      facts.complete(hand)
      assert.equal("main", hand.services.db.primary)
      assert.equal("main", hand.services.app.components.app.depends_on[1].component)
      assert.equal("deloc-h", hand.network)
      local again = hand.services.app.components.app.hash
      facts.complete(hand)
      assert.equal(again, hand.services.app.components.app.hash)
    end)
  end)

  describe("placement on a cluster's nodes", function()
    local function cluster(nodes)
      local cap = { cpu = 0, memory = 0, disk = 100 * Gi, source = { cpu = "t", memory = "t", disk = "t" }, nodes = nodes }
      for _, n in ipairs(nodes) do cap.cpu, cap.memory = cap.cpu + n.cpu, cap.memory + n.memory end
      return cap
    end

    it("places every replica on a node when the capacity has nodes", function()
      local p = assert(plan({ "alpha" }, { target = "kubernetes",
        capacity = cluster({ { name = "n1", cpu = 4, memory = 8 * Gi }, { name = "n2", cpu = 4, memory = 8 * Gi } }) }))
      assert.is_true(p.verdict.fits)
      local placed = {}
      for _, n in ipairs(p.placement.nodes) do
        for _, c in ipairs(n.components) do placed[#placed + 1] = c end
      end
      assert.same({ "alpha" }, placed)
      assert.same({}, p.placement.unplaced)
    end)

    it("does not fit when a replica has no node with room, though the sum would", function()
      -- two nodes of 200Mi each: 400Mi in all, but alpha alone wants 256Mi
      local p = assert(plan({ "alpha" }, { target = "kubernetes",
        capacity = cluster({ { name = "n1", cpu = 4, memory = 200 * Mi / 0.85 }, { name = "n2", cpu = 4, memory = 200 * Mi / 0.85 } }) }))
      assert.is_false(p.verdict.fits)
      assert.same({ "alpha" }, p.placement.unplaced)
      assert.matches("^alpha: ", p.verdict.reasons[#p.verdict.reasons])
    end)

    it("places nothing on one machine", function()
      assert.is_nil(assert(plan({ "alpha" })).placement)
    end)
  end)
end)
