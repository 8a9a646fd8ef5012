//! Validation of the whole file: the [`Validator`] that interprets raw values (with
//! `${VAR}` interpolation), collects every problem with its position, and builds the
//! [`Plan`] from the `[supervisor]` table, each service (`service.rs`) and the dependency
//! graph (`graph.rs`).

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::host::Host;
use super::schema::{RawConfig, RawSupervisor, line_col};
use super::{Problem, defaults};
use crate::supervisor::interpolate::interpolate;
use crate::supervisor::plan::{Condition, Plan, ServiceName, ServiceSpec, SupervisorSettings};

/// Accumulates problems while turning the raw config into a plan.
pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) host: &'a dyn Host,
    /// Directory of the config file, for relative paths.
    pub(super) base: PathBuf,
    pub(super) problems: Vec<Problem>,
}

/// A service after per-field validation, before the graph is resolved.
pub(super) struct Partial {
    pub(super) spec: ServiceSpec,
    pub(super) is_enabled: bool,
    /// `(dependency name, condition, span of the key)`.
    pub(super) depends_on: Vec<(String, Condition, Range<usize>)>,
    /// Span of the service's table key.
    pub(super) span: Range<usize>,
}

impl Validator<'_> {
    pub(super) fn problem(
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
    pub(super) fn string(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        match interpolate(value.get_ref(), self.env) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(Some(value.span()), key, e.to_string());
                None
            }
        }
    }

    pub(super) fn duration(
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

    pub(super) fn path(&mut self, value: &Spanned<String>, key: &str) -> Option<PathBuf> {
        let s = self.string(value, key)?;
        if s.is_empty() {
            self.problem(Some(value.span()), key, "must not be empty");
            return None;
        }
        Some(self.base.join(s))
    }

    pub(super) fn plan(&mut self, source: &Path, raw: RawConfig) -> Option<Plan> {
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

    pub(super) fn argv(
        &mut self,
        value: &Spanned<Vec<Spanned<String>>>,
        key: &str,
    ) -> Option<Vec<String>> {
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
}
