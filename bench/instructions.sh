#!/usr/bin/env bash
# User-space instructions per `/health` request: `wms web` (no upstream: `ok`) beside
# nginx's `return 200`, each under valgrind's callgrind, which counts instructions instead
# of timing them (repeatable on a noisy machine). Load: wrk, 1 thread, 8 connections, a
# 2 s warm-up, then counting from zero for SECS (5) s. System time is not counted (the
# kernel's share of a request is the same two calls for both: bench/web.sh has the CPU
# time per request).
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx; need valgrind valgrind
build_wms
SECS=${SECS:-5}
W=$(mktemp -d); trap 'rc=$?; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"; exit $rc' EXIT
mkdir -p "$W/nginx" "$W/root" && echo "<!doctype html><title>wms</title>" > "$W/root/index.html"

count() {   # NAME PORT COMMAND...: prints "instructions requests"
  local name=$1 port=$2; shift 2
  valgrind --tool=callgrind --callgrind-out-file="$W/$name.cg" "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_until 60 curl -sf -o /dev/null "http://127.0.0.1:$port/health"
  wrk -t1 -c8 -d2s "http://127.0.0.1:$port/health" >/dev/null
  callgrind_control -z "$pid" >/dev/null
  local n; n=$(wrk -t1 -c8 -d"${SECS}s" "http://127.0.0.1:$port/health" | awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null
  # The dump after the zeroing holds the counted part.
  local ir; ir=$(grep -h '^summary:' "$W/$name.cg".* | sort -k2 -n | tail -1 | awk '{print $2}')
  echo "$ir $n"
}

WP=$(free_port); NP=$(free_port)
read -r w_ir w_n < <(count wms "$WP" "$WMS" web --root "$W/root" --listen "127.0.0.1:$WP" --api http://127.0.0.1:9)
cat > "$W/nginx/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$NP; location = /health { return 200 "ok\n"; } } }
CONF
read -r n_ir n_n < <(count nginx "$NP" nginx -c "$W/nginx/nginx.conf" -p "$W/nginx")

echo "## Instructions per /health request ($(machine))"
echo
echo "| server | requests counted | user-space instructions per request |"
echo "|---|---|---|"
echo "| wms web | $w_n | $((w_ir / w_n)) |"
echo "| nginx \`return 200\` | $n_n | $((n_ir / n_n)) |"
echo
echo "Ratio of instructions, wms / nginx: $(ratio "$w_ir" "$((n_ir * w_n / n_n))") (lower is fewer)."
