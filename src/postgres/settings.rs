//! The environment `pg-init` honours, read once into [`Settings`].
//!
//! Names follow the official postgres image where they overlap:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PGDATA` | `/var/lib/postgresql/data` | the data directory (the volume) |
//! | `POSTGRES_USER` | `postgres` | the database superuser |
//! | `POSTGRES_PASSWORD` | — | its password |
//! | `POSTGRES_PASSWORD_FILE` | — | a file holding it (Docker/Podman secrets) |
//! | `POSTGRES_DB` | `wms` | the database created at first boot |
//! | `POSTGRES_INITDB_ARGS` | — | extra `initdb` arguments (e.g. `--locale=de_DE.UTF-8`) |
//! | `PGPORT` | `5432` | the server's port (also names its socket file) |
//! | `PG_SOCKET_DIR` | `/run/postgresql` | unix socket directory, created at every boot |
//! | `PG_OS_USER` | `postgres` | OS account the server runs as; empty: the current user |
//! | `WMS_INITDB_DIR` | `/docker-entrypoint-initdb.d` | `*.sql` / `*.sh` run once at first boot |
//! | `WMS_DB_USER` | `wms` | the application's role (not a superuser; owns the database) |
//! | `WMS_DB_PASSWORD` | — | its password (`WMS_DB_PASSWORD_FILE`: a file holding it) |
//! | `WMS_PG_HBA` | — | `keep`: never rewrite `pg_hba.conf` |
//!
//! Without a password a random one is generated and stored, mode 0600, in
//! `$PGDATA/wms-postgres-password` (the superuser's, at first boot) and
//! `$PGDATA/wms-app-password` (the application role's, always written: the supervisor hands
//! it to the backend). There is never a known default.

use std::path::PathBuf;

/// Where a first boot gets the superuser password from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// `POSTGRES_PASSWORD`.
    Given(String),
    /// `POSTGRES_PASSWORD_FILE`.
    File(PathBuf),
    /// Neither: generate one.
    Generate,
}

/// Everything `pg-init` needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The data directory.
    pub pgdata: PathBuf,
    /// The unix socket directory.
    pub socket_dir: PathBuf,
    /// The server port.
    pub port: u16,
    /// Database superuser.
    pub superuser: String,
    /// Password source for a first boot.
    pub password: PasswordSource,
    /// Database to create.
    pub database: String,
    /// Extra initdb arguments.
    pub initdb_args: Vec<String>,
    /// Init scripts directory.
    pub init_dir: PathBuf,
    /// OS account for the server (`None`: the current user).
    pub os_user: Option<String>,
    /// The application's role.
    pub app_user: String,
    /// Where its password comes from.
    pub app_password: PasswordSource,
    /// `WMS_PG_HBA=keep`: leave `pg_hba.conf` alone.
    pub is_hba_kept: bool,
}

