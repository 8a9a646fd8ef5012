//! Command-line options and environment of `wms backend` and `wms migrate`, and their
//! resolution into [`Settings`]. Parsing only: nothing here connects or listens.
//!
//! Environment names follow the reference backend where they overlap (`DATABASE_URL`,
//! `SECRET_KEY`, `ACCESS_TOKEN_EXPIRE_MINUTES`); ours are prefixed `WMS_`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use super::client::{Networks, parse_networks};
use super::db;

/// Options shared by both subcommands: where the database is.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection: a URL (`postgresql://`, `postgres://`, a `+driver` suffix such as
    /// `postgresql+asyncpg://` is ignored; a host starting with `/` or `%2F` is a unix socket
    /// directory) or libpq `key=value` pairs.
    /// Required by `wms backend` and `wms migrate`; `wms admin` without it uses the embedded
    /// database over its unix socket, as the application role (what `config.toml` gives the
    /// backend), so `podman exec wms wms admin ...` needs no setting.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The database password, used when `DATABASE_URL` carries none.
    #[arg(long, env = "DATABASE_PASSWORD", hide_env_values = true)]
    pub database_password: Option<String>,

    /// A file holding the database password (trailing newline trimmed), used when
    /// `DATABASE_URL` carries none.
    #[arg(long, env = "DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<PathBuf>,

    /// How long to keep retrying the first connection before giving up (exit 1).
    #[arg(long, env = "WMS_DB_WAIT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub db_wait: Duration,
}

/// Command-line options of `wms backend`.
#[derive(Debug, clap::Args)]
pub struct BackendArgs {
    /// Address to listen on.
    #[arg(long, env = "WMS_BACKEND_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Apply pending migrations (under the advisory lock) before serving.
    #[arg(long)]
    pub migrate: bool,

    /// HS256 secret for access tokens, at least 32 bytes (`openssl rand -hex 32`). Unset or
    /// empty: a random secret is generated once and kept in the database, so every replica
    /// shares it.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Access token lifetime in minutes.
    #[arg(long, env = "ACCESS_TOKEN_EXPIRE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub token_expire_minutes: u32,

    /// E-mail of the administrator created at the first start.
    #[arg(long, env = "WMS_ADMIN_EMAIL", default_value = "admin@wms.example.com")]
    pub admin_email: String,

    /// Password of the administrator created at the first start. Unset (and no file): a
    /// random one is generated, logged once and written to `$WMS_SECRETS_DIR/admin-password`.
    #[arg(long, env = "WMS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// A file holding that password (trailing newline trimmed).
    #[arg(long, env = "WMS_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,

    /// Where a generated administrator password is kept (created 0700 if missing).
    #[arg(long, env = "WMS_SECRETS_DIR", default_value = "/var/lib/wms/secrets")]
    pub secrets_dir: PathBuf,

    /// Peers whose `X-Forwarded-For` / `X-Real-IP` are believed when finding a client's
    /// address (login throttling): comma-separated addresses or CIDR blocks.
    #[arg(long, env = "WMS_TRUSTED_PROXIES", default_value = "127.0.0.0/8,::1",
          value_parser = parse_networks)]
    pub trusted_proxies: Networks,

    /// Time zone for date-only journal filters (an IANA name PostgreSQL knows, or an offset).
    #[arg(long, env = "WMS_BUSINESS_TZ", default_value = "UTC")]
    pub business_tz: String,

    /// Largest accepted Excel upload (`20MiB`, `512KiB`, `1000000`); larger ones get 413.
    #[arg(long, env = "WMS_UPLOAD_LIMIT", default_value = "20MiB", value_parser = parse_size)]
    pub upload_limit: usize,

    /// Database connections in the pool (default: twice the CPUs, at least 4, at most 32;
    /// each PostgreSQL connection costs a few MiB, and more of them than the cores can run
    /// only queue inside the server).
    #[arg(long, env = "WMS_DB_POOL_SIZE",
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: Option<u16>,

    /// Runtime worker threads (default: half the CPUs, at least 1, at most 4; PostgreSQL
    /// usually shares the machine, and cross-thread wake-ups cost more than they bring).
    #[arg(long, env = "WMS_BACKEND_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,

    /// A client must send a request's head within this time (also the idle limit between
    /// requests on a kept-alive connection); slower clients are disconnected.
    #[arg(long, env = "WMS_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// Open client connections at most; more wait in the listen backlog.
    #[arg(long, env = "WMS_BACKEND_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,

    /// After SIGTERM/SIGINT, how long in-flight requests may take before the process exits.
    #[arg(long, env = "WMS_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// Command-line options of `wms migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A configuration value that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("DATABASE_URL is not set (e.g. postgresql://wms@db:5432/wms)")]
    MissingDatabaseUrl,
    #[error("DATABASE_URL: {0}")]
    DatabaseUrl(#[from] db::UrlError),
    #[error("WMS_ADMIN_EMAIL: {0:?} is not an e-mail address")]
    AdminEmail(String),
    #[error(
        "WMS_ADMIN_PASSWORD: at least {min} characters are needed (or leave it unset to have one generated)",
        min = super::users::PASSWORD_MIN
    )]
    AdminPassword,
    #[error(
        "SECRET_KEY is {0} bytes long; at least 32 are needed (make one with `openssl rand -hex 32`, or leave it unset to have one generated)"
    )]
    SecretKey(usize),
    #[error("{0} and {0}_FILE are both set; set one")]
    Both(&'static str),
    #[error("{name}_FILE: cannot read {path}: {error}")]
    SecretFile {
        name: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Shortest accepted `SECRET_KEY`, in bytes (HS256's key should be as long as its hash).
pub const SECRET_KEY_MIN: usize = 32;

/// A secret given directly (`NAME`) or in a file (`NAME_FILE`, trailing newline trimmed);
/// `None` when neither is set. An empty value counts as unset (compose's `${X:-}`).
pub fn secret_from(
    name: &'static str,
    value: Option<String>,
    file: Option<&Path>,
) -> Result<Option<String>, ConfigError> {
    let value = value.filter(|v| !v.is_empty());
    let file = file.filter(|f| !f.as_os_str().is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::Both(name)),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned())),
            Err(error) => Err(ConfigError::SecretFile {
                name,
                path: path.to_owned(),
                error,
            }),
        },
        (None, None) => Ok(None),
    }
}

