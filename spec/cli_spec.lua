-- The command line as a user meets it: version, help, prefixes, errors, run, -e.
local sys_ok, sys = pcall(require, "deloc.sys")
local bin = os.getenv("DELOC_BIN") or "./deloc"

local function deloc(...)
  local argv = { bin, ... }
  local r = assert(sys.spawn({ argv = argv, env = { DELOC_DEBUG = "0", PATH = os.getenv("PATH") }, env_clear = true }))
  return r.status, r.stdout, r.stderr
end

describe("deloc command line", function()
  setup(function() assert(sys_ok, "deloc.sys is needed") end)

  it("prints its version", function()
    local status, out = deloc("version")
    assert.equal(0, status)
    assert.matches("^deloc %d+%.%d+%.%d+", out)
  end)

  it("matches commands by unique prefix", function()
    local status, out = deloc("vers")
    assert.equal(0, status)
    assert.matches("^deloc ", out)
  end)

  it("rejects an ambiguous prefix with exit 2 and the candidates", function()
    local status, _, err = deloc("r")
    assert.equal(2, status)
    assert.matches("ambiguous command 'r': could be ", err, 1, true)
    assert.matches("repl, ", err, 1, true) -- sorted, comma-separated
    assert.matches(", run", err, 1, true)
  end)

  it("rejects an unknown command with exit 2 and a suggestion", function()
    local status, _, err = deloc("verzion")
    assert.equal(2, status)
    assert.matches("unknown command 'verzion'", err, 1, true)
    assert.matches("did you mean 'deloc version'", err, 1, true)
  end)

  it("rejects an unknown option with exit 2", function()
    local status, _, err = deloc("version", "--jsn")
    assert.equal(2, status)
    assert.matches("unknown option '--jsn'", err, 1, true)
    assert.matches("did you mean '--json'", err, 1, true)
  end)

  it("shows help for a command", function()
    local status, out = deloc("help", "run")
    assert.equal(0, status)
    assert.matches("usage: deloc run FILE.lua", out, 1, true)
  end)

  it("lists commands in help", function()
    local status, out = deloc("help")
    assert.equal(0, status)
    assert.matches("repl", out)
    assert.matches("version", out)
  end)

  it("runs a chunk with -e and deloc loaded", function()
    local status, out = deloc("-e", "print(1 + 1, type(deloc.version))")
    assert.equal(0, status)
    assert.equal("2\tstring\n", out)
  end)

  it("reports an unknown global with a suggestion", function()
    local status, _, err = deloc("-e", "prnt(1)")
    assert.equal(1, status)
    assert.matches("unknown global 'prnt' (did you mean 'print'?)", err, 1, true)
  end)

  it("sets arg for run as lua does", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("print(arg[0], arg[1], arg[2], arg[-1], select('#', ...))\n")
    f:close()
    local status, out = deloc("run", path, "a", "b")
    os.remove(path)
    assert.equal(0, status)
    assert.equal(path .. "\ta\tb\trun\t2\n", out)
  end)

  it("loads run files as text only, never bytecode", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(string.dump(function() return 1 end))
    f:close()
    local status, _, err = deloc("run", path)
    os.remove(path)
    assert.is_not.equal(0, status)
    assert.matches("binary (bytecode) chunk", err, 1, true)
  end)

  it("does not let LUA_PATH leak in, and never has ./?.lua", function()
    local r = assert(sys.spawn({ argv = { bin, "-e", "io.write(package.path, '|', package.cpath)" },
      env = { LUA_PATH = "./?.lua;/tmp/x/?.lua", LUA_CPATH = "./?.so", PATH = os.getenv("PATH") },
      env_clear = true }))
    assert.equal(0, r.status)
    assert.not_matches("%./%?%.lua", r.stdout)
    assert.not_matches("/tmp/x", r.stdout)
    assert.not_matches("%./%?%.so", r.stdout)
    assert.matches("|$", r.stdout) -- cpath empty outside test mode
  end)

  it("exits with the status a run program returns", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("return 7\n")
    f:close()
    local status = deloc("run", path)
    os.remove(path)
    assert.equal(7, status)
  end)

  it("names a missing run file", function()
    local status, _, err = deloc("run", "/nonexistent/x.lua")
    assert.equal(1, status)
    assert.matches("cannot run '/nonexistent/x.lua'", err, 1, true)
  end)
end)

describe("deloc option parsing", function()
  local cli = require("deloc.cli")
  local args = require("deloc.args")

  it("lets a command's own short option win over the global one", function()
    local cmd = { name = "x", usage = "", summary = "",
      options = { { "follow", "f", help = "keep going" } } }
    local opts, rest = args.parse({ "-f", "svc" }, cli.options_of(cmd))
    assert.is_true(opts.follow)
    assert.is_nil(opts.file)
    assert.same({ "svc" }, rest)
    opts = args.parse({ "--file", "p.yaml" }, cli.options_of(cmd))
    assert.equal("p.yaml", opts.file)
  end)

  it("parses --name=value, --no-flag, repeated and combined short flags", function()
    local options = { { "set", arg = "K=V", many = true }, { "wait", "w" }, { "json", "j" } }
    local opts, rest = args.parse({ "--set=a=1", "--set", "b=2", "--no-wait", "-j", "x" }, options)
    assert.same({ "a=1", "b=2" }, opts.set)
    assert.is_false(opts.wait)
    assert.is_true(opts.json)
    assert.same({ "x" }, rest)
    opts = args.parse({ "-wj" }, options)
    assert.is_true(opts.wait and opts.json)
  end)

  it("reports a missing value and a value given to a flag", function()
    local options = { { "timeout", arg = "DURATION" }, { "json" } }
    local ok, err = args.parse({ "--timeout" }, options)
    assert.is_nil(ok)
    assert.equal("USAGE", err.code)
    assert.matches("needs a value", err.message)
    ok, err = args.parse({ "--json=yes" }, options)
    assert.is_nil(ok)
    assert.matches("takes no value", err.message)
  end)
end)