/// An unusable setting, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads settings through `env` (tests pass a map).
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str, default: &str| {
            env(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let password = password_source(env, "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE")?;
        let app_password = password_source(env, "WMS_DB_PASSWORD", "WMS_DB_PASSWORD_FILE")?;
        let port_text = get("PGPORT", "5432");
        let port = port_text.parse::<u16>().map_err(|_| SettingsError {
            variable: "PGPORT",
            message: format!("{port_text:?} is not a port number"),
        })?;
        let superuser = get("POSTGRES_USER", "postgres");
        let database = get("POSTGRES_DB", "wms");
        let app_user = get("WMS_DB_USER", "wms");
        if app_user == superuser {
            return Err(SettingsError {
                variable: "WMS_DB_USER",
                message: format!(
                    "{app_user:?} is also POSTGRES_USER; the application needs a role of its own"
                ),
            });
        }
        for (variable, value) in [
            ("POSTGRES_USER", &superuser),
            ("POSTGRES_DB", &database),
            ("WMS_DB_USER", &app_user),
        ] {
            if value.len() > 63 || value.contains('\0') {
                return Err(SettingsError {
                    variable,
                    message: format!("{value:?} is not a valid PostgreSQL name (1-63 bytes)"),
                });
            }
        }
        let os_user = match env("PG_OS_USER") {
            Some(u) if u.is_empty() => None,
            Some(u) => Some(u),
            None => Some("postgres".to_owned()),
        };
        Ok(Settings {
            pgdata: PathBuf::from(get("PGDATA", "/var/lib/postgresql/data")),
            socket_dir: PathBuf::from(get("PG_SOCKET_DIR", "/run/postgresql")),
            port,
            superuser,
            password,
            database,
            initdb_args: env("POSTGRES_INITDB_ARGS")
                .map(|a| a.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            init_dir: PathBuf::from(get("WMS_INITDB_DIR", "/docker-entrypoint-initdb.d")),
            os_user,
            app_user,
            app_password,
            is_hba_kept: env("WMS_PG_HBA").is_some_and(|v| v.trim() == "keep"),
        })
    }
}

/// A password given directly, in a file, or to be generated; both given is an error.
fn password_source(
    env: &dyn Fn(&str) -> Option<String>,
    direct: &'static str,
    file: &'static str,
) -> Result<PasswordSource, SettingsError> {
    match (
        env(direct).filter(|v| !v.is_empty()),
        env(file).filter(|v| !v.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(SettingsError {
            variable: file,
            message: format!("set either {direct} or {file}, not both"),
        }),
        (Some(p), None) => Ok(PasswordSource::Given(p)),
        (None, Some(f)) => Ok(PasswordSource::File(PathBuf::from(f))),
        (None, None) => Ok(PasswordSource::Generate),
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
    fn defaults_follow_the_official_image() {
        let s = with(&[]).unwrap();
        assert_eq!(s.pgdata, PathBuf::from("/var/lib/postgresql/data"));
        assert_eq!(s.superuser, "postgres");
        assert_eq!(s.database, "wms");
        assert_eq!(s.password, PasswordSource::Generate);
        assert_eq!(s.port, 5432);
        assert_eq!(s.os_user.as_deref(), Some("postgres"));
        assert_eq!(s.app_user, "wms");
        assert_eq!(s.app_password, PasswordSource::Generate);
        assert!(!s.is_hba_kept);
    }

    #[test]
    fn password_sources() {
        assert_eq!(
            with(&[("POSTGRES_PASSWORD", "pw")]).unwrap().password,
            PasswordSource::Given("pw".into())
        );
        assert_eq!(
            with(&[("POSTGRES_PASSWORD_FILE", "/run/secrets/pg")])
                .unwrap()
                .password,
            PasswordSource::File("/run/secrets/pg".into())
        );
        let e = with(&[("POSTGRES_PASSWORD", "a"), ("POSTGRES_PASSWORD_FILE", "b")]).unwrap_err();
        assert_eq!(e.variable, "POSTGRES_PASSWORD_FILE");
        assert_eq!(
            with(&[("WMS_DB_PASSWORD_FILE", "/run/secrets/app")])
                .unwrap()
                .app_password,
            PasswordSource::File("/run/secrets/app".into())
        );
        let e = with(&[("WMS_DB_USER", "admin"), ("POSTGRES_USER", "admin")]).unwrap_err();
        assert_eq!(e.variable, "WMS_DB_USER");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = with(&[("PGPORT", "http")]).unwrap_err();
        assert_eq!(e.to_string(), "PGPORT: \"http\" is not a port number");
        assert!(with(&[("POSTGRES_DB", &"d".repeat(64))]).is_err());
        assert_eq!(with(&[("PG_OS_USER", "")]).unwrap().os_user, None);
        assert_eq!(
            with(&[("POSTGRES_INITDB_ARGS", "--locale=de_DE.UTF-8  -k")])
                .unwrap()
                .initdb_args,
            ["--locale=de_DE.UTF-8", "-k"]
        );
    }
}
