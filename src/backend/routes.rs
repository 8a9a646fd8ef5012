//! The router and the handlers, each documented where it is defined: the OpenAPI document
//! ([`document`]) and the route table are built from the same `#[utoipa::path]` annotations,
//! so a route cannot be served undocumented or documented unserved.
//!
//! A handler states what it requires in its signature ([`Checked`]`<who, input>`), and the
//! extractor runs the reference's order of checks (spec 3.2): routing (404/405/307), JSON
//! syntax, authentication (401), permission (403), validation of path + query + body together
//! (422); then the handler calls an owner module (404/400/409) and encodes. Handlers hold no
//! SQL and no business rules.
//!
//! Routing rules (spec 2.3): collection paths of the CRUD resources end with `/`, every
//! other path does not; the other spelling answers 307 with a path-absolute `Location`
//! (query kept), before authentication. Unknown paths are 404 and known paths with another
//! method 405 (`Allow` lists every method), both with `{"detail": ...}`.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{self, LoginRequest, PasswordChange};
use super::db;
use super::errors::{ApiError, ErrorDetail, ErrorItem, detail_response, msg};
use super::export;
use super::extract::{
    Admin, Anyone, Checked, ClientAddr, IdempotencyKey, JsonBody, Member, PathId, QueryOf, Reader,
    Upload, declared_length,
};
use super::import::{self, ImportResponse};
use super::movements::{self, JournalFilter, Movement};
use super::openapi::{self, UploadForm};
use super::paging::{Page, PageRequest};
use super::products::{self, NewProduct, Product, ProductChange, ProductFilter, ProductWithStock};
use super::reference::{
    self, DistributionCenter, DistributionCenterChange, Kind, NewDistributionCenter, NewSource,
    Source, SourceChange,
};
use super::state::App;
use super::stock::{self, LedgerReport, MovementRequest, Posted, Summary};
use super::users::{self, NewUser, User, UserChange};
use super::workbook::{self, Problem};

/// The five documented handlers of one kind of reference data, added to `$api`: thin
/// wrappers of the generic handlers below (the OpenAPI annotations need literal paths, so the
/// wrappers are stamped out per kind; the logic exists once).
macro_rules! reference_routes {
    ($api:expr, $kind:ident, $new:ident, $change:ident,
     $collection:literal, $item:literal, $param:literal,
     list = $list:literal, create = $create:literal, get = $get:literal,
     update = $update:literal, delete = $delete:literal,
     not_found = $not_found:literal, taken = $taken:literal) => {{
        #[utoipa::path(get, path = $collection, summary = $list, responses(
                    (status = 200, description = "Every row", body = Vec<$kind>), Reader))]
        async fn list(state: State<App>, checked: Checked<Reader>) -> Handled {
            list_reference::<$kind>(state, checked).await
        }
        #[utoipa::path(post, path = $collection, summary = $create, request_body = $new,
                    responses(
                        (status = 201, description = "Created", body = $kind),
                        (status = 400, description = $taken, body = ErrorDetail),
                        Member))]
        async fn create(state: State<App>, checked: Checked<Member, JsonBody<$new>>) -> Handled {
            create_reference::<$kind>(state, checked).await
        }
        #[utoipa::path(get, path = $item, summary = $get, params(($param = Uuid, Path)),
                    responses(
                        (status = 200, description = "The row", body = $kind),
                        (status = 404, description = $not_found, body = ErrorDetail),
                        Member))]
        async fn get(state: State<App>, checked: Checked<Member, PathId>) -> Handled {
            get_reference::<$kind>(state, checked).await
        }
        #[utoipa::path(put, path = $item, summary = $update, params(($param = Uuid, Path)),
                    request_body = $change, responses(
                        (status = 200, description = "The row", body = $kind),
                        (status = 400, description = $taken, body = ErrorDetail),
                        (status = 404, description = $not_found, body = ErrorDetail),
                        Member))]
        async fn update(
            state: State<App>,
            checked: Checked<Member, (PathId, JsonBody<$change>)>,
        ) -> Handled {
            update_reference::<$kind>(state, checked).await
        }
        #[utoipa::path(delete, path = $item, summary = $delete, params(($param = Uuid, Path)),
                    responses(
                        (status = 204, description = "Deleted"),
                        (status = 404, description = $not_found, body = ErrorDetail),
                        (status = 409, description = "Referenced by movements", body = ErrorDetail),
                        Admin))]
        async fn delete(state: State<App>, checked: Checked<Admin, PathId>) -> Handled {
            delete_reference::<$kind>(state, checked).await
        }
        $api.routes(routes!(list, create))
            .routes(routes!(get, update, delete))
    }};
}

