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
RUNS=${RUNS:-7}

python3 -c 'import matplotlib' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check matplotlib >/dev/null 2>&1 \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages matplotlib >/dev/null 2>&1 \
  || true

W=$(mktemp -d); chmod 755 "$W"
trap 'stop_stack; rm -rf "$W"' EXIT

stack_env "$W"

# Boots the stack, logging to $1; sets $took to the seconds from launch to /health 200
# (bench/boot.py: polled every millisecond from one process by bench/poll.py).
boot() {
  took=$(python3 "$BENCH_DIR/boot.py" "http://$WMS_HEALTH_LISTEN/health/ready" "$W/stack.pid" "$1" -- \
    unshare --pid --fork --mount-proc --kill-child "$WMS" supervise --config "$ROOT/config.toml") \
    || { tail -30 "$1" >&2; stack=$(cat "$W/stack.pid" 2>/dev/null); exit 1; }
  stack=$(cat "$W/stack.pid")
}

# A warm boot is a restart of a stack whose backups are done (the base backup runs once a
# day): the first boot's base backup and restore drill finish before the stack is stopped,
# or every warm boot would take that base backup again beside the services starting.
boot "$W/cold.log"; cold=$took
wait_until 180 settled || { echo "bench: the first-boot jobs did not finish in 180 s" >&2; exit 1; }
stop_stack
# Supervised warm boots and hand-run floors alternate, so that a slow spell of the machine
# falls on both alike; before each, what the last stop wrote (PostgreSQL's shutdown
# checkpoint) is flushed and the machine left alone for a second.
quiet() { sync; sleep 1; }
warm=()
floors=()
for i in $(seq "$RUNS"); do
  quiet; boot "$W/warm-$i.log"; warm+=("$took"); stop_stack
  quiet; floors+=("$(python3 "$BENCH_DIR/floor.py" "$WMS" "$PGDATA" "$PG_SOCKET_DIR" "$PGPORT" \
    "$WMS_BACKEND_PORT" "$WMS_WEB_PORT" "$WMS_WEB_ROOT")")
done
median=$(printf '%s\n' "${warm[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
# The timeline below is the median run's.
for i in $(seq "$RUNS"); do [ "${warm[$((i - 1))]}" = "$median" ] && { median_run=$i; break; }; done
ms() { awk -v s="$1" 'BEGIN {printf "%.0f", s * 1000}'; }

echo "## Startup timeline ($(machine))"
echo
echo "Launch of \`wms supervise\` (as PID 1 via unshare) to /health/ready 200, measured from outside by"
echo "polling it every millisecond from one process: cold (first boot, initdb) $(ms "$cold") ms; warm $(ms "$median") ms (median"
echo "of $RUNS: $(for t in "${warm[@]}"; do printf '%s ' "$(ms "$t")"; done)ms)."
echo
python3 "$BENCH_DIR/plot_startup.py" --png "$BENCH_DIR/startup.png" \
  "cold boot (first boot: initdb, migrations, seed)=$W/cold.log" \
  "warm boot (same data, after a clean stop; the median run)=$W/warm-$median_run.log"

# ---- the critical-path floor: the same steps by hand, no supervisor -------------------------
# (measured above, alternating with the supervised warm boots) Median run by total.
read -r f_init f_pg f_mig f_be f_web f_total < <(printf '%s\n' "${floors[@]}" \
  | awk '{print $0, $1 + $2 + $3 + $4 + $5}' | sort -n -k6 | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
warm_ms=$(ms "$median")
echo
echo "### The supervisor's overhead"
echo
echo "The same steps on the same warm data, started by hand one after the other the moment the"
echo "previous one was ready (\`bench/floor.py\`, median of $RUNS by total): pg-init $f_init ms,"
echo "postgres to READY=1 $f_pg ms, migrate $f_mig ms, backend to READY=1 $f_be ms,"
echo "web to READY=1 $f_web ms (readiness learnt as the supervisor learns it, by sd_notify)."
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

