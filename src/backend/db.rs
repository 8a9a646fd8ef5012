//! The database plumbing every owner module shares: the `DATABASE_URL` parser, the
//! connection pool, the first connection (with a bounded wait for a database that is still
//! starting), and the classification of PostgreSQL errors by SQLSTATE and constraint name
//! (never by message text). No SQL of any table lives here: only the readiness ping and the
//! time zone check, which touch none.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use thiserror::Error;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

/// A pooled connection.
pub type Conn = deadpool_postgres::Object;

/// Rows per statement of a bulk write (the import): the parameter arrays of one statement
/// stay a few MiB, however large the file.
pub const BULK_BATCH: usize = 5_000;

const PING: &str = "SELECT 1";
const CHECK_TZ: &str = "SELECT now() AT TIME ZONE $1::text";

/// How long a request waits for a pooled connection before answering 503.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// `DATABASE_URL` cannot be parsed.
#[derive(Debug, Error)]
pub enum UrlError {
    #[error("empty")]
    Empty,
    #[error("unsupported scheme {0:?} (expected postgresql:// or postgres://)")]
    Scheme(String),
    #[error("{0}")]
    Invalid(#[source] tokio_postgres::Error),
    #[error("no host given (use host=/run/postgresql for a unix socket)")]
    NoHost,
}

/// Parses a connection string: a URL (a `+driver` suffix in the scheme, as in
/// `postgresql+asyncpg://`, is dropped) or libpq `key=value` pairs. Unix socket hosts are
/// paths (`host=/run/postgresql`, or `%2Frun%2Fpostgresql` in a URL).
pub fn parse_database_url(raw: &str) -> Result<tokio_postgres::Config, UrlError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(UrlError::Empty);
    }
    let normalised = match s.split_once("://") {
        Some((scheme, rest)) => {
            let base = scheme.split('+').next().unwrap_or(scheme);
            let base = base.to_ascii_lowercase();
            if base != "postgresql" && base != "postgres" {
                return Err(UrlError::Scheme(scheme.to_owned()));
            }
            format!("postgresql://{rest}")
        }
        None => s.to_owned(),
    };
    let config = tokio_postgres::Config::from_str(&normalised).map_err(UrlError::Invalid)?;
    if config.get_hosts().is_empty() {
        return Err(UrlError::NoHost);
    }
    Ok(config)
}

/// A pool of at most `size` connections; waiting for one is bounded by [`POOL_WAIT`].
pub fn pool(config: tokio_postgres::Config, size: usize) -> Result<Pool, DbError> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .recycle_timeout(Some(POOL_WAIT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Setup(e.to_string()))
}

/// A pooled connection, or [`DbError::Pool`] (503) when none comes in time.
pub async fn conn(pool: &Pool) -> Result<Conn, DbError> {
    pool.get().await.map_err(DbError::Pool)
}

/// `SELECT 1` on a connection of `pool` (readiness).
pub async fn ping(pool: &Pool) -> Result<(), DbError> {
    conn(pool).await?.simple_query(PING).await?;
    Ok(())
}

/// Checks a time zone name with PostgreSQL's own time zone database.
pub async fn check_time_zone(client: &Client, tz: &str) -> Result<(), DbError> {
    client.query_one(CHECK_TZ, &[&tz]).await?;
    Ok(())
}

/// Connects once, retrying with a growing pause while the server is not up yet, for at most
/// `wait`. The connection task runs on the current runtime until the client is dropped.
pub async fn connect_with_wait(
    config: &tokio_postgres::Config,
    wait: Duration,
) -> Result<Client, DbError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(20);
    loop {
        match config.connect(NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("database connection closed: {e}");
                    }
                });
                return Ok(client);
            }
            Err(e) => {
                let now = tokio::time::Instant::now();
                if now + pause > deadline || !is_transient_connect_error(&e) {
                    return Err(DbError::Query(e));
                }
                tracing::info!("database not reachable yet ({e}); retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// True for failures a starting server produces (refused, not found, starting up).
fn is_transient_connect_error(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS
        }
        // No SQLSTATE: an I/O error (refused, no such socket yet) or a timeout.
        None => true,
    }
}

/// A query assembled from an owner module's constant fragments: each fragment carries one
/// `$?` that becomes the next parameter number. Used for optional filters, so each filter
/// combination gets its own (cached) plan instead of one generic `$1 IS NULL OR ...` plan.
#[derive(Default)]
pub struct Filters {
    where_sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filters {
    pub fn new() -> Filters {
        Filters::default()
    }

    /// Adds `fragment` (e.g. `" AND p.barcode ILIKE $?"`) with its parameter.
    pub fn and<T: ToSql + Sync + Send + 'static>(&mut self, fragment: &'static str, value: T) {
        self.params.push(Box::new(value));
        let n = format!("${}", self.params.len());
        self.where_sql.push_str(&fragment.replace("$?", &n));
    }

