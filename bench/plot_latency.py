#!/usr/bin/env python3
"""Latency under load, ours beside the anchors (issue 9; bench/run calls it).

Usage: plot_latency.py LATENCY_CSV OUT.png

LATENCY_CSV has one line per wrk run: "label,p50,p75,p90,p99" in milliseconds (bench/lib.sh
writes it when WRK_LABEL is set). Draws one horizontal bar group per label (the median of its
runs), the percentiles side by side, on a log scale. Needs matplotlib; without it, says so and exits 0.
"""

import csv
import statistics
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, newline="", encoding="utf-8") as f:
        runs = [(r[0], [float(v) for v in r[1:5]]) for r in csv.reader(f) if len(r) == 5]
    # A label run several times (bench/web.sh alternates its servers) is drawn once, with
    # the median of each percentile.
    by_label = {}
    for label, values in runs:
        by_label.setdefault(label, []).append(values)
    rows = [
        (label, [statistics.median(v[i] for v in values) for i in range(4)])
        for label, values in by_label.items()
    ]
    if not rows:
        print("plot_latency: no rows", file=sys.stderr)
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_latency: matplotlib is missing; no PNG", file=sys.stderr)
        return
    names = ("p50", "p75", "p90", "p99")
    height = 0.2
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.55 * len(rows)))
    for i, name in enumerate(names):
        ys = [j + (i - 1.5) * height for j in range(len(rows))]
        ax.barh(ys, [r[1][i] for r in rows], height=height, label=name)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("latency under load (ms, log scale; wrk, 64 connections)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
