//! The environment the backup commands honour, read once into [`Settings`] (pure: the
//! environment comes in as a lookup function, so tests pass a map).
//!
//! The database settings are the ones `config.toml` gives the embedded server, so
//! `wms backup` inside the container finds it without options:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WMS_BACKUP_DIR` | `/var/lib/wms/backup` | the backup volume; `off` disables archiving |
//! | `WMS_BASE_BACKUP_EVERY` | `24h` | a base backup is due when the newest is this old |
//! | `WMS_BACKUP_KEEP` | `7` | base backups kept (older WAL is pruned with them) |
//! | `WMS_BACKUP_VERIFY_EVERY` | `24h` | a restore drill is due when the last is this old |
//! | `WMS_BACKUP_SYNC` | `false` | synchronous replication to the WAL receiver |
//! | `WMS_BACKUP_MAX_LAG` | `5m` | archive lag beyond which the status is not ok |
//! | `PGDATA` | `/var/lib/postgresql/data` | the data directory `wms restore --latest` rebuilds |
//! | `PG_SOCKET_DIR`, `PGPORT` | `/run/postgresql`, `5432` | where the embedded server listens |
//! | `POSTGRES_USER`, `POSTGRES_DB` | `postgres`, `wms` | superuser and the app database |
//! | `WMS_DB_USER` | `wms` | the application's role: a restored dump's objects belong to it |
//! | `PG_OS_USER` | `postgres` | OS account of the server (empty: the current user) |
//! | `DATABASE_URL` | — | an external database for `wms backup` / `wms restore FILE` |
//! | `DATABASE_PASSWORD`, `DATABASE_PASSWORD_FILE` | — | its password when the URL has none |

use std::path::PathBuf;
use std::time::Duration;

/// Where a database password comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// `DATABASE_PASSWORD`.
    Given(String),
    /// `DATABASE_PASSWORD_FILE` (read when needed, trailing newline trimmed).
    File(PathBuf),
}

/// Everything the backup commands need to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The backup volume; `None` when archiving is off.
    pub backup_dir: Option<PathBuf>,
    /// The data directory of the embedded server.
    pub pgdata: PathBuf,
    /// The embedded server's socket directory.
    pub socket_dir: PathBuf,
    /// The embedded server's port (names its socket file).
    pub port: u16,
    /// The database superuser.
    pub superuser: String,
    /// The app database.
    pub database: String,
    /// The application's role (owner of the app's objects in the embedded database).
    pub app_role: String,
    /// OS account of the server (`None`: the current user).
    pub os_user: Option<String>,
    /// An external database (`DATABASE_URL`), for the logical commands.
    pub database_url: Option<String>,
    /// Its password, when the URL carries none.
    pub database_password: Option<Password>,
    /// How old the newest base backup may get before another is due.
    pub base_every: Duration,
    /// Base backups kept.
    pub keep: usize,
    /// How old the last restore drill may get before another is due.
    pub verify_every: Duration,
    /// Synchronous replication to the WAL receiver.
    pub is_sync: bool,
    /// Archive lag beyond which the status is not ok.
    pub max_lag: Duration,
}