/// How long an import waits for the one running before it (503 after).
const IMPORT_WAIT: Duration = Duration::from_secs(30);

/// How long `/health` waits for the database.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Every route with its documentation. Each `routes!` group shares one path.
pub fn api() -> OpenApiRouter<App> {
    let api = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(openapi_document))
        .routes(routes!(openapi_document_alias))
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user));
    let api = reference_routes!(
        api,
        Source,
        NewSource,
        SourceChange,
        "/api/sources/",
        "/api/sources/{source_id}",
        "source_id",
        list = "List sources",
        create = "Create a source",
        get = "Get a source",
        update = "Update a source",
        delete = "Delete a source (admin)",
        not_found = "Source not found",
        taken = "Name taken"
    );
    let api = reference_routes!(
        api,
        DistributionCenter,
        NewDistributionCenter,
        DistributionCenterChange,
        "/api/distribution-centers/",
        "/api/distribution-centers/{dc_id}",
        "dc_id",
        list = "List distribution centres",
        create = "Create a distribution centre",
        get = "Get a distribution centre",
        update = "Update a distribution centre",
        delete = "Delete a distribution centre (admin)",
        not_found = "Distribution center not found",
        taken = "Code taken"
    );
    let api = api
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, delete_product))
        .routes(routes!(restore_product))
        .routes(routes!(post_movement, list_movements))
        .routes(routes!(summary))
        .routes(routes!(import_excel))
        .routes(routes!(export_products))
        .routes(routes!(export_movements))
        .routes(routes!(ledger_check));
    // The warehouse floor (scan lookup, batch posting, stocktakes).
    super::floor::routes(api)
}

/// The OpenAPI document, as served (built once).
pub fn document() -> &'static Bytes {
    static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
        let (_, doc) = api().split_for_parts();
        openapi::render(doc)
    });
    &DOCUMENT
}

/// The application: documented routes, the other spelling of each path (307), 404/405 with
/// JSON bodies, request logging.
pub fn router(state: App) -> Router {
    let (router, doc) = api().split_for_parts();
    let mut router = router;
    for path in doc.paths.paths.keys() {
        if let Some(other) = toggled_path(path) {
            router = router.route(&other, any(redirect_to_other_spelling));
        }
    }
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // The upload limit is enforced while reading the import's part (413 `File too
        // large`); JSON bodies have their own limit (`extract::JSON_LIMIT`).
        .layer(DefaultBodyLimit::disable())
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

async fn not_found() -> Response {
    detail_response(StatusCode::NOT_FOUND, msg::NOT_FOUND)
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

/// 307 to the documented spelling of the requested path (any method, before auth).
async fn redirect_to_other_spelling(uri: Uri) -> Response {
    let Some(other) = toggled_path(uri.path()) else {
        return not_found().await;
    };
    let location = match uri.query() {
        Some(q) => format!("{other}?{q}"),
        None => other,
    };
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
            r.headers_mut().insert(header::LOCATION, value);
            r
        }
        Err(_) => not_found().await,
    }
}

// ---- helpers -----------------------------------------------------------------------------

fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

fn ok<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

type Handled = Result<Response, ApiError>;

// ---- health and docs ---------------------------------------------------------------------

