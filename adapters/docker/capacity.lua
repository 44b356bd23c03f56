-- deloc.adapters.docker.capacity: what the Docker engine can give a stack, for
-- the planner.  The engine's own report (/info: NCPU, MemTotal) matters where
-- the engine is not this machine: Docker Desktop's VM is smaller than the host,
-- and a tcp:// engine is another machine altogether.
--
--   capacity.for_plan([{ client =, refresh = }]) -> capacity | nil, warning
--     capacity = { cpu =, memory =, disk =, source = { cpu =, memory =, disk = },
--                  engine = { endpoint =, cpu =, memory =, name =, os = } }
--
-- A local engine (unix socket) gives the smaller of its figures and this
-- machine's cgroup-aware ones; a remote engine gives its own.  /info costs a
-- request (and loading libcurl) that `deloc plan` should not pay every time:
-- the answer is cached per endpoint in $XDG_CACHE_HOME/deloc/engines.json for
-- ten minutes (a no-op `up` stays one list request); `up` passes its connected
-- client for when the engine must be asked.
local engine = require("deloc.adapters.docker.engine")
local json = require("deloc.json")
local sys = require("deloc.sys")

local M = {}

M.TTL = 600

local function cache_path()
  local dir = os.getenv("XDG_CACHE_HOME")
  if not dir or dir == "" then
    local home = os.getenv("HOME")
    if not home or home == "" then return nil end
    dir = home .. "/.cache"
  end
  return dir .. "/deloc", dir .. "/deloc/engines.json"
end

local function read_cache()
  local _, path = cache_path()
  local text = path and sys.read_file(path)
  local data = text and json.decode(text)
  return type(data) == "table" and data or {}
end

local function write_cache(data)
  local dir, path = cache_path()
  if not dir or not sys.mkdir_p(dir) then return end
  local text = json.encode(data)
  if text then sys.write_atomic(path, text, tonumber("600", 8)) end
end

-- query(c) -> { cpu =, memory =, name =, os = } | nil, err
function M.query(c)
  local info, err = c:get("/info")
  if not info then return nil, err end
  if type(info) ~= "table" then info = {} end
  local cpu, memory = tonumber(info.NCPU), tonumber(info.MemTotal)
  if not cpu or not memory or cpu <= 0 or memory <= 0 then
    return nil, "the engine's /info reports no NCPU/MemTotal"
  end
  return { cpu = cpu, memory = memory, name = info.Name, os = info.OperatingSystem }
end

-- The engine's figures, from the cache when fresh, else asked.
local function engine_figures(ep, opts)
  local cache = read_cache()
  local hit = cache[ep.display]
  if hit and not opts.refresh and tonumber(hit.at) and sys.time() - hit.at < M.TTL then
    return hit
  end
  local c = opts.client
  if not c then
    local err
    c, err = engine.connect({ lazy = true, timeout = 2 })
    if not c then return nil, err end
  end
  local figures, err = M.query(c)
  if not figures then return nil, err end
  figures.at = sys.time()
  cache[ep.display] = figures
  write_cache(cache)
  return figures
end

local function gib(n)
  return ("%.1f GiB"):format(n / 1073741824)
end

-- combine(host, eng, local_engine) -> capacity: the pure rule, for specs.
function M.combine(host, eng, local_engine, endpoint)
  local cap = { disk = host.disk, source = { disk = host.source and host.source.disk },
                engine = { endpoint = endpoint, cpu = eng.cpu, memory = eng.memory,
                           name = eng.name, os = eng.os } }
  local hs = host.source or {}
  if local_engine and host.cpu <= eng.cpu then
    cap.cpu, cap.source.cpu = host.cpu, hs.cpu
  else
    cap.cpu = eng.cpu
    cap.source.cpu = ("docker engine %s: %d CPUs (/info NCPU)"):format(endpoint, eng.cpu)
  end
  if local_engine and host.memory <= eng.memory then
    cap.memory, cap.source.memory = host.memory, hs.memory
  else
    cap.memory = eng.memory
    cap.source.memory = ("docker engine %s: %s (/info MemTotal)"):format(endpoint, gib(eng.memory))
  end
  if not local_engine then
    cap.disk, cap.source.disk = nil, nil -- another machine's disk is not ours to measure
  end
  return cap
end

function M.for_plan(opts)
  opts = opts or {}
  local ep, eerr = engine.endpoint()
  if not ep then return nil, tostring(eerr) end
  local host, herr = sys.resources()
  if not host then return nil, tostring(herr) end
  local eng, err = engine_figures(ep, opts)
  if not eng then
    return nil, ("cannot ask the Docker engine at %s for its size (%s): sizing to this machine")
      :format(ep.display, err.message or tostring(err))
  end
  return M.combine(host, eng, ep.unix_socket ~= nil, ep.display)
end

return M
