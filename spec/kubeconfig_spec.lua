-- deloc.kubeconfig: which cluster and which credentials, read like kubectl
-- reads them; everything deloc cannot honour is an error naming the field.
local sys = require("deloc.sys")
local json = require("deloc.json")
local kc = require("deloc.kubeconfig")
local e2e = dofile("spec/support/e2e.lua")

local function mode_of(path)
  local r = assert(sys.spawn({ argv = { "stat", "-c", "%a", path } }))
  return (r.stdout:gsub("%s+$", ""))
end

describe("kubeconfig", function()
  local dir

  before_each(function() dir = e2e.tmpdir() end)
  after_each(function()
    kc.cleanup()
    e2e.rmdir(dir)
  end)

  local function write(name, text, mode)
    local path = dir .. "/" .. name
    assert(sys.write_atomic(path, text, mode))
    return path
  end

  local function config(cluster, user, extra)
    return ([[
apiVersion: v1
kind: Config
current-context: main
clusters:
- name: c
  cluster:
%s
contexts:
- name: main
  context: { cluster: c, user: u }
users:
- name: u
  user:
%s
%s]]):format(cluster, user, extra or "")
  end

  local function load(text, opts)
    local path = write("config", text)
    opts = opts or {}
    opts.path = opts.path or path
    opts.env = opts.env or {}
    return kc.load(opts)
  end

  describe("base64", function()
    it("round-trips every length and decodes what kubectl writes", function()
      for _, s in ipairs({ "", "a", "ab", "abc", "abcd", "\0\255\128binary" }) do
        assert.equal(s, kc.base64_decode(kc.base64_encode(s)))
      end
      assert.equal("aGVsbG8K", kc.base64_encode("hello\n"))
      assert.equal("hello\n", kc.base64_decode("aGVs\nbG8K\n"))
    end)
    it("refuses what is not base64", function()
      local v, err = kc.base64_decode("aGVs*G8K")
      assert.is_nil(v)
      assert.matches("not base64", err)
      assert.is_nil(kc.base64_decode("aGVsb"))
    end)
  end)

  it("reads server, CA file (relative to the kubeconfig) and token of the current context", function()
    write("ca.pem", "CA")
    local cfg = assert(load(config("    server: https://10.0.0.1:6443/\n    certificate-authority: ca.pem",
      "    token: abc")))
    assert.equal("https://10.0.0.1:6443", cfg.server)
    assert.equal(dir .. "/ca.pem", cfg.cacert)
    assert.equal("abc", cfg.token)
    assert.equal("main", cfg.context)
    assert.equal("u", cfg.user)
    assert.is_false(cfg.insecure)
    assert.same({}, cfg.warnings)
  end)

  it("writes inline data to 0600 files in a private 0700 directory, removed by cleanup", function()
    local cfg = assert(load(config(
      "    server: https://h:6443\n    certificate-authority-data: " .. kc.base64_encode("CA-PEM"),
      "    client-certificate-data: " .. kc.base64_encode("CERT") ..
      "\n    client-key-data: " .. kc.base64_encode("KEY"))))
    assert.equal("CA-PEM", sys.read_file(cfg.cacert))
    assert.equal("CERT", sys.read_file(cfg.cert))
    assert.equal("KEY", sys.read_file(cfg.key))
    assert.equal("600", mode_of(cfg.key))
    local private = cfg.key:match("^(.*)/[^/]+$")
    assert.equal("700", mode_of(private))
    kc.cleanup()
    assert.is_false(sys.exists(cfg.key))
    assert.is_false(sys.exists(private))
  end)

  it("reads a tokenFile, trimmed; an empty one is an error", function()
    write("tok", "  secret-token\n")
    local cfg = assert(load(config("    server: https://h", "    tokenFile: tok")))
    assert.equal("secret-token", cfg.token)
    write("empty", "\n")
    local _, err = load(config("    server: https://h", "    tokenFile: empty"))
    assert.matches("tokenFile '.*/empty' is empty", err.message)
  end)

  it("merges KUBECONFIG files like kubectl: the first name and current-context win, missing files skipped", function()
    local a = write("a", [[
current-context: ctx-a
clusters:
- { name: shared, cluster: { server: "https://first" } }
contexts:
- { name: ctx-a, context: { cluster: shared, user: ua } }
users:
- { name: ua, user: { token: ta } }
]])
    local b = write("b", [[
current-context: ctx-b
clusters:
- { name: shared, cluster: { server: "https://second" } }
- { name: other, cluster: { server: "https://other" } }
contexts:
- { name: ctx-b, context: { cluster: other, user: ub } }
users:
- { name: ub, user: { token: tb } }
]])
    local env = { KUBECONFIG = a .. ":" .. dir .. "/missing:" .. b }
    local cfg = assert(kc.load({ env = env }))
    assert.equal("ctx-a", cfg.context)
    assert.equal("https://first", cfg.server)
    assert.same({ a, b }, cfg.files)
    cfg = assert(kc.load({ env = env, context = "ctx-b" }))
    assert.equal("https://other", cfg.server)
    assert.equal("tb", cfg.token)
  end)

  it("defaults to ~/.kube/config, and says so when there is none", function()
    assert(sys.mkdir_p(dir .. "/.kube"))
    write(".kube/config", config("    server: https://home", "    token: t"))
    local cfg = assert(kc.load({ env = { HOME = dir } }))
    assert.equal("https://home", cfg.server)
    local _, err = kc.load({ env = { HOME = dir .. "/nowhere" } })
    assert.equal("CONFIG_INVALID", err.code)
    assert.matches("no kubeconfig: '.*/nowhere/%.kube/config' does not exist", err.message)
    _, err = kc.load({ env = { KUBECONFIG = dir .. "/x:" .. dir .. "/y" } })
    assert.matches("none of the files in KUBECONFIG exists", err.message, 1, true)
  end)

  it("in a pod with no kubeconfig, uses the service account as kubectl does", function()
    assert(sys.mkdir_p(dir .. "/sa"))
    write("sa/token", "eyJhbGciOi.x.y\n")
    write("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n")
    write("sa/namespace", "team-a")
    local env = { HOME = dir .. "/nowhere", KUBERNETES_SERVICE_HOST = "10.96.0.1", KUBERNETES_SERVICE_PORT = "443" }
    local cfg = assert(kc.load({ env = env, service_account = dir .. "/sa" }))
    assert.equal("https://10.96.0.1:443", cfg.server)
    assert.equal("eyJhbGciOi.x.y", cfg.token)
    assert.equal(dir .. "/sa/ca.crt", cfg.cacert)
    assert.equal("team-a", cfg.namespace)
    assert.equal("in-cluster", cfg.context)
    env.KUBERNETES_SERVICE_HOST = "fd00::1"
    assert.equal("https://[fd00::1]:443", assert(kc.load({ env = env, service_account = dir .. "/sa" })).server)
    -- a kubeconfig, a --context or a missing token: the kubeconfig rules as before
    assert(sys.mkdir_p(dir .. "/.kube"))
    write(".kube/config", config("    server: https://home", "    token: t"))
    env.HOME = dir
    assert.equal("https://home", assert(kc.load({ env = env, service_account = dir .. "/sa" })).server)
    env.HOME = dir .. "/nowhere"
    local _, err = kc.load({ env = env, service_account = dir .. "/sa", context = "prod" })
    assert.matches("no kubeconfig", err.message, 1, true)
    _, err = kc.load({ env = env, service_account = dir .. "/none" })
    assert.matches("no kubeconfig", err.message, 1, true)
    write("sa/token", "\n")
    _, err = kc.load({ env = env, service_account = dir .. "/sa" })
    assert.matches("token .* is empty", err.message)
  end)

  it("names an unknown context, with the closest one", function()
    local _, err = load(config("    server: https://h", "    token: t"), { context = "mian" })
    assert.matches("no context named 'mian'", err.message, 1, true)
    assert.equal("did you mean 'main'?", err.hint)
  end)

  it("without a current-context lists the contexts to choose from", function()
    local text = config("    server: https://h", "    token: t"):gsub("current%-context: main\n", "")
    local _, err = load(text)
    assert.matches("no current-context", err.message, 1, true)
    assert.matches("--context: main", err.hint, 1, true)
  end)

  it("warns about insecure-skip-tls-verify and refuses it together with a CA", function()
    local cfg = assert(load(config("    server: https://h\n    insecure-skip-tls-verify: true", "    token: t")))
    assert.is_true(cfg.insecure)
    assert.matches("insecure-skip-tls-verify is set", cfg.warnings[1], 1, true)
    local _, err = load(config("    server: https://h\n    insecure-skip-tls-verify: true\n" ..
      "    certificate-authority-data: " .. kc.base64_encode("x"), "    token: t"))
    assert.matches("sets both insecure-skip-tls-verify and a certificate authority", err.message, 1, true)
  end)

  -- every field deloc cannot honour: an error naming it and where it is
  local unsupported = {
    { "    server: https://h\n    tls-server-name: other", "    token: t", "field 'tls-server-name' is not supported" },
    { "    server: https://h\n    proxy-url: http://p:3128", "    token: t", "field 'proxy-url' is not supported" },
    { "    server: https://h", "    auth-provider: { name: gcp }", "field 'auth-provider' is not supported" },
    { "    server: https://h", "    username: a\n    password: b", "basic authentication was removed" },
    { "    server: https://h", "    token: t\n    as: someone", "field 'as' is not supported: impersonation" },
    { "    server: https://h", "    tokn: t", "unknown field 'tokn'" },
    { "    server: https://h\n    sever: x", "    token: t", "unknown field 'sever'" },
    { "    server: h:6443", "    token: t", "server 'h:6443' is not an http(s):// URL" },
    { "    server: https://h\n    certificate-authority: nope.pem", "    token: t", "certificate-authority '.*/nope.pem' does not exist" },
    { "    server: https://h\n    certificate-authority-data: '%%%'", "    token: t", "certificate-authority-data' is not base64" },
    { "    server: https://h", "    client-certificate-data: " .. kc.base64_encode("c"), "has a client certificate but no client key" },
  }
  for _, case in ipairs(unsupported) do
    it("refuses: " .. case[3], function()
      local cfg, err = load(config(case[1], case[2]))
      assert.is_nil(cfg)
      assert.equal("CONFIG_INVALID", err.code)
      -- the text as written, or (where it has .*) as a pattern
      local plain = err.message:find(case[3], 1, true) ~= nil
      assert.is_true(plain or err.message:match(case[3]:gsub("%-", "%%-")) ~= nil, err.message)
      assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/config:%d+:%d+: ", err.message)
    end)
  end
  it("suggests the field meant", function()
    local _, err = load(config("    server: https://h", "    tokn: t"))
    assert.equal("did you mean 'token'?", err.hint)
  end)

  describe("exec credential plugins", function()
    local function plugin(body)
      return write("plugin", "#!/bin/sh\n" .. body, 493)
    end
    local function exec_user(extra)
      return ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin\n%s"):format(extra or "")
    end

    it("runs the plugin by argv with KUBERNETES_EXEC_INFO and its env, and uses its token", function()
      plugin([[
printf '%s' "$KUBERNETES_EXEC_INFO" > "$(dirname "$0")/info.json"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
printf '"status":{"token":"tok-%s-%s","expirationTimestamp":"2030-01-01T00:00:00Z"}}' "$1" "$GREETING"
]])
      local cfg = assert(load(config("    server: https://h", exec_user(
        "      args: [ 'a b' ]\n      env: [ { name: GREETING, value: hi } ]\n      provideClusterInfo: true"))))
      assert.equal("tok-a b-hi", cfg.token)
      assert.equal("2030-01-01T00:00:00Z", cfg.expires)
      local info = assert(json.decode(assert(sys.read_file(dir .. "/info.json"))))
      assert.equal("ExecCredential", info.kind)
      assert.is_false(info.spec.interactive)
      assert.equal("https://h", info.spec.cluster.server)
    end)

    it("takes a client certificate from the plugin", function()
      plugin([[printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}']])
      local cfg = assert(load(config("    server: https://h", exec_user())))
      assert.equal("CERT", sys.read_file(cfg.cert))
      assert.equal("KEY", sys.read_file(cfg.key))
      assert.equal("600", mode_of(cfg.key))
    end)

    local failures = {
      { "echo 'token expired, log in again' >&2; exit 3", "failed %(exit 3%): token expired, log in again" },
      { "echo hello", "printed no ExecCredential JSON" },
      { [[printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}']],
        "printed apiVersion 'client.authentication.k8s.io/v1beta1', not 'client.authentication.k8s.io/v1'" },
      { [[printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}']],
        "printed neither a token nor a client certificate" },
    }
    for _, f in ipairs(failures) do
      it("reports a plugin that " .. f[2]:gsub("%%", ""), function()
        plugin(f[1] .. "\n")
        local cfg, err = load(config("    server: https://h", exec_user()))
        assert.is_nil(cfg)
        assert.matches("user 'u': the exec credential plugin './plugin' " .. f[2], err.message)
      end)
    end

    it("reports a missing plugin with its install hint", function()
      local _, err = load(config("    server: https://h", "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n" ..
        "      command: deloc-no-such-plugin\n      installHint: install it from example.com"))
      assert.matches("cannot run the exec credential plugin 'deloc-no-such-plugin'", err.message, 1, true)
      assert.equal("install it from example.com", err.hint)
    end)

    it("refuses interactive plugins, old API versions and unknown exec fields", function()
      local _, err = load(config("    server: https://h", exec_user("      interactiveMode: Always")))
      assert.matches("interactiveMode 'Always' is not supported", err.message, 1, true)
      _, err = load(config("    server: https://h",
        "    exec: { apiVersion: client.authentication.k8s.io/v1alpha1, command: x }"))
      assert.matches("exec.apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported", err.message, 1, true)
      _, err = load(config("    server: https://h", exec_user("      comand: x")))
      assert.matches("unknown field 'exec.comand'", err.message, 1, true)
    end)
  end)
end)