/// `/health` and `/health/live` bodies.
#[derive(Serialize, ToSchema)]
#[schema(as = Health)]
struct HealthBody {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// Readiness: 200 when the database answers within a second, else 503.
#[utoipa::path(get, path = "/health", responses(
    (status = 200, description = "Ready", body = HealthBody),
    (status = 503, description = "Database unavailable", body = HealthBody),
))]
async fn health(State(app): State<App>) -> Response {
    let detail = match tokio::time::timeout(HEALTH_TIMEOUT, db::ping(&app.health_pool)).await {
        Ok(Ok(())) => {
            return ok(HealthBody {
                status: "ok",
                detail: None,
            });
        }
        Ok(Err(e)) => format!("database: {e}"),
        Err(_) => format!("database: no answer within {HEALTH_TIMEOUT:?}"),
    };
    let body = HealthBody {
        status: "unavailable",
        detail: Some(detail),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Liveness: 200 while the process serves requests (no database access).
#[utoipa::path(get, path = "/health/live", responses(
    (status = 200, description = "Alive", body = HealthBody),
))]
async fn live() -> Response {
    ok(HealthBody {
        status: "ok",
        detail: None,
    })
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses(
    (status = 200, description = "OpenAPI document", body = Object),
))]
async fn openapi_document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document().clone(),
    )
        .into_response()
}

/// This document, where the reference served it (B-29).
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "OpenAPI document", body = Object),
))]
async fn openapi_document_alias() -> Response {
    openapi_document().await
}

// ---- auth and users ----------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
struct Token {
    access_token: String,
    /// Always `bearer`.
    token_type: &'static str,
}

/// Get an access token.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, responses(
    (status = 200, description = "Token", body = Token),
    (status = 401, description = "Invalid email or password", body = ErrorDetail),
    (status = 429, description = "Too many failed logins for this account or address",
        body = ErrorDetail, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    Anyone,
))]
async fn login(
    State(app): State<App>,
    Checked(_, (ClientAddr(client), JsonBody(req))): Checked<
        Anyone,
        (ClientAddr, JsonBody<LoginRequest>),
    >,
) -> Handled {
    let token = auth::login(
        &app.pool,
        &app.keys,
        &app.throttle,
        &req.email,
        req.password,
        client,
    )
    .await?;
    Ok(ok(Token {
        access_token: token,
        token_type: "bearer",
    }))
}

/// The current user.
#[utoipa::path(get, path = "/api/auth/me", responses(
    (status = 200, description = "User", body = User), Member,
))]
async fn me(Checked(Member(user), ()): Checked<Member>) -> Handled {
    Ok(ok(user))
}

/// Change one's own password.
#[utoipa::path(post, path = "/api/auth/change-password", request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Current password is incorrect", body = ErrorDetail),
        Member,
    ))]
async fn change_password(
    State(app): State<App>,
    Checked(Member(user), JsonBody(change)): Checked<Member, JsonBody<PasswordChange>>,
) -> Handled {
    auth::change_own_password(
        &app.pool,
        &user,
        change.current_password,
        change.new_password,
    )
    .await?;
    Ok(no_content())
}

/// List users (admin).
#[utoipa::path(get, path = "/api/users/", responses(
    (status = 200, description = "Users", body = Vec<User>), Admin,
))]
async fn list_users(State(app): State<App>, _: Checked<Admin>) -> Handled {
    Ok(ok(users::list(&app.pool).await?))
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/users/", request_body = NewUser, responses(
    (status = 201, description = "Created", body = User),
    (status = 400, description = "E-mail taken", body = ErrorDetail),
    Admin,
))]
async fn create_user(
    State(app): State<App>,
    Checked(_, JsonBody(new)): Checked<Admin, JsonBody<NewUser>>,
) -> Handled {
    let hash = auth::hash_password(new.password.clone()).await?;
    Ok(created(users::create(&app.pool, &new, &hash).await?))
}

/// Get a user (admin).
#[utoipa::path(get, path = "/api/users/{user_id}", params(("user_id" = Uuid, Path)),
    responses(
        (status = 200, description = "User", body = User),
        (status = 404, description = "User not found", body = ErrorDetail),
        Admin,
    ))]
