//! The warehouse floor's HTTP side (issue 19, docs/floor-api.md): the scanned-code lookup,
//! batch posting and stocktakes. Thin handlers in the style of [`super::routes`] (the same
//! order of checks: JSON syntax, 401, 403, 422, then the owner module), their routes, and
//! their OpenAPI paths and schemas. No SQL and no business rules: [`super::products`],
//! [`super::batch`] and [`super::stocktake`] own those.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth;
use super::batch::{self, BatchPosted, BatchRequest};
use super::db;
use super::errors::{ApiError, msg};
use super::extract::json_body;
use super::idempotency;
use super::products;
use super::routes::{App, Handled, created, ok};
use super::stocktake::{self, Approved, Count, NewStocktake, Scan, StocktakeFilter};
use super::validation::{Problems, Query, Text, check_text, path_uuid};
use super::wire::PageRequest;

/// The floor's routes (merged into the router's table by [`super::routes`]).
pub fn routes() -> Vec<(&'static str, MethodRouter<App>)> {
    vec![
        ("/api/products/by-barcode/{code}", get(product_by_code)),
        ("/api/stock/movements/batch", post(post_batch)),
        (
            "/api/stocktakes",
            get(list_stocktakes).post(create_stocktake),
        ),
        ("/api/stocktakes/{stocktake_id}", get(get_stocktake)),
        (
            "/api/stocktakes/{stocktake_id}/lines/{product_id}",
            put(count_line),
        ),
        ("/api/stocktakes/{stocktake_id}/scan", post(scan_line)),
        ("/api/stocktakes/{stocktake_id}/approve", post(approve)),
        ("/api/stocktakes/{stocktake_id}/cancel", post(cancel)),
    ]
}

/// The path parameter `name` as a UUID (422 `uuid_parsing` otherwise).
fn path_param(params: &RawPathParams, name: &str, p: &mut Problems) -> Option<Uuid> {
    let (_, value) = params.iter().find(|(n, _)| *n == name)?;
    path_uuid(p, name, value)
}

fn refused(refusals: &[batch::LineRefusal], lines: usize) -> Response {
    (
        StatusCode::CONFLICT,
        Json(batch::refusal_body(refusals, lines)),
    )
        .into_response()
}

// ---- lookup ------------------------------------------------------------------------------

async fn product_by_code(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let mut p = Problems::new();
    let raw = params.iter().next().map(|(_, v)| v).unwrap_or_default();
    let code = match check_text(
        vec![Value::from("path"), Value::from("code")],
        raw,
        Text::name(products::CODE_MAX),
    ) {
        Ok(code) => code,
        Err(item) => {
            p.push(item);
            String::new()
        }
    };
    let conn = db::conn(&app.pool).await?;
    let found = app
        .read(&conn, &email, p, products::find_by_code(&conn, &code))
        .await?;
    match found {
        Some(product) => Ok(ok(product)),
        None => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
    }
}

// ---- batch -------------------------------------------------------------------------------

async fn post_batch(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
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
    let req = BatchRequest::parse(&raw, &mut p);
    let req = p.finish(req)?;
    match batch::post(&app.pool, &user, &req, key.as_deref()).await? {
        BatchPosted::Created(movements) => Ok(created(json!({ "movements": movements }))),
        BatchPosted::Replayed { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            let mut r = (status, Json(body)).into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(r)
        }
        BatchPosted::Refused(refusals) => Ok(refused(&refusals, req.lines.len())),
    }
}

// ---- stocktakes --------------------------------------------------------------------------

async fn create_stocktake(State(app): State<App>, headers: HeaderMap, body: Body) -> Handled {
    let raw = json_body(&headers, body).await?;
    let user = app.user(&headers).await?;
    let mut p = Problems::new();
    let new = NewStocktake::parse(&raw, &mut p);
    let new = p.finish(new)?;
    Ok(created(stocktake::create(&app.pool, &user, &new).await?))
}

