//! `wms backend`: start-up, serving, shutdown.
//!
//! Start-up, in order: validate the configuration (exit 2), connect to the database waiting
//! up to `--db-wait` (exit 1), check the business time zone with PostgreSQL (exit 2), apply
//! migrations with `--migrate` or check the schema version (exit 3 when behind), resolve the
//! shared JWT secret, seed once, bind (exit 1), serve.
//!
//! Shutdown: SIGTERM or SIGINT stops accepting connections; in-flight requests get
//! `--shutdown-grace` to finish, then the process exits 0 either way. The one background
//! task (forgetting expired idempotency keys) is owned by a guard that aborts it on drop.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::auth::{self, Keys};
use super::config::{BackendArgs, Settings};
use super::db;
use super::idempotency;
use super::migrate::{self, SchemaState};
use super::routes::{self, AppState};
use super::seed;
use super::{EXIT_CONFIG, EXIT_SCHEMA};

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

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        // Small responses must not wait for Nagle's algorithm.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    let server = axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(async move {
            let _ = stop_rx.changed().await;
        })
        .into_future();
    tokio::pin!(server);
    tracing::info!("wms backend listening on http://{address}");

    let signal_name = tokio::select! {
        r = &mut server => {
            drop(purge);
            return match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("server failed: {e}");
                    ExitCode::FAILURE
                }
            };
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
    match tokio::time::timeout(settings.shutdown_grace, &mut server).await {
        Ok(Ok(())) => tracing::info!("stopped"),
        Ok(Err(e)) => tracing::warn!("stopped with an error: {e}"),
        Err(_) => tracing::warn!(
            "requests still running after {:?}; exiting anyway",
            settings.shutdown_grace
        ),
    }
    ExitCode::SUCCESS
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
