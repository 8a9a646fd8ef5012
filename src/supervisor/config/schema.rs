//! `config.toml` as the user writes it: the serde types ([`RawConfig`]) and the TOML
//! parse, with the dotted key and the line and column of the first syntax or type error.
//! Pure; nothing here interprets a value.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::Problem;

/// The whole file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub(super) supervisor: RawSupervisor,
    #[serde(default)]
    pub(super) services: IndexMap<String, Spanned<RawService>>,
}

/// `[supervisor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervisor {
    pub(super) health_listen: Option<Spanned<String>>,
    pub(super) control_socket: Option<Spanned<String>>,
    pub(super) state_dir: Option<Spanned<String>>,
    pub(super) shutdown_timeout: Option<Spanned<String>>,
}

/// `[services.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) command: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) env: IndexMap<Spanned<String>, Spanned<String>>,
    pub(super) env_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) inherit_env: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) secret_env: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub(super) capabilities: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) directories: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) listen: IndexMap<Spanned<String>, Spanned<String>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) workdir: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) depends_on: IndexMap<Spanned<String>, Spanned<String>>,
    pub(super) ready: Option<Spanned<RawProbe>>,
    pub(super) restart: Option<Spanned<String>>,
    pub(super) max_restarts: Option<u32>,
    pub(super) backoff_max: Option<Spanned<String>>,
    pub(super) stop_signal: Option<Spanned<String>>,
    pub(super) stop_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) oneshot: bool,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) enabled: Option<Spanned<BoolOrString>>,
}

/// `ready = { ... }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub(super) http: Option<Spanned<String>>,
    pub(super) tcp: Option<Spanned<String>>,
    pub(super) exec: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) postgres: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) notify: bool,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) retries: Option<u32>,
    pub(super) start_period: Option<Spanned<String>>,
    pub(super) start_interval: Option<Spanned<String>>,
}

/// `enabled` accepts a boolean or an interpolated string such as `"${EMBEDDED_PG:-true}"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum BoolOrString {
    Bool(bool),
    String(String),
}

/// TOML → [`RawConfig`], with the dotted path and position of the first error.
pub(super) fn deserialize(text: &str) -> Result<RawConfig, Problem> {
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
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
