#!/usr/bin/env python3
"""Boots a stack and times it to /health 200 (called by bench/startup.sh).

Usage: boot.py URL PIDFILE LOG -- COMMAND...

Starts COMMAND (output to LOG) and polls URL every millisecond with bench/poll.py, as
bench/floor.py polls the hand-run steps: a poller that started a process per poll (curl),
or an HTTP library's request, would take a good part of two cores from the boot it
measures. Writes COMMAND's pid to
PIDFILE, prints the seconds from launch to the first 200, and leaves COMMAND running.
Exits 1 if COMMAND dies or is not healthy within 120 s.
"""

import subprocess
import sys
import time

from poll import http_ok


def main():
    url, pidfile, log = sys.argv[1:4]
    command = sys.argv[sys.argv.index("--") + 1:]
    with open(log, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    with open(pidfile, "w") as f:
        f.write(str(proc.pid))
    while time.monotonic() - t0 < 120:
        if http_ok(url):
            print("%.4f" % (time.monotonic() - t0))
            return
        if proc.poll() is not None:
            sys.exit(f"bench: the stack died (exit {proc.returncode}); see {log}")
        time.sleep(0.001)
    sys.exit("bench: not healthy in 120 s")


if __name__ == "__main__":
    main()
