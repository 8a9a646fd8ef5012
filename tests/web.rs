//! `wms web` over real sockets: SPA fallback vs 404, encodings, conditional requests,
//! cache and security headers, MIME types, traversal tricks, the `/api` proxy (headers,
//! streaming both ways, backend down), `/health` forwarding, slow clients, shutdown.
//!
//! The backend and the supervisor's `/health` are stood in for by a small Python server
//! (`tests/support/echo_backend.py`) that echoes what it receives.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::*;

/// A running process, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Stack {
    _dir: tempfile::TempDir,
    web: Proc,
    addr: String,
    outside: PathBuf,
    _backend: Option<Proc>,
}

/// A bundle large enough to go out by sendfile (identity from the file, gzip from a memfd),
/// and poorly compressible so that its gzip variant is large too.
fn big_js() -> String {
    let mut x: u32 = 0x9e37_79b9;
    let mut out = String::with_capacity(600_000);
    while out.len() < 600_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push_str(&format!("var v{x:x}={};\n", x % 1000));
    }
    out
}

const APP_JS: &str = "export function hello(){return 'hello from the app';}\n";

fn site(root: &Path) {
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><html><head><title>СКЛАД</title></head><body><div id=root></div></body></html>",
    )
    .unwrap();
    std::fs::write(root.join("assets/app-3f2a9c.js"), APP_JS.repeat(200)).unwrap();
    std::fs::write(
        root.join("assets/style-77aa.css"),
        "body{margin:0}\n".repeat(100),
    )
    .unwrap();
    std::fs::write(
        root.join("assets/logo-1b.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>".repeat(20),
    )
    .unwrap();
    std::fs::write(root.join("assets/big-5e.js"), big_js()).unwrap();
    std::fs::write(root.join("favicon.ico"), [0u8; 300]).unwrap();
    std::fs::write(root.join("assets/photo-9c.png"), [7u8; 4000]).unwrap();
    std::fs::write(root.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(root.join("api-docs")).unwrap();
    std::fs::write(
        root.join("api-docs/index.html"),
        "<!doctype html><title>API docs</title><div id=swagger-ui></div>",
    )
    .unwrap();
}

fn start(with_backend: bool) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    site(&root);
    let outside = dir.path().join("outside-secret.txt");
    std::fs::write(&outside, "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("leak.txt")).unwrap();

    let backend_port = free_port();
    let backend = with_backend.then(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/echo_backend.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(backend_port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = [0u8; 9];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut line)
            .expect("backend ready");
        Proc(child)
    });
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let web = Command::new(wms())
        .args(["web", "--root"])
        .arg(&root)
        .args(["--listen", &addr])
        .args(["--api", &format!("http://127.0.0.1:{backend_port}")])
        .args([
            "--health-upstream",
            &format!("http://127.0.0.1:{backend_port}/health"),
        ])
        .args(["--header-timeout", "1s"])
        .stderr(Stdio::null())
        .spawn()
        .expect("wms web");
    let web = Proc(web);
    wait_for("wms web to listen", Duration::from_secs(10), || {
        http("GET", &addr, "/health/live").ok()
    });
    Stack {
        _dir: dir,
        web,
        addr,
        outside,
        _backend: backend,
    }
}

/// A raw request; returns status, headers (lower-case names) and body bytes.
fn raw(addr: &str, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, buf[split + 4..].to_vec())
}

