#!/usr/bin/env bash
# Supervisor footprint and restart latency, beside tini, s6 and supervisord (same run).
#
#   RSS and idle CPU with 3 children (all tools); context switches over an idle 10 s
#   (wakeups: ours has no probes configured here, so it should have none);
#   restart latency after SIGKILL of a stable (up > 10 s) service (tools that restart).
# Targets (issue 2): RSS <= 3 MiB, no periodic wakeups, restart <= 20 ms.
source "$(dirname "$0")/lib.sh"
need tini tini; need s6-svscan s6; need supervisord supervisor
build_wms

# tini passes a signal to its direct child only: its services are collected by name.
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; pkill -f "^sleep 10000[0-9]$"; wait 2>/dev/null; rm -rf "$W"' EXIT
ROUNDS=${ROUNDS:-5}
svc() { echo "date +%s%N >> $W/\$TOOL-starts-$1; exec sleep 10000$1"; }

# ---- start each tool with three children -------------------------------------------------
mkdir -p "$W/wms"
{
  echo "[supervisor]"
  echo "health_listen = \"127.0.0.1:$(free_port)\""
  echo "control_socket = \"$W/wms/control.sock\""
  echo "state_dir = \"$W/wms/state\""
  for i in 1 2 3; do
    echo "[services.s$i]"
    echo "command = [\"sh\", \"-c\", \"TOOL=wms; $(svc $i)\"]"
  done
} > "$W/wms/config.toml"
"$WMS" supervise --config "$W/wms/config.toml" >/dev/null 2>&1 &
WMS_PID=$!

tini -s -- sh -c "TOOL=tini; for i in 1 2 3; do (sh -c \"$(svc '$i' | sed 's/"/\\"/g')\" &); done; exec sleep 100009" >/dev/null 2>&1 &
TINI_PID=$!

mkdir -p "$W/s6"
for i in 1 2 3; do
  mkdir -p "$W/s6/s$i"
  printf '#!/bin/sh\nTOOL=s6\n%s\n' "$(svc $i)" > "$W/s6/s$i/run"
  chmod +x "$W/s6/s$i/run"
done
s6-svscan "$W/s6" >/dev/null 2>&1 &
S6_PID=$!

{
  echo "[supervisord]"; echo "nodaemon=true"; echo "logfile=$W/supervisord.log"; echo "pidfile=$W/supervisord.pid"
  echo "[unix_http_server]"; echo "file=$W/supervisor.sock"
  for i in 1 2 3; do
    # supervisord expands %(...)s in its config: a literal % is written %%.
    echo "[program:s$i]"; echo "command=sh -c 'TOOL=supervisord; $(svc $i | sed 's/%/%%/g')'"; echo "startsecs=0"; echo "autorestart=true"
  done
} > "$W/supervisord.conf"
supervisord -c "$W/supervisord.conf" >/dev/null 2>&1 &
SUPD_PID=$!

sleep 3   # let every tool settle before measuring its idle state

tree_pids() {   # the supervision tree of a tool, without its services
  case $1 in
    s6) echo "$S6_PID $(children_of "$S6_PID")" ;;
    *) echo "$2" ;;
  esac
}

echo "## Supervisor footprint and restarts ($(machine))"
echo
echo "| tool | RSS (KiB) | of which anonymous (KiB) | CPU ticks idle 10 s | context switches idle 10 s |"
echo "|---|---|---|---|---|"
declare -A RSS
for t in wms:$WMS_PID tini:$TINI_PID s6:$S6_PID supervisord:$SUPD_PID; do
  name=${t%%:*}; pid=${t#*:}
  pids=$(tree_pids "$name" "$pid")
  c0=0; x0=0; for p in $pids; do c0=$((c0 + $(cpu_ticks "$p"))); x0=$((x0 + $(ctx_switches "$p"))); done
  sleep 10
  c1=0; x1=0; for p in $pids; do c1=$((c1 + $(cpu_ticks "$p"))); x1=$((x1 + $(ctx_switches "$p"))); done
  RSS[$name]=$(rss_sum_kb $pids)
  anon=0; for p in $pids; do anon=$((anon + $(awk '/^RssAnon:/ {print $2}' "/proc/$p/status"))); done
  echo "| $name$([ "$name" = s6 ] && echo ' (svscan + 3 supervise)') | ${RSS[$name]} | $anon | $((c1 - c0)) | $((x1 - x0)) |"
done
echo
echo "wms RSS / tini: $(ratio "${RSS[wms]}" "${RSS[tini]}"), / s6: $(ratio "${RSS[wms]}" "${RSS[s6]}"), / supervisord: $(ratio "${RSS[wms]}" "${RSS[supervisord]}") (target: RSS <= 3072 KiB)."
echo "The rest of wms's RSS beyond the anonymous part is its binary's code pages ($(( $(stat -c %s "$WMS") / 1024 )) KiB file, every role in one;"
echo "page cache, shared with the backend and web processes of the same stack)."
echo

# ---- restart latency: SIGKILL a service that has been up > 10 s ---------------------------
latency_ms() {   # TOOL: kill s1, wait for its next start line, print ms
  local tool=$1 f="$W/$1-starts-1" before pid t0
  before=$(wc -l < "$f")
  pid=$(pgrep -f "^sleep 100001$" -P "$(tree_parent "$tool")" | head -1)
  t0=$(date +%s%N)
  kill -9 "$pid"
  wait_until 10 test "$(wc -l < "$f")" -gt "$before"
  echo $(( ($(tail -1 "$f") - t0) / 1000 )) | awk '{printf "%.1f", $1/1000}'
}
tree_parent() {
  case $1 in
    wms) echo "$WMS_PID" ;;
    supervisord) echo "$SUPD_PID" ;;
    s6) pgrep -f "s6-supervise s1" ;;
  esac
}
echo "| tool | restart latency after SIGKILL, ms ($ROUNDS rounds: median, max) |"
echo "|---|---|"
declare -A MED
for tool in wms s6 supervisord; do
  vals=()
  for r in $(seq "$ROUNDS"); do
    sleep 10.5            # "stable": up for more than 10 s
    vals+=("$(latency_ms "$tool")")
  done
  read -r med max < <(printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[NR]}')
  MED[$tool]=$med
  echo "| $tool | $med, $max |"
done
echo
echo "wms restart / s6: $(ratio "${MED[wms]}" "${MED[s6]}"), / supervisord: $(ratio "${MED[wms]}" "${MED[supervisord]}") (target: <= 20 ms)"
