-- deloc.http against real servers started here on 127.0.0.1 and on a unix
-- socket (spec/fixtures/http/server.py): answers, streams, and the ways a
-- request fails.
local http = require("deloc.http")
local json = require("deloc.json")
local sys = require("deloc.sys")
local server = dofile("spec/fixtures/http/server.lua")

-- Runs `./deloc ...` in a fresh process (so nothing this process loaded counts).
local function deloc(argv, env)
  local full = { "./deloc" }
  for _, a in ipairs(argv) do full[#full + 1] = a end
  env = env or {}
  env.PATH = os.getenv("PATH")
  env.DELOC_DEBUG = "0"
  return assert(sys.spawn({ argv = full, env = env, timeout = 30 }))
end

local function timed(fn)
  local t0 = sys.now()
  local a, b, c = fn()
  return sys.now() - t0, a, b, c
end

describe("deloc.http", function()
  local tcp, unix

  setup(function()
    tcp = server.start("tcp")
    unix = server.start("unix")
  end)

  teardown(function()
    server.stop(tcp)
    server.stop(unix)
  end)

  describe("loading libcurl", function()
    it("is not linked into the binary", function()
      local r = assert(sys.spawn({ argv = { "ldd", "./deloc" } }))
      assert.equal(0, r.status)
      assert.matches("libc%.so", r.stdout) -- ldd did read it
      assert.not_matches("curl", r.stdout)
    end)

    it("happens at the first request, not at require", function()
      local code = ([[
        local http = require("deloc.http")
        io.write(tostring(http.loaded()), " ")
        local r = http.request{ url = %q }
        io.write(tostring(http.loaded()), " ", tostring(r and r.status))
      ]]):format(tcp.url("/json"))
      local r = deloc({ "-e", code })
      assert.equal("", r.stderr)
      assert.equal("false true 200", r.stdout)
    end)

    it("never happens for `deloc version`", function()
      -- the dynamic loader lists every library it maps when LD_DEBUG=libs
      local quiet = deloc({ "version" }, { LD_DEBUG = "libs" })
      assert.equal(0, quiet.status)
      assert.not_matches("libcurl", quiet.stderr)
      local code = ("require('deloc.http').request{ url = %q }"):format(tcp.url("/json"))
      local busy = deloc({ "-e", code }, { LD_DEBUG = "libs" })
      assert.matches("libcurl%.so%.4", busy.stderr) -- the same probe sees a real load
    end)

    it("says clearly when libcurl is not usable", function()
      local dir = server.tempdir()
      finally(function()
        os.remove(dir .. "/empty.c")
        os.remove(dir .. "/libcurl.so.4")
        os.remove(dir)
      end)
      assert(sys.write_atomic(dir .. "/empty.c", "int deloc_not_curl;\n"))
      local cc = assert(sys.spawn({ argv = { "cc", "-shared", "-fPIC", "-o",
        dir .. "/libcurl.so.4", dir .. "/empty.c" } }))
      assert.equal(0, cc.status, cc.stderr)
      local code = [[
        local http = require("deloc.http")
        local r, err, kind = http.request{ url = "http://127.0.0.1:1/" }
        io.write(tostring(r), "|", err, "|", kind)
      ]]
      local r = deloc({ "-e", code }, { LD_LIBRARY_PATH = dir })
      assert.equal(0, r.status, r.stderr)
      assert.equal("nil|cannot load libcurl: libcurl.so.4 has no curl_global_init"
        .. " (libcurl 7.85 or later is needed)|unavailable", r.stdout)
    end)
  end)

  describe("answers", function()
    it("gets JSON with status, lower-case headers and body", function()
      local resp, err = http.request({ url = tcp.url("/json") })
      assert.is_nil(err)
      assert.equal(200, resp.status)
      assert.equal("application/json", resp.headers["content-type"])
      assert.equal("12", resp.headers["content-length"])
      assert.same({ ok = true }, json.decode(resp.body))
    end)

    it("sends method, body, headers and a bearer token", function()
      local resp = assert(http.request({
        url = tcp.url("/echo?x=1"), method = "post", body = '{"a":1}',
        headers = { ["Content-Type"] = "application/json", ["X-Count"] = 3 },
        token = "s3cret",
      }))
      local seen = json.decode(resp.body)
      assert.equal("POST", seen.method)
      assert.equal("/echo?x=1", seen.path)
      assert.equal('{"a":1}', seen.body)
      assert.equal("application/json", seen.headers["content-type"])
      assert.equal("3", seen.headers["x-count"])
      assert.equal("Bearer s3cret", seen.headers["authorization"])
      assert.is_nil(seen.headers["expect"])
    end)

    it("sends a binary body byte for byte", function()
      local body = "a\0b\255\r\n" .. ("z"):rep(70000)
      local resp = assert(http.put(tcp.url("/echo?raw=1"), body))
      assert.equal(#body, #resp.body)
      assert.is_true(body == resp.body, "the body came back changed")
    end)

    it("sends Content-Length: 0 for a POST without a body", function()
      local seen = json.decode(assert(http.post(tcp.url("/echo"))).body)
      assert.equal("POST", seen.method)
      assert.equal("0", seen.headers["content-length"])
    end)

    it("takes headers as a list of lines too", function()
      local resp = assert(http.get(tcp.url("/echo"), { headers = { "X-One: 1", "X-Two:2" } }))
      local seen = json.decode(resp.body)
      assert.equal("1", seen.headers["x-one"])
      assert.equal("2", seen.headers["x-two"])
    end)

    it("does DELETE and HEAD", function()
      assert.equal("DELETE", json.decode(assert(http.delete(tcp.url("/echo"))).body).method)
      local head = assert(http.head(tcp.url("/json")))
      assert.equal(200, head.status)
      assert.equal("", head.body)
      assert.equal("12", head.headers["content-length"])
    end)

    it("returns an error status as an answer", function()
      local resp, err = http.request({ url = tcp.url("/status/404") })
      assert.is_nil(err)
      assert.equal(404, resp.status)
      assert.equal("status 404\n", resp.body)
      assert.equal(500, assert(http.request({ url = tcp.url("/status/500") })).status)
    end)

    it("joins a repeated header and lower-cases names", function()
      local resp = assert(http.request({ url = tcp.url("/headers") }))
      assert.equal("a, b", resp.headers["x-multi"])
      assert.equal("yes", resp.headers["x-mixed-case"])
      assert.is_nil(resp.headers["X-MiXeD-Case"])
    end)

    it("reads a large body whole", function()
      local resp = assert(http.request({ url = tcp.url("/big?size=3000000") }))
      assert.equal(3000000, #resp.body)
      assert.is_true(("x"):rep(3000000) == resp.body)
    end)

    it("talks over a unix socket", function()
      local resp, err = http.request({ url = "http://localhost/json", unix_socket = unix.socket })
      assert.is_nil(err)
      assert.equal(200, resp.status)
      assert.same({ ok = true }, json.decode(resp.body))
      local seen = json.decode(assert(http.post("http://docker/echo", "hi",
        { unix_socket = unix.socket })).body)
      assert.equal("hi", seen.body)
      assert.equal("docker", seen.headers.host)
    end)
  end)

  describe("streaming", function()
    it("delivers body chunks in order as they arrive", function()
      local chunks = {}
      local resp, err = http.request({
        url = tcp.url("/stream?n=5&delay=0.05"),
        on_data = function(c) chunks[#chunks + 1] = c end,
      })
      assert.is_nil(err)
      assert.equal(200, resp.status)
      assert.equal("", resp.body)
      assert.equal("chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n", table.concat(chunks))
      assert.is_true(#chunks >= 3, "expected the chunks one by one, got " .. #chunks)
    end)

    it("streams over a unix socket", function()
      local got = {}
      assert(http.request({ url = "http://localhost/stream?n=3&delay=0.01",
        unix_socket = unix.socket, on_data = function(c) got[#got + 1] = c end }))
      assert.equal("chunk 1\nchunk 2\nchunk 3\n", table.concat(got))
    end)

    it("streams a large body completely", function()
      local n, calls = 0, 0
      assert(http.request({ url = tcp.url("/big?size=5000000"),
        on_data = function(c) n = n + #c; calls = calls + 1 end }))
      assert.equal(5000000, n)
      assert.is_true(calls > 1)
    end)

    it("stops when on_data returns false", function()
      local calls = 0
      local elapsed, resp, err, kind = timed(function()
        return http.request({ url = tcp.url("/stream?n=50&delay=0.05"),
          on_data = function() calls = calls + 1; return false end })
      end)
      assert.is_nil(resp)
      assert.equal(tcp.url("/stream?n=50&delay=0.05") .. ": stopped by on_data", err)
      assert.equal("aborted", kind)
      assert.equal(1, calls)
      assert.is_true(elapsed < 1, "took " .. elapsed)
    end)

    it("turns an error in on_data into an error return, and goes on working", function()
      local resp, err, kind = http.request({ url = tcp.url("/stream?n=5&delay=0.01"),
        on_data = function() error("boom") end })
      assert.is_nil(resp)
      assert.matches("/stream%?n=5&delay=0%.01: on_data failed: .*boom", err)
      assert.equal("aborted", kind)
      assert.equal(200, assert(http.request({ url = tcp.url("/json") })).status)
    end)

    it("reports a stream cut off mid-body after its chunks", function()
      local got = {}
      local resp, err, kind = http.request({ url = tcp.url("/close"),
        on_data = function(c) got[#got + 1] = c end })
      assert.is_nil(resp)
      assert.equal("0123456789", table.concat(got))
      assert.matches("transfer closed with 990 bytes remaining to read", err, 1, true)
      assert.equal("protocol", kind)
    end)
  end)

  describe("failures", function()
    it("reports a refused unix socket", function()
      local dir = server.tempdir()
      local path = server.dead_socket(dir)
      finally(function() os.remove(path); os.remove(dir) end)
      local elapsed, resp, err, kind = timed(function()
        return http.request({ url = "http://localhost/info", unix_socket = path, retry = false })
      end)
      assert.is_nil(resp)
      assert.equal(("http://localhost/info: cannot connect to unix socket '%s': connection refused")
        :format(path), err)
      assert.equal("connect", kind)
      assert.is_true(elapsed < 1)
    end)

    it("tries a refused connection 3 times (nothing was sent), then reports it", function()
      local dir = server.tempdir()
      local path = server.dead_socket(dir)
      finally(function() os.remove(path); os.remove(dir) end)
      local elapsed, resp, err, kind = timed(function()
        return http.request({ url = "http://localhost/info", method = "POST", body = "x", unix_socket = path })
      end)
      assert.is_nil(resp)
      assert.matches("connection refused", err, 1, true)
      assert.equal("connect", kind)
      local waited = http.RETRY_DELAYS[1] + http.RETRY_DELAYS[2]
      assert.is_true(elapsed >= waited and elapsed < waited + 2, "took " .. elapsed)
    end)

    it("reports a missing unix socket", function()
      local resp, err, kind = http.request({ url = "http://localhost/info",
        unix_socket = "/nonexistent/deloc/docker.sock" })
      assert.is_nil(resp)
      assert.equal("http://localhost/info: cannot connect to unix socket"
        .. " '/nonexistent/deloc/docker.sock': no such file or directory", err)
      assert.equal("connect", kind)
    end)

    it("reports a refused TCP connection", function()
      local resp, err, kind = http.request({ url = "http://127.0.0.1:1/json" })
      assert.is_nil(resp)
      assert.equal("http://127.0.0.1:1/json: cannot connect: connection refused", err)
      assert.equal("connect", kind)
    end)

    it("reports a server that closes mid-body", function()
      local elapsed, resp, err, kind = timed(function()
        return http.request({ url = tcp.url("/close"), retry = false })
      end)
      assert.is_nil(resp)
      assert.equal(tcp.url("/close") .. ": transfer closed with 990 bytes remaining to read", err)
      assert.equal("protocol", kind)
      assert.is_true(elapsed < 1)
    end)

    it("tries a GET again after a busy answer or a cut body, and answers with the try that worked", function()
      local key = tostring(sys.now())
      local resp = assert(http.request({ url = tcp.url("/flaky?status=503&fail=2&key=a" .. key) }))
      assert.equal(200, resp.status)
      assert.equal("try 3\n", resp.body)
      resp = assert(http.request({ url = tcp.url("/flaky?mode=close&fail=1&key=b" .. key) }))
      assert.equal("try 2\n", resp.body)
      -- a third failure is the answer
      resp = assert(http.request({ url = tcp.url("/flaky?status=502&fail=3&key=c" .. key) }))
      assert.equal(502, resp.status)
      -- 500 is an answer, not a busy server
      resp = assert(http.request({ url = tcp.url("/flaky?status=500&fail=1&key=d" .. key) }))
      assert.equal(500, resp.status)
    end)

    it("never sends a POST, PUT or DELETE twice", function()
      local key = tostring(sys.now())
      for _, m in ipairs({ "POST", "PUT", "DELETE" }) do
        local resp = assert(http.request({ url = tcp.url("/flaky?status=503&fail=1&key=" .. m .. key), method = m,
          body = "x" }))
        assert.equal(503, resp.status, m)
        local r2, err = http.request({ url = tcp.url("/flaky?mode=close&fail=1&key=c" .. m .. key), method = m,
          body = "x" })
        assert.is_nil(r2, m)
        assert.matches("transfer closed", err, 1, true)
      end
    end)

    it("keeps a streamed request's error answer out of on_data, in resp.body, and retries a busy one",
      function()
      local got = {}
      local resp = assert(http.request({ url = tcp.url("/status/404"), on_data = function(c) got[#got + 1] = c end }))
      assert.equal(404, resp.status)
      assert.equal("status 404\n", resp.body)
      assert.same({}, got)
      resp = assert(http.request({ url = tcp.url("/flaky?status=503&fail=1&key=st" .. sys.now()),
        on_data = function(c) got[#got + 1] = c end }))
      assert.equal(200, resp.status)
      assert.equal("try 2\n", table.concat(got))
    end)

    it("does not try a streamed GET again once chunks were handed on", function()
      local got = {}
      local resp, err = http.request({ url = tcp.url("/flaky?mode=close&fail=1&key=s" .. sys.now()),
        on_data = function(c) got[#got + 1] = c end })
      assert.is_nil(resp)
      assert.matches("transfer closed", err, 1, true)
      assert.equal("cut", table.concat(got))
    end)

    it("gives up on a slow server at the timeout", function()
      local elapsed, resp, err, kind = timed(function()
        return http.request({ url = tcp.url("/slow?delay=5"), timeout = 0.3 })
      end)
      assert.is_nil(resp)
      assert.matches("^" .. tcp.url("/slow"):gsub("%p", "%%%0") .. "%?delay=5: operation timed out after", err)
      assert.equal("timeout", kind)
      assert.is_true(elapsed >= 0.29 and elapsed < 1.5, "took " .. elapsed)
    end)

    it("has no total timeout for a stream, and an idle_timeout for a stalled one", function()
      -- 5 chunks 0.3 s apart: longer than `timeout` would allow a plain request
      local got = {}
      local resp = assert(http.request({ url = tcp.url("/stream?n=5&delay=0.3"),
        on_data = function(c) got[#got + 1] = c end, idle_timeout = 2 }))
      assert.equal(200, resp.status)
      assert.equal(5, #got)
      local elapsed, r2, err, kind = timed(function()
        return http.request({ url = tcp.url("/slow?delay=5"), on_data = function() end, idle_timeout = 1 })
      end)
      assert.is_nil(r2)
      assert.equal("timeout", kind, err)
      assert.is_true(elapsed >= 0.9 and elapsed < 3, "took " .. elapsed)
    end)

    it("caps the body with max_body", function()
      local resp, err, kind = http.request({ url = tcp.url("/big?size=100000"), max_body = 1000 })
      assert.is_nil(resp)
      assert.equal(tcp.url("/big?size=100000") .. ": response body larger than 1000 bytes", err)
      assert.equal("protocol", kind)
    end)

    it("refuses schemes other than http and https", function()
      local resp, err, kind = http.request({ url = "file:///etc/passwd" })
      assert.is_nil(resp)
      assert.matches('^file:///etc/passwd: protocol "file" not supported', err)
      assert.equal("protocol", kind)
    end)

    it("raises for the caller's mistakes", function()
      assert.has_error(function() http.request() end, "http.request: expects a table {url=, ...}")
      assert.has_error(function() http.request({}) end, "http.request: url must be a non-empty string")
      assert.has_error(function() http.request({ url = "http://x/", method = "GE T" }) end,
        'http.request: bad method "GE T"')
      assert.has_error(function()
        http.request({ url = "http://x/", headers = { ["X-A"] = "1\r\nX-Injected: 1" } })
      end, "http.request: bad value for header 'X-A'")
      assert.has_error(function() http.request({ url = "http://x/", headers = { ["Bad Name"] = "1" } }) end,
        'http.request: bad header name "Bad Name"')
      assert.has_error(function() http.request({ url = "http://x/", timeout = -1 }) end,
        "http.request: timeout must be a non-negative number of seconds (or false), got -1")
      assert.has_error(function() http.request({ url = "http://x/", on_data = "yes" }) end,
        "http.request: on_data must be a function, got string")
      assert.has_error(function() http.request({ url = "http://x/", body = {} }) end,
        "http.request: body must be a string, got table")
    end)
  end)

  describe("the native multi handle", function()
    local native = require("deloc.native.http")

    it("runs requests side by side and reports each once", function()
      local m = assert(native.multi())
      finally(function() m:close() end)
      local a = assert(m:add({ url = tcp.url("/slow?delay=0.3") }))
      local b = assert(m:add({ url = tcp.url("/json") }))
      assert.equal(2, m:count())
      local done, order = {}, {}
      local deadline = sys.now() + 5
      while m:count() > 0 and sys.now() < deadline do
        for _, ev in ipairs(assert(m:poll(100))) do
          if ev.done then done[ev.id] = ev; order[#order + 1] = ev.id end
        end
      end
      assert.same({ b, a }, order)
      assert.equal(200, done[a].status)
      assert.equal("slow\n", done[a].body)
      assert.equal(0, m:count())
    end)

    it("aborts with remove and closes idempotently", function()
      local m = assert(native.multi())
      local id = assert(m:add({ url = tcp.url("/slow?delay=3") }))
      m:poll(50)
      assert.is_true(m:remove(id))
      assert.is_false(m:remove(id))
      assert.equal(0, m:count())
      m:add({ url = tcp.url("/slow?delay=3") })
      assert.matches("1 requests", tostring(m))
      m:close()
      m:close()
      assert.equal("deloc.http.multi (closed)", tostring(m))
      assert.has_error(function() m:poll(0) end, "attempt to use a closed http multi")
    end)

    it("rejects header lines with line breaks", function()
      local m = assert(native.multi())
      finally(function() m:close() end)
      assert.has_error(function() m:add({ url = "http://x/", headers = { "A: 1\nB: 2" } }) end,
        "http request: bad header line 1")
      assert.has_error(function() m:add({ url = "http://x/", timeout_ms = "5" }) end,
        "http request: timeout_ms must be a non-negative number")
      assert.equal(0, m:count())
    end)
  end)
end)

describe("deloc.http over TLS", function()
  local dir, tls
  local fixtures = "spec/fixtures/http/"

  local function openssl(...)
    local r = assert(sys.spawn({ argv = { "openssl", ... }, cwd = dir, timeout = 60 }))
    assert(r.status == 0, r.stderr)
  end

  local function keypair(name, cn)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", name .. ".key", "-out", name .. ".csr", "-subj", "/CN=" .. cn)
  end

  setup(function()
    dir = server.tempdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=deloc test CA")
    local ext = sys.realpath(fixtures)
    for _, who in ipairs({ "server", "client" }) do
      keypair(who, who == "server" and "127.0.0.1" or "deloc-client")
      openssl("x509", "-req", "-in", who .. ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", who .. ".pem", "-extfile", ext .. "/" .. who .. ".ext")
    end
    tls = server.start("tls", dir .. "/server.pem", dir .. "/server.key", dir .. "/ca.pem")
  end)

  teardown(function()
    server.stop(tls)
    if dir then
      for _, f in ipairs(sys.listdir(dir) or {}) do os.remove(dir .. "/" .. f) end
      os.remove(dir)
    end
  end)

  it("verifies the server against a CA file and presents a client cert", function()
    local resp, err = http.request({ url = tls.url("/json"), cacert = dir .. "/ca.pem",
      cert = dir .. "/client.pem", key = dir .. "/client.key" })
    assert.is_nil(err)
    assert.equal(200, resp.status)
    assert.same({ ok = true }, json.decode(resp.body))
  end)

  it("refuses a server its CA file does not vouch for", function()
    local resp, err, kind = http.request({ url = tls.url("/json"),
      cacert = dir .. "/client.pem", cert = dir .. "/client.pem", key = dir .. "/client.key" })
    assert.is_nil(resp)
    assert.equal("tls", kind)
    assert.matches("^https://127%.0%.0%.1:%d+/json: .*certificate", err)
  end)

  it("skips verification when insecure", function()
    local resp = assert(http.request({ url = tls.url("/json"), insecure = true,
      cert = dir .. "/client.pem", key = dir .. "/client.key" }))
    assert.equal(200, resp.status)
  end)

  it("fails when the server wants a client cert and gets none", function()
    local resp, err, kind = http.request({ url = tls.url("/json"), cacert = dir .. "/ca.pem" })
    assert.is_nil(resp)
    assert.is_string(err)
    assert.is_true(kind == "tls" or kind == "protocol", kind)
  end)

  it("reports a missing client cert file", function()
    -- (libcurl reuses a connection made with the same cert whatever the key)
    local resp, err, kind = http.request({ url = tls.url("/json"), cacert = dir .. "/ca.pem",
      cert = dir .. "/nope.pem", key = dir .. "/client.key" })
    assert.is_nil(resp)
    assert.equal("tls", kind)
    assert.matches("nope%.pem", err)
  end)
end)

describe("deloc.http query strings", function()
  it("encodes every byte outside the unreserved set and sorts the keys", function()
    assert.equal("a%20b%2Fc~d.e_f-g", http.urlencode("a b/c~d.e_f-g"))
    assert.equal("?a=1&b=x%3Dy&c=2", http.query({ c = 2, b = "x=y", a = 1 }))
    assert.equal("", http.query(nil))
    assert.equal("", http.query({}))
  end)

  it("words values with the API's own rule, leaving out those it maps to nil", function()
    local function flag(v) if v == false then return nil end return v == true and "true" or v end
    assert.equal("?follow=true&tail=5", http.query({ follow = true, tail = 5, previous = false }, flag))
    assert.equal("", http.query({ previous = false }, flag))
  end)
end)
