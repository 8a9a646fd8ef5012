//! `config.toml`: the schema as the user writes it ([`RawConfig`]) and its validation into
//! a [`Plan`].
//!
//! Parsing is strict (unknown keys are errors) and validation reports **every** problem in
//! one pass, each with file, line, column and the dotted key it concerns. Every string value
//! goes through `${VAR}` interpolation (see `interpolate.rs`) before it is interpreted.
//!
//! Building the plan touches the system in exactly two ways: users and groups are resolved
//! with the passwd/group databases, and `env_file`s are read ([`Host`]). Everything else
//! is pure. The parts, one concern each:
//!
//! * `schema.rs`: the serde types as written and the TOML parse with positions;
//! * `validate.rs`: the validator (interpolation, every problem with file:line:col and key)
//!   and the `[supervisor]` table;
//! * `service.rs`: one `[services.NAME]` table and its probe;
//! * `graph.rs`: dependency resolution, cycles and start order;
//! * `host.rs`: user, group and file lookups; `env_file.rs`: `KEY=VALUE` files.

use std::fmt;
use std::path::{Path, PathBuf};

mod env_file;
mod graph;
mod host;
mod schema;
mod service;
mod validate;

pub use env_file::parse_env_file;
pub use host::{Host, System};
pub use schema::RawConfig;

use super::plan::Plan;
use validate::Validator;

/// Defaults, in one place so `wms check` and the README agree.
pub mod defaults {
    use std::time::Duration;

    /// `[supervisor] health_listen`.
    pub const HEALTH_LISTEN: &str = "127.0.0.1:8081";
    /// `[supervisor] control_socket`.
    pub const CONTROL_SOCKET: &str = "/run/wms/control.sock";
    /// `[supervisor] state_dir`.
    pub const STATE_DIR: &str = "/var/lib/wms";
    /// `[supervisor] shutdown_timeout`.
    pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
    /// `stop_timeout` (Docker's default grace period).
    pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
    /// `backoff_max` (Docker's cap).
    pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
    /// Probe `interval` once ready.
    pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
    /// Probe `timeout`.
    pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
    /// Probe `retries`.
    pub const PROBE_RETRIES: u32 = 3;
    /// Probe `start_period`.
    pub const PROBE_START_PERIOD: Duration = Duration::from_secs(60);
    /// Probe `start_interval`: fast, so readiness is seen as soon as it is true.
    pub const PROBE_START_INTERVAL: Duration = Duration::from_millis(50);
}

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// Dotted key, e.g. `services.web.depends_on.backend`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A config that cannot be used, with every problem found.
#[derive(Debug)]
pub struct ConfigError {
    /// The file read.
    pub file: PathBuf,
    /// All problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let (Some(l), Some(c)) = (p.line, p.column) {
                write!(f, ":{l}:{c}")?;
            }
            if p.key.is_empty() {
                write!(f, ": {}", p.message)?;
            } else {
                write!(f, ": {}: {}", p.key, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads and validates a config file, using the process environment for `${VAR}`.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem {
            line: None,
            column: None,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        }],
    })?;
    let env = |name: &str| std::env::var(name).ok();
    let system = System;
    parse(path, &text, &env, &system)
}

/// Parses and validates config text. `path` is used for messages and to resolve relative
/// `env_file`/`workdir` paths; `env` answers `${VAR}` lookups.
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    host: &dyn Host,
) -> Result<Plan, ConfigError> {
    let raw = schema::deserialize(text).map_err(|p| ConfigError {
        file: path.to_owned(),
        problems: vec![p],
    })?;
    let mut v = Validator {
        text,
        env,
        host,
        base: path.parent().map(Path::to_owned).unwrap_or_default(),
        problems: Vec::new(),
    };
    let plan = v.plan(path, raw);
    if v.problems.is_empty() {
        if let Some(plan) = plan {
            return Ok(plan);
        }
    }
    let mut problems = v.problems;
    problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0)));
    Err(ConfigError {
        file: path.to_owned(),
        problems,
    })
}

#[cfg(test)]
mod tests;
