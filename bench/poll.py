"""The one readiness poll of the boot benchmarks (bench/boot.py, bench/floor.py).

A poll must cost next to nothing, or polling every millisecond takes CPU from the boot it
measures: one TCP connection, one HTTP/1.0 request line, the status line read back; no
HTTP library, no process per poll.
"""

import socket
import urllib.parse


def http_ok(url, timeout=1.0):
    """True if and only if `url` (http://host:port/path) answers 200 now."""
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname, u.port or 80), timeout=timeout) as s:
            s.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (u.path.encode(), u.hostname.encode()))
            return s.recv(32).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:
        return False
