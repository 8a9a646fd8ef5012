#!/usr/bin/env bash
# The container image's size: whole, by layer (podman history), and what its file system
# holds (the image mounted read-only, du by directory). Target (issue 18): <= 250 MB with
# the same features; the anchor is the image the first round shipped, 589 MB (built from
# that main on this machine: it is not rebuilt here).
# Needs podman and the image (`localhost/wms:latest`, built by tests/container/run.sh).
source "$(dirname "$0")/lib.sh"
need podman podman
IMAGE=${IMAGE:-localhost/wms:latest}
podman image exists "$IMAGE" || { echo "bench: no image $IMAGE: run tests/container/run.sh (it builds it)" >&2; exit 1; }

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
size=$(podman image inspect -f '{{.Size}}' "$IMAGE")
echo "## Container image ($(machine))"
echo
echo "\`$IMAGE\`: **$(mb "$size") MB** (the first round's image: 589 MB; target <= 250 MB: $(awk -v b="$size" 'BEGIN { print (b <= 250e6) ? "met" : "missed" }'))."
echo
echo "| layer | size MB |"
echo "|---|---|"
# Newest first, as podman lists them; empty layers (metadata only) left out.
podman history --no-trunc --format json "$IMAGE" | python3 -c '
import json, re, sys
for layer in json.load(sys.stdin):
    size = layer.get("size") or 0
    if size <= 0:
        continue
    by = (layer.get("createdBy") or layer.get("CreatedBy") or "").replace("/bin/sh -c #(nop) ", "")
    by = re.sub("(file|dir):[0-9a-f]{64}", lambda m: m.group(1), by).replace("|", "/")[:90]
    print("| `%s` | %.1f |" % (by, size / 1e6))'
echo
root=$(podman image mount "$IMAGE")
trap 'podman image unmount "$IMAGE" >/dev/null 2>&1 || true' EXIT
echo "| in the file system | size MB |"
echo "|---|---|"
du_mb() { du -sb "$root/$1" 2>/dev/null | awk '{ printf "%.1f", $1 / 1e6 }'; }
total=$(du -sb "$root" | cut -f1)
listed=0
for d in usr/local/bin/wms usr/share/wms/www usr/lib/postgresql usr/share/postgresql usr/lib/x86_64-linux-gnu; do
  [ -e "$root/$d" ] || continue
  b=$(du -sb "$root/$d" | cut -f1); listed=$((listed + b))
  echo "| /$d | $(du_mb "$d") |"
done
echo "| everything else | $(mb $((total - listed))) |"
echo "| all files | $(mb "$total") |"
