#!/usr/bin/env bash
# `wms web` beside nginx serving the same built frontend, same machine, same run (wrk,
# 64 connections, 10 s per row). Rows: `/`, a client route (SPA fallback), the main JS
# bundle without and with compression (nginx: gzip_static; ours: br/gz variants), and the
# web server's own health endpoint (nginx: `return 200`).
# Target (issue 6): >= 1.0x nginx on every row.
source "$(dirname "$0")/lib.sh"
need wrk wrk; need nginx nginx
build_wms
DIST="$ROOT/frontend/dist"
[ -f "$DIST/index.html" ] || (cd "$ROOT/frontend" && npm ci --no-audit --no-fund -s && npm run -s build)

W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
SECS=${SECS:-10}
WP=$(free_port); NP=$(free_port)
"$WMS" web --root "$DIST" --listen "127.0.0.1:$WP" --api http://127.0.0.1:9 >/dev/null 2>&1 &
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

bundle=$(cd "$DIST" && ls -S assets/*.js | head -1)
echo "## wms web beside nginx ($(machine))"
echo
echo "Same built frontend; the largest JS bundle is /$bundle ($(stat -c %s "$DIST/$bundle") bytes)."
echo
echo "| request | wms web req/s | p99 ms | nginx req/s | p99 ms | ratio |"
echo "|---|---|---|---|---|---|"
row() {   # LABEL PATH [wrk args...]
  local label=$1 path=$2; shift 2
  read -r w w99 werr < <(WRK_LABEL="wms web $label" wrk_run "http://127.0.0.1:$WP$path" 64 "$SECS" "$@")
  read -r n n99 nerr < <(WRK_LABEL="nginx $label" wrk_run "http://127.0.0.1:$NP$path" 64 "$SECS" "$@")
  [ "$werr" = 0 ] && [ "$nerr" = 0 ] || echo "(non-2xx: wms $werr, nginx $nerr)"
  echo "| $label | $w | $w99 | $n | $n99 | $(ratio "$w" "$n") |"
}
row "/ (index.html)" "/"
row "/movements (client route)" "/movements"
row "main JS bundle, identity" "/$bundle"
row "main JS bundle, gzip" "/$bundle" -H "Accept-Encoding: gzip"
row "/health (no upstream: ok)" "/health"
