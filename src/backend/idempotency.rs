//! `Idempotency-Key` for `POST /api/stock/movements`: the `idempotency_keys` table's SQL.
//!
//! The key row is inserted first, inside the movement's transaction. A concurrent request
//! with the same key blocks on that insert until the first transaction ends: if it
//! committed, the second finds the stored response and replays it; if it rolled back (a 4xx,
//! nothing moved), the second proceeds as the first. So a key moves stock at most once, on
//! any number of replicas. Keys are per user and kept for [`RETENTION`].

use std::time::Duration;

use axum::http::HeaderMap;
use deadpool_postgres::{GenericClient, Pool};
use serde_json::Value;
use uuid::Uuid;

use super::db::{self, DbError};
use super::validation::{ErrorItem, Text, check_text, loc};

/// The header.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Longest accepted key.
pub const KEY_MAX: usize = 255;

const CLAIM: &str = "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3) \
     ON CONFLICT (user_id, key) DO NOTHING";
const STORED: &str = "SELECT request_hash, status_code, response FROM idempotency_keys \
     WHERE user_id = $1 AND key = $2";
const STORE: &str = "UPDATE idempotency_keys SET status_code = $3, response = $4 \
     WHERE user_id = $1 AND key = $2";
const PURGE: &str =
    "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)";

/// What a claimed key means for the request.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// First use: go ahead (inside the same transaction).
    Fresh,
    /// Used before for the same request: answer with this.
    Replay { status: u16, body: Value },
    /// Used before for a different request.
    Mismatch,
}

/// Reads and checks the header: absent is fine; present must be 1 to 255 visible ASCII
/// characters.
pub fn key_from_headers(headers: &HeaderMap) -> Result<Option<String>, ErrorItem> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let location = loc("header", HEADER);
    let Ok(text) = value.to_str() else {
        return Err(ErrorItem::value_error(
            location,
            "Idempotency-Key must be visible ASCII text",
            Value::Null,
        ));
    };
    let key = check_text(
        location.clone(),
        text,
        Text {
            max: Some(KEY_MAX),
            trim: true,
            non_empty: true,
        },
    )?;
    if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(ErrorItem::value_error(
            location,
            "Idempotency-Key must be visible ASCII text",
            Value::from(text),
        ));
    }
    Ok(Some(key))
}

/// Claims `key` for `user` inside the caller's transaction (see the module doc).
pub async fn claim(
    client: &impl GenericClient,
    user: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<Claim, DbError> {
    let stmt = client.prepare_cached(CLAIM).await?;
    if client.execute(&stmt, &[&user, &key, &request_hash]).await? == 1 {
        return Ok(Claim::Fresh);
    }
    let row = client.query_one(STORED, &[&user, &key]).await?;
    let stored_hash: String = row.try_get("request_hash")?;
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i16> = row.try_get("status_code")?;
    let body: Option<Value> = row.try_get("response")?;
    match (status.and_then(|s| u16::try_from(s).ok()), body) {
        (Some(status), Some(body)) => Ok(Claim::Replay { status, body }),
        // Claimed and committed without a response cannot happen (both are written in one
        // transaction); treat it as a mismatch rather than moving stock twice.
        _ => Ok(Claim::Mismatch),
    }
}

/// Records the response of the request that claimed `key` (same transaction).
pub async fn store(
    client: &impl GenericClient,
    user: Uuid,
    key: &str,
    status: i16,
    body: &Value,
) -> Result<(), DbError> {
    let stmt = client.prepare_cached(STORE).await?;
    client.execute(&stmt, &[&user, &key, &status, body]).await?;
    Ok(())
}

/// Forgets keys older than [`RETENTION`]; returns how many.
pub async fn purge_expired(pool: &Pool) -> Result<u64, DbError> {
    let conn = db::conn(pool).await?;
    let secs = RETENTION.as_secs_f64();
    Ok(conn.execute(PURGE, &[&secs]).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_checked() {
        let mut h = HeaderMap::new();
        assert_eq!(key_from_headers(&h), Ok(None));
        h.insert(HEADER, "abc-123".parse().unwrap());
        assert_eq!(key_from_headers(&h), Ok(Some("abc-123".to_owned())));
        h.insert(HEADER, " ".parse().unwrap());
        assert!(key_from_headers(&h).is_err());
        h.insert(HEADER, "x".repeat(256).parse().unwrap());
        assert!(key_from_headers(&h).is_err());
    }
}