/// An unusable setting, naming the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The default backup volume.
pub const DEFAULT_BACKUP_DIR: &str = "/var/lib/wms/backup";
/// The most base backups `WMS_BACKUP_KEEP` may ask for (each is a full copy).
pub const KEEP_MAX: usize = 1000;

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads settings through `env`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str, default: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let duration = |variable: &'static str, default: &str| {
            let text = get(variable, default);
            match humantime::parse_duration(&text) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => Err(SettingsError {
                    variable,
                    message: "must be longer than 0".into(),
                }),
                Err(e) => Err(SettingsError {
                    variable,
                    message: format!("{text:?} is not a duration such as 24h or 30m ({e})"),
                }),
            }
        };
        let backup_dir = match get("WMS_BACKUP_DIR", DEFAULT_BACKUP_DIR).as_str() {
            "off" => None,
            dir if dir.starts_with('/') => Some(PathBuf::from(dir)),
            dir => {
                return Err(SettingsError {
                    variable: "WMS_BACKUP_DIR",
                    message: format!("{dir:?} is not an absolute path (or off)"),
                });
            }
        };
        let keep_text = get("WMS_BACKUP_KEEP", "7");
        let keep = match keep_text.parse::<usize>() {
            Ok(n) if (1..=KEEP_MAX).contains(&n) => n,
            _ => {
                return Err(SettingsError {
                    variable: "WMS_BACKUP_KEEP",
                    message: format!("{keep_text:?} is not a number from 1 to {KEEP_MAX}"),
                });
            }
        };
        let sync_text = get("WMS_BACKUP_SYNC", "false");
        let is_sync = match sync_text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(SettingsError {
                    variable: "WMS_BACKUP_SYNC",
                    message: format!("{sync_text:?} is not true or false"),
                });
            }
        };
        let port_text = get("PGPORT", "5432");
        let port = port_text.parse::<u16>().map_err(|_| SettingsError {
            variable: "PGPORT",
            message: format!("{port_text:?} is not a port number"),
        })?;
        let os_user = match env("PG_OS_USER") {
            Some(u) if u.trim().is_empty() => None,
            Some(u) => Some(u.trim().to_owned()),
            None => Some("postgres".to_owned()),
        };
        let database_password = match (
            env("DATABASE_PASSWORD").filter(|v| !v.is_empty()),
            env("DATABASE_PASSWORD_FILE").filter(|v| !v.is_empty()),
        ) {
            (Some(_), Some(_)) => {
                return Err(SettingsError {
                    variable: "DATABASE_PASSWORD_FILE",
                    message: "set either DATABASE_PASSWORD or DATABASE_PASSWORD_FILE, not both"
                        .into(),
                });
            }
            (Some(p), None) => Some(Password::Given(p)),
            (None, Some(f)) => Some(Password::File(PathBuf::from(f))),
            (None, None) => None,
        };
        Ok(Settings {
            backup_dir,
            pgdata: PathBuf::from(get("PGDATA", "/var/lib/postgresql/data")),
            socket_dir: PathBuf::from(get("PG_SOCKET_DIR", "/run/postgresql")),
            port,
            superuser: get("POSTGRES_USER", "postgres"),
            database: get("POSTGRES_DB", "wms"),
            app_role: get("WMS_DB_USER", "wms"),
            os_user,
            database_url: env("DATABASE_URL").filter(|v| !v.trim().is_empty()),
            database_password,
            base_every: duration("WMS_BASE_BACKUP_EVERY", "24h")?,
            keep,
            verify_every: duration("WMS_BACKUP_VERIFY_EVERY", "24h")?,
            is_sync,
            max_lag: duration("WMS_BACKUP_MAX_LAG", "5m")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&|n| map.get(n).cloned())
    }

    #[test]
    fn defaults() {
        let s = with(&[]).unwrap();
        assert_eq!(s.backup_dir, Some(PathBuf::from("/var/lib/wms/backup")));
        assert_eq!(s.base_every, Duration::from_secs(24 * 3600));
        assert_eq!(s.verify_every, Duration::from_secs(24 * 3600));
        assert_eq!(s.keep, 7);
        assert!(!s.is_sync);
        assert_eq!(s.max_lag, Duration::from_secs(300));
        assert_eq!(s.socket_dir, PathBuf::from("/run/postgresql"));
        assert_eq!(s.port, 5432);
        assert_eq!(s.superuser, "postgres");
        assert_eq!(s.database, "wms");
        assert_eq!(s.os_user.as_deref(), Some("postgres"));
        assert_eq!(s.database_url, None);
    }

    #[test]
    fn off_and_values() {
        let s = with(&[
            ("WMS_BACKUP_DIR", "off"),
            ("WMS_BACKUP_SYNC", "TRUE"),
            ("WMS_BACKUP_KEEP", "2"),
            ("WMS_BASE_BACKUP_EVERY", "90m"),
            ("PG_OS_USER", ""),
            ("DATABASE_PASSWORD_FILE", "/run/secrets/db"),
        ])
        .unwrap();
        assert_eq!(s.backup_dir, None);
        assert!(s.is_sync);
        assert_eq!(s.keep, 2);
        assert_eq!(s.base_every, Duration::from_secs(5400));
        assert_eq!(s.os_user, None);
        assert_eq!(
            s.database_password,
            Some(Password::File("/run/secrets/db".into()))
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("WMS_BACKUP_DIR", "backup", "not an absolute path"),
            ("WMS_BACKUP_KEEP", "0", "not a number from 1"),
            ("WMS_BACKUP_KEEP", "many", "not a number from 1"),
            ("WMS_BACKUP_SYNC", "maybe", "not true or false"),
            ("WMS_BASE_BACKUP_EVERY", "daily", "not a duration"),
            ("WMS_BACKUP_VERIFY_EVERY", "0s", "longer than 0"),
            ("PGPORT", "http", "not a port number"),
        ];
        for (variable, value, message) in cases {
            let e = with(&[(variable, value)]).unwrap_err();
            assert_eq!(e.variable, variable, "{value}");
            assert!(e.message.contains(message), "{variable}={value}: {e}");
        }
        let e = with(&[("DATABASE_PASSWORD", "a"), ("DATABASE_PASSWORD_FILE", "b")]).unwrap_err();
        assert_eq!(e.variable, "DATABASE_PASSWORD_FILE");
    }
}
