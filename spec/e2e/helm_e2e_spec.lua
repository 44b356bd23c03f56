-- deloc generate helm against the real tools: Helm v3.22 (lint --strict,
-- template) and strict decoding of every rendered manifest into the
-- Kubernetes API types (spec/tools/k8s-strict, k8s.io/api v0.37.2), all built
-- once by spec/tools/install-go-tools.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local g = dofile("spec/support/generate.lua")

local function run(argv, opts)
  opts = opts or {}
  local r, err = sys.spawn({ argv = argv, cwd = opts.cwd, env = opts.env, stdin = opts.stdin,
                             timeout = opts.timeout or 120 })
  assert(r, tostring(err))
  return r.status, r.stdout, r.stderr
end

local function subset(small, big)
  for k, v in pairs(small or {}) do if big[k] ~= v then return false end end
  return next(small or {}) ~= nil
end

describe("helm: generated charts pass helm lint and decode strictly #e2e", function()
  local helm, strict, dir
  setup(function()
    helm = g.tool("helm")
    strict = g.tool("k8s-strict")
    dir = e2e.workdir(e2e.project("gen-helm"), "services:\n  postgres: {}\n")
  end)
  teardown(function() if dir then e2e.rmdir(dir) end end)

  local function check_chart(chart)
    local s, out, err = run({ helm, "lint", "--strict", chart })
    assert.equal(0, s, out .. err)
    assert.not_matches("%[WARNING%]", out)
    assert.not_matches("%[ERROR%]", out)
    assert.matches("0 chart%(s%) failed", out)
    local rendered
    s, rendered, err = run({ helm, "template", "rel", chart, "--namespace", "ns" })
    assert.equal(0, s, err)
    s, out, err = run({ strict }, { stdin = rendered })
    assert.equal(0, s, out .. err)
    assert.matches("^ok ", out) -- one line per document
    assert.not_matches("\nerror ", out)
    -- every workload's selector matches its pod template's labels
    local workloads = 0
    for _, doc in ipairs(g.documents(rendered)) do
      if doc.kind == "Deployment" or doc.kind == "StatefulSet" then
        workloads = workloads + 1
        assert.is_true(subset(doc.spec.selector.matchLabels, doc.spec.template.metadata.labels),
          doc.kind .. " " .. doc.metadata.name)
      end
    end
    assert.is_true(workloads > 0)
    return rendered
  end

  for _, recipe in ipairs({ "postgres", "redis", "airflow", "kafka", "spark", "flink", "trino", "minio",
                            "jupyter", "kafka-ui", "schema-registry", "zookeeper" }) do
    it("lints, renders and decodes the chart of " .. recipe, function()
      local status, _, err = e2e.deloc({ "generate", "helm", recipe, "-o", "chart-" .. recipe }, { cwd = dir })
      assert.equal(0, status, err)
      check_chart(dir .. "/chart-" .. recipe)
    end)
  end

  it("lints, renders and decodes the fixture chart (one-shots, waits, a non-restricted component)", function()
    assert(require("deloc.generate").helm(g.plan(), dir .. "/fixture"))
    local rendered = check_chart(dir .. "/fixture")
    assert.matches("kind: Job", rendered, 1, true)
    assert.matches("kind: Role\n", rendered, 1, true)
    assert.matches("deloc.dev/not-restricted", rendered, 1, true)
  end)

  it("renders the same bytes twice, whatever the locale or time zone", function()
    assert(require("deloc.generate").helm(g.plan(), dir .. "/same"))
    -- generated credentials are random unless given: give them for the comparison
    g.write(dir .. "/secrets.yaml",
      "secrets:\n  app: {session_key: a1}\n  postgres: {password: p1}\n  redis: {password: r1}\n")
    local argv = { helm, "template", "rel", dir .. "/same", "-f", dir .. "/secrets.yaml" }
    local s1, a, e1 = run(argv, { env = { LC_ALL = "C", TZ = "UTC" } })
    local s2, b, e2 = run(argv, { env = { LC_ALL = "C.UTF-8", LANG = "de_DE.UTF-8", TZ = "Pacific/Chatham" } })
    assert.equal(0, s1, e1)
    assert.equal(0, s2, e2)
    assert.is_true(#a > 5000)
    assert.equal(a, b)
    -- given values win; without them a random one is generated, never empty
    assert.matches('password: "cDE="', a, 1, true) -- base64("p1")
    local _, c = run({ helm, "template", "rel", dir .. "/same" })
    assert.not_matches('password: ""', c)
  end)

  it("says how to pass the secrets deloc.yaml gives; helm takes them, trailing newline dropped", function()
    local sdir = e2e.workdir(e2e.project("gen-helm-sec"), "services:\n  postgres: {}\n  redis: {}\n"
      .. "secrets:\n  postgres.password: { file: ./pw.txt }\n  redis.password: { env: DELOC_SPEC_REDIS_PW }\n")
    finally(function() e2e.rmdir(sdir) end)
    g.write(sdir .. "/pw.txt", "s3cret\n")
    local status, out, err = e2e.deloc({ "generate", "helm", "-o", "chart" }, { cwd = sdir,
      env = { DELOC_SPEC_REDIS_PW = "r3dis" } })
    assert.equal(0, status, err)
    local pw = sys.realpath(sdir .. "/pw.txt")
    assert.matches("--set-file secrets.postgres.password='" .. pw .. "'", out, 1, true)
    assert.matches([[--set-file secrets.redis.password=<(printf %s "$DELOC_SPEC_REDIS_PW")]], out, 1, true)
    -- nothing of either value went into the chart's files
    local r = assert(sys.spawn({ argv = { "grep", "-rlE", "s3cret|r3dis", sdir .. "/chart" } }))
    assert.equal("", r.stdout)
    -- the flags as a shell would pass them (the process substitution: a file)
    g.write(sdir .. "/redis.pw", "r3dis")
    local s, rendered, rerr = run({ helm, "template", "rel", sdir .. "/chart", "--set-file",
      "secrets.postgres.password=" .. pw, "--set-file", "secrets.redis.password=" .. sdir .. "/redis.pw" })
    assert.equal(0, s, rerr)
    assert.matches('password: "czNjcmV0"', rendered, 1, true) -- base64("s3cret"), no newline
    assert.matches('password: "cjNkaXM="', rendered, 1, true) -- base64("r3dis")
  end)

  it("rejects manifests with unknown or duplicate fields (the check is live)", function()
    assert(require("deloc.generate").helm(g.plan(), dir .. "/broken"))
    local _, rendered = run({ helm, "template", "rel", dir .. "/broken" })
    local unknown = rendered:gsub("\n  serviceName: postgres\n", "\n  serviceName: postgres\n  serviceNmae: x\n", 1)
    assert.is_not.equal(rendered, unknown)
    local s, out = run({ strict }, { stdin = unknown })
    assert.equal(1, s)
    assert.matches('unknown field "serviceNmae"', out, 1, true)
    local dup = rendered:gsub("\n  serviceName: postgres\n", "\n  serviceName: postgres\n  serviceName: again\n", 1)
    s, out = run({ strict }, { stdin = dup })
    assert.equal(1, s)
    assert.matches('"serviceName" already set', out, 1, true)
    -- the postgres StatefulSet's selector no longer matches its pods
    local at = assert(rendered:find("kind: StatefulSet\nmetadata:\n  name: postgres\n", 1, true))
    local tail = rendered:sub(at):gsub('(matchLabels:\n%s+app.kubernetes.io/name: )"postgres"', '%1"other"', 1)
    local mismatch = rendered:sub(1, at - 1) .. tail
    assert.is_not.equal(rendered, mismatch)
    s, out = run({ strict }, { stdin = mismatch })
    assert.equal(1, s)
    assert.matches("does not match template labels", out, 1, true)
  end)
end)