async fn get_user(
    State(app): State<App>,
    Checked(_, PathId(id)): Checked<Admin, PathId>,
) -> Handled {
    Ok(ok(users::get(&app.pool, id).await?))
}

/// Change a user's role, activity or password (admin).
#[utoipa::path(put, path = "/api/users/{user_id}", params(("user_id" = Uuid, Path)),
    request_body = UserChange, responses(
        (status = 200, description = "User", body = User),
        (status = 400, description = "Last active admin", body = ErrorDetail),
        (status = 404, description = "User not found", body = ErrorDetail),
        Admin,
    ))]
async fn update_user(
    State(app): State<App>,
    Checked(_, (PathId(id), JsonBody(change))): Checked<Admin, (PathId, JsonBody<UserChange>)>,
) -> Handled {
    let hash = match &change.password {
        Some(pw) => Some(auth::hash_password(pw.clone()).await?),
        None => None,
    };
    Ok(ok(
        users::update(&app.pool, id, &change, hash.as_deref()).await?
    ))
}

// ---- sources and distribution centres ----------------------------------------------------

async fn list_reference<K: Kind>(
    State(app): State<App>,
    Checked(reader, ()): Checked<Reader>,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    Ok(ok(reader.read(&conn, reference::list::<K>(&conn)).await?))
}

async fn create_reference<K: Kind>(
    State(app): State<App>,
    Checked(_, JsonBody(new)): Checked<Member, JsonBody<K::New>>,
) -> Handled {
    Ok(created(reference::create::<K>(&app.pool, &new).await?))
}

async fn get_reference<K: Kind>(
    State(app): State<App>,
    Checked(_, PathId(id)): Checked<Member, PathId>,
) -> Handled {
    Ok(ok(reference::get::<K>(&app.pool, id).await?))
}

async fn update_reference<K: Kind>(
    State(app): State<App>,
    Checked(_, (PathId(id), JsonBody(change))): Checked<Member, (PathId, JsonBody<K::Change>)>,
) -> Handled {
    Ok(ok(reference::update::<K>(&app.pool, id, &change).await?))
}

async fn delete_reference<K: Kind>(
    State(app): State<App>,
    Checked(_, PathId(id)): Checked<Admin, PathId>,
) -> Handled {
    reference::delete::<K>(&app.pool, id).await?;
    Ok(no_content())
}

// ---- products ----------------------------------------------------------------------------

/// List products with balances, newest first.
#[utoipa::path(get, path = "/api/products/", params(PageRequest, ProductFilter), responses(
    (status = 200, description = "Page", body = Page<ProductWithStock>), Reader,
))]
async fn list_products(
    State(app): State<App>,
    Checked(reader, (QueryOf(page), QueryOf(filter))): Checked<
        Reader,
        (QueryOf<PageRequest>, QueryOf<ProductFilter>),
    >,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    let list = reader
        .read(&conn, products::list(&conn, &filter, page))
        .await?;
    Ok(ok(list))
}

/// Create a product.
#[utoipa::path(post, path = "/api/products/", request_body = NewProduct, responses(
    (status = 201, description = "Created", body = Product),
    (status = 400, description = "Barcode or GTIN taken", body = ErrorDetail),
    Member,
))]
async fn create_product(
    State(app): State<App>,
    Checked(_, JsonBody(new)): Checked<Member, JsonBody<NewProduct>>,
) -> Handled {
    Ok(created(products::create(&app.pool, &new).await?))
}

/// Get a product with balances.
#[utoipa::path(get, path = "/api/products/{product_id}", params(("product_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Product", body = ProductWithStock),
        (status = 404, description = "Product not found", body = ErrorDetail),
        Reader,
    ))]
async fn get_product(
    State(app): State<App>,
    Checked(reader, PathId(id)): Checked<Reader, PathId>,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    Ok(ok(reader.read(&conn, products::get(&conn, id)).await?))
}

