//! The warehouse floor's HTTP side (issue 19, docs/floor-api.md): the scanned-code lookup,
//! batch posting and stocktakes. Thin handlers in the style of [`super::routes`] — each
//! states its caller and input ([`Checked`]) and is documented where it is defined — and
//! [`routes`], which adds them to the router and the OpenAPI document. No SQL and no
//! business rules: [`super::products`], [`super::batch`] and [`super::stocktake`] own those.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::batch::{self, BatchPosted, BatchPostedBody, BatchRequest, LineRefusals};
use super::db;
use super::errors::{ApiError, ErrorDetail, msg};
use super::extract::{
    Admin, Checked, IdempotencyKey, JsonBody, Member, PathId, PathIds, PathText, QueryOf, Reader,
};
use super::paging::{Page, PageRequest};
use super::products::{self, CODE_MAX, ProductWithStock};
use super::state::App;
use super::stocktake::{
    self, Approval, Approved, Count, NewStocktake, Scan, Stocktake, StocktakeDetail,
    StocktakeFilter, StocktakeLine,
};

type Handled = Result<Response, ApiError>;

fn ok<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}

fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

fn refused(refusals: Vec<batch::LineRefusal>, lines: usize) -> Response {
    (
        StatusCode::CONFLICT,
        Json(LineRefusals::new(refusals, lines)),
    )
        .into_response()
}

/// Adds the floor's documented routes to `api`.
pub fn routes(api: OpenApiRouter<App>) -> OpenApiRouter<App> {
    api.routes(routes!(product_by_code))
        .routes(routes!(post_batch))
        .routes(routes!(list_stocktakes, create_stocktake))
        .routes(routes!(get_stocktake))
        .routes(routes!(count_line))
        .routes(routes!(scan_line))
        .routes(routes!(approve_stocktake))
        .routes(routes!(cancel_stocktake))
}

// ---- lookup ------------------------------------------------------------------------------

/// The product a scanned code names: its barcode, else its GTIN as sent or padded to 14 digits.
#[utoipa::path(get, path = "/api/products/by-barcode/{code}",
    params(("code" = String, Path, min_length = 1, max_length = 100)),
    responses(
        (status = 200, description = "Product", body = ProductWithStock),
        (status = 404, description = "Product not found", body = ErrorDetail),
        Reader,
    ))]
async fn product_by_code(
    State(app): State<App>,
    Checked(reader, PathText(code)): Checked<Reader, PathText<CODE_MAX>>,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    match reader
        .read(&conn, products::find_by_code(&conn, &code))
        .await?
    {
        Some(product) => Ok(ok(product)),
        None => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
    }
}

// ---- batch -------------------------------------------------------------------------------

/// Post one operation for many products, all or nothing (a scan session).
#[utoipa::path(post, path = "/api/stock/movements/batch",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
        description = "Retries with the same key (per user, kept 24 h) return the first \
                       response and post once.")),
    request_body = BatchRequest, responses(
        (status = 201, description = "One movement per line, in request order", body = BatchPostedBody),
        (status = 404, description = "Source or DC not found", body = ErrorDetail),
        (status = 409, description = "Refused lines; nothing was posted", body = LineRefusals),
        Member,
    ))]
async fn post_batch(
    State(app): State<App>,
    Checked(Member(user), (IdempotencyKey(key), JsonBody(req))): Checked<
        Member,
        (IdempotencyKey, JsonBody<BatchRequest>),
    >,
) -> Handled {
    match batch::post(&app.pool, &user, &req, key.as_deref()).await? {
        BatchPosted::Created(movements) => Ok(created(BatchPostedBody { movements })),
        BatchPosted::Replayed { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            let mut r = (status, Json(body)).into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(r)
        }
        BatchPosted::Refused(refusals) => Ok(refused(refusals, req.lines.len())),
    }
}

// ---- stocktakes --------------------------------------------------------------------------

/// List stocktakes, newest first.
#[utoipa::path(get, path = "/api/stocktakes", params(PageRequest, StocktakeFilter), responses(
    (status = 200, description = "Page", body = Page<Stocktake>), Reader,
))]
async fn list_stocktakes(
    State(app): State<App>,
    Checked(reader, (QueryOf(page), QueryOf(filter))): Checked<
        Reader,
        (QueryOf<PageRequest>, QueryOf<StocktakeFilter>),
    >,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    let list = reader
        .read(&conn, stocktake::list(&conn, &filter, page))
        .await?;
    Ok(ok(list))
}

