//! The `/api` reverse proxy and the `/health` forwarder.
//!
//! `/health` on the published port is the supervisor's public view (status, and per service
//! its state, restarts and uptime); the full document (pids, probe errors, last output
//! lines) only for a request whose bearer token the backend accepts as an administrator's
//! (`GET /api/auth/me` answers `"role": "admin"`). This server holds no secret and checks no
//! token itself; with the backend down everyone gets the public view.
//!
//! Requests stream through in both directions (uploads and CSV exports are never buffered
//! whole). Hop-by-hop headers are dropped both ways; `Host` is kept; `X-Real-IP`,
//! `X-Forwarded-For` (appended), `X-Forwarded-Proto` and `X-Forwarded-Host` are set. A
//! backend that is down gives a quick 502 with a JSON `detail`; one that does not answer
//! within [`RESPONSE_TIMEOUT`] gives 504.

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::Body;

/// Connecting to the backend may take this long (it is local: refusals are immediate).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The backend must start answering within this time.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// The supervisor's `/health` must answer within this time.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes hop-by-hop headers, including those named in `Connection`. `Upgrade` is
/// dropped too: the API has no WebSockets.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// Sets the forwarding headers for a request from `peer` that arrived with `host`.
pub fn set_forwarded(headers: &mut HeaderMap, peer: IpAddr) {
    let ip = peer.to_string();
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
        _ => ip.clone(),
    };
    let host = headers.get(header::HOST).cloned();
    for (name, value) in [
        ("x-forwarded-for", Some(xff)),
        ("x-real-ip", Some(ip)),
        ("x-forwarded-proto", Some("http".to_owned())),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    if let Some(h) = host {
        headers.insert("x-forwarded-host", h);
    }
}

/// A JSON error in the API's `{"detail": ...}` shape.
pub fn json_error(status: StatusCode, detail: &str) -> Response<Body> {
    let body = serde_json::json!({ "detail": detail }).to_string();
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A complete body.
pub fn full(bytes: Bytes) -> Body {
    Body::Left(Full::new(bytes))
}

/// A request body to the backend: streamed from the client, or buffered (and so replayable).
type UpstreamBody = BoxBody<Bytes, hyper::Error>;

/// Largest request body buffered so the request can be sent again.
pub const REPLAY_MAX: usize = 1 << 20;
/// Attempts for a replayable request whose connection closed before any answer.
const ATTEMPTS: usize = 3;

/// The connections to the backend and to the supervisor.
pub struct Upstreams {
    api: Client<HttpConnector, UpstreamBody>,
    api_base: Uri,
    health: Client<HttpConnector, Empty<Bytes>>,
    health_url: Option<Uri>,
}

fn connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.set_connect_timeout(Some(CONNECT_TIMEOUT));
    c.set_nodelay(true);
    c
}

impl Upstreams {
    /// `api_base` like `http://127.0.0.1:8000`; `health_url` the supervisor's `/health`.
    pub fn new(api_base: Uri, health_url: Option<Uri>) -> Self {
        Upstreams {
            api: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector()),
            api_base,
            health: Client::builder(TokioExecutor::new()).build(connector()),
            health_url,
        }
    }

    /// Forwards an `/api/...` request to the backend.
    pub async fn forward(&self, req: Request<Incoming>, peer: IpAddr) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = match Uri::builder()
            .scheme(self.api_base.scheme_str().unwrap_or("http"))
            .authority(
                self.api_base
                    .authority()
                    .map_or("127.0.0.1:8000", |a| a.as_str()),
            )
            .path_and_query(path_and_query)
            .build()
        {
            Ok(u) => u,
            Err(_) => return json_error(StatusCode::BAD_REQUEST, "Bad Request"),
        };
        parts.uri = uri;
        strip_hop_by_hop(&mut parts.headers);
        set_forwarded(&mut parts.headers, peer);
        if !is_replayable(&parts.method, &parts.headers) {
            let req = Request::from_parts(parts, body.boxed());
            return self.send(req).await.unwrap_or_else(|e| e);
        }
        // Idempotent, or deduplicated by the backend (Idempotency-Key), and small: buffered,
        // so a request whose connection closed before any answer (an instance going away in
        // a rolling restart, a crash) is sent again, as nginx's proxy_next_upstream does.
        let bytes = match Limited::new(body, REPLAY_MAX).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad Request: cannot read the request body: {e}"),
                );
            }
        };
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let mut req = Request::new(full_upstream(bytes.clone()));
            *req.method_mut() = parts.method.clone();
            *req.uri_mut() = parts.uri.clone();
            *req.version_mut() = parts.version;
            *req.headers_mut() = parts.headers.clone();
            match self.send(req).await {
                Ok(resp) => return resp,
                Err(resp) => last = Some(resp),
            }
        }
        last.unwrap_or_else(|| json_error(StatusCode::BAD_GATEWAY, "Bad Gateway"))
    }

    /// One attempt. `Err` carries the error response, and only for a request that got no
    /// answer at all (retrying it cannot do harm to a replayable request).
    async fn send(&self, req: Request<UpstreamBody>) -> Result<Response<Body>, Response<Body>> {
        match tokio::time::timeout(RESPONSE_TIMEOUT, self.api.request(req)).await {
            Ok(Ok(resp)) => {
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Ok(Response::from_parts(parts, Body::Right(body)))
            }
            Ok(Err(e)) => {
                tracing::warn!("backend unavailable: {e}");
                let resp = json_error(
                    StatusCode::BAD_GATEWAY,
                    "Bad Gateway: the backend is unavailable",
                );
                if is_unanswered(&e) {
                    Err(resp)
                } else {
                    Ok(resp)
                }
            }
            Err(_) => Ok(json_error(
                StatusCode::GATEWAY_TIMEOUT,
                "Gateway Timeout: the backend did not answer in time",
            )),
        }
    }

    /// Whether `/health` is the supervisor's aggregate (else this server answers `ok`).
    pub fn forwards_health(&self) -> bool {
        self.health_url.is_some()
    }

    /// `/health`: the supervisor's aggregate (status and JSON) when configured, else `ok`;
    /// the full document for an administrator, the public view for everyone else.
    pub async fn health(
        &self,
        authorization: Option<&HeaderValue>,
        is_head: bool,
    ) -> Response<Body> {
        let Some(full_url) = &self.health_url else {
            return text(StatusCode::OK, "ok\n", is_head);
        };
        let is_admin = match authorization {
            Some(auth) => self.is_admin(auth).await,
            None => false,
        };
        let url = if is_admin {
            full_url.clone()
        } else {
            public_view(full_url)
        };
        let request = Request::get(url).body(Empty::<Bytes>::new());
        let Ok(request) = request else {
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "bad health upstream");
        };
        let answer = async {
            let resp = self
                .health
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(HEALTH_TIMEOUT, answer).await {
            Ok(Ok((status, body))) => {
                let len = body.len();
                let mut resp = Response::new(full(if is_head { Bytes::new() } else { body }));
                *resp.status_mut() = status;
                let h = resp.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                resp
            }
            Ok(Err(e)) => unavailable(&format!("the supervisor's health is unavailable: {e}")),
            Err(_) => unavailable("the supervisor's health did not answer in time"),
        }
    }
}