/// Update a product.
#[utoipa::path(put, path = "/api/products/{product_id}", params(("product_id" = Uuid, Path)),
    request_body = ProductChange, responses(
        (status = 200, description = "Product", body = Product),
        (status = 400, description = "Barcode or GTIN taken", body = ErrorDetail),
        (status = 404, description = "Product not found", body = ErrorDetail),
        Member,
    ))]
async fn update_product(
    State(app): State<App>,
    Checked(_, (PathId(id), JsonBody(change))): Checked<Member, (PathId, JsonBody<ProductChange>)>,
) -> Handled {
    Ok(ok(products::update(&app.pool, id, &change).await?))
}

/// Soft-delete a product (admin).
#[utoipa::path(delete, path = "/api/products/{product_id}", params(("product_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Product not found", body = ErrorDetail),
        Admin,
    ))]
async fn delete_product(
    State(app): State<App>,
    Checked(_, PathId(id)): Checked<Admin, PathId>,
) -> Handled {
    products::soft_delete(&app.pool, id).await?;
    Ok(no_content())
}

/// Restore a soft-deleted product (admin).
#[utoipa::path(post, path = "/api/products/{product_id}/restore",
    params(("product_id" = Uuid, Path)), responses(
        (status = 200, description = "Product", body = Product),
        (status = 404, description = "Product not found", body = ErrorDetail),
        Admin,
    ))]
async fn restore_product(
    State(app): State<App>,
    Checked(_, PathId(id)): Checked<Admin, PathId>,
) -> Handled {
    Ok(ok(products::restore(&app.pool, id).await?))
}

// ---- stock -------------------------------------------------------------------------------

/// Execute a stock operation.
#[utoipa::path(post, path = "/api/stock/movements",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
        description = "Retries with the same key (per user, kept 24 h) return the first \
                       response and move stock once.")),
    request_body = MovementRequest, responses(
        (status = 201, description = "Movement", body = Movement),
        (status = 400, description = "Insufficient stock or overflow", body = ErrorDetail),
        (status = 404, description = "Product, source or DC not found", body = ErrorDetail),
        Member,
    ))]
async fn post_movement(
    State(app): State<App>,
    Checked(Member(user), (IdempotencyKey(key), JsonBody(req))): Checked<
        Member,
        (IdempotencyKey, JsonBody<MovementRequest>),
    >,
) -> Handled {
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

/// The movement journal, newest first.
#[utoipa::path(get, path = "/api/stock/movements", params(PageRequest, JournalFilter),
    responses((status = 200, description = "Page", body = Page<Movement>), Reader))]
async fn list_movements(
    State(app): State<App>,
    Checked(reader, (QueryOf(page), QueryOf(filter))): Checked<
        Reader,
        (QueryOf<PageRequest>, QueryOf<JournalFilter>),
    >,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    let list = reader
        .read(
            &conn,
            movements::list(&conn, &filter, &app.business_tz, page),
        )
        .await?;
    Ok(ok(list))
}

/// Totals over non-deleted products.
#[utoipa::path(get, path = "/api/stock/summary", responses(
    (status = 200, description = "Summary", body = Summary), Reader,
))]
async fn summary(State(app): State<App>, Checked(reader, ()): Checked<Reader>) -> Handled {
    let conn = db::conn(&app.pool).await?;
    Ok(ok(reader.read(&conn, stock::summary(&conn)).await?))
}

/// Products whose balances differ from their journal (admin).
#[utoipa::path(get, path = "/api/admin/ledger-check", responses(
    (status = 200, description = "Report", body = LedgerReport), Admin,
))]
async fn ledger_check(State(app): State<App>, _: Checked<Admin>) -> Handled {
    Ok(ok(stock::ledger_check(&app.pool).await?))
}

// ---- exports -----------------------------------------------------------------------------

/// Products with balances as CSV (the list's filters, every page).
#[utoipa::path(get, path = "/api/export/products.csv", params(ProductFilter), responses(
    (status = 200, description = "CSV", content_type = "text/csv", body = String), Member,
))]
async fn export_products(
    State(app): State<App>,
    Checked(_, QueryOf(filter)): Checked<Member, QueryOf<ProductFilter>>,
) -> Handled {
    let (sql, filters) = products::export_query(&filter);
    export::csv_response(&app.pool, &sql, &filters, &products::EXPORT).await
}

