#!/bin/sh
# The frontend's whole check: clean install from the lockfile, type check,
# lint, unit tests, production build (with the login-route budget and the
# .gz/.br siblings). Exits non-zero on the first failure.
#
# Usage: frontend/scripts/test.sh   (from anywhere; SKIP_NPM_CI=1 reuses node_modules)
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if [ "${SKIP_NPM_CI:-}" != 1 ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi
step "typecheck"
npm run --silent typecheck
step "lint"
npm run --silent lint
step "unit tests"
npm test --silent
step "build"
npm run --silent build
