//! Every failure a request can end in, and its JSON answer: `{"detail": "..."}` for
//! application errors, `{"detail": [items]}` for validation (422, items are [`ErrorItem`]s),
//! `WWW-Authenticate: Bearer` on 401. Database failures that no owner module mapped become
//! 503 (try again) or 500, both JSON and logged; request input never reaches them by design.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::db::DbError;

/// The error of a request.
#[derive(Debug)]
pub enum ApiError {
    /// `{"detail": message}` with the given status.
    Detail(StatusCode, Cow<'static, str>),
    /// 401 with `WWW-Authenticate: Bearer`.
    Unauthorized(&'static str),
    /// 422 with pydantic-shaped items.
    Validation(Vec<ErrorItem>),
    /// A database failure not mapped to anything more specific.
    Db(DbError),
    /// A bug or an unexpected condition (logged; the client sees a generic 500).
    Internal(String),
}

/// One 422 item.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ValidationError)]
pub struct ErrorItem {
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// Where: `["body", field]`, `["query", name]`, `["path", name]`, `["header", name]`.
    #[schema(value_type = Vec<Value>)]
    pub loc: Vec<Value>,
    pub msg: String,
    // Boxed, like `ctx`, to keep `Result<_, ErrorItem>` small.
    /// The offending value.
    #[schema(value_type = Value)]
    pub input: Box<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<Box<Value>>,
}

impl ErrorItem {
    /// An item of any type.
    pub fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>, input: Value) -> Self {
        ErrorItem {
            kind,
            loc,
            msg: msg.into(),
            input: Box::new(input),
            ctx: None,
        }
    }

    /// The same item with a `ctx` object.
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(Box::new(ctx));
        self
    }

    /// A custom rule (`value_error`): the message is prefixed with `Value error, ` and the
    /// context is `{"error": {}}`, exactly as the reference prints it.
    pub fn value_error(loc: Vec<Value>, message: &str, input: Value) -> Self {
        ErrorItem::new("value_error", loc, format!("Value error, {message}"), input)
            .with_ctx(json!({"error": {}}))
    }

    pub fn missing(loc: Vec<Value>, input: Value) -> Self {
        ErrorItem::new("missing", loc, "Field required", input)
    }
}

/// Messages used by more than one module.
pub mod msg {
    pub const NOT_AUTHENTICATED: &str = "Not authenticated";
    pub const BAD_CREDENTIALS: &str = "Could not validate credentials";
    pub const FORBIDDEN: &str = "Not enough permissions";
    pub const NOT_FOUND: &str = "Not Found";
    pub const METHOD_NOT_ALLOWED: &str = "Method Not Allowed";
    pub const BODY_TOO_LARGE: &str = "Request body too large";
    pub const FILE_TOO_LARGE: &str = "File too large";
    pub const SOURCE_NOT_FOUND: &str = "Source not found";
    pub const DC_NOT_FOUND: &str = "Distribution center not found";
    pub const PRODUCT_NOT_FOUND: &str = "Product not found";
    pub const QUANTITY_MAXIMUM: &str = "Resulting quantity exceeds the allowed maximum";
}

impl ApiError {
    /// `status` with `{"detail": message}`.
    pub fn detail(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::Detail(status, message.into())
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::detail(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: &'static str) -> Self {
        Self::detail(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: &'static str) -> Self {
        Self::detail(StatusCode::CONFLICT, message)
    }

    pub fn forbidden() -> Self {
        Self::detail(StatusCode::FORBIDDEN, msg::FORBIDDEN)
    }

    /// 422 with one item.
    pub fn invalid(item: ErrorItem) -> Self {
        ApiError::Validation(vec![item])
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Db(e)
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        ApiError::Db(DbError::Query(e))
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ApiError::Db(DbError::Pool(e))
    }
}

/// The body of every error but 422: `{"detail": message}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub detail: String,
}

/// The body of a 422: `{"detail": [items]}`.
#[derive(Serialize, ToSchema)]
#[schema(as = HTTPValidationError)]
pub struct ValidationErrors {
    pub detail: Vec<ErrorItem>,
}

/// `status` with `{"detail": message}`.
pub fn detail_response(status: StatusCode, message: &str) -> Response {
    let body = ErrorDetail {
        detail: message.to_owned(),
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Detail(status, message) => detail_response(status, &message),
            ApiError::Unauthorized(message) => {
                let mut r = detail_response(StatusCode::UNAUTHORIZED, message);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            ApiError::Validation(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(ValidationErrors { detail }),
            )
                .into_response(),
            ApiError::Db(e) if e.is_unavailable() => {
                tracing::warn!("request failed, database unavailable: {e}");
                detail_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Database unavailable, try again",
                )
            }
            ApiError::Db(e) => {
                tracing::error!("request failed: {e}");
                detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            ApiError::Internal(what) => {
                tracing::error!("request failed: {what}");
                detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}
