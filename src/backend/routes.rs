//! The router and the handlers. Each handler follows the reference's order of checks
//! (spec 3.2): routing (404/405/307), JSON syntax, authentication (401), permission (403),
//! validation of path + query + body together (422), then the owner module (404/400/409).
//! Handlers hold no SQL and no business rules; they decode, call, encode.
//!
//! Routing rules (spec 2.3): collection paths of the CRUD resources end with `/`, every
//! other path does not; the other spelling answers 307 with a path-absolute `Location`
//! (query kept), before authentication. Unknown paths are 404 and known paths with another
//! method 405 (`Allow` lists every method), both with `{"detail": ...}`.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, RawPathParams, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::{Value, json};

use super::auth::{self, Keys};
use super::db;
use super::errors::{ApiError, detail_response, msg};
use super::export;
use super::extract::json_body;
use super::idempotency;
use super::import;
use super::movements::{self, JournalFilter};
use super::openapi;
use super::products::{self, NewProduct, ProductChange, ProductFilter};
use super::reference::{
    self, DistributionCenterChange, NewDistributionCenter, NewSource, SourceChange,
};
use super::stock::{self, MovementRequest, Posted};
use super::users::{self, NewUser, User, UserChange};
use super::validation::{ErrorItem, Problems, Query, RawBody, path_uuid};
use super::wire::PageRequest;

/// How long `/health` waits for the database.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Everything the handlers share. Cloned per request as an `Arc`.
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

pub(super) type App = Arc<AppState>;

impl AppState {
    /// The authenticated, active user of a request, or 401.
    pub(super) async fn user(&self, headers: &HeaderMap) -> Result<User, ApiError> {
        auth::current_user(&self.pool, &self.keys, headers).await
    }

    /// For read-only handlers: the user lookup and `work` (built on the same connection `conn`)
    /// go to PostgreSQL together, pipelined, in one round trip. 401 still wins over anything
    /// `work` found; with validation `problems`, only the user is looked up (401, then 422).
    pub(super) async fn read<T>(
        &self,
        conn: &db::Conn,
        email: &str,
        problems: Problems,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if !problems.is_empty() {
            auth::active_user(conn, email).await?;
            problems.check()?;
        }
        let (user, result) = tokio::join!(auth::active_user(conn, email), work);
        user?;
        result
    }

    /// The authenticated user, who must be an administrator (403 otherwise).
    pub(super) async fn admin(&self, headers: &HeaderMap) -> Result<User, ApiError> {
        let user = self.user(headers).await?;
        user.require_admin()?;
        Ok(user)
    }
}

/// Every route: path and what serves it. The same list feeds the slash-toggling fallback.
fn routes() -> Vec<(&'static str, MethodRouter<App>)> {
    vec![
        ("/health", get(health)),
        ("/health/live", get(live)),
        ("/openapi.json", get(openapi_document)),
        ("/api/openapi.json", get(openapi_document)),
        ("/api/auth/login", post(login)),
        ("/api/auth/me", get(me)),
        ("/api/auth/change-password", post(change_password)),
        ("/api/users/", get(list_users).post(create_user)),
        ("/api/users/{user_id}", get(get_user).put(update_user)),
        ("/api/sources/", get(list_sources).post(create_source)),
        (
            "/api/sources/{source_id}",
            get(get_source).put(update_source).delete(delete_source),
        ),
        ("/api/distribution-centers/", get(list_dcs).post(create_dc)),
        (
            "/api/distribution-centers/{dc_id}",
            get(get_dc).put(update_dc).delete(delete_dc),
        ),
        ("/api/products/", get(list_products).post(create_product)),
        (
            "/api/products/{product_id}",
            get(get_product).put(update_product).delete(delete_product),
        ),
        ("/api/products/{product_id}/restore", post(restore_product)),
        (
            "/api/stock/movements",
            post(post_movement).get(list_movements),
        ),
        ("/api/stock/summary", get(summary)),
        (
            "/api/import/excel",
            // The upload limit is enforced while reading the part (413 `File too large`).
            post(import_excel).layer(DefaultBodyLimit::disable()),
        ),
        ("/api/export/products.csv", get(export_products)),
        ("/api/export/movements.csv", get(export_movements)),
        ("/api/admin/ledger-check", get(ledger_check)),
    ]
    .into_iter()
    .chain(super::floor::routes())
    .collect()
}

/// Every route path (for the documentation test).
pub fn route_paths() -> Vec<&'static str> {
    routes().into_iter().map(|(path, _)| path).collect()
}

