#!/usr/bin/env bash
# Restarts under load, held sockets beside plain stop/start, in one run (issue 16): see
# bench/restarts.py. RESTARTS_BACKEND (100), RESTARTS_WEB (20), LOAD_THREADS (8).
source "$(dirname "$0")/lib.sh"
need unshare util-linux
build_wms
WMS="$WMS" exec python3 "$BENCH_DIR/restarts.py"
