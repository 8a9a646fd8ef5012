#!/usr/bin/env python3
"""Physical memory of a group of processes as if nothing else ran on the machine.

Usage: resident.py PID... -> prints one integer: KiB of distinct physical pages that the
processes map and have resident, each page counted once however many of them map it.

PSS divides a shared page among every process on the machine that maps it, so a stack's
PSS total drops when unrelated processes (another PostgreSQL, another Python) map the same
binaries and libraries, and rises when they exit. This count does not depend on them: it
is the sum of the group's PSS had it been alone. Reads /proc/PID/maps and
/proc/PID/pagemap (page frame numbers need root); processes that vanish are skipped.
"""
import os
import sys
from array import array

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


def frames(pid):
    """The page frame numbers of the resident pages one process maps."""
    found = set()
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        pagemap = open(f"/proc/{pid}/pagemap", "rb", buffering=0)
    except OSError:
        return found
    with pagemap:
        for line in maps:
            start, end = (int(x, 16) for x in line.split(None, 1)[0].split("-"))
            try:
                pagemap.seek(start // PAGE * 8)
                raw = pagemap.read((end - start) // PAGE * 8)
            except OSError:  # [vsyscall] and the like
                continue
            entries = array("Q")
            entries.frombytes(raw[: len(raw) // 8 * 8])
            found.update(e & PFN_MASK for e in entries if e & PRESENT and e & PFN_MASK)
    return found


def main(pids):
    pages = set()
    for pid in pids:
        pages |= frames(pid)
    print(len(pages) * PAGE // 1024)


if __name__ == "__main__":
    main(sys.argv[1:])
