//! The environment a service receives (pure).
//!
//! Secure by default: a service gets a small base set from the supervisor's environment
//! ([`BASE`]: `PATH`, locale, time zone, log settings), what its `inherit_env` names (exact
//! names, or prefixes ending in `*`), its `env` table, and its `secret_env` values (read from
//! files by the runtime at each start). Nothing else passes: the web server never sees a
//! database password because nobody listed one for it. `HOME`, `USER` and `LOGNAME` follow
//! the account the service runs as; the service manager's own variables never pass.

/// Variables every service receives when the supervisor has them.
pub const BASE: [&str; 8] = [
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "WMS_LOG",
    "RUST_LOG",
    "RUST_BACKTRACE",
];

/// Meant for the supervisor alone (a service that speaks sd_notify itself, as PostgreSQL
/// does, would otherwise report READY=1 for the whole stack; sockets held for services are
/// announced per service).
pub const MANAGER_ONLY: [&str; 6] = [
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
];

/// True if and only if `name` matches `pattern` (an exact name, or a prefix ending in `*`).
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// True if and only if `pattern` is a variable name, optionally ending in `*`.
pub fn is_valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The service's whole environment: the supervisor's variables that [`BASE`] or `inherit`
/// names, then `account` (`HOME`, `USER`, `LOGNAME`), then `explicit` (its `env` and
/// `secret_env`, later wins). Manager-only variables never pass.
pub fn build(
    supervisor: impl IntoIterator<Item = (String, String)>,
    inherit: &[String],
    account: &[(&str, String)],
    explicit: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = supervisor
        .into_iter()
        .filter(|(k, _)| {
            BASE.iter().any(|p| matches(p, k)) || inherit.iter().any(|p| matches(p, k))
        })
        .collect();
    let mut set = |k: &str, v: String| {
        out.retain(|(existing, _)| existing != k);
        out.push((k.to_owned(), v));
    };
    for (k, v) in account {
        set(k, v.clone());
    }
    for (k, v) in explicit {
        set(k, v.clone());
    }
    out.retain(|(k, _)| !MANAGER_ONLY.contains(&k.as_str()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_what_is_named_passes() {
        let supervisor = vars(&[
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("SECRET_KEY", "s3cret"),
            ("POSTGRES_PASSWORD", "pw"),
            ("POSTGRES_DB", "wms"),
            ("WMS_ADMIN_PASSWORD", "admin"),
            ("NOTIFY_SOCKET", "/run/notify"),
            ("HOME", "/root"),
        ]);
        // A service that names nothing: the base set and its account only.
        let web = build(
            supervisor.clone(),
            &[],
            &[("HOME", "/nonexistent".into())],
            &[],
        );
        assert_eq!(
            web,
            vars(&[
                ("PATH", "/usr/bin"),
                ("LC_ALL", "C.UTF-8"),
                ("HOME", "/nonexistent")
            ])
        );
        // Prefixes and names; explicit values win; manager-only never passes.
        let init = build(
            supervisor,
            &["POSTGRES_*".into(), "NOTIFY_SOCKET".into()],
            &[],
            &vars(&[("POSTGRES_DB", "other"), ("EXTRA", "1")]),
        );
        assert_eq!(
            init,
            vars(&[
                ("PATH", "/usr/bin"),
                ("LC_ALL", "C.UTF-8"),
                ("POSTGRES_PASSWORD", "pw"),
                ("POSTGRES_DB", "other"),
                ("EXTRA", "1"),
            ])
        );
    }

    #[test]
    fn patterns() {
        assert!(matches("POSTGRES_*", "POSTGRES_USER"));
        assert!(!matches("POSTGRES_*", "PGDATA"));
        assert!(matches("PGDATA", "PGDATA"));
        assert!(!matches("PGDATA", "PGDATA2"));
        for ok in ["PGDATA", "POSTGRES_*", "WMS_*", "A1_"] {
            assert!(is_valid_pattern(ok), "{ok}");
        }
        for bad in ["", "*", "1X", "A-B", "A*B", "A**"] {
            assert!(!is_valid_pattern(bad), "{bad}");
        }
    }
}
