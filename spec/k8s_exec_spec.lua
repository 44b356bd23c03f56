-- adapters/kubernetes/ws and exec: the WebSocket framing of pods/exec, and a
-- whole exec against a stand-in API server on 127.0.0.1
-- (spec/fixtures/k8s/ws_exec_server.py) that checks the client as a real one
-- does (upgrade headers, key, every client frame masked).
local ws = require("deloc.adapters.kubernetes.ws")
local exec = require("deloc.adapters.kubernetes.exec")
local json = require("deloc.json")

local function bytes(s) return { s:byte(1, -1) } end

describe("kubernetes exec: WebSocket frames", function()
  it("masks client frames with the key, length coded in 7, 16 or 64 bits", function()
    local f = ws.frame(ws.BINARY, "\1abc", "\1\2\3\4")
    assert.same({ 0x82, 0x84, 1, 2, 3, 4, 0, 0x63, 0x61, 0x67 }, bytes(f))
    local mid = ws.frame(ws.BINARY, ("x"):rep(300), "\0\0\0\0")
    assert.same({ 0x82, 0x80 + 126, 1, 44 }, { mid:byte(1, 4) })
    assert.equal(8 + 300, #mid)
    local big = ws.frame(ws.BINARY, ("x"):rep(70000), "\0\0\0\0")
    assert.same({ 0x82, 0x80 + 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70 }, { big:byte(1, 10) })
    -- a random mask when none is given, and unmasking gives the payload back
    local r = ws.frame(ws.BINARY, "payload")
    assert.equal("payload", ws.xor_mask(r:sub(7), r:sub(3, 6)))
    assert.is_not.equal(ws.frame(ws.BINARY, "p"):sub(3, 6), ws.frame(ws.BINARY, "p"):sub(3, 6))
  end)

  it("joins fragments across feeds; control frames between them come out alone", function()
    local p = ws.parser()
    local stream = "\x02\x03\x01ab" .. "\x89\x02hi" .. "\x00\x01c" .. "\x80\x02de"
    local got = {}
    for i = 1, #stream do -- one byte at a time: every boundary split
      for _, m in ipairs(assert(p:feed(stream:sub(i, i)))) do got[#got + 1] = m end
    end
    assert.same({ { opcode = ws.PING, data = "hi" }, { opcode = ws.BINARY, data = "\1abcde" } }, got)
  end)

  it("reads 16- and 64-bit lengths and unmasks a masked server frame", function()
    local p = ws.parser()
    local m = assert(p:feed("\x82\x7e\x01\x2c" .. ("y"):rep(300)))
    assert.equal(300, #m[1].data)
    m = assert(p:feed("\x82\x7f\0\0\0\0\0\1\x11\x70" .. ("z"):rep(70000)))
    assert.equal(("z"):rep(70000), m[1].data)
    m = assert(p:feed(ws.frame(ws.BINARY, "\1masked", "\9\8\7\6")))
    assert.equal("\1masked", m[1].data)
  end)

  it("refuses broken framing", function()
    assert.is_nil((ws.parser():feed("\x00\x01a")))           -- continuation of nothing
    assert.is_nil((ws.parser():feed("\x02\x01a\x02\x01b")))  -- new message mid-fragment
    assert.is_nil((ws.parser():feed("\xc2\x01a")))           -- reserved bit
    local _, err = ws.parser():feed("\x09\x7e\x01\x00" .. ("p"):rep(256)) -- long control
    assert.matches("control frame", err)
  end)

  it("knows the answer a server owes a key (RFC 6455's own example)", function()
    assert.equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", ws.accept("dGhlIHNhbXBsZSBub25jZQ=="))
  end)

  it("reads the exit code from the status channel", function()
    assert.equal(0, ws.exit_code('{"metadata":{},"status":"Success"}'))
    assert.equal(42, ws.exit_code(json.encode({ status = "Failure", reason = "NonZeroExitCode",
      details = { causes = { { reason = "ExitCode", message = "42" } } } })))
    local code, err = ws.exit_code('{"status":"Failure","message":"exec: \\"nope\\": executable file not found"}')
    assert.is_nil(code)
    assert.matches("executable file not found", err, 1, true)
    assert.is_nil((ws.exit_code("not json")))
    assert.equal("\255\0", ws.close_stdin())
  end)
end)

describe("kubernetes exec against a stand-in API server", function()
  local server = dofile("spec/fixtures/http/server.lua")
  local srv, c
  local pod = { metadata = { namespace = "ns", name = "p" } }

  setup(function()
    local http_script = server.script
    server.script = "spec/fixtures/k8s/ws_exec_server.py"
    local ok, s = pcall(server.start, "tcp")
    server.script = http_script
    srv = assert(ok and s, s)
    c = { server = "http://127.0.0.1:" .. srv.port, user = "tester",
          describe = function() return "the stand-in API server" end }
  end)
  teardown(function() if srv then server.stop(srv) end end)

  it("sends stdin and closes it (v5), answers a ping, joins fragments, passes the exit code", function()
    local input = "line 1\n" .. ("0123456789"):rep(10000)
    local r = assert(exec.capture(c, pod, "ctr", { "echo" }, { input = input }))
    assert.equal(3, r.code)
    assert.equal(input, r.stdout)
    assert.equal("err\n", r.stderr)
  end)

  it("takes a frame with a 64-bit length and a Success status", function()
    local r = assert(exec.capture(c, pod, "ctr", { "hello" }))
    assert.equal(0, r.code)
    assert.equal("hello\n" .. ("x"):rep(70000), r.stdout)
    assert.equal("", r.stderr)
    local got = {}
    r = assert(exec.capture(c, pod, "ctr", { "hello" }, { on_stdout = function(s) got[#got + 1] = s end }))
    assert.equal("", r.stdout)
    assert.equal(70006, #table.concat(got))
  end)

  it("attached to pipes: stdin streamed then closed, stdout and stderr apart, the exit code", function()
    local code = ([[
      local c = { server = %q, describe = function() return "fixture" end }
      local pod = { metadata = { namespace = "ns", name = "p" } }
      local r, err = require("deloc.adapters.kubernetes.attach").run(c, pod, "ctr", { "echo" }, { stdin = true })
      io.stdout:write("\ncode=", tostring(r or err.message))
    ]]):format(c.server)
    local r = assert(require("deloc.sys").spawn({ argv = { "./deloc", "-e", code }, stdin = "piped in\n",
      env = { PATH = os.getenv("PATH"), DELOC_LUA_DIR = os.getenv("DELOC_LUA_DIR") }, timeout = 30 }))
    assert.equal("piped in\n\ncode=3", r.stdout)
    assert.equal("err\n", r.stderr)
  end)

  it("says what is wrong: refused, no protocol, no key proof, no status, v4 with input", function()
    local _, err = exec.capture(c, pod, "ctr", { "forbidden" })
    assert.equal(403, err.status)
    assert.matches("no exec for you", err.message, 1, true)
    assert.matches("pods/exec", err.hint, 1, true)
    _, err = exec.capture(c, pod, "ctr", { "noproto" })
    assert.matches("no channel protocol", err.message, 1, true)
    for _, cmd in ipairs({ "badaccept", "noaccept" }) do
      _, err = exec.capture(c, pod, "ctr", { cmd })
      assert.matches("does not match the key deloc sent", err.message, 1, true)
    end
    _, err = exec.capture(c, pod, "ctr", { "nostatus" })
    assert.matches("without the process's exit status", err.message, 1, true)
    assert.equal(0, assert(exec.capture(c, pod, "ctr", { "v4" })).code)
    _, err = exec.capture(c, pod, "ctr", { "v4" }, { input = "x" })
    assert.matches("v5.channel.k8s.io", err.message, 1, true)
  end)
end)
