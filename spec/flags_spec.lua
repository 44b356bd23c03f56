-- One meaning per short flag across every command, and the same words for a
-- project with nothing in it; shell completion from the command table.
local cli = require("deloc.cli")
local sys = require("deloc.sys")

local e2e = dofile("spec/support/e2e.lua")
local tmpdir, rmtree = e2e.tmpdir, e2e.rmdir

local function deloc(dir, ...)
  local r = assert(sys.spawn({ argv = { sys.realpath("./deloc"), ... }, cwd = dir,
    env = { DELOC_TARGET = false, DELOC_PROGRESS = "plain" }, timeout = 60 }))
  return r.status, r.stdout, r.stderr
end

describe("the command table", function()
  it("gives each short flag one long meaning in every command", function()
    local meaning, where = {}, {}
    for _, cmd in ipairs(cli.commands()) do
      if not cmd.raw_args then
        local seen = {}
        for _, o in ipairs(cli.options_of(cmd)) do
          local s = o[2]
          if s then
            assert.is_nil(seen[s], ("%s: -%s twice"):format(cmd.name, s))
            seen[s] = true
            if meaning[s] then
              assert.equal(meaning[s], o[1], ("-%s is --%s in %s but --%s in %s"):format(
                s, meaning[s], where[s], o[1], cmd.name))
            end
            meaning[s], where[s] = o[1], cmd.name
          end
        end
      end
    end
    assert.equal("file", meaning.f)
    assert.equal("help", meaning.h)
  end)

  it("keeps every global option, with its short flag, in every command", function()
    for _, cmd in ipairs(cli.commands()) do
      if not cmd.raw_args then
        local by_long = {}
        for _, o in ipairs(cli.options_of(cmd)) do by_long[o[1]] = o end
        for _, g in ipairs(cli.global_options) do
          assert.truthy(by_long[g[1]], cmd.name .. " lacks --" .. g[1])
          assert.equal(g[2], by_long[g[1]][2], cmd.name .. ": --" .. g[1])
        end
      end
    end
  end)

  it("takes deploy for up", function()
    assert.equal("up", cli.find("deploy").name)
  end)
end)

describe("an empty project #e2e", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmtree(dir) end)

  it("gets the same words from every command that plans", function()
    for _, cmd in ipairs({ { "plan" }, { "up", "--no-wait" }, { "graph" }, { "env" }, { "generate", "compose" } }) do
      local status, _, err = deloc(dir, unpack(cmd))
      assert.equal(2, status, cmd[1])
      assert.matches("deloc: no services named, and the project lists none\nhint: ", err, 1, true)
    end
  end)

  it("gets 'nothing deployed' from every command about what runs", function()
    local name = dir:match("([^/]+)$"):lower():gsub("[^a-z0-9-]+", "-"):gsub("^-+", ""):gsub("-+$", "")
    local want = ("nothing deployed for project '%s'"):format(name)
    for _, c in ipairs({ "status", "down", "stop" }) do
      local status, out = deloc(dir, c)
      assert.equal(0, status, c)
      assert.equal(want .. "\n", out, c)
    end
    local status, out, err = deloc(dir, "logs") -- stdout is for log lines
    assert.equal(0, status)
    assert.equal("", out)
    assert.equal(want .. "\n", err)
    status, out, err = deloc(dir, "health")
    assert.not_equal(0, status)
    assert.equal("", out) -- said once, as the error
    assert.matches("deloc: " .. want, err, 1, true)
  end)
end)

describe("deloc completion", function()
  local dir
  before_each(function()
    dir = tmpdir()
    assert(sys.mkdir_p(dir .. "/recipes"))
    assert(sys.write_atomic(dir .. "/deloc.yaml", "services: [postgres]\n"))
  end)
  after_each(function() rmtree(dir) end)

  local function complete(...)
    local _, out = deloc(dir, "__complete", ...)
    local t = {}
    for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
    return t
  end

  it("offers commands, flags, option values and service names", function()
    assert.same({ "deploy" }, complete("1", "deloc", "dep"))
    assert.same({ "--follow" }, complete("2", "deloc", "logs", "--fo"))
    assert.same({ "minimal", "development", "production" }, complete("3", "deloc", "up", "-p", ""))
    assert.same({ "shell" }, complete("3", "deloc", "env", "--format", "sh"))
    assert.same({ "postgres" }, complete("2", "deloc", "up", "postg"))
    local names = complete("2", "deloc", "up", "")
    assert.truthy(#names > 5) -- the project's service and every recipe
    assert.equal("postgres", names[1])
    assert.same({}, complete("3", "deloc", "up", "-f", "")) -- a file: the shell's own completion
  end)

  it("writes bash, zsh and fish scripts that complete through __complete", function()
    local deloc_path = sys.realpath("./deloc")
    local bin = dir .. "/bin"
    assert(sys.mkdir_p(bin))
    assert(sys.write_atomic(bin .. "/deloc", ('#!/bin/sh\nexec %s "$@"\n'):format(deloc_path), 493))
    local env = { PATH = bin .. ":" .. os.getenv("PATH") }
    local r = assert(sys.spawn({ argv = { "bash", "-c", 'source <(deloc completion bash); '
      .. 'COMP_WORDS=(deloc up postg); COMP_CWORD=2; _deloc; echo "${COMPREPLY[*]}"; '
      .. 'COMP_WORDS=(deloc comp); COMP_CWORD=1; _deloc; echo "${COMPREPLY[*]}"' }, cwd = dir, env = env }))
    assert.equal("postgres\ncompletion\n", r.stdout)
    for _, sh in ipairs({ "zsh", "fish" }) do
      local status, script = deloc(dir, "completion", sh)
      assert.equal(0, status)
      assert.matches("__complete", script, 1, true)
      assert.matches("completion", script, 1, true)
      if sys.exists("/usr/bin/" .. sh) then
        r = assert(sys.spawn({ argv = { sh, "-n" }, stdin = script }))
        assert.equal(0, r.status, sh .. ": " .. r.stderr)
      end
    end
    if sys.exists("/usr/bin/fish") then
      r = assert(sys.spawn({ argv = { "fish", "-c", "deloc completion fish | source; complete -C 'deloc up postg'" },
        cwd = dir, env = env }))
      assert.matches("^postgres", r.stdout)
    end
    local status, _, err = deloc(dir, "completion", "tcsh")
    assert.equal(2, status)
    assert.matches("unknown shell 'tcsh'", err, 1, true)
  end)
end)