/// The route paths, for the 307 decision of the fallback.
static PATHS: LazyLock<matchit::Router<()>> = LazyLock::new(|| {
    let mut r = matchit::Router::new();
    for (path, _) in routes() {
        // The paths are fixed and distinct; a clash would be a programming error caught by
        // `every_route_is_in_the_toggle_table`.
        let _ = r.insert(path, ());
    }
    r
});

/// The application: routes, the fallback, request logging.
pub fn router(state: App) -> Router {
    let mut router = Router::new();
    for (path, method_router) in routes() {
        router = router.route(path, method_router.fallback(method_not_allowed));
    }
    router
        .fallback(not_found_or_redirect)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if status.is_server_error() {
        tracing::warn!("{method} {path} -> {status} in {:?}", started.elapsed());
    } else {
        tracing::debug!("{method} {path} -> {status} in {:?}", started.elapsed());
    }
    response
}

async fn method_not_allowed() -> Response {
    detail_response(StatusCode::METHOD_NOT_ALLOWED, msg::METHOD_NOT_ALLOWED)
}

/// The other spelling of a path: trailing slash removed if present, added if absent.
pub fn toggled_path(path: &str) -> Option<String> {
    if path == "/" {
        return None;
    }
    Some(match path.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{path}/"),
    })
}

async fn not_found_or_redirect(uri: Uri) -> Response {
    if let Some(other) = toggled_path(uri.path()) {
        if PATHS.at(&other).is_ok() {
            let location = match uri.query() {
                Some(q) => format!("{other}?{q}"),
                None => other,
            };
            if let Ok(value) = HeaderValue::from_str(&location) {
                let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
                r.headers_mut().insert(header::LOCATION, value);
                return r;
            }
        }
    }
    detail_response(StatusCode::NOT_FOUND, msg::NOT_FOUND)
}

// ---- helpers -----------------------------------------------------------------------------

pub(super) fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

pub(super) fn ok<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The one path parameter of a route, as a UUID (422 `uuid_parsing` otherwise).
fn path_id(params: &RawPathParams, p: &mut Problems) -> Option<uuid::Uuid> {
    let (name, value) = params.iter().next()?;
    path_uuid(p, name, value)
}

pub(super) type Handled = Result<Response, ApiError>;

// ---- health and docs ---------------------------------------------------------------------

/// 200 `{"status":"ok"}` when the database answers within [`HEALTH_TIMEOUT`], else 503.
async fn health(State(app): State<App>) -> Response {
    let ping = async {
        let conn = db::conn(&app.health_pool).await?;
        conn.simple_query("SELECT 1").await?;
        Ok::<(), db::DbError>(())
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, ping).await {
        Ok(Ok(())) => ok(json!({"status": "ok"})),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "detail": format!("database: {e}")})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "detail": format!("database: no answer within {HEALTH_TIMEOUT:?}")
            })),
        )
            .into_response(),
    }
}

/// 200 while the process serves requests (liveness; no database access).
async fn live() -> Response {
    ok(json!({"status": "ok"}))
}

async fn openapi_document() -> Response {
    ok(openapi::document())
}

// ---- auth and users ----------------------------------------------------------------------

#[derive(Serialize)]
struct Token {
    access_token: String,
    token_type: &'static str,
}

async fn login(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    let mut p = Problems::new();
    let credentials = parse_login(&raw, &mut p);
    let (email, password) = p.finish(credentials)?;
    let token = auth::login(&app.pool, &app.keys, &email, password).await?;
    Ok(ok(Token {
        access_token: token,
        token_type: "bearer",
    }))
}

