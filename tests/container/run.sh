#!/usr/bin/env bash
# The product as users run it, for real, on this machine (podman 4.3, runc, no systemd):
#   1. build the image; run it hardened as the README says (--read-only, --cap-drop=ALL plus
#      the supervisor's minimal list, no-new-privileges) with a volume; healthy via its
#      HEALTHCHECK; API smoke test through :8080; POSTGRES_PASSWORD and SECRET_KEY honoured;
#      `wms ctl status` inside; every service under its own account with no capabilities and
#      no_new_privs, web's environment without secrets, the public /health without pids;
#      the backup archive current, `wms backup` to stdout, a restore drill;
#   2. kill the backend inside -> degraded, then healthy again; `podman stop` exits 0 well
#      under 10 s with a clean PostgreSQL shutdown; `podman start` -> the data is still there;
#      the same image under --init (catatonit as PID 1) and through the Docker API (`docker run`);
#   3. the split variant (podman-compose.yml) comes up healthy, started in stages (podman
#      4.3 ignores service_healthy), and passes the same smoke test; `wms backup` and
#      `wms restore --force` against its DATABASE_URL; `docker compose config -q` accepts it;
#   4. sd_notify through `podman run --sdnotify=container`: READY=1 only once /health is 200;
#   6. rootless podman: the same image run by an unprivileged user (host networking here:
#      this machine's /dev/net/tun is root-only, so slirp4netns cannot run rootless);
#   5. systemd for real in a nested systemd + podman 5.4 container: `systemctl start` of the
#      Quadlet unit returns once the stack is ready; `systemd-analyze verify` is clean; the
#      split variant again there, on podman 5's netavark + aardvark-dns network backend.
# Before anything slow, a throwaway network checks that containers resolve each other by
# name (the split variant needs it), and fails in seconds naming the missing package.
# Everything the run creates (containers, networks, volumes, image tags) is removed on
# success and on failure; caches (base image, image layers, the venv, the compose plugin)
# are kept and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${WMS_CI_CACHE:-/var/cache/wms-ci}
mkdir -p "$CACHE"
W=$(mktemp -d)
# A tag of our own (removed at the end): a user's localhost/wms:latest is left alone. The
# layers stay as the build cache of the next run.
IMAGE=localhost/wms:ci-$$
NESTED_IMAGE=localhost/wms-nested:ci-$$
DNSCHECK=wms-ct-dnscheck-$$
export DISABLE_HC_SYSTEMD=true PODMAN_IGNORE_CGROUPSV1_WARNING=1
ADMIN_PW=container-admin-pw
JWT_SECRET=ct-jwt-secret-0123456789abcdef0123456789
# The capabilities the supervisor needs (README, "Least privilege"): dropping to service
# accounts, preparing directories, pg-init's chown, dropping bounding sets, signalling.
CAPS=CHOWN,DAC_OVERRIDE,FOWNER,SETUID,SETGID,SETPCAP,KILL
HARDENED=(--read-only --cap-drop=ALL "--cap-add=$CAPS" --security-opt no-new-privileges)
ROOTLESS=wms-ct-rootless
PIDS=()

