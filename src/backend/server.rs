//! `wms backend`: start-up, serving, shutdown.
//!
//! Start-up, in order: validate the configuration (exit 2), connect to the database waiting
//! up to `--db-wait` (exit 1), check the business time zone with PostgreSQL (exit 2), apply
//! migrations with `--migrate` or check the schema version (exit 3 when behind), resolve the
//! shared JWT secret, seed once, bind (exit 1), serve.
//!
//! Serving: the shared HTTP path ([`crate::http::serve`]) on the socket the supervisor holds
//! for us (`LISTEN_FDS`, name `http`) or one bound here: a header-read timeout (a client
//! that never finishes its request head, or sits idle between requests, is cut off), a cap
//! on open connections, lingering close. `READY=1` goes to `NOTIFY_SOCKET` once serving.
//!
//! Shutdown: SIGTERM or SIGINT stops accepting connections; in-flight requests get
//! `--shutdown-grace` to finish (idle keep-alive connections close at once), then the process
//! exits 0 either way. The one background task (forgetting expired idempotency keys) is
//! owned by a guard that aborts it on drop.

use crate::exit::{Failure, Outcome};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::service::TowerToHyperService;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::auth::{self, Keys};
use super::config::{BackendArgs, Settings};
use super::db;
use super::idempotency;
use super::migrate::{self, SchemaState};
use super::routes;
use super::seed;
use super::state::AppState;
use crate::http::{self, Drain, Limits, Listener};

/// The name of the listening socket the backend takes from the supervisor.
pub const LISTENER_NAME: &str = "http";
/// How often expired idempotency keys are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Serves until SIGTERM/SIGINT; see [`super`] for the exit codes.
pub fn run(args: BackendArgs) -> Outcome {
    let settings = Settings::from_args(args).map_err(Failure::invalid)?;
    let workers = settings.workers;
    super::block_on(Some(workers), serve(settings))?
}

/// Aborts the purge task when dropped (at shutdown, or if start-up fails after spawning).
struct PurgeTask(JoinHandle<()>);

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(settings: Settings) -> Outcome {
    // The signal handlers go first: a SIGTERM during a slow start-up still ends us cleanly.
    let (mut sigterm, mut sigint) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            return Err(Failure::failed(format!(
                "cannot install signal handlers: {e}"
            )));
        }
    };
    let start = async {
        let app = prepare(&settings).await?;
        // The socket the supervisor holds for us, if it passed one; else our own.
        let listener = Listener::inherit_or_bind(LISTENER_NAME, settings.listen)
            .await
            .map_err(Failure::failed)?;
        Ok::<_, Failure>((app, listener))
    };
    let (app, listener) = tokio::select! {
        r = start => r?,
        _ = sigterm.recv() => return Ok(()),
        _ = sigint.recv() => return Ok(()),
    };
    let purge = PurgeTask(tokio::spawn(purge_loop(app.pool.clone())));
    tracing::info!("wms backend listening on {}", listener.describe());
    // Ready: the supervisor (ready = { notify = true }) learns it at once.
    crate::sdnotify::ready();

    let limits = Limits {
        max_connections: settings.max_connections,
        header_timeout: settings.header_timeout,
        drain_timeout: settings.shutdown_grace,
        ..Limits::default()
    };
    let router = routes::router(app);
    // The peer address goes with each request, for the handlers that need the client's
    // (login throttling); a unix socket has none.
    let make_service = move |peer: Option<std::net::SocketAddr>| {
        TowerToHyperService::new(tower::util::MapRequest::new(
            router.clone(),
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                if let Some(peer) = peer {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                request
            },
        ))
    };
    let grace = settings.shutdown_grace;
    let shutdown = async move {
        let signal_name = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
        };
        tracing::info!(
            "{signal_name}: not accepting new connections; waiting up to {grace:?} for requests in flight"
        );
    };
    let drained = http::serve(
        listener,
        http::cores::Seat::alone(),
        limits,
        make_service,
        shutdown,
    )
    .await;
    drop(purge);
    match drained {
        Drain::Complete => tracing::info!("stopped"),
        Drain::TimedOut => {
            tracing::warn!("connections still busy after {grace:?}; exiting anyway")
        }
    }
    Ok(())
}

/// Everything before binding: database, schema, secret, seed.
async fn prepare(settings: &Settings) -> Result<Arc<AppState>, Failure> {
    let mut client = db::connect_with_wait(&settings.database, settings.db_wait)
        .await
        .map_err(|e| Failure::failed(format!("cannot connect to the database: {e}")))?;
    if let Err(e) = db::check_time_zone(&client, &settings.business_tz).await {
        return Err(Failure::invalid(format!(
            "WMS_BUSINESS_TZ: {:?} is not a time zone PostgreSQL knows: {e}",
            settings.business_tz
        )));
    }
    if settings.migrate {
        match migrate::apply(&mut client).await.map_err(Failure::failed)? {
            applied if applied.is_empty() => tracing::info!("schema up to date"),
            applied => tracing::info!("applied {}", applied.join(", ")),
        }
    } else {
        match migrate::check(&client).await {
            Ok(SchemaState::Current) => {}
            Ok(SchemaState::Ahead { applied, known }) => tracing::warn!(
                "the database has migration V{applied}, newer than this build's V{known}; serving anyway"
            ),
            Ok(SchemaState::Behind { applied, known }) => {
                return Err(Failure::precondition(format!(
                    "the database schema is at {} but this build needs V{known}: run `wms migrate` (or `wms backend --migrate`)",
                    applied.map_or_else(|| "no migration".to_owned(), |v| format!("V{v}"))
                )));
            }
            Err(e) => {
                return Err(Failure::failed(format!(
                    "cannot read the schema version: {e}"
                )));
            }
        }
    }
    drop(client);

    let pool =
        db::pool(settings.database.clone(), settings.db_pool_size).map_err(Failure::failed)?;
    let health_pool = db::pool(settings.database.clone(), 1).map_err(Failure::failed)?;
    let secret = {
        let conn = db::conn(&pool).await.map_err(Failure::failed)?;
        auth::shared_secret(&conn, settings.secret_key.as_deref())
            .await
            .map_err(|e| Failure::failed(format!("cannot read or store the JWT secret: {e}")))?
    };
    let admin = seed::Admin {
        email: &settings.admin_email,
        password: settings.admin_password.as_deref(),
        secrets_dir: &settings.secrets_dir,
    };
    if let Err(e) = seed::seed_once(&pool, admin).await {
        return Err(Failure::failed(format!("seeding failed: {e:?}")));
    }
    Ok(Arc::new(AppState {
        pool,
        health_pool,
        keys: Keys::new(&secret, settings.token_ttl),
        business_tz: settings.business_tz.clone(),
        upload_limit: settings.upload_limit,
        throttle: Default::default(),
        trusted_proxies: settings.trusted_proxies.clone(),
        imports: tokio::sync::Semaphore::new(1),
    }))
}

/// Forgets expired idempotency keys every [`PURGE_EVERY`]; failures are logged and retried
/// at the next round. Runs until its [`PurgeTask`] guard aborts it.
async fn purge_loop(pool: deadpool_postgres::Pool) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    loop {
        every.tick().await;
        match idempotency::purge_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("forgot {n} expired idempotency keys"),
            Err(e) => tracing::warn!("purging idempotency keys: {e}"),
        }
    }
}
