#!/usr/bin/env bash
# Memory as users pay for it (issue 18): PSS (each shared page divided among the processes
# that map it) and USS (private: what the process alone costs) of every process of the
# stack, and their sum, idle and under API load, from /proc/PID/smaps_rollup. RSS counts the
# binary's code pages once per process although the supervisor, backend and web share one
# binary (and PostgreSQL's processes share their buffers): PSS sums to the real total.
#
# The stack: `wms supervise` on config.toml (release build) as PID 1 via unshare, as in
# bench/startup.sh. Load: wrk on GET /api/products/ through the web server (16 connections).
# The reference system beside it (its FastAPI app under uvicorn, nginx, PostgreSQL with the
# same data) is measured when WMS_REFERENCE_DIR names a prepared checkout (bench/README.md
# says how to prepare one); without it, that part is skipped and says so.
#
#   bench/memory.sh          # SECS=10 of load
source "$(dirname "$0")/lib.sh"
need curl curl
need wrk wrk
need unshare util-linux
build_wms
SECS=${SECS:-10}

W=$(mktemp -d); chmod 755 "$W"
stack=""
stop_stack() {
  [ -n "$stack" ] || return 0
  pkill -TERM -P "$stack" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$stack" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  stack=""
}
trap 'stop_stack; rm -rf "$W"' EXIT

if [ -f "$ROOT/frontend/dist/index.html" ]; then root="$ROOT/frontend/dist"; else
  mkdir -p "$W/www"; echo '<!doctype html><title>wms</title>' > "$W/www/index.html"; root="$W/www"
fi
export PGDATA="$W/pgdata" PG_SOCKET_DIR="$W/run" PGPORT=$(free_port) WMS_RUN_DIR="$W/run" WMS_STATE_DIR="$W/state" WMS_BACKUP_DIR="$W/backup"
export WMS_HEALTH_LISTEN="127.0.0.1:$(free_port)" WMS_BACKEND_PORT=$(free_port) WMS_WEB_PORT=$(free_port)
export WMS_WEB_ROOT="$root" POSTGRES_PASSWORD="bench-$RANDOM$RANDOM"
export WMS_ADMIN_PASSWORD="bench-admin-$RANDOM$RANDOM"

unshare --pid --fork --mount-proc --kill-child "$WMS" supervise --config "$ROOT/config.toml" > "$W/stack.log" 2>&1 &
stack=$!
end=$((SECONDS + 120))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$WMS_HEALTH_LISTEN/health")" = 200 ]; do
  kill -0 "$stack" 2>/dev/null || { echo "bench: the stack died; log:" >&2; tail -30 "$W/stack.log" >&2; exit 1; }
  [ $SECONDS -lt $end ] || { echo "bench: not healthy in 120 s" >&2; tail -30 "$W/stack.log" >&2; exit 1; }
  sleep 0.05
done
web="http://127.0.0.1:$WMS_WEB_PORT"
# The supervisor: unshare's child (PID 1 of the new namespace).
sup=$(children_of "$stack" | awk '{print $1}')
[ -n "$sup" ] || { echo "bench: no supervisor under unshare" >&2; exit 1; }

# Every process of the stack: the supervisor and its descendants.
tree() {
  local p=$1
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
}
# "pid name pss_kib uss_kib" for every process of the stack; names are the services'.
sample() {
  for p in $(tree "$sup"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    local name
    name=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | awk '{
      if ($1 ~ /wms$/) { print ($2 == "" ? "wms" : "wms " $2); exit }
      if ($1 ~ /^postgres:/) { print $0; exit }
      n = split($1, a, "/"); b = a[n]
      print (b == "postgres" ? "postgres (postmaster)" : b) }')
    [ "$p" = "$sup" ] && name="wms supervise"
    awk -v p="$p" -v n="$name" '
      /^Pss:/ {pss = $2} /^Private_Clean:/ {u += $2} /^Private_Dirty:/ {u += $2}
      END {if (pss != "") printf "%s\t%s\t%d\t%d\n", p, n, pss, u}' "/proc/$p/smaps_rollup" 2>/dev/null || true
  done
}
# PostgreSQL's connection processes come and go: group by a stable name.
group() {   # reads samples, prints "name<TAB>count<TAB>pss<TAB>uss" summed by name
  awk -F'\t' '{n = $2; sub(/ [0-9.]+\(.*$/, "", n); sub(/ idle.*$| streaming .*$|  *$/, "", n)
               c[n]++; p[n] += $3; u[n] += $4}
              END {for (k in c) printf "%s\t%d\t%d\t%d\n", k, c[k], p[k], u[k]}' | sort
}