fn parse_login(raw: &RawBody, p: &mut Problems) -> Option<(String, String)> {
    use super::validation::{Body, Text, loc};
    let b = Body::of(raw, p)?;
    let email = b.string(p, "email", Text::max(users::EMAIL_MAX));
    let email = email.and_then(|e| match users::check_email_syntax(&e) {
        Ok(address) => Some(address),
        Err(reason) => {
            p.push(users::email_problem(loc("body", "email"), &e, reason));
            None
        }
    });
    let password = b.string(p, "password", Text::FREE);
    Some((email?, password?))
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Handled {
    Ok(ok(app.user(&headers).await?))
}

async fn change_password(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    use super::validation::{Body, Text};
    let raw = json_body(&headers, body).await?;
    let user = app.user(&headers).await?;
    let mut p = Problems::new();
    let parsed = Body::of(&raw, &mut p).and_then(|b| {
        let current = b.string(&mut p, "current_password", Text::FREE);
        let new = users::new_password(&b, &mut p, "new_password");
        Some((current?, new?))
    });
    let (current, new) = p.finish(parsed)?;
    auth::change_own_password(&app.pool, &user, current, new).await?;
    Ok(no_content())
}

async fn list_users(State(app): State<App>, headers: HeaderMap) -> Handled {
    app.admin(&headers).await?;
    Ok(ok(users::list(&app.pool).await?))
}

async fn create_user(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let new = NewUser::parse(&raw, &mut p);
    let new = p.finish(new)?;
    let hash = auth::hash_password(new.password.clone()).await?;
    Ok(created(users::create(&app.pool, &new, &hash).await?))
}

async fn get_user(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    Ok(ok(users::get(&app.pool, id).await?))
}

async fn update_user(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let change = UserChange::parse(&raw, &mut p);
    let (id, change) = p.finish(id.zip(change))?;
    let hash = match &change.password {
        Some(pw) => Some(auth::hash_password(pw.clone()).await?),
        None => None,
    };
    Ok(ok(
        users::update(&app.pool, id, &change, hash.as_deref()).await?
    ))
}

// ---- sources and distribution centres ----------------------------------------------------

async fn list_sources(State(app): State<App>, headers: HeaderMap) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let conn = db::conn(&app.pool).await?;
    let list = app
        .read(
            &conn,
            &email,
            Problems::new(),
            reference::list_sources(&conn),
        )
        .await?;
    Ok(ok(list))
}

async fn create_source(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let new = NewSource::parse(&raw, &mut p);
    let new = p.finish(new)?;
    Ok(created(reference::create_source(&app.pool, &new).await?))
}

async fn get_source(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    Ok(ok(reference::get_source(&app.pool, id).await?))
}

async fn update_source(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let change = SourceChange::parse(&raw, &mut p);
    let (id, change) = p.finish(id.zip(change))?;
    Ok(ok(reference::update_source(&app.pool, id, &change).await?))
}

async fn delete_source(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
) -> Handled {
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    reference::delete_source(&app.pool, id).await?;
    Ok(no_content())
}

async fn list_dcs(State(app): State<App>, headers: HeaderMap) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let conn = db::conn(&app.pool).await?;
    let list = app
        .read(&conn, &email, Problems::new(), reference::list_dcs(&conn))
        .await?;
    Ok(ok(list))
}

async fn create_dc(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let new = NewDistributionCenter::parse(&raw, &mut p);
    let new = p.finish(new)?;
    Ok(created(reference::create_dc(&app.pool, &new).await?))
}

async fn get_dc(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    Ok(ok(reference::get_dc(&app.pool, id).await?))
}

async fn update_dc(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let change = DistributionCenterChange::parse(&raw, &mut p);
    let (id, change) = p.finish(id.zip(change))?;
    Ok(ok(reference::update_dc(&app.pool, id, &change).await?))
}

async fn delete_dc(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    reference::delete_dc(&app.pool, id).await?;
    Ok(no_content())
}

// ---- products ----------------------------------------------------------------------------

async fn list_products(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let q = Query::parse(q.as_deref());
    let mut p = Problems::new();
    let page = PageRequest::parse(&q, &mut p);
    let filter = ProductFilter::parse(&q, &mut p);
    let conn = db::conn(&app.pool).await?;
    let list = app
        .read(&conn, &email, p, products::list(&conn, &filter, page))
        .await?;
    Ok(ok(list))
}

async fn create_product(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let new = NewProduct::parse(&raw, &mut p);
    let new = p.finish(new)?;
    Ok(created(products::create(&app.pool, &new).await?))
}

async fn get_product(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p).unwrap_or_default();
    let conn = db::conn(&app.pool).await?;
    let product = app.read(&conn, &email, p, products::get(&conn, id)).await?;
    Ok(ok(product))
}

async fn update_product(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let change = ProductChange::parse(&raw, &mut p);
    let (id, change) = p.finish(id.zip(change))?;
    Ok(ok(products::update(&app.pool, id, &change).await?))
}

async fn delete_product(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
) -> Handled {
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    products::soft_delete(&app.pool, id).await?;
    Ok(no_content())
}

async fn restore_product(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
) -> Handled {
    app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_id(&params, &mut p);
    let id = p.finish(id)?;
    Ok(ok(products::restore(&app.pool, id).await?))
}

// ---- stock -------------------------------------------------------------------------------

async fn post_movement(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    let user = app.user(&headers).await?;
    let mut p = Problems::new();
    let key = match idempotency::key_from_headers(&headers) {
        Ok(k) => k,
        Err(item) => {
            p.push(item);
            None
        }
    };
    let req = MovementRequest::parse(&raw, &mut p);
    let req = p.finish(req)?;
    match stock::post_movement(&app.pool, &user, &req, key.as_deref()).await? {
        Posted::Created(m) => Ok(created(m)),
        Posted::Replayed { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            let mut r = (status, Json(body)).into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(r)
        }
    }
}

