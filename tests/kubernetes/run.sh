#!/usr/bin/env bash
# The Kubernetes manifests, run for real on this machine with `podman kube play` (podman
# 4.3, runc, no systemd, no cluster):
#   1. validate the manifests (deploy/kubernetes/validate.sh) and build the image;
#   2. derive the single-node equivalent of deploy/kubernetes/base (single_node.py says how:
#      replicas -> Pods, Services -> network aliases, the Secret -> a podman secret, httpGet
#      probes -> `wms probe`) and play it all at once, as `kubectl apply` would: PostgreSQL
#      (StatefulSet, PVC), the migration Job, two backends, two web pods;
#   3. everything becomes ready (each readinessProbe polled by hand: podman ignores them),
#      the Job exits 0, exactly one migrator applied the schema, every container runs as
#      its non-root uid;
#   4. the API smoke test (login, product, receipt, journal) through both web pods; a token
#      from the login is accepted by each backend replica directly; an Idempotency-Key sent
#      through both web pods moves stock once;
#   5. SIGKILL the backend pod that was serving: every following request through the web
#      pods still succeeds; the pod comes back (as a ReplicaSet would replace it) and serves;
#      the ledger check is clean;
#   6. a backup as README.md says (pg_dump out of the StatefulSet pod) restores;
#   7. graceful stop of every pod: exit code 0 well within its grace period, PostgreSQL shuts
#      down cleanly; `podman kube down` removes every pod, the PVC outlives it and a
#      re-played StatefulSet pod finds the data;
#   8. the external-db overlay against that database (standing in for a managed one): its
#      Job, two backends and two web pods come up on the existing data and serve it;
#   nothing of ours is left behind (pods, volumes, the secret, the network, the image tag).
# Every wait has a deadline; the whole run has one too (WMS_K8S_DEADLINE, default 2400 s,
# most of it for a cold image build). WMS_K8S_SKIP_BUILD=1 uses localhost/wms:latest as is.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
if [ -z "${WMS_K8S_INNER:-}" ]; then
  WMS_K8S_INNER=1 exec timeout -k 60 "${WMS_K8S_DEADLINE:-2400}" "$0" "$@"
fi
CACHE=${WMS_CI_CACHE:-/var/cache/wms-ci}
mkdir -p "$CACHE"
export DISABLE_HC_SYSTEMD=true PODMAN_IGNORE_CGROUPSV1_WARNING=1 WMS_CI_CACHE=$CACHE
W=$(mktemp -d)
PREFIX=wms-k8s
NET=$PREFIX-net
PIN=localhost/wms-k8s:run-$$
ADMIN_PW=k8s-admin-pw
PLAYED=()     # generated YAML files played so far (for kube down)
ANON=()       # anonymous volumes of our containers (the image's VOLUME)