say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  podman rm -f -v -t0 --ignore wms-ct wms-ct-init wms-ct-notify wms-ct-docker wms-ct-nested \
    "$DNSCHECK-a" "$DNSCHECK-b" >/dev/null 2>&1
  podman network rm -f "$DNSCHECK" >/dev/null 2>&1
  remove_compose
  podman volume rm -f wms-ct-data wms-ct-state wms-ct-data2 wms-ct-nested-storage >/dev/null 2>&1
  if id -u "$ROOTLESS" >/dev/null 2>&1; then
    runuser -u "$ROOTLESS" -- env XDG_RUNTIME_DIR="$W/rootless-run" HOME="$W/rootless-home" \
      podman system reset --force >/dev/null 2>&1
    userdel "$ROOTLESS" >/dev/null 2>&1
  fi
  for i in "$IMAGE" "$NESTED_IMAGE"; do
    podman image exists "$i" && podman untag "$i" "$i" >/dev/null 2>&1
  done
  rm -rf "$W"
}
# podman-compose links its containers: remove dependents first, then their pod (left
# behind otherwise, and reused by the next run on the same machine), the volume (its
# `down -v` leaves named volumes behind on this podman) and the project's network (a
# network made before the DNS plugin was installed would stay without name resolution).
remove_compose() {
  for c in wms_web_1 wms_backend_1 wms_postgres_1; do podman rm -f -v -t0 --ignore "$c" >/dev/null 2>&1; done
  podman pod rm -f --ignore pod_wms >/dev/null 2>&1
  podman volume rm -f wms_wms-data >/dev/null 2>&1
  podman network rm -f wms_wms >/dev/null 2>&1
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
wait_code() {   # URL CODE SECONDS
  local end=$((SECONDS + $3))
  until [ "$(code "$1")" = "$2" ]; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}
wait_healthy() {   # CONTAINER SECONDS: drive the HEALTHCHECK by hand (no systemd timers here)
  local end=$((SECONDS + $2))
  until podman healthcheck run "$1" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { podman logs --tail 30 "$1"; fail "$1 not healthy after $2 s"; }
    sleep 1
  done
  [ "$(podman inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] || fail "$1: health status not healthy"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }

# The API smoke test: log in, create a product, receive 5, find the receipt in the journal.
smoke() {   # BASE_URL PASSWORD TAG
  local base=$1 pw=$2 tag=$3 token product
  token=$(curl -sf -X POST "$base/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@wms.example.com\",\"password\":\"$pw\"}" | json 'd["access_token"]') \
    || fail "login at $base"
  product=$(curl -sf -X POST "$base/api/products/" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"barcode\":\"CT-$tag\",\"seller_sku\":\"sku-$tag\",\"brand\":\"Acme\"}" | json 'd["id"]') || fail "create product at $base"
  curl -sf -X POST "$base/api/stock/movements" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"operation_type\":\"receipt\",\"product_id\":\"$product\",\"quantity\":5}" >/dev/null || fail "receipt at $base"
  local total
  total=$(curl -sf "$base/api/stock/movements?barcode=CT-$tag" -H "Authorization: Bearer $token" | json 'd["total"]')
  [ "$total" = 1 ] || fail "journal at $base has $total movements for CT-$tag"
  echo "$token"
}
journal_total() {   # BASE TOKEN TAG
  curl -sf "$1/api/stock/movements?barcode=CT-$3" -H "Authorization: Bearer $2" | json 'd["total"]'
}

say "setup: base image, podman-compose, docker compose plugin"
if ! podman image exists docker.io/library/debian:trixie-slim; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  debootstrap --variant=minbase trixie "$W/rootfs" >/dev/null
  tar -C "$W/rootfs" -c . | podman import - docker.io/library/debian:trixie-slim >/dev/null
fi

say "setup: containers on one network resolve each other by name (the split variant needs it)"
# podman 4 with the CNI backend (Debian 12's default) resolves names only with the dnsname
# plugin; netavark needs aardvark-dns. Checked on a throwaway network in seconds, not after
# minutes of building and a 120 s healthcheck timeout.
backend=$(podman info --format '{{.Host.NetworkBackend}}')
case $backend in
  cni) missing="the CNI dnsname plugin (Debian: apt-get install golang-github-containernetworking-plugin-dnsname)" ;;
  netavark) missing="aardvark-dns (Debian: apt-get install aardvark-dns)" ;;
  *) missing="a DNS plugin for the $backend network backend" ;;
esac
podman network create "$DNSCHECK" >/dev/null
podman run -d --name "$DNSCHECK-a" --network "$DNSCHECK" docker.io/library/debian:trixie-slim sleep 120 >/dev/null
timeout 30 podman run --rm --name "$DNSCHECK-b" --network "$DNSCHECK" docker.io/library/debian:trixie-slim \
    getent hosts "$DNSCHECK-a" >/dev/null \
  || fail "containers on a podman network ($backend backend) cannot resolve each other by name: podman-compose.yml needs $missing"