/// The embedded database's connection string, from the environment `config.toml` uses.
pub fn embedded_database_url() -> String {
    let var = |k: &str, d: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| d.to_owned())
    };
    format!(
        "host={} port={} user={} dbname={}",
        var("PG_SOCKET_DIR", "/run/postgresql"),
        var("PGPORT", "5432"),
        var("WMS_DB_USER", "wms"),
        var("POSTGRES_DB", "wms")
    )
}

/// Where pg-init keeps the embedded application role's password.
pub fn embedded_password_file() -> PathBuf {
    let pgdata = std::env::var("PGDATA")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/var/lib/postgresql/data".to_owned());
    PathBuf::from(pgdata).join(crate::postgres::init::APP_PASSWORD_FILE)
}

impl DatabaseArgs {
    /// The connection settings: `DATABASE_URL`, with the password from `DATABASE_PASSWORD`
    /// or `DATABASE_PASSWORD_FILE` when the URL carries none.
    pub fn config(&self) -> Result<tokio_postgres::Config, ConfigError> {
        let url = self
            .database_url
            .as_deref()
            .ok_or(ConfigError::MissingDatabaseUrl)?;
        let mut config = db::parse_database_url(url)?;
        let password = secret_from(
            "DATABASE_PASSWORD",
            self.database_password.clone(),
            self.database_password_file.as_deref(),
        )?;
        if let (None, Some(password)) = (config.get_password(), password) {
            config.password(password);
        }
        Ok(config)
    }
}

/// Everything the serving process needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database: tokio_postgres::Config,
    pub db_wait: Duration,
    pub migrate: bool,
    /// `None`: use (or create) the secret stored in the database.
    pub secret_key: Option<String>,
    pub token_ttl: Duration,
    pub admin_email: String,
    /// `None`: generate one at the first seed and keep it in `secrets_dir`.
    pub admin_password: Option<String>,
    pub secrets_dir: PathBuf,
    pub trusted_proxies: Networks,
    pub business_tz: String,
    pub upload_limit: usize,
    pub db_pool_size: usize,
    pub workers: usize,
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Settings {
    /// Validates the options of `wms backend`.
    pub fn from_args(args: BackendArgs) -> Result<Settings, ConfigError> {
        let database = args.database.config()?;
        let admin_email = args.admin_email.trim().to_owned();
        if super::users::check_email_syntax(&admin_email).is_err() {
            return Err(ConfigError::AdminEmail(admin_email));
        }
        let admin_password = secret_from(
            "WMS_ADMIN_PASSWORD",
            args.admin_password,
            args.admin_password_file.as_deref(),
        )?;
        if admin_password
            .as_ref()
            .is_some_and(|p| p.chars().count() < super::users::PASSWORD_MIN)
        {
            return Err(ConfigError::AdminPassword);
        }
        let secret_key = args.secret_key.filter(|s| !s.is_empty());
        if let Some(key) = &secret_key {
            if key.len() < SECRET_KEY_MIN {
                return Err(ConfigError::SecretKey(key.len()));
            }
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Settings {
            listen: args.listen,
            database,
            db_wait: args.database.db_wait,
            migrate: args.migrate,
            secret_key,
            token_ttl: Duration::from_secs(u64::from(args.token_expire_minutes) * 60),
            admin_email,
            admin_password,
            secrets_dir: args.secrets_dir,
            trusted_proxies: args.trusted_proxies,
            business_tz: args.business_tz,
            upload_limit: args.upload_limit,
            db_pool_size: args
                .db_pool_size
                .map_or((cpus * 2).clamp(4, 32), usize::from),
            workers: args.workers.map_or((cpus / 2).clamp(1, 4), usize::from),
            header_timeout: args.header_timeout,
            max_connections: args.max_connections as usize,
            shutdown_grace: args.shutdown_grace,
        })
    }
}

/// Parses a byte size: plain bytes, or a number with `K`/`KB`/`KiB`, `M`/`MB`/`MiB`,
/// `G`/`GB`/`GiB` (all binary multiples; case-insensitive).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 20MiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    let bytes = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if bytes == 0 {
        return Err("the size must be positive".to_owned());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("20MiB"), Ok(20 << 20));
        assert_eq!(parse_size("512kib"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size(" 2 G "), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }
}
