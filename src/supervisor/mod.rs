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
//! * [`sockets`]: listening sockets held for services across their restarts.
//! * [`process`]: spawning a service (process group, privilege drop, no_new_privs, bounding
//!   set, env, cwd, pipes).
//! * [`environ`]: the environment a service receives (pure; secure by default).
//! * [`prepare`]: right before a spawn: directories, secret files, the environment.
//! * [`caps`]: capability names (pure table).
//! * [`reaper`]: the only caller of `waitpid`.
//! * [`probe`]: one readiness check per call, each with its own timeout.
//! * [`logs`]: drains service output into `NAME | line` lines.
//! * [`health`]: `/health`, `/metrics` (pure rendering; a server on its own thread).
//! * [`control`]: the control socket's server side.
//! * [`ctl`]: `wms ctl`, its client.
//! * [`memory`]: what is remembered in `state_dir`: manual stops (`unless-stopped`) and
//!   the last successful run of each scheduled oneshot.
//! * [`schedule`]: `schedule = "every 24h" | "daily 03:00"` and the next run time (pure).
//! * [`notify`]: sd_notify to our own service manager (`READY`, `STATUS`, `STOPPING`,
//!   `WATCHDOG`).
//! * [`notify_socket`]: the socket services with `ready = { notify = true }` tell `READY=1`.

pub mod caps;
pub mod config;
pub mod control;
pub mod ctl;
pub mod engine;
pub mod environ;
pub mod health;
pub mod interpolate;
pub mod logs;
pub mod memory;
pub mod notify;
pub mod notify_socket;
pub mod plan;
pub mod prepare;
pub mod probe;
pub mod process;
pub mod reaper;
pub mod runtime;
pub mod schedule;
pub mod sockets;