say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  set +e
  for f in "${PLAYED[@]}"; do podman kube down "$f" >/dev/null 2>&1; done
  for g in "$W"/gen-*/; do
    [ -s "$g/pods.tsv" ] && cut -f3 "$g/pods.tsv" | sort -u | xargs -r podman pod rm -f --ignore >/dev/null 2>&1
    [ -s "$g/volumes.txt" ] && xargs -r podman volume rm -f < "$g/volumes.txt" >/dev/null 2>&1
    [ -s "$g/plan.tsv" ] && awk -F'\t' '$1 == "secret" {print $2}' "$g/plan.tsv" | xargs -r podman secret rm >/dev/null 2>&1
  done
  for v in "${ANON[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1; done
  podman network rm -f "$NET" >/dev/null 2>&1
  podman image exists "$PIN" && podman untag "$PIN" "$PIN" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted (deadline WMS_K8S_DEADLINE?)" >&2; exit 143' TERM INT

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
logs_of() { podman logs "$1" 2>&1 | tail -n "${2:-30}" | sed "s/^/  $1 | /" >&2; }
# The generated single-node equivalent in use ($GEN: pods.tsv, ready.tsv, plan.tsv, ...).
dump_all() { local ctr; while IFS=$'\t' read -r _ _ _ ctr; do logs_of "$ctr" 15; done < "$GEN/pods.tsv"; }
containers_of() { awk -F'\t' -v w="$1" '$2 == w {print $4}' "$GEN/pods.tsv"; }
pods_of() { awk -F'\t' -v w="$1" '$2 == w {print $3}' "$GEN/pods.tsv"; }
readiness() { awk -F'\t' -v c="$1" '$1 == c {print $2}' "$GEN/ready.tsv"; }
is_ready() {   # CONTAINER: its readinessProbe, as the kubelet would run it
  local cmd; cmd=$(readiness "$1")
  [ -n "$cmd" ] || fail "no readinessProbe for $1"
  # shellcheck disable=SC2086
  podman exec "$1" $cmd >/dev/null 2>&1
}
wait_ready() {   # SECONDS CONTAINER...
  local limit=$1 c end=$((SECONDS + $1)); shift
  for c in "$@"; do
    until is_ready "$c"; do
      if [ $SECONDS -ge $end ]; then dump_all; fail "$c not ready after $limit s"; fi
      [ "$(podman inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] \
        || { logs_of "$c"; fail "$c is not running"; }
      sleep 0.5
    done
  done
}
psql_wms() {   # SQL: in the PostgreSQL pod, over its unix socket
  podman exec "$PREFIX-postgres-0-postgres" psql -h /run/wms/postgresql -U postgres -d wms -tAc "$1"
}
login() {   # BASE
  curl -sf -X POST "$1/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@wms.example.com\",\"password\":\"$ADMIN_PW\"}" | json 'd["access_token"]'
}
# The API smoke test: log in, create a product, receive 5, find the receipt in the journal.
smoke() {   # BASE TAG -> prints "TOKEN PRODUCT"
  local base=$1 tag=$2 token product total
  token=$(login "$base") || fail "login at $base"
  product=$(curl -sf -X POST "$base/api/products/" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"barcode\":\"K8S-$tag\",\"seller_sku\":\"sku-$tag\",\"brand\":\"Acme\"}" | json 'd["id"]') || fail "create product at $base"
  curl -sf -X POST "$base/api/stock/movements" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"operation_type\":\"receipt\",\"product_id\":\"$product\",\"quantity\":5}" >/dev/null || fail "receipt at $base"
  total=$(curl -sf "$base/api/stock/movements?barcode=K8S-$tag" -H "Authorization: Bearer $token" | json 'd["total"]') \
    || fail "journal at $base"
  [ "$total" = 1 ] || fail "journal at $base has $total movements for K8S-$tag"
  echo "$token $product"
}
# Established TCP connections to port 8000 inside a backend pod (from the web pods' pools).
conns_8000() {
  podman exec "$1" awk 'NR > 1 && $4 == "01" && $2 ~ /:1F40$/ {n++} END {print n + 0}' /proc/net/tcp
}

say "1. validate the manifests"
deploy/kubernetes/validate.sh --out "$W/rendered" | tail -n 1
PY=$CACHE/k8s-venv/bin/python

say "1. build the image (cached layers are reused)"
command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] || fail "podman kube play needs catatonit (apt-get install catatonit)"
if ! podman image exists docker.io/library/debian:trixie-slim; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  debootstrap --variant=minbase trixie "$W/rootfs" >/dev/null
  tar -C "$W/rootfs" -c . | podman import - docker.io/library/debian:trixie-slim >/dev/null
  rm -rf "$W/rootfs"
fi
if [ "${WMS_K8S_SKIP_BUILD:-}" != 1 ]; then
  secret=()
  [ -s /etc/ssl/certs/ca-certificates.crt ] && secret=(--secret id=extra-ca,src=/etc/ssl/certs/ca-certificates.crt)
  start=$SECONDS
  # Built under a name of our own (untagged at the end): a user's localhost/wms:latest is
  # left alone, and the layers stay as the next build's cache.
  podman build -q --pull=never --format docker "${secret[@]}" -t "$PIN" "$ROOT" >/dev/null \
    || fail "podman build"
  echo "built in $((SECONDS - start)) s"
else
  podman tag "$(podman image inspect -f '{{.Id}}' localhost/wms:latest)" "$PIN"