impl Upstreams {
    /// True if and only if the backend says this bearer token is an active administrator's.
    async fn is_admin(&self, authorization: &HeaderValue) -> bool {
        let uri = format!(
            "{}/api/auth/me",
            self.api_base.to_string().trim_end_matches('/')
        );
        let Ok(request) = Request::get(uri)
            .header(header::AUTHORIZATION, authorization.clone())
            .body(Empty::<Bytes>::new())
        else {
            return false;
        };
        let check = async {
            let resp = self.health.request(request).await.ok()?;
            if resp.status() != StatusCode::OK {
                return None;
            }
            let body = Limited::new(resp.into_body(), 64 * 1024)
                .collect()
                .await
                .ok()?;
            let me: serde_json::Value = serde_json::from_slice(&body.to_bytes()).ok()?;
            Some(me["role"] == "admin" && me["is_active"] != false)
        };
        matches!(
            tokio::time::timeout(HEALTH_TIMEOUT, check).await,
            Ok(Some(true))
        )
    }
}

/// The supervisor's public view: the same listener, path `/health/public`.
fn public_view(full: &Uri) -> Uri {
    let mut parts = full.clone().into_parts();
    parts.path_and_query = Some(hyper::http::uri::PathAndQuery::from_static(
        "/health/public",
    ));
    Uri::from_parts(parts).unwrap_or_else(|_| full.clone())
}

/// True if and only if sending the request again is harmless: an idempotent method
/// (RFC 9110 §9.2.2), or a request the backend deduplicates by its `Idempotency-Key`; and a
/// body small enough to buffer (a known `Content-Length` up to [`REPLAY_MAX`], or none).
fn is_replayable(method: &hyper::Method, headers: &HeaderMap) -> bool {
    use hyper::Method;
    let is_idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    ) || headers.contains_key("idempotency-key");
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let is_chunked = headers.contains_key(header::TRANSFER_ENCODING);
    is_idempotent && !is_chunked && length.is_none_or(|n| n <= REPLAY_MAX)
}

/// True if and only if the backend never answered: the connection failed, or closed or
/// reset before any response arrived (typed checks down the error's sources).
fn is_unanswered(e: &hyper_util::client::legacy::Error) -> bool {
    if e.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

fn full_upstream(bytes: Bytes) -> UpstreamBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn unavailable(detail: &str) -> Response<Body> {
    let body = serde_json::json!({ "status": "unavailable", "detail": detail }).to_string();
    let mut resp = json_error(StatusCode::SERVICE_UNAVAILABLE, "");
    *resp.body_mut() = full(Bytes::from(body));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A short plain-text response.
pub fn text(status: StatusCode, body: &'static str, is_head: bool) -> Response<Body> {
    let mut resp = Response::new(full(if is_head {
        Bytes::new()
    } else {
        Bytes::from_static(body.as_bytes())
    }));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if is_head {
        // The length a GET would get; otherwise hyper writes it from the body's size.
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["authorization"]);
    }

    #[test]
    fn forwarding_headers_append() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("wms.example:8080"));
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        set_forwarded(&mut h, "192.168.1.5".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 192.168.1.5");
        assert_eq!(h["x-real-ip"], "192.168.1.5");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "wms.example:8080");
        assert_eq!(h["host"], "wms.example:8080");
    }
}
