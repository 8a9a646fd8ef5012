//! The accept loop and request routing of `wms web`.
//!
//! One acceptor, one task per connection. A semaphore caps open connections (beyond it the
//! kernel's backlog holds new ones); hyper's header-read timeout cuts off slowloris clients
//! and idle keep-alive connections alike; request heads are capped at 64 KiB. On SIGTERM or
//! SIGINT the listener closes, in-flight requests get `drain_timeout` to finish, and the
//! process exits 0. The numbers are in [`Limits`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::Body;
use super::proxy::{Upstreams, full, text};
use super::resolve::{self, Refusal, Route};
use super::respond;
use super::site::Site;
use crate::lingering::Lingering;

/// Protection against slow or greedy clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most open connections.
    pub max_connections: usize,
    /// Time a client has to send a request head (also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// Largest request head, in bytes.
    pub max_head: usize,
    /// Time in-flight requests get at shutdown.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            max_head: 64 * 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// What a request handler needs.
struct Ctx {
    site: Site,
    upstreams: Upstreams,
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct ListenError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Serves until `shutdown` resolves, then drains.
pub async fn run(
    addr: SocketAddr,
    site: Site,
    upstreams: Upstreams,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ListenError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, source })?;
    serve(listener, site, upstreams, limits, shutdown).await;
    Ok(())
}

/// The accept loop on an already bound listener (tests bind port 0).
pub async fn serve(
    listener: TcpListener,
    site: Site,
    upstreams: Upstreams,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let ctx = Arc::new(Ctx { site, upstreams });
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let ctx = Arc::clone(&ctx);
            async move { Ok::<_, Infallible>(handle(&ctx, req, peer).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(limits.max_head)
            .serve_connection(TokioIo::new(Lingering::new(stream)), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some requests did not finish within {:?}",
            limits.drain_timeout
        );
    }
}

async fn handle(ctx: &Ctx, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path();
    let is_head = req.method() == Method::HEAD;
    if path.starts_with("/api/") {
        return ctx.upstreams.forward(req, peer.ip()).await;
    }
    if req.method() != Method::GET && !is_head {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed\n",
            false,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path {
        "/health" | "/health/" => return ctx.upstreams.health(is_head).await,
        "/health/live" => return text(StatusCode::OK, "ok\n", is_head),
        _ => {}
    }
    let mut resp = match resolve::normalize(path) {
        Err(Refusal::BadPath) => text(StatusCode::BAD_REQUEST, "Bad Request\n", is_head),
        Err(Refusal::Hidden) => text(StatusCode::NOT_FOUND, "Not Found\n", is_head),
        Ok(clean) => match resolve::route(&clean, |p| ctx.site.contains(p)) {
            Route::File(p) => match ctx.site.get(&p) {
                Some(entry) => static_response(entry, &req),
                None => text(StatusCode::NOT_FOUND, "Not Found\n", is_head),
            },
            Route::Fallback => match ctx.site.index() {
                Some(index) => static_response(index, &req),
                None => text(StatusCode::NOT_FOUND, "Not Found\n", is_head),
            },
            Route::NotFound => text(StatusCode::NOT_FOUND, "Not Found\n", is_head),
        },
    };
    respond::add_security_headers(resp.headers_mut());
    resp
}

fn static_response(entry: &super::site::Entry, req: &Request<Incoming>) -> Response<Body> {
    let s = respond::file_response(entry, req.method(), req.headers());
    let mut resp = Response::new(full(s.body));
    *resp.status_mut() = s.status;
    *resp.headers_mut() = s.headers;
    resp
}