fi
pg_uid=$(podman run --rm --entrypoint id "$PIN" -u postgres)
pg_gid=$(podman run --rm --entrypoint id "$PIN" -g postgres)
grep -q "runAsUser: $pg_uid\$" "$W/rendered/base.yaml" && grep -q "runAsGroup: $pg_gid\$" "$W/rendered/base.yaml" \
  || fail "the image's postgres account is $pg_uid:$pg_gid; postgres.yaml's runAsUser/runAsGroup must match"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
generate() {   # OVERLAY PREFIX SECRET WEB_PORTS -> sets GEN
  GEN=$W/gen-$1
  "$PY" tests/kubernetes/single_node.py --manifests "$W/rendered/$1.yaml" --secret "$3" \
    --out "$GEN" --prefix "$2" --image "$PIN" --publish "wms-web=$4" || fail "single_node.py for $1"
  [ "$(containers_of wms-backend | wc -l)" = 2 ] || fail "$1: expected two backend replicas"
  [ "$(containers_of wms-web | wc -l)" = 2 ] || fail "$1: expected two web replicas"
  # Leftovers of an aborted run of this script (same names) would block the play.
  cut -f3 "$GEN/pods.tsv" | sort -u | xargs -r podman pod rm -f --ignore >/dev/null
  xargs -r podman volume rm -f < "$GEN/volumes.txt" >/dev/null 2>&1 || true
  awk -F'\t' '$1 == "secret" {print $2}' "$GEN/plan.tsv" | xargs -r podman secret rm >/dev/null 2>&1 || true
}
play_all() {   # everything in $GEN/plan.tsv, without waiting in between (as kubectl apply)
  local what a b net
  while IFS=$'\t' read -r what a b; do
    case $what in
      secret) podman secret create "$a" "$b" >/dev/null ;;
      claim) podman kube play "$a" > "$W/play.log" 2>&1 || { cat "$W/play.log"; fail "podman kube play $a"; } ;;
      play)
        net=$NET; [ "$b" = - ] || net="$NET:alias=$b"
        PLAYED+=("$a")
        podman kube play --network "$net" "$a" > "$W/play.log" 2>&1 || { cat "$W/play.log"; fail "podman kube play $a"; }
        if [ "$b" = - ]; then echo "played $(basename "$a")"; else echo "played $(basename "$a") as Service $b"; fi ;;
    esac
  done < "$GEN/plan.tsv"
  while IFS=$'\t' read -r _ _ _ c; do
    while read -r v; do [ -n "$v" ] && ANON+=("$v"); done < <(podman inspect -f \
      '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' "$c" | grep -Ex '[0-9a-f]{64}' || true)
  done < "$GEN/pods.tsv"
}
wait_job() {   # the migration Job's pod must exit 0
  local job end; job=$(containers_of wms-migrate)
  end=$((SECONDS + 240))
  until [ "$(podman inspect -f '{{.State.Status}}' "$job")" = exited ]; do
    [ $SECONDS -lt $end ] || { logs_of "$job"; fail "the migration Job did not finish in 240 s"; }
    sleep 0.5
  done
  [ "$(podman inspect -f '{{.State.ExitCode}}' "$job")" = 0 ] || { logs_of "$job"; fail "the migration Job failed"; }
}
migration_outcome() {   # CONTAINER: what migrating did, from its log
  podman logs "$1" 2>&1 | grep -E 'INFO (applied V|the schema is up to date)' | sed 's/.*INFO //' | tail -n 1
}
down_all() {   # podman kube down of everything played; no pod of $GEN may remain
  local f pod
  for f in "${PLAYED[@]}"; do podman kube down "$f" >/dev/null 2>&1 || fail "podman kube down $f"; done
  PLAYED=()
  for pod in $(cut -f3 "$GEN/pods.tsv" | sort -u); do
    ! podman pod exists "$pod" || fail "podman kube down left pod $pod"
  done
}

say "2. derive the single-node equivalent of base/ and play it all at once"
deploy/kubernetes/make-secret.sh --admin-password "$ADMIN_PW" > "$W/secret.yaml" 2>/dev/null
WEB0=$(free_port) WEB1=$(free_port)
generate base "$PREFIX" "$W/secret.yaml" "$WEB0,$WEB1"
podman network rm -f "$NET" >/dev/null 2>&1 || true
podman network create "$NET" >/dev/null
start=$SECONDS
play_all

