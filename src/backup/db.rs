//! Which database the commands talk to, as a libpq connection string for PostgreSQL's tools
//! and as a `tokio_postgres` config for our own queries.
//!
//! * [`Target::Embedded`]: the stack's own server on its unix socket, as the superuser
//!   (`PG_SOCKET_DIR`, `PGPORT`, `POSTGRES_USER`, `POSTGRES_DB`); the OS account authenticates.
//! * [`Target::Url`]: `DATABASE_URL` (a `postgresql://` URL or `key=value` pairs), with
//!   `DATABASE_PASSWORD[_FILE]` when the URL carries no password. The password reaches the
//!   tools through `PGPASSWORD`, never their command line.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::settings::{Password, Settings};

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the app database is.
#[derive(Clone, Debug)]
pub enum Target {
    /// The embedded server, over its socket.
    Embedded {
        /// Connection string for the tools.
        conninfo: String,
        /// The database name.
        dbname: String,
    },
    /// An external server.
    Url {
        /// Connection string for the tools (scheme normalised).
        conninfo: String,
        /// Password for `PGPASSWORD`.
        password: Option<String>,
    },
}

/// `DATABASE_URL` or its password file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Unsupported URL.
    #[error("DATABASE_URL: {0}")]
    Url(String),
    /// The password file cannot be read.
    #[error("DATABASE_PASSWORD_FILE {path}: {source}")]
    PasswordFile {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Target {
    /// `DATABASE_URL` if set, else the embedded server. Reads the password file now (do it
    /// before dropping privileges).
    pub fn from_settings(s: &Settings) -> Result<Target, TargetError> {
        let Some(url) = &s.database_url else {
            return Ok(Target::Embedded {
                conninfo: embedded_conninfo(s, &s.database),
                dbname: s.database.clone(),
            });
        };
        let conninfo = normalise_url(url)?;
        tokio_postgres::Config::from_str(&conninfo).map_err(|e| TargetError::Url(e.to_string()))?;
        let password = match &s.database_password {
            None => None,
            Some(Password::Given(p)) => Some(p.clone()),
            Some(Password::File(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| TargetError::PasswordFile {
                        path: path.display().to_string(),
                        source,
                    })?
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
            ),
        };
        Ok(Target::Url { conninfo, password })
    }

    /// True for the embedded server.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Target::Embedded { .. })
    }

    /// The connection string for `-d`.
    pub fn conninfo(&self) -> &str {
        match self {
            Target::Embedded { conninfo, .. } | Target::Url { conninfo, .. } => conninfo,
        }
    }

    /// Environment for the tools (the password, when there is one).
    pub fn tool_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Target::Url {
                password: Some(p), ..
            } => vec![("PGPASSWORD", p.clone())],
            _ => Vec::new(),
        }
    }

    /// A `tokio_postgres` config for our own queries.
    pub fn config(&self) -> Result<tokio_postgres::Config, TargetError> {
        let mut cfg = tokio_postgres::Config::from_str(self.conninfo())
            .map_err(|e| TargetError::Url(e.to_string()))?;
        if let Target::Url {
            password: Some(p), ..
        } = self
        {
            if cfg.get_password().is_none() {
                cfg.password(p.as_str());
            }
        }
        cfg.connect_timeout(CONNECT_TIMEOUT);
        Ok(cfg)
    }

    /// A description for messages, without any password.
    pub fn describe(&self) -> String {
        match self {
            Target::Embedded { dbname, .. } => format!("the embedded database {dbname:?}"),
            Target::Url { conninfo, .. } => match tokio_postgres::Config::from_str(conninfo) {
                Ok(c) => format!(
                    "database {:?} on {}",
                    c.get_dbname().unwrap_or("(default)"),
                    c.get_hosts()
                        .iter()
                        .map(|h| match h {
                            tokio_postgres::config::Host::Tcp(h) => h.clone(),
                            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Err(_) => "DATABASE_URL".to_owned(),
            },
        }
    }
}

/// The embedded server's connection string for `dbname`, as the superuser.
pub fn embedded_conninfo(s: &Settings, dbname: &str) -> String {
    socket_conninfo(&s.socket_dir, s.port, &s.superuser, dbname)
}

/// A connection string for a unix socket directory.
pub fn socket_conninfo(socket_dir: &Path, port: u16, user: &str, dbname: &str) -> String {
    format!(
        "host={} port={port} user={} dbname={}",
        quote(&socket_dir.display().to_string()),
        quote(user),
        quote(dbname)
    )
}

/// Quotes a libpq connection string value.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `postgresql+driver://` and `postgres://` become `postgresql://`; `key=value` strings
/// pass unchanged.
fn normalise_url(raw: &str) -> Result<String, TargetError> {
    let s = raw.trim();
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let base = scheme
                .split('+')
                .next()
                .unwrap_or(scheme)
                .to_ascii_lowercase();
            if base != "postgresql" && base != "postgres" {
                return Err(TargetError::Url(format!(
                    "unsupported scheme {scheme:?} (expected postgresql:// or postgres://)"
                )));
            }
            Ok(format!("postgresql://{rest}"))
        }
        None => Ok(s.to_owned()),
    }
}

/// The error with the server's SQLSTATE and message, or its cause.
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    crate::pgerror::describe(e)
}

/// Connects once; the connection task runs on the current runtime until the client drops.
pub async fn connect(
    cfg: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A single-threaded runtime for one command.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    crate::rt::current_thread()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&|n| map.get(n).cloned()).unwrap()
    }

    #[test]
    fn embedded_by_default() {
        let t = Target::from_settings(&settings(&[("PG_SOCKET_DIR", "/tmp/it's")])).unwrap();
        assert!(t.is_embedded());
        assert_eq!(
            t.conninfo(),
            "host='/tmp/it\\'s' port=5432 user='postgres' dbname='wms'"
        );
        let cfg = t.config().unwrap();
        assert_eq!(cfg.get_dbname(), Some("wms"));
        assert!(t.tool_env().is_empty());
    }

    #[test]
    fn urls_and_passwords() {
        let t = Target::from_settings(&settings(&[
            (
                "DATABASE_URL",
                "postgresql+asyncpg://app@db.example:5433/wms",
            ),
            ("DATABASE_PASSWORD", "s3cret"),
        ]))
        .unwrap();
        assert_eq!(t.conninfo(), "postgresql://app@db.example:5433/wms");
        assert_eq!(t.tool_env(), vec![("PGPASSWORD", "s3cret".to_owned())]);
        assert_eq!(t.config().unwrap().get_password(), Some(&b"s3cret"[..]));
        assert_eq!(t.describe(), "database \"wms\" on db.example");
        let e = Target::from_settings(&settings(&[("DATABASE_URL", "mysql://x/y")])).unwrap_err();
        assert!(e.to_string().contains("unsupported scheme"), "{e}");
        let e = Target::from_settings(&settings(&[
            ("DATABASE_URL", "host=x"),
            ("DATABASE_PASSWORD_FILE", "/nonexistent/pw"),
        ]))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("DATABASE_PASSWORD_FILE /nonexistent/pw"),
            "{e}"
        );
    }
}
