//! Request routing of `wms web`: `/api/*` to the proxy, `/health` to the supervisor's
//! aggregate, everything else to the in-memory site. The socket work (accept loop, limits,
//! drain) is [`crate::http::serve`]'s.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::Body;
use super::proxy::{Upstreams, full, text};
use super::resolve::{self, Refusal, Route};
use super::respond;
use super::site::Site;
use crate::http::cores::Seat;
use crate::http::{self, Drain, Limits, Listener};

/// What a request handler needs.
struct Ctx {
    site: Arc<Site>,
    upstreams: Upstreams,
}

/// Serves `listener` until `shutdown` resolves, then drains in-flight requests. One call per
/// thread ([`crate::http::cores`], which gives the `seat`): the site is shared, the upstream
/// connections are this thread's own.
pub async fn serve(
    listener: Listener,
    seat: Seat,
    site: Arc<Site>,
    upstreams: Upstreams,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Drain {
    let ctx = Arc::new(Ctx { site, upstreams });
    let make_service = move |peer: Option<SocketAddr>| {
        let ctx = Arc::clone(&ctx);
        let client = peer.map_or(std::net::Ipv4Addr::LOCALHOST.into(), |p| p.ip());
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let ctx = Arc::clone(&ctx);
            async move { Ok::<_, Infallible>(handle(&ctx, req, client).await) }
        })
    };
    http::serve(listener, seat, limits, make_service, shutdown).await
}

async fn handle(ctx: &Ctx, req: Request<Incoming>, client: std::net::IpAddr) -> Response<Body> {
    let path = req.uri().path();
    let is_head = req.method() == Method::HEAD;
    let alias = resolve::page_alias(path);
    if alias.is_none() && path.starts_with("/api/") {
        // The forwarding futures are large: boxed, they do not swell (and get copied with)
        // every request's future, most of which are answered from memory.
        return Box::pin(ctx.upstreams.forward(req, client)).await;
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
        "/health" | "/health/" if ctx.upstreams.forwards_health() => {
            let auth = req.headers().get(header::AUTHORIZATION);
            return Box::pin(ctx.upstreams.health(auth, is_head)).await;
        }
        "/health" | "/health/" | "/health/live" => return text(StatusCode::OK, "ok\n", is_head),
        _ => {}
    }
    if let Some(page) = alias {
        let mut resp = match ctx.site.get(page) {
            Some(entry) => static_response(entry, &req),
            None => text(StatusCode::NOT_FOUND, "Not Found\n", is_head),
        };
        respond::add_security_headers(resp.headers_mut());
        return resp;
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
