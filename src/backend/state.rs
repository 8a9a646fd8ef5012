//! What every request handler shares: [`AppState`] (pools, token keys, settings), built
//! once at start-up by [`super::server`] and handed to the router as an `Arc`. Plain data;
//! the checks that use it are in [`super::extract`].

use std::sync::Arc;

use deadpool_postgres::Pool;

use super::auth::Keys;

/// Everything the handlers share.
pub struct AppState {
    /// Connections for requests.
    pub pool: Pool,
    /// A one-connection pool for `/health`, so a busy request pool does not read as an
    /// unreachable database.
    pub health_pool: Pool,
    pub keys: Keys,
    /// Time zone of date-only journal filters.
    pub business_tz: String,
    /// Largest accepted Excel upload in bytes.
    pub upload_limit: usize,
}

/// The state as the router holds it (cloned per request).
pub type App = Arc<AppState>;
