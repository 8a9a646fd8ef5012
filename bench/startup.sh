#!/usr/bin/env bash
# The stack's startup timeline (issue 9): `wms supervise` on config.toml (release build) in a
# temp dir, cold (first boot: initdb, migrations, seeding) and warm (second boot on the same
# data after a clean stop). When each service was started and became ready, from the
# supervisor's own log, and the time from launch to /health 200 measured from outside.
# Prints markdown; writes bench/startup.png when matplotlib can be imported (pip-installed
# here if missing: `python3 -m pip install matplotlib`). Then crash to healthy: each service
# of a warm stack SIGKILLed after a stable run, time until /health is 200 again
# (bench/crash_to_healthy.py).
#
#   bench/startup.sh            # RUNS=3 warm boots for the launch-to-healthy median
#   CRASH_ROUNDS=5 bench/startup.sh
source "$(dirname "$0")/lib.sh"
need curl curl
need unshare util-linux
build_wms
RUNS=${RUNS:-3}

python3 -c 'import matplotlib' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check matplotlib >/dev/null 2>&1 \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages matplotlib >/dev/null 2>&1 \
  || true

W=$(mktemp -d); chmod 755 "$W"
trap 'stop_stack; rm -rf "$W"' EXIT

stack_env "$W"

# Boots the stack, logging to $1; sets $took to the seconds from launch to /health 200.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {print b - a}'; }
boot() {
  local log=$1 t0
  t0=$(now)
  unshare --pid --fork --mount-proc --kill-child "$WMS" supervise --config "$ROOT/config.toml" > "$log" 2>&1 &
  stack=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$WMS_HEALTH_LISTEN/health")" = 200 ]; do
    kill -0 "$stack" 2>/dev/null || { echo "bench: the stack died; log:" >&2; tail -30 "$log" >&2; exit 1; }
    awk -v e="$(elapsed "$t0")" 'BEGIN {exit !(e > 120)}' && { echo "bench: not healthy in 120 s" >&2; tail -30 "$log" >&2; exit 1; }
    sleep 0.005
  done
  took=$(elapsed "$t0")
}

boot "$W/cold.log"; cold=$took; stop_stack
warm=()
for i in $(seq "$RUNS"); do boot "$W/warm-$i.log"; warm+=("$took"); stop_stack; done
median=$(printf '%s\n' "${warm[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
ms() { awk -v s="$1" 'BEGIN {printf "%.0f", s * 1000}'; }

echo "## Startup timeline ($(machine))"
echo
echo "Launch of \`wms supervise\` (as PID 1 via unshare) to /health 200, measured from outside by"
echo "polling every 5 ms: cold (first boot, initdb) $(ms "$cold") ms; warm $(ms "$median") ms (median"
echo "of $RUNS: $(for t in "${warm[@]}"; do printf '%s ' "$(ms "$t")"; done)ms)."
echo
python3 "$BENCH_DIR/plot_startup.py" --png "$BENCH_DIR/startup.png" \
  "cold boot (first boot: initdb, migrations, seed)=$W/cold.log" \
  "warm boot (same data, after a clean stop)=$W/warm-1.log"

# ---- the critical-path floor: the same steps by hand, no supervisor -------------------------
pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
floors=()
for i in $(seq "$RUNS"); do
  floors+=("$(python3 "$BENCH_DIR/floor.py" "$pg_bin" "$WMS" "$PGDATA" "$PG_SOCKET_DIR" "$PGPORT" \
    "$WMS_BACKEND_PORT" "$WMS_WEB_PORT" "$WMS_WEB_ROOT")")
done
# Median run by total.
read -r f_init f_pg f_mig f_be f_web f_total < <(printf '%s\n' "${floors[@]}" \
  | awk '{print $0, $1 + $2 + $3 + $4 + $5}' | sort -n -k6 | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
warm_ms=$(ms "$median")
echo
echo "### The supervisor's overhead"
echo
echo "The same steps on the same warm data, started by hand one after the other the moment the"
echo "previous one was ready (\`bench/floor.py\`, median of $RUNS by total): pg-init $f_init ms,"
echo "postgres to accepting connections $f_pg ms, migrate $f_mig ms, backend to /health $f_be ms,"
echo "web to /health/live $f_web ms."
echo
echo "| | ms |"
echo "|---|---|"
echo "| critical-path floor (sum) | $f_total |"
echo "| \`wms supervise\` to aggregate /health 200 (warm median) | $warm_ms |"
echo "| supervisor's overhead | $(awk -v a="$warm_ms" -v b="$f_total" 'BEGIN {printf "%.0f", a - b}') |"
echo "| ratio supervised / floor | $(ratio "$warm_ms" "$f_total") |"

# ---- crash to healthy: SIGKILL each service of a warm stack --------------------------------
CRASH_ROUNDS=${CRASH_ROUNDS:-3}
boot "$W/crash.log"
sup=$(pgrep -P "$stack" | head -1)
echo
echo "### Crash to healthy"
echo
echo "Each service SIGKILLed after a stable run (> 10 s up), $CRASH_ROUNDS rounds; time from the kill to"
echo "/health 200 with the service restarted, polled every 2 ms."
echo
python3 "$BENCH_DIR/crash_to_healthy.py" "http://$WMS_HEALTH_LISTEN/health" "$sup" "$CRASH_ROUNDS" postgres backend web

