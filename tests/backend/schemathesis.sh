#!/usr/bin/env bash
# Fuzzes the backend's API with schemathesis (PyPI), driven by its own OpenAPI document
# (/api/openapi.json), authenticated as the administrator: any 5xx answer fails the run.
#
# Everything it needs is private: a PostgreSQL in a temp dir on a unix socket (run as the
# `postgres` user when started as root), a `wms backend --migrate` on a free port, and a
# Python venv cached in $WMS_CACHE_DIR (default ~/.cache/wms) so later runs skip the install.
#
# Needs: python3 with venv (Debian: python3-venv), PostgreSQL server binaries (PG_BIN, else
# the newest /usr/lib/postgresql/*/bin), cargo. Knobs: WMS_BIN (a prebuilt wms binary),
# WMS_SCHEMATHESIS_EXAMPLES (max examples per operation, default 25), WMS_SCHEMATHESIS_SEED.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
cache="${WMS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wms}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${WMS_BIN:-}" ]; then
    cargo build --quiet --bin wms
    target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    WMS_BIN="$target/debug/wms"
fi

if [ -n "${PG_BIN:-}" ]; then
    pg_bin="$PG_BIN"
else
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

work=$(mktemp -d /tmp/wms-schemathesis.XXXXXX)
chmod 755 "$work"
backend_pid=""
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$work"
    as_pg=(runuser -u postgres --)
fi
cleanup() {
    [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null || true
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
    -o "-p $pg_port -k $work -c listen_addresses='' -c fsync=off -c synchronous_commit=off" start >/dev/null
"${as_pg[@]}" "$pg_bin/psql" -h "$work" -p "$pg_port" -U postgres -qc "CREATE DATABASE wms" postgres

api_port=$(free_port)
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
DATABASE_URL="host=$work port=$pg_port user=postgres dbname=wms" \
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))') \
WMS_ADMIN_PASSWORD="$password" WMS_LOG="${WMS_LOG:-warn}" \
    "$WMS_BIN" backend --migrate --listen "127.0.0.1:$api_port" &
backend_pid=$!

base="http://127.0.0.1:$api_port"
token=$(BASE="$base" PASSWORD="$password" python3 - <<'PY'
import json, os, time, urllib.request
base, deadline = os.environ["BASE"], time.time() + 60
while True:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        if time.time() > deadline:
            raise SystemExit("the backend did not become healthy")
        time.sleep(0.05)
body = json.dumps({"email": "admin@wms.example.com", "password": os.environ["PASSWORD"]}).encode()
req = urllib.request.Request(base + "/api/auth/login", body, {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    print(json.load(r)["access_token"])
PY
)

seed=()
[ -n "${WMS_SCHEMATHESIS_SEED:-}" ] && seed=(--seed "$WMS_SCHEMATHESIS_SEED")
fuzz() {
    # From the temp dir: schemathesis keeps a cache in ./.schemathesis.
    (cd "$work" && "$venv/bin/schemathesis" run "$base/api/openapi.json" \
        --checks not_a_server_error \
        --header "Authorization: Bearer $token" \
        --max-examples "${WMS_SCHEMATHESIS_EXAMPLES:-25}" \
        --generation-allow-x00 true \
        --generation-database none \
        --request-timeout 30 \
        --workers 2 \
        --no-color \
        "${seed[@]}" "$@")
}
# Changing users may demote or deactivate the very admin whose token drives the run, which
# would turn everything after it into 401/403: those two operations go last, on their own.
late=(--include-operation-id put_api_users_user_id --include-operation-id post_api_auth_change_password)
echo "== schemathesis against $base/api/openapi.json"
fuzz --exclude-operation-id put_api_users_user_id --exclude-operation-id post_api_auth_change_password
echo "== schemathesis: user changes"
fuzz "${late[@]}"
