//! `wms backend`: start-up, serving, shutdown.
//!
//! Start-up, in order: validate the configuration (exit 2), connect to the database waiting
//! up to `--db-wait` (exit 1), check the business time zone with PostgreSQL (exit 2), apply
//! migrations with `--migrate` or check the schema version (exit 3 when behind), resolve the
//! shared JWT secret, seed once, bind (exit 1), serve.
//!
//! Serving: one acceptor ([`Acceptor`]) hands each connection to its own task running hyper's
//! HTTP/1 server with a header-read timeout (a client that never finishes its request head,
//! or sits idle between requests, is cut off) and a cap on open connections (a permit per
//! connection, released when the task ends).
//!
//! Shutdown: SIGTERM or SIGINT stops accepting connections; in-flight requests get
//! `--shutdown-grace` to finish (idle keep-alive connections close at once), then the process
//! exits 0 either way. The one background task (forgetting expired idempotency keys) is
//! owned by a guard that aborts it on drop.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::auth::{self, Keys};
use super::config::{BackendArgs, Settings};
use super::db;
use super::idempotency;
use super::migrate::{self, SchemaState};
use super::routes::{self, AppState};
use super::seed;
use super::{EXIT_CONFIG, EXIT_SCHEMA};
use crate::http::lingering::Lingering;

/// Checks a time zone name with PostgreSQL's own time zone database.
const CHECK_TZ: &str = "SELECT now() AT TIME ZONE $1::text";
/// How often expired idempotency keys are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Serves until SIGTERM/SIGINT; see [`super`] for the exit codes.
pub fn run(args: BackendArgs) -> ExitCode {
    let settings = match Settings::from_args(args) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(settings))
}

/// Aborts the purge task when dropped (at shutdown, or if start-up fails after spawning).
struct PurgeTask(JoinHandle<()>);

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(settings: Settings) -> ExitCode {
    // The signal handlers go first: a SIGTERM during a slow start-up still ends us cleanly.
    let (mut sigterm, mut sigint) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let start = async {
        let app = match prepare(&settings).await {
            Ok(app) => app,
            Err(code) => return Err(code),
        };
        let listener = match TcpListener::bind(settings.listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot listen on {}: {e}", settings.listen);
                return Err(ExitCode::FAILURE);
            }
        };
        Ok((app, listener))
    };
    let (app, listener) = tokio::select! {
        r = start => match r {
            Ok(v) => v,
            Err(code) => return code,
        },
        _ = sigterm.recv() => return ExitCode::SUCCESS,
        _ = sigint.recv() => return ExitCode::SUCCESS,
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| settings.listen.to_string(), |a| a.to_string());
    let purge = PurgeTask(tokio::spawn(purge_loop(app.pool.clone())));

    let (stop_tx, stop_rx) = watch::channel(false);
    let acceptor = Acceptor {
        listener,
        router: routes::router(app),
        permits: Arc::new(Semaphore::new(settings.max_connections)),
        header_timeout: settings.header_timeout,
        stop: stop_rx,
        connections: JoinSet::new(),
    };
    tracing::info!("wms backend listening on http://{address}");
    let serving = acceptor.run();
    tokio::pin!(serving);
    let signal_name = tokio::select! {
        connections = &mut serving => {
            // The acceptor only ends on its own if the stop channel broke: treat as a stop.
            drop(connections);
            drop(purge);
            return ExitCode::SUCCESS;
        }
        _ = sigterm.recv() => "SIGTERM",
        _ = sigint.recv() => "SIGINT",
    };
    tracing::info!(
        "{signal_name}: not accepting new connections; waiting up to {:?} for requests in flight",
        settings.shutdown_grace
    );
    drop(purge);
    let _ = stop_tx.send(true);
    // The acceptor returns at once (the listener closes); then the connections drain.
    let mut connections = serving.await;
    let drained = tokio::time::timeout(settings.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => tracing::info!("stopped"),
        Err(_) => {
            tracing::warn!(
                "{} connection(s) still busy after {:?}; exiting anyway",
                connections.len(),
                settings.shutdown_grace
            );
            connections.abort_all();
        }
    }
    ExitCode::SUCCESS
}

