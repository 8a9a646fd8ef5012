"""A stand-in backend and supervisor /health for the web server's proxy tests.

GET  /api/echo[?...]   -> 200 JSON: method, path (with query), headers
POST /api/upload       -> 200 JSON: bytes received and their SHA-256 (Content-Length or chunked)
GET  /api/big?n=N      -> N bytes of a repeating pattern, streamed in chunks
GET  /api/slow?ms=M    -> waits M ms, then 200 "done"
GET  /api/status/NNN   -> that status with a JSON body
GET  /health           -> 503 {"status":"degraded",...} with a pid (stands in for the supervisor)
GET  /health/public    -> 503 {"status":"degraded",...} without it (the supervisor's public view)
GET  /api/auth/me      -> 200 {"role": "admin"} for "Bearer admin-token", "operator" for
                          "Bearer operator-token", else 401
"""
import hashlib, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

PATTERN = bytes(range(256)) * 256  # 64 KiB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "keep-alive, x-hop")
        self.send_header("X-Hop", "must not pass")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path == "/api/echo":
            return self.send_json(200, {"method": "GET", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        if url.path == "/api/big":
            n = int(q.get("n", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            while sent < n:
                chunk = PATTERN[: min(len(PATTERN), n - sent)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/api/slow":
            if "mark" in q:
                open(q["mark"][0], "w").close()
            time.sleep(int(q.get("ms", ["1000"])[0]) / 1000)
            return self.send_json(200, {"done": True})
        if url.path.startswith("/api/status/"):
            return self.send_json(int(url.path.rsplit("/", 1)[1]), {"detail": "as asked"})
        if url.path == "/health":
            return self.send_json(503, {"status": "degraded", "services": {"backend": {"state": "backoff", "pid": 42}}})
        if url.path == "/health/public":
            return self.send_json(503, {"status": "degraded", "services": {"backend": {"state": "backoff"}}})
        if url.path == "/api/auth/me":
            role = {"Bearer admin-token": "admin", "Bearer operator-token": "operator"}.get(self.headers.get("Authorization"))
            if role is None:
                return self.send_json(401, {"detail": "Could not validate credentials"})
            return self.send_json(200, {"email": "x@example.com", "is_active": True, "role": role})
        self.send_json(404, {"detail": "Not Found"})

    def do_POST(self):
        digest, total = hashlib.sha256(), 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data = self.rfile.read(size)
                self.rfile.readline()
                digest.update(data)
                total += len(data)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    break
                digest.update(data)
                total += len(data)
                left -= len(data)
        self.send_json(200, {"bytes": total, "sha256": digest.hexdigest()})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("listening", flush=True)
    server.serve_forever()
