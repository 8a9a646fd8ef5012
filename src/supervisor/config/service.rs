//! Validation of one `[services.NAME]` table (and its `ready` probe) into a service spec
//! whose dependencies are still names (resolved by `graph.rs`).

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use std::path::PathBuf;

use super::defaults;
use super::env_file::{is_env_name, parse_env_file};
use super::schema::{BoolOrString, RawProbe, RawService};
use super::validate::{Partial, Validator};
use crate::supervisor::plan::{
    Condition, Credentials, HttpTarget, ListenAddr, ListenSpec, ProbeKind, ProbeSpec,
    RestartPolicy, Schedule, SecretEnv, ServiceName, ServiceSpec, Signal,
};
use crate::supervisor::{caps, environ};

impl Validator<'_> {
    pub(super) fn service(
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

        let env = self.env(raw, key);
        let inherit_env = self.inherit_env(raw, key);
        let secret_env = self.secret_env(raw, key);
        let capabilities = self.capabilities(raw, key);
        let listen = self.listen(raw, key);
        let directories: Vec<PathBuf> = raw
            .directories
            .iter()
            .filter_map(|d| self.path(d, &format!("{key}.directories")))
            .collect();

        let user = self.identity(raw, key);

        let workdir = raw
            .workdir
            .as_ref()
            .and_then(|w| self.path(w, &format!("{key}.workdir")));

        let depends_on = self.dependencies(raw, key);

        let ready = raw
            .ready
            .as_ref()
            .and_then(|p| self.probe(p, &format!("{key}.ready")));

        let restart = self.restart_policy(raw, key);
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
        let stop_signal = self.stop_signal(raw, key);
        let is_enabled = self.is_enabled(raw, key);
        let schedule = self.schedule(raw, key);

        if self.problems.len() != before {
            return None;
        }
        Some(Partial {
            spec: ServiceSpec {
                name,
                command: command?,
                env,
                inherit_env,
                secret_env,
                capabilities,
                directories,
                listen,
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
                schedule,
            },
            is_enabled,
            depends_on,
            span,
        })
    }

    /// `env_file` entries first, then `env` (later wins).
    fn env(&mut self, raw: &RawService, key: &str) -> Vec<(String, String)> {
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
        env
    }

    /// `user` (and `group`) resolved to credentials; `None` keeps the supervisor's identity.
    fn identity(&mut self, raw: &RawService, key: &str) -> Option<Credentials> {
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
        match &raw.user {
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
        }
    }

    /// `depends_on` as written: names (resolved by the graph), conditions and positions.
    fn dependencies(
        &mut self,
        raw: &RawService,
        key: &str,
    ) -> Vec<(String, Condition, Range<usize>)> {
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
        depends_on
    }

    /// `restart`; oneshots default to "no", everything else to "unless-stopped".
    fn restart_policy(&mut self, raw: &RawService, key: &str) -> RestartPolicy {
        match &raw.restart {
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
        }
    }

    /// `stop_signal`, SIGTERM by default.
    fn stop_signal(&mut self, raw: &RawService, key: &str) -> Signal {
        match &raw.stop_signal {
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
        }
    }

    /// `inherit_env`: names or `PREFIX*` patterns.
    fn inherit_env(&mut self, raw: &RawService, key: &str) -> Vec<String> {
        let k = format!("{key}.inherit_env");
        let mut out = Vec::new();
        for p in &raw.inherit_env {
            let Some(pattern) = self.string(p, &k) else {
                continue;
            };
            if environ::is_valid_pattern(&pattern) {
                out.push(pattern);
            } else {
                self.problem(
                    Some(p.span()),
                    &k,
                    format!("{pattern:?} is not a variable name (or a prefix ending in *)"),
                );
            }
        }
        out
    }

    /// `secret_env`: variable name -> file read at each start (`-/path`: optional).
    fn secret_env(&mut self, raw: &RawService, key: &str) -> Vec<SecretEnv> {
        let mut out = Vec::new();
        for (name, file) in &raw.secret_env {
            let k = format!("{key}.secret_env.{}", name.get_ref());
            if !is_env_name(name.get_ref()) {
                self.problem(
                    Some(name.span()),
                    &k,
                    "not a valid environment variable name",
                );
                continue;
            }
            let Some(text) = self.string(file, &k) else {
                continue;
            };
            let (is_optional, path) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            if path.is_empty() {
                self.problem(Some(file.span()), &k, "must name a file");
                continue;
            }
            out.push(SecretEnv {
                name: name.get_ref().clone(),
                path: self.base.join(path),
                is_optional,
            });
        }
        out
    }

    /// `listen`: socket name -> `tcp:HOST:PORT` | `unix:/path`.
    fn listen(&mut self, raw: &RawService, key: &str) -> Vec<ListenSpec> {
        let mut out = Vec::new();
        for (name, addr) in &raw.listen {
            let k = format!("{key}.listen.{}", name.get_ref());
            let n = name.get_ref();
            let is_name = !n.is_empty()
                && n.len() <= 255
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !is_name {
                self.problem(
                    Some(name.span()),
                    &k,
                    "a socket name is letters, digits, '_', '-' or '.' (it goes in LISTEN_FDNAMES)",
                );
                continue;
            }
            let Some(text) = self.string(addr, &k) else {
                continue;
            };
            match ListenAddr::parse(&text) {
                Ok(a) => out.push(ListenSpec {
                    name: n.clone(),
                    addr: a,
                }),
                Err(e) => self.problem(Some(addr.span()), &k, e),
            }
        }
        out
    }

    /// `capabilities`: names such as "CHOWN" or "CAP_CHOWN".
    fn capabilities(&mut self, raw: &RawService, key: &str) -> Vec<u32> {
        let k = format!("{key}.capabilities");
        let mut out = Vec::new();
        for c in &raw.capabilities {
            let Some(name) = self.string(c, &k) else {
                continue;
            };
            match caps::parse(&name) {
                Some(n) => out.push(n),
                None => self.problem(
                    Some(c.span()),
                    &k,
                    format!("unknown capability {name:?}; write e.g. \"CHOWN\" or \"CAP_SETUID\""),
                ),
            }
        }
        out
    }

    /// `schedule`: only for oneshots.
    fn schedule(&mut self, raw: &RawService, key: &str) -> Option<Schedule> {
        let value = raw.schedule.as_ref()?;
        let k = format!("{key}.schedule");
        let text = self.string(value, &k)?;
        if !raw.oneshot {
            self.problem(
                Some(value.span()),
                k,
                "only a oneshot (oneshot = true) can run on a schedule",
            );
            return None;
        }
        match Schedule::parse(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(Some(value.span()), k, e);
                None
            }
        }
    }

    /// `enabled`: a boolean, or a string such as "${EMBEDDED_PG:-true}".
    fn is_enabled(&mut self, raw: &RawService, key: &str) -> bool {
        match &raw.enabled {
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
        }
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
        if given > 1 || (given == 0 && !p.notify) {
            self.problem(
                Some(raw.span()),
                key,
                "give exactly one probe kind: http = \"URL\", tcp = \"HOST:PORT\", exec = [..] or postgres = \"CONNINFO\" (with notify = true, at most one)",
            );
            return None;
        }
        let kind = if let Some(u) = &p.http {
            let k = format!("{key}.http");
            let url = self.string(u, &k)?;
            match HttpTarget::parse(&url) {
                Ok(t) => Some(ProbeKind::Http(t)),
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
            Some(ProbeKind::Tcp(addr))
        } else if let Some(e) = &p.exec {
            Some(ProbeKind::Exec(self.argv(e, &format!("{key}.exec"))?))
        } else if let Some(c) = &p.postgres {
            Some(ProbeKind::Postgres(
                self.string(c, &format!("{key}.postgres"))?,
            ))
        } else {
            None
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
            is_notify: p.notify,
            interval,
            timeout,
            retries,
            start_period,
            start_interval,
        })
    }
}
