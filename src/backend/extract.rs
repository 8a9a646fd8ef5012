//! Reading requests for the handlers: bodies with a size limit (413 past it), JSON syntax
//! (the one check made before authentication), raw path parameters and query strings.
//! Nothing here decides what a field means; that is [`super::validation`] and the owners.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};

use super::errors::{ApiError, msg};
use super::validation::{RawBody, parse_body};

/// Largest JSON body accepted (the import has its own, configurable limit).
pub const JSON_LIMIT: usize = 1 << 20;

/// The body's bytes, or 413 past `limit` (checked against `Content-Length` first, then
/// while reading, so an oversized upload is never buffered).
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    too_large: &'static str,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::detail(StatusCode::PAYLOAD_TOO_LARGE, too_large));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::detail(StatusCode::PAYLOAD_TOO_LARGE, too_large))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "Cannot read the request body: {e}"
        ))),
    }
}

/// Reads and syntax-checks a JSON body (422 `json_invalid` happens here, before auth).
pub async fn json_body(headers: &HeaderMap, body: Body) -> Result<RawBody, ApiError> {
    let bytes = read_body(headers, body, JSON_LIMIT, msg::BODY_TOO_LARGE).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    parse_body(content_type, &bytes)
}