fn get(addr: &str, path: &str, extra: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn spa_fallback_versus_real_404_and_cache_policy() {
    let s = start(false);
    for path in ["/", "/movements", "/products/42/edit", "/index.html"] {
        let (status, h, body) = get(&s.addr, path, "");
        assert_eq!(status, 200, "{path}");
        assert!(
            String::from_utf8_lossy(&body).contains("<div id=root>"),
            "{path}"
        );
        assert_eq!(header(&h, "cache-control"), Some("no-cache"), "{path}");
        assert_eq!(header(&h, "content-type"), Some("text/html; charset=utf-8"));
        let csp = header(&h, "content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{csp}"
        );
    }
    for path in [
        "/assets/missing-1234.js",
        "/assets/",
        "/robots.txt",
        "/img/x.png",
        "/.env",
        "/leak.txt",
    ] {
        assert_eq!(get(&s.addr, path, "").0, 404, "{path}");
    }
    let (status, h, body) = get(&s.addr, "/assets/app-3f2a9c.js", "");
    assert_eq!(status, 200);
    assert_eq!(body, APP_JS.repeat(200).as_bytes());
    assert_eq!(
        header(&h, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        header(&h, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
    assert_eq!(
        header(&h, "referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    assert_eq!(header(&h, "vary"), Some("Accept-Encoding"));
    assert!(header(&h, "last-modified").is_some());
    for (path, mime) in [
        ("/assets/style-77aa.css", "text/css; charset=utf-8"),
        ("/assets/logo-1b.svg", "image/svg+xml"),
        ("/favicon.ico", "image/x-icon"),
    ] {
        assert_eq!(
            header(&get(&s.addr, path, "").1, "content-type"),
            Some(mime),
            "{path}"
        );
    }
    let (status, h, body) = raw(
        &s.addr,
        "HEAD /assets/app-3f2a9c.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(body.is_empty());
    assert_eq!(
        header(&h, "content-length"),
        Some(APP_JS.repeat(200).len().to_string().as_str())
    );
    let (status, h, _) = raw(
        &s.addr,
        "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405);
    assert_eq!(header(&h, "allow"), Some("GET, HEAD"));
    assert!(!std::fs::read_to_string(&s.outside).unwrap().is_empty());
}

#[test]
fn encodings_and_conditional_requests() {
    let s = start(false);
    let want = APP_JS.repeat(200);
    let (_, h, br) = get(
        &s.addr,
        "/assets/app-3f2a9c.js",
        "Accept-Encoding: gzip, deflate, br\r\n",
    );
    assert_eq!(header(&h, "content-encoding"), Some("br"));
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut br.as_slice(), &mut decoded).unwrap();
    assert_eq!(decoded, want.as_bytes());
    assert!(br.len() < want.len() / 10);
    let br_etag = header(&h, "etag").unwrap().to_owned();

    let (_, h, gz) = get(
        &s.addr,
        "/assets/app-3f2a9c.js",
        "Accept-Encoding: gzip\r\n",
    );
    assert_eq!(header(&h, "content-encoding"), Some("gzip"));
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, want);
    let gz_etag = header(&h, "etag").unwrap().to_owned();
    assert_ne!(br_etag, gz_etag, "strong ETags differ per encoding");

    // Images that are already compressed are sent as they are.
    let (_, h, body) = get(
        &s.addr,
        "/assets/photo-9c.png",
        "Accept-Encoding: br, gzip\r\n",
    );
    assert_eq!(header(&h, "content-encoding"), None);
    assert_eq!(header(&h, "vary"), None);
    assert_eq!(body.len(), 4000);

    // If-None-Match → 304 with no body; a stale tag → 200.
    let (status, h, body) = get(
        &s.addr,
        "/assets/app-3f2a9c.js",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {br_etag}\r\n"),
    );
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(header(&h, "etag"), Some(br_etag.as_str()));
    assert_eq!(
        get(
            &s.addr,
            "/assets/app-3f2a9c.js",
            "If-None-Match: \"stale\"\r\n"
        )
        .0,
        200
    );
    // If-Modified-Since with the Last-Modified date → 304; an older date → 200.
    let (_, h, _) = get(&s.addr, "/index.html", "");
    let lm = header(&h, "last-modified").unwrap().to_owned();
    assert_eq!(
        get(
            &s.addr,
            "/index.html",
            &format!("If-Modified-Since: {lm}\r\n")
        )
        .0,
        304
    );
    assert_eq!(
        get(
            &s.addr,
            "/index.html",
            "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT\r\n"
        )
        .0,
        200
    );
}

#[test]
fn every_traversal_trick_is_refused() {
    let s = start(false);
    for path in [
        "/../../../../etc/passwd",
        "/assets/../../outside-secret.txt",
        "/%2e%2e/outside-secret.txt",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/.%2e/outside-secret.txt",
        "/%252e%252e/outside-secret.txt",
        "/assets%2f..%2f..%2foutside-secret.txt",
        "/..%5c..%5coutside-secret.txt",
        "/..\\..\\outside-secret.txt",
        "/index.html%00.js",
        "/%c0%ae%c0%ae/etc/passwd",
    ] {
        let (status, _, body) = get(&s.addr, path, "");
        assert!(status == 400 || status == 404, "{path}: {status}");
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("TOP SECRET") && !text.contains("root:"),
            "{path}: {text}"
        );
    }
    // The symlink that leads outside the root is not served either.
    assert_eq!(get(&s.addr, "/leak.txt", "").0, 404);
}

#[test]
fn api_requests_are_proxied_with_forwarding_headers() {
    let s = start(true);
    let (status, h, body) = get(
        &s.addr,
        "/api/echo?page=2&page_size=20",
        "X-Forwarded-For: 10.9.8.7\r\nAuthorization: Bearer tok\r\nConnection: close, x-drop-me\r\nX-Drop-Me: 1\r\n",
    );
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "x-hop"),
        None,
        "hop-by-hop headers named in Connection are dropped"
    );
    let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echo["path"], "/api/echo?page=2&page_size=20");
    let hs = &echo["headers"];
    assert_eq!(hs["host"], s.addr.as_str());
    assert_eq!(hs["x-forwarded-for"], "10.9.8.7, 127.0.0.1");
    assert_eq!(hs["x-real-ip"], "127.0.0.1");
    assert_eq!(hs["x-forwarded-proto"], "http");
    assert_eq!(hs["authorization"], "Bearer tok");
    assert!(hs.get("x-drop-me").is_none(), "{hs}");

    // Status codes pass through untouched.
    for code in [201, 401, 422, 503] {
        assert_eq!(get(&s.addr, &format!("/api/status/{code}"), "").0, code);
    }
    // The API documentation page is served by wms web under the proxied prefix, and at the
    // reference system's /docs; everything else under /api/docs... still goes upstream.
    for path in ["/api/docs", "/api/docs/", "/docs"] {
        let (status, h, body) = get(&s.addr, path, "");
        assert_eq!(status, 200, "{path}");
        assert!(
            String::from_utf8_lossy(&body).contains("swagger-ui"),
            "{path}"
        );
        assert!(header(&h, "x-content-type-options").is_some(), "{path}");
    }
    let (status, _, body) = get(&s.addr, "/api/docs/x", "");
    assert_eq!(status, 404, "the upstream's answer");
    assert!(!String::from_utf8_lossy(&body).contains("swagger-ui"));

    // A bare /api is the SPA's, as with the reference proxy.
    let (status, _, body) = get(&s.addr, "/api", "");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<div id=root>"));
}

#[test]
fn large_bodies_stream_both_ways_without_buffering() {
    let s = start(true);
    let size: usize = 64 * 1024 * 1024;
    // Upload 64 MiB.
    let mut conn = TcpStream::connect(&s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(conn, "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n").unwrap();
    let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let mut digest_input_len = 0;
    for _ in 0..size / chunk.len() {
        conn.write_all(&chunk).unwrap();
        digest_input_len += chunk.len();
    }
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(&format!("\"bytes\": {digest_input_len}")),
        "{text}"
    );

    // Download 64 MiB.
    let (status, _, body) = get(&s.addr, &format!("/api/big?n={size}"), "");
    assert_eq!(status, 200);
    // The body came chunked; strip the framing and count the payload.
    let mut payload = 0usize;
    let mut rest = body.as_slice();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
            .unwrap();
        if n == 0 {
            break;
        }
        payload += n;
        rest = &rest[line_end + 2 + n + 2..];
    }
    assert_eq!(payload, size);

    // Neither direction was held in memory: the server's peak RSS stays far below 64 MiB.
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.web.0.id())).unwrap();
    let hwm_kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hwm_kb < 40 * 1024, "peak RSS {hwm_kb} kB");
}

