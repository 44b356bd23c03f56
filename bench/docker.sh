#!/usr/bin/env bash
# Docker benchmarks for bench/run: deloc against the curl command line, the
# docker CLI and docker-compose on the same stacks of N services (default 50),
# in the same run.
# Prints `what|result|target|baseline` rows on stdout; progress on stderr.
#
# Stacks (busybox test image, user recipes written here):
#   chain  N services in three levels: N/5 roots, 2N/5 on a root, 2N/5 on those
#   indep  N services, no dependencies
# Each service runs `sh` that traps TERM (stops within ~1 s) with the exec
# health check `test -f /tmp/ready` (timeout 5s: 50 containers checking every
# second on a loaded 2-core machine time out at 2s).  The compose baseline is
# `deloc generate compose` of the same stack with the health-check interval
# set to 1s (deloc writes its 5s floor; Docker 20.10 runs the first check one
# interval after start, so 5s would penalise compose).  deloc's `up --wait`
# counts a service healthy when its own probe (the same command via exec)
# passes; compose's time is `up -d` plus polling the engine until all N
# report healthy.  BENCH_DOCKER_N (default 50): services a stack.
#
# Everything created uses project names bench-<pid>-* and is removed at the
# end, also on failure or interrupt.  Skips (no rows) without Docker or
# docker-compose.  Runtime about 10 minutes on 2 cores with 50 services.
#
# BENCH_DOCKER_REPS (default 5): repetitions of each heavy up/down run.
set -euo pipefail
cd "$(dirname "$0")/.."
deloc=$PWD/deloc
reps=${BENCH_DOCKER_REPS:-5}
N=${BENCH_DOCKER_N:-50}
R=$((N / 5))
sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) sock=${DOCKER_HOST#unix://} ;; "") ;; *) sock= ;; esac

say() { echo "bench/docker.sh: $*" >&2; }
skip() { say "skipped: $*"; exit 0; }
[ -x "$deloc" ] || skip "no ./deloc (run make first)"
command -v docker >/dev/null || skip "no docker CLI"
command -v docker-compose >/dev/null || skip "no docker-compose"
command -v curl >/dev/null || skip "no curl"
command -v hyperfine >/dev/null || skip "no hyperfine"
[ -x /usr/bin/time ] || skip "no /usr/bin/time"
[ -n "$sock" ] && [ -S "$sock" ] || skip "no Docker unix socket (DOCKER_HOST=${DOCKER_HOST:-})"
docker info >/dev/null 2>&1 || skip "Docker engine not reachable"
image=$(spec/images/build busybox 2>/dev/null | awk '{print $2}')
[ -n "$image" ] || skip "cannot build the busybox test image (spec/images/build busybox)"

dir=$(mktemp -d)
# A copy, so that a rebuild of ./deloc during the run does not disturb it.
cp "$deloc" "$dir/deloc"
deloc=$dir/deloc
pfx=bench-$$
projects=("$pfx-chain" "$pfx-indep" "$pfx-chainc" "$pfx-indepc")

cleanup() {
  local p ids
  set +e
  for st in chain indep; do
    [ -f "$dir/$st/deloc.yaml" ] &&
      (cd "$dir/$st" && "$deloc" down --volumes --timeout 1s >/dev/null 2>&1)
    [ -f "$dir/$st/compose.yaml" ] &&
      docker-compose -p "$pfx-${st}c" -f "$dir/$st/compose.yaml" down -v -t 1 >/dev/null 2>&1
  done
  for p in "${projects[@]}"; do
    for l in "dev.deloc.project=$p" "com.docker.compose.project=$p"; do
      ids=$(docker ps -aq --filter "label=$l")
      [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
      ids=$(docker network ls -q --filter "label=$l")
      [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
      ids=$(docker volume ls -q --filter "label=$l")
      [ -n "$ids" ] && docker volume rm -f $ids >/dev/null 2>&1
    done
  done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the stacks ----
# write_stack NAME PROJECT DEPS(yes|no)
write_stack() {
  local d=$dir/$1 i n deps
  mkdir -p "$d/recipes"
  for i in $(seq -w 1 "$N"); do
    n=$((10#$i)) deps=""
    if [ "$3" = yes ]; then
      if [ "$n" -gt $((3 * R)) ]; then deps="\"s$(printf %02d $((n - 2 * R)))\""
      elif [ "$n" -gt "$R" ]; then deps="\"s$(printf %02d $(((n - R - 1) % R + 1)))\""; fi
    fi
    cat > "$d/recipes/s$i.lua" <<R
return recipe "s$i" {
  description = "bench busybox $i", category = "other",
  image = "$image",
  depends_on = { $deps },
  command = { "sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; while :; do sleep 1; done" },
  health = { exec = { "test", "-f", "/tmp/ready" }, interval = "1s", timeout = "5s", retries = 3 },
  resources = {
    minimal = { memory = "16Mi", cpu = 0.05 }, development = { memory = "16Mi", cpu = 0.05 },
    production = { memory = "16Mi", cpu = 0.05 }, min = { memory = "8Mi", cpu = 0.01 },
  },
}
R
  done
  for f in deloc.yaml compose-src.yaml; do
    local p=$2
    [ "$f" = compose-src.yaml ] && p=${2}c
    {
      echo "project: $p"
      echo "recipes: [ ./recipes ]"
      echo "services:"
      for i in $(seq -w 1 "$N"); do echo "  s$i: {}"; done
    } > "$d/$f"
  done
  # The compose file: generated from its own project name (the network and
  # labels it carries must not be the deloc run's), health interval 1s.
  (cd "$d" && "$deloc" generate compose -f compose-src.yaml -o compose.yaml >/dev/null) ||
    { say "deloc generate compose failed"; exit 1; }
  sed -i 's/^\(      interval: \)"[0-9.]*s"$/\1"1s"/' "$d/compose.yaml"
  [ "$(grep -c '^      interval: "1s"$' "$d/compose.yaml")" = "$N" ] ||
    { say "compose file: expected $N health checks with interval 1s"; exit 1; }
}
write_stack chain "$pfx-chain" yes
write_stack indep "$pfx-indep" no

t_now() { echo "${EPOCHREALTIME/,/.}"; }
ms_since() { awk -v a="$1" -v b="$(t_now)" 'BEGIN{printf "%.0f", (b - a) * 1000}'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { sort -n | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
secs() { awk -v a="$1" 'BEGIN{printf "%.2f s", a/1000}'; }
# hpool NAME ROUNDS RUNS CMD...: hyperfine -N in ROUNDS rounds of RUNS runs of
# every command, so the commands alternate and a change of load on the shared
# machine hits them alike; times are pooled.
hpool() {
  local name=$1 rounds=$2 runs=$3 k
  shift 3
  for k in $(seq 1 "$rounds"); do
    hyperfine -N -w 1 -r "$runs" --export-json "$dir/$name.$k.json" "$@" >/dev/null 2>&1 ||
      { say "hyperfine failed: $*"; exit 1; }
  done
}
# hmed NAME I -> "median_ms cpu_ms" of command I (1-based) over the pooled
# runs; cpu is the mean user+system time.
hmed() {
  "$deloc" -e "
    local t, cpu, n = {}, 0, 0
    for k = 1, 1000 do
      local f = io.open('$dir/$1.' .. k .. '.json'); if not f then break end
      local r = deloc.json.decode(f:read('*a')).results[$2]; f:close()
      for _, x in ipairs(r.times) do t[#t + 1] = x end
      cpu, n = cpu + (r.user + r.system), n + 1
    end
    table.sort(t)
    local m = #t % 2 == 1 and t[(#t + 1) / 2] or (t[#t / 2] + t[#t / 2 + 1]) / 2
    io.write(('%.1f %.1f\n'):format(m * 1000, cpu / n * 1000))"
}

# count_healthy PROJECT: containers of the compose project the engine calls healthy.
count_healthy() {
  curl -sS --unix-socket "$sock" -G "http://localhost/containers/json" \
    --data-urlencode "filters={\"label\":[\"com.docker.compose.project=$1\"],\"health\":[\"healthy\"]}" |
    grep -o '"Id"' | wc -l
}

# deloc_up STACK -> "ms rss_kb"; fails if up fails.
deloc_up() {
  local t0 ms
  t0=$(t_now)
  (cd "$dir/$1" && /usr/bin/time -f %M -o "$dir/rss" "$deloc" up --wait --timeout 10m >"$dir/up.log" 2>&1) ||
    { say "deloc up ($1) failed:"; cat "$dir/up.log" >&2; exit 1; }
  ms=$(ms_since "$t0")
  say "deloc up ($1): $ms ms"
  echo "$ms $(tail -n 1 "$dir/rss")"
}
deloc_down() {
  local t0
  t0=$(t_now)
  (cd "$dir/$1" && "$deloc" down --volumes >"$dir/down.log" 2>&1) ||
    { say "deloc down ($1) failed:"; cat "$dir/down.log" >&2; exit 1; }
  ms_since "$t0"
}
compose_up() { # STACK -> ms until all N healthy
  local t0 p=$pfx-${1}c
  t0=$(t_now)
  docker-compose -p "$p" -f "$dir/$1/compose.yaml" up -d >"$dir/cup.log" 2>&1 ||
    { say "docker-compose up ($1) failed:"; cat "$dir/cup.log" >&2; exit 1; }
  while [ "$(count_healthy "$p")" -lt "$N" ]; do
    sleep 0.05
    if [ "$(ms_since "$t0")" -gt 600000 ]; then say "compose stack $1 not healthy in 10 min"; exit 1; fi
  done
  say "compose up ($1): $(ms_since "$t0") ms"
  ms_since "$t0"
}
compose_down() {
  local t0
  t0=$(t_now)
  docker-compose -p "$pfx-${1}c" -f "$dir/$1/compose.yaml" down -v -t 5 >"$dir/cdown.log" 2>&1 ||
    { say "docker-compose down ($1) failed:"; cat "$dir/cdown.log" >&2; exit 1; }
  ms_since "$t0"
}

load0=$(cut -d' ' -f1 /proc/loadavg)

# ---- up / down, alternating deloc and compose ----
declare -A res
for st in chain indep; do
  for r in $(seq 1 "$reps"); do
    say "$st: run $r of $reps"
    out=$(deloc_up "$st")
    res[$st.dup]+="${out% *} "
    res[rss]+="${out#* } "
    if [ "$st" = chain ] && [ "$r" = 1 ]; then
      # No-op second up and status, each tool with its own stack alone up:
      # compose's 50 health checks a second would load the engine under
      # deloc's figures (and deloc's under compose's)
      say "status and no-op up"
      f=$dir/chain/deloc.yaml cf=$dir/chain/compose.yaml
      filters="{\"label\":[\"dev.deloc.project=$pfx-chain\"]}"
      enc=filters=$("$deloc" -e "io.write((('$filters'):gsub('[^%w%-%._~]', function(c) return ('%%%02X'):format(c:byte()) end)))")
      [ "$(curl -sS --unix-socket "$sock" "http://localhost/containers/json?all=1&$enc" | grep -o '"Id"' | wc -l)" = "$N" ] ||
        { say "curl over $sock does not see $N containers"; exit 1; }
      [ "$("$deloc" status -f "$f" | grep -c healthy)" = "$N" ] ||
        { say "deloc status does not show $N healthy services"; exit 1; }
      status_rss=$(/usr/bin/time -f %M "$deloc" status -f "$f" 2>&1 >/dev/null | tail -n 1)
      hpool status 8 5 \
        "$deloc status -f $f" \
        "curl -sS --unix-socket $sock -o /dev/null http://localhost/containers/json?all=1&$enc" \
        "docker ps -a --filter label=dev.deloc.project=$pfx-chain"
      [ "$("$deloc" up --wait -f "$f" 2>&1 | grep -c ': unchanged')" = "$N" ] ||
        { say "second up is not a no-op"; exit 1; }
      hpool noop 4 5 "$deloc up --wait -f $f"
      res[$st.ddown]+="$(deloc_down "$st") "
      res[$st.cup]+="$(compose_up chain) "
      hpool cps 1 5 "docker-compose -p $pfx-chainc -f $cf ps"
      hpool cnoop 1 3 "docker-compose -p $pfx-chainc -f $cf up -d"
      res[$st.cdown]+="$(compose_down "$st") "
      continue
    fi
    res[$st.ddown]+="$(deloc_down "$st") "
    res[$st.cup]+="$(compose_up "$st") "
    res[$st.cdown]+="$(compose_down "$st") "
  done
done

load1=$(cut -d' ' -f1 /proc/loadavg)
m() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }

read -r st_d st_dcpu < <(hmed status 1)
read -r st_c st_ccpu < <(hmed status 2)
read -r st_p st_pcpu < <(hmed status 3)
read -r st_cp _ < <(hmed cps 1)
echo "\`deloc status\`, $N services (median of 40, alternating) vs curl|$st_d ms ($(ratio "$st_d" "$st_c")× curl; CPU $st_dcpu ms, $(ratio "$st_dcpu" "$st_ccpu")×)|≤ 2× curl|curl \`GET /containers/json\` (label filter, unix socket) $st_c ms (CPU $st_ccpu ms)"
echo "\`deloc status\` vs \`docker ps --filter label=...\`|$st_d ms ($(ratio "$st_d" "$st_p")×)|faster (< 1×)|\`docker ps -a --filter label=...\` $st_p ms (CPU $st_pcpu ms)"
echo "\`deloc status\` vs \`docker-compose ps\` (median of 5)|$(ratio "$st_cp" "$st_d")× faster|≥ 20× faster|\`docker-compose ps\` $st_cp ms"

for st in chain indep; do
  d=$(m $st.dup) c=$(m $st.cup)
  if [ $st = chain ]; then
    what="\`deloc up\` $N services, 3-level dependency chain, until all healthy by deloc's exec probe (median of $reps)"
    tgt="≤ 0.6× compose"
  else
    # issue 9 asks ≤ 0.6× of any stack; with no dependencies both tools are
    # bound by the engine's container starts (~6 a second on 2 cores), and
    # compose only adds its first health interval, so this one is missed
    what="\`deloc up\` $N independent services, until all healthy (median of $reps)"
    tgt="≤ 0.6× compose"
  fi
  echo "$what|$(secs "$d") ($(ratio "$d" "$c")× compose)|$tgt|\`docker-compose up -d\` + wait for healthy (health interval 1s) $(secs "$c")"
done
read -r n_d n_dcpu < <(hmed noop 1)
read -r n_c _ < <(hmed cnoop 1)
echo "no-op second \`deloc up\`, $N services (median of 20)|$n_d ms (CPU $n_dcpu ms)|≤ 60 ms|no-op \`docker-compose up -d\` $n_c ms (median of 3)"
rss_max=$(tr ' ' '\n' <<<"${res[rss]}" | grep . | maxof)
rss_med=$(tr ' ' '\n' <<<"${res[rss]}" | grep . | median)
echo "deloc peak RSS during \`up\` of $N services (max of $((2 * reps)) runs)|$rss_max KiB (median $rss_med KiB)|≤ 15 MiB (15360 KiB)|\`deloc status\` $status_rss KiB (libcurl loaded, nothing planned)"
for st in chain indep; do
  d=$(m $st.ddown) c=$(m $st.cdown)
  echo "\`deloc down --volumes\`, $N services ($st, stop timeout 5s, median of $reps)|$(secs "$d") ($(ratio "$d" "$c")× compose)|parallel, short stop timeout|\`docker-compose down -v -t 5\` $(secs "$c")"
done
echo "load average (1 min) at start / end of the Docker benchmarks|$load0 / $load1|context: $(nproc) cores, shared|"
