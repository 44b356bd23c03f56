#!/usr/bin/env bash
# `deloc smoke` on a warm postgres + redis stack (the stand-in test images):
# the median of repeated runs against the target (≤ 1 s), with the same two
# smokes run one after the other by `docker exec` as the baseline.
# Prints `what|result|target|baseline` rows on stdout; progress on stderr.
# Everything it creates is project bench-smoke-<pid> and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "bench/smoke.sh: $*" >&2; }
skip() { say "skipped: $*"; exit 0; }
[ -x ./deloc ] || skip "no ./deloc (run make first)"
command -v hyperfine >/dev/null || skip "no hyperfine"
docker info >/dev/null 2>&1 || skip "Docker engine not reachable"
images=$(spec/images/build postgres redis 2>/dev/null) || skip "cannot build the test images"
pg=$(awk '$1 == "postgres" {print $2}' <<<"$images")
rd=$(awk '$1 == "redis" {print $2}' <<<"$images")

dir=$(mktemp -d)
project=bench-smoke-$$
cp ./deloc "$dir/deloc"
printf 'project: %s\nservices:\n  postgres: {}\n  redis: {}\n' "$project" >"$dir/deloc.yaml"
export DELOC_IMAGES="postgres=$pg,redis=$rd"
cleanup() {
  set +e
  (cd "$dir" && ./deloc down --volumes --timeout 1s >/dev/null 2>&1)
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

(cd "$dir" && ./deloc up --wait --timeout 120s >/dev/null 2>&1) || skip "the stack did not come up"
(cd "$dir" && ./deloc smoke >/dev/null 2>&1) || skip "the smokes do not pass"
ctr() { docker ps -q --filter "label=dev.deloc.project=$project" --filter "label=dev.deloc.service=$1"; }
pgc=$(ctr postgres) rdc=$(ctr redis)
pgsmoke='PGPASSWORD="$(cat /run/secrets/postgres.password)" exec psql -h 127.0.0.1 -U deloc -d deloc -tAc "select 1"'
rdsmoke='REDISCLI_AUTH="$(cat /run/secrets/redis.password)"; export REDISCLI_AUTH; redis-cli -h 127.0.0.1 SET deloc:smoke ok EX 60 >/dev/null && redis-cli -h 127.0.0.1 GET deloc:smoke'
say "timing deloc smoke (warm stack)"
# from the project directory, as a user runs it
(cd "$dir" && hyperfine -N -w 2 -r 15 --export-json "$dir/smoke.json" "./deloc smoke" \
  "bash -c 'docker exec $pgc sh -c '\''$pgsmoke'\'' && docker exec $rdc sh -c '\''$rdsmoke'\'''" >/dev/null 2>&1) ||
  skip "hyperfine failed"
med() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print(round(r['median']*1000))" "$dir/smoke.json" "$1"; }
echo "\`deloc smoke\` postgres+redis, warm stack, median|$(med 0) ms|≤ 1000 ms|two \`docker exec\` one after the other: $(med 1) ms"
