//! What a handler requires, stated in its signature and checked before it runs, in the
//! reference's order (spec 3.2; routing has happened already):
//!
//! 1. the body's size (413) and JSON syntax (422 `json_invalid`) — the one check made
//!    before authentication;
//! 2. who may call ([`Access`]): [`Anyone`], a [`Member`] (an authenticated, active user,
//!    401 otherwise), an [`Admin`] (403 for everyone else), or a [`Reader`] (token checked
//!    now, the user lookup sent together with the handler's own queries, see
//!    [`Reader::read`]);
//! 3. the input ([`Input`]): path ids, query parameters, headers and the JSON body, all read
//!    together so one 422 lists every problem, path and query first.
//!
//! A handler takes one [`Checked<A, I>`]: e.g. `Checked<Admin, (PathId, JsonBody<UserChange>)>`.
//! There is no other way to get a [`User`] in a handler, so a role check cannot be left out.
//! Nothing here knows what a field means (that is [`super::validation`] and the owners) and
//! nothing here touches a table except through [`super::auth`].

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use uuid::Uuid;

use super::auth;
use super::db;
use super::errors::{ApiError, ErrorItem, msg};
use super::idempotency;
use super::state::App;
use super::users::User;
use super::validation::{ParseBody, ParseQuery, Problems, Query, RawBody, parse_body, path_uuid};

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
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
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

/// The `Content-Length` a request declares, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads and syntax-checks a JSON body (422 `json_invalid` happens here, before auth).
async fn json_body(headers: &HeaderMap, body: Body) -> Result<RawBody, ApiError> {
    let bytes = read_body(headers, body, JSON_LIMIT, msg::BODY_TOO_LARGE).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    parse_body(content_type, &bytes)
}

// ---- who may call ------------------------------------------------------------------------

/// Who may call a handler.
pub trait Access: Sized + Send {
    /// Checks the request's credentials: 401 (and 403 for roles) or the caller.
    fn check(app: &App, parts: &Parts) -> impl Future<Output = Result<Self, ApiError>> + Send;

    /// Runs before a 422 is answered, so that a check deferred by [`Access::check`] still
    /// wins over validation (401 before 422).
    fn settle(&self, _app: &App) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }
}

/// No credentials needed (login, health, the OpenAPI document).
#[derive(Debug)]
pub struct Anyone;

impl Access for Anyone {
    async fn check(_app: &App, _parts: &Parts) -> Result<Anyone, ApiError> {
        Ok(Anyone)
    }
}

/// An authenticated, active user of any role.
#[derive(Debug)]
pub struct Member(pub User);

impl Access for Member {
    async fn check(app: &App, parts: &Parts) -> Result<Member, ApiError> {
        auth::current_user(&app.pool, &app.keys, &parts.headers)
            .await
            .map(Member)
    }
}

/// An authenticated, active administrator; 403 for other users.
#[derive(Debug)]
pub struct Admin(pub User);

impl Access for Admin {
    async fn check(app: &App, parts: &Parts) -> Result<Admin, ApiError> {
        let Member(user) = Member::check(app, parts).await?;
        user.require_admin()?;
        Ok(Admin(user))
    }
}

/// An active user of any role, for read-only handlers: the token is verified now (401 for a
/// bad one, no database access); the user lookup goes to PostgreSQL together with the
/// handler's own queries ([`Reader::read`]), one round trip.
#[derive(Debug)]
pub struct Reader {
    subject: String,
}

impl Access for Reader {
    async fn check(app: &App, parts: &Parts) -> Result<Reader, ApiError> {
        let subject = auth::token_subject(&app.keys, &parts.headers)?;
        Ok(Reader { subject })
    }

    async fn settle(&self, app: &App) -> Result<(), ApiError> {
        let conn = db::conn(&app.pool).await?;
        auth::active_user(&conn, &self.subject).await.map(drop)
    }
}

impl Reader {
    /// Runs `work` (built on `conn`) with the user lookup on the same connection, pipelined;
    /// a failed lookup (401) wins over whatever `work` found.
    pub async fn read<T>(
        &self,
        conn: &db::Conn,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let (user, result) = tokio::join!(auth::active_user(conn, &self.subject), work);
        user?;
        result
    }
}

// ---- what is read ------------------------------------------------------------------------

/// What an [`Input`] needs of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyUse {
    /// Not read at all.
    Ignored,
    /// Read whole (at most [`JSON_LIMIT`]) and syntax-checked before authentication.
    Json,
    /// Left as a stream for the handler (uploads).
    Streamed,
}

impl BodyUse {
    const fn or(self, other: BodyUse) -> BodyUse {
        match self {
            BodyUse::Ignored => other,
            used => used,
        }
    }
}

