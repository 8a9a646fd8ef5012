//! The validated supervision plan: what `config.rs` produces and the engine consumes.
//!
//! A [`Plan`] is the config after interpolation, validation and resolution: durations are
//! typed, users are resolved to ids, dependencies point at [`ServiceId`]s and the services are
//! in start order (every dependency before its dependents). Nothing here does I/O; the types
//! are plain data so the engine can be driven by tests without touching the system.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A validated service name: ASCII letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit, at most 64 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(String);

impl ServiceName {
    /// The longest accepted name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Parses a name, returning why it is not acceptable.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut chars = raw.chars();
        match chars.next() {
            None => return Err("a service name must not be empty"),
            Some(c) if !c.is_ascii_alphanumeric() => {
                return Err("a service name must start with a letter or digit");
            }
            Some(_) => {}
        }
        if raw.len() > Self::MAX_LEN {
            return Err("a service name must be at most 64 characters");
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err("a service name may only hold letters, digits, '-', '_' and '.'");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name as written in the config.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Index of a service in [`Plan::services`]. Only a `Plan` hands these out, so an id is
/// always valid for the plan it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub(crate) usize);

impl ServiceId {
    /// Position in start order (0 starts first).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A POSIX signal, by number. Parsed from names like `SIGINT` or `INT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signal(i32);

impl Signal {
    /// SIGKILL: the escalation after a stop timeout.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// SIGTERM: the default stop signal.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// SIGINT: PostgreSQL's "fast shutdown".
    pub const INT: Signal = Signal(libc::SIGINT);

    /// Wraps a raw signal number (as reported by `waitpid` or a signal handler).
    pub fn from_raw(number: i32) -> Self {
        Signal(number)
    }

    /// The raw number.
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// Parses `SIGINT`, `INT`, `sigint` or a number.
    pub fn parse(raw: &str) -> Option<Self> {
        if let Ok(n) = raw.parse::<i32>() {
            return (1..=64).contains(&n).then_some(Signal(n));
        }
        let upper = raw.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        SIGNAL_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, num)| Signal(num))
    }

    /// `SIGINT`-style name, or `SIG<n>` for numbers without a name.
    pub fn name(self) -> String {
        match SIGNAL_NAMES.iter().find(|(_, num)| *num == self.0) {
            Some((n, _)) => format!("SIG{n}"),
            None => format!("SIG{}", self.0),
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Names accepted for signals (without the `SIG` prefix).
const SIGNAL_NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The file the plan was read from (for messages).
    pub source: PathBuf,
    /// Supervisor-wide settings.
    pub supervisor: SupervisorSettings,
    /// Enabled services in start order: every dependency comes before its dependents.
    pub services: Vec<ServiceSpec>,
    /// Services present in the config but switched off with `enabled = false`.
    pub disabled: Vec<ServiceName>,
}

impl Plan {
    /// The spec of one service.
    pub fn service(&self, id: ServiceId) -> &ServiceSpec {
        &self.services[id.0]
    }

    /// All service ids in start order.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = ServiceId> + ExactSizeIterator + use<> {
        (0..self.services.len()).map(ServiceId)
    }

    /// For every service, the services that depend on it directly or through others (any
    /// path of `depends_on` edges, whatever state the services in between are in), sorted.
    pub fn transitive_dependents(&self) -> Vec<Vec<ServiceId>> {
        let mut all: Vec<Vec<ServiceId>> = vec![Vec::new(); self.services.len()];
        // Start order puts every dependent after its dependencies, so walking backwards
        // finds each dependent's own closure complete when it is needed.
        for id in self.ids().rev() {
            for dep in &self.service(id).depends_on {
                let mut add = all[id.0].clone();
                add.push(id);
                all[dep.on.0].extend(add);
            }
        }
        for list in &mut all {
            list.sort();
            list.dedup();
        }
        all
    }

    /// Looks a service up by name.
    pub fn find(&self, name: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .position(|s| s.name.as_str() == name)
            .map(ServiceId)
    }
}

/// `[supervisor]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorSettings {
    /// Where the aggregate `/health` listens (`None`: no listener).
    pub health_listen: Option<SocketAddr>,
    /// The control socket `wms ctl` talks to.
    pub control_socket: PathBuf,
    /// Where manual stops are remembered.
    pub state_dir: PathBuf,
    /// Upper bound on the whole shutdown; past it everything left is SIGKILLed.
    pub shutdown_timeout: Duration,
}

/// One `[services.NAME]` section, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The service's name.
    pub name: ServiceName,
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    /// Extra environment: `env_file` entries first, then `env` (later wins).
    pub env: Vec<(String, String)>,
    /// Variables passed through from the supervisor's environment (names, or prefixes
    /// ending in `*`) besides the base set (see `environ.rs`).
    pub inherit_env: Vec<String>,
    /// Variables whose values are read from files at each start (secrets generated at
    /// first boot, readable only by root).
    pub secret_env: Vec<SecretEnv>,
    /// Capabilities kept in the bounding set (numbers; empty: none).
    pub capabilities: Vec<u32>,
    /// Directories created before each start, owned by the service's account, mode 0700.
    pub directories: Vec<PathBuf>,
    /// Listening sockets the supervisor binds once and hands to every instance
    /// (`LISTEN_FDS`), in `LISTEN_FDNAMES` order.
    pub listen: Vec<ListenSpec>,
    /// Identity to run as; `None` keeps the supervisor's.
    pub user: Option<Credentials>,
    /// Working directory; `None` keeps the supervisor's.
    pub workdir: Option<PathBuf>,
    /// What must hold before this service starts.
    pub depends_on: Vec<Dependency>,
    /// Readiness (and, once ready, liveness) probe.
    pub ready: Option<ProbeSpec>,
    /// When to restart after the process ends.
    pub restart: RestartPolicy,
    /// Give up after this many restarts in a row without a stable run.
    pub max_restarts: Option<u32>,
    /// Cap of the doubling restart delay.
    pub backoff_max: Duration,
    /// Signal that asks the service to stop.
    pub stop_signal: Signal,
    /// Time between `stop_signal` and SIGKILL.
    pub stop_timeout: Duration,
    /// A task that runs to completion; dependents may wait for `completed`.
    pub is_oneshot: bool,
    /// For a oneshot: run it again on this schedule.
    pub schedule: Option<Schedule>,
}

