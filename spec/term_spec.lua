-- deloc.term: terminal detection, width and colour, seen from a child deloc
-- whose output is a pipe or a real pseudo-terminal (made by python3's pty).
local sys = require("deloc.sys")
local term = require("deloc.term")

-- The binary running these specs (./deloc if a rebuild has replaced it since).
local DELOC = sys.realpath("/proc/self/exe") or "./deloc"

-- Runs argv on a pseudo-terminal 123 columns wide; returns what it printed.
local PTY = [[
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 123, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
]]

local REPORT = [[
local term = require("deloc.term")
io.write(tostring(term.isatty("stdout")), " ", term.width(), " ",
  tostring(term.color_enabled("stdout")), " ", term.colorize("stdout", "red", "x"), "\n")
]]

-- env: variables to set (false to remove) for the child.
local function report(env, on_tty)
  env = env or {}
  for _, k in ipairs({ "NO_COLOR", "COLUMNS", "TERM" }) do
    if env[k] == nil then env[k] = false end
  end
  local argv = { DELOC, "-e", REPORT }
  if on_tty then argv = { "python3", "-c", PTY, DELOC, "-e", REPORT } end
  local r = assert(sys.spawn({ argv = argv, env = env, timeout = 20 }))
  assert.equal(0, r.status, r.stderr)
  return (r.stdout:gsub("\r", ""))
end

describe("deloc.term on a pipe", function()
  it("is no terminal and never colours", function()
    assert.equal("false 80 false x\n", report())
  end)

  it("takes the width from COLUMNS, else 80", function()
    assert.equal("false 100 false x\n", report({ COLUMNS = "100" }))
    assert.equal("false 80 false x\n", report({ COLUMNS = "wide" }))
    assert.equal("false 80 false x\n", report({ COLUMNS = "-3" }))
  end)
end)

describe("deloc.term on a terminal", function()
  setup(function()
    local r = sys.spawn({ argv = { "python3", "-c", "import pty" } })
    assert(r and r.status == 0, "python3 (a test dependency) is needed for a pseudo-terminal")
  end)

  it("sees the terminal, its width, and colours", function()
    assert.equal("true 123 true \27[31mx\27[0m\n", report({ TERM = "xterm" }, true))
  end)

  it("prefers the terminal's width over COLUMNS", function()
    assert.equal("true 123 true \27[31mx\27[0m\n",
      report({ TERM = "xterm", COLUMNS = "40" }, true))
  end)

  it("does not colour when NO_COLOR is set, whatever its value", function()
    assert.equal("true 123 false x\n", report({ TERM = "xterm", NO_COLOR = "1" }, true))
    assert.equal("true 123 false x\n", report({ TERM = "xterm", NO_COLOR = "0" }, true))
  end)

  it("colours when NO_COLOR is empty, as no-color.org says", function()
    assert.equal("true 123 true \27[31mx\27[0m\n", report({ TERM = "xterm", NO_COLOR = "" }, true))
  end)

  it("does not colour a dumb terminal", function()
    assert.equal("true 123 false x\n", report({ TERM = "dumb" }, true))
  end)
end)

describe("deloc.term.colorize", function()
  it("combines styles and leaves text alone when colour is off", function()
    assert.equal("\27[1;31merror\27[0m", term.colorize(true, "bold red", "error"))
    assert.equal("error", term.colorize(false, "bold red", "error"))
    assert.equal("42", term.colorize(false, "green", 42))
    assert.equal("", term.colorize(true, "green", ""))
  end)

  it("honours an explicit mode", function()
    assert.is_true(term.color_enabled("stdout", "always"))
    assert.is_false(term.color_enabled("stdout", "never"))
    assert.has_error(function() term.color_enabled("stdout", "sometimes") end)
  end)

  it("rejects unknown styles and streams even when colour is off", function()
    assert.has_error(function() term.colorize(false, "purple", "x") end,
      "term.colorize: unknown style 'purple'")
    assert.has_error(function() term.colorize("stdlog", "red", "x") end)
    assert.has_error(function() term.isatty("printer") end)
  end)

  it("accepts names, io handles and descriptors", function()
    assert.is_boolean(term.isatty(io.stderr))
    assert.is_boolean(term.isatty("stdin"))
    assert.is_false(term.isatty(987))
    assert.equal(term.isatty("stdout"), term.isatty(io.stdout))
  end)
end)
