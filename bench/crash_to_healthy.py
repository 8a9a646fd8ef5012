#!/usr/bin/env python3
"""Crash-to-healthy for each service of a running stack (issue 9, called by bench/startup.sh).

Usage: crash_to_healthy.py HEALTH_URL SUPERVISOR_HOST_PID ROUNDS SERVICE [SERVICE ...]

The stack runs under `wms supervise` as PID 1 of its own PID namespace, so the pids /health
reports are the namespace's: the kill is sent from inside it (`nsenter --target PID --pid
--mount kill -KILL N`). For each round and service: wait until the service has been up for
over 10 s (a stable run: the restart is immediate, no backoff), SIGKILL it, and time from the
kill until /health answers 200 with the service's restart counter one higher. Prints a
markdown table (median, max per service) and the seed's figure beside it: a compose stack
learns that a container is unhealthy only at its next healthcheck (10 s interval), and the
engine restarts a container only when it exits, so the anchor is computed, not measured.
"""

import json
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def health(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
    except (OSError, ValueError):
        return None, None


def wait(what, limit, check):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = check()
        if v is not None:
            return v
        time.sleep(0.002)
    sys.exit(f"crash_to_healthy: timed out waiting for {what}")


def main():
    url, host_pid, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sys.argv[4:]
    took = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:

            def stable():
                code, h = health(url)
                s = h and h["services"].get(name)
                ok = code == 200 and s and s["state"] == "ready" and s.get("uptime_s", 0) > 10
                return s if ok else None

            s = wait(f"{name} up for 10 s", 60, stable)
            before, pid = s["restarts"], s["pid"]
            t0 = time.monotonic()
            subprocess.run(
                ["nsenter", "--target", host_pid, "--pid", "--mount", "kill", "-KILL", str(pid)],
                check=True,
            )

            def healthy_again():
                code, h = health(url)
                if code == 200 and h["services"][name]["restarts"] > before:
                    return time.monotonic() - t0
                return None

            took[name].append(wait(f"{name} healthy again", 120, healthy_again) * 1000)

    print(f"| service | kill to /health 200, ms ({rounds} rounds: median, max) | seed's compose (10 s healthcheck) |")
    print("|---|---|---|")
    for name in names:
        t = took[name]
        print(f"| {name} | {statistics.median(t):.0f}, {max(t):.0f} | >= 10,000 (the container restarts, then is healthy at its first check, one 10 s interval later) |")


if __name__ == "__main__":
    main()