#[test]
fn backend_down_gives_a_quick_502() {
    let s = start(false);
    let started = Instant::now();
    let (status, h, body) = get(&s.addr, "/api/products/", "");
    assert_eq!(status, 502);
    assert_eq!(header(&h, "content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("backend is unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Without its upstream, /health says so with a 503 and JSON.
    let (status, _, body) = get(&s.addr, "/health", "");
    assert_eq!(status, 503);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "unavailable");
}

#[test]
fn health_is_the_supervisors_aggregate() {
    let s = start(true);
    let (status, h, body) = get(&s.addr, "/health", "");
    assert_eq!(status, 503);
    assert_eq!(header(&h, "content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "degraded");
    assert_eq!(json["services"]["backend"]["state"], "backoff");
    assert_eq!(get(&s.addr, "/health/live", "").0, 200);
    // The public view for anyone, an operator and a bad token; the full one for an admin.
    for auth in [
        "",
        "Authorization: Bearer operator-token\r\n",
        "Authorization: Bearer forged\r\n",
    ] {
        let (_, _, body) = get(&s.addr, "/health", auth);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json["services"]["backend"]["pid"],
            serde_json::Value::Null,
            "{auth}"
        );
        assert_eq!(json["services"]["backend"]["state"], "backoff", "{auth}");
    }
    let (status, _, body) = get(&s.addr, "/health", "Authorization: Bearer admin-token\r\n");
    assert_eq!(status, 503);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["services"]["backend"]["pid"], 42);
}

#[test]
fn slow_clients_are_cut_off_and_others_still_served() {
    let s = start(false);
    // Slowloris: a head that never finishes.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    assert_eq!(get(&s.addr, "/", "").0, 200, "others are served meanwhile");
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.contains("408"), "{text}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut all = Vec::new();
    let _ = idle.read_to_end(&mut all);
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let mut s = start(true);
    let addr = s.addr.clone();
    let mark = s._dir.path().join("in-flight");
    let path = format!("/api/slow?ms=800&mark={}", mark.display());
    let slow = std::thread::spawn(move || get(&addr, &path, "").0);
    wait_for(
        "the request to reach the backend",
        Duration::from_secs(5),
        || mark.exists().then_some(()),
    );
    kill(s.web.0.id(), libc::SIGTERM);
    assert_eq!(slow.join().unwrap(), 200, "the in-flight request completes");
    let status = wait_for("wms web to exit", Duration::from_secs(10), || {
        s.web.0.try_wait().ok().flatten()
    });
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(&s.addr).is_err(), "no longer listening");
}

