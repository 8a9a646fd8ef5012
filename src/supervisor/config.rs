//! `config.toml`: the schema as the user writes it ([`RawConfig`]) and its validation into
//! a [`Plan`].
//!
//! Parsing is strict (unknown keys are errors) and validation reports **every** problem in
//! one pass, each with file, line, column and the dotted key it concerns. Every string value
//! goes through `${VAR}` interpolation (see `interpolate.rs`) before it is interpreted.
//!
//! Building the plan touches the system in exactly two ways: users and groups are resolved
//! with the passwd/group databases, and `env_file`s are read. Everything else is pure.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::interpolate::interpolate;
use super::plan::{
    Condition, Credentials, Dependency, HttpTarget, Plan, ProbeKind, ProbeSpec, RestartPolicy,
    ServiceId, ServiceName, ServiceSpec, Signal, SupervisorSettings,
};
use crate::accounts;

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

/// The whole file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    supervisor: RawSupervisor,
    #[serde(default)]
    services: IndexMap<String, Spanned<RawService>>,
}

/// `[supervisor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    health_listen: Option<Spanned<String>>,
    control_socket: Option<Spanned<String>>,
    state_dir: Option<Spanned<String>>,
    shutdown_timeout: Option<Spanned<String>>,
}

/// `[services.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    command: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    env: IndexMap<Spanned<String>, Spanned<String>>,
    env_file: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    workdir: Option<Spanned<String>>,
    #[serde(default)]
    depends_on: IndexMap<Spanned<String>, Spanned<String>>,
    ready: Option<Spanned<RawProbe>>,
    restart: Option<Spanned<String>>,
    max_restarts: Option<u32>,
    backoff_max: Option<Spanned<String>>,
    stop_signal: Option<Spanned<String>>,
    stop_timeout: Option<Spanned<String>>,
    #[serde(default)]
    oneshot: bool,
    enabled: Option<Spanned<BoolOrString>>,
}

/// `ready = { ... }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    http: Option<Spanned<String>>,
    tcp: Option<Spanned<String>>,
    exec: Option<Spanned<Vec<Spanned<String>>>>,
    postgres: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    start_period: Option<Spanned<String>>,
    start_interval: Option<Spanned<String>>,
}

/// `enabled` accepts a boolean or an interpolated string such as `"${EMBEDDED_PG:-true}"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    String(String),
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

/// What validation may ask of the host: user and group lookups, `env_file` contents.
pub trait Host {
    /// Resolves a user name or numeric uid.
    fn user(&self, name: &str) -> Result<Option<Credentials>, String>;
    /// Resolves a group name or numeric gid.
    fn group(&self, name: &str) -> Result<Option<u32>, String>;
    /// Reads a file.
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The real host: passwd/group databases and the file system.
pub struct System;

impl Host for System {
    fn user(&self, name: &str) -> Result<Option<Credentials>, String> {
        accounts::lookup_user(name)
    }