podman rm -f -v -t0 "$DNSCHECK-a" >/dev/null
podman network rm -f "$DNSCHECK" >/dev/null
echo "name resolution works ($backend backend)"

[ -x "$CACHE/venv/bin/podman-compose" ] || { python3 -m venv "$CACHE/venv" && "$CACHE/venv/bin/pip" install -q podman-compose; }
COMPOSE_PLUGIN="$CACHE/docker/cli-plugins/docker-compose"
if [ ! -x "$COMPOSE_PLUGIN" ]; then
  # Compose v2 from Debian trixie's package, fetched with trixie's own apt.
  mkdir -p "$CACHE/docker/cli-plugins"
  podman run --rm -v "$CACHE/docker:/out" docker.io/library/debian:trixie-slim sh -c \
    'apt-get update -qq && cd /tmp && apt-get download -qq docker-compose && dpkg-deb -x docker-compose_*.deb x && cp x/usr/libexec/docker/cli-plugins/docker-compose /out/cli-plugins/' >/dev/null
fi

say "1. build the image"
secret=()
[ -s /etc/ssl/certs/ca-certificates.crt ] && secret=(--secret id=extra-ca,src=/etc/ssl/certs/ca-certificates.crt)
start=$SECONDS
podman build -q --pull=never --format docker "${secret[@]}" -t "$IMAGE" "$ROOT" >/dev/null
echo "built in $((SECONDS - start)) s; size $(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
[ "$(podman image inspect -f '{{.Config.Healthcheck.Test}}' "$IMAGE")" = "[CMD wms probe http://127.0.0.1:8080/health]" ] \
  || fail "HEALTHCHECK missing from the image"
podman run --rm --entrypoint sh "$IMAGE" -c 'test ! -e /run/secrets/extra-ca' \
  || fail "the build secret leaked into the image"

say "1. run hardened with a volume: healthy, smoke test, secrets honoured, wms ctl status"
P1=$(port)
podman run -d --name wms-ct "${HARDENED[@]}" -p "127.0.0.1:$P1:8080" \
  -v wms-ct-data:/var/lib/postgresql/data -v wms-ct-state:/var/lib/wms \
  -e POSTGRES_PASSWORD=ct-pg-secret -e SECRET_KEY="$JWT_SECRET" -e WMS_ADMIN_PASSWORD="$ADMIN_PW" "$IMAGE" >/dev/null