/// Large bodies (sent by sendfile from the file or a sealed memfd): exact bytes, identity and
/// gzip, several responses in a row on one keep-alive connection, HEAD without a body.
#[test]
fn large_static_bodies_are_exact_on_a_keep_alive_connection() {
    let s = start(false);
    let want = big_js();
    let one = |coding: &str| {
        format!("GET /assets/big-5e.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {coding}\r\n\r\n")
    };
    let request = format!(
        "{}{}{}HEAD /assets/big-5e.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        one("identity"),
        one("gzip"),
        one("identity")
    );
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).unwrap();
    let mut rest = &buf[..];
    let mut next = |expect_body: bool| {
        let split = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&rest[..split]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .expect("content-length")
            .trim()
            .parse()
            .unwrap();
        let body_len = if expect_body { len } else { 0 };
        let body = rest[split + 4..split + 4 + body_len].to_vec();
        rest = &rest[split + 4 + body_len..];
        (head, len, body)
    };
    let (_, len, body) = next(true);
    assert_eq!(len, want.len());
    assert!(body == want.as_bytes(), "identity body differs");
    let (head, len, gz) = next(true);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert_eq!(gz.len(), len);
    assert!(len > 64 * 1024, "the gzip variant is large too: {len}");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert!(decoded == want.as_bytes(), "gzip body differs");
    let (_, _, body) = next(true);
    assert!(body == want.as_bytes(), "second identity body differs");
    let (_, len, _) = next(false);
    assert_eq!(len, want.len(), "HEAD announces the length");
    assert!(
        rest.is_empty(),
        "nothing after the HEAD response: {} bytes",
        rest.len()
    );
}
