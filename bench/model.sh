#!/usr/bin/env bash
# Model benchmarks for bench/run: `deloc plan --json` of 50 services with
# dependencies (whole process, median), and loading every built-in recipe.
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
hyperfine -N -w 5 -r 50 --export-json "$dir/h.json" "$deloc version" \
  "sh -c 'cd $dir && exec $deloc plan --json'" >/dev/null 2>&1
med() { "$deloc" -e "local j=deloc.json.decode(io.open('$dir/h.json'):read('*a')); io.write(('%.2f'):format(j.results[$1].median*1000))"; }
echo "\`deloc plan --json\`, 50 services with dependencies (whole process)|$(med 2) ms|≤ 20 ms|\`deloc version\` $(med 1) ms"
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
