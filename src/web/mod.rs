//! `wms web`: the static SPA server and `/api` reverse proxy that replaces nginx.
//!
//! * [`resolve`]: request path → file, SPA fallback or 404; refuses every traversal trick
//!   (pure).
//! * [`site`]: the built frontend, loaded into memory at start-up with its compressed
//!   variants, ETags and cache policy.
//! * [`respond`]: content negotiation, conditional requests, security headers (pure).
//! * [`proxy`]: `/api/*` to the backend, streaming; `/health` from the supervisor.
//! * [`server`]: request routing over the shared serving path ([`crate::http`]).
//!
//! Routes: `/health` (the supervisor's aggregate when `--health-upstream` is given, else
//! `ok`), `/health/live` (this server's own liveness, never forwarded: the supervisor's
//! readiness probe for `web` must not depend on the aggregate that includes `web`),
//! `/api/...` (proxied), everything else static.

pub mod proxy;
pub mod resolve;
pub mod respond;
pub mod server;
pub mod site;

use crate::exit::{Failure, Outcome};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

/// The name of the listening socket `wms web` takes from the supervisor (`LISTEN_FDNAMES`).
pub const LISTENER_NAME: &str = "http";

/// Every response body: bytes from memory, or the backend's body streamed through. An
/// enum, not a box: most responses are answered from memory, and need no allocation.
pub type Body = http_body_util::Either<http_body_util::Full<Bytes>, hyper::body::Incoming>;

/// Command-line options of `wms web`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Directory with the built frontend (index.html, assets/).
    #[arg(long, env = "WMS_WEB_ROOT", default_value = "/usr/share/wms/www")]
    pub root: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "WMS_WEB_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// The backend `/api` requests go to.
    #[arg(
        long,
        env = "WMS_API_UPSTREAM",
        default_value = "http://127.0.0.1:8000"
    )]
    pub api: hyper::Uri,
    /// The supervisor's aggregate health, served at `/health` (default: plain `ok`).
    #[arg(long, env = "WMS_HEALTH_UPSTREAM")]
    pub health_upstream: Option<hyper::Uri>,
    /// Time a client has to send a request head; also the keep-alive idle limit.
    #[arg(long, env = "WMS_WEB_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: std::time::Duration,
}

/// Exit codes: 0 after a graceful shutdown, 1 when it cannot start (root, address), 2 for
/// an invalid `--api`.
pub fn run(args: WebArgs) -> Outcome {
    if args.api.scheme_str() != Some("http") || args.api.authority().is_none() {
        return Err(Failure::invalid(format!(
            "--api must be an http://host:port URL, got {}",
            args.api
        )));
    }
    let site = Arc::new(site::Site::load(&args.root).map_err(Failure::failed)?);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = crate::rt::current_thread()
        .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
    let limits = crate::http::Limits {
        header_timeout: args.header_timeout,
        ..crate::http::Limits::default()
    };
    rt.block_on(async move {
        let listener = crate::http::Listener::inherit_or_bind(LISTENER_NAME, args.listen)
            .await
            .map_err(Failure::failed)?;
        tracing::info!(
            "serving {} files from {} on {} ({threads} threads)",
            site.len(),
            args.root.display(),
            listener.describe()
        );
        // Ready: the supervisor (ready = { notify = true }) learns it at once.
        crate::sdnotify::ready();
        let shutdown = async {
            let signal = crate::http::serve::termination_signal().await;
            tracing::info!("{signal}: draining in-flight requests");
        };
        let (api, health) = (args.api, args.health_upstream);
        let serve = move |listener, limits, seat, stop: crate::http::cores::Stop| {
            let upstreams = proxy::Upstreams::new(api.clone(), health.clone());
            server::serve(
                listener,
                seat,
                Arc::clone(&site),
                upstreams,
                limits,
                stop.stopped(),
            )
        };
        let drain =
            crate::http::cores::serve_on_threads("web", threads, listener, limits, shutdown, serve)
                .await;
        if drain == crate::http::Drain::TimedOut {
            tracing::warn!(
                "some requests did not finish within {:?}",
                limits.drain_timeout
            );
        }
        Ok(())
    })
}
