#!/usr/bin/env python3
"""Restarts under load, held sockets against plain stop/start (issue 16), in one run.

Boots the stack of config.toml under `wms supervise` (release build, PID 1 via unshare) twice:
  * held: the stack as configured (the supervisor holds the web and backend listening
    sockets, `listen = {...}`; a restart hands them to the new instance);
  * not held: the same config with the `listen` lines of web and backend removed, so each
    server binds its own port and a restart is a plain stop then start.
In each, a steady load of ordinary clients runs through the web port (as tests/proof/load.rs:
threads alternating GETs of the product list and POSTed receipts with an Idempotency-Key,
half on kept-alive connections, half on a fresh connection per request; one retry on a
reused connection closed without an answer, as every HTTP client does; nothing else is
retried) while `wms ctl restart` restarts the backend RESTARTS_BACKEND times (100) and then
the web server RESTARTS_WEB times (20). Prints markdown: failed and refused requests, p99
latency, and the median restart time, for both variants.

    bench/restarts.py                  # needs target/release/wms (bench/lib.sh builds it)
    RESTARTS_BACKEND=20 RESTARTS_WEB=5 bench/restarts.py
"""
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WMS = os.environ.get("WMS", os.path.join(ROOT, "target/release/wms"))
N_BACKEND = int(os.environ.get("RESTARTS_BACKEND", "100"))
N_WEB = int(os.environ.get("RESTARTS_WEB", "20"))
THREADS = int(os.environ.get("LOAD_THREADS", "8"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Stack:
    def __init__(self, work, config):
        self.work = work
        self.env = dict(os.environ)
        www = os.path.join(ROOT, "frontend/dist")
        if not os.path.exists(os.path.join(www, "index.html")):
            www = os.path.join(work, "www")
            os.makedirs(www, exist_ok=True)
            with open(os.path.join(www, "index.html"), "w") as f:
                f.write("<!doctype html><title>wms</title>")
        self.health = "127.0.0.1:%d" % free_port()
        self.web_port = free_port()
        self.password = "bench-admin-%d" % random.randrange(10**9)
        self.env.update(
            PGDATA=os.path.join(work, "pgdata"), PG_SOCKET_DIR=os.path.join(work, "run"),
            PGPORT=str(free_port()), WMS_RUN_DIR=os.path.join(work, "run"),
            WMS_STATE_DIR=os.path.join(work, "state"), WMS_BACKUP_DIR=os.path.join(work, "backup"),
            WMS_HEALTH_LISTEN=self.health, WMS_BACKEND_PORT=str(free_port()),
            WMS_WEB_PORT=str(self.web_port), WMS_WEB_ROOT=www,
            POSTGRES_PASSWORD="bench-%d" % random.randrange(10**9),
            WMS_ADMIN_PASSWORD=self.password, WMS_LOG=os.environ.get("WMS_LOG", "warn"))
        self.log = open(os.path.join(work, "stack.log"), "w")
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", WMS, "supervise",
             "--config", config], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while not self.healthy():
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit("bench: the stack did not become healthy; see " + self.log.name)
            time.sleep(0.05)

    def healthy(self):
        try:
            c = http.client.HTTPConnection(self.health, timeout=2)
            c.request("GET", "/health")
            return c.getresponse().status == 200
        except OSError:
            return False

    def ctl(self, *args):
        sock = os.path.join(self.env["WMS_RUN_DIR"], "control.sock")
        return subprocess.run([WMS, "ctl", "--socket", sock, *args], capture_output=True, text=True)

    def stop(self):
        # unshare does not pass signals on: SIGTERM the supervisor, its child.
        for line in open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)).read().split():
            os.kill(int(line), signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def call(conn, method, path, token, body=None, key=None):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    r.read()
    return r.status


class Load:
    def __init__(self, port, token, product):
        self.port, self.token, self.product = port, token, product
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = self.failed = self.refused = 0
        self.latencies = []
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(i % 2 == 0,)) for i in range(THREADS)]
        for t in self.threads:
            t.start()

    def run(self, keep_alive):
        conn = None
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 2:
                req = ("POST", "/api/stock/movements",
                       {"operation_type": "receipt", "product_id": self.product, "quantity": 1},
                       str(uuid.uuid4()))
            else:
                req = ("GET", "/api/products/?page_size=5", None, None)
            t0 = time.perf_counter()
            outcome = None
            for attempt in range(2):
                reused = conn is not None
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                try:
                    status = call(conn, *req[:2], self.token, req[2], req[3])
                    outcome = "ok" if 200 <= status < 300 else "HTTP %d" % status
                except ConnectionRefusedError:
                    outcome = "refused"
                    conn = None
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                    conn = None
                    outcome = "closed: %s" % type(e).__name__
                    if reused and attempt == 0:
                        continue   # the one retry every client makes on a reused connection
                except OSError as e:
                    conn = None
                    outcome = "error: %s" % e
                break
            if not keep_alive and conn is not None:
                conn.close()
                conn = None
            if outcome != "ok":
                self.stop.wait(0.01)
            with self.lock:
                if outcome == "ok":
                    self.ok += 1
                    self.latencies.append(time.perf_counter() - t0)
                elif outcome == "refused":
                    self.refused += 1
                else:
                    self.failed += 1
                    if len(self.failures) < 5:
                        self.failures.append("%s %s: %s" % (req[0], req[1], outcome))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def p99_ms(latencies):
    if not latencies:
        return float("nan")
    s = sorted(latencies)
    return s[max(0, int(len(s) * 0.99) - 1)] * 1000