start=$SECONDS
wait_healthy wms-ct 120
echo "healthy after $((SECONDS - start)) s"
B1="http://127.0.0.1:$P1"
TOKEN=$(smoke "$B1" "$ADMIN_PW" one)
python3 - "$TOKEN" "$JWT_SECRET" <<'PY' || fail "the token is not signed with SECRET_KEY"
import base64, hashlib, hmac, sys
head, body, sig = sys.argv[1].split(".")
want = base64.urlsafe_b64encode(hmac.new(sys.argv[2].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
sys.exit(0 if hmac.compare_digest(want, sig) else 1)
PY
[ "$(podman exec -e PGPASSWORD=ct-pg-secret wms-ct psql -h 127.0.0.1 -U postgres -d wms -tAc 'select 1')" = 1 ] \
  || fail "POSTGRES_PASSWORD not honoured"
podman exec wms-ct wms ctl status | tee "$W/ctl.txt"
grep -q '^backend  *ready' "$W/ctl.txt" && grep -q 'status: healthy' "$W/ctl.txt" || fail "wms ctl status"

say "1. backups as README.md says: the archive is current, wms backup streams a dump out"
end=$((SECONDS + 60))
until podman exec wms-ct wms backup status >/dev/null 2>&1; do
  [ $SECONDS -lt $end ] || { podman exec wms-ct wms backup status; fail "the archive is not current 60 s after boot"; }
  sleep 1
done
[ "$(curl -s "http://127.0.0.1:$P1/health" | json 'd["backup"]["status"]')" = ok ] || fail "/health has no current backup section"
podman exec wms-ct wms backup > "$W/ct.dump" || fail "wms backup"
[ "$(head -c 5 "$W/ct.dump")" = PGDMP ] || fail "wms backup did not write a pg_dump archive to stdout"
podman exec wms-ct wms backup verify | tail -1 | grep -q '^ok' || fail "wms backup verify"
echo "backup: $(wc -c < "$W/ct.dump") bytes; archive current; drill ok"

say "1. least privilege inside: accounts, capabilities, no_new_privs, environments, /health"
# One line per process: pid uid CapEff CapBnd NoNewPrivs command.
# (The listing's own shell, its tr and awk run with podman exec's capabilities: skipped.)
podman exec wms-ct sh -c 'for s in /proc/[0-9]*/status; do d=${s%/status}; [ "${d#/proc/}" = $$ ] && continue; c=$(tr "\0\n" "  " < $d/cmdline 2>/dev/null) || continue; awk -v c="$c" -v p="${d#/proc/}" "/^Uid:/{u=\$2} /^CapEff:/{e=\$2} /^CapBnd:/{b=\$2} /^NoNewPrivs:/{n=\$2} END{print p, u, e, b, n, c}" $s; done' > "$W/procs.txt"
cat "$W/procs.txt"
owner() { awk -v w="$1" 'index($0, w) {print $2; exit}' "$W/procs.txt"; }
[ "$(owner 'wms supervise')" = 0 ] || fail "the supervisor is not root"
[ "$(owner 'wms backend')" = 10001 ] || fail "backend runs as uid $(owner 'wms backend'), not wms (10001)"
[ "$(owner 'wms web')" = 10002 ] || fail "web runs as uid $(owner 'wms web'), not wms-web (10002)"
[ "$(owner 'postgres -D')" = 999 ] || fail "postgres runs as uid $(owner 'postgres -D')"
awk '$1 != 1 && $6 != "tr" && $6 != "awk" && NF >= 6 && ($3 != "0000000000000000" || $4 != "0000000000000000" || $5 != 1) {bad = bad $0 "\n"}
     END {if (bad) {printf "capabilities or no_new_privs left:\n%s", bad; exit 1}}' "$W/procs.txt" \
  || fail "a service keeps capabilities or may gain privileges"
web_pid=$(awk '/wms web/ {print $1; exit}' "$W/procs.txt")
# As web's own account: root in this container has no CAP_SYS_PTRACE, which reading
# another account's environ needs.
podman exec --user wms-web wms-ct sh -c "tr '\0' '\n' < /proc/$web_pid/environ" > "$W/web.env" \
  || fail "cannot read web's environment"
if grep -E '^(SECRET_KEY|POSTGRES_PASSWORD|WMS_ADMIN_PASSWORD|DATABASE_PASSWORD|DATABASE_URL)=' "$W/web.env"; then
  fail "web's environment holds a secret"
fi
curl -s "$B1/health" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(any("pid" in s or "last_output" in s for s in d["services"].values()))' \
  || fail "the public /health shows pids or output"
podman exec wms-ct sh -c 'touch /usr/local/bin/x 2>/dev/null' && fail "the root file system is writable"

say "2. kill the backend inside: degraded, then healthy"
pid=$(podman exec wms-ct wms ctl status --json | json 'd["services"]["backend"]["pid"]')
podman exec wms-ct kill -9 "$pid"
# The restart takes ~0.1 s, too short to catch /health at 503 reliably by polling; the
# supervisor logs every change of the aggregate, so read it there.
end=$((SECONDS + 10))
until podman logs wms-ct 2>&1 | grep -c 'status: degraded' | grep -qx 1; do
  [ $SECONDS -lt $end ] || fail "the aggregate never turned degraded after the backend was killed"
  sleep 0.2
done
start=$SECONDS
wait_code "$B1/health" 200 30 || fail "/health did not recover"
restarts=$(curl -s "$B1/health" | json 'd["services"]["backend"]["restarts"]')
[ "$restarts" = 1 ] || fail "backend restarts = $restarts"
echo "healthy again after $((SECONDS - start)) s"

say "2. podman stop: exit 0 well under 10 s, clean PostgreSQL shutdown; podman start: data kept"
start=$(date +%s%N)
podman stop -t 10 wms-ct >/dev/null
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
exit_code=$(podman inspect -f '{{.State.ExitCode}}' wms-ct)
echo "stopped in $took_ms ms, exit code $exit_code"
[ "$exit_code" = 0 ] || fail "exit code $exit_code"
[ "$took_ms" -lt 8000 ] || fail "stop took $took_ms ms"
podman logs wms-ct > "$W/stop.log" 2>&1
grep -q 'database system is shut down' "$W/stop.log" || fail "no clean PostgreSQL shutdown in the log"
podman start wms-ct >/dev/null
wait_healthy wms-ct 120
[ "$(journal_total "$B1" "$(smoke "$B1" "$ADMIN_PW" two)" one)" = 1 ] || fail "data lost across stop/start"
podman logs wms-ct > "$W/start.log" 2>&1
! grep -q 'automatic recovery in progress' "$W/start.log" || fail "recovery needed after a clean stop"
podman rm -f -v -t0 wms-ct >/dev/null

say "2. under --init (catatonit as PID 1, the supervisor as a subreaper)"
P2=$(port)
podman run -d --init --name wms-ct-init -p "127.0.0.1:$P2:8080" -v wms-ct-data2:/var/lib/postgresql/data \
  -e WMS_ADMIN_PASSWORD="$ADMIN_PW" "$IMAGE" >/dev/null
wait_healthy wms-ct-init 120
smoke "http://127.0.0.1:$P2" "$ADMIN_PW" init >/dev/null
init_comm=$(podman exec wms-ct-init cat /proc/1/comm)
case $init_comm in catatonit|podman-init) ;; *) fail "PID 1 is $init_comm, not podman's init" ;; esac
podman exec wms-ct-init sh -c 'test -s /var/lib/postgresql/data/wms-postgres-password' || fail "no generated password"
podman stop -t 10 wms-ct-init >/dev/null
[ "$(podman inspect -f '{{.State.ExitCode}}' wms-ct-init)" = 0 ] || fail "--init: exit code"
podman rm -f -v -t0 wms-ct-init >/dev/null

say "2. docker run (through the Docker-compatible API)"
podman system service --time=0 "unix://$W/docker.sock" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$W/docker.sock" ] && break; sleep 0.1; done
P3=$(port)
DOCKER_HOST="unix://$W/docker.sock" docker run -d --name wms-ct-docker -p "127.0.0.1:$P3:8080" \
  -e WMS_ADMIN_PASSWORD="$ADMIN_PW" "$IMAGE" >/dev/null
wait_code "http://127.0.0.1:$P3/health" 200 120 || fail "docker run: not healthy"
smoke "http://127.0.0.1:$P3" "$ADMIN_PW" docker >/dev/null
DOCKER_HOST="unix://$W/docker.sock" docker stop -t 10 wms-ct-docker >/dev/null
[ "$(podman inspect -f '{{.State.ExitCode}}' wms-ct-docker)" = 0 ] || fail "docker stop: exit code"
podman rm -f -v -t0 wms-ct-docker >/dev/null

say "6. rootless podman: an unprivileged user runs the same image, hardened"
id -u "$ROOTLESS" >/dev/null 2>&1 && fail "the account $ROOTLESS exists already (left by another run?)"
useradd --no-create-home --home-dir "$W/rootless-home" --shell /usr/sbin/nologin "$ROOTLESS"
grep -q "^$ROOTLESS:" /etc/subuid || usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$ROOTLESS"
mkdir -p "$W/rootless-home" "$W/rootless-run"
chmod 711 "$W"   # mktemp made it 0700: the account must reach its home inside
chown "$ROOTLESS" "$W/rootless-home" "$W/rootless-run"; chmod 700 "$W/rootless-run"
rl() { runuser -u "$ROOTLESS" -- env -C "$W/rootless-home" XDG_RUNTIME_DIR="$W/rootless-run" HOME="$W/rootless-home" \
  PODMAN_IGNORE_CGROUPSV1_WARNING=1 podman "$@"; }
podman save "$IMAGE" -o "$W/image.tar" && chmod 644 "$W/image.tar"
rl load -q -i "$W/image.tar" >/dev/null
rm -f "$W/image.tar"
P6=$(port)
rl run -d --name wms-ct-rootless "${HARDENED[@]}" --network host \
  -e WMS_WEB_PORT="$P6" -e PGPORT="$(port)" -e WMS_BACKEND_PORT="$(port)" -e WMS_HEALTH_LISTEN="127.0.0.1:$(port)" \
  -e WMS_ADMIN_PASSWORD="$ADMIN_PW" "$IMAGE" >/dev/null
wait_code "http://127.0.0.1:$P6/health" 200 120 || { rl logs --tail 30 wms-ct-rootless; fail "rootless: not healthy"; }
smoke "http://127.0.0.1:$P6" "$ADMIN_PW" rootless >/dev/null
rl stop -t 10 wms-ct-rootless >/dev/null
[ "$(rl inspect -f '{{.State.ExitCode}}' wms-ct-rootless)" = 0 ] || fail "rootless: exit code"
echo "rootless: healthy, smoke test passed, clean stop"

say "3. the split variant: podman-compose, staged start; docker compose config -q"
DOCKER_CONFIG="$CACHE/docker" WMS_DB_PASSWORD=x docker compose -f podman-compose.yml config -q \
  || fail "docker compose rejects podman-compose.yml"
mkdir -p "$W/compose" && cp podman-compose.yml "$W/compose/"
remove_compose   # whatever an aborted run left behind
P4=$(port)
(
  cd "$W/compose"
  export WMS_DB_PASSWORD=compose-db-secret WMS_PORT=$P4 WMS_IMAGE=$IMAGE WMS_ADMIN_PASSWORD="$ADMIN_PW"
  pc() { "$CACHE/venv/bin/podman-compose" -f podman-compose.yml "$@" >/dev/null 2>&1; }
  # podman 4.3 ignores condition: service_healthy, so start in dependency order by hand.
  pc up -d postgres && wait_healthy wms_postgres_1 120
  pc up -d backend && wait_healthy wms_backend_1 120
  pc up -d web && wait_healthy wms_web_1 60
)
( smoke "http://127.0.0.1:$P4" "$ADMIN_PW" compose >/dev/null ) \
  || { podman logs --tail 20 wms_backend_1; fail "compose smoke test"; }
for c in wms_postgres_1 wms_backend_1 wms_web_1; do
  [ "$(podman inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$c")" = unless-stopped ] || fail "$c restart policy"
done
[ -z "$(podman port wms_postgres_1)" ] && [ -z "$(podman port wms_backend_1)" ] || fail "only web may publish ports"
# Backups of the split variant (docs/operations.md): the commands run in the backend's
# container against its DATABASE_URL; a restore over the data needs --force.
podman exec wms_backend_1 wms backup > "$W/compose.dump" || fail "wms backup in the split variant"
[ "$(head -c 5 "$W/compose.dump")" = PGDMP ] || fail "the split variant's dump"
podman exec -i wms_backend_1 wms restore - < "$W/compose.dump" >/dev/null 2>&1 \
  && fail "a restore over data without --force was accepted"
podman exec -i wms_backend_1 wms restore --force - < "$W/compose.dump" || fail "wms restore --force in the split variant"
TOKEN4=$(curl -sf -X POST "http://127.0.0.1:$P4/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@wms.example.com\",\"password\":\"$ADMIN_PW\"}" | json 'd["access_token"]') \
  || fail "login after the restore"
[ "$(journal_total "http://127.0.0.1:$P4" "$TOKEN4" compose)" = 1 ] || fail "the restored split variant lost the journal"
remove_compose

say "4. sd_notify: READY=1 only once /health is 200"
python3 - "$W/notify.sock" "$W/notify.log" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        m, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
        for lvl, typ, data in anc:   # acknowledge sd_notify_barrier(): close passed fds
            if typ == socket.SCM_RIGHTS:
                [os.close(int.from_bytes(data[i:i+4], "little")) for i in range(0, len(data) - 3, 4)]
        for line in m.decode().splitlines():
            f.write("%.3f %s\n" % (time.time(), line))
PY
PIDS+=($!)
for _ in $(seq 50); do [ -S "$W/notify.sock" ] && break; sleep 0.1; done
P5=$(port)
NOTIFY_SOCKET="$W/notify.sock" podman run -d --name wms-ct-notify --sdnotify=container -p "127.0.0.1:$P5:8080" "$IMAGE" >/dev/null
last_503=0
while ! grep -q ' READY=1' "$W/notify.log" 2>/dev/null; do
  c=$(code "http://127.0.0.1:$P5/health")
  [ "$c" = 200 ] || last_503=$(date +%s.%N)
  [ "$(podman inspect -f '{{.State.Running}}' wms-ct-notify)" = true ] || fail "notify container died"
  sleep 0.05
done
ready_at=$(awk '/ READY=1/ {print $1; exit}' "$W/notify.log")
[ "$(code "http://127.0.0.1:$P5/health")" = 200 ] || fail "READY=1 arrived but /health is not 200"
python3 -c "import sys; r,l=float(sys.argv[1]),float(sys.argv[2]); print('READY=1 %.0f ms after the last 503' % ((r-l)*1000)); sys.exit(0 if r >= l - 0.1 else 1)" "$ready_at" "$last_503" \
  || fail "READY=1 came while /health still answered 503"
podman rm -f -v -t0 wms-ct-notify >/dev/null

say "5. systemd for real: Quadlet unit in a nested systemd 257 + podman 5.4"
cat > "$W/Containerfile.nested" <<'CF'
FROM docker.io/library/debian:trixie-slim
ENV DEBIAN_FRONTEND=noninteractive PODMAN_IGNORE_CGROUPSV1_WARNING=1
RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv dbus podman crun \
      conmon netavark aardvark-dns catatonit iptables curl ca-certificates podman-compose \
 && rm -rf /var/lib/apt/lists/*
RUN printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "crun"\n[network]\nfirewall_driver = "iptables"\n' > /etc/containers/containers.conf \
 && mkdir -p /etc/systemd/system.conf.d \
 && printf '[Manager]\nDefaultEnvironment=PODMAN_IGNORE_CGROUPSV1_WARNING=1\n' > /etc/systemd/system.conf.d/podman.conf
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
CF
podman build -q --pull=never -f "$W/Containerfile.nested" -t "$NESTED_IMAGE" "$W" >/dev/null
podman run -d --name wms-ct-nested --privileged --systemd=always -v wms-ct-nested-storage:/var/lib/containers \
  "$NESTED_IMAGE" >/dev/null
for _ in $(seq 60); do
  s=$(podman exec wms-ct-nested systemctl is-system-running 2>/dev/null || true)
  [[ $s == running || $s == degraded ]] && break; sleep 1
done
podman save "$IMAGE" | podman exec -i wms-ct-nested podman load -q >/dev/null
podman exec wms-ct-nested podman tag "$IMAGE" localhost/wms:latest   # the name deploy/ uses
podman exec wms-ct-nested mkdir -p /etc/containers/systemd /etc/wms
podman cp deploy/wms.container wms-ct-nested:/etc/containers/systemd/wms.container
podman exec wms-ct-nested sh -c "printf 'POSTGRES_PASSWORD=nested-pg\nWMS_ADMIN_PASSWORD=$ADMIN_PW\n' > /etc/wms/wms.env"
podman exec wms-ct-nested /usr/libexec/podman/quadlet -dryrun >/dev/null || fail "quadlet rejects wms.container"
podman exec wms-ct-nested systemctl daemon-reload
start=$SECONDS
podman exec wms-ct-nested systemctl start wms.service || { podman exec wms-ct-nested journalctl -u wms --no-pager | tail -40; fail "systemctl start wms"; }
echo "systemctl start returned after $((SECONDS - start)) s"
# (Published ports on 127.0.0.1 do not forward inside this nested podman; ask the app
# container itself.)
podman exec wms-ct-nested podman exec wms wms probe http://127.0.0.1:8080/health \
  || fail "systemctl start returned before the stack was healthy"
state=$(podman exec wms-ct-nested systemctl show -p ActiveState -p SubState --value wms.service | tr '\n' ' ')
[ "$state" = "active running " ] || fail "wms.service is '$state'"
# Verify every unit we ship; any output (warnings included) is a failure.
podman exec wms-ct-nested sh -c 'podman run --rm --entrypoint cat localhost/wms:latest /usr/local/bin/wms > /usr/local/bin/wms && chmod +x /usr/local/bin/wms'
podman cp deploy/wms.service wms-ct-nested:/etc/systemd/system/wms-podman.service
podman cp deploy/wms-host.service wms-ct-nested:/etc/systemd/system/wms-host.service
out=$(podman exec wms-ct-nested systemd-analyze verify /etc/systemd/system/wms-podman.service \
  /etc/systemd/system/wms-host.service /run/systemd/generator/wms.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
podman exec wms-ct-nested systemctl stop wms.service

say "5. the split variant on podman 5 (netavark + aardvark-dns), service_healthy honoured"
podman exec wms-ct-nested sh -c '[ "$(podman info --format "{{.Host.NetworkBackend}}")" = netavark ]' \
  || fail "the nested podman does not use netavark"
podman exec wms-ct-nested mkdir -p /srv/compose
podman cp podman-compose.yml wms-ct-nested:/srv/compose/podman-compose.yml
# (Without a pod: podman 5 cannot create a pod's cgroup in this nested, cgroup-v1 systemd.)
nested_compose() {
  # Debian's podman-compose 1.3.0 leaves `KEY: ${KEY:-default}` unexpanded when KEY is unset
  # (a self-reference): every such variable is set, as .env.example does (README).
  timeout 300 podman exec -w /srv/compose -e WMS_DB_PASSWORD=nested-compose-db -e WMS_ADMIN_PASSWORD="$ADMIN_PW" \
    -e POSTGRES_USER=postgres -e POSTGRES_DB=wms -e WMS_DB_USER=wms -e POSTGRES_PASSWORD= -e SECRET_KEY= \
    -e WMS_ADMIN_EMAIL=admin@wms.example.com \
    -e WMS_IMAGE=localhost/wms:latest -e WMS_PORT=18080 wms-ct-nested podman-compose --in-pod=false -f podman-compose.yml "$@"
}
start=$SECONDS
nested_compose up -d > "$W/nested-compose.log" 2>&1 \
  || { tail -30 "$W/nested-compose.log"; podman exec wms-ct-nested podman ps -a
       podman exec wms-ct-nested podman logs --tail 30 wms_postgres_1
       fail "podman-compose up in the nested podman"; }
end=$((SECONDS + 180))
until podman exec wms-ct-nested podman exec wms_web_1 wms probe http://127.0.0.1:8080/health >/dev/null 2>&1; do
  [ $SECONDS -lt $end ] || { podman exec wms-ct-nested podman ps -a; fail "nested compose: web not healthy"; }
  sleep 1
done
echo "nested compose healthy after $((SECONDS - start)) s"
# Log in and read the stock summary through web -> backend -> postgres, every hop by name.
web_ip=$(podman exec wms-ct-nested podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' wms_web_1)
cat > "$W/nested-smoke.sh" <<'SH'
set -eu
base=http://$1:8080
token=$(curl -sf -X POST "$base/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@wms.example.com\",\"password\":\"$2\"}" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ]
curl -sf "$base/api/stock/summary" -H "Authorization: Bearer $token" >/dev/null
SH
podman cp "$W/nested-smoke.sh" wms-ct-nested:/srv/compose/smoke.sh
podman exec wms-ct-nested sh /srv/compose/smoke.sh "$web_ip" "$ADMIN_PW" \
  || fail "nested compose: API through web -> backend -> postgres"
nested_compose down -v >/dev/null 2>&1 || true
podman rm -f -v -t0 wms-ct-nested >/dev/null

echo
echo "container tests: all passed"
