#!/usr/bin/env bash
# Prints the wms-secrets Secret with freshly generated values (nothing is ever committed):
#
#   deploy/kubernetes/make-secret.sh | kubectl apply -n wms -f -
#   deploy/kubernetes/make-secret.sh --database-url 'postgresql://wms:PW@db.example:5432/wms' \
#     | kubectl apply -n wms -f -                                  # the external-db overlay
#
# Keys: postgres-password (the in-cluster database's superuser; base only), db-app-password
# (the application role `wms` the in-cluster database creates, not a superuser; base only),
# database-url (what the backends and the migration Job connect to: that role), secret-key
# (the JWT secret shared by every backend replica), admin-password (the administrator
# created on the first start).
# Generated values are URL-safe (base64url), so they can stand in a URL unescaped.
#
# Options: --database-url URL   use this database instead of the in-cluster one
#          --admin-password PW  instead of a generated one (a generated one is shown on stderr)
#          --name NAME          Secret name (default wms-secrets)
#          --namespace NS       set metadata.namespace
set -euo pipefail

name=wms-secrets namespace= database_url= admin_password=
while [ $# -gt 0 ]; do
  case $1 in
    --database-url) database_url=${2:?--database-url needs a value}; shift 2 ;;
    --admin-password) admin_password=${2:?--admin-password needs a value}; shift 2 ;;
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-secret.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

random() {   # BYTES: base64url without padding
  head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}
# A YAML double-quoted scalar (JSON string syntax is valid YAML).
quote() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

secret_key=$(random 48)
if [ -z "$admin_password" ]; then
  admin_password=$(random 18)
  echo "make-secret.sh: generated admin password: $admin_password" >&2
fi

echo "apiVersion: v1"
echo "kind: Secret"
echo "metadata:"
echo "  name: $(quote "$name")"
[ -z "$namespace" ] || echo "  namespace: $(quote "$namespace")"
echo "  labels:"
echo "    app.kubernetes.io/name: wms"
echo "    app.kubernetes.io/part-of: wms"
echo "type: Opaque"
echo "stringData:"
if [ -z "$database_url" ]; then
  pg_password=$(random 24)
  app_password=$(random 24)
  echo "  postgres-password: $(quote "$pg_password")"
  echo "  db-app-password: $(quote "$app_password")"
  database_url="postgresql://wms:$app_password@wms-postgres:5432/wms"
fi
echo "  database-url: $(quote "$database_url")"
echo "  secret-key: $(quote "$secret_key")"
echo "  admin-password: $(quote "$admin_password")"
