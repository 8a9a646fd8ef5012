//! The WMS HTTP API (`wms backend`) and its database migrations (`wms migrate`).
//!
//! Work in progress: the API contract is `../shared/spec/wms-api.md`.

use std::process::ExitCode;

/// Command-line options of `wms backend`.
#[derive(Debug, clap::Args)]
pub struct BackendArgs {}

/// Command-line options of `wms migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {}

/// Serves the API until SIGTERM/SIGINT.
pub fn run(_args: BackendArgs) -> ExitCode {
    tracing::error!("wms backend is not implemented yet");
    ExitCode::FAILURE
}

/// Applies pending migrations and exits.
pub fn migrate(_args: MigrateArgs) -> ExitCode {
    tracing::error!("wms migrate is not implemented yet");
    ExitCode::FAILURE
}