    /// Adds `fragment` with two parameters: its first `$?` is `a`, its second `b`.
    pub fn and2<A, B>(&mut self, fragment: &'static str, a: A, b: B)
    where
        A: ToSql + Sync + Send + 'static,
        B: ToSql + Sync + Send + 'static,
    {
        let na = self.param(a);
        let nb = self.param(b);
        let sql = fragment.replacen("$?", &na, 1).replacen("$?", &nb, 1);
        self.where_sql.push_str(&sql);
    }

    /// Adds a condition whose parameters were numbered with [`Filters::param`].
    pub fn and_raw(&mut self, fragment: &str) {
        self.where_sql.push_str(fragment);
    }

    /// Adds a parameter that later SQL refers to by the returned `$n`.
    pub fn param<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// The conditions so far (empty, or starting with ` AND`).
    pub fn sql(&self) -> &str {
        &self.where_sql
    }

    /// How many parameters there are so far.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// The parameters, in number order.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| &**p as &(dyn ToSql + Sync))
            .collect()
    }
}

/// `Type { field, ... }` from the columns of `row` with the fields' names (each column's
/// SQL type must match its field's; a mismatch is an error, never a panic).
macro_rules! from_columns {
    ($row:expr, $ty:ident { $($field:ident),* $(,)? }) => {
        $ty { $($field: $row.try_get(stringify!($field))?),* }
    };
}
pub(crate) use from_columns;

/// A database failure that no owner module turned into a specific answer.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[source] PoolError),
    #[error("database error: {}", crate::pgerror::describe(.0))]
    Query(#[from] tokio_postgres::Error),
    #[error("database pool set-up: {0}")]
    Setup(String),
}

impl From<PoolError> for DbError {
    fn from(e: PoolError) -> Self {
        DbError::Pool(e)
    }
}

impl DbError {
    /// The SQLSTATE, when the server reported one.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            DbError::Query(e) => e.code(),
            DbError::Pool(PoolError::Backend(e)) => e.code(),
            _ => None,
        }
    }

    /// The violated constraint, for integrity errors.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            DbError::Query(e) => e.as_db_error().and_then(|d| d.constraint()),
            _ => None,
        }
    }

    /// True if the error is a unique violation of `constraint`.
    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        self.code() == Some(&SqlState::UNIQUE_VIOLATION) && self.constraint() == Some(constraint)
    }

    /// True if the error is a foreign-key violation of `constraint`.
    pub fn is_fk_violation(&self, constraint: &str) -> bool {
        self.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
            && self.constraint() == Some(constraint)
    }

    /// True if retrying later could succeed: no connection, the server going away, a
    /// deadlock or serialization failure, a cancelled statement. Answered with 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Setup(_) => false,
            DbError::Query(e) => match e.code() {
                None => e.is_closed() || e.as_db_error().is_none(),
                Some(code) => {
                    let c = code.code();
                    c.starts_with("08")
                        || c.starts_with("57P")
                        || *code == SqlState::T_R_DEADLOCK_DETECTED
                        || *code == SqlState::T_R_SERIALIZATION_FAILURE
                        || *code == SqlState::QUERY_CANCELED
                        || *code == SqlState::TOO_MANY_CONNECTIONS
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::Host;

    #[test]
    fn urls_with_driver_suffix_and_unix_sockets_parse() {
        let c = parse_database_url("postgresql+asyncpg://u:p%40ss@db.example:6543/wms").unwrap();
        assert_eq!(c.get_user(), Some("u"));
        assert_eq!(c.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(c.get_dbname(), Some("wms"));
        assert_eq!(c.get_ports(), &[6543]);
        assert_eq!(c.get_hosts(), &[Host::Tcp("db.example".into())]);

        let c = parse_database_url("postgres://wms@%2Frun%2Fpostgresql/wms").unwrap();
        assert_eq!(c.get_hosts(), &[Host::Unix("/run/postgresql".into())]);

        let c = parse_database_url("host=/tmp/pg user=postgres dbname=x port=5433").unwrap();
        assert_eq!(c.get_hosts(), &[Host::Unix("/tmp/pg".into())]);
        assert_eq!(c.get_ports(), &[5433]);
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(matches!(parse_database_url("  "), Err(UrlError::Empty)));
        assert!(matches!(
            parse_database_url("mysql://x/y"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            parse_database_url("dbname=x"),
            Err(UrlError::NoHost)
        ));
        assert!(parse_database_url("postgresql://h:notaport/x").is_err());
    }
}
