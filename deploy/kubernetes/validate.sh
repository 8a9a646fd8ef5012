#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (no cluster needed):
#   1. render every kustomization (base, overlays/*) with render.py; where kubectl is
#      installed, `kubectl kustomize` must give byte-identical output;
#   2. validate every rendered object and the Secrets make-secret.sh prints against the
#      Kubernetes JSON schemas (kubernetes-validate, --strict) for several Kubernetes
#      versions; any warning fails, as does an error;
#   3. policy.py: our deployment rules (roles, replicas and PDBs, probes, resources,
#      non-root, secrets by reference only, termination grace);
#   4. negative controls: a misspelled field, an API version the schemas do not know and a
#      single-replica Deployment must each be caught, so a silently passing validator fails.
#
#   deploy/kubernetes/validate.sh [--out DIR]    (DIR keeps the rendered YAML)
#
# kubernetes-validate (pinned) lives in a venv under $WMS_CI_CACHE (default
# /var/cache/wms-ci)/k8s-venv, installed from PyPI on first use; needs python3 with venv.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
CACHE=${WMS_CI_CACHE:-/var/cache/wms-ci}
VENV=$CACHE/k8s-venv
KV_PIN=1.37.0
K8S_VERSIONS=${WMS_K8S_VERSIONS:-1.29.0 1.33.0 1.37.0}
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    *) echo "validate.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*" >&2; exit 1; }
start=$SECONDS
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT"

if [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" != "$KV_PIN" ]; then
  echo "== installing kubernetes-validate $KV_PIN into $VENV"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" || fail "python3 -m venv (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KV_PIN" \
    || fail "pip install kubernetes-validate==$KV_PIN"
fi
PY=$VENV/bin/python
KV=$VENV/bin/kubernetes-validate

# kubernetes-validate exits 0 on warnings (an unknown kind or API version is only a WARN):
# accept nothing but INFO lines.
validate() {   # FILE EXPECT(pass|fail)
  local v out rc
  for v in $K8S_VERSIONS; do
    rc=0
    out=$("$KV" --strict -k "$v" "$1" 2>&1) || rc=$?
    if [ "$2" = pass ]; then
      [ "$rc" = 0 ] || fail "kubernetes-validate $v $1:"$'\n'"$out"
      if grep -v '^INFO ' <<<"$out" | grep -q .; then
        fail "kubernetes-validate $v $1 warned:"$'\n'"$(grep -v '^INFO ' <<<"$out")"
      fi
      [ "$(grep -c '^INFO .* passed for resource' <<<"$out")" -ge 1 ] || fail "kubernetes-validate $v $1 validated nothing"
    else
      if [ "$rc" = 0 ] && ! grep -v '^INFO ' <<<"$out" | grep -q .; then
        fail "negative control $1 passed kubernetes-validate $v"
      fi
    fi
  done
}

echo "== render"
overlays=(base)
for d in overlays/*/; do overlays+=("${d%/}"); done
have_kubectl=false
command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1 && have_kubectl=true
for d in "${overlays[@]}"; do
  name=${d##*/}
  "$PY" render.py "$d" -o "$OUT/$name.yaml" || fail "render.py $d"
  n=$(grep -c '^kind: ' "$OUT/$name.yaml")
  if $have_kubectl; then
    kubectl kustomize "$d" > "$TMP/$name.kubectl.yaml" || fail "kubectl kustomize $d"
    cmp -s "$OUT/$name.yaml" "$TMP/$name.kubectl.yaml" \
      || fail "render.py and kubectl kustomize differ for $d:"$'\n'"$(diff "$OUT/$name.yaml" "$TMP/$name.kubectl.yaml" | head -40)"
    echo "$d: $n objects (identical to kubectl kustomize)"
  else
    echo "$d: $n objects (kubectl not installed: render.py only)"
  fi
done
./make-secret.sh > "$OUT/secret-base.yaml" 2>/dev/null || fail "make-secret.sh"
./make-secret.sh --database-url 'postgresql://wms:pw@db:5432/wms' > "$OUT/secret-external-db.yaml" 2>/dev/null \
  || fail "make-secret.sh --database-url"

echo "== kubernetes-validate $KV_PIN --strict against Kubernetes $K8S_VERSIONS"
for d in "${overlays[@]}"; do validate "$OUT/${d##*/}.yaml" pass; done
validate "$OUT/secret-base.yaml" pass
validate "$OUT/secret-external-db.yaml" pass
echo "all objects valid, no warnings"

echo "== policy"
"$PY" policy.py "$OUT/base.yaml" --secret "$OUT/secret-base.yaml" || fail "policy: base"
for d in "${overlays[@]}"; do
  case ${d##*/} in
    base) ;;
    external-db) "$PY" policy.py "$OUT/external-db.yaml" --external-db --secret "$OUT/secret-external-db.yaml" \
                   || fail "policy: $d" ;;
    *) "$PY" policy.py "$OUT/${d##*/}.yaml" || fail "policy: $d" ;;
  esac
done
echo "policy rules hold"

echo "== negative controls"
sed 's/^  replicas: 2$/  replicaz: 2/' "$OUT/base.yaml" > "$TMP/typo.yaml"
grep -q replicaz "$TMP/typo.yaml" || fail "negative control: nothing to misspell"
validate "$TMP/typo.yaml" fail
printf 'apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: old\nspec:\n  maxUnavailable: 1\n' > "$TMP/old-api.yaml"
validate "$TMP/old-api.yaml" fail
sed 's/^  replicas: 2$/  replicas: 1/' "$OUT/base.yaml" > "$TMP/one-replica.yaml"
if "$PY" policy.py "$TMP/one-replica.yaml" 2>/dev/null; then fail "negative control: policy.py accepted one replica"; fi
echo "a misspelled field, an unknown API version and a single replica are all caught"

echo
echo "kubernetes manifests: valid ($((SECONDS - start)) s)"
