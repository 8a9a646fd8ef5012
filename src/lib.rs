//! `wms`: a warehouse management system that ships as one container.
//!
//! One binary, several roles (see `main.rs` for the command line):
//!
//! * [`backend`]: the WMS HTTP API (`wms backend`) and migrations (`wms migrate`).
//! * [`postgres`]: embedded PostgreSQL: first-boot set-up (`wms pg-init`) and the server
//!   launcher (`wms postgres`).
//! * [`supervisor`]: PID 1. Reads `config.toml` into a plan, starts services in dependency
//!   order gated on readiness probes, restarts what dies, stops everything in reverse order.
//!   Its decisions live in a pure engine; the syscalls in a thin runtime around it.
//! * [`web`]: the static SPA server and `/api` reverse proxy (`wms web`).
//! * [`lingering`]: lingering close for the HTTP servers (a response is never lost to RST).
//! * [`backup`]: logical dumps, WAL archiving, base backups, point-in-time restore, drills
//!   (`wms backup`, `wms restore`).
//! * [`ledger`]: the ledger check's SQL, shared by the backend and the restore drills.
//!
//! Every subcommand returns an [`std::process::ExitCode`]; the codes are documented in
//! `main.rs` and the README.

pub mod backend;
pub mod backup;
pub mod ledger;
pub mod lingering;
pub mod postgres;
pub mod supervisor;
pub mod web;
