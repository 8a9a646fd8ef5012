#!/usr/bin/env bash
# The supervisor's /health under load (wrk, 64 connections) while a service is being
# restarted over and over, beside nginx `return 200` on the same machine in the same run.
# Target (issue 3): >= 0.5x nginx's throughput, p99 < 5 ms.
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx
build_wms

W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
SECS=${SECS:-10}
HP=$(free_port); NP=$(free_port)

cat > "$W/config.toml" <<CONF
[supervisor]
health_listen = "127.0.0.1:$HP"
control_socket = "$W/control.sock"
state_dir = "$W/state"
[services.steady]
command = ["sleep", "100000"]
[services.flapping]
command = ["sh", "-c", "sleep 0.05; exit 1"]
backoff_max = "100ms"
CONF
"$WMS" supervise --config "$W/config.toml" >/dev/null 2>&1 &
wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$HP/health/live"

start_nginx "$W/nginx" "$NP" "  server {
    listen 127.0.0.1:$NP;
    location = /health { default_type application/json; return 200 '{\"status\":\"ok\"}'; }
  }" /health

read -r w_rps w_p99 _ < <(WRK_LABEL="wms supervise /health" wrk_run "http://127.0.0.1:$HP/health" 64 "$SECS")
read -r n_rps n_p99 _ < <(WRK_LABEL="nginx return 200" wrk_run "http://127.0.0.1:$NP/health" 64 "$SECS")
restarts=$(curl -s "http://127.0.0.1:$HP/metrics" | awk -F' ' '/^wms_service_restarts_total\{service="flapping"\}/ {print $2}')

echo "## /health under load ($(machine))"
echo
echo "| server | requests/s | p99 (ms) |"
echo "|---|---|---|"
echo "| wms supervise /health (a service restarting meanwhile: $restarts restarts) | $w_rps | $w_p99 |"
echo "| nginx return 200 | $n_rps | $n_p99 |"
echo
echo "ratio wms/nginx: $(ratio "$w_rps" "$n_rps") (target >= 0.5, p99 < 5 ms)"