/// The movement journal as CSV (the journal's filters, every page).
#[utoipa::path(get, path = "/api/export/movements.csv", params(JournalFilter), responses(
    (status = 200, description = "CSV", content_type = "text/csv", body = String), Member,
))]
async fn export_movements(
    State(app): State<App>,
    Checked(_, QueryOf(filter)): Checked<Member, QueryOf<JournalFilter>>,
) -> Handled {
    let (sql, filters) = movements::export_query(&filter, &app.business_tz);
    export::csv_response(&app.pool, &sql, &filters, &movements::EXPORT).await
}

// ---- import ------------------------------------------------------------------------------

/// Import products and balances from an Excel file (.xlsx or .xls).
#[utoipa::path(post, path = "/api/import/excel",
    request_body(content = UploadForm, content_type = "multipart/form-data"), responses(
        (status = 200, description = "Result (row errors inside)", body = ImportResponse),
        (status = 400, description = "Not an Excel file name", body = ErrorDetail),
        (status = 413, description = "File too large, or the workbook over a limit",
            body = ErrorDetail),
        (status = 503, description = "Another import is in progress", body = ErrorDetail),
        Member,
    ))]
async fn import_excel(
    State(app): State<App>,
    Checked(Member(user), Upload(request)): Checked<Member, Upload>,
) -> Handled {
    let started = Instant::now();
    // Multipart framing adds a little to the file itself.
    let framed_limit = app.upload_limit as u64 + 64 * 1024;
    let declared = declared_length(request.headers());
    if declared.is_some_and(|n| n > framed_limit) {
        return Err(ApiError::detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            msg::FILE_TOO_LARGE,
        ));
    }
    // One import at a time, from the upload on: the memory bound holds for the process.
    let _permit = tokio::time::timeout(IMPORT_WAIT, app.imports.acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Another import is in progress; try again in a moment",
            )
        })?;
    let (filename, bytes) = read_upload(request, app.upload_limit, declared).await?;
    if !import::has_excel_extension(&filename) {
        return Err(ApiError::bad_request(import::NOT_EXCEL));
    }
    let limits = workbook::LIMITS;
    let parsed = tokio::task::spawn_blocking(move || import::parse_workbook(bytes, &limits))
        .await
        .unwrap_or_else(|e| {
            // A reader panic on a malformed file is that file's problem, not a crash.
            tracing::warn!("the workbook reader failed: {e}");
            Ok(import::unreadable())
        });
    // The reader ran on a blocking-pool thread, whose allocator arena the request's thread
    // would not reuse: without this the import's peak would be the reader's plus the
    // database work's.
    crate::resident::release_free_heap();
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(Problem::TooLarge(limit)) => {
            return Err(ApiError::detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The workbook is too large: {limit}"),
            ));
        }
        Err(Problem::Refused(why) | Problem::Unreadable(why)) => {
            return Err(ApiError::detail(StatusCode::UNPROCESSABLE_ENTITY, why));
        }
    };
    Ok(ok(import::apply(&app.pool, &user, parsed, started).await?))
}