    fn group(&self, name: &str) -> Result<Option<u32>, String> {
        accounts::lookup_group(name)
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Parses and validates config text. `path` is used for messages and to resolve relative
/// `env_file`/`workdir` paths; `env` answers `${VAR}` lookups.
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    host: &dyn Host,
) -> Result<Plan, ConfigError> {
    let raw = deserialize(text).map_err(|p| ConfigError {
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

/// TOML → [`RawConfig`], with the dotted path and position of the first error.
fn deserialize(text: &str) -> Result<RawConfig, Problem> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_problem(text, &e, String::new()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned` wrappers show up as a private field name in the path; drop them.
        let key = e
            .path()
            .to_string()
            .split('.')
            .filter(|seg| !seg.starts_with("$__serde_spanned"))
            .collect::<Vec<_>>()
            .join(".");
        let key = if key == "." { String::new() } else { key };
        toml_problem(text, e.inner(), key)
    })
}

fn toml_problem(text: &str, e: &toml::de::Error, key: String) -> Problem {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Problem {
        line,
        column,
        key,
        message: e.message().trim().to_owned(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Accumulates problems while turning the raw config into a plan.
struct Validator<'a> {
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    host: &'a dyn Host,
    /// Directory of the config file, for relative paths.
    base: PathBuf,
    problems: Vec<Problem>,
}

/// A service after per-field validation, before the graph is resolved.
struct Partial {
    spec: ServiceSpec,
    is_enabled: bool,
    /// `(dependency name, condition, span of the key)`.
    depends_on: Vec<(String, Condition, Range<usize>)>,
    /// Span of the service's table key.
    span: Range<usize>,
}

impl Validator<'_> {
    fn problem(
        &mut self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(self.text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.problems.push(Problem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    /// Interpolates one string value; reports and returns `None` on failure.
    fn string(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        match interpolate(value.get_ref(), self.env) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(Some(value.span()), key, e.to_string());
                None
            }
        }
    }

    fn duration(
        &mut self,
        value: Option<&Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        let Some(s) = self.string(value, key) else {
            return default;
        };
        match humantime::parse_duration(s.trim()) {
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    Some(value.span()),
                    key,
                    format!("invalid duration {s:?} ({e}); write e.g. \"20ms\", \"5s\" or \"1m\""),
                );
                default
            }
        }
    }

    fn path(&mut self, value: &Spanned<String>, key: &str) -> Option<PathBuf> {
        let s = self.string(value, key)?;
        if s.is_empty() {
            self.problem(Some(value.span()), key, "must not be empty");
            return None;
        }
        Some(self.base.join(s))
    }

    fn plan(&mut self, source: &Path, raw: RawConfig) -> Option<Plan> {
        let supervisor = self.supervisor(&raw.supervisor);
        let mut partials = Vec::new();
        for (name, svc) in &raw.services {
            let key = format!("services.{name}");
            match ServiceName::parse(name) {
                Ok(n) => {
                    if let Some(p) = self.service(n, svc.span(), svc.get_ref(), &key) {
                        partials.push(p);
                    }
                }
                Err(msg) => self.problem(Some(svc.span()), key, msg),
            }
        }
        let (services, disabled) = self.graph(partials)?;
        Some(Plan {
            source: source.to_owned(),
            supervisor,
            services,
            disabled,
        })
    }

    fn supervisor(&mut self, raw: &RawSupervisor) -> SupervisorSettings {
        let health_listen = match &raw.health_listen {
            None => Some(
                defaults::HEALTH_LISTEN
                    .parse()
                    .expect("the default address is valid"),
            ),
            Some(v) => match self.string(v, "supervisor.health_listen") {
                Some(s) if s.is_empty() || s == "off" => None,
                Some(s) => match s.parse::<SocketAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => {
                        self.problem(
                            Some(v.span()),
                            "supervisor.health_listen",
                            format!("{s:?} is not an address like \"127.0.0.1:8081\" (or \"off\")"),
                        );
                        None
                    }
                },
                None => None,
            },
        };
        let control_socket = raw
            .control_socket
            .as_ref()
            .and_then(|v| self.path(v, "supervisor.control_socket"))
            .unwrap_or_else(|| PathBuf::from(defaults::CONTROL_SOCKET));
        let state_dir = raw
            .state_dir
            .as_ref()
            .and_then(|v| self.path(v, "supervisor.state_dir"))
            .unwrap_or_else(|| PathBuf::from(defaults::STATE_DIR));
        let shutdown_timeout = self.duration(
            raw.shutdown_timeout.as_ref(),
            "supervisor.shutdown_timeout",
            defaults::SHUTDOWN_TIMEOUT,
        );
        SupervisorSettings {
            health_listen,
            control_socket,
            state_dir,
            shutdown_timeout,
        }
    }

    fn argv(&mut self, value: &Spanned<Vec<Spanned<String>>>, key: &str) -> Option<Vec<String>> {
        let mut argv = Vec::new();
        for arg in value.get_ref() {
            argv.push(self.string(arg, key)?);
        }
        if argv.first().is_none_or(|p| p.is_empty()) {
            self.problem(
                Some(value.span()),
                key,
                "must name a program: a non-empty array like [\"wms\", \"backend\"]",
            );
            return None;
        }
        Some(argv)
    }

    fn service(
        &mut self,
        name: ServiceName,
        span: Range<usize>,
        raw: &RawService,
        key: &str,
    ) -> Option<Partial> {
        let before = self.problems.len();
        let command = match &raw.command {
            Some(c) => self.argv(c, &format!("{key}.command")),
            None => {
                self.problem(
                    Some(span.clone()),
                    key,
                    "missing `command` (the program to run, e.g. command = [\"wms\", \"backend\"])",
                );
                None
            }
        };

        let mut env = Vec::new();
        if let Some(file) = &raw.env_file {
            let k = format!("{key}.env_file");
            if let Some(path) = self.path(file, &k) {
                match self.host.read(&path) {
                    Ok(text) => match parse_env_file(&text) {
                        Ok(vars) => env.extend(vars),
                        Err((line, msg)) => self.problem(
                            Some(file.span()),
                            k,
                            format!("{}: line {line}: {msg}", path.display()),
                        ),
                    },
                    Err(e) => self.problem(
                        Some(file.span()),
                        k,
                        format!("cannot read {}: {e}", path.display()),
                    ),
                }
            }
        }
        for (k, v) in &raw.env {
            let vk = format!("{key}.env.{}", k.get_ref());
            if !is_env_name(k.get_ref()) {
                self.problem(Some(k.span()), &vk, "not a valid environment variable name");
                continue;
            }
            if let Some(v) = self.string(v, &vk) {
                env.retain(|(existing, _)| existing != k.get_ref());
                env.push((k.get_ref().clone(), v));
            }
        }

        let group = match &raw.group {
            Some(g) => {
                let k = format!("{key}.group");
                self.string(g, &k)
                    .filter(|gname| !gname.is_empty())
                    .and_then(|gname| match self.host.group(&gname) {
                        Ok(Some(gid)) => Some(gid),
                        Ok(None) => {
                            self.problem(Some(g.span()), k, format!("unknown group {gname:?}"));
                            None
                        }
                        Err(e) => {
                            self.problem(
                                Some(g.span()),
                                k,
                                format!("cannot look up group {gname:?}: {e}"),
                            );
                            None
                        }
                    })
            }
            None => None,
        };
        let user = match &raw.user {
            Some(u) => {
                let k = format!("{key}.user");
                // An empty value (e.g. "${PG_OS_USER-postgres}" set to "") keeps our identity.
                self.string(u, &k)
                    .filter(|uname| !uname.is_empty())
                    .and_then(|uname| match self.host.user(&uname) {
                        Ok(Some(mut c)) => {
                            if let Some(gid) = group {
                                c.gid = gid;
                            }
                            Some(c)
                        }
                        Ok(None) => {
                            self.problem(Some(u.span()), k, format!("unknown user {uname:?}"));
                            None
                        }
                        Err(e) => {
                            self.problem(
                                Some(u.span()),
                                k,
                                format!("cannot look up user {uname:?}: {e}"),
                            );
                            None
                        }
                    })
            }
            None => {
                if let (Some(g), Some(_)) = (&raw.group, group) {
                    self.problem(
                        Some(g.span()),
                        format!("{key}.group"),
                        "`group` needs `user` as well",
                    );
                }
                None
            }
        };

        let workdir = raw
            .workdir
            .as_ref()
            .and_then(|w| self.path(w, &format!("{key}.workdir")));

        let mut depends_on = Vec::new();
        for (dep, cond) in &raw.depends_on {
            let k = format!("{key}.depends_on.{}", dep.get_ref());
            let Some(c) = self.string(cond, &k) else {
                continue;
            };
            let condition = match c.as_str() {
                "started" => Condition::Started,
                "ready" | "healthy" => Condition::Ready,
                "completed" => Condition::Completed,
                other => {
                    self.problem(
                        Some(cond.span()),
                        k,
                        format!("unknown condition {other:?}; use \"started\", \"ready\" or \"completed\""),
                    );
                    continue;
                }
            };
            depends_on.push((dep.get_ref().clone(), condition, dep.span()));
        }

        let ready = raw
            .ready
            .as_ref()
            .and_then(|p| self.probe(p, &format!("{key}.ready")));

        let restart = match &raw.restart {
            None if raw.oneshot => RestartPolicy::No,
            None => RestartPolicy::UnlessStopped,
            Some(r) => {
                let k = format!("{key}.restart");
                match self.string(r, &k).as_deref() {
                    Some("no") => RestartPolicy::No,
                    Some("on-failure") => RestartPolicy::OnFailure,
                    Some("always") => RestartPolicy::Always,
                    Some("unless-stopped") => RestartPolicy::UnlessStopped,
                    Some(other) => {
                        self.problem(
                            Some(r.span()),
                            k,
                            format!(
                                "unknown restart policy {other:?}; use \"no\", \"on-failure\", \"always\" or \"unless-stopped\""
                            ),
                        );
                        RestartPolicy::No
                    }
                    None => RestartPolicy::No,
                }
            }
        };
        let backoff_max = self.duration(
            raw.backoff_max.as_ref(),
            &format!("{key}.backoff_max"),
            defaults::BACKOFF_MAX,
        );
        let stop_timeout = self.duration(
            raw.stop_timeout.as_ref(),
            &format!("{key}.stop_timeout"),
            defaults::STOP_TIMEOUT,
        );
        let stop_signal = match &raw.stop_signal {
            None => Signal::TERM,
            Some(s) => {
                let k = format!("{key}.stop_signal");
                match self.string(s, &k) {
                    Some(name) => Signal::parse(&name).unwrap_or_else(|| {
                        self.problem(
                            Some(s.span()),
                            k,
                            format!(
                                "unknown signal name {name:?}; write e.g. \"SIGTERM\" or \"INT\""
                            ),
                        );
                        Signal::TERM
                    }),
                    None => Signal::TERM,
                }
            }
        };
        let is_enabled = match &raw.enabled {
            None => true,
            Some(e) => match e.get_ref() {
                BoolOrString::Bool(b) => *b,
                BoolOrString::String(s) => {
                    let k = format!("{key}.enabled");
                    let spanned = Spanned::new(e.span(), s.clone());
                    match self.string(&spanned, &k).as_deref().map(str::trim) {
                        Some("true" | "1" | "yes" | "on") => true,
                        Some("false" | "0" | "no" | "off" | "") => false,
                        Some(other) => {
                            self.problem(
                                Some(e.span()),
                                k,
                                format!("{other:?} is not a boolean (true/false)"),
                            );
                            true
                        }
                        None => true,
                    }
                }
            },
        };

        if self.problems.len() != before {
            return None;
        }
        Some(Partial {
            spec: ServiceSpec {
                name,
                command: command?,
                env,
                user,
                workdir,
                depends_on: Vec::new(),
                ready,
                restart,
                max_restarts: raw.max_restarts,
                backoff_max,
                stop_signal,
                stop_timeout,
                is_oneshot: raw.oneshot,
            },
            is_enabled,
            depends_on,
            span,
        })
    }

    fn probe(&mut self, raw: &Spanned<RawProbe>, key: &str) -> Option<ProbeSpec> {
        let p = raw.get_ref();
        let given = [
            p.http.is_some(),
            p.tcp.is_some(),
            p.exec.is_some(),
            p.postgres.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            self.problem(
                Some(raw.span()),
                key,
                "give exactly one probe kind: http = \"URL\", tcp = \"HOST:PORT\", exec = [..] or postgres = \"CONNINFO\"",
            );
            return None;
        }
        let kind = if let Some(u) = &p.http {
            let k = format!("{key}.http");
            let url = self.string(u, &k)?;
            match HttpTarget::parse(&url) {
                Ok(t) => ProbeKind::Http(t),
                Err(e) => {
                    self.problem(Some(u.span()), k, e);
                    return None;
                }
            }
        } else if let Some(t) = &p.tcp {
            let k = format!("{key}.tcp");
            let addr = self.string(t, &k)?;
            if addr
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                self.problem(Some(t.span()), k, format!("{addr:?} is not HOST:PORT"));
                return None;
            }
            ProbeKind::Tcp(addr)
        } else if let Some(e) = &p.exec {
            ProbeKind::Exec(self.argv(e, &format!("{key}.exec"))?)
        } else if let Some(c) = &p.postgres {
            ProbeKind::Postgres(self.string(c, &format!("{key}.postgres"))?)
        } else {
            return None;
        };
        let mut positive = |v: Option<&Spanned<String>>, name: &str, default: Duration| {
            let k = format!("{key}.{name}");
            let d = self.duration(v, &k, default);
            if d.is_zero() {
                self.problem(v.map(Spanned::span), k, "must be greater than zero");
            }
            d
        };
        let interval = positive(p.interval.as_ref(), "interval", defaults::PROBE_INTERVAL);
        let timeout = positive(p.timeout.as_ref(), "timeout", defaults::PROBE_TIMEOUT);
        let start_interval = positive(
            p.start_interval.as_ref(),
            "start_interval",
            defaults::PROBE_START_INTERVAL,
        );
        let start_period = self.duration(
            p.start_period.as_ref(),
            &format!("{key}.start_period"),
            defaults::PROBE_START_PERIOD,
        );
        let retries = p.retries.unwrap_or(defaults::PROBE_RETRIES);
        if retries == 0 {
            self.problem(
                Some(raw.span()),
                format!("{key}.retries"),
                "must be at least 1",
            );
        }
        Some(ProbeSpec {
            kind,
            interval,
            timeout,
            retries,
            start_period,
            start_interval,
        })
    }

    /// Resolves dependency names, rejects cycles and orders services so each dependency
    /// starts before its dependents (declaration order among independent services).
    fn graph(&mut self, partials: Vec<Partial>) -> Option<(Vec<ServiceSpec>, Vec<ServiceName>)> {
        let index: HashMap<String, usize> = partials
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spec.name.as_str().to_owned(), i))
            .collect();
        let mut edges: Vec<Vec<(usize, Condition)>> = vec![Vec::new(); partials.len()];
        for (i, p) in partials.iter().enumerate() {
            for (dep, cond, span) in &p.depends_on {
                let key = format!("services.{}.depends_on.{dep}", p.spec.name);
                match index.get(dep) {
                    None => {
                        self.problem(Some(span.clone()), key, format!("unknown service {dep:?}"))
                    }
                    Some(&j) if j == i => {
                        self.problem(Some(span.clone()), key, "a service cannot depend on itself")
                    }
                    Some(&j) => {
                        if *cond == Condition::Completed && !partials[j].spec.is_oneshot {
                            self.problem(
                                Some(span.clone()),
                                key,
                                format!(
                                    "{dep:?} is not a oneshot, so it never completes; use \"started\" or \"ready\""
                                ),
                            );
                        }
                        edges[i].push((j, *cond));
                    }
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| partials[i].spec.name.as_str())
                .collect();
            let first = cycle[0];
            self.problem(
                Some(partials[first].span.clone()),
                format!("services.{}.depends_on", names[0]),
                format!("dependency cycle: {}", names.join(" -> ")),
            );
        }
        if !self.problems.is_empty() {
            return None;
        }

        // Kahn's algorithm over enabled services; edges to disabled services are dropped
        // (an external database replaces the embedded one, say).
        let enabled: Vec<bool> = partials.iter().map(|p| p.is_enabled).collect();
        let mut order = Vec::new();
        let mut placed = vec![false; partials.len()];
        while order.len() < enabled.iter().filter(|e| **e).count() {
            let next = (0..partials.len()).find(|&i| {
                enabled[i] && !placed[i] && edges[i].iter().all(|&(j, _)| placed[j] || !enabled[j])
            })?;
            placed[next] = true;
            order.push(next);
        }
        let position: HashMap<usize, usize> =
            order.iter().enumerate().map(|(pos, &i)| (i, pos)).collect();
        let mut specs: Vec<Option<ServiceSpec>> =
            partials.into_iter().map(|p| Some(p.spec)).collect();
        let disabled = (0..specs.len())
            .filter(|&i| !enabled[i])
            .filter_map(|i| specs[i].take().map(|s| s.name))
            .collect();
        let services = order
            .iter()
            .map(|&i| {
                let mut spec = specs[i].take().expect("each service is placed once");
                spec.depends_on = edges[i]
                    .iter()
                    .filter_map(|&(j, condition)| {
                        position.get(&j).map(|&pos| Dependency {
                            on: ServiceId(pos),
                            condition,
                        })
                    })
                    .collect();
                spec
            })
            .collect();
        Some((services, disabled))
    }
}

/// Returns one dependency cycle (first node repeated at the end), if any.
fn find_cycle(edges: &[Vec<(usize, Condition)>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    fn visit(
        i: usize,
        edges: &[Vec<(usize, Condition)>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::OnStack;
        stack.push(i);
        for &(j, _) in &edges[i] {
            match marks[j] {
                Mark::OnStack => {
                    let start = stack.iter().position(|&s| s == j).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(j, edges, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    for i in 0..edges.len() {
        if marks[i] == Mark::New {
            if let Some(c) = visit(i, edges, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a `KEY=VALUE` env file: `#` comments, blank lines, optional `export `, and
/// single or double quotes around the value. Returns `(line, message)` on error.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err((n + 1, "expected KEY=VALUE".to_owned()));
        };
        let k = k.trim();
        if !is_env_name(k) {
            return Err((n + 1, format!("{k:?} is not a valid variable name")));
        }
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(open, close)| {
                v.strip_prefix(open)
                    .and_then(|s| s.strip_suffix(close))
                    .filter(|_| v.len() >= 2)
            })
            .unwrap_or(v);
        vars.retain(|(existing, _): &(String, String)| existing != k);
        vars.push((k.to_owned(), v.to_owned()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests;
