-- bench/core.lua: the C fast paths, timed inside deloc (median of runs).
-- Prints `what|result|target|baseline` rows for bench/run.
local sys = require("deloc.sys")

local function median(fn, runs)
  local times = {}
  for i = 1, runs do
    collectgarbage()
    local t0 = sys.now()
    fn()
    times[i] = sys.now() - t0
  end
  table.sort(times)
  return times[math.floor((runs + 1) / 2)] * 1000
end

local function row(what, ms, target, base)
  io.write(("%s|%.2f ms|%s|%s\n"):format(what, ms, target, base or ""))
end

-- A realistic 1 MiB config: many services with env, ports, volumes, lists.
local function realistic_yaml(bytes)
  local parts, n, i = { "project: bench\nprofile: development\nservices:\n" }, 0, 0
  while n < bytes do
    i = i + 1
    local s = ([[
  svc%d:
    image: "registry.local/team/service-%d:1.%d.0"
    replicas: %d
    options: { mode: kraft, tier: "gold" }
    env:
      JAVA_OPTS: "-Xmx512m -Xms512m -XX:+UseG1GC"
      LOG_LEVEL: info
      FEATURE_FLAGS: "a,b,c,d"
      ENABLED: true
    ports: { http: %d, metrics: %d }
    resources: { memory: 512Mi, cpu: 0.5 }
    volumes:
      - name: data
        path: /var/lib/svc%d
        size: 1Gi
      - name: logs
        path: /var/log/svc%d
]]):format(i, i, i % 10, i % 3 + 1, 20000 + i, 30000 + i, i, i)
    parts[#parts + 1] = s
    n = n + #s
  end
  return table.concat(parts)
end

local yaml = require("deloc.yaml")
local text = realistic_yaml(1024 * 1024 - 4096)
local ms = median(function() assert(yaml.load(text, { max_size = 2 * 1024 * 1024 })) end, 21)
row(("YAML load of a %d KiB config"):format(math.floor(#text / 1024)), ms, "≤ 20 ms")
local json = require("deloc.json")
local jtext = assert(json.encode(assert(yaml.load(text, { max_size = 2 * 1024 * 1024 }))))
row("(baseline) cjson decode of the same data as JSON",
  median(function() assert(json.decode(jtext)) end, 21), "", "")

local dag = require("deloc.dag")
local graph = {}
local rng = 12345
local function rand(n)
  rng = (rng * 1103515245 + 12345) % 2147483648
  return rng % n
end
for i = 1, 10000 do
  local deps = {}
  for _ = 1, math.min(i - 1, 3) do deps[#deps + 1] = ("n%05d"):format(rand(i - 1) + 1) end
  graph[("n%05d"):format(i)] = deps
end
row("DAG order of 10 000 nodes (~30 000 edges)", median(function() assert(dag.order(graph)) end, 21), "≤ 10 ms")

local pack = require("deloc.pack")
local items, bins = {}, {}
for i = 1, 1000 do
  items[i] = { name = ("item%04d"):format(i), memory = (rand(2048) + 64) * 1048576, cpu = (rand(2000) + 50) / 1000 }
end
for i = 1, 50 do
  bins[i] = { name = ("node%02d"):format(i), memory = 32 * 1073741824, cpu = 16 }
end
row("packing 1 000 items into 50 bins", median(function() assert(pack.pack(items, bins)) end, 21), "≤ 10 ms")
