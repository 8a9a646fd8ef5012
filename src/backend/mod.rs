//! The WMS HTTP API (`wms backend`) and its database migrations (`wms migrate`).
//!
//! The contract is `spec/wms-api.md` of the shared design (every "Our version" correction
//! applied); `docs/backend.md` records the decisions taken here. How the pieces relate:
//!
//! * [`config`]: command-line options and environment, resolved into [`config::Settings`].
//! * [`server`]: the runtime, the listener, graceful shutdown and the background purge task.
//! * [`routes`]: the router (canonical paths, 307 slash toggling, 404/405) and the thin
//!   handlers: decode the request, authenticate, validate, call an owner module, encode.
//!   No SQL. [`extract`] reads bodies, queries and headers for them; [`validation`] turns JSON
//!   into typed input with pydantic-shaped 422 items; [`errors`] maps every failure to JSON.
//! * Owner modules, each holding its tables' SQL as named constants: [`users`] (users),
//!   [`auth`] (tokens, passwords, the shared JWT secret), [`reference`] (sources and
//!   distribution centres), [`products`] (products), [`stock`] (balances, the nine operations,
//!   summary, ledger check), [`movements`] (the journal and its CSV export), [`idempotency`]
//!   (stored `Idempotency-Key` responses), [`import`] (the Excel import), [`seed`] (first-start
//!   data, once).
//! * [`db`]: the pool, the connection string, PostgreSQL error classification; [`migrate`]:
//!   refinery migrations under an advisory lock, adopting reference databases.
//! * [`wire`]: wire formats shared by every module (timestamps).
//! * [`openapi`]: the OpenAPI 3 document served at `/api/openapi.json`.
//!
//! Exit codes of both subcommands:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | `backend`: stopped on SIGTERM/SIGINT; `migrate`: the schema is up to date |
//! | 1 | runtime failure: database unreachable, cannot listen, a migration failed |
//! | 2 | invalid configuration (command line, `DATABASE_URL`, time zone, sizes) |
//! | 3 | `backend` without `--migrate`: the database schema is not at this build's version |

pub mod auth;
pub mod config;
pub mod db;
pub mod errors;
pub mod export;
pub mod extract;
pub mod idempotency;
pub mod import;
pub mod migrate;
pub mod movements;
pub mod openapi;
pub mod paging;
pub mod products;
pub mod reference;
pub mod routes;
pub mod seed;
pub mod server;
pub mod state;
pub mod stock;
pub mod users;
pub mod validation;
pub mod wire;

use std::process::ExitCode;

pub use config::{BackendArgs, MigrateArgs};

/// Exit code: the configuration is invalid.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code: the database schema does not match this build (run `wms migrate`).
pub const EXIT_SCHEMA: u8 = 3;

/// Runs `work` to completion on a new tokio runtime: `workers` threads, or (`None`) the
/// calling thread only. Exit 1 if the runtime cannot be started.
fn block_on(workers: Option<usize>, work: impl Future<Output = ExitCode>) -> ExitCode {
    let mut builder = match workers {
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_current_thread(),
    };
    match builder.enable_all().build() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the API until SIGTERM/SIGINT; see the module doc for the exit codes.
pub fn run(args: BackendArgs) -> ExitCode {
    server::run(args)
}

/// Applies pending migrations and exits; see the module doc for the exit codes.
pub fn migrate(args: MigrateArgs) -> ExitCode {
    migrate::run(args)
}
