#!/usr/bin/env bash
# End-to-end: the real stack of config.toml under `wms supervise` as PID 1 of its own PID
# namespace (throwaway PostgreSQL, migrations, backend, `wms web` serving the built
# frontend), driven in Debian's Chromium by playwright-core (frontend/e2e/run.mjs).
# Screenshots of every main screen go to $E2E_ARTIFACTS (default: <target>/e2e-artifacts).
#
# Needs: a built frontend (frontend/dist), /usr/bin/chromium, frontend/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --locked -q
wms="$target/debug/wms"
[ -f frontend/dist/index.html ] || { echo "e2e: frontend/dist is missing; build the frontend first" >&2; exit 1; }

W=$(mktemp -d); chmod 755 "$W"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export PGDATA="$W/pgdata" PG_SOCKET_DIR="$W/run" PGPORT=$(port) WMS_RUN_DIR="$W/run" WMS_STATE_DIR="$W/state" WMS_BACKUP_DIR="$W/backup"
export WMS_HEALTH_LISTEN="127.0.0.1:$(port)" WMS_BACKEND_PORT=$(port) WMS_WEB_PORT=$(port)
export WMS_WEB_ROOT="$PWD/frontend/dist" POSTGRES_PASSWORD="e2e-$RANDOM$RANDOM"
# There is no default administrator password: the test sets one (and the browser uses it).
export WMS_ADMIN_PASSWORD="e2e-admin-$RANDOM$RANDOM"
artifacts="${E2E_ARTIFACTS:-$target/e2e-artifacts}"
mkdir -p "$artifacts"

unshare --pid --fork --mount-proc --kill-child "$wms" supervise --config config.toml > "$artifacts/stack.log" 2>&1 &
stack=$!
# unshare does not pass signals on: stop the supervisor (its child) itself; if it has not
# exited within 20 s, killing unshare takes the whole PID namespace down (--kill-child).
cleanup() {
  pkill -TERM -P "$stack" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$stack" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

base="http://127.0.0.1:$WMS_WEB_PORT"
deadline=$((SECONDS + 120))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ]; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$stack" 2>/dev/null; then
    echo "e2e: the stack did not become healthy; its log:" >&2
    tail -50 "$artifacts/stack.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "e2e: stack healthy at $base after $SECONDS s"

ctl="$wms ctl --socket $W/run/control.sock"
status=0
(cd frontend && E2E_BASE_URL="$base" E2E_ARTIFACTS="$artifacts" E2E_PASSWORD="$WMS_ADMIN_PASSWORD" \
  E2E_STOP_CMD="$ctl stop backend" E2E_START_CMD="$ctl start backend" \
  npm run --silent e2e) || status=$?
[ $status = 0 ] || { echo "e2e: failed; stack log in $artifacts/stack.log" >&2; tail -30 "$artifacts/stack.log" >&2; }
exit $status