/// Accepts connections until told to stop, each served by its own task.
struct Acceptor {
    listener: TcpListener,
    router: Router,
    /// One permit per open connection; a task holds its permit until its connection ends,
    /// so at most `--max-connections` are open and the acceptor waits for a free one.
    permits: Arc<Semaphore>,
    header_timeout: Duration,
    /// Turns `true` at shutdown: the acceptor returns, connections finish gracefully.
    stop: watch::Receiver<bool>,
    /// The connection tasks; returned to the caller, who waits for them (bounded).
    connections: JoinSet<()>,
}

impl Acceptor {
    /// Runs until the stop signal; returns the connection tasks still running. Dropping the
    /// listener on return closes the port.
    async fn run(mut self) -> JoinSet<()> {
        loop {
            // Reap finished connection tasks so the set does not grow.
            while self.connections.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = Arc::clone(&self.permits).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = self.stop.changed() => break,
            };
            let stream = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // E.g. EMFILE: back off instead of spinning; the connection in the
                        // backlog waits.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = self.stop.changed() => break,
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY: {e}");
            }
            let service = TowerToHyperService::new(self.router.clone());
            let mut stop = self.stop.clone();
            let header_timeout = self.header_timeout;
            self.connections.spawn(async move {
                // Released when this task ends, whatever the outcome.
                let _permit = permit;
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(Lingering::new(stream)), service);
                tokio::pin!(conn);
                let result = tokio::select! {
                    r = conn.as_mut() => r,
                    _ = stop.changed() => {
                        // Finish the request in flight (if any), then close.
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
            });
        }
        self.connections
    }
}

/// Everything before binding: database, schema, secret, seed. `Err` carries the exit code.
async fn prepare(settings: &Settings) -> Result<Arc<AppState>, ExitCode> {
    let mut client = db::connect_with_wait(&settings.database, settings.db_wait)
        .await
        .map_err(|e| {
            tracing::error!("cannot connect to the database: {e}");
            ExitCode::FAILURE
        })?;
    if let Err(e) = client.query_one(CHECK_TZ, &[&settings.business_tz]).await {
        tracing::error!(
            "WMS_BUSINESS_TZ: {:?} is not a time zone PostgreSQL knows: {e}",
            settings.business_tz
        );
        return Err(ExitCode::from(EXIT_CONFIG));
    }
    if settings.migrate {
        match migrate::apply(&mut client).await {
            Ok(applied) if applied.is_empty() => tracing::info!("schema up to date"),
            Ok(applied) => tracing::info!("applied {}", applied.join(", ")),
            Err(e) => {
                tracing::error!("{e}");
                return Err(ExitCode::FAILURE);
            }
        }
    } else {
        match migrate::check(&client).await {
            Ok(SchemaState::Current) => {}
            Ok(SchemaState::Ahead { applied, known }) => tracing::warn!(
                "the database has migration V{applied}, newer than this build's V{known}; serving anyway"
            ),
            Ok(SchemaState::Behind { applied, known }) => {
                tracing::error!(
                    "the database schema is at {} but this build needs V{known}: run `wms migrate` (or `wms backend --migrate`)",
                    applied.map_or_else(|| "no migration".to_owned(), |v| format!("V{v}"))
                );
                return Err(ExitCode::from(EXIT_SCHEMA));
            }
            Err(e) => {
                tracing::error!("cannot read the schema version: {e}");
                return Err(ExitCode::FAILURE);
            }
        }
    }
    drop(client);

    let pool = db::pool(settings.database.clone(), settings.db_pool_size).map_err(|e| {
        tracing::error!("{e}");
        ExitCode::FAILURE
    })?;
    let health_pool = db::pool(settings.database.clone(), 1).map_err(|e| {
        tracing::error!("{e}");
        ExitCode::FAILURE
    })?;
    let secret = {
        let conn = db::conn(&pool).await.map_err(|e| {
            tracing::error!("{e}");
            ExitCode::FAILURE
        })?;
        auth::shared_secret(&conn, settings.secret_key.as_deref())
            .await
            .map_err(|e| {
                tracing::error!("cannot read or store the JWT secret: {e}");
                ExitCode::FAILURE
            })?
    };
    if let Err(e) = seed::seed_once(&pool, &settings.admin_email, &settings.admin_password).await {
        tracing::error!("seeding failed: {e:?}");
        return Err(ExitCode::FAILURE);
    }
    Ok(Arc::new(AppState {
        pool,
        health_pool,
        keys: Keys::new(&secret, settings.token_ttl),
        business_tz: settings.business_tz.clone(),
        upload_limit: settings.upload_limit,
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