say "3. ready: PostgreSQL, the migration Job, two backends, two web pods"
wait_ready 240 $(containers_of wms-postgres)
wait_job
wait_ready 240 $(containers_of wms-backend) $(containers_of wms-web)
echo "all ready $((SECONDS - start)) s after kubectl-apply-style start"
# Every migrator (the Job, each backend's supervisor) ran; one applied, the rest waited on
# the advisory lock and found the schema up to date.
applied=0
for c in $(containers_of wms-migrate) $(containers_of wms-backend); do
  line=$(migration_outcome "$c")
  [ -n "$line" ] || { logs_of "$c"; fail "$c: no migration outcome in its log"; }
  echo "$c: $line"
  case $line in applied*) applied=$((applied + 1)) ;; esac
done
[ "$applied" = 1 ] || fail "$applied migrators applied migrations (expected exactly one)"
want=$(find migrations -name 'V*.sql' | wc -l)
[ "$(psql_wms 'SELECT count(*) FROM refinery_schema_history')" = "$want" ] || fail "refinery_schema_history is not $want rows"
while IFS=$'\t' read -r kind _ _ c; do
  [ "$kind" = Job ] && continue
  uid=$(podman exec "$c" id -u)
  [ "$uid" != 0 ] || fail "$c runs as root"
  echo "$c runs as uid $uid"
done < "$GEN/pods.tsv"