def variant(name, config):
    work = tempfile.mkdtemp(prefix="wms-restarts-")
    os.chmod(work, 0o755)
    stack = Stack(work, config)
    try:
        web = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=10)
        web.request("POST", "/api/auth/login", body=json.dumps(
            {"email": "admin@wms.example.com", "password": stack.password}),
            headers={"Content-Type": "application/json"})
        token = json.loads(web.getresponse().read())["access_token"]
        web.request("POST", "/api/products/", body=json.dumps({"barcode": "RESTARTS-%d" % random.randrange(10**9)}),
                    headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
        product = json.loads(web.getresponse().read())["id"]
        rows = []
        for service, n in (("backend", N_BACKEND), ("web", N_WEB)):
            load = Load(stack.web_port, token, product)
            times = []
            t0 = time.time()
            for _ in range(n):
                t = time.perf_counter()
                r = stack.ctl("restart", service)
                if r.returncode != 0:
                    raise SystemExit("bench: wms ctl restart %s: %s %s" % (service, r.stdout, r.stderr))
                deadline = time.time() + 60
                while not stack.healthy():
                    if time.time() > deadline:
                        raise SystemExit("bench: not healthy again 60 s after restarting " + service)
                    time.sleep(0.005)
                times.append((time.perf_counter() - t) * 1000)
                time.sleep(0.1)
            took = time.time() - t0
            load.finish()
            rows.append((name, service, n, load, statistics.median(times), took))
        return rows
    finally:
        stack.stop()
        if os.environ.get("KEEP"):
            print("bench: kept " + work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    config = os.path.join(ROOT, "config.toml")
    work = tempfile.mkdtemp(prefix="wms-restarts-config-")
    try:
        text = open(config).read()
        # The variant without held sockets: no `listen = {...}` for the web and backend.
        plain, n = re.subn(r"(?m)^listen = \{ http = .*\}\n", "", text)
        if n != 2:
            raise SystemExit("bench: expected the two listen lines (web, backend) in config.toml, found %d" % n)
        plain_config = os.path.join(work, "config.toml")
        with open(plain_config, "w") as f:
            f.write(plain)
        rows = [] if os.environ.get("ONLY") == "plain" else variant("held sockets (config.toml)", config)
        rows += variant("not held (no `listen`: stop, then start)", plain_config)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    host = "%d cores, %s" % (os.cpu_count(), time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()))
    print("## Restarts under load: held sockets beside plain stop/start (%s)" % host)
    print()
    print("`wms ctl restart` of the backend %d times, then of the web server %d times, one after the" % (N_BACKEND, N_WEB))
    print("other, while %d client threads send GETs of the product list and POSTed receipts through" % THREADS)
    print("the web port (half kept-alive, half a new connection per request; one retry on a reused")
    print("connection closed unanswered, as HTTP clients do; after a failed request a client waits")
    print("10 ms). Each restart is followed by waiting for the aggregate /health to be 200 again, then")
    print("100 ms of steady load, in both variants (a restart without held sockets returns when the")
    print("new process has started, not when it is ready). Same machine, same run.")
    print()
    print("| sockets | service restarted | restarts | requests ok | failed | refused | p99 ms | restart to healthy, median ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, service, n, load, med, _took in rows:
        print("| %s | %s | %d | %d | %d | %d | %.1f | %.0f |" % (
            name, service, n, load.ok, load.failed, load.refused, p99_ms(load.latencies), med))
    print()
    for name, service, n, load, _med, _took in rows:
        if load.failures:
            print("First failures (%s, %s): %s" % (name, service, "; ".join(load.failures)))


if __name__ == "__main__":
    main()
