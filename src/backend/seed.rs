//! First-start data (spec section 10, B-43): the administrator and the default sources and
//! DCs, written once. The one-row `seed_state` table records that seeding happened, so
//! deleting every source later does not bring the defaults back, and concurrent replicas
//! seed exactly once (the second blocks on the marker insert, then sees it taken).

use deadpool_postgres::Pool;

use super::auth;
use super::db;
use super::errors::ApiError;
use super::reference;
use super::users::{self, Role};

const CLAIM: &str = "INSERT INTO seed_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING";

/// The reference's default password, worth a warning when still in use.
const DEFAULT_PASSWORD: &str = "admin123";

/// Seeds, unless it happened before. Each table is filled only if empty (an adopted
/// reference database keeps its own data).
pub async fn seed_once(
    pool: &Pool,
    admin_email: &str,
    admin_password: &str,
) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    if tx.execute(CLAIM, &[]).await? == 0 {
        tracing::debug!("seed data were written before; not seeding again");
        return Ok(());
    }
    if users::is_empty(&tx).await? {
        // Hashing inside the transaction keeps other replicas waiting on the marker for a
        // moment, once, at the very first start.
        let hash = auth::hash_password(admin_password.to_owned()).await?;
        users::insert(&tx, admin_email, &hash, true, Role::Admin).await?;
        tracing::info!("created the administrator {admin_email}");
        if admin_password == DEFAULT_PASSWORD {
            tracing::warn!(
                "the administrator's password is the well-known default; set WMS_ADMIN_PASSWORD or change it"
            );
        }
    }
    let (sources, dcs) = reference::seed_defaults(&tx).await?;
    tx.commit().await?;
    tracing::info!("seeded {sources} sources and {dcs} distribution centres");
    Ok(())
}