sleep 2
sample > "$W/idle.tsv"

token=$(curl -sf -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@wms.example.com\",\"password\":\"$WMS_ADMIN_PASSWORD\"}" \
  "$web/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
cat > "$W/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
wrk -t2 -c16 -d"${SECS}s" -s "$W/auth.lua" "$web/api/products/" > "$W/wrk.txt" 2>&1 &
wrk_pid=$!
# Under load: the sample with the largest total PSS (every 0.5 s).
best=0
: > "$W/load.tsv"
while kill -0 "$wrk_pid" 2>/dev/null; do
  sample > "$W/s.tsv"
  t=$(awk -F'\t' '{s += $3} END {print s + 0}' "$W/s.tsv")
  if [ "$t" -gt "$best" ]; then best=$t; cp "$W/s.tsv" "$W/load.tsv"; fi
  sleep 0.5
done
wait "$wrk_pid" || true
rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk.txt")

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo "## Memory as users pay for it: PSS and USS ($(machine))"
echo
echo "The stack of config.toml under \`wms supervise\`; from /proc/PID/smaps_rollup: PSS (shared pages"
echo "divided among the processes sharing them; sums to the real total) and USS (private pages)."
echo "Under load: GET /api/products/ through the web server, 16 connections, ${SECS} s (${rps:-?} req/s),"
echo "the sample with the largest total."
echo
echo "| process | idle PSS MiB | idle USS MiB | under load PSS MiB | under load USS MiB |"
echo "|---|---|---|---|---|"
join -t $'\t' -a 1 -a 2 -e 0 -o 0,1.3,1.4,2.3,2.4 <(group < "$W/idle.tsv") <(group < "$W/load.tsv") |
  while IFS=$'\t' read -r n ip iu lp lu; do
    echo "| $n | $(mib "$ip") | $(mib "$iu") | $(mib "$lp") | $(mib "$lu") |"
  done
tot() { awk -F'\t' -v c="$2" '{s += $c} END {print s + 0}' "$1"; }
echo "| **whole stack** | **$(mib "$(tot "$W/idle.tsv" 3)")** | **$(mib "$(tot "$W/idle.tsv" 4)")** | **$(mib "$(tot "$W/load.tsv" 3)")** | **$(mib "$(tot "$W/load.tsv" 4)")** |"
echo
sup_uss=$(awk -F'\t' -v s="$sup" '$1 == s {print $4}' "$W/idle.tsv")
echo "The supervisor's private memory (USS) idle: $(mib "${sup_uss:-0}") MiB (target <= 1 MiB)."
echo
if [ -z "${WMS_REFERENCE_DIR:-}" ]; then
  echo "The reference system (FastAPI under uvicorn, nginx, PostgreSQL with the same data): **not"
  echo "measured in this run** — it needs \`WMS_REFERENCE_DIR\` naming a prepared checkout of it"
  echo "(bench/README.md); so the ratio whole stack / reference (target <= 0.5) is not given here."
else
  echo "WMS_REFERENCE_DIR=$WMS_REFERENCE_DIR is set, but measuring the reference system is not"
  echo "implemented in this script yet: no ratio is given."
fi
