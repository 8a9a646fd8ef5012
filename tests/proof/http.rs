//! A small blocking HTTP/1.1 client for the proof tests: any method, headers, a body, a
//! hard timeout on every step, one connection per request (`Connection: close`), chunked
//! responses decoded. Errors are `io::Error`s so callers can tell "no answer" (the stack is
//! down) from an answer with a status.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Request {
            method,
            path,
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.header("Content-Type", "application/json")
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the request to `addr` (`host:port`) and reads the whole response.
    pub fn send(&self, addr: &str) -> std::io::Result<Response> {
        let sock: SocketAddr = addr
            .parse()
            .map_err(|e| std::io::Error::other(format!("bad address {addr:?}: {e}")))?;
        let mut s = TcpStream::connect_timeout(&sock, self.timeout)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        s.set_nodelay(true)?;
        s.write_all(&self.encode(addr, false))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        parse_response(&raw)
    }
}

/// Parses a whole response (the server closed the connection after it).
pub fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::other(format!("incomplete response ({} bytes)", raw.len()))
        })?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if rest.len() < len {
            return Err(std::io::Error::other(format!(
                "body cut short: {} of {len} bytes",
                rest.len()
            )));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| std::io::Error::other("chunked body cut short"))?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| std::io::Error::other(format!("bad chunk size {size_text:?}: {e}")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err(std::io::Error::other("chunk cut short"));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

impl Request<'_> {
    /// The request's bytes (HTTP/1.1, `Connection: keep-alive` or `close`).
    fn encode(&self, addr: &str, keep_alive: bool) -> Vec<u8> {
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: {connection}\r\n",
            self.method, self.path
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = self.body.as_deref().unwrap_or(&[]);
        if self.body.is_some() || matches!(self.method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

/// How many bytes of `raw` make one whole response, once that can be told.
fn response_len(raw: &[u8]) -> Option<usize> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return raw[end..]
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .map(|p| end + p + 5);
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    Some(end + len)
}

/// What became of one request sent on a [`KeepAlive`] connection.
#[derive(Debug)]
pub enum Sent {
    /// An answer.
    Answered(Response),
    /// The connection was refused.
    Refused(std::io::Error),
    /// Anything else (reset, timeout, closed without an answer after the retry).
    Failed(std::io::Error),
}

/// A client connection kept alive across requests, as browsers and curl keep them: a
/// request on a *reused* connection that the server closed before sending any byte of an
/// answer is sent once more on a fresh connection (RFC 9112 §9.3.1; what curl and browsers
/// do), and counted in `stale_retries`.
#[derive(Debug)]
pub struct KeepAlive {
    addr: String,
    stream: Option<TcpStream>,
    pub stale_retries: u64,
}

impl KeepAlive {
    pub fn new(addr: &str) -> KeepAlive {
        KeepAlive {
            addr: addr.to_owned(),
            stream: None,
            stale_retries: 0,
        }
    }

    fn connect(&self, timeout: Duration) -> std::io::Result<TcpStream> {
        let sock: SocketAddr = self
            .addr
            .parse()
            .map_err(|e| std::io::Error::other(format!("bad address {}: {e}", self.addr)))?;
        let s = TcpStream::connect_timeout(&sock, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    /// One exchange on `s`: `Ok(None)` when the connection closed before any answer byte.
    fn exchange(s: &mut TcpStream, bytes: &[u8]) -> std::io::Result<Option<Response>> {
        s.write_all(bytes)?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match s.read(&mut buf) {
                Ok(n) => n,
                Err(e) if raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if raw.is_empty() {
                    return Ok(None);
                }
                return Err(std::io::Error::other("connection closed mid-answer"));
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(len) = response_len(&raw) {
                if raw.len() >= len {
                    return parse_response(&raw[..len]).map(Some);
                }
            }
        }
    }

    /// Sends `req` on the kept connection (opening one if needed).
    pub fn send(&mut self, req: &Request) -> Sent {
        let bytes = req.encode(&self.addr, true);
        let is_reused = self.stream.is_some();
        if let Some(mut s) = self.stream.take() {
            match Self::exchange(&mut s, &bytes) {
                Ok(Some(r)) => {
                    self.keep_unless_closed(s, &r);
                    return Sent::Answered(r);
                }
                // Closed before answering (or the write hit the closing connection).
                Ok(None) => self.stale_retries += 1,
                Err(e)
                    if is_reused
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                        ) =>
                {
                    self.stale_retries += 1
                }
                Err(e) => return Sent::Failed(e),
            }
        }
        let mut s = match self.connect(req.timeout) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Sent::Refused(e),
            Err(e) => return Sent::Failed(e),
        };
        match Self::exchange(&mut s, &bytes) {
            Ok(Some(r)) => {
                self.keep_unless_closed(s, &r);
                Sent::Answered(r)
            }
            Ok(None) => Sent::Failed(std::io::Error::other("closed without an answer")),
            Err(e) => Sent::Failed(e),
        }
    }

    fn keep_unless_closed(&mut self, s: TcpStream, r: &Response) {
        if !r
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.stream = Some(s);
        }
    }

    /// Sends `req` on a connection of its own (`Connection: close`).
    pub fn send_fresh(&self, req: &Request) -> Sent {
        let mut s = match self.connect(req.timeout) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Sent::Refused(e),
            Err(e) => return Sent::Failed(e),
        };
        let bytes = req.encode(&self.addr, false);
        match Self::exchange(&mut s, &bytes) {
            Ok(Some(r)) => Sent::Answered(r),
            Ok(None) => Sent::Failed(std::io::Error::other("closed without an answer")),
            Err(e) => Sent::Failed(e),
        }
    }
}
