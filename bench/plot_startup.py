#!/usr/bin/env python3
"""Startup timeline of the stack from `wms supervise` logs (issue 9, bench/startup.sh).

Usage: plot_startup.py [--png OUT.png] LABEL=LOG [LABEL=LOG ...]

Each LOG is the supervisor's combined output of one boot. From the supervisor's own lines
(they start with an RFC 3339 timestamp; services' lines start with "NAME |") it takes, per
service, when it was started ("started: ... service=NAME") and when it became ready or
completed ("starting -> ready|completed service=NAME"), and when the aggregate became
healthy ("status: healthy"). Times are relative to the supervisor's first line. Prints a
markdown table per boot and, if matplotlib can be imported, writes a Gantt chart.
"""

import re
import sys
from datetime import datetime

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\s+\w+\s+(.*)$")
SERVICE = re.compile(r"service=([\w.-]+)")


def parse_time(stamp):
    # Python 3.11 parses at most 6 fractional digits.
    head, frac = stamp.split(".")
    return datetime.fromisoformat(f"{head}.{frac[:6]}").timestamp()


def timeline(path):
    """[(service, started_s, ready_s, how)], healthy_s, in start order."""
    t0 = None
    order, started, ready, how = [], {}, {}, {}
    healthy = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.strip())
            if not m:
                continue
            t = parse_time(m.group(1))
            msg = m.group(2)
            if t0 is None:
                t0 = t
            svc = SERVICE.search(msg)
            name = svc.group(1) if svc else None
            if msg.startswith("started:") and name and name not in started:
                started[name] = t - t0
                order.append(name)
            elif name and name not in ready:
                for state in ("ready", "completed"):
                    if msg.startswith(f"starting -> {state} "):
                        ready[name] = t - t0
                        how[name] = state
            if msg.startswith("status: healthy") and healthy is None:
                healthy = t - t0
    rows = [(n, started[n], ready.get(n), how.get(n, "")) for n in order]
    return rows, healthy


def ms(x):
    return "–" if x is None else f"{x * 1000:.0f}"


def table(label, rows, healthy):
    out = [f"### {label}: healthy after {ms(healthy)} ms", ""]
    out.append("| service | started (ms) | ready / completed (ms) | own start-up (ms) | gap before start (ms) |")
    out.append("|---|---|---|---|---|")
    # Each start follows the latest readiness (or completion) before it: the gap is the
    # supervisor's reaction to it (from launch for the first services).
    after = {}
    for name, start, done, how in rows:
        before = [(d, n) for n, _, d, _ in rows if d is not None and d <= start]
        prev_done, prev = max(before) if before else (0.0, None)
        after[name] = (prev, start - prev_done)
        own = None if done is None else done - start
        out.append(f"| {name} | {ms(start)} | {ms(done)} {how} | {ms(own)} | {ms(start - prev_done)} |")
    out.append("")
    # The critical chain: back from the last service to be ready, through what each followed.
    by_name = {n: (st, d) for n, st, d, _ in rows}
    # (services that finish after the stack is healthy, such as first boot's base backup,
    # are not on the way to it)
    last = max(
        ((d, n) for n, _, d, _ in rows if d is not None and (healthy is None or d <= healthy)),
        default=(None, None),
    )[1]
    chain, own_total, gaps = [], 0.0, 0.0
    while last is not None:
        st, d = by_name[last]
        chain.append(last)
        own_total += d - st
        prev, gap = after[last]
        gaps += gap
        last = prev
    out.append(
        f"The critical chain, {' → '.join(reversed(chain))}: the services' own start-up "
        f"{ms(own_total)} ms, the supervisor's reactions (from a readiness to the start it "
        f"allows; from launch for the first) {ms(gaps)} ms. Readiness is said by the services "
        f"themselves (READY=1; oneshots by exiting), nothing is polled."
    )
    out.append("")
    return "\n".join(out)


def plot(boots, png):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(len(boots), 1, figsize=(9, 1.2 + 0.55 * sum(len(r) for _, r, _ in boots)), squeeze=False)
    for ax, (label, rows, healthy) in zip(axes[:, 0], boots):
        names = [r[0] for r in rows][::-1]
        span = max([healthy or 0.0] + [r[2] or r[1] for r in rows]) * 1000
        pad = span * 0.01
        for i, (name, start, done, how) in enumerate(rows[::-1]):
            end = done if done is not None else (healthy or start)
            color = "#7aa6c2" if how == "completed" else "#4c9f70"
            ax.barh(i, (end - start) * 1000, left=start * 1000, color=color, edgecolor="black", linewidth=0.5)
            ax.text(end * 1000 + pad, i, f"{(end - start) * 1000:.0f} ms", va="center", fontsize=8)
        if healthy is not None:
            ax.axvline(healthy * 1000, color="#c0392b", linestyle="--", linewidth=1)
            ax.text(healthy * 1000, len(rows) - 0.4, f" healthy {healthy * 1000:.0f} ms", color="#c0392b", fontsize=8)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names)
        ax.set_title(label, fontsize=10)
        ax.set_xlim(0, span * 1.12)
        ax.set_xlabel("ms since the supervisor started")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    return True


def main(argv):
    png = None
    if len(argv) >= 2 and argv[0] == "--png":
        png, argv = argv[1], argv[2:]
    boots = []
    for arg in argv:
        label, _, path = arg.partition("=")
        rows, healthy = timeline(path)
        boots.append((label, rows, healthy))
        print(table(label, rows, healthy))
    if png:
        if plot(boots, png):
            print(f"![startup timeline]({png.split('/')[-1]})")
        else:
            print("(no plot: matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
