-- deloc exec and deloc shell on the real engine: pipes, exit status, a real
-- terminal (tmux) with its size, and the errors a user meets.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")
local terminal = dofile("spec/support/terminal.lua")

local SHELL_RECIPES = e2e.root .. "/spec/fixtures/shell/recipes"

describe("docker: exec and shell #e2e", function()
  local project, dir

  setup(function()
    assert(images.ensure({ "busybox" }))
    project = e2e.project("exec")
    dir = e2e.tmpdir()
    assert(sys.write_atomic(dir .. "/deloc.yaml", ("project: %s\nrecipes: [ %s, %s ]\nservices:\n  box: {}\n  workers: {}\n")
      :format(project, SHELL_RECIPES, e2e.FIXTURE_RECIPES)))
    local code, out, err = e2e.deloc({ "up", "--wait" }, { cwd = dir })
    assert.equal(0, code, out .. err)
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
  end)

  local function deloc(args, stdin)
    return e2e.deloc(args, { cwd = dir, stdin = stdin })
  end

  it("streams stdin to the process and closes it at end of input", function()
    local code, out, err = deloc({ "exec", "box", "--", "cat" }, "hi\n")
    assert.equal(0, code, err)
    assert.equal("hi\n", out)
    -- a couple of MiB go through unchanged
    local blob = {}
    for i = 1, 40000 do blob[i] = ("line %06d %s\n"):format(i, ("x"):rep(40)) end
    blob = table.concat(blob)
    code, out = deloc({ "exec", "box", "--", "sh", "-c", "cat | wc -c" }, blob)
    assert.equal(0, code)
    assert.equal(tostring(#blob), out:match("%d+"))
  end)

  it("passes the exit status through and keeps stdout and stderr apart", function()
    local code, out, err = deloc({ "exec", "box", "sh", "-c", "echo out; echo err >&2; exit 7" }, "")
    assert.equal(7, code)
    assert.equal("out\n", out)
    assert.equal("err\n", err)
  end)

  it("takes --user, --workdir and -e before the service", function()
    local code, out, err = deloc({ "exec", "-u", "0", "-w", "/etc", "-e", "GREETING=hello there",
      "box", "sh", "-c", 'id -u; pwd; echo "$GREETING"' }, "")
    assert.equal(0, code, err)
    assert.equal("0\n/etc\nhello there\n", out)
    code, out = deloc({ "exec", "box", "id", "-u" }, "")
    assert.equal(0, code)
    assert.equal("1000\n", out)
  end)

  it("finds components and says which when a service has several", function()
    local code, out, err, _ = deloc({ "exec", "workers.worker", "echo", "w" }, "")
    assert.equal(0, code, err)
    assert.equal("w\n", out)
    code, _, err = deloc({ "exec", "workers", "echo", "w" }, "")
    assert.equal(3, code)
    assert.matches("several components", err, 1, true)
    assert.matches("workers.head, workers.worker", err, 1, true)
    code, _, err = deloc({ "exec", "nosuch", "true" }, "")
    assert.equal(3, code)
    assert.matches("no service 'nosuch'", err, 1, true)
    code, _, err = deloc({ "exec", "box" }, "")
    assert.equal(2, code)
    assert.matches("needs a command", err, 1, true)
  end)

  it("shell runs the image's shell (sh without bash) reading a pipe", function()
    local code, out, err = deloc({ "shell", "box" }, 'echo "shell=$0"; exit 3\n')
    assert.equal(3, code, err)
    assert.equal("shell=sh\n", out)
  end)

  it("on Kubernetes exec needs the cluster: without a kubeconfig it says so", function()
    local code, _, err = e2e.deloc({ "exec", "--target", "kubernetes", "box", "true" },
      { cwd = dir, stdin = "", env = { KUBECONFIG = dir .. "/no-kubeconfig" } })
    assert.equal(3, code, err)
    assert.matches("no kubeconfig", err, 1, true)
  end)

  describe("on a terminal", function()
    local t = terminal.new("exec")
    after_each(function() t:kill() end)

    it("gets a terminal of the window's size, follows a resize, restores the local one", function()
      local cmd = ("cd %s && NO_COLOR=1 %s exec box sh; echo EXIT=$?; stty -a; sleep 60"):format(dir, e2e.bin())
      t:start(cmd)
      t:wait_for("/ $")
      t:type_line("tty; stty size")
      t:wait_for("30 100")
      assert.matches("/dev/pts/", t:screen(), 1, true)
      t:resize(120, 40)
      sys.sleep(0.5)
      t:type_line("stty size; exit 4")
      t:wait_for("EXIT=4")
      local s = t:screen()
      assert.matches("40 120", s, 1, true)
      -- the local terminal is cooked again: canonical mode and echo are on
      assert.matches("[^-]icanon", s)
      assert.matches("[^-]echo ", s)
    end)

    it("restores the local terminal when a signal ends it", function()
      local cmd = ("cd %s && NO_COLOR=1 %s exec box sh; echo EXIT=$?; stty -a; sleep 60"):format(dir, e2e.bin())
      t:start(cmd)
      t:wait_for("/ $")
      local pid = t:pid()
      assert.truthy(pid, "no deloc under the pane's shell")
      assert.matches("deloc", sys.read_file("/proc/" .. pid .. "/cmdline"), 1, true)
      assert(sys.kill(pid, "TERM"))
      t:wait_for("EXIT=130")
      local s = t:screen()
      assert.matches("[^-]icanon", s)
      assert.matches("[^-]echo ", s)
    end)
  end)
end)
