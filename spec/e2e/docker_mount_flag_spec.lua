-- --mount on the command line is the user's own choice and may name a path
-- outside the project: the Docker driver, which re-checks every bind source
-- where the plan becomes a container (adapters/docker/binds.lua), lets it
-- through because it resolved the flag itself, while the same path named by
-- the project file is refused.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local function write(path, text)
  assert(sys.mkdir_p(path:match("^(.*)/[^/]*$")))
  assert(sys.write_atomic(path, text))
end

local function free_port()
  local used = require("deloc.planner").listening()
  local p = 20000 + ((sys.pid() + 7919) % 20000)
  while used[p] do p = p + 1 end
  return p
end

describe("docker: --mount of a path outside the project #e2e", function()
  local project, dir, outside, env
  local function deloc(args)
    return e2e.deloc(args, { cwd = dir, env = env, timeout = 240 })
  end

  setup(function()
    local tags = assert(images.ensure({ "postgres" }))
    project = e2e.project("mountflag")
    dir, outside = e2e.tmpdir(), e2e.tmpdir()
    assert(sys.chmod(outside, tonumber("755", 8)))
    env = { DELOC_IMAGES = images.overrides(tags), DELOC_TARGET = false }
    write(outside .. "/note.txt", "from outside\n")
    assert(sys.chmod(outside .. "/note.txt", tonumber("644", 8)))
    write(dir .. "/deloc.yaml", table.concat({
      "project: " .. project,
      "services:",
      "  postgres:",
      "    ports:",
      "      postgres: " .. free_port(),
      "",
    }, "\n"))
  end)

  teardown(function()
    if project then e2e.cleanup(project) end
    if dir then e2e.rmdir(dir) end
    if outside then e2e.rmdir(outside) end
  end)

  it("binds the user's --mount path, and refuses it from the project file", function()
    local st, out, err = deloc({ "up", "--wait", "--timeout", "120s", "--mount", "postgres./srv/extra=" .. outside })
    assert.equal(0, st, (err or "") .. (out or ""))
    local id
    st, id = e2e.docker({ "ps", "-q", "--filter", "label=dev.deloc.project=" .. project,
      "--filter", "label=dev.deloc.service=postgres" })
    assert.equal(0, st)
    local r
    st, r = e2e.docker({ "exec", (id:gsub("%s+$", "")), "cat", "/srv/extra/note.txt" })
    assert.equal(0, st)
    assert.equal("from outside\n", r)

    local text = assert(sys.read_file(dir .. "/deloc.yaml"))
    assert(sys.write_atomic(dir .. "/deloc.yaml", text .. "    mounts:\n      /srv/extra: " .. outside .. "\n"))
    local pst, _, perr = deloc({ "plan" })
    assert.not_equal(0, pst)
    assert.matches("outside the project", perr)
  end)
end)
