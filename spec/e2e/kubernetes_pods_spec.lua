-- `deloc --target kubernetes` where the pods really run: the API server and etcd
-- of spec/support/kube.lua, kube-controller-manager, kube-scheduler and one real
-- node (kubelet, kube-proxy, CoreDNS, containerd with Debian's runc and CNI
-- plugins; spec/k8s/pods-node, binaries from spec/k8s/build-pods).  The test
-- images (spec/images/build) are imported into the node's containerd, so the
-- recipes' images are reached through DELOC_IMAGES and nothing is pulled.
-- What only a kubelet checks is checked here: Pod Security "restricted" as
-- enforced, runAsNonRoot, fsGroup on a volume owned by root, subPath, read-only
-- roots, probes run in the container, Services and DNS between pods.
--
-- Tagged #k8spods, not #e2e: run by `make test-k8s-pods` (spec/run k8spods).
local sys = require("deloc.sys")
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local kube = dofile("spec/support/kube.lua")
local images = dofile("spec/support/images.lua")
local terminal = dofile("spec/support/terminal.lua")

local KINDS = { "Job", "Deployment", "StatefulSet", "Service", "NetworkPolicy", "RoleBinding", "Role",
                "Secret", "ConfigMap", "ServiceAccount", "PersistentVolumeClaim", "PodDisruptionBudget", "Pod" }
local FIXTURES = e2e.root .. "/spec/fixtures/k8spods/recipes"

-- a TCP port nothing listens on (for the local end of a port-forward)
local function free_port()
  local listening = require("deloc.planner").listening()
  math.randomseed(sys.pid() + math.floor(sys.now() * 1000))
  for _ = 1, 100 do
    local p = math.random(20000, 32000)
    if not listening[p] then return p end
  end
  error("no free port")
end

