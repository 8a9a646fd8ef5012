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
    prev_done = 0.0
    own_total = gaps = 0.0
    for name, start, done, how in rows:
        own = None if done is None else done - start
        gap = start - prev_done
        own_total += own or 0.0
        gaps += gap
        out.append(f"| {name} | {ms(start)} | {ms(done)} {how} | {ms(own)} | {ms(gap)} |")
        if done is not None:
            prev_done = done
    out.append("")
    out.append(
        f"Sum of the services' own start-up times (the critical path, a chain here): "
        f"{ms(own_total)} ms; the supervisor's share (gaps between a dependency being "
        f"ready and its dependent being started): {ms(gaps)} ms. Each readiness is seen by "
        f"a probe every 20 ms (`start_interval`), so up to 20 ms per service of the own "
        f"times is detection delay."
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
