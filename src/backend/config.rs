//! Command-line options and environment of `wms backend` and `wms migrate`, and their
//! resolution into [`Settings`]. Parsing only: nothing here connects or listens.
//!
//! Environment names follow the reference backend where they overlap (`DATABASE_URL`,
//! `SECRET_KEY`, `ACCESS_TOKEN_EXPIRE_MINUTES`); ours are prefixed `WMS_`.

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

use super::db;

/// Options shared by both subcommands: where the database is.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection: a URL (`postgresql://`, `postgres://`, a `+driver` suffix such as
    /// `postgresql+asyncpg://` is ignored; a host starting with `/` or `%2F` is a unix socket
    /// directory) or libpq `key=value` pairs.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// The password, when `DATABASE_URL` carries none (the supervisor passes the embedded
    /// application role's this way).
    #[arg(long, env = "DATABASE_PASSWORD", hide_env_values = true)]
    pub database_password: Option<String>,

    /// How long to keep retrying the first connection before giving up (exit 1).
    #[arg(long, env = "WMS_DB_WAIT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub db_wait: Duration,
}

impl DatabaseArgs {
    /// The connection settings: `DATABASE_URL`, with `DATABASE_PASSWORD` when the URL has
    /// no password of its own.
    pub fn config(&self) -> Result<tokio_postgres::Config, db::UrlError> {
        let mut config = db::parse_database_url(&self.database_url)?;
        if let (None, Some(p)) = (config.get_password(), &self.database_password) {
            config.password(p.as_str());
        }
        Ok(config)
    }
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

    /// HS256 secret for access tokens. Unset or empty: a random secret is generated once and
    /// kept in the database, so every replica shares it.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Access token lifetime in minutes.
    #[arg(long, env = "ACCESS_TOKEN_EXPIRE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub token_expire_minutes: u32,

    /// E-mail of the administrator created at the first start.
    #[arg(long, env = "WMS_ADMIN_EMAIL", default_value = "admin@wms.example.com")]
    pub admin_email: String,

    /// Password of the administrator created at the first start.
    #[arg(
        long,
        env = "WMS_ADMIN_PASSWORD",
        default_value = "admin123",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub admin_password: String,

    /// Time zone for date-only journal filters (an IANA name PostgreSQL knows, or an offset).
    #[arg(long, env = "WMS_BUSINESS_TZ", default_value = "UTC")]
    pub business_tz: String,

    /// Largest accepted Excel upload (`20MiB`, `512KiB`, `1000000`); larger ones get 413.
    #[arg(long, env = "WMS_UPLOAD_LIMIT", default_value = "20MiB", value_parser = parse_size)]
    pub upload_limit: usize,

    /// Database connections in the pool.
    #[arg(long, env = "WMS_DB_POOL_SIZE", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: u16,

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
    #[error("DATABASE_URL: {0}")]
    DatabaseUrl(#[from] db::UrlError),
    #[error("WMS_ADMIN_EMAIL: {0:?} is not an e-mail address")]
    AdminEmail(String),
    #[error("WMS_ADMIN_PASSWORD: must not be empty")]
    AdminPassword,
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
    pub admin_password: String,
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
        if args.admin_password.is_empty() {
            return Err(ConfigError::AdminPassword);
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Settings {
            listen: args.listen,
            database,
            db_wait: args.database.db_wait,
            migrate: args.migrate,
            secret_key: args.secret_key.filter(|s| !s.is_empty()),
            token_ttl: Duration::from_secs(u64::from(args.token_expire_minutes) * 60),
            admin_email,
            admin_password: args.admin_password,
            business_tz: args.business_tz,
            upload_limit: args.upload_limit,
            db_pool_size: usize::from(args.db_pool_size),
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