describe("kubernetes with a real kubelet: postgres, redis and a scalable web server run #k8spods", function()
  local k, project, dir, env, ns, tags
  local forwards = {}
  local build = require("deloc.adapters.kubernetes.build")
  local client = require("deloc.adapters.kubernetes.client")

  local function deloc(args, timeout, stdin)
    local argv = { args[1], "--target", "kubernetes" }
    for i = 2, #args do argv[#argv + 1] = args[i] end
    return e2e.deloc(argv, { cwd = dir, env = env, timeout = timeout or 400, stdin = stdin })
  end

  -- the JSON lines of an --json run: progress events, then the result document
  local function json_run(out)
    local events, at = {}, 1
    for pos in out:gmatch("()\n{\n") do at = pos + 1 end
    for line in out:sub(1, at - 1):gmatch("[^\n]+") do
      local ev = json.decode(line)
      if type(ev) == "table" then events[#events + 1] = ev end
    end
    return events, assert(json.decode(out:sub(at)))
  end

  local function get(path)
    local code, body = k:request("GET", path)
    assert.equal(200, code, path .. ": " .. json.encode(body))
    return body
  end

  local function pods(selector)
    local out = {}
    for _, p in ipairs(get("/api/v1/namespaces/" .. ns .. "/pods?labelSelector=" .. selector).items) do
      if not p.metadata.deletionTimestamp then out[#out + 1] = p end
    end
    return out
  end

  local function ready_pod(p)
    for _, c in ipairs(p.status.conditions or {}) do
      if c.type == "Ready" then return c.status == "True" end
    end
    return false
  end

  local function eventually(what, fn, seconds)
    local deadline = sys.now() + (seconds or 60)
    local last
    while true do
      local ok, v = pcall(fn)
      if ok and v then return v end
      last = ok and "not yet" or v
      if sys.now() > deadline then error(("%s: still not after %ds (%s)"):format(what, seconds or 60, tostring(last)), 2) end
      k:check()
      sys.sleep(0.5)
    end
  end

  local function kubectl(args, timeout)
    local argv = { k.pods_bin .. "/kubectl", "--kubeconfig", k.kubeconfig }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local r = assert(sys.spawn({ argv = argv, timeout = timeout or 60 }))
    return r.status, r.stdout, r.stderr
  end

  local function secret(name)
    return (assert(sys.read_file(dir .. "/.deloc/secrets/" .. name)):gsub("%s+$", ""))
  end

  -- every "kubectl ... port-forward svc/NAME L:R" string in a result document
  local function forward_commands(doc)
    local out = {}
    local function walk(v)
      if type(v) == "string" then
        local svc = v:match("^kubectl .* port%-forward svc/([%w-]+) %d+:%d+$")
        if svc then out[svc] = v end
      elseif type(v) == "table" then
        for _, x in pairs(v) do walk(x) end
      end
    end
    walk(doc)
    return out
  end

  -- runs the port-forward deloc printed (our kubectl and kubeconfig, a free
  -- local port) until the spec ends; returns the local port
  local function forward(command)
    local words = {}
    for w in command:gmatch("%S+") do words[#words + 1] = w end
    local port = free_port()
    local argv = { k.pods_bin .. "/kubectl", "--kubeconfig", k.kubeconfig }
    for i = 2, #words - 1 do argv[#argv + 1] = words[i] end
    argv[#argv + 1] = words[#words]:gsub("^%d+:", port .. ":")
    local log = k.dir .. ("/forward-%d.log"):format(port)
    local pid = assert(sys.spawn_bg({ argv = argv, stdout = log, stderr = log }))
    forwards[#forwards + 1] = pid
    eventually("port-forward " .. command, function()
      assert(sys.waitpid(pid, true) == false, "kubectl exited: " .. (sys.read_file(log) or ""))
      return (sys.read_file(log) or ""):find("Forwarding from 127.0.0.1:" .. port, 1, true)
    end, 30)
    return port
  end

  local function stop_forwards()
    for _, pid in ipairs(forwards) do
      if sys.waitpid(pid, true) == false then
        sys.kill(pid, "TERM")
        sys.waitpid(pid)
      end
    end
    forwards = {}
  end

  local function psql(port, sql, password)
    return assert(sys.spawn({ argv = { "psql", "-h", "127.0.0.1", "-p", tostring(port), "-U", "deloc", "-d", "deloc",
      "-tA", "-c", sql }, env = { PGPASSWORD = password or secret("postgres.password"), PGCONNECT_TIMEOUT = "10" },
      timeout = 60 }))
  end

  local function redis(port, ...)
    local argv = { "redis-cli", "-h", "127.0.0.1", "-p", tostring(port), "--no-auth-warning" }
    for _, a in ipairs({ ... }) do argv[#argv + 1] = a end
    return assert(sys.spawn({ argv = argv, env = { REDISCLI_AUTH = secret("redis.password") }, timeout = 60 }))
  end

  local function labelled(selector)
    local found = {}
    for _, kind in ipairs(KINDS) do
      local code, body = k:request("GET", client.collection(kind, ns) .. "?labelSelector=" .. selector)
      if code == 200 then
        for _, it in ipairs(body.items) do found[#found + 1] = kind .. "/" .. it.metadata.name end
      else
        assert.equal(404, code, json.encode(body))
      end
    end
    table.sort(found)
    return found
  end

  local endpoints -- service -> printed port-forward command (from the first up)

  setup(function()
    tags = assert(images.ensure({ "postgres", "redis", "busybox" }))
    local t0 = sys.now()
    k = kube.start({ pods = true, images = { tags.postgres, tags.redis, tags.busybox } })
    io.stderr:write(("kubernetes_pods_spec: cluster up, node Ready, in %.1f s\n"):format(sys.now() - t0))
    k:add_local_volumes(6, "2Gi")
    project = e2e.project("k8s-pods")
    dir = e2e.tmpdir()
    e2e.project_file(dir, project, "services:\n  postgres: {}\n  redis: {}\n  web: {}\n", FIXTURES)
    env = { KUBECONFIG = k.kubeconfig, DELOC_TARGET = false,
            DELOC_IMAGES = images.overrides(tags, { web = "busybox" }) }
    ns = build.namespace(project)
  end)

  teardown(function()
    stop_forwards()
    if k then k:stop() end
    if dir then e2e.rmdir(dir) end
  end)

  it("up --wait: every pod Running and Ready on the node, in dependency order, under restricted", function()
    local st, out, err = deloc({ "up", "--wait", "--timeout", "300s", "--json" })
    assert.equal(0, st, err .. out .. "\nkubelet:\n" .. (sys.read_file(k.dir .. "/node/kubelet.log") or ""):sub(-3000))
    local events, doc = json_run(out)
    assert.is_true(doc.ok)
    endpoints = forward_commands(doc)
    assert.is_string(endpoints.postgres, out)
    assert.is_string(endpoints.redis, out)
    -- the namespace enforces restricted, so every pod below passed it
    local labels = get("/api/v1/namespaces/" .. ns).metadata.labels
    assert.equal("restricted", labels["pod-security.kubernetes.io/enforce"])

    local seen = {}
    for i, ev in ipairs(events) do
      if ev.state then
        local key = tostring(ev.service) .. "/" .. tostring(ev.component)
        seen[key] = seen[key] or {}
        seen[key][ev.state] = seen[key][ev.state] or i
      end
    end
    local plan = assert(json.decode(assert(sys.read_file(dir .. "/.deloc/state.json")))).plan
    for _, sname in ipairs(plan.order) do
      for _, cname in ipairs(plan.services[sname].component_order) do
        local key = sname .. "/" .. cname
        assert.is_number((seen[key] or {}).ready, key .. " never ready")
        -- a component is applied only once what it depends on is ready
        for _, d in ipairs(plan.services[sname].components[cname].depends_on or {}) do
          local dkey = d.service .. "/" .. (d.component or d.service)
          if seen[dkey] and seen[dkey].ready then
            assert.is_true(seen[dkey].ready < seen[key].applying, dkey .. " before " .. key)
          end
        end
        local ps = pods(build.selector(project, sname, cname))
        assert.is_true(#ps >= 1, key .. " has no pod")
        for _, p in ipairs(ps) do
          assert.equal(k.node, p.spec.nodeName)
          assert.equal("Running", p.status.phase, p.metadata.name)
          assert.is_true(ready_pod(p), p.metadata.name .. " not Ready")
          for _, cs in ipairs(p.status.containerStatuses) do
            assert.is_true(cs.ready, p.metadata.name .. "/" .. cs.name)
            assert.equal(0, cs.restartCount, p.metadata.name .. "/" .. cs.name .. " restarted")
          end
        end
      end
    end
    -- the claims are bound to the node's local volumes
    for _, c in ipairs(get("/api/v1/namespaces/" .. ns .. "/persistentvolumeclaims").items) do
      assert.equal("Bound", c.status.phase, c.metadata.name)
    end
  end)

  it("a real login to postgres and redis through the printed port-forward, with the generated secrets", function()
    local pg = forward(endpoints.postgres)
    local r = psql(pg, "select current_user || ' ' || current_database()")
    assert.equal(0, r.status, r.stderr)
    assert.equal("deloc deloc", (r.stdout:gsub("%s+$", "")))
    r = psql(pg, "select 1", "wrong-password")
    assert.is_not.equal(0, r.status)
    assert.matches("password authentication failed", r.stderr, 1, true)

    local rd = forward(endpoints.redis)
    r = redis(rd, "SET", "deloc-key", "kept")
    assert.equal(0, r.status, r.stderr)
    assert.equal("OK", (r.stdout:gsub("%s+$", "")))
    r = assert(sys.spawn({ argv = { "redis-cli", "-h", "127.0.0.1", "-p", tostring(rd), "GET", "deloc-key" },
      timeout = 30 }))
    assert.matches("NOAUTH", r.stdout .. r.stderr, 1, true)
  end)

  it("service names resolve (CoreDNS) and route to ready pods (kube-proxy), from inside the pods", function()
    local pg = ("postgres.%s.svc.cluster.local"):format(ns)
    local st, out, err = kubectl({ "-n", ns, "exec", "postgres-0", "--", "pg_isready", "-h", pg, "-p", "5432" })
    assert.equal(0, st, out .. err)
    assert.matches("accepting connections", out, 1, true)
    st, out, err = kubectl({ "-n", ns, "exec", "redis-0", "--", "sh", "-c",
      'REDISCLI_AUTH="$(cat /run/secrets/redis.password)" redis-cli -h redis -p 6379 PING' })
    assert.equal(0, st, out .. err)
    assert.equal("PONG", (out:gsub("%s+$", "")))
    -- a name that is not the cluster's is not looked up anywhere else
    st = kubectl({ "-n", ns, "exec", "redis-0", "--", "redis-cli", "-h", "example.com", "PING" })
    assert.is_not.equal(0, st)
  end)

  it("status, health and logs read the running pods", function()
    local st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    local rows = assert(json.decode(out)).services
    assert.is_true(#rows >= 3, out)
    for _, r in ipairs(rows) do
      assert.equal("ready", r.state, r.service .. "/" .. r.component)
    end
    st, out, err = deloc({ "health" })
    assert.equal(0, st, err .. out)
    st, out, err = deloc({ "logs", "postgres" })
    assert.equal(0, st, err)
    assert.matches("database system is ready to accept connections", out, 1, true)
    st, out, err = deloc({ "logs", "redis" })
    assert.equal(0, st, err)
    assert.matches("Ready to accept connections", out, 1, true)
  end)

  it("exec runs in the pod over pods/exec: exit status passed through, stdout and stderr apart", function()
    local st, out, err = deloc({ "exec", "postgres", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 7" }, 60, "")
    assert.equal(7, st, err)
    assert.equal("to-out\n", out)
    assert.matches("to-err\n", err, 1, true)
    assert.is_nil(out:find("to-err", 1, true))
    -- stdin from a pipe reaches the process, then end of input
    st, out, err = deloc({ "exec", "redis", "--", "sh", "-c", "cat; echo done" }, 60, "line one\nline two\n")
    assert.equal(0, st, err)
    assert.equal("line one\nline two\ndone\n", out)
    -- the container's own user and tools (postgres runs as uid 999)
    st, out, err = deloc({ "exec", "postgres", "--", "id", "-u" }, 60, "")
    assert.equal(0, st, err)
    assert.equal("999\n", out)
    -- --env as a prefix; --user cannot be honoured and says so
    st, out, err = deloc({ "exec", "--env", "GREETING=hi there", "redis", "--", "sh", "-c", "echo $GREETING" }, 60, "")
    assert.equal(0, st, err)
    assert.equal("hi there\n", out)
    local _
    st, _, err = deloc({ "exec", "--user", "root", "redis", "--", "true" }, 60, "")
    assert.equal(2, st)
    assert.matches("--user is not available for the kubernetes target", err, 1, true)
    -- a missing command is the runtime's error, not a hang
    st, _, err = deloc({ "exec", "redis", "--", "no-such-command-here" }, 60, "")
    assert.is_not.equal(0, st, err)
    st, _, err = deloc({ "exec", "nothere", "--", "true" }, 60, "")
    assert.is_not.equal(0, st)
    assert.matches("no service 'nothere'", err, 1, true)
  end)

  it("exec on a terminal: a tty in the pod of the window's size, resized with it, the local one restored", function()
    local t = terminal.new("k8sexec")
    local ok, perr = pcall(function()
      t:start(("cd %s && NO_COLOR=1 KUBECONFIG=%s DELOC_IMAGES=%s %s exec --target kubernetes redis sh; "
        .. "echo EXIT=$?; stty -a; sleep 60"):format(dir, k.kubeconfig, env.DELOC_IMAGES, e2e.bin()))
      t:wait_for("$", 60)
      t:type_line("tty; stty size")
      t:wait_for("30 100", 30)
      assert.matches("/dev/pts/", t:screen(), 1, true)
      t:resize(120, 40) -- SIGWINCH: the new size goes on channel 4
      sys.sleep(0.5)
      t:type_line("stty size")
      t:wait_for("40 120", 30)
      t:type_line("exit 4")
      t:wait_for("EXIT=4", 30)
      local sc = t:screen()
      assert.matches("[^-]icanon", sc)
      assert.matches("[^-]echo ", sc)
    end)
    t:kill()
    if not ok then error(perr, 0) end
  end)

  it("smoke postgres redis passes inside the pods", function()
    local st, out, err = deloc({ "smoke", "postgres", "redis" }, 300)
    assert.equal(0, st, err .. out)
    assert.matches("postgres", out, 1, true)
    assert.matches("redis", out, 1, true)
    st, out, err = deloc({ "smoke", "--json", "postgres", "redis" }, 300)
    assert.equal(0, st, err .. out)
    local doc = assert(json.decode(out))
    assert.is_true(doc.passed, out)
    local passed = {}
    for _, r in ipairs(doc.smokes) do
      assert.is_true(r.passed, json.encode(r))
      passed[r.service] = true
    end
    assert.same({ postgres = true, redis = true }, passed)
  end)

  it("cp copies a tree into a pod and back out (tar over exec), owned by the container's user", function()
    local src, _ = e2e.tmpdir(), nil
    local ok, perr = pcall(function()
      assert(sys.mkdir_p(src .. "/tree/sub"))
      assert(sys.write_atomic(src .. "/tree/a.txt", "alpha\n"))
      local big = ("0123456789abcdef"):rep(16384) -- 256 KiB: several WebSocket frames
      assert(sys.write_atomic(src .. "/tree/sub/big.bin", big))
      local st, out, err = deloc({ "cp", src .. "/tree", "postgres:/tmp/" }, 120)
      assert.equal(0, st, err .. out)
      st, out, err = deloc({ "exec", "postgres", "--", "sh", "-c",
        "cat /tmp/tree/a.txt; wc -c < /tmp/tree/sub/big.bin; stat -c %u /tmp/tree/a.txt" }, 60, "")
      assert.equal(0, st, err)
      assert.equal("alpha\n262144\n999\n", out)
      -- and back out, under a new name
      st, out, err = deloc({ "cp", "postgres:/tmp/tree", src .. "/back" }, 120)
      assert.equal(0, st, err .. out)
      assert.equal("alpha\n", sys.read_file(src .. "/back/a.txt"))
      assert.equal(big, sys.read_file(src .. "/back/sub/big.bin"))
      -- a single file out, into an existing directory
      st, out, err = deloc({ "cp", "postgres:/tmp/tree/a.txt", src .. "/back/sub" }, 120)
      assert.equal(0, st, err .. out)
      assert.equal("alpha\n", sys.read_file(src .. "/back/sub/a.txt"))
      st, _, err = deloc({ "cp", "postgres:/tmp/nothere", src .. "/x" }, 120)
      assert.equal(2, st, err)
      assert.matches("no '/tmp/nothere' in the container", err, 1, true)
      deloc({ "exec", "postgres", "--", "rm", "-rf", "/tmp/tree" }, 60, "")
    end)
    e2e.rmdir(src)
    if not ok then error(perr, 0) end
  end)

  it("scale web=3 runs three ready pods, =1 scales back; postgres cannot be scaled", function()
    local st, out, err = deloc({ "scale", "web=3" })
    assert.equal(0, st, err .. out)
    local sel = build.selector(project, "web", "web")
    local ps = pods(sel)
    assert.equal(3, #ps)
    for _, p in ipairs(ps) do assert.is_true(ready_pod(p), p.metadata.name) end
    st, out, err = deloc({ "status", "--json" })
    assert.equal(0, st, err)
    local row
    for _, r in ipairs(assert(json.decode(out)).services) do
      if r.service == "web" then row = r end
    end
    assert.equal("3/3", row.ready)
    st, out, err = deloc({ "scale", "postgres=2" })
    assert.equal(2, st, err .. out)
    assert.matches("postgres cannot be scaled", err, 1, true)
    st, out, err = deloc({ "scale", "web=1" })
    assert.equal(0, st, err .. out)
    eventually("two web pods gone", function() return #pods(sel) == 1 end, 90)
  end)

  it("data is kept across down and up on the PersistentVolumes", function()
    local pg = forward(endpoints.postgres)
    local r = psql(pg, "create table kept (v text); insert into kept values ('still here')")
    assert.equal(0, r.status, r.stderr)
    local rd = forward(endpoints.redis)
    r = redis(rd, "GET", "deloc-key")
    assert.equal("kept", (r.stdout:gsub("%s+$", "")), "before down: " .. r.stdout .. r.stderr)
    stop_forwards()
    local st, out, err = deloc({ "down" })
    assert.equal(0, st, err .. out)
    eventually("pods gone", function() return #pods(build.selector(project)) == 0 end, 120)
    for _, c in ipairs(get("/api/v1/namespaces/" .. ns .. "/persistentvolumeclaims").items) do
      assert.equal("Bound", c.status.phase, c.metadata.name)
    end
    st, out, err = deloc({ "up", "--wait", "--timeout", "300s" })
    assert.equal(0, st, err .. out)
    pg = forward(endpoints.postgres)
    r = psql(pg, "select v from kept")
    assert.equal(0, r.status, r.stderr)
    assert.equal("still here", (r.stdout:gsub("%s+$", "")))
    -- redis saved its snapshot on SIGTERM and loaded it again
    rd = forward(endpoints.redis)
    r = redis(rd, "GET", "deloc-key")
    assert.equal(0, r.status, r.stderr)
    local _, logs = kubectl({ "-n", ns, "logs", "redis-0" })
    assert.equal("kept", (r.stdout:gsub("%s+$", "")), logs)
    stop_forwards()
  end)

  it("backup and restore go through pods/exec: pg_dump out, pg_restore back", function()
    local pg = forward(endpoints.postgres)
    local r = psql(pg, "create table if not exists saved (v text); delete from saved; insert into saved values ('v1')")
    assert.equal(0, r.status, r.stderr)
    local file = dir .. "/pg.backup"
    local st, out, err = deloc({ "backup", "postgres", "-o", file, "--json" })
    assert.equal(0, st, err .. out)
    local info = assert(json.decode(out))
    assert.equal("exec", info.kind)
    assert.equal("PGDMP", assert(sys.read_file(file)):sub(1, 5)) -- pg_dump's custom format
    r = psql(pg, "update saved set v = 'changed'")
    assert.equal(0, r.status, r.stderr)
    st, out, err = deloc({ "restore", "postgres", file })
    assert.equal(0, st, err .. out)
    r = psql(pg, "select v from saved")
    assert.equal(0, r.status, r.stderr)
    assert.equal("v1", (r.stdout:gsub("%s+$", "")))
    -- redis: SAVE's snapshot out, loaded back
    local rd = forward(endpoints.redis)
    assert.equal(0, redis(rd, "SET", "bk", "before").status)
    st, out, err = deloc({ "backup", "redis", "-o", dir .. "/redis.backup" })
    assert.equal(0, st, err .. out)
    assert.equal(0, redis(rd, "SET", "bk", "after").status)
    st, out, err = deloc({ "restore", "redis", dir .. "/redis.backup" })
    assert.equal(0, st, err .. out)
    r = redis(rd, "GET", "bk")
    assert.equal("before", (r.stdout:gsub("%s+$", "")), r.stderr)
    stop_forwards()
  end)

  it("the chart of deloc generate helm, installed with helm install, reaches Ready too", function()
    local helm = dofile("spec/support/generate.lua").tool("helm")
    local st, out, err = e2e.deloc({ "generate", "helm", "-o", "chart" }, { cwd = dir, env = env })
    assert.equal(0, st, err .. out)
    local hns = ns .. "-helm"
    local code, body = k:request("POST", "/api/v1/namespaces", { apiVersion = "v1", kind = "Namespace",
      metadata = { name = hns, labels = { ["pod-security.kubernetes.io/enforce"] = "restricted",
                                          ["pod-security.kubernetes.io/enforce-version"] = "latest" } } })
    assert.equal(201, code, json.encode(body))
    local r = assert(sys.spawn({ argv = { helm, "install", "rel", dir .. "/chart", "--namespace", hns,
      "--kubeconfig", k.kubeconfig, "--wait", "--timeout", "5m" }, timeout = 400,
      env = { HOME = k.dir } }))
    assert.equal(0, r.status, r.stdout .. r.stderr)
    local items = get("/api/v1/namespaces/" .. hns .. "/pods").items
    assert.is_true(#items >= 3, json.encode(items))
    for _, p in ipairs(items) do
      assert.equal("Running", p.status.phase, p.metadata.name)
      assert.is_true(ready_pod(p), p.metadata.name)
    end
    r = assert(sys.spawn({ argv = { helm, "uninstall", "rel", "--namespace", hns, "--kubeconfig", k.kubeconfig,
      "--wait" }, timeout = 300, env = { HOME = k.dir } }))
    assert.equal(0, r.status, r.stdout .. r.stderr)
    k:request("DELETE", "/api/v1/namespaces/" .. hns)
  end)

  it("down --volumes leaves nothing: no labelled object, no pod, no claim, and the namespace is gone", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    eventually("every labelled object gone", function()
      assert.same({}, labelled(build.selector(project)))
      return true
    end, 120)
    eventually("namespace " .. ns .. " deleted", function()
      return (k:request("GET", "/api/v1/namespaces/" .. ns)) == 404
    end, 180)
  end)
end)

describe("the pods cluster harness cleans up after itself #k8spods", function()
  it("stop leaves no process, mount, cgroup, bridge, nft table or KUBE-/CNI- iptables rule", function()
    local function snapshot()
      local r = assert(sys.spawn({ argv = { "sh", "-c",
        "iptables-save 2>/dev/null | grep -E -- '(KUBE|CNI)-' | grep -v '^#' | sort;" ..
        "ip6tables-save 2>/dev/null | grep -E -- '(KUBE|CNI)-' | grep -v '^#' | sort;" ..
        "nft list tables | sort" }, timeout = 30 }))
      return r.stdout
    end
    local tags = assert(images.ensure({ "postgres", "redis", "busybox" }))
    local before = snapshot()
    local k = kube.start({ pods = true, images = { tags.postgres, tags.redis, tags.busybox } })
    local dir = k.dir
    local ledger = assert(sys.read_file(dir .. "/node/ledger"))
    local pids = {}
    for pid in ledger:gmatch("\npid %S+ (%d+)") do pids[#pids + 1] = tonumber(pid) end
    assert.is_true(#pids >= 3, ledger)
    k:stop()
    for _, pid in ipairs(pids) do assert.is_false(sys.exists("/proc/" .. pid), "pid " .. pid) end
    assert.is_false(sys.exists(dir), dir)
    local mounts = assert(sys.read_file("/proc/self/mountinfo"))
    assert.is_nil(mounts:find(dir, 1, true), "a mount under " .. dir)
    local r = assert(sys.spawn({ argv = { "ip", "link", "show", "delocpods0" }, timeout = 10 }))
    assert.is_not.equal(0, r.status)
    r = assert(sys.spawn({ argv = { "nft", "list", "table", "ip", "kube-proxy" }, timeout = 10 }))
    assert.is_not.equal(0, r.status)
    assert.is_false(sys.exists("/sys/fs/cgroup/memory/delocpods"))
    assert.equal(before, snapshot())
    r = assert(sys.spawn({ argv = { "sh", "-c", "ps -eo args | grep -F -- " .. dir .. " | grep -v grep || true" },
      timeout = 10 }))
    assert.equal("", r.stdout)
  end)
end)
