#!/usr/bin/env bash
# Memory as users pay for it (issue 18): PSS (each shared page divided among the processes
# that map it) and USS (private: what the process alone costs) of every process of the
# stack, and their sum, idle and under API load, from /proc/PID/smaps_rollup. RSS counts the
# binary's code pages once per process although the supervisor, backend and web share one
# binary (and PostgreSQL's processes share their buffers): PSS sums to the real total.
#
# Ours: `wms supervise` on config.toml (release build) as PID 1 via unshare, as in
# bench/startup.sh. The anchor, when WMS_REFERENCE_DIR names a prepared checkout of the
# reference system (bench/README.md says how to prepare one): its parts started the way its
# Dockerfile and compose file run them, on this machine, after ours has stopped (so the two
# never share pages): its own PostgreSQL (initdb in a temp dir, stock settings), `alembic
# upgrade head`, its FastAPI app under uvicorn, nginx in front (its nginx.conf: static files,
# /api proxied). Without WMS_REFERENCE_DIR that part is skipped and says so.
#
# Both get the same data: PRODUCTS products with their two balance rows, inserted by the
# same SQL. Idle: 2 s after that. Under load: wrk on GET /api/products/ through the web
# server (ours: `wms web`; the reference: nginx), 2 threads, 16 connections, SECS seconds,
# with a token from each one's login; the sample (every 0.5 s) with the largest total PSS.
# Beside PSS, each stack's resident pages counted once (bench/resident.py): PSS shares pages
# with whatever else runs on the machine (other PostgreSQL, Python processes), this does not.
#
#   bench/memory.sh                                     # ours only, SECS=10, PRODUCTS=1000
#   WMS_REFERENCE_DIR=/tmp/reference bench/memory.sh    # beside the reference
source "$(dirname "$0")/lib.sh"
need curl curl
need wrk wrk
need unshare util-linux
need runuser util-linux
REF=${WMS_REFERENCE_DIR:-}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/psql" ] || { echo "bench: no PostgreSQL binaries with psql (PG_BIN=$PG_BIN)" >&2; exit 1; }
if [ -n "$REF" ]; then
  need nginx nginx
  for f in venv/bin/uvicorn venv/bin/alembic alembic.ini app/main.py; do
    [ -e "$REF/$f" ] || { echo "bench: $REF/$f is missing (bench/README.md: preparing the reference)" >&2; exit 1; }
  done
  [ -x "$PG_BIN/initdb" ] || { echo "bench: no PostgreSQL server binaries (PG_BIN=$PG_BIN)" >&2; exit 1; }
fi
build_wms
SECS=${SECS:-10}
PRODUCTS=${PRODUCTS:-1000}

