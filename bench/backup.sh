#!/usr/bin/env bash
# Backups (issue 15), each figure beside its anchor measured in the same run:
#
#  1. A base backup and a restore of a database with 1,000,000 journal rows: `wms backup
#     base` and `wms restore --latest` beside pgBackRest (Debian's package) doing a full
#     backup and a restore of the same cluster. Restore time is until a server on the
#     restored directory accepts writes (ours recovers before it returns; pgBackRest's
#     recovery happens at that server's start). pgBackRest runs twice: with its defaults
#     (gz compression) and uncompressed (the same work as ours). Target: <= 1.0x its time.
#  2. API write throughput and p99 (POST /api/stock/movements, receipts) of the whole stack
#     (config.toml, release build) with archiving off, asynchronous and synchronous.
#     Target: synchronous costs <= 30 % of the throughput with archiving off.
#
# Knobs: BENCH_JOURNAL (1000000), BENCH_SECONDS (10, per API run), BENCH_CONNECTIONS (16),
# BENCH_ROUNDS (3: backups, restores and API runs alternate, the best of each is reported),
# BENCH_PARTS ("backup api": which of the two to run), PG_BIN.
# Needs: pgbackrest, wrk, python3, PostgreSQL server binaries; run as root (private
# clusters run as the `postgres` account).
source "$(dirname "$0")/lib.sh"
need pgbackrest pgbackrest
need wrk wrk
need python3 python3
[ "$(id -u)" = 0 ] || { echo "bench/backup.sh: run as root" >&2; exit 1; }

journal="${BENCH_JOURNAL:-1000000}"
secs="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-16}"
rounds="${BENCH_ROUNDS:-3}"
products=1000
pg_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
build_wms

