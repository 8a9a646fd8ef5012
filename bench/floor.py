#!/usr/bin/env python3
"""The stack's critical-path floor, measured directly (issue 9, called by bench/startup.sh).

Usage: floor.py WMS PGDATA SOCKET_DIR PGPORT BACKEND_PORT WEB_PORT WEB_ROOT

Starts the stack's steps by hand, one after the other, each the moment the previous one is
ready, with no supervisor: `wms pg-init` to completion (on a warm data dir, its checks);
postgres (as the postgres user, by setpriv, when run as root) until it says READY=1;
`wms migrate` to completion; `wms backend` until it says READY=1; `wms web` until it says
READY=1. Readiness is learnt the way the supervisor learns it: each server is given a
NOTIFY_SOCKET of ours (sd_notify), so nothing is polled and no poll takes CPU from the
start it measures. Prints one line, "pg_init_ms postgres_ms migrate_ms backend_ms web_ms",
then stops what it started (postgres with SIGINT, as the supervisor does).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Notify:
    """A NOTIFY_SOCKET for the servers started here (any account may send to it)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="floor-notify-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)

    def ready(self, what, proc, limit=60):
        """Waits for READY=1 (from anyone: one server starts at a time)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            self.sock.settimeout(max(0.001, min(0.1, end - time.monotonic())))
            try:
                message = self.sock.recv(4096)
            except socket.timeout:
                if proc.poll() is not None:
                    sys.exit(f"floor: {what} exited ({proc.returncode}) before READY=1")
                continue
            if b"READY=1" in message.split(b"\n"):
                return
        sys.exit(f"floor: {what} not ready in {limit} s")

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def main():
    wms, pgdata, sock, pgport, be_port, web_port, web_root = sys.argv[1:8]
    as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] if os.geteuid() == 0 else []
    # pg-init's pg_hba.conf admits the postgres role on the socket by peer only (the OS user
    # postgres): migrate and the backend, run by hand here, log in over TCP with the password
    # pg-init set (POSTGRES_PASSWORD, as bench/startup.sh exports it).
    password = os.environ.get("POSTGRES_PASSWORD", "")
    db = f"host=127.0.0.1 port={pgport} user=postgres password={password} dbname=wms"
    notify = Notify()
    env = dict(os.environ, DATABASE_URL=db, WMS_LOG="warn", NOTIFY_SOCKET=notify.path)
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
        notify.ready("postgres", procs[-1])
        times.append(time.monotonic() - t)

        t = time.monotonic()
        subprocess.run([wms, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t)

        t = time.monotonic()
        procs.append(subprocess.Popen([wms, "backend", "--listen", f"127.0.0.1:{be_port}"], env=env))
        notify.ready("backend", procs[-1])
        times.append(time.monotonic() - t)

        t = time.monotonic()
        procs.append(
            subprocess.Popen(
                [wms, "web", "--root", web_root, "--listen", f"127.0.0.1:{web_port}",
                 "--api", f"http://127.0.0.1:{be_port}"],
                env=env,
            )
        )
        notify.ready("web", procs[-1])
        times.append(time.monotonic() - t)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        notify.close()
    print(" ".join(f"{s * 1000:.1f}" for s in times))


if __name__ == "__main__":
    main()