/// An edge of the dependency graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The service depended on.
    pub on: ServiceId,
    /// What it must have reached.
    pub condition: Condition,
}

/// `depends_on` conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The process has been started.
    Started,
    /// The readiness probe has passed (or, without a probe, it has started; a oneshot: completed).
    Ready,
    /// A oneshot has exited with status 0.
    Completed,
}

impl Condition {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Completed => "completed",
        }
    }
}

/// Docker's restart policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Never restart.
    No,
    /// Restart when the process failed (non-zero exit, killed, failed liveness).
    OnFailure,
    /// Always restart; a manual stop lasts until the supervisor restarts.
    Always,
    /// Always restart; a manual stop is remembered across supervisor restarts.
    UnlessStopped,
}

impl RestartPolicy {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// True if and only if an unrequested end with this outcome leads to a restart.
    pub fn restarts_after(self, was_success: bool) -> bool {
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure => !was_success,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

pub use super::schedule::Schedule;
pub use crate::accounts::Credentials;

/// One socket of `listen`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenSpec {
    /// Its name (`LISTEN_FDNAMES`).
    pub name: String,
    /// Where it listens.
    pub addr: ListenAddr,
}

/// A listening address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    /// `tcp:HOST:PORT`.
    Tcp(std::net::SocketAddr),
    /// `unix:/path`.
    Unix(PathBuf),
}

impl ListenAddr {
    /// Parses `tcp:127.0.0.1:8000` or `unix:/run/x.sock`.
    pub fn parse(text: &str) -> Result<ListenAddr, String> {
        let usage = "write \"tcp:HOST:PORT\" (e.g. \"tcp:0.0.0.0:8080\") or \"unix:/path\"";
        if let Some(addr) = text.strip_prefix("tcp:") {
            return addr
                .parse()
                .map(ListenAddr::Tcp)
                .map_err(|_| format!("{addr:?} is not HOST:PORT with a numeric host; {usage}"));
        }
        if let Some(path) = text.strip_prefix("unix:") {
            if path.starts_with('/') {
                return Ok(ListenAddr::Unix(PathBuf::from(path)));
            }
            return Err(format!("{path:?} is not an absolute path; {usage}"));
        }
        Err(format!("{text:?} is not a listening address; {usage}"))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "tcp:{a}"),
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// One `secret_env` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    /// The variable.
    pub name: String,
    /// The file whose first line is its value.
    pub path: PathBuf,
    /// Written with a leading `-`: a missing file leaves the variable unset.
    pub is_optional: bool,
}