async fn list_stocktakes(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let q = Query::parse(q.as_deref());
    let mut p = Problems::new();
    let page = PageRequest::parse(&q, &mut p);
    let filter = StocktakeFilter::parse(&q, &mut p);
    let conn = db::conn(&app.pool).await?;
    let list = app
        .read(&conn, &email, p, stocktake::list(&conn, &filter, page))
        .await?;
    Ok(ok(list))
}

async fn get_stocktake(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
) -> Handled {
    let email = auth::token_subject(&app.keys, &headers)?;
    let mut p = Problems::new();
    let id = path_param(&params, "stocktake_id", &mut p).unwrap_or_default();
    let conn = db::conn(&app.pool).await?;
    Ok(ok(app
        .read(&conn, &email, p, stocktake::get(&conn, id))
        .await?))
}

async fn count_line(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_param(&params, "stocktake_id", &mut p);
    let product_id = path_param(&params, "product_id", &mut p);
    let count = Count::parse(&raw, &mut p);
    let ((id, product_id), count) = p.finish(id.zip(product_id).zip(count))?;
    Ok(ok(
        stocktake::set_count(&app.pool, id, product_id, count).await?
    ))
}

async fn scan_line(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_param(&params, "stocktake_id", &mut p);
    let scan = Scan::parse(&raw, &mut p);
    let (id, scan) = p.finish(id.zip(scan))?;
    Ok(ok(stocktake::scan(&app.pool, id, &scan).await?))
}

async fn approve(
    State(app): State<App>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Body,
) -> Handled {
    let raw = json_body(&headers, body).await?;
    let user = app.admin(&headers).await?;
    let mut p = Problems::new();
    let id = path_param(&params, "stocktake_id", &mut p);
    let reason = stocktake::parse_reason(&raw, &mut p);
    let (id, reason) = p.finish(id.zip(reason))?;
    match stocktake::approve(&app.pool, &user, id, &reason).await? {
        Approved::Done(stocktake) => Ok(ok(stocktake)),
        Approved::Refused { refusals, lines } => Ok(refused(&refusals, lines)),
    }
}

async fn cancel(State(app): State<App>, headers: HeaderMap, params: RawPathParams) -> Handled {
    let user = app.user(&headers).await?;
    let mut p = Problems::new();
    let id = path_param(&params, "stocktake_id", &mut p);
    let id = p.finish(id)?;
    Ok(ok(stocktake::cancel(&app.pool, &user, id).await?))
}

// ---- OpenAPI -----------------------------------------------------------------------------

/// The floor's OpenAPI paths and schemas, merged into [`super::openapi::document`].
pub mod doc {
    use serde_json::{Value, json};

    use crate::backend::openapi::{
        idempotency_header, nullable, op, page_params, query, resp, schema_ref, timestamp, uuid,
    };

    fn path_params(names: &[&str]) -> Value {
        names
            .iter()
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": uuid() }))
            .collect()
    }

