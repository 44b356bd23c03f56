-- The REPL as a user meets it: piped statements, and a real terminal (tmux).
local sys = require("deloc.sys")
local repl = require("deloc.repl")
local sandbox = require("deloc.sandbox")

local bin = os.getenv("DELOC_BIN") or "./deloc"

local function piped(input)
  return assert(sys.spawn({ argv = { bin, "repl" }, stdin = input,
    env = { PATH = os.getenv("PATH"), HOME = os.getenv("HOME") or "/tmp" } }))
end

describe("deloc repl from a pipe", function()
  it("prints expression values and runs statements", function()
    local r = piped("x = 20\nx + 1\n1+1\n")
    assert.equal(0, r.status)
    assert.equal("21\n2\n", r.stdout)
  end)

  it("keeps reading while a chunk is incomplete", function()
    local r = piped("function f(a)\n  return a * 2\nend\nf(21)\n")
    assert.equal(0, r.status)
    assert.equal("42\n", r.stdout)
  end)

  it("pretty-prints tables with sorted keys", function()
    local r = piped("{ b = { 1, 2 }, a = 'x' }\n")
    assert.equal('{\n  a = "x",\n  b = {\n    1,\n    2,\n  },\n}\n', r.stdout)
  end)

  it("prints nil and multiple results", function()
    local r = piped("nil\nreturn 1, nil, 'a'\n")
    assert.equal('nil\n1\tnil\t"a"\n', r.stdout)
  end)

  it("reports errors, keeps going, and exits 1", function()
    local r = piped("nosuch\nsyntax error here\n'after'\n")
    assert.equal(1, r.status)
    assert.matches("unknown global 'nosuch'", r.stderr, 1, true)
    assert.matches("stdin:1:", r.stderr, 1, true)
    assert.equal('"after"\n', r.stdout)
  end)

  it("has deloc loaded", function()
    local r = piped("type(deloc.sys.cpu)\n")
    assert.equal('"function"\n', r.stdout)
  end)

  it("reports a chunk left unfinished at the end of input", function()
    local r = piped("for i = 1, 2 do\n")
    assert.equal(1, r.status)
    assert.matches("unfinished chunk", r.stderr)
  end)
end)

describe("deloc repl completion", function()
  local base = sandbox.user_base()
  local env = sandbox.strict(base, { allow_new_globals = true })

  it("completes dotted names through deloc's lazy modules", function()
    local c = repl.complete(env, base, "deloc.res")
    assert.same({ "deloc.resources" }, c)
  end)

  it("completes fields of a loaded module", function()
    local c = repl.complete(env, base, "deloc.sys.cp")
    assert.same({ "deloc.sys.cpu" }, c)
  end)

  it("completes globals and keywords", function()
    local c = repl.complete(env, base, "whi")
    assert.same({ "while" }, c)
    rawset(env, "my_value", 1)
    assert.same({ "my_value" }, repl.complete(env, base, "my_v"))
  end)

  it("offers nothing for unknown paths", function()
    assert.same({}, repl.complete(env, base, "nosuch.x"))
  end)
end)

describe("deloc repl on a terminal", function()
  local session = ("deloc-spec-%d"):format(sys.pid())
  local state_dir = os.tmpname()

  local function tmux(...)
    return sys.spawn({ argv = { "tmux", ... } })
  end
  local function screen()
    return tmux("capture-pane", "-p", "-t", session).stdout
  end
  local function wait_for(pattern)
    local deadline = sys.now() + 5
    while sys.now() < deadline do
      if screen():find(pattern, 1, true) then return true end
      sys.sleep(0.05)
    end
    error("screen never showed " .. pattern .. ":\n" .. screen())
  end
  local function type_line(text)
    tmux("send-keys", "-t", session, "-l", text)
    tmux("send-keys", "-t", session, "Enter")
  end

  setup(function()
    os.remove(state_dir)
    assert(sys.mkdir_p(state_dir))
    local cmd = ("XDG_STATE_HOME=%s %s repl; echo EXIT=$?; sleep 60"):format(state_dir, bin)
    local r = tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd)
    assert.equal(0, r.status, r.stderr)
    wait_for("deloc>")
  end)

  teardown(function()
    tmux("kill-session", "-t", session)
    sys.spawn({ argv = { "rm", "-rf", state_dir } })
  end)

  it("evaluates, completes with TAB, interrupts with Ctrl-C, leaves with Ctrl-D", function()
    type_line("1+1")
    wait_for("\n2\n")
    tmux("send-keys", "-t", session, "-l", "deloc.res")
    tmux("send-keys", "-t", session, "Tab")
    wait_for("deloc> deloc.resources")
    tmux("send-keys", "-t", session, "C-c") -- clears the line
    type_line("while true do end")
    sys.sleep(0.3)
    tmux("send-keys", "-t", session, "C-c")
    wait_for("interrupted")
    type_line("'still here'")
    wait_for('"still here"')
    tmux("send-keys", "-t", session, "C-d")
    wait_for("EXIT=0")
    local history = assert(io.open(state_dir .. "/deloc/history")):read("*a")
    assert.matches("1+1", history, 1, true)
  end)
end)