W=$(mktemp -d /tmp/wms-bench-backup.XXXXXX)
chmod 755 "$W"
chown postgres: "$W"
as_pg() { runuser -u postgres -- "$@"; }
pids=()
stack=""
# unshare does not pass signals on: stop the supervisor (its child) itself; after 30 s
# killing unshare takes the whole PID namespace down (--kill-child).
stop_stacks() {
  local s
  for s in "${stacks[@]}"; do pkill -TERM -P "$s" 2>/dev/null || true; done
  for s in "${stacks[@]}"; do
    for _ in $(seq 300); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$s" 2>/dev/null || true
    wait "$s" 2>/dev/null || true
  done
  stacks=()
}
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_stacks
  for d in "$W"/data "$W"/restore-*; do
    [ -f "$d/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
mib() { du -sm "$1" | awk '{print $1}'; }

# --- 1. base backup and restore beside pgBackRest ---------------------------------------
bench_backup() {
  port=$(free_port)
  sock="$W/run"
  mkdir -p "$sock"
  chown postgres: "$sock"
  pgbr_conf() {   # KIND [COMPRESS] -> a pgBackRest config for the cluster, its own repository
    mkdir -p "$W/pgbr-$1"/{repo,log,lock,spool}
    chown -R postgres: "$W/pgbr-$1"
    cat <<CONF
[global]
repo1-path=$W/pgbr-$1/repo
repo1-retention-full=9
log-path=$W/pgbr-$1/log
lock-path=$W/pgbr-$1/lock
spool-path=$W/pgbr-$1/spool
log-level-console=warn
start-fast=y
${2:-}

[bench]
pg1-path=$W/data
pg1-socket-path=$sock
pg1-port=$port
CONF
  }
  pgbr_conf gz > "$W/pgbr-gz.conf"
  pgbr_conf none compress-type=none > "$W/pgbr-none.conf"
  chmod 644 "$W"/pgbr-*.conf
  pgbr() { as_pg pgbackrest --config="$W/pgbr-$1.conf" --stanza=bench "${@:2}"; }

  as_pg "$pg_bin/initdb" -D "$W/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  start_pg() {   # DATA [extra -o options]
    as_pg "$pg_bin/pg_ctl" -D "$1" -l "$1.log" -w -t 3600 \
      -o "-p $port -k $sock -c listen_addresses='' -c shared_buffers=256MB ${2:-}" start >/dev/null
  }
  push() { echo "pgbackrest --config=$W/pgbr-$1.conf --stanza=bench archive-push %p"; }
  archiving="-c archive_mode=on -c archive_command='$(push gz) && $(push none)'"
  start_pg "$W/data" "$archiving"
  psql_() { as_pg "$pg_bin/psql" -h "$sock" -p "$port" -U postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
  pgbr gz stanza-create
  pgbr none stanza-create
  psql_ -c "CREATE DATABASE wms" postgres
  DATABASE_URL="host=$sock port=$port user=postgres dbname=wms" WMS_LOG=warn "$WMS" migrate
  psql_ wms <<SQL
INSERT INTO users (id, email, hashed_password, is_active, role)
  VALUES ('00000000-0000-4000-8000-000000000001', 'bench@wms.example.com', 'x', true, 'admin');
INSERT INTO products (id, barcode, is_deleted)
  SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'BENCH-' || i, false
  FROM generate_series(1, $products) AS i;
INSERT INTO stock_movements (id, operation_type, product_id, quantity, user_id, notes)
  SELECT gen_random_uuid(), 'receipt',
         ('00000000-0000-4000-8000-' || lpad((1 + i % $products)::text, 12, '0'))::uuid, 1,
         '00000000-0000-4000-8000-000000000001', 'bench row ' || i
  FROM generate_series(1, $journal) AS i;
INSERT INTO stocks (product_id, quantity)
  SELECT product_id, count(*) FROM stock_movements GROUP BY product_id;
INSERT INTO defect_stocks (product_id, quantity) SELECT id, 0 FROM products;
CHECKPOINT;
SQL
  size_db=$(psql_ -c "SELECT pg_size_pretty(pg_database_size('wms'))" postgres)
  size_cluster=$(mib "$W/data")

  # Our archive: the receiver streaming, as the stack runs it.
  export WMS_BACKUP_DIR="$W/wmsbk" PG_SOCKET_DIR="$sock" PGPORT="$port" POSTGRES_USER=postgres
  export POSTGRES_DB=wms WMS_BACKUP_KEEP=9 WMS_LOG=info
  "$WMS" backup init >/dev/null 2>&1
  runuser -u postgres -- "$WMS" backup receive-wal > "$W/receiver.log" 2>&1 &
  pids+=($!)
  wait_until 60 "$WMS" backup probe || { echo "bench: the receiver did not stream" >&2; cat "$W/receiver.log" >&2; exit 1; }

  ours_b=(); gz_b=(); none_b=()
  for _ in $(seq "$rounds"); do
    t=$(now); runuser -u postgres -- "$WMS" backup base >> "$W/base.log" 2>&1; ours_b+=("$(since "$t")")
    t=$(now); pgbr gz --type=full backup; gz_b+=("$(since "$t")")
    t=$(now); pgbr none --type=full backup; none_b+=("$(since "$t")")
  done
  size_ours=$(mib "$(ls -d "$W"/wmsbk/base/*/ | tail -n 1)")
  size_gz=$(mib "$(ls -d "$W"/pgbr-gz/repo/backup/bench/*F/ | tail -n 1)")
  size_none=$(mib "$(ls -d "$W"/pgbr-none/repo/backup/bench/*F/ | tail -n 1)")

  # Some writes after the backups, so both restores replay WAL; then the disaster.
  psql_ wms -c "UPDATE stocks SET quantity = quantity WHERE product_id IN (SELECT id FROM products LIMIT 100)"
  psql_ postgres -c "SELECT pg_switch_wal()" >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$W/data" -m fast stop >/dev/null
  wait_until 30 bash -c "! kill -0 ${pids[0]} 2>/dev/null" || true

  wait_writable() {   # until the server on $port is out of recovery and takes a write
    wait_until 3600 psql_ -c "CREATE TABLE IF NOT EXISTS bench_probe (x int)" postgres
  }
  ours_r=(); gz_r=(); none_r=()
  n=0
  for _ in $(seq "$rounds"); do
    n=$((n + 1))
    t=$(now)
    PGDATA="$W/restore-ours-$n" "$WMS" restore --latest >> "$W/restore.log" 2>&1 \
      || { echo "bench: wms restore failed" >&2; tail -20 "$W/restore.log" >&2; exit 1; }
    start_pg "$W/restore-ours-$n"; wait_writable; ours_r+=("$(since "$t")")
    as_pg "$pg_bin/pg_ctl" -D "$W/restore-ours-$n" -m fast stop >/dev/null
    for kind in gz none; do
      mkdir -m 700 "$W/restore-$kind-$n"; chown postgres: "$W/restore-$kind-$n"
      t=$(now)
      pgbr "$kind" --pg1-path="$W/restore-$kind-$n" restore
      start_pg "$W/restore-$kind-$n"; wait_writable
      eval "${kind}_r+=(\"\$(since \"\$t\")\")"
      as_pg "$pg_bin/pg_ctl" -D "$W/restore-$kind-$n" -m fast stop >/dev/null
    done
    rm -rf "$W"/restore-*-"$n" "$W"/restore-*-"$n".*
  done
  ob=$(best "${ours_b[@]}"); gb=$(best "${gz_b[@]}"); nb=$(best "${none_b[@]}")
  or=$(best "${ours_r[@]}"); gr=$(best "${gz_r[@]}"); nr=$(best "${none_r[@]}")

  echo "## Backups: base backup and restore (issue 15)"
  echo
  echo "Machine: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "A cluster of $size_cluster MiB (the app database $size_db: $journal journal rows, $products"
  echo "products); best of $rounds rounds, alternating. pgBackRest $(pgbackrest version | awk '{print $2}'),"
  echo "process-max=1, start-fast=y, with its default compression (gz) and without."
  echo
  echo "| | wms | pgBackRest (gz) | pgBackRest (none) | wms ÷ gz | wms ÷ none | target |"
  echo "|---|---|---|---|---|---|---|"
  echo "| full base backup | ${ob} s | ${gb} s | ${nb} s | $(ratio "$ob" "$gb") | $(ratio "$ob" "$nb") | ≤ 1.0 |"
  echo "| restore until writable | ${or} s | ${gr} s | ${nr} s | $(ratio "$or" "$gr") | $(ratio "$or" "$nr") | ≤ 1.0 |"
  echo "| backup size | ${size_ours} MiB | ${size_gz} MiB | ${size_none} MiB | | | |"
  echo
  echo "All rounds (s): wms backup ${ours_b[*]}; gz ${gz_b[*]}; none ${none_b[*]}; wms restore ${ours_r[*]};"
  echo "gz ${gz_r[*]}; none ${none_r[*]}."
  echo
}

# --- 2. API writes with archiving off / asynchronous / synchronous -------------------------
bench_api() {
  if [ -f "$ROOT/frontend/dist/index.html" ]; then www="$ROOT/frontend/dist"; else
    mkdir -p "$W/www"; echo '<!doctype html><title>wms</title>' > "$W/www/index.html"; www="$W/www"
  fi
  # The three stacks run side by side (idle ones cost nothing) and the wrk runs alternate
  # between them, so a change in the machine's load hits all three alike.
  declare -A port token
  boot_stack() {   # NAME BACKUP_DIR SYNC
    local name=$1 dir=$2 sync=$3 d="$W/stack-$1" hp bp
    mkdir -p "$d"; chmod 755 "$d"
    hp="127.0.0.1:$(free_port)"; bp=$(free_port)
    (
      export PGDATA="$d/pgdata" PG_SOCKET_DIR="$d/run" PGPORT=$(free_port) WMS_RUN_DIR="$d/run"
      export WMS_STATE_DIR="$d/state" WMS_HEALTH_LISTEN="$hp" WMS_BACKEND_PORT="$bp"
      export WMS_WEB_PORT=$(free_port) WMS_WEB_ROOT="$www" POSTGRES_PASSWORD="bench-$RANDOM$RANDOM"
      export WMS_ADMIN_PASSWORD=admin123 WMS_BACKUP_DIR="$dir" WMS_BACKUP_SYNC="$sync" WMS_LOG=warn
      echo "$PG_SOCKET_DIR $PGPORT" > "$d/pg"
      exec unshare --pid --fork --mount-proc --kill-child "$WMS" supervise --config "$ROOT/config.toml"
    ) > "$d/stack.log" 2>&1 &
    stacks+=($!)
    healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$hp/health")" = 200 ]; }
    wait_until 180 healthy || { echo "bench: stack $name not healthy" >&2; tail -30 "$d/stack.log" >&2; exit 1; }
    # The first base backup and drill run at first boot: measure after them.
    idle() { curl -s "http://$hp/health" | python3 -c '
import json, sys
h = json.load(sys.stdin)["services"]
sys.exit(0 if all(h[s]["state"] != "starting" for s in ("backup-base", "backup-verify") if s in h) else 1)'; }
    wait_until 600 idle || true
    local sdir sport
    read -r sdir sport < "$d/pg"
    as_pg "$pg_bin/psql" -h "$sdir" -p "$sport" -U postgres -X -q -v ON_ERROR_STOP=1 wms <<SQL
INSERT INTO products (id, barcode, is_deleted)
  SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'BENCH-' || i, false
  FROM generate_series(1, $products) AS i;
INSERT INTO stocks (product_id, quantity) SELECT id, 0 FROM products;
INSERT INTO defect_stocks (product_id, quantity) SELECT id, 0 FROM products;
SQL
    port[$name]=$bp
    token[$name]=$(curl -s -H 'Content-Type: application/json' \
      -d '{"email":"admin@wms.example.com","password":"admin123"}' \
      "http://127.0.0.1:$bp/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  }
  # The volumes exist, as the image ships them (backup-init, keeping only CHOWN, cannot
  # create a directory inside $W, which belongs to postgres).
  mkdir -p "$W/api-async" "$W/api-sync"
  boot_stack off off false
  boot_stack async "$W/api-async" false
  boot_stack sync "$W/api-sync" true
  declare -A rps p99 all
  for round in $(seq "$rounds"); do
    for name in off async sync; do
      local out r l e
      out=$(TOKEN="${token[$name]}" PRODUCTS="$products" WRK_LABEL="receipt, archiving $name, round $round" \
        wrk_run "http://127.0.0.1:${port[$name]}/api/stock/movements" "$conns" "$secs" -s "$BENCH_DIR/backend/receipt.lua")
      read -r r l e <<<"$out"
      [ "$e" = 0 ] || { echo "bench: $e failed requests with archiving $name" >&2; exit 1; }
      all[$name]="${all[$name]:-}${all[$name]:+, }${r%.*}"
      if [ -z "${rps[$name]:-}" ] || awk -v a="$r" -v b="${rps[$name]}" 'BEGIN {exit !(a > b)}'; then
        rps[$name]=$r; p99[$name]=$l
      fi
    done
  done
  stop_stacks
  cost() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.0f %%' % (100*(1-a/b)))" "$1" "$2"; }

  echo "API receipts (POST /api/stock/movements), the stack of config.toml (release build),"
  echo "wrk $conns connections, ${secs} s per run, $rounds rounds alternating between the three stacks,"
  echo "the best round of each (p99 of that round); synchronous_commit on (the default):"
  echo
  echo "| archiving | requests/s | p99 | cost vs off | target | all rounds (req/s) |"
  echo "|---|---|---|---|---|---|"
  echo "| off | ${rps[off]} | ${p99[off]} ms | | | ${all[off]} |"
  echo "| asynchronous | ${rps[async]} | ${p99[async]} ms | $(cost "${rps[async]}" "${rps[off]}") | | ${all[async]} |"
  echo "| synchronous | ${rps[sync]} | ${p99[sync]} ms | $(cost "${rps[sync]}" "${rps[off]}") | ≤ 30 % | ${all[sync]} |"
  echo
}

case " ${BENCH_PARTS:-backup api} " in *" backup "*) bench_backup ;; esac
case " ${BENCH_PARTS:-backup api} " in *" api "*) bench_api ;; esac
