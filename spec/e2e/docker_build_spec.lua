-- Images built from the project's files on the real engine: POST /build
-- with the context as a tar, .dockerignore honoured, progress shown, the
-- image rebuilt (and the container recreated) only when the context changes.
-- FROM a local deloc-test image: no registry.
local sys = require("deloc.sys")
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

describe("docker: build #e2e", function()
  local project, dir

  setup(function()
    assert(images.ensure({ "busybox" }))
    project = e2e.project("build")
    dir = e2e.tmpdir()
    e2e.project_file(dir, project, "services:\n  web: {}\n", e2e.root .. "/spec/fixtures/build/recipes")
    assert(sys.mkdir_p(dir .. "/app/sub"))
    assert(sys.write_atomic(dir .. "/app/Dockerfile", table.concat({
      "FROM " .. images.tag("busybox"),
      "COPY . /ctx/",
      [[CMD ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] ]],
    }, "\n") .. "\n"))
    assert(sys.write_atomic(dir .. "/app/.dockerignore", "*.log\nsub/private\n"))
    assert(sys.write_atomic(dir .. "/app/hello.txt", "v1\n"))
    assert(sys.write_atomic(dir .. "/app/debug.log", "noise\n"))
    assert(sys.write_atomic(dir .. "/app/sub/private", "do not send\n"))
    assert(sys.write_atomic(dir .. "/app/sub/public", "ok\n"))
  end)

  teardown(function()
    if project then
      e2e.cleanup(project)
      local _, ids = e2e.docker({ "images", "-q", "--filter", "label=dev.deloc.project=" .. project })
      for id in (ids or ""):gmatch("%S+") do e2e.docker({ "rmi", "-f", id }) end
    end
    if dir then e2e.rmdir(dir) end
  end)

  local function deloc(args)
    return e2e.deloc(args, { cwd = dir, env = { DELOC_PROGRESS = "plain" } })
  end
  local function image_of()
    local _, out = e2e.docker({ "ps", "--filter", "label=dev.deloc.project=" .. project, "--format", "{{.Image}} {{.ID}}" })
    return out:match("^(%S+) (%S+)")
  end

  it("builds on up, leaves out what .dockerignore says, and tags per project", function()
    local code, out, err = deloc({ "up" })
    assert.equal(0, code, out .. err)
    assert.matches("web: building", out .. err, 1, true)
    assert.matches("Step 2/%d+ : COPY %. /ctx/", out .. err)
    local image = image_of()
    assert.matches("^deloc%-" .. project:gsub("%-", "%%-") .. "/web:%x+$", image)
    code, out = deloc({ "exec", "web", "sh", "-c", "cd /ctx && find . -type f | sort" })
    assert.equal(0, code)
    assert.equal("./.dockerignore\n./Dockerfile\n./hello.txt\n./sub/public\n", out)
  end)

  it("gives docker-compose a file it accepts, with the build", function()
    local code, out, err = deloc({ "generate", "compose", "-o", "compose.yaml" })
    assert.equal(0, code, err)
    local r = assert(sys.spawn({ argv = { "docker-compose", "-f", dir .. "/compose.yaml", "config" }, cwd = dir }))
    assert.equal(0, r.status, r.stderr)
    assert.matches("build:", r.stdout, 1, true)
    assert.matches("context: " .. dir .. "/app", r.stdout, 1, true)
    assert.is_string(out)
  end)

  it("rebuilds only when the context changes", function()
    local image, id = image_of()
    -- touched, or an ignored file changed: same content, nothing to do
    assert(sys.write_atomic(dir .. "/app/hello.txt", "v1\n"))
    assert(sys.write_atomic(dir .. "/app/debug.log", "more noise\n"))
    local code, out, err = deloc({ "up" })
    assert.equal(0, code, err)
    assert.is_nil((out .. err):find("building", 1, true))
    local image2, id2 = image_of()
    assert.equal(image, image2)
    assert.equal(id, id2)
    -- a real change: a new image and a new container
    assert(sys.write_atomic(dir .. "/app/hello.txt", "v2\n"))
    code, out, err = deloc({ "up" })
    assert.equal(0, code, err)
    assert.matches("web: building", out .. err, 1, true)
    local image3, id3 = image_of()
    assert.is_not.equal(image, image3)
    assert.is_not.equal(id, id3)
    code, out = deloc({ "exec", "web", "cat", "/ctx/hello.txt" })
    assert.equal(0, code)
    assert.equal("v2\n", out)
  end)

  it("clean removes the images built for the project", function()
    local _, before = e2e.docker({ "images", "-q", "--filter", "label=dev.deloc.project=" .. project })
    assert.truthy(before:match("%S"))
    local code, _, err = deloc({ "clean" })
    assert.equal(0, code, err)
    local _, after = e2e.docker({ "images", "-q", "--filter", "label=dev.deloc.project=" .. project })
    assert.equal("", after)
  end)

  it("builds up to the stage deloc.yaml names, and tells docker-compose the same", function()
    assert(sys.mkdir_p(dir .. "/stages"))
    assert(sys.write_atomic(dir .. "/stages/Dockerfile", table.concat({
      "FROM " .. images.tag("busybox") .. " AS first",
      "RUN echo first > /stage",
      [[CMD ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] ]],
      "FROM " .. images.tag("busybox") .. " AS second",
      "RUN echo second > /stage",
      "RUN exit 3",
    }, "\n") .. "\n"))
    e2e.project_file(dir, project, "services:\n  web:\n    build: { context: stages, target: first }\n",
      e2e.root .. "/spec/fixtures/build/recipes")
    finally(function()
      e2e.project_file(dir, project, "services:\n  web: {}\n", e2e.root .. "/spec/fixtures/build/recipes")
    end)
    local code, out, err = deloc({ "up" })
    assert.equal(0, code, out .. err) -- the second stage, which fails, is not built
    code, out = deloc({ "exec", "web", "cat", "/stage" })
    assert.equal(0, code)
    assert.equal("first\n", out)
    code, out, err = deloc({ "generate", "compose", "-o", "compose.yaml" })
    assert.equal(0, code, out .. err)
    local r = assert(sys.spawn({ argv = { "docker-compose", "-f", dir .. "/compose.yaml", "config" }, cwd = dir }))
    assert.equal(0, r.status, r.stderr)
    assert.matches("target: first", r.stdout, 1, true)
  end)

  it("reports a failing build with its output, and a context outside the project", function()
    assert(sys.write_atomic(dir .. "/app/Dockerfile", "FROM " .. images.tag("busybox") .. "\nRUN exit 3\n"))
    local code, out, err = deloc({ "up" })
    assert.is_not.equal(0, code)
    assert.matches("cannot build the image of web", out .. err, 1, true)
    assert.matches("RUN exit 3", out .. err, 1, true)
    sys.spawn({ argv = { "ln", "-s", "/", dir .. "/outside" } })
    e2e.project_file(dir, project, "services:\n  web:\n    build: { context: outside }\n",
      e2e.root .. "/spec/fixtures/build/recipes")
    code, out, err = deloc({ "up" })
    assert.is_not.equal(0, code)
    assert.matches("resolves outside the project directory", out .. err, 1, true)
  end)
end)
