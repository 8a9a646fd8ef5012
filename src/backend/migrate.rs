//! Schema migrations (`wms migrate`, `wms backend --migrate`): refinery, with the SQL files of
//! `migrations/` embedded in the binary.
//!
//! * Concurrency: a session-level PostgreSQL advisory lock is held on the migrating
//!   connection, so concurrent migrators (replicas, a Job) run one after the other; the later
//!   ones find nothing to do.
//! * Adoption: a database created by the reference (`alembic_version` = `003`) already has
//!   the baseline schema; `V1` is then recorded as applied without running it, and the
//!   forward migrations run as usual. Other Alembic revisions are refused.
//! * `wms backend` without `--migrate` only checks the recorded version ([`check`]).

use crate::exit::{Failure, Outcome};

use refinery::Target;
use thiserror::Error;
use tokio_postgres::Client;

use super::config::MigrateArgs;
use super::db::{self, DbError};

refinery::embed_migrations!("migrations");

/// The advisory lock key ("wms_migr" in ASCII).
const LOCK_KEY: i64 = 0x776d_735f_6d69_6772;
const LOCK: &str = "SELECT pg_advisory_lock($1)";
const UNLOCK: &str = "SELECT pg_advisory_unlock($1)";
const HAS_TABLE: &str = "SELECT to_regclass($1) IS NOT NULL";
const ALEMBIC_VERSION: &str = "SELECT version_num FROM alembic_version";
const LAST_APPLIED: &str = "SELECT max(version) FROM refinery_schema_history";
const HAS_BASELINE: &str =
    "SELECT EXISTS (SELECT 1 FROM refinery_schema_history WHERE version = 1)";

/// The only Alembic revision that can be adopted.
const ADOPTABLE_REVISION: &str = "003";

/// Why migrating failed.
#[derive(Debug, Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
    #[error(
        "the database is a reference database at Alembic revision {0:?}; only revision 003 can be adopted (upgrade it with the reference first)"
    )]
    UnknownRevision(String),
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Db(DbError::Query(e))
    }
}

/// Where the database stands compared with this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// Every embedded migration is applied.
    Current,
    /// Newer migrations than this build knows are applied (a newer replica migrated).
    Ahead { applied: i32, known: i32 },
    /// Migrations are missing: run `wms migrate`.
    Behind { applied: Option<i32>, known: i32 },
}

/// The newest migration embedded in this build.
pub fn latest_version() -> i32 {
    migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .max()
        .unwrap_or(0)
}

/// Applies pending migrations under the advisory lock; returns the names applied.
pub async fn apply(client: &mut Client) -> Result<Vec<String>, MigrateError> {
    client.execute(LOCK, &[&LOCK_KEY]).await?;
    let result = apply_locked(client).await;
    // Closing the session would release the lock too; unlock explicitly for `--migrate`,
    // whose connection lives on.
    if let Err(e) = client.execute(UNLOCK, &[&LOCK_KEY]).await {
        tracing::warn!("releasing the migration lock: {e}");
    }
    result
}

async fn has_table(client: &Client, name: &str) -> Result<bool, tokio_postgres::Error> {
    client.query_one(HAS_TABLE, &[&name]).await?.try_get(0)
}

async fn apply_locked(client: &mut Client) -> Result<Vec<String>, MigrateError> {
    if has_table(client, "alembic_version").await? {
        let revision: Option<String> = client
            .query_opt(ALEMBIC_VERSION, &[])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let revision = revision.unwrap_or_default();
        if revision != ADOPTABLE_REVISION {
            return Err(MigrateError::UnknownRevision(revision));
        }
        let baseline_recorded = has_table(client, "refinery_schema_history").await?
            && client
                .query_one(HAS_BASELINE, &[])
                .await?
                .try_get::<_, bool>(0)?;
        if !baseline_recorded {
            tracing::info!(
                "adopting a reference database (Alembic revision 003): recording V1 as applied"
            );
            migrations::runner()
                .set_target(Target::FakeVersion(1))
                .run_async(client)
                .await?;
        }
    }
    let report = migrations::runner()
        .set_grouped(true)
        .set_abort_divergent(true)
        .run_async(client)
        .await?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect())
}

/// Compares the recorded schema version with this build's.
pub async fn check(client: &Client) -> Result<SchemaState, DbError> {
    let known = latest_version();
    if !has_table(client, "refinery_schema_history").await? {
        return Ok(SchemaState::Behind {
            applied: None,
            known,
        });
    }
    let applied: Option<i32> = client.query_one(LAST_APPLIED, &[]).await?.try_get(0)?;
    Ok(match applied {
        Some(v) if v == known => SchemaState::Current,
        Some(v) if v > known => SchemaState::Ahead { applied: v, known },
        other => SchemaState::Behind {
            applied: other,
            known,
        },
    })
}

/// `wms migrate`: connect (waiting for the server up to `--db-wait`), apply, exit.
pub fn run(args: MigrateArgs) -> Outcome {
    let config = args.database.config().map_err(Failure::invalid)?;
    super::block_on(None, async {
        let mut client = db::connect_with_wait(&config, args.database.db_wait)
            .await
            .map_err(|e| Failure::failed(format!("cannot connect to the database: {e}")))?;
        let applied = apply(&mut client).await.map_err(Failure::failed)?;
        if applied.is_empty() {
            tracing::info!("the schema is up to date (V{})", latest_version());
        } else {
            tracing::info!("applied {}", applied.join(", "));
        }
        Ok(())
    })?
}