async fn list_movements(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let q = Query::parse(q.as_deref());
    let mut p = Problems::new();
    let page = PageRequest::parse(&q, &mut p);
    let filter = JournalFilter::parse(&q, &mut p);
    let conn = db::conn(&app.pool).await?;
    let list = app
        .read(
            &conn,
            &email,
            p,
            movements::list(&conn, &filter, &app.business_tz, page),
        )
        .await?;
    Ok(ok(list))
}

async fn summary(State(app): State<App>, headers: HeaderMap) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let conn = db::conn(&app.pool).await?;
    let totals = app
        .read(&conn, &email, Problems::new(), stock::summary(&conn))
        .await?;
    Ok(ok(totals))
}

async fn ledger_check(State(app): State<App>, headers: HeaderMap) -> Handled {
    app.admin(&headers).await?;
    Ok(ok(stock::ledger_check(&app.pool).await?))
}

// ---- exports -----------------------------------------------------------------------------

async fn export_products(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Handled {
    app.user(&headers).await?;
    let q = Query::parse(q.as_deref());
    let mut p = Problems::new();
    let filter = ProductFilter::parse(&q, &mut p);
    p.check()?;
    let (sql, filters) = products::export_query(&filter);
    export::csv_response(
        &app.pool,
        &sql,
        &filters,
        &products::EXPORT_HEADER,
        products::export_record,
        "products.csv",
    )
    .await
}

async fn export_movements(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Handled {
    app.user(&headers).await?;
    let q = Query::parse(q.as_deref());
    let mut p = Problems::new();
    let filter = JournalFilter::parse(&q, &mut p);
    p.check()?;
    let (sql, filters) = movements::export_query(&filter, &app.business_tz);
    export::csv_response(
        &app.pool,
        &sql,
        &filters,
        &movements::EXPORT_HEADER,
        movements::export_record,
        "movements.csv",
    )
    .await
}

// ---- import ------------------------------------------------------------------------------

async fn import_excel(State(app): State<App>, headers: HeaderMap, request: Request) -> Handled {
    let started = Instant::now();
    let user = app.user(&headers).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Multipart framing adds a little to the file itself.
    if declared.is_some_and(|n| n > app.upload_limit as u64 + 64 * 1024) {
        return Err(ApiError::detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            msg::FILE_TOO_LARGE,
        ));
    }
    let (filename, bytes) = read_upload(request, app.upload_limit).await?;
    if !import::has_excel_extension(&filename) {
        return Err(ApiError::bad_request(import::NOT_EXCEL));
    }
    let parsed = tokio::task::spawn_blocking(move || import::parse_workbook(&bytes))
        .await
        .unwrap_or_else(|e| {
            // A reader panic on a malformed file is that file's problem, not a crash.
            tracing::warn!("the workbook reader failed: {e}");
            import::ParsedSheet {
                total_rows: 0,
                rows: Vec::new(),
                errors: vec![import::RowError {
                    row_number: 0,
                    field: "file".to_owned(),
                    message: "Failed to open Excel file: the workbook cannot be read".to_owned(),
                }],
            }
        });
    Ok(ok(import::apply(&app.pool, &user, parsed, started).await?))
}

/// The `file` part of a multipart body: its file name and bytes (413 past `limit`).
async fn read_upload(request: Request, limit: usize) -> Result<(String, Vec<u8>), ApiError> {
    let missing = || {
        ApiError::invalid(ErrorItem::missing(
            vec![Value::from("body"), Value::from("file")],
            Value::Null,
        ))
    };
    let mut multipart = {
        use axum::extract::FromRequest;
        Multipart::from_request(request, &())
            .await
            .map_err(|_| missing())?
    };
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::detail(StatusCode::PAYLOAD_TOO_LARGE, msg::FILE_TOO_LARGE)
        } else {
            ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text()))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::detail(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    msg::FILE_TOO_LARGE,
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(missing())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_toggle_table() {
        let mut r = matchit::Router::new();
        for (path, _) in routes() {
            assert!(r.insert(path, ()).is_ok(), "{path}");
        }
        assert!(PATHS.at("/api/products/").is_ok());
        assert!(PATHS.at("/api/products/abc").is_ok());
        assert!(PATHS.at("/api/products").is_err());
    }

    #[test]
    fn toggling_adds_or_removes_the_slash() {
        assert_eq!(
            toggled_path("/api/products").as_deref(),
            Some("/api/products/")
        );
        assert_eq!(toggled_path("/health/").as_deref(), Some("/health"));
        assert_eq!(toggled_path("/"), None);
    }
}
