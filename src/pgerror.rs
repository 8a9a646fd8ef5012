//! PostgreSQL error text, for every role that talks to PostgreSQL (the supervisor's probe,
//! `wms pg-init`, the backend).
//!
//! tokio-postgres displays only "db error" for an error the server sent; [`describe`]
//! includes the server's SQLSTATE and message, or the underlying cause (refused, timed out,
//! ...) for a client-side failure. Pure formatting; no I/O.

/// The error with the server's SQLSTATE and message, or its cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