/// Readiness (and liveness) with Docker-style timing: by notification (`READY=1` on the
/// supervisor's notify socket, within `start_period`), by a probe, or both (notification
/// for readiness, the probe for liveness afterwards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    /// What to check (none: notification only).
    pub kind: Option<ProbeKind>,
    /// Ready when the service says `READY=1`; the probe, if any, then checks liveness.
    pub is_notify: bool,
    /// Time between probes once ready (and after `start_period`).
    pub interval: Duration,
    /// Time one probe may take.
    pub timeout: Duration,
    /// Consecutive failures (outside `start_period`) that make the service unhealthy.
    pub retries: u32,
    /// Grace period after start in which failures do not count.
    pub start_period: Duration,
    /// Time between probes during `start_period`, until the first success.
    pub start_interval: Duration,
}

/// The kinds of probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `GET` the URL; 2xx passes.
    Http(HttpTarget),
    /// A TCP connect to `host:port` passes.
    Tcp(String),
    /// Run the command; exit 0 passes.
    Exec(Vec<String>),
    /// Accepting connections at this libpq connection string (as `pg_isready`).
    Postgres(String),
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeKind::Http(t) => write!(f, "http {t}"),
            ProbeKind::Tcp(a) => write!(f, "tcp {a}"),
            ProbeKind::Exec(c) => write!(f, "exec {}", c.join(" ")),
            ProbeKind::Postgres(c) => write!(f, "postgres {c}"),
        }
    }
}

/// A parsed `http://host:port/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTarget {
    /// `host:port` to connect to.
    pub authority: String,
    /// Path and query to request.
    pub path_and_query: String,
}

impl HttpTarget {
    /// Parses a plain-HTTP URL; TLS is not supported by probes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw
            .strip_prefix("http://")
            .ok_or_else(|| format!("{raw:?} is not an http:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{raw:?} has no host"));
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.contains(']'))
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let port = authority.rsplit_once(':').map(|(_, p)| p).unwrap_or("");
        if port.parse::<u16>().is_err() {
            return Err(format!("{raw:?} has an invalid port"));
        }
        Ok(Self {
            authority,
            path_and_query: path.to_owned(),
        })
    }
}

impl fmt::Display for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.path_and_query)
    }
}

