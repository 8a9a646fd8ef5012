//! Embedded PostgreSQL: first-boot initialisation (`wms pg-init`) and starting the server
//! binary that matches the data (`wms postgres`).
//!
//! * [`settings`]: the official postgres image's environment (`PGDATA`, `POSTGRES_USER`,
//!   `POSTGRES_PASSWORD[_FILE]`, `POSTGRES_DB`, `POSTGRES_INITDB_ARGS`) plus ours, read once.
//! * [`binaries`]: finds the server binaries (`PG_BIN`, else the newest
//!   `/usr/lib/postgresql/*/bin`) and their major version.
//! * [`datadir`]: inspects a data directory and says what it holds, or what is wrong with
//!   it, without changing anything (pure decisions over a small stat snapshot).
//! * [`init`]: the `pg-init` oneshot: socket directory, initdb, password, database, init
//!   scripts, all idempotent.
//!
//! The supervisor runs `pg-init` as root (so it can create and chown directories), then the
//! server as the `postgres` user via `wms postgres`, which replaces itself with the real
//! `postgres` binary so the supervisor signals the postmaster directly.

pub mod access;
pub mod binaries;
pub mod datadir;
pub mod init;
pub mod settings;

use crate::exit::{Failure, Outcome};
use std::os::unix::process::CommandExt;

/// `wms postgres [ARGS]`: exec the detected `postgres` binary with `ARGS` (returns only
/// when that fails).
pub fn exec_server(args: &[String]) -> Outcome {
    let bin = binaries::PgBin::detect().map_err(Failure::failed)?;
    let err = std::process::Command::new(bin.path("postgres"))
        .args(args)
        .exec();
    Err(Failure::failed(format!(
        "cannot run {}: {err}",
        bin.path("postgres").display()
    )))
}