/// Start a stocktake: the expected balances are frozen now.
#[utoipa::path(post, path = "/api/stocktakes", request_body = NewStocktake, responses(
    (status = 201, description = "Started", body = Stocktake),
    (status = 404, description = "Product not found", body = ErrorDetail),
    Member,
))]
async fn create_stocktake(
    State(app): State<App>,
    Checked(Member(user), JsonBody(new)): Checked<Member, JsonBody<NewStocktake>>,
) -> Handled {
    Ok(created(stocktake::create(&app.pool, &user, &new).await?))
}

/// A stocktake with its lines.
#[utoipa::path(get, path = "/api/stocktakes/{stocktake_id}",
    params(("stocktake_id" = Uuid, Path)), responses(
        (status = 200, description = "Stocktake", body = StocktakeDetail),
        (status = 404, description = "Stocktake not found", body = ErrorDetail),
        Reader,
    ))]
async fn get_stocktake(
    State(app): State<App>,
    Checked(reader, PathId(id)): Checked<Reader, PathId>,
) -> Handled {
    let conn = db::conn(&app.pool).await?;
    Ok(ok(reader.read(&conn, stocktake::get(&conn, id)).await?))
}

/// Set a line's counts.
#[utoipa::path(put, path = "/api/stocktakes/{stocktake_id}/lines/{product_id}",
    params(("stocktake_id" = Uuid, Path), ("product_id" = Uuid, Path)),
    request_body = Count, responses(
        (status = 200, description = "Line", body = StocktakeLine),
        (status = 404, description = "Stocktake not found, or product not part of it", body = ErrorDetail),
        (status = 409, description = "Stocktake is not open", body = ErrorDetail),
        Member,
    ))]
async fn count_line(
    State(app): State<App>,
    Checked(_, (PathIds([id, product_id]), JsonBody(count))): Checked<
        Member,
        (PathIds<2>, JsonBody<Count>),
    >,
) -> Handled {
    Ok(ok(
        stocktake::set_count(&app.pool, id, product_id, count).await?
    ))
}

/// Add a scanned unit to a line's count.
#[utoipa::path(post, path = "/api/stocktakes/{stocktake_id}/scan",
    params(("stocktake_id" = Uuid, Path)), request_body = Scan, responses(
        (status = 200, description = "Line", body = StocktakeLine),
        (status = 400, description = "Count exceeds the maximum", body = ErrorDetail),
        (status = 404, description = "Stocktake or product not found, or product not part of it", body = ErrorDetail),
        (status = 409, description = "Stocktake is not open", body = ErrorDetail),
        Member,
    ))]
async fn scan_line(
    State(app): State<App>,
    Checked(_, (PathId(id), JsonBody(scan))): Checked<Member, (PathId, JsonBody<Scan>)>,
) -> Handled {
    Ok(ok(stocktake::scan(&app.pool, id, &scan).await?))
}

/// Post the differences and close the stocktake (admin).
#[utoipa::path(post, path = "/api/stocktakes/{stocktake_id}/approve",
    params(("stocktake_id" = Uuid, Path)), request_body = Approval, responses(
        (status = 200, description = "Approved", body = Stocktake),
        (status = 404, description = "Stocktake not found", body = ErrorDetail),
        (status = 409, description = "Stocktake is not open, or lines would make a balance negative", body = LineRefusals),
        Admin,
    ))]
async fn approve_stocktake(
    State(app): State<App>,
    Checked(Admin(user), (PathId(id), JsonBody(approval))): Checked<
        Admin,
        (PathId, JsonBody<Approval>),
    >,
) -> Handled {
    match stocktake::approve(&app.pool, &user, id, &approval.reason).await? {
        Approved::Done(stocktake) => Ok(ok(stocktake)),
        Approved::Refused { refusals, lines } => Ok(refused(refusals, lines)),
    }
}

/// Close without posting (admin or the creator).
#[utoipa::path(post, path = "/api/stocktakes/{stocktake_id}/cancel",
    params(("stocktake_id" = Uuid, Path)), responses(
        (status = 200, description = "Cancelled", body = Stocktake),
        (status = 403, description = "Neither an admin nor the creator", body = ErrorDetail),
        (status = 404, description = "Stocktake not found", body = ErrorDetail),
        (status = 409, description = "Stocktake is not open", body = ErrorDetail),
        Member,
    ))]
async fn cancel_stocktake(
    State(app): State<App>,
    Checked(Member(user), PathId(id)): Checked<Member, PathId>,
) -> Handled {
    Ok(ok(stocktake::cancel(&app.pool, &user, id).await?))
}