say "4. API smoke test through both web pods; one token for every backend; idempotency across replicas"
B0=http://127.0.0.1:$WEB0 B1=http://127.0.0.1:$WEB1
first=$(smoke "$B0" web0)   # (a failure inside exits through this assignment)
read -r TOKEN PRODUCT <<<"$first"
smoke "$B1" web1 >/dev/null
[ "$(code "$B1/api/auth/me" -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "a token from web-0's login is refused through web-1"
backend_ips=$(podman exec "$(containers_of wms-web | head -n 1)" getent ahostsv4 wms-backend | awk '/STREAM/ {print $1}' | sort -u)
[ "$(wc -l <<<"$backend_ips")" = 2 ] || fail "the wms-backend Service name resolves to '$backend_ips', not two pods"
for ip in $backend_ips; do
  [ "$(code "http://$ip:8000/api/auth/me" -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "backend $ip refuses the token"
done
echo "wms-backend -> $(echo $backend_ips); each accepts the token"
key=k8s-idem-$$
for base in "$B0" "$B1" "$B0"; do
  curl -sf -D "$W/idem.h" -o /dev/null -X POST "$base/api/stock/movements" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
    -d "{\"operation_type\":\"receipt\",\"product_id\":\"$PRODUCT\",\"quantity\":2}" || fail "idempotent receipt via $base"
done
grep -qi '^Idempotent-Replayed: true' "$W/idem.h" || fail "the repeated Idempotency-Key was not replayed"
stock=$(curl -sf "$B1/api/products/$PRODUCT" -H "Authorization: Bearer $TOKEN" | json 'd["stock_quantity"]')
[ "$stock" = 7 ] || fail "stock is $stock after 5 + an idempotent 2 sent three times (expected 7)"
echo "three sends of one Idempotency-Key through two web pods moved stock once"

say "5. SIGKILL the serving backend: the API keeps answering"
victim= most=-1
for c in $(containers_of wms-backend); do
  n=$(conns_8000 "$c"); echo "$c: $n connections from the web pods"
  [ "$n" -gt "$most" ] && { most=$n; victim=$c; }
done
[ "$most" -ge 1 ] || fail "no backend holds a connection from the web pods"
victim_pod=${victim%-backend}
podman pod kill "$victim_pod" >/dev/null
killed_at=$(date +%s%N)
ok=0 slowest=0
for i in $(seq 1 40); do
  base=$B0; [ $((i % 2)) = 0 ] && base=$B1
  t=$(date +%s%N)
  if [ $((i % 4)) = 0 ]; then
    c=$(code -X POST "$base/api/stock/movements" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -H "Idempotency-Key: k8s-after-kill-$$-$i" -d "{\"operation_type\":\"receipt\",\"product_id\":\"$PRODUCT\",\"quantity\":1}")
    want_code=201
  else
    c=$(code "$base/api/products/$PRODUCT" -H "Authorization: Bearer $TOKEN"); want_code=200
  fi
  ms=$(( ($(date +%s%N) - t) / 1000000 )); [ $ms -gt $slowest ] && slowest=$ms
  [ "$c" = "$want_code" ] || { logs_of "$(containers_of wms-web | head -n 1)" 10; fail "request $i after the kill answered $c"; }
  ok=$((ok + 1))
done
echo "killed $victim_pod; $ok/40 requests after it succeeded (slowest $slowest ms, all within $(( ($(date +%s%N) - killed_at) / 1000000 )) ms)"
[ "$(code "$B0/health")" = 200 ] || fail "web-0 /health is not 200 with one backend left"
service_size() {   # how many addresses the wms-backend Service name has, seen from web-0
  podman exec "$(containers_of wms-web | head -n 1)" getent ahostsv4 wms-backend | awk '/STREAM/' | wc -l
}
# The killed pod leaves the Service (its network is torn down asynchronously, after `pod
# kill` returns; starting it again before that would race the teardown of its DNS entry).
end=$((SECONDS + 30))
until [ "$(service_size)" = 1 ]; do
  [ $SECONDS -lt $end ] || fail "the killed backend is still in the Service name after 30 s"
  sleep 0.2
done
podman pod start "$victim_pod" >/dev/null   # what the ReplicaSet would do: a replacement pod
wait_ready 120 "$victim"
end=$((SECONDS + 30))
until [ "$(service_size)" = 2 ]; do
  [ $SECONDS -lt $end ] || fail "the restarted backend never came back into the Service name"
  sleep 0.2
done
smoke "$B0" back >/dev/null
check=$(curl -sf "$B0/api/admin/ledger-check" -H "Authorization: Bearer $TOKEN") || fail "ledger check"
[ "$(json 'd["consistent"]' <<<"$check")" = True ] || fail "ledger inconsistent: $check"
stock=$(curl -sf "$B0/api/products/$PRODUCT" -H "Authorization: Bearer $TOKEN" | json 'd["stock_quantity"]')
[ "$stock" = 17 ] || fail "stock is $stock, expected 7 + 10 receipts after the kill"
echo "$victim_pod is back and serving; ledger consistent; stock $stock as expected"

say "6. backup as README.md says: pg_dump out of the StatefulSet pod; pg_restore of it"
PG=$PREFIX-postgres-0-postgres
podman exec "$PG" pg_dump -h /run/wms/postgresql -U postgres -Fc wms > "$W/wms.dump" || fail "pg_dump in $PG"
echo "backup: $(wc -c < "$W/wms.dump") bytes"
# (The image keeps psql, pg_dump and pg_restore on PATH, not Debian's createdb/dropdb wrappers.)
podman exec "$PG" psql -h /run/wms/postgresql -U postgres -d postgres -qc 'CREATE DATABASE wms_restore' \
  || fail "CREATE DATABASE wms_restore"
podman exec -i "$PG" pg_restore -h /run/wms/postgresql -U postgres -d wms_restore --clean --if-exists < "$W/wms.dump" \
  || fail "pg_restore of the backup"
restored=$(podman exec "$PG" psql -h /run/wms/postgresql -U postgres -d wms_restore -tAc \
  "SELECT count(*) FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE p.barcode LIKE 'K8S-%'")
[ "$restored" = "$(psql_wms "SELECT count(*) FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE p.barcode LIKE 'K8S-%'")" ] \
  || fail "the restored database has $restored movements, not the original's"
podman exec "$PG" psql -h /run/wms/postgresql -U postgres -d postgres -qc 'DROP DATABASE wms_restore'
echo "restored into a scratch database: $restored movements, as in the original"

say "7. graceful stop, podman kube down, the PVC outlives its pod"
for w in wms-web wms-backend wms-postgres; do
  for pod in $(pods_of "$w"); do
    c=$(awk -F'\t' -v p="$pod" '$3 == p {print $4}' "$GEN/pods.tsv")
    t=$(date +%s%N)
    podman pod stop -t 30 "$pod" >/dev/null
    ms=$(( ($(date +%s%N) - t) / 1000000 ))
    rc=$(podman inspect -f '{{.State.ExitCode}}' "$c")
    echo "$pod stopped in $ms ms, exit code $rc"
    [ "$rc" = 0 ] || { logs_of "$c"; fail "$c exited $rc on SIGTERM"; }
    [ "$ms" -lt 9500 ] || fail "$pod took $ms ms to stop (the supervisor's cap is 9 s)"
  done
done
# conmon may still be copying the last lines when `podman pod stop` returns: poll the log.
end=$((SECONDS + 10))
until podman logs "$PREFIX-postgres-0-postgres" 2>&1 | grep -q '^postgres *| .*database system is shut down'; do
  [ $SECONDS -lt $end ] || { logs_of "$PREFIX-postgres-0-postgres" 20; fail "no clean PostgreSQL shutdown in its log"; }
  sleep 0.2
done
down_all
for v in "${ANON[@]}"; do ! podman volume exists "$v" || fail "podman kube down left volume $v"; done
left=$(podman ps -a --format '{{.Names}}' | grep "^$PREFIX-" || true)
[ -z "$left" ] || fail "containers left after podman kube down: $left"
claim=$(grep -- '-data-postgres-0$' "$GEN/volumes.txt")
podman volume exists "$claim" || fail "the PersistentVolumeClaim $claim did not outlive its pod"
pg_yaml=$(awk -F'\t' '$1 == "play" && $2 ~ /postgres/ {print $2}' "$GEN/plan.tsv")
PLAYED+=("$pg_yaml")
podman kube play --network "$NET:alias=wms-postgres" "$pg_yaml" > "$W/play.log" 2>&1 \
  || { cat "$W/play.log"; fail "re-play the PostgreSQL pod"; }
wait_ready 120 $(containers_of wms-postgres)
[ "$(psql_wms "SELECT count(*) FROM products WHERE barcode LIKE 'K8S-%'")" = 3 ] || fail "the data did not survive the pod"
echo "podman kube down removed every pod; the re-played StatefulSet pod found its data on the PVC"

say "8. the external-db overlay, against that database as if it were a managed one"
BASE_GEN=$GEN
BASE_PLAYED=("${PLAYED[@]}")
PLAYED=()
app_password=$(awk -F'"' '/^  db-app-password:/ {print $2}' "$W/secret.yaml")
deploy/kubernetes/make-secret.sh --admin-password "$ADMIN_PW" \
  --database-url "postgresql://wms:$app_password@wms-postgres:5432/wms" > "$W/secret-external.yaml" 2>/dev/null
EXT0=$(free_port) EXT1=$(free_port)
generate external-db "$PREFIX-x" "$W/secret-external.yaml" "$EXT0,$EXT1"
[ -z "$(containers_of wms-postgres)" ] || fail "the external-db overlay still has a PostgreSQL workload"
play_all
wait_job
wait_ready 240 $(containers_of wms-backend) $(containers_of wms-web)
for c in $(containers_of wms-migrate) $(containers_of wms-backend); do
  line=$(migration_outcome "$c")
  [[ $line == "the schema is up to date"* ]] || { logs_of "$c"; fail "$c on the existing database: '$line'"; }
  echo "$c: $line"
done
X0=http://127.0.0.1:$EXT0
X_TOKEN=$(login "$X0") || fail "login through the external-db overlay's web"
stock=$(curl -sf "$X0/api/products/$PRODUCT" -H "Authorization: Bearer $X_TOKEN" | json 'd["stock_quantity"]') \
  || fail "the product made through base/ is not served through the external-db overlay"
[ "$stock" = 17 ] || fail "stock through the external-db overlay is $stock, expected 17"
smoke "http://127.0.0.1:$EXT1" external >/dev/null
echo "the Job, two backends and two web pods of overlays/external-db serve the existing data (stock $stock)"
down_all
GEN=$BASE_GEN
PLAYED=("${BASE_PLAYED[@]}")
down_all
left=$(podman ps -a --format '{{.Names}}' | grep "^$PREFIX-" || true)
[ -z "$left" ] || fail "containers left after podman kube down: $left"
echo "podman kube down removed both deployments"

echo
echo "kubernetes tests: all passed"
