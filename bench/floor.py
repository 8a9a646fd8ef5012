#!/usr/bin/env python3
"""The stack's critical-path floor, measured directly (issue 9, called by bench/startup.sh).

Usage: floor.py PG_BIN WMS PGDATA SOCKET_DIR PGPORT BACKEND_PORT WEB_PORT WEB_ROOT

Starts the stack's steps by hand, one after the other, each the moment the previous one is
ready, with no supervisor: `wms pg-init` to completion (on a warm data dir, its checks);
postgres (as the postgres user, by setpriv, when run as root) until
`pg_isready` says it accepts connections; `wms migrate` to completion; `wms backend` until
its /health answers; `wms web` until its /health/live answers. Prints one line,
"pg_init_ms postgres_ms migrate_ms backend_ms web_ms", then stops what it started (postgres with
SIGINT, as the supervisor does). Polls as fast as the checks allow (pg_isready is a process
per poll, a few ms; HTTP polls are in-process).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request


def until(what, check, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.001)
    sys.exit(f"floor: {what} not ready in {limit} s")


def http_ok(url):
    def check():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    return check


def main():
    pg_bin, wms, pgdata, sock, pgport, be_port, web_port, web_root = sys.argv[1:9]
    as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] if os.geteuid() == 0 else []
    # pg-init's pg_hba.conf admits the postgres role on the socket by peer only (the OS user
    # postgres): migrate and the backend, run by hand here, log in over TCP with the password
    # pg-init set (POSTGRES_PASSWORD, as bench/startup.sh exports it).
    password = os.environ.get("POSTGRES_PASSWORD", "")
    db = f"host=127.0.0.1 port={pgport} user=postgres password={password} dbname=wms"
    env = dict(os.environ, DATABASE_URL=db, WMS_LOG="warn")
    procs, times = [], []
    try:
        t = time.monotonic()
        subprocess.run([wms, "pg-init"], env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t)

        t = time.monotonic()
        procs.append(
            subprocess.Popen(
                as_pg + [wms, "postgres", "-D", pgdata, "-c", "listen_addresses=127.0.0.1",
                         "-c", f"port={pgport}", "-c", f"unix_socket_directories={sock}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            )
        )
        ready = [f"{pg_bin}/pg_isready", "-q", "-h", sock, "-p", pgport, "-d", "postgres"]
        until("postgres", lambda: subprocess.run(ready).returncode == 0)
        times.append(time.monotonic() - t)

        t = time.monotonic()
        subprocess.run([wms, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t)

        t = time.monotonic()
        procs.append(subprocess.Popen([wms, "backend", "--listen", f"127.0.0.1:{be_port}"], env=env))
        until("backend", http_ok(f"http://127.0.0.1:{be_port}/health"))
        times.append(time.monotonic() - t)

        t = time.monotonic()
        procs.append(
            subprocess.Popen(
                [wms, "web", "--root", web_root, "--listen", f"127.0.0.1:{web_port}",
                 "--api", f"http://127.0.0.1:{be_port}"],
                env=env,
            )
        )
        until("web", http_ok(f"http://127.0.0.1:{web_port}/health/live"))
        times.append(time.monotonic() - t)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    print(" ".join(f"{s * 1000:.1f}" for s in times))


if __name__ == "__main__":
    main()
