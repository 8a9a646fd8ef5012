//! First-start data (spec section 10, B-43): the administrator and the default sources and
//! DCs, written once. The one-row `seed_state` table records that seeding happened, so
//! deleting every source later does not bring the defaults back, and concurrent replicas
//! seed exactly once (the second blocks on the marker insert, then sees it taken).
//!
//! The administrator's password is the configured one (`WMS_ADMIN_PASSWORD(_FILE)`), or a
//! random one made here, written 0600 to `$WMS_SECRETS_DIR/admin-password` (the directory is
//! created 0700) and logged once. There is no default password.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use deadpool_postgres::Pool;
use rand::RngCore;

use super::auth;
use super::db;
use super::errors::ApiError;
use super::reference;
use super::users::{self, Role};

const CLAIM: &str = "INSERT INTO seed_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING";

/// The file, in the secrets directory, that holds a generated administrator password.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// The administrator to create when there is no user at all.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    pub email: &'a str,
    /// `None`: generate one and keep it in `secrets_dir`.
    pub password: Option<&'a str>,
    pub secrets_dir: &'a Path,
}

/// Seeds, unless it happened before. Each table is filled only if empty (an adopted
/// reference database keeps its own data).
pub async fn seed_once(pool: &Pool, admin: Admin<'_>) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    if tx.execute(CLAIM, &[]).await? == 0 {
        tracing::debug!("seed data were written before; not seeding again");
        return Ok(());
    }
    let mut generated = None;
    let created = users::is_empty(&tx).await?;
    if created {
        let password = match admin.password {
            Some(p) => p.to_owned(),
            None => {
                let p = random_password();
                // Kept before the commit: a password nobody can read is never committed
                // unless writing failed, which the log line below then says.
                generated = Some((p.clone(), keep(admin.secrets_dir, &p)));
                p
            }
        };
        // Hashing inside the transaction keeps other replicas waiting on the marker for a
        // moment, once, at the very first start.
        let hash = auth::hash_password(password).await?;
        users::insert(&tx, admin.email, &hash, true, Role::Admin).await?;
    }
    let (sources, dcs) = reference::seed_defaults(&tx).await?;
    tx.commit().await?;
    match generated {
        None if created => tracing::info!("created the administrator {}", admin.email),
        None => {}
        Some((password, Ok(path))) => tracing::warn!(
            "created the administrator {} with the generated password {password} (kept in {}; change it after logging in)",
            admin.email,
            path.display()
        ),
        Some((password, Err(e))) => tracing::warn!(
            "created the administrator {} with the generated password {password} (NOT kept: {e}; note it now or reset it with `wms admin reset-password`)",
            admin.email
        ),
    }
    tracing::info!("seeded {sources} sources and {dcs} distribution centres");
    Ok(())
}

/// 24 characters from 144 random bits (URL-safe base64).
pub fn random_password() -> String {
    use base64::Engine;
    let mut random = [0u8; 18];
    rand::rng().fill_bytes(&mut random);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// Writes `password` to `dir/admin-password` (file 0600, directory created 0700).
fn keep(dir: &Path, password: &str) -> std::io::Result<PathBuf> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let path = dir.join(ADMIN_PASSWORD_FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    // An older file keeps its mode on open; make it private either way.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(format!("{password}\n").as_bytes())?;
    file.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }

    #[test]
    fn kept_passwords_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("deeper/secrets");
        let path = keep(&secrets, "pw-1").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "pw-1\n");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&secrets), 0o700);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        keep(&secrets, "pw-2").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "pw-2\n");
    }
}
