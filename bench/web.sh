#!/usr/bin/env bash
# `wms web` beside nginx serving the same built frontend, same machine, same run (wrk,
# 64 connections). Rows: `/`, a client route (SPA fallback), the largest JS bundle without
# and with compression (nginx: gzip_static; ours: br/gz variants), and the web server's own
# health endpoint (nginx: `return 200`).
# Each row runs ROUNDS (3) pairs of SECS (5) s loads, the two servers alternating and the
# order swapped every pair (on a 2-core machine shared with the load generator, a single
# 10 s run of each swings by 10-20%); it prints the medians and the median of the pairs'
# ratios. Beside throughput, each server's own CPU time per request (user + system, from
# /proc for the server's processes over the same loads): what the request costs the
# server, whatever share of the cores wrk takes.
# Target (issue 6, 18): >= 1.0x nginx on every row.
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx
build_wms
DIST="$ROOT/frontend/dist"
[ -f "$DIST/index.html" ] || (cd "$ROOT/frontend" && npm ci --no-audit --no-fund -s && npm run -s build)

W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
SECS=${SECS:-5}; ROUNDS=${ROUNDS:-3}
WP=$(free_port); NP=$(free_port)
"$WMS" web --root "$DIST" --listen "127.0.0.1:$WP" --api http://127.0.0.1:9 >/dev/null 2>&1 &
WPID=$!
start_nginx "$W/nginx" "$NP" "  include /etc/nginx/mime.types;
  sendfile on;
  tcp_nopush on;
  gzip_static on;
  server {
    listen 127.0.0.1:$NP;
    root $DIST;
    location = /health { return 200 \"ok\\n\"; }
    location /assets/ { add_header Cache-Control \"public, max-age=31536000, immutable\"; try_files \$uri =404; }
    location / { try_files \$uri /index.html; }
  }" /
wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$WP/health"
NPIDS=$(pgrep -f "nginx: worker process" -P "$(cat "$W/nginx/nginx.pid")" | tr '\n' ' ')
[ -n "$NPIDS" ] || { echo "bench: no nginx worker found" >&2; exit 1; }

# Clock ticks (user + system) of the given processes so far.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)

bundle=$(cd "$DIST" && ls -S assets/*.js | head -1)
echo "## wms web beside nginx ($(machine))"
echo
echo "Same built frontend; the largest JS bundle is /$bundle ($(stat -c %s "$DIST/$bundle") bytes)."
echo
echo "Each row: $ROUNDS pairs of $SECS s loads, the servers alternating; medians, and the median of the"
echo "pairs' throughput ratios. CPU: the server's own processes' user + system time per request."
echo
echo "| request | wms web req/s | p99 ms | CPU µs/req | nginx req/s | p99 ms | CPU µs/req | ratio |"
echo "|---|---|---|---|---|---|---|---|"
row() {   # LABEL PATH [wrk args...]
  local label=$1 path=$2; shift 2
  local r out; out=$(mktemp)
  for r in $(seq "$ROUNDS"); do
    local order="wms nginx"; [ $((r % 2)) = 0 ] && order="nginx wms"
    local who
    for who in $order; do
      local port=$WP pids=$WPID
      [ "$who" = nginx ] && { port=$NP; pids=$NPIDS; }
      # shellcheck disable=SC2086
      local t0; t0=$(ticks $pids)
      local rps p99 err
      read -r rps p99 err < <(WRK_LABEL="$who $label" wrk_run "http://127.0.0.1:$port$path" 64 "$SECS" "$@")
      # shellcheck disable=SC2086
      local t1; t1=$(ticks $pids)
      echo "$who $r $rps $p99 $err $((t1 - t0))" >> "$out"
    done
  done
  python3 - "$out" "$label" "$SECS" "$HZ" <<'PY'
import statistics as st, sys
path, label, secs, hz = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
runs = {"wms": {}, "nginx": {}}
errs = 0
for line in open(path):
    who, r, rps, p99, err, ticks = line.split()
    runs[who][r] = (float(rps), float(p99), float(ticks))
    errs += int(err)
def med(who, i): return st.median(v[i] for v in runs[who].values())
def cpu_us(who):   # CPU time per request, microseconds, over all rounds
    t = sum(v[2] for v in runs[who].values()) / hz
    n = sum(v[0] * secs for v in runs[who].values())
    return 1e6 * t / n
ratio = st.median(runs["wms"][r][0] / runs["nginx"][r][0] for r in runs["wms"])
if errs:
    print(f"(non-2xx answers in {label}: {errs})")
print(f"| {label} | {med('wms', 0):.0f} | {med('wms', 1):.2f} | {cpu_us('wms'):.2f} | "
      f"{med('nginx', 0):.0f} | {med('nginx', 1):.2f} | {cpu_us('nginx'):.2f} | {ratio:.3f} |")
PY
  rm -f "$out"
}
row "/ (index.html)" "/"
row "/movements (client route)" "/movements"
row "main JS bundle, identity" "/$bundle"
row "main JS bundle, gzip" "/$bundle" -H "Accept-Encoding: gzip"
row "/health (no upstream: ok)" "/health"
