#!/usr/bin/env bash
# Model benchmarks for bench/run: `deloc plan --json` of 50 services with
# dependencies and `deloc generate helm` of the 12 built-ins (whole process,
# medians, alternating with `deloc version`), the planner alone in process,
# and loading every built-in recipe.
# Prints `what|result|target|baseline` rows.
set -euo pipefail
cd "$(dirname "$0")/.."
deloc=$PWD/deloc
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/recipes"
{
  echo "project: bench"
  echo "profile: development"
  echo "services:"
} > "$dir/deloc.yaml"
for i in $(seq -w 1 50); do
  deps=""
  n=$((10#$i))
  [ "$n" -gt 1 ] && deps="\"s$(printf %02d $(( (n - 1) )))\""
  [ "$n" -gt 5 ] && deps="$deps, \"s$(printf %02d $(( n / 3 )))\""
  cat > "$dir/recipes/s$i.lua" <<R
return recipe "s$i" {
  description = "bench service $i",
  category = "database",
  image = "example/s$i:1.0.$i",
  depends_on = { $deps },
  ports = { http = $((20000 + n)) },
  volumes = { data = { path = "/data", data = true, size = "64Mi" } },
  env = function(s) return { HEAP = tostring(s.heap_mb or 0), NAME = "s$i" } end,
  health = { tcp = "http", interval = "5s", retries = 5 },
  resources = {
    minimal = { memory = "16Mi", cpu = 0.01 },
    development = { memory = "32Mi", cpu = 0.01 },
    production = { memory = "64Mi", cpu = 0.02 },
    min = { memory = "8Mi", cpu = 0.005 },
  },
  jvm = { heap_ratio = 0.5 },
}
R
  echo "  s$i: {}" >> "$dir/deloc.yaml"
done
echo "recipes: [ ./recipes ]" >> "$dir/deloc.yaml"
(cd "$dir" && "$deloc" plan --json > "$dir/plan.json") || { echo "plan of 50 services failed" >&2; exit 1; }
# The 12 built-ins as a chart (every profile's values), into a fresh directory
# each run (the -o directory of the previous run is replaced).
mkdir -p "$dir/helm"
{
  echo "project: bench"
  echo "services:"
  for r in recipes/*.lua; do r=${r##*/}; echo "  ${r%.lua}: {}"; done
} > "$dir/helm/deloc.yaml"
"$deloc" generate helm -f "$dir/helm/deloc.yaml" -o "$dir/helm/chart" >/dev/null ||
  { echo "generate helm of the built-ins failed" >&2; exit 1; }
# Rounds alternate the commands, so a change of load on the shared machine
# hits them alike; medians over the pooled runs.
for k in 1 2 3 4 5; do
  hyperfine -N -w 2 -r 12 --export-json "$dir/h.$k.json" "$deloc version" \
    "$deloc plan --json -f $dir/deloc.yaml" \
    "$deloc generate helm --force -f $dir/helm/deloc.yaml -o $dir/helm/chart" >/dev/null 2>&1
done
med() {
  "$deloc" -e "
    local t = {}
    for k = 1, 5 do
      local r = deloc.json.decode(io.open('$dir/h.' .. k .. '.json'):read('*a')).results[$1]
      for _, x in ipairs(r.times) do t[#t + 1] = x end
    end
    table.sort(t)
    io.write(('%.2f'):format((#t % 2 == 1 and t[(#t + 1) / 2] or (t[#t / 2] + t[#t / 2 + 1]) / 2) * 1000))"
}
cpu() { # mean user + system time of command I, ms
  "$deloc" -e "
    local s, n = 0, 0
    for k = 1, 5 do
      local r = deloc.json.decode(io.open('$dir/h.' .. k .. '.json'):read('*a')).results[$1]
      s, n = s + r.user + r.system, n + 1
    end
    io.write(('%.1f'):format(s / n * 1000))"
}
ver=$(med 1)
echo "\`deloc plan --json\`, 50 services with dependencies (whole process, median of 60)|$(med 2) ms (CPU $(cpu 2) ms)|≤ 10 ms|\`deloc version\` $ver ms (CPU $(cpu 1) ms)"
echo "\`deloc generate helm\` of the 12 built-ins, every profile's values (whole process, median of 60)|$(med 3) ms (CPU $(cpu 3) ms)|≤ 20 ms|\`deloc version\` $ver ms (CPU $(cpu 1) ms)"
# The planner alone, in process: 50 user recipes already loaded (this was
# an assertion in spec/planner_spec.lua; timing belongs here).
"$deloc" -e "
  local api = deloc.api or require('deloc.api')
  local project = assert(require('deloc.project').find({ file = '$dir/deloc.yaml' }))
  local reg = assert(require('deloc.registry').new({ project = project }))
  local opts = { project = project, registry = reg, listening = {},
                 capacity = { cpu = 8, memory = 8 * 2^30, disk = 2^40, source = {} } }
  assert(require('deloc.planner').plan(opts))
  local t = {}
  for i = 1, 31 do
    local t0 = os.clock()
    assert(require('deloc.planner').plan(opts))
    t[i] = os.clock() - t0
  end
  table.sort(t)
  io.write(('planner.plan of 50 services, recipes loaded (in process, CPU, median of 31)|%.2f ms|≤ 20 ms|\\n'):format(t[16] * 1000))"
# Loading every built-in recipe, timed inside fresh processes.
for _ in $(seq 1 21); do
  "$deloc" -e 'local sys = deloc.sys; local t = sys.now(); local list = deloc.recipes(); io.write(("%.3f %d\n"):format((sys.now() - t) * 1000, #list))'
done | sort -n | awk '{a[NR]=$1; n=$2} END {printf "loading every built-in recipe (%d)|%.2f ms|≤ 5 ms|\n", n, a[int((NR+1)/2)]}'
# What isolating untrusted recipes costs (deloc.isolate: fork, limits,
# seccomp, plan back as JSON): the same 50-recipe plan made in a child and
# in-process, timed inside one process each, medians of 21.
for _ in $(seq 1 21); do
  (cd "$dir" && "$deloc" -e '
    local sys, isolate = deloc.sys, require("deloc.isolate")
    local function t(f) local t0 = sys.now(); assert(f()); return (sys.now() - t0) * 1000 end
    deloc.plan({ capacity = deloc.resources() }) -- warm: modules loaded, files cached
    local a = t(function() return deloc.plan() end)
    isolate.inside = true
    local b = t(function() return deloc.plan() end)
    io.write(("%.3f %.3f\n"):format(a, b))')
done > "$dir/iso.txt"
a=$(cut -d' ' -f1 "$dir/iso.txt" | sort -n | sed -n 11p)
b=$(cut -d' ' -f2 "$dir/iso.txt" | sort -n | sed -n 11p)
echo "isolating untrusted recipes: the 50-recipe plan made in a child|$a ms|overhead ≤ 10 ms|in-process $b ms (+$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a-b}') ms)"
# did-you-mean on a hostile megabyte name (bounded: names over 64 bytes get no suggestion)
"$deloc" -e '
  local s, t = require("deloc.suggest"), deloc.sys.now()
  local names = {} for i = 1, 200 do names[i] = ("service-%03d"):format(i) end
  s.closest(("x"):rep(1024 * 1024), names); s.closest("servcie-042", names)
  io.write(("did you mean: a 1 MiB name and a typo against 200 names|%.2f ms|≤ 5 ms|\n"):format((deloc.sys.now() - t) * 1000))'
