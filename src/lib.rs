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
//! * [`backup`]: logical dumps, WAL archiving, base backups, point-in-time restore, drills
//!   (`wms backup`, `wms restore`).
//! * [`http`]: the one HTTP serving path (accept loop, limits, lingering close, graceful
//!   drain, sockets inherited from the supervisor) of the health listener, web and backend.
//! * [`accounts`]: OS account lookups ([`accounts::Credentials`]), for the supervisor's
//!   privilege drop and `pg-init`'s directory ownership.
//! * [`pgbin`]: where PostgreSQL's binaries are (`PG_BIN` or Debian's newest).
//! * [`pgerror`]: PostgreSQL error text for every role that talks to PostgreSQL.
//! * [`sdnotify`]: the sd_notify client: the supervisor to systemd, the servers to the
//!   supervisor (`READY=1`).
//! * [`exit`]: the exit codes of every subcommand, one enum.
//! * [`resident`]: giving back memory a process no longer uses (freed heap, start-up code
//!   pages).
//! * [`rt`]: the one tokio runtime builder every role uses.
//! * [`ledger`]: the ledger check's SQL, shared by the backend and the restore drills.
//! * [`stack`]: what joins the roles beyond `config.toml` (the `backup` section of
//!   `/health`); like `main`, it may use every role.
//!
//! The five roles (`supervisor`, `postgres`, `backend`, `web`, `backup`) are siblings: none
//! imports another. What two of them share lives in a small module of its own (`http`,
//! `accounts`, `pgerror`, `pgbin`, `sdnotify`, `ledger`, `exit`, `rt`, `resident`).
//!
//! Every subcommand returns an [`exit::Outcome`]; `main` reports a failure and maps it to
//! the exit code ([`exit::Exit`], documented in `main.rs` and the README).

pub mod accounts;
pub mod backend;
pub mod backup;
pub mod exit;
pub mod http;
pub mod ledger;
pub mod pgbin;
pub mod pgerror;
pub mod postgres;
pub mod resident;
pub mod rt;
pub mod sdnotify;
pub mod stack;
pub mod supervisor;
pub mod web;
