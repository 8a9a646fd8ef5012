# Shared helpers for the benchmark scripts (sourced, not run).
# Every figure is printed beside its anchor's, measured in the same run on this machine.

set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
WMS="${WMS:-$ROOT/target/release/wms}"

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (apt-get install $2)" >&2; exit 1; }; }

build_wms() { (cd "$ROOT" && cargo build --release --locked -q); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Resident set size of a pid, in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Sum of RSS over pids (KiB).
rss_sum_kb() { local t=0; for p in "$@"; do t=$((t + $(rss_kb "$p"))); done; echo "$t"; }

# CPU time (utime+stime, clock ticks) of a pid.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Voluntary + involuntary context switches of a process, all threads (a proxy for wakeups).
ctx_switches() {
  local t=0
  for s in /proc/"$1"/task/*/status; do
    t=$((t + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$s")))
  done
  echo "$t"
}

# Children of a pid.
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }

# Waits until a command succeeds (max $1 seconds).
wait_until() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done; }

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.3g' % (a/b if b else float('inf')))" "$1" "$2"; }

# wrk → "requests/s p99_ms non2xx" for a URL. With WRK_LABEL and LATENCY_CSV set (bench/run
# sets the latter), the latency percentiles are appended to LATENCY_CSV for the plot.
wrk_run() {
  local url=$1 conns=${2:-64} secs=${3:-10}; shift 3 || true
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "$url" 2>/dev/null | python3 -c '
import os, sys, re
text = sys.stdin.read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
def ms(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
# Anchored: a "+/- Stdev" column such as 99.50% must not pass for the 50th percentile.
pct = {p: ms(re.search(r"^\s+" + p + r"%\s+(\S+)", text, re.M).group(1)) for p in ("50", "75", "90", "99")}
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
label, out = os.environ.get("WRK_LABEL"), os.environ.get("LATENCY_CSV")
if label and out:
    with open(out, "a") as f:
        f.write("%s,%s\n" % (label.replace(",", ";"), ",".join("%.3f" % pct[p] for p in ("50", "75", "90", "99"))))
print(rps, "%.2f" % pct["99"], errs.group(1) if errs else 0)'
}

machine() { echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"; }

# Starts nginx (the anchor) in the background on 127.0.0.1:PORT with the http-block lines
# HTTP (server blocks and all), its files under DIR; waits until URL_PATH answers.
start_nginx() {   # DIR PORT HTTP URL_PATH
  local dir=$1 port=$2 http=$3 path=$4
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
$http
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' &
  wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$port$path"
}

# The stack of config.toml under `wms supervise` as PID 1 (startup.sh, memory.sh): `stack`
# holds unshare's pid while one runs.
stack=""
# Stops it: unshare does not pass signals on, so SIGTERM goes to the supervisor (its child).
stop_stack() {
  [ -n "$stack" ] || return 0
  pkill -TERM -P "$stack" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$stack" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  stack=""
}
# Exports the stack's environment for a run in DIR ($1), on free ports: its data, sockets and
# backup volume under DIR; the built frontend when there is one, else a one-line page.
stack_env() {
  local dir=$1 root="$ROOT/frontend/dist"
  if [ ! -f "$root/index.html" ]; then
    root="$dir/www"; mkdir -p "$root"; echo '<!doctype html><title>wms</title>' > "$root/index.html"
  fi
  export PGDATA="$dir/pgdata" PG_SOCKET_DIR="$dir/run" PGPORT=$(free_port) WMS_RUN_DIR="$dir/run" WMS_STATE_DIR="$dir/state" WMS_BACKUP_DIR="$dir/backup"
  export WMS_HEALTH_LISTEN="127.0.0.1:$(free_port)" WMS_BACKEND_PORT=$(free_port) WMS_WEB_PORT=$(free_port)
  export WMS_WEB_ROOT="$root" POSTGRES_PASSWORD="bench-$RANDOM$RANDOM" WMS_ADMIN_PASSWORD="bench-admin-$RANDOM$RANDOM"
}

# True when every service of the running stack is ready or completed: the first boot's base
# backup and restore drill (oneshots) have finished.
settled() {
  curl -sf "http://$WMS_HEALTH_LISTEN/health" | python3 -c 'import json, sys
states = [s["state"] for s in json.load(sys.stdin)["services"].values()]
sys.exit(0 if all(s in ("ready", "completed") for s in states) else 1)'
}
