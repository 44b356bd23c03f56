-- Sizing for the Docker target: the engine's own report against this machine's.
local capacity = require("deloc.adapters.docker.capacity")

local GiB = 1073741824
local host = { cpu = 8, memory = 30 * GiB, disk = 100 * GiB,
  source = { cpu = "host: 8 CPUs", memory = "host: MemAvailable", disk = "host: free space" } }

describe("docker capacity", function()
  it("takes the engine's figures when its VM is smaller than the host (Docker Desktop)", function()
    local cap = capacity.combine(host, { cpu = 4, memory = 8 * GiB }, true, "unix:///var/run/docker.sock")
    assert.equal(4, cap.cpu)
    assert.equal(8 * GiB, cap.memory)
    assert.matches("/info MemTotal", cap.source.memory, 1, true)
    assert.matches("/info NCPU", cap.source.cpu, 1, true)
    assert.equal(100 * GiB, cap.disk)
  end)

  it("keeps this machine's figures when they are smaller (a local Linux engine)", function()
    local cap = capacity.combine(host, { cpu = 8, memory = 32 * GiB }, true, "unix:///var/run/docker.sock")
    assert.equal(8, cap.cpu)
    assert.equal(30 * GiB, cap.memory)
    assert.equal("host: MemAvailable", cap.source.memory)
  end)

  it("uses only the engine's figures for a remote engine, and no local disk", function()
    local cap = capacity.combine(host, { cpu = 16, memory = 64 * GiB }, false, "tcp://build:2376")
    assert.equal(16, cap.cpu)
    assert.equal(64 * GiB, cap.memory)
    assert.is_nil(cap.disk)
    assert.matches("tcp://build:2376", cap.source.memory, 1, true)
  end)

  it("sizes to this machine with a warning when the engine cannot be reached", function()
    local sys = require("deloc.sys")
    local old = sys.getenv("DOCKER_HOST")
    sys.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    local cap, warning = capacity.for_plan({ refresh = true })
    sys.setenv("DOCKER_HOST", old)
    assert.is_nil(cap)
    assert.matches("cannot ask the Docker engine at unix:///nonexistent/docker.sock", warning, 1, true)
    assert.matches("sizing to this machine", warning, 1, true)
  end)
end)