/// The `file` part of a multipart body: its file name and bytes (413 past `limit`). The
/// buffer is sized from the declared body length up front, so it is never reallocated.
async fn read_upload(
    request: Request,
    limit: usize,
    declared: Option<u64>,
) -> Result<(String, Vec<u8>), ApiError> {
    let missing = || {
        ApiError::invalid(ErrorItem::missing(
            vec![Value::from("body"), Value::from("file")],
            Value::Null,
        ))
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| missing())?;
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
        let expected = declared.map_or(0, |n| n.min(limit as u64) as usize);
        let mut bytes = Vec::with_capacity(expected);
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
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Method;
    use tower::ServiceExt;

    use super::*;
    use crate::backend::auth::Keys;
    use crate::backend::state::AppState;

    #[test]
    fn toggling_adds_or_removes_the_slash() {
        assert_eq!(
            toggled_path("/api/products").as_deref(),
            Some("/api/products/")
        );
        assert_eq!(toggled_path("/health/").as_deref(), Some("/health"));
        assert_eq!(toggled_path("/"), None);
    }

    /// A router whose database does not exist: every check before the database still runs.
    fn offline_router() -> Router {
        let config =
            db::parse_database_url("host=/nonexistent/wms user=wms dbname=wms").expect("test URL");
        let state = AppState {
            pool: db::pool(config.clone(), 1).expect("pool"),
            health_pool: db::pool(config, 1).expect("pool"),
            keys: Keys::new(b"test-secret", Duration::from_secs(60)),
            business_tz: "UTC".to_owned(),
            upload_limit: 1024,
            throttle: Default::default(),
            trusted_proxies: Default::default(),
            imports: tokio::sync::Semaphore::new(1),
        };
        router(Arc::new(state))
    }

    async fn status(router: &Router, method: &Method, path: &str) -> (StatusCode, Response) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        (response.status(), response)
    }

    /// Every documented operation is served, and on every documented path the router
    /// answers no other method (405 with `Allow` naming exactly the documented ones); the
    /// other spelling of each path redirects to it. The router is built from the same
    /// annotations, so a route can only be added undocumented by bypassing `api()`.
    #[tokio::test]
    async fn the_router_serves_exactly_what_the_document_lists() {
        let router = offline_router();
        let doc: serde_json::Value = serde_json::from_slice(document()).expect("JSON");
        let paths = doc["paths"].as_object().expect("paths");
        // 22 of the reference and our extensions, 8 of the warehouse floor.
        assert_eq!(paths.len(), 30, "{:?}", paths.keys().collect::<Vec<_>>());
        let all = ["get", "put", "post", "delete", "patch"];
        for (path, item) in paths {
            let concrete = path
                .replace("{user_id}", "00000000-0000-0000-0000-000000000001")
                .replace("{source_id}", "x")
                .replace("{dc_id}", "x")
                .replace("{product_id}", "x")
                .replace("{stocktake_id}", "x")
                .replace("{code}", "4600000000015");
            let documented: Vec<&str> = all
                .iter()
                .copied()
                .filter(|m| item.get(*m).is_some())
                .collect();
            assert!(!documented.is_empty(), "{path}");
            for method in all {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let (code, response) = status(&router, &m, &concrete).await;
                if documented.contains(&method) {
                    assert!(
                        ![404, 405, 307].contains(&code.as_u16()),
                        "{method} {path}: {code}"
                    );
                    let id = item[method]["operationId"].as_str().unwrap_or_default();
                    assert_eq!(id, openapi::operation_id(method, path));
                } else {
                    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                    let allow = response.headers()[header::ALLOW].to_str().expect("Allow");
                    for d in &documented {
                        assert!(allow.contains(&d.to_uppercase()), "{path}: {allow}");
                    }
                }
            }
            let other = toggled_path(&concrete).expect("toggle");
            let (code, response) = status(&router, &Method::GET, &other).await;
            assert_eq!(code, StatusCode::TEMPORARY_REDIRECT, "{other}");
            assert_eq!(response.headers()[header::LOCATION], concrete.as_str());
        }
        let (code, _) = status(&router, &Method::GET, "/api/nothing-here").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
    }

    #[test]
    fn callers_that_need_a_token_are_documented_with_the_bearer_scheme() {
        let doc: serde_json::Value = serde_json::from_slice(document()).expect("JSON");
        let login = &doc["paths"]["/api/auth/login"]["post"];
        assert!(login.get("security").is_none());
        let delete = &doc["paths"]["/api/products/{product_id}"]["delete"];
        assert_eq!(delete["security"][0]["HTTPBearer"], serde_json::json!([]));
        assert!(delete["responses"]["403"].is_object());
        assert!(doc["components"]["securitySchemes"]["HTTPBearer"].is_object());
        assert_eq!(doc["info"]["title"], "WMS Marketplace");
    }
}