    /// `op` with a 409 whose body lists the refused lines.
    fn with_refusals(mut operation: Value, what: &str) -> Value {
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            responses.insert("409".into(), resp(what, schema_ref("LineRefusals")));
        }
        operation
    }

    pub fn paths() -> Vec<(&'static str, Value)> {
        let stocktake = || resp("Stocktake", schema_ref("Stocktake"));
        let line = || resp("Line", schema_ref("StocktakeLine"));
        let id = || path_params(&["stocktake_id"]);
        let mut list_params = page_params();
        list_params.push(query(
            "status",
            json!({"type": "string", "enum": ["open", "approved", "cancelled"]}),
        ));
        vec![
            (
                "/api/products/by-barcode/{code}",
                json!({ "get": op(
                    "The product a scanned code names (barcode, or GTIN as is or padded to 14 digits)",
                    json!([{ "name": "code", "in": "path", "required": true,
                             "schema": {"type": "string", "minLength": 1, "maxLength": 100} }]),
                    None, "200", resp("Product", schema_ref("ProductWithStock")),
                    &[("404", "Product not found")]) }),
            ),
            (
                "/api/stock/movements/batch",
                json!({ "post": with_refusals(op(
                    "Post one operation for many products, all or nothing (a scan session)",
                    idempotency_header(), Some(schema_ref("BatchCreate")), "201",
                    resp("Movements, one per line", schema_ref("BatchPosted")),
                    &[("404", "Source or DC not found")]),
                    "Refused lines; nothing was posted") }),
            ),
            (
                "/api/stocktakes",
                json!({
                    "get": op("List stocktakes, newest first", Value::Array(list_params), None, "200",
                        resp("Page", schema_ref("StocktakePage")), &[]),
                    "post": op("Start a stocktake: expected balances are frozen now", json!([]),
                        Some(schema_ref("StocktakeCreate")), "201", stocktake(),
                        &[("404", "Product not found")]),
                }),
            ),
            (
                "/api/stocktakes/{stocktake_id}",
                json!({ "get": op("A stocktake with its lines", id(), None, "200",
                    resp("Stocktake", schema_ref("StocktakeDetail")),
                    &[("404", "Stocktake not found")]) }),
            ),
            (
                "/api/stocktakes/{stocktake_id}/lines/{product_id}",
                json!({ "put": op("Set a line's counts", path_params(&["stocktake_id", "product_id"]),
                    Some(schema_ref("StocktakeCount")), "200", line(),
                    &[("404", "Stocktake not found, or product not part of it"), ("409", "Stocktake is not open")]) }),
            ),
            (
                "/api/stocktakes/{stocktake_id}/scan",
                json!({ "post": op("Add a scanned unit to a line's count", id(),
                    Some(schema_ref("StocktakeScan")), "200", line(),
                    &[("400", "Count exceeds the maximum"),
                      ("404", "Stocktake or product not found, or product not part of it"),
                      ("409", "Stocktake is not open")]) }),
            ),
            (
                "/api/stocktakes/{stocktake_id}/approve",
                json!({ "post": with_refusals(op("Post the differences and close the stocktake (admin)", id(),
                    Some(schema_ref("StocktakeApprove")), "200", stocktake(),
                    &[("403", "Not an admin"), ("404", "Stocktake not found")]),
                    "Stocktake is not open, or lines would make a balance negative") }),
            ),
            (
                "/api/stocktakes/{stocktake_id}/cancel",
                json!({ "post": op("Close without posting (admin or the creator)", id(), None, "200",
                    stocktake(), &[("403", "Neither an admin nor the creator"), ("404", "Stocktake not found"),
                                   ("409", "Stocktake is not open")]) }),
            ),
        ]
    }

    pub fn schemas() -> Vec<(&'static str, Value)> {
        let int = || json!({"type": "integer"});
        let count = || json!({"type": "integer", "minimum": 0, "maximum": 2147483647});
        let text = || nullable(json!({"type": "string"}));
        let page = |item: &str| {
            json!({ "type": "object", "required": ["items", "total", "page", "page_size", "pages"],
                "properties": { "items": {"type": "array", "items": schema_ref(item)},
                    "total": {"type": "integer"}, "page": {"type": "integer"},
                    "page_size": {"type": "integer"}, "pages": {"type": "integer"} } })
        };
        let stocktake_props = json!({
            "id": uuid(), "status": {"type": "string", "enum": ["open", "approved", "cancelled"]},
            "notes": text(), "created_at": timestamp(), "created_by": uuid(),
            "created_by_email": text(), "closed_at": nullable(timestamp()),
            "closed_by": nullable(uuid()), "reason": text(),
            "lines_total": int(), "lines_counted": int(), "lines_with_difference": int(),
        });
        let stocktake_required = json!([
            "id",
            "status",
            "notes",
            "created_at",
            "created_by",
            "created_by_email",
            "closed_at",
            "closed_by",
            "reason",
            "lines_total",
            "lines_counted",
            "lines_with_difference"
        ]);
        let mut detail_props = stocktake_props.clone();
        if let Some(m) = detail_props.as_object_mut() {
            m.insert(
                "lines".into(),
                json!({"type": "array", "items": schema_ref("StocktakeLine")}),
            );
        }
        let mut detail_required = stocktake_required.clone();
        if let Some(a) = detail_required.as_array_mut() {
            a.push(Value::from("lines"));
        }
        vec![
            (
                "BatchCreate",
                json!({ "type": "object", "required": ["operation_type", "lines"], "properties": {
                    "operation_type": {"type": "string", "enum": ["receipt", "receipt_defect", "shipment_rc",
                        "return_pickup", "return_defect", "self_purchase", "write_off", "restoration", "utilization"]},
                    "source_id": nullable(uuid()),
                    "distribution_center_id": nullable(uuid()),
                    "notes": text(),
                    "lines": {"type": "array", "minItems": 1, "maxItems": 500, "items": {
                        "type": "object", "required": ["product_id", "quantity"], "properties": {
                            "product_id": uuid(),
                            "quantity": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                        }}},
                }}),
            ),
            (
                "BatchPosted",
                json!({ "type": "object", "required": ["movements"], "properties": {
                    "movements": {"type": "array", "items": schema_ref("Movement")},
                }}),
            ),
            (
                "LineRefusals",
                json!({ "type": "object", "required": ["detail"], "properties": {
                    "detail": {"type": "string"},
                    "lines": {"type": "array", "items": { "type": "object",
                        "required": ["index", "product_id", "status", "detail"], "properties": {
                            "index": {"type": "integer", "minimum": 0}, "product_id": uuid(),
                            "status": {"type": "integer"}, "detail": {"type": "string"},
                        }}},
                }}),
            ),
            (
                "Stocktake",
                json!({ "type": "object", "required": stocktake_required, "properties": stocktake_props }),
            ),
            (
                "StocktakeDetail",
                json!({ "type": "object", "required": detail_required, "properties": detail_props }),
            ),
            ("StocktakePage", page("Stocktake")),
            (
                "StocktakeLine",
                json!({ "type": "object", "required": ["product_id", "barcode", "seller_sku",
                    "brand", "size", "expected_quantity", "expected_defect_quantity", "counted_quantity",
                    "counted_defect_quantity", "counted_at", "moved_quantity", "moved_defect_quantity",
                    "difference", "defect_difference"], "properties": {
                    "product_id": uuid(), "barcode": {"type": "string"}, "seller_sku": text(),
                    "brand": text(), "size": text(), "expected_quantity": int(),
                    "expected_defect_quantity": int(), "counted_quantity": nullable(int()),
                    "counted_defect_quantity": nullable(int()), "counted_at": nullable(timestamp()),
                    "moved_quantity": int(), "moved_defect_quantity": int(),
                    "difference": nullable(int()), "defect_difference": nullable(int()),
                }}),
            ),
            (
                "StocktakeCreate",
                json!({ "type": "object", "properties": {
                    "product_ids": nullable(json!({"type": "array", "minItems": 1, "maxItems": 10000, "items": uuid()})),
                    "notes": text(),
                }}),
            ),
            (
                "StocktakeCount",
                json!({ "type": "object",
                    "required": ["counted_quantity", "counted_defect_quantity"], "properties": {
                    "counted_quantity": count(), "counted_defect_quantity": count(),
                }}),
            ),
            (
                "StocktakeScan",
                json!({ "type": "object", "required": ["barcode"], "properties": {
                    "barcode": {"type": "string", "minLength": 1, "maxLength": 100},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 2147483647, "default": 1},
                    "defect": {"type": "boolean", "default": false},
                }}),
            ),
            (
                "StocktakeApprove",
                json!({ "type": "object", "required": ["reason"], "properties": {
                    "reason": {"type": "string", "minLength": 1, "maxLength": 255},
                }}),
            ),
        ]
    }
}
