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
//!   data, once), [`stocktake`] (cycle counts and their approval).
//! * The warehouse floor (docs/floor-api.md): [`floor`] holds its handlers and routes (scan
//!   lookup, batch posting, stocktakes); [`batch`] posts a scan session's lines in one
//!   transaction.
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

pub mod admin;
pub mod auth;
pub mod batch;
pub mod client;
pub mod config;
pub mod db;
pub mod errors;
pub mod export;
pub mod extract;
pub mod floor;
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
pub mod stocktake;
pub mod throttle;
pub mod users;
pub mod validation;
pub mod wire;
pub mod workbook;

use crate::exit::{Failure, Outcome};
pub use admin::AdminArgs;
pub use config::{BackendArgs, MigrateArgs};

/// Runs `work` to completion on a new tokio runtime: `workers` threads, or (`None`) the
/// calling thread only; fails if the runtime cannot be started.
fn block_on<T>(workers: Option<usize>, work: impl Future<Output = T>) -> Result<T, Failure> {
    let runtime = match workers {
        Some(n) => crate::rt::multi_thread(n),
        None => crate::rt::current_thread(),
    };
    let runtime = runtime.map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
    Ok(runtime.block_on(work))
}

/// Serves the API until SIGTERM/SIGINT; see the module doc for the exit codes.
pub fn run(args: BackendArgs) -> Outcome {
    server::run(args)
}

/// Runs a maintenance command (`wms admin reset-password EMAIL`); see [`admin`].
pub fn admin(args: AdminArgs) -> Outcome {
    admin::run(args)
}

/// Applies pending migrations and exits; see the module doc for the exit codes.
pub fn migrate(args: MigrateArgs) -> Outcome {
    migrate::run(args)
}
