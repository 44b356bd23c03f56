-- deloc connect on the real engine: psql and redis-cli logged in with the
-- project's secrets, which never show on a command line or in an
-- environment others can read; a URL with its token.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")
local terminal = dofile("spec/support/terminal.lua")

describe("docker: connect #e2e", function()
  local project, dir, env

  setup(function()
    local tags = assert(images.ensure({ "postgres", "redis", "busybox" }))
    env = { DELOC_IMAGES = images.overrides(tags) }
    project = e2e.project("connect")
    dir = e2e.tmpdir()
    assert(sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s/spec/fixtures/shell/recipes ]\n"
      .. "services:\n  postgres: {}\n  redis: {}\n  notebook: {}\n  box: {}\n"):format(project, e2e.root)))
    local code, out, err = e2e.deloc({ "up", "--wait" }, { cwd = dir, env = env })
    assert.equal(0, code, out .. err)
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  local function deloc(args, stdin)
    return e2e.deloc(args, { cwd = dir, env = env, stdin = stdin or "" })
  end
  local function secret(name)
    return (assert(sys.read_file(dir .. "/.deloc/secrets/" .. name)):gsub("%s+$", ""))
  end
  local function container_ip(service)
    local code, out = e2e.docker({ "ps", "-q", "--filter", "label=dev.deloc.project=" .. project,
      "--filter", "label=dev.deloc.service=" .. service })
    assert.equal(0, code)
    local ip
    code, ip = e2e.docker({ "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
      (out:match("%S+")) })
    assert.equal(0, code)
    return (ip:gsub("%s+", ""))
  end

  it("psql logs in with the password (over a password-checked route) and cleans up", function()
    local ip = container_ip("postgres")
    -- without the password the same route is refused: the login below used it
    local code, _, err = deloc({ "exec", "postgres", "psql", "-w", "-h", ip, "-U", "deloc", "-c", "select 1" })
    assert.is_not.equal(0, code)
    assert.matches("password", err)
    local out
    code, out, err = deloc({ "connect", "postgres", "--", "-h", ip, "-Atc", "select current_user, 40 + 2" })
    assert.equal(0, code, err)
    assert.equal("deloc|42\n", out)
    code, out = deloc({ "connect", "postgres", "--", "-At" }, "select 'from stdin';\n")
    assert.equal(0, code)
    assert.equal("from stdin\n", out)
    -- the private pgpass directory is gone
    code, out = deloc({ "exec", "postgres", "sh", "-c", "ls -A /tmp" })
    assert.equal(0, code)
    assert.equal("", out)
  end)

  it("redis-cli logs in; without the password the server refuses", function()
    local _, out = deloc({ "exec", "redis", "redis-cli", "-h", "127.0.0.1", "PING" })
    assert.matches("NOAUTH", out)
    local code
    code, out = deloc({ "connect", "redis", "--", "PING" })
    assert.equal(0, code)
    assert.equal("PONG\n", out)
    code, out = deloc({ "connect", "redis" }, "SET greeting hello\nGET greeting\n")
    assert.equal(0, code)
    assert.equal("OK\nhello\n", out)
  end)

  it("prints a URL with its token, and says when a service has no client", function()
    local code, out, err, _ = deloc({ "connect", "notebook" })
    assert.equal(0, code, err)
    local port = out:match("^http://127%.0%.0%.1:(%d+)/lab%?token=")
    assert.truthy(port, out)
    assert.equal(secret("notebook.token"), out:match("token=(%w+)\n$"))
    code, _, err = deloc({ "connect", "box" })
    assert.equal(2, code)
    assert.matches("no client to connect with", err, 1, true)
    assert.matches("deloc shell box", err, 1, true)
    code, _, err = deloc({ "connect", "postgres", "nosuch" })
    assert.equal(2, code)
    assert.matches("not a client of postgres", err, 1, true)
  end)

  describe("on a terminal", function()
    local t = terminal.new("connect")
    after_each(function() t:kill() end)

    it("runs psql interactively; no process shows the password in argv or a readable env", function()
      local cmd = ("cd %s && DELOC_IMAGES=%s NO_COLOR=1 %s connect postgres; echo EXIT=$?; sleep 60")
        :format(dir, env.DELOC_IMAGES, e2e.bin())
      t:start(cmd, { x = 120 })
      t:wait_for("deloc=#", 30)
      t:type_line("select 6 * 7 as answer \\g")
      t:wait_for("42")
      -- while psql runs: every process's argv and environment, as the
      -- postgres user (root in the container, without capabilities, may
      -- not even read another uid's environment)
      local password = secret("postgres.password")
      local code, out = deloc({ "exec", "postgres", "sh", "-c",
        'for p in /proc/[0-9]*; do echo "== $p"; tr "\\0" " " < $p/cmdline; echo; tr "\\0" "\\n" < $p/environ; done 2>/dev/null; ls -la /tmp /tmp/tmp.*' })
      assert.equal(0, code, out)
      assert.matches("psql", out, 1, true)
      assert.matches("PGPASSFILE=/tmp/tmp.", out, 1, true)
      assert.is_nil(out:find(password, 1, true))
      -- the pgpass file: 0600 in a 0700 directory of the postgres user
      assert.matches("drwx------%s+%d+%s+postgres", out)
      assert.matches("%-rw%-%-%-%-%-%-%-%s+%d+%s+postgres%s+postgres%s+%d+%s.-pgpass", out)
      t:type_line("\\q")
      t:wait_for("EXIT=0")
    end)
  end)
end)
