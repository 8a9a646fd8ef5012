#!/usr/bin/env bash
# Time to a working stack, cold (a new data volume), three ways, same image, same run:
#
#   * the single container: `podman run` to /health 200 on the published port;
#   * the split variant (podman-compose.yml) with its own healthchecks (2 s interval);
#   * the same split variant with the seed's healthcheck interval (10 s) — the anchor.
#
# For the split variants the engine's gating is replayed as compose does it: a service is
# started when its dependency is healthy, and a container's health is checked `interval`
# after it starts and every `interval` after that (`podman healthcheck run`; this podman
# has no systemd timers to run them and ignores `condition: service_healthy`).
# Needs podman, the image (`localhost/wms:latest`, built by tests/container/run.sh) and
# podman-compose (the venv tests/container/run.sh keeps in /var/cache/wms-ci/venv, or PATH).
source "$(dirname "$0")/lib.sh"
need podman podman; need curl curl
IMAGE=${WMS_IMAGE:-localhost/wms:latest}
podman image exists "$IMAGE" || { echo "bench: no image $IMAGE: run tests/container/run.sh (it builds it)" >&2; exit 1; }
PC=$(command -v podman-compose || echo "${WMS_CI_CACHE:-/var/cache/wms-ci}/venv/bin/podman-compose")
[ -x "$PC" ] || { echo "bench: podman-compose is missing (pip install podman-compose)" >&2; exit 1; }
# No systemd here to run healthcheck timers: they are run by hand below.
export PODMAN_IGNORE_CGROUPSV1_WARNING=1 DISABLE_HC_SYSTEMD=true

W=$(mktemp -d)
clean() {
  podman rm -f -t0 --ignore wms-bench-single wms_web_1 wms_backend_1 wms_postgres_1 >/dev/null 2>&1 || true
  podman volume rm -f wms-bench-data wms_wms-data >/dev/null 2>&1 || true   # may still be in use a moment
}
trap 'clean; rm -rf "$W"' EXIT
clean
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
until_200() { until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ]; do sleep 0.01; done; }

# ---- the single container -------------------------------------------------------------------
P=$(free_port)
t0=$(now)
podman run -d --name wms-bench-single -p "127.0.0.1:$P:8080" -v wms-bench-data:/var/lib/postgresql/data \
  -e POSTGRES_PASSWORD=bench-pg -e SECRET_KEY=bench-secret-key-0123456789abcdef "$IMAGE" >/dev/null
timeout 120 bash -c "$(declare -f until_200); until_200 http://127.0.0.1:$P/health" \
  || { podman logs --tail 30 wms-bench-single >&2; echo "bench: single container not healthy" >&2; exit 1; }
single=$(ms_since "$t0")
clean

# ---- the split variant, gated the way compose gates ------------------------------------------
split() {   # INTERVAL_S: prints "ms_to_web_healthy ms_to_/health_200_from_outside"
  local interval=$1 p t0 svc c started outside=""
  p=$(free_port)
  cp "$ROOT/podman-compose.yml" "$W/podman-compose.yml"
  t0=$(now)
  for svc in postgres backend web; do
    c="wms_${svc}_1"
    (cd "$W" && POSTGRES_PASSWORD=bench-pg WMS_PORT=$p WMS_IMAGE=$IMAGE "$PC" -f podman-compose.yml up -d "$svc" >/dev/null 2>&1)
    started=$(now)
    for k in $(seq 1 60); do
      # The k-th check runs k intervals after the container started.
      local due=$(( started + k * interval * 1000000000 ))
      while [ "$(now)" -lt "$due" ]; do
        [ -z "$outside" ] && [ "$svc" = web ] \
          && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$p/health")" = 200 ] \
          && outside=$(ms_since "$t0")
        sleep 0.01
      done
      podman healthcheck run "$c" >/dev/null 2>&1 && break
      [ "$k" -lt 60 ] || { podman logs --tail 30 "$c" >&2; echo "bench: $c never healthy" >&2; exit 1; }
    done
  done
  echo "$(ms_since "$t0") ${outside:-n/a}"
  clean
}
split 2 > "$W/ours"; read -r ours ours_out < "$W/ours"
split 10 > "$W/seed"; read -r seed seed_out < "$W/seed"

echo "## Cold start to a working stack: single container and split compose ($(machine))"
echo
echo "Image \`$IMAGE\`, a new data volume each time (initdb, migrations, seed)."
echo
echo "| variant | to healthy as the engine sees it (ms) | to /health 200 from outside (ms) |"
echo "|---|---|---|"
echo "| single container (\`podman run\`, our supervisor gates on its own probes) | $single | $single |"
echo "| split, podman-compose.yml (2 s healthchecks) | $ours | $ours_out |"
echo "| split, the seed's healthcheck interval (10 s) — anchor | $seed | $seed_out |"
echo
echo "single / seed's split: $(ratio "$single" "$seed"); split (ours) / seed's split: $(ratio "$ours" "$seed")."
echo "The single container's time includes \`podman run\` creating the container and volume; the"
echo "supervisor's own share of a boot is in the startup timeline above."