W=$(mktemp -d); chmod 755 "$W"
ref_pg="" ref_app="" ref_nginx=""
stop_reference() {
  if [ -n "$ref_nginx" ]; then
    kill -TERM "$ref_nginx" 2>/dev/null || true
    wait "$ref_nginx" 2>/dev/null || true
    ref_nginx=""
  fi
  if [ -n "$ref_app" ]; then
    kill -TERM "$ref_app" 2>/dev/null || true
    wait "$ref_app" 2>/dev/null || true
    ref_app=""
  fi
  if [ -n "$ref_pg" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$ref_pg" -m fast -w stop >/dev/null 2>&1 || true
    ref_pg=""
  fi
}
trap 'stop_stack; stop_reference; rm -rf "$W"' EXIT


# ---- sampling ---------------------------------------------------------------------------

# Every process under the given pids, themselves included.
tree() {
  local p
  for p in "$@"; do
    echo "$p"
    # shellcheck disable=SC2046
    tree $(cat /proc/"$p"/task/*/children 2>/dev/null)
  done
}
# A process's name for the tables: the wms subcommand, PostgreSQL's process title, nginx's
# role, the program a Python interpreter runs; else the executable's name.
name_of() {
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | awk '{
    if ($1 ~ /wms$/) { print ($2 == "" ? "wms" : "wms " $2); exit }
    if ($1 ~ /^postgres:/) { print $0; exit }
    if ($1 ~ /^nginx:/) { print $1 " " $2 " " $3; exit }
    n = split($1, a, "/"); b = a[n]
    if (b ~ /^python/) { m = split($2, c, "/"); print c[m] " (" b ")"; exit }
    print (b == "postgres" ? "postgres (postmaster)" : b) }'
}
# "pid name pss_kib uss_kib" for every process under the given pids (SUP names the supervisor).
sample() {
  local p name
  for p in $(tree "$@"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    name=$(name_of "$p")
    [ "$p" = "${sup:-}" ] && name="wms supervise"
    awk -v p="$p" -v n="$name" '
      /^Pss:/ {pss = $2} /^Private_Clean:/ {u += $2} /^Private_Dirty:/ {u += $2}
      END {if (pss != "") printf "%s\t%s\t%d\t%d\n", p, n, pss, u}' "/proc/$p/smaps_rollup" 2>/dev/null || true
  done
}
# PostgreSQL's connection processes come and go: group by a stable name.
group() {   # reads samples, prints "name<TAB>count<TAB>pss<TAB>uss" summed by name
  awk -F'\t' '{n = $2; sub(/ [0-9.]+\(.*$/, "", n); sub(/ \[local\].*$/, " [local]", n)
               sub(/ recovering .*$| idle.*$|  *$/, "", n)
               c[n]++; p[n] += $3; u[n] += $4}
              END {for (k in c) printf "%s\t%d\t%d\t%d\n", k, c[k], p[k], u[k]}' | sort
}
tot() { awk -F'\t' -v c="$2" '{s += $c} END {print s + 0}' "$1"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# The KiB of distinct resident pages of the processes of a sample: their PSS total had they
# been alone on the machine (see bench/resident.py).
alone() {   # SAMPLE_TSV
  # shellcheck disable=SC2046
  python3 "$BENCH_DIR/resident.py" $(cut -f1 "$1")
}

# measure SIDE URL TOKEN PID...: $W/SIDE.idle.tsv, $W/SIDE.load.tsv (the sample with the
# largest total PSS under load), $W/SIDE.idle.alone and $W/SIDE.load.alone (the largest
# under load) and $W/SIDE.rps.
measure() {
  local side=$1 url=$2 token=$3; shift 3
  sleep 2
  sample "$@" > "$W/$side.idle.tsv"
  alone "$W/$side.idle.tsv" > "$W/$side.idle.alone"
  printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token" > "$W/$side.lua"
  wrk -t2 -c16 -d"${SECS}s" -s "$W/$side.lua" "$url/api/products/" > "$W/$side.wrk" 2>&1 &
  local wrk_pid=$! best=0 best_alone=0 t a
  : > "$W/$side.load.tsv"
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sample "$@" > "$W/s.tsv"
    t=$(tot "$W/s.tsv" 3) a=$(alone "$W/s.tsv")
    if [ "$t" -gt "$best" ]; then best=$t; cp "$W/s.tsv" "$W/$side.load.tsv"; fi
    if [ "$a" -gt "$best_alone" ]; then best_alone=$a; fi
    sleep 0.5
  done
  wait "$wrk_pid" || true
  echo "$best_alone" > "$W/$side.load.alone"
  awk '/Requests\/sec/ {print $2}' "$W/$side.wrk" > "$W/$side.rps"
  if grep -q 'Non-2xx' "$W/$side.wrk"; then
    echo "bench: $side answered errors under load:" >&2; cat "$W/$side.wrk" >&2; exit 1
  fi
}
# The markdown table of one side.
table() {
  local side=$1
  echo "| process | count idle / load | idle PSS MiB | idle USS MiB | under load PSS MiB | under load USS MiB |"
  echo "|---|---|---|---|---|---|"
  join -t $'\t' -a 1 -a 2 -e 0 -o 0,1.2,1.3,1.4,2.2,2.3,2.4 <(group < "$W/$side.idle.tsv") <(group < "$W/$side.load.tsv") |
    while IFS=$'\t' read -r n ic ip iu lc lp lu; do
      echo "| $n | $ic / $lc | $(mib "$ip") | $(mib "$iu") | $(mib "$lp") | $(mib "$lu") |"
    done
  echo "| **whole stack** | $(wc -l < "$W/$side.idle.tsv") / $(wc -l < "$W/$side.load.tsv") | **$(mib "$(tot "$W/$side.idle.tsv" 3)")** | **$(mib "$(tot "$W/$side.idle.tsv" 4)")** | **$(mib "$(tot "$W/$side.load.tsv" 3)")** | **$(mib "$(tot "$W/$side.load.tsv" 4)")** |"
  echo "| whole stack alone: each resident page once | | $(mib "$(cat "$W/$side.idle.alone")") | | $(mib "$(cat "$W/$side.load.alone")") | |"
}

# ---- the same data on both sides ---------------------------------------------------------

# PRODUCTS products (ids, barcodes, GTINs and the other columns both schemas share) with
# their stock and defect-stock rows at zero: the same statements for both databases.
products_sql() {
  cat <<SQL
INSERT INTO products (id, barcode, gtin, seller_sku, size, brand, color, is_deleted)
  SELECT gen_random_uuid(), 'BENCH-' || i, lpad(i::text, 14, '0'), 'SKU-' || i, 'M',
         'Brand ' || (i % 50), 'black', false
  FROM generate_series(1, $PRODUCTS) AS i;
INSERT INTO stocks (id, product_id, quantity) SELECT gen_random_uuid(), id, 0 FROM products;
INSERT INTO defect_stocks (id, product_id, quantity) SELECT gen_random_uuid(), id, 0 FROM products;
SQL
}
# psql as the OS account postgres (peer or trust on the socket): SOCKET_DIR PORT DB ARGS...
psql_as_postgres() {
  local dir=$1 port=$2 db=$3; shift 3
  runuser -u postgres -- "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@" "$db"
}
pg_settings() {   # SOCKET_DIR PORT DB
  psql_as_postgres "$1" "$2" "$3" -At -c "SELECT 'PostgreSQL ' || current_setting('server_version') \
    || ', shared_buffers ' || current_setting('shared_buffers') \
    || ', max_connections ' || current_setting('max_connections')"
}
login() {   # URL EMAIL PASSWORD -> the access token
  curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$2\",\"password\":\"$3\"}" \
    "$1/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# ---- ours --------------------------------------------------------------------------------

stack_env "$W"

unshare --pid --fork --mount-proc --kill-child "$WMS" supervise --config "$ROOT/config.toml" > "$W/stack.log" 2>&1 &
stack=$!
end=$((SECONDS + 120))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$WMS_HEALTH_LISTEN/health")" = 200 ]; do
  kill -0 "$stack" 2>/dev/null || { echo "bench: the stack died; log:" >&2; tail -30 "$W/stack.log" >&2; exit 1; }
  [ $SECONDS -lt $end ] || { echo "bench: not healthy in 120 s" >&2; tail -30 "$W/stack.log" >&2; exit 1; }
  sleep 0.05
done
web="http://127.0.0.1:$WMS_WEB_PORT"
# The supervisor: unshare's child (PID 1 of the new namespace).
sup=$(children_of "$stack" | awk '{print $1}')
[ -n "$sup" ] || { echo "bench: no supervisor under unshare" >&2; exit 1; }

# First boot also takes a base backup and runs the restore drill (a second PostgreSQL for a
# few seconds; then once a day): measure the steady state after them, when every service is
# ready or completed.
wait_until 180 settled || { echo "bench: the first-boot jobs did not finish in 180 s" >&2; exit 1; }
products_sql | psql_as_postgres "$PG_SOCKET_DIR" "$PGPORT" wms
ours_pg=$(pg_settings "$PG_SOCKET_DIR" "$PGPORT" wms)
token=$(login "$web" admin@wms.example.com "$WMS_ADMIN_PASSWORD")
measure ours "$web" "$token" "$sup"
sup_uss=$(awk -F'\t' -v s="$sup" '$1 == s {print $4}' "$W/ours.idle.tsv")
stop_stack
sup=""

# ---- the reference -----------------------------------------------------------------------

# Its PostgreSQL: a stock cluster (initdb's defaults, as the postgres image's), the
# superuser's password over TCP as in its compose file; its database `wms`.
start_reference_pg() {
  local dir="$W/ref/pg"
  mkdir -p "$dir"; chown postgres: "$dir"
  echo "$REF_DB_PASSWORD" > "$dir/pw"; chown postgres: "$dir/pw"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$dir/pw" -E UTF8 --locale=C.UTF-8 --no-sync > "$W/ref-initdb.log"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $REF_PGPORT -k $dir -c listen_addresses=127.0.0.1" start > /dev/null
  ref_pg="$dir/data"
  psql_as_postgres "$dir" "$REF_PGPORT" postgres -c "CREATE DATABASE wms"
}
# Its backend as its Dockerfile runs it: `alembic upgrade head`, then uvicorn app.main:app
# (one process: no --workers), DEBUG=false; the app seeds its administrator at start-up.
start_reference_app() {
  export DATABASE_URL="postgresql+asyncpg://postgres:$REF_DB_PASSWORD@127.0.0.1:$REF_PGPORT/wms"
  export SECRET_KEY="bench-$RANDOM$RANDOM" DEBUG=false
  (cd "$REF" && venv/bin/alembic upgrade head) > "$W/ref-alembic.log" 2>&1 ||
    { echo "bench: the reference's migrations failed:" >&2; cat "$W/ref-alembic.log" >&2; exit 1; }
  (cd "$REF" && exec venv/bin/uvicorn app.main:app --host 127.0.0.1 --port "$REF_APP_PORT") > "$W/ref-app.log" 2>&1 &
  ref_app=$!
  wait_until 60 curl -sf "http://127.0.0.1:$REF_APP_PORT/health" ||
    { echo "bench: the reference app did not answer; log:" >&2; tail -30 "$W/ref-app.log" >&2; exit 1; }
  unset DATABASE_URL SECRET_KEY DEBUG
}
# nginx in front, with its nginx.conf's server block (the upstream's address changed) and the
# http settings of the nginx image's default configuration that matter here.
start_reference_nginx() {
  local dir="$W/ref/nginx"
  start_nginx "$dir" "$REF_WEB_PORT" "
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 65;
  server {
    listen 127.0.0.1:$REF_WEB_PORT;
    server_name localhost;
    location / {
      root $WMS_WEB_ROOT;
      index index.html;
      try_files \$uri \$uri/ /index.html;
    }
    location /api {
      proxy_pass http://127.0.0.1:$REF_APP_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
    location /health {
      access_log off;
      return 200 \"ok\";
      add_header Content-Type text/plain;
    }
  }" /health || { echo "bench: nginx did not start:" >&2; cat "$dir/error.log" >&2; exit 1; }
  ref_nginx=$(cat "$dir/nginx.pid")
}

if [ -n "$REF" ]; then
  REF_PGPORT=$(free_port) REF_APP_PORT=$(free_port) REF_WEB_PORT=$(free_port)
  REF_DB_PASSWORD="bench-$RANDOM$RANDOM"
  start_reference_pg
  start_reference_app
  start_reference_nginx
  products_sql | psql_as_postgres "$W/ref/pg" "$REF_PGPORT" wms
  ref_pg_settings=$(pg_settings "$W/ref/pg" "$REF_PGPORT" wms)
  ref_versions=$("$REF/venv/bin/python" -c 'import sys, fastapi, uvicorn, sqlalchemy, asyncpg, pydantic
print("Python %s, FastAPI %s, uvicorn %s, SQLAlchemy %s, asyncpg %s, pydantic %s" % (sys.version.split()[0],
      fastapi.__version__, uvicorn.__version__, sqlalchemy.__version__, asyncpg.__version__, pydantic.VERSION))')
  ref_workers=$(( $(tree "$ref_nginx" | wc -l) - 1 ))
  postmaster=$(head -n 1 "$ref_pg/postmaster.pid")
  # Its seed's administrator (app/seed.py).
  token=$(login "http://127.0.0.1:$REF_WEB_PORT" admin@wms.example.com admin123)
  measure ref "http://127.0.0.1:$REF_WEB_PORT" "$token" "$postmaster" "$ref_app" "$ref_nginx"
  stop_reference
fi

# ---- report ------------------------------------------------------------------------------

echo "## Memory as users pay for it: PSS and USS ($(machine))"
echo
echo "From /proc/PID/smaps_rollup: PSS (shared pages divided among the processes sharing them; sums"
echo "to the real total) and USS (private pages). Both stacks hold the same data ($PRODUCTS products"
echo "with their balance rows, inserted by the same SQL) and were measured one after the other, never"
echo "side by side. Idle: 2 s after loading the data (ours: once its first-boot base backup and restore"
echo "drill have finished). Under load: GET /api/products/ through the web server, 16 connections,"
echo "${SECS} s, after logging in; the sample (every 0.5 s) with the largest total. Count: processes."
echo "PSS also divides the pages shared with unrelated processes (other PostgreSQL or Python"
echo "processes on the machine come and go); \"alone\" counts each resident page of the stack once,"
echo "as its PSS total would be with nothing else running (bench/resident.py)."
echo
echo "### wms: the stack of config.toml under \`wms supervise\`"
echo
echo "$ours_pg (initdb's defaults); the backend's pool: ${WMS_DB_POOL_SIZE:-$(( $(nproc) * 2 > 4 ? $(nproc) * 2 : 4 ))} connections (its default); under load ${SECS} s at $(cat "$W/ours.rps") req/s."
echo "The stack includes its supervisor and its WAL archiving (pg_receivewal, \`wms backup\`)."
echo
table ours
echo
echo "The supervisor's private memory (USS) idle: $(mib "${sup_uss:-0}") MiB (target <= 1 MiB)."
echo
if [ -z "$REF" ]; then
  echo "The reference system (FastAPI under uvicorn, nginx, PostgreSQL with the same data): **not"
  echo "measured in this run** — it needs \`WMS_REFERENCE_DIR\` naming a prepared checkout of it"
  echo "(bench/README.md); so the ratio whole stack / reference (target <= 0.5) is not given here."
  exit 0
fi
echo "### The reference system, same run"
echo
echo "Its parts as its Dockerfile.backend, Dockerfile.frontend, nginx.conf and compose file run them,"
echo "started here without containers (so without a container runtime's own processes):"
echo "$ref_pg_settings (initdb's defaults, as the postgres image's); uvicorn app.main:app, one"
echo "process (its Dockerfile gives no --workers), SQLAlchemy's default pool (5 + 10 overflow),"
echo "$ref_versions; nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), worker_processes auto"
echo "($ref_workers workers), its nginx.conf with /api proxied to uvicorn. Under load ${SECS} s at $(cat "$W/ref.rps") req/s."
echo
table ref
echo
pct() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b))" "$1" "$2"; }
verdict() {   # OURS_KIB REF_KIB
  python3 -c "import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
print('met' if a <= 0.5 * b else 'missed by %.1f MiB (%.1f %% above 0.5x)' % ((a - 0.5 * b) / 1024, 100 * (a / (0.5 * b) - 1)))" "$1" "$2"
}
echo "| whole stack, wms / reference | idle | under load |"
echo "|---|---|---|"
row() {   # LABEL OURS_IDLE REF_IDLE OURS_LOAD REF_LOAD (KiB)
  echo "| $1 | $(mib "$2") / $(mib "$3") MiB = **$(pct "$2" "$3")** | $(mib "$4") / $(mib "$5") MiB = **$(pct "$4" "$5")** |"
}
row PSS "$(tot "$W/ours.idle.tsv" 3)" "$(tot "$W/ref.idle.tsv" 3)" "$(tot "$W/ours.load.tsv" 3)" "$(tot "$W/ref.load.tsv" 3)"
row USS "$(tot "$W/ours.idle.tsv" 4)" "$(tot "$W/ref.idle.tsv" 4)" "$(tot "$W/ours.load.tsv" 4)" "$(tot "$W/ref.load.tsv" 4)"
row alone "$(cat "$W/ours.idle.alone")" "$(cat "$W/ref.idle.alone")" "$(cat "$W/ours.load.alone")" "$(cat "$W/ref.load.alone")"
echo
echo "Target: whole stack <= 0.5x the reference's. PSS idle: $(verdict "$(tot "$W/ours.idle.tsv" 3)" "$(tot "$W/ref.idle.tsv" 3)");"
echo "PSS under load: $(verdict "$(tot "$W/ours.load.tsv" 3)" "$(tot "$W/ref.load.tsv" 3)"); alone idle:"
echo "$(verdict "$(cat "$W/ours.idle.alone")" "$(cat "$W/ref.idle.alone")"); alone under load: $(verdict "$(cat "$W/ours.load.alone")" "$(cat "$W/ref.load.alone")")."