impl fmt::Display for Plan {
    /// The human summary `wms check` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.supervisor;
        writeln!(f, "config: {}", self.source.display())?;
        match s.health_listen {
            Some(addr) => writeln!(f, "health:  http://{addr}/health")?,
            None => writeln!(f, "health:  off")?,
        }
        writeln!(f, "control: {}", s.control_socket.display())?;
        writeln!(f, "state:   {}", s.state_dir.display())?;
        writeln!(
            f,
            "shutdown timeout: {}",
            humantime::format_duration(s.shutdown_timeout)
        )?;
        writeln!(f, "start order:")?;
        for (i, svc) in self.services.iter().enumerate() {
            let kind = if svc.is_oneshot { "oneshot" } else { "service" };
            writeln!(f, "  {}. {} ({kind})", i + 1, svc.name)?;
            writeln!(f, "       command: {}", svc.command.join(" "))?;
            if let Some(schedule) = svc.schedule {
                writeln!(f, "       runs:    {schedule} (missed runs: once at start)")?;
            }
            if !svc.depends_on.is_empty() {
                let deps: Vec<String> = svc
                    .depends_on
                    .iter()
                    .map(|d| format!("{} {}", self.service(d.on).name, d.condition.as_str()))
                    .collect();
                writeln!(f, "       after:   {}", deps.join(", "))?;
            }
            match &svc.ready {
                Some(p) => {
                    let how = match (&p.kind, p.is_notify) {
                        (Some(k), true) => format!(
                            "READY=1 within {}, then {k}",
                            humantime::format_duration(p.start_period)
                        ),
                        (None, true) => format!(
                            "READY=1 within {}",
                            humantime::format_duration(p.start_period)
                        ),
                        (Some(k), false) => format!(
                            "{k} (every {} while starting, start period {})",
                            humantime::format_duration(p.start_interval),
                            humantime::format_duration(p.start_period)
                        ),
                        (None, false) => "when started".to_owned(),
                    };
                    writeln!(f, "       ready:   {how}")?;
                    if p.kind.is_some() {
                        writeln!(
                            f,
                            "       alive:   every {}, timeout {}, retries {}",
                            humantime::format_duration(p.interval),
                            humantime::format_duration(p.timeout),
                            p.retries,
                        )?;
                    }
                }
                None => writeln!(f, "       ready:   when started (no probe)")?,
            }
            let max = svc
                .max_restarts
                .map_or_else(|| "unlimited".to_owned(), |m| m.to_string());
            writeln!(
                f,
                "       restart: {} (max {max}, backoff up to {})",
                svc.restart.as_str(),
                humantime::format_duration(svc.backoff_max)
            )?;
            writeln!(
                f,
                "       stop:    {} then SIGKILL after {}",
                svc.stop_signal,
                humantime::format_duration(svc.stop_timeout)
            )?;
            if let Some(u) = &svc.user {
                writeln!(
                    f,
                    "       user:    {} (uid {}, gid {})",
                    u.name, u.uid, u.gid
                )?;
            }
            let caps: Vec<String> = svc
                .capabilities
                .iter()
                .map(|c| super::caps::name(*c))
                .collect();
            writeln!(
                f,
                "       rights:  no_new_privs, capabilities {}",
                if caps.is_empty() {
                    "none".to_owned()
                } else {
                    caps.join(" ")
                }
            )?;
            let mut env: Vec<String> = svc.inherit_env.clone();
            env.extend(svc.env.iter().map(|(k, _)| k.clone()));
            env.extend(
                svc.secret_env
                    .iter()
                    .map(|s| format!("{} (secret)", s.name)),
            );
            if !env.is_empty() {
                writeln!(f, "       env:     {} (+ PATH, locale, log)", env.join(" "))?;
            }
            for d in &svc.directories {
                writeln!(f, "       dir:     {} (0700, its account)", d.display())?;
            }
        }
        if !self.disabled.is_empty() {
            let names: Vec<&str> = self.disabled.iter().map(ServiceName::as_str).collect();
            writeln!(f, "disabled: {}", names.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert!(ServiceName::parse("pg-init").is_ok());
        assert!(ServiceName::parse("web_1.a").is_ok());
        assert!(ServiceName::parse("").is_err());
        assert!(ServiceName::parse("-x").is_err());
        assert!(ServiceName::parse("a b").is_err());
        assert!(ServiceName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn signal_names() {
        assert_eq!(Signal::parse("SIGINT"), Some(Signal::INT));
        assert_eq!(Signal::parse("int"), Some(Signal::INT));
        assert_eq!(Signal::parse("15"), Some(Signal::TERM));
        assert_eq!(Signal::parse("SIGNOPE"), None);
        assert_eq!(Signal::parse("0"), None);
        assert_eq!(Signal::KILL.name(), "SIGKILL");
    }

    #[test]
    fn http_targets() {
        let t = HttpTarget::parse("http://127.0.0.1:8000/health").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8000");
        assert_eq!(t.path_and_query, "/health");
        let t = HttpTarget::parse("http://localhost").unwrap();
        assert_eq!(t.authority, "localhost:80");
        assert_eq!(t.path_and_query, "/");
        let t = HttpTarget::parse("http://[::1]:9/x?y=1").unwrap();
        assert_eq!(t.authority, "[::1]:9");
        assert_eq!(t.path_and_query, "/x?y=1");
        assert!(HttpTarget::parse("https://x").is_err());
        assert!(HttpTarget::parse("http://x:port/").is_err());
        assert!(HttpTarget::parse("http:///").is_err());
    }
}