/// The parts of a request an [`Input`] reads from.
pub struct RequestInput<'a> {
    pub headers: &'a HeaderMap,
    /// Path parameters in route order, percent-decoded (or why they could not be).
    path: Result<Vec<(String, String)>, ErrorItem>,
    query: Query,
    body: RawBody,
    stream: Option<Body>,
}

/// A value read from a request, pushing every problem onto `p` (`None` if any).
pub trait Input: Sized + Send {
    const BODY: BodyUse = BodyUse::Ignored;
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self>;
}

impl Input for () {
    fn parse(_: &mut RequestInput<'_>, _: &mut Problems) -> Option<()> {
        Some(())
    }
}

/// The route's path parameters, each a UUID (422 `uuid_parsing` otherwise).
#[derive(Debug, Clone, Copy)]
pub struct PathIds<const N: usize>(pub [Uuid; N]);

impl<const N: usize> Input for PathIds<N> {
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        let params = match &input.path {
            Ok(params) => params,
            Err(item) => {
                p.push(item.clone());
                return None;
            }
        };
        let ids: Vec<Option<Uuid>> = params
            .iter()
            .map(|(name, value)| path_uuid(p, name, value))
            .collect();
        let ids: Option<Vec<Uuid>> = ids.into_iter().collect();
        ids?.try_into().ok().map(PathIds)
    }
}

/// The route's one path parameter, a UUID.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub Uuid);

impl Input for PathId {
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        PathIds::<1>::parse(input, p).map(|PathIds([id])| PathId(id))
    }
}

/// Query parameters read by `T`.
#[derive(Debug, Clone)]
pub struct QueryOf<T>(pub T);

impl<T: ParseQuery + Send> Input for QueryOf<T> {
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        Some(QueryOf(T::parse(&input.query, p)))
    }
}

/// A JSON body read by `T`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: ParseBody + Send> Input for JsonBody<T> {
    const BODY: BodyUse = BodyUse::Json;
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        T::parse(&input.body, p).map(JsonBody)
    }
}

/// The optional `Idempotency-Key` header (1–255 visible ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl Input for IdempotencyKey {
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        match idempotency::key_from_headers(input.headers) {
            Ok(key) => Some(IdempotencyKey(key)),
            Err(item) => {
                p.push(item);
                None
            }
        }
    }
}

/// The unread body with the request's headers, for uploads that are streamed.
pub struct Upload(pub Request);

impl Input for Upload {
    const BODY: BodyUse = BodyUse::Streamed;
    fn parse(input: &mut RequestInput<'_>, _: &mut Problems) -> Option<Self> {
        let mut request = Request::new(input.stream.take()?);
        *request.headers_mut() = input.headers.clone();
        Some(Upload(request))
    }
}

impl<A: Input, B: Input> Input for (A, B) {
    const BODY: BodyUse = A::BODY.or(B::BODY);
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        let a = A::parse(input, p);
        let b = B::parse(input, p);
        Some((a?, b?))
    }
}

impl<A: Input, B: Input, C: Input> Input for (A, B, C) {
    const BODY: BodyUse = A::BODY.or(B::BODY).or(C::BODY);
    fn parse(input: &mut RequestInput<'_>, p: &mut Problems) -> Option<Self> {
        let a = A::parse(input, p);
        let b = B::parse(input, p);
        let c = C::parse(input, p);
        Some((a?, b?, c?))
    }
}

// ---- the extractor -----------------------------------------------------------------------

/// A request that passed every check: the caller `A` and the input `I`.
pub struct Checked<A, I = ()>(pub A, pub I);

impl<A: Access, I: Input> FromRequest<App> for Checked<A, I> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &App) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let (raw, stream) = match I::BODY {
            BodyUse::Ignored => (RawBody::Absent, None),
            BodyUse::Json => (json_body(&parts.headers, body).await?, None),
            BodyUse::Streamed => (RawBody::Absent, Some(body)),
        };
        let access = A::check(app, &parts).await?;
        let path = RawPathParams::from_request_parts(&mut parts, app)
            .await
            .map(|params| {
                params
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .map_err(|e| {
                // Percent-encoded bytes that are not UTF-8 (`/api/products/%FF`).
                ErrorItem::value_error(
                    vec![Value::from("path")],
                    &e.body_text(),
                    Value::from(parts.uri.path()),
                )
            });
        let mut input = RequestInput {
            headers: &parts.headers,
            path,
            query: Query::parse(parts.uri.query()),
            body: raw,
            stream,
        };
        let mut p = Problems::new();
        let value = I::parse(&mut input, &mut p);
        if !p.is_empty() {
            access.settle(app).await?;
        }
        Ok(Checked(access, p.finish(value)?))
    }
}
