//! The process supervisor (`wms supervise`), PID 1 of the container.
//!
//! Layers, from pure to I/O:
//!
//! * [`interpolate`]: `${VAR:-default}` expansion of config strings (pure).
//! * [`plan`]: the validated plan types (pure data).
//! * [`config`]: `config.toml` → [`plan::Plan`], reporting every problem with its position.
//! * [`engine`]: the sans-I/O state machine: events in, actions out, time passed in.
//! * [`runtime`]: the only event loop; carries out the engine's actions with the modules
//!   below and feeds what happens back as events. It makes no decisions itself.
//! * [`process`]: spawning a service (process group, privilege drop, env, cwd, pipes).
//! * [`reaper`]: the only caller of `waitpid`.
//! * [`probe`]: one readiness check per call, each with its own timeout.
//! * [`logs`]: drains service output into `NAME | line` lines.
//! * [`health`]: `/health`, `/metrics` (pure rendering; a server on its own thread).
//! * [`control`]: the control socket's server side.
//! * [`ctl`]: `wms ctl`, its client.
//! * [`memory`]: what is remembered in `state_dir`: manual stops (`unless-stopped`) and
//!   the last successful run of each scheduled oneshot.
//! * [`schedule`]: `schedule = "every 24h" | "daily 03:00"` and the next run time (pure).
//! * [`notify`]: sd_notify (`READY`, `STATUS`, `STOPPING`, `WATCHDOG`).

pub mod config;
pub mod control;
pub mod ctl;
pub mod engine;
pub mod health;
pub mod interpolate;
pub mod logs;
pub mod memory;
pub mod notify;
pub mod plan;
pub mod probe;
pub mod process;
pub mod reaper;
pub mod runtime;
pub mod schedule;
