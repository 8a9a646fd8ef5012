//! The OpenAPI 3.1 document served at `/api/openapi.json` (and `/openapi.json`, where the
//! reference had it; B-29): every route of [`super::routes`], with request schemas that
//! carry the same limits the validators enforce, the `HTTPBearer` security scheme, and the
//! error shapes. Hand-written and pure; a unit test checks that it names every route.

use serde_json::{Value, json};

/// An object with many entries (the `json!` macro would exceed the recursion limit).
macro_rules! map {
    ($($k:literal => $v:expr),* $(,)?) => {{
        let mut m = serde_json::Map::new();
        $( m.insert($k.to_owned(), $v); )*
        Value::Object(m)
    }};
}

pub(crate) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(crate) fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

fn string(max: usize) -> Value {
    json!({ "type": "string", "maxLength": max })
}

pub(crate) fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

pub(crate) fn timestamp() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// A response with a JSON body.
pub(crate) fn resp(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": json_content(schema) })
}

fn detail() -> Value {
    schema_ref("ErrorDetail")
}

/// The error responses every authenticated operation can give.
fn errors(extra: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("401".into(), resp("Not authenticated", detail()));
    m.insert(
        "422".into(),
        resp("Validation error", schema_ref("HTTPValidationError")),
    );
    m.insert("503".into(), resp("Database unavailable", detail()));
    for (code, what) in extra {
        m.insert((*code).into(), resp(what, detail()));
    }
    Value::Object(m)
}

/// An authenticated operation.
pub(crate) fn op(
    summary: &str,
    params: Value,
    body: Option<Value>,
    ok_code: &str,
    ok: Value,
    extra: &[(&str, &str)],
) -> Value {
    let mut responses = errors(extra);
    if let Value::Object(m) = &mut responses {
        m.insert(ok_code.into(), ok);
    }
    let mut o = json!({
        "summary": summary,
        "security": [{ "HTTPBearer": [] }],
        "parameters": params,
        "responses": responses,
    });
    if let (Some(body), Value::Object(m)) = (body, &mut o) {
        m.insert(
            "requestBody".into(),
            json!({ "required": true, "content": json_content(body) }),
        );
    }
    o
}

fn path_param(name: &str) -> Value {
    json!([{ "name": name, "in": "path", "required": true, "schema": uuid() }])
}

pub(crate) fn query(name: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema })
}

pub(crate) fn page_params() -> Vec<Value> {
    vec![
        query(
            "page",
            json!({"type": "integer", "minimum": 1, "maximum": 2147483647, "default": 1}),
        ),
        query(
            "page_size",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        ),
    ]
}

fn journal_params(paged: bool) -> Value {
    let mut v = if paged { page_params() } else { Vec::new() };
    v.push(query("operation_type", json!({"type": "string"})));
    v.push(query("product_id", uuid()));
    v.push(query(
        "date_from",
        json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}),
    ));
    v.push(query(
        "date_to",
        json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}),
    ));
    v.push(query("barcode", json!({"type": "string"})));
    Value::Array(v)
}

fn product_params(paged: bool) -> Value {
    let mut v = if paged { page_params() } else { Vec::new() };
    v.push(query("barcode", json!({"type": "string"})));
    v.push(query("q", json!({"type": "string"})));
    Value::Array(v)
}

fn csv(description: &str) -> Value {
    json!({ "description": description, "content": { "text/csv": { "schema": { "type": "string" } } } })
}

fn no_content(description: &str) -> Value {
    json!({ "description": description })
}

fn schemas() -> Value {
    let product_fields = json!({
        "barcode": string(100),
        "gtin": nullable(string(14)),
        "seller_sku": nullable(string(100)),
        "size": nullable(string(50)),
        "brand": nullable(string(255)),
        "color": nullable(string(100)),
        "id": uuid(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    });
    let mut with_stock = product_fields.clone();
    if let Value::Object(m) = &mut with_stock {
        m.insert("stock_quantity".into(), json!({"type": "integer"}));
        m.insert("defect_quantity".into(), json!({"type": "integer"}));
    }
    let operations = json!([
        "receipt",
        "receipt_defect",
        "shipment_rc",
        "return_pickup",
        "return_defect",
        "self_purchase",
        "write_off",
        "restoration",
        "utilization"
    ]);
    map! {
        "ErrorDetail" => object(&["detail"], json!({"detail": {"type": "string"}})),
        "ValidationError" => object(&["type", "loc", "msg", "input"], json!({
            "type": {"type": "string"},
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "input": {},
            "ctx": {"type": "object"},
        })),
        "HTTPValidationError" => object(&["detail"], json!({
            "detail": {"type": "array", "items": schema_ref("ValidationError")}
        })),
        "LoginRequest" => object(&["email", "password"], json!({
            "email": {"type": "string", "format": "email", "maxLength": 255},
            "password": {"type": "string"},
        })),
        "Token" => object(&["access_token", "token_type"], json!({
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["bearer"]},
        })),
        "User" => object(&["email", "id", "is_active", "created_at", "role"], json!({
            "email": {"type": "string"},
            "id": uuid(),
            "is_active": {"type": "boolean"},
            "created_at": timestamp(),
            "role": {"type": "string", "enum": ["admin", "operator"]},
        })),
        "UserCreate" => object(&["email", "password"], json!({
            "email": {"type": "string", "format": "email", "maxLength": 255},
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "role": {"type": "string", "enum": ["admin", "operator"], "default": "operator"},
            "is_active": {"type": "boolean", "default": true},
        })),
        "UserUpdate" => object(&[], json!({
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "role": {"type": "string", "enum": ["admin", "operator"]},
            "is_active": {"type": "boolean"},
        })),
        "PasswordChange" => object(&["current_password", "new_password"], json!({
            "current_password": {"type": "string"},
            "new_password": {"type": "string", "minLength": 8, "maxLength": 1024},
        })),
        "Source" => object(&["name", "description", "id", "created_at", "updated_at"], json!({
            "name": {"type": "string"},
            "description": nullable(json!({"type": "string"})),
            "id": uuid(),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
        "SourceCreate" => object(&["name"], json!({
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": nullable(json!({"type": "string"})),
        })),
        "SourceUpdate" => object(&[], json!({
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": nullable(json!({"type": "string"})),
        })),
        "DistributionCenter" => object(
            &["code", "name", "marketplace", "id", "created_at", "updated_at"],
            json!({
                "code": {"type": "string"},
                "name": {"type": "string"},
                "marketplace": {"type": "string"},
                "id": uuid(),
                "created_at": timestamp(),
                "updated_at": timestamp(),
            })
        ),
        "DistributionCenterCreate" => object(&["code", "name", "marketplace"], json!({
            "code": {"type": "string", "minLength": 1, "maxLength": 50},
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "marketplace": {"type": "string", "minLength": 1, "maxLength": 50},
        })),
        "DistributionCenterUpdate" => object(&[], json!({
            "code": {"type": "string", "minLength": 1, "maxLength": 50},
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "marketplace": {"type": "string", "minLength": 1, "maxLength": 50},
        })),
        "Product" => object(
            &["barcode", "gtin", "seller_sku", "size", "brand", "color", "id", "created_at", "updated_at"],
            product_fields
        ),
        "ProductWithStock" => object(
            &["barcode", "gtin", "seller_sku", "size", "brand", "color", "id", "created_at",
              "updated_at", "stock_quantity", "defect_quantity"],
            with_stock
        ),
        "ProductCreate" => object(&["barcode"], json!({
            "barcode": {"type": "string", "minLength": 1, "maxLength": 100},
            "gtin": nullable(string(14)),
            "seller_sku": nullable(string(100)),
            "size": nullable(string(50)),
            "brand": nullable(string(255)),
            "color": nullable(string(100)),
        })),
        "ProductUpdate" => object(&[], json!({
            "barcode": {"type": "string", "minLength": 1, "maxLength": 100},
            "gtin": nullable(string(14)),
            "seller_sku": nullable(string(100)),
            "size": nullable(string(50)),
            "brand": nullable(string(255)),
            "color": nullable(string(100)),
        })),
        "ProductPage" => object(&["items", "total", "page", "page_size", "pages"], json!({
            "items": {"type": "array", "items": schema_ref("ProductWithStock")},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "pages": {"type": "integer"},
        })),
        "MovementCreate" => object(&["product_id", "operation_type", "quantity"], json!({
            "product_id": uuid(),
            "operation_type": {"type": "string", "enum": operations},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 2147483647},
            "source_id": nullable(uuid()),
            "distribution_center_id": nullable(uuid()),
            "notes": nullable(json!({"type": "string"})),
        })),
        "Movement" => object(
            &["product_id", "operation_type", "quantity", "source_id", "distribution_center_id",
              "notes", "id", "user_id", "created_at", "product_barcode", "product_gtin"],
            json!({
                "product_id": uuid(),
                "operation_type": {"type": "string"},
                "quantity": {"type": "integer"},
                "source_id": nullable(uuid()),
                "distribution_center_id": nullable(uuid()),
                "notes": nullable(json!({"type": "string"})),
                "id": uuid(),
                "user_id": uuid(),
                "created_at": timestamp(),
                "product_barcode": nullable(json!({"type": "string"})),
                "product_gtin": nullable(json!({"type": "string"})),
                "product_brand": nullable(json!({"type": "string"})),
                "product_size": nullable(json!({"type": "string"})),
                "product_seller_sku": nullable(json!({"type": "string"})),
                "source_name": nullable(json!({"type": "string"})),
                "dc_name": nullable(json!({"type": "string"})),
                "user_email": nullable(json!({"type": "string"})),
            })
        ),
        "MovementPage" => object(&["items", "total", "page", "page_size", "pages"], json!({
            "items": {"type": "array", "items": schema_ref("Movement")},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "pages": {"type": "integer"},
        })),
        "Summary" => object(&["total_products", "total_stock", "total_defect"], json!({
            "total_products": {"type": "integer"},
            "total_stock": {"type": "integer"},
            "total_defect": {"type": "integer"},
        })),
        "ImportRowError" => object(&["row_number", "field", "message"], json!({
            "row_number": {"type": "integer"},
            "field": {"type": "string"},
            "message": {"type": "string"},
        })),
        "ImportResponse" => object(&["result", "duration_seconds"], json!({
            "result": object(&["total_rows", "created", "updated", "errors", "success"], json!({
                "total_rows": {"type": "integer"},
                "created": {"type": "integer"},
                "updated": {"type": "integer"},
                "errors": {"type": "array", "items": schema_ref("ImportRowError")},
                "success": {"type": "boolean"},
            })),
            "duration_seconds": {"type": "number"},
        })),
        "LedgerReport" => object(&["consistent", "products_checked", "mismatches"], json!({
            "consistent": {"type": "boolean"},
            "products_checked": {"type": "integer"},
            "mismatches": {"type": "array", "items": object(
                &["product_id", "barcode", "is_deleted", "stock_quantity", "stock_ledger",
                  "defect_quantity", "defect_ledger"],
                json!({
                    "product_id": uuid(),
                    "barcode": {"type": "string"},
                    "is_deleted": {"type": "boolean"},
                    "stock_quantity": {"type": "integer"},
                    "stock_ledger": {"type": "integer"},
                    "defect_quantity": {"type": "integer"},
                    "defect_ledger": {"type": "integer"},
                })
            )},
        })),
        "Health" => object(&["status"], json!({
            "status": {"type": "string"},
            "detail": {"type": "string"},
        })),
    }
}

/// Gives every operation an `operationId`: the method and the path, e.g.
/// `put_api_users_user_id`.
fn add_operation_ids(paths: &mut Value) {
    let Value::Object(paths) = paths else { return };
    for (path, item) in paths.iter_mut() {
        let Value::Object(methods) = item else {
            continue;
        };
        for (method, op) in methods.iter_mut() {
            let slug: String = path
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let id = format!("{method}_{}", slug.trim_matches('_'))
                .split('_')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            if let Value::Object(o) = op {
                o.insert("operationId".into(), Value::from(id));
            }
        }
    }
}

/// The optional `Idempotency-Key` header of the posting operations.
pub(crate) fn idempotency_header() -> Value {
    json!([{
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Retries with the same key (per user, kept 24 h) return the first response and move stock once.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255}
    }])
}

/// The document.
pub fn document() -> Value {
    let none = json!([]);
    let idempotency = idempotency_header();
    let paths = map! {
        "/health" => json!({ "get": {
            "summary": "Readiness: 200 when the database answers within a second, else 503",
            "responses": {
                "200": resp("Ready", schema_ref("Health")),
                "503": resp("Database unavailable", schema_ref("Health")),
            }
        }}),
        "/health/live" => json!({ "get": {
            "summary": "Liveness: 200 while the process serves requests",
            "responses": { "200": resp("Alive", schema_ref("Health")) }
        }}),
        "/api/openapi.json" => json!({ "get": {
            "summary": "This document",
            "responses": { "200": { "description": "OpenAPI document", "content": json_content(json!({"type": "object"})) } }
        }}),
        "/api/auth/login" => json!({ "post": {
            "summary": "Get an access token",
            "requestBody": { "required": true, "content": json_content(schema_ref("LoginRequest")) },
            "responses": {
                "200": resp("Token", schema_ref("Token")),
                "401": resp("Invalid email or password", detail()),
                "422": resp("Validation error", schema_ref("HTTPValidationError")),
            }
        }}),
        "/api/auth/me" => json!({ "get": op("Current user", none.clone(), None, "200", resp("User", schema_ref("User")), &[]) }),
        "/api/auth/change-password" => json!({ "post": op(
            "Change one's own password", none.clone(), Some(schema_ref("PasswordChange")),
            "204", no_content("Changed"), &[("400", "Current password is incorrect")]) }),
        "/api/users/" => json!({
            "get": op("List users (admin)", none.clone(), None, "200",
                resp("Users", json!({"type": "array", "items": schema_ref("User")})), &[("403", "Not an admin")]),
            "post": op("Create a user (admin)", none.clone(), Some(schema_ref("UserCreate")), "201",
                resp("Created", schema_ref("User")), &[("400", "E-mail taken"), ("403", "Not an admin")]),
        }),
        "/api/users/{user_id}" => json!({
            "get": op("Get a user (admin)", path_param("user_id"), None, "200",
                resp("User", schema_ref("User")), &[("403", "Not an admin"), ("404", "User not found")]),
            "put": op("Change role, activity or password (admin)", path_param("user_id"), Some(schema_ref("UserUpdate")), "200",
                resp("User", schema_ref("User")),
                &[("400", "Last active admin"), ("403", "Not an admin"), ("404", "User not found")]),
        }),
        "/api/sources/" => json!({
            "get": op("List sources", none.clone(), None, "200",
                resp("Sources", json!({"type": "array", "items": schema_ref("Source")})), &[]),
            "post": op("Create a source", none.clone(), Some(schema_ref("SourceCreate")), "201",
                resp("Created", schema_ref("Source")), &[("400", "Name taken")]),
        }),
        "/api/sources/{source_id}" => json!({
            "get": op("Get a source", path_param("source_id"), None, "200",
                resp("Source", schema_ref("Source")), &[("404", "Source not found")]),
            "put": op("Update a source", path_param("source_id"), Some(schema_ref("SourceUpdate")), "200",
                resp("Source", schema_ref("Source")), &[("400", "Name taken"), ("404", "Source not found")]),
            "delete": op("Delete a source (admin)", path_param("source_id"), None, "204", no_content("Deleted"),
                &[("403", "Not an admin"), ("404", "Source not found"), ("409", "Referenced by movements")]),
        }),
        "/api/distribution-centers/" => json!({
            "get": op("List distribution centres", none.clone(), None, "200",
                resp("DCs", json!({"type": "array", "items": schema_ref("DistributionCenter")})), &[]),
            "post": op("Create a distribution centre", none.clone(), Some(schema_ref("DistributionCenterCreate")), "201",
                resp("Created", schema_ref("DistributionCenter")), &[("400", "Code taken")]),
        }),
        "/api/distribution-centers/{dc_id}" => json!({
            "get": op("Get a distribution centre", path_param("dc_id"), None, "200",
                resp("DC", schema_ref("DistributionCenter")), &[("404", "Distribution center not found")]),
            "put": op("Update a distribution centre", path_param("dc_id"), Some(schema_ref("DistributionCenterUpdate")), "200",
                resp("DC", schema_ref("DistributionCenter")), &[("400", "Code taken"), ("404", "Distribution center not found")]),
            "delete": op("Delete a distribution centre (admin)", path_param("dc_id"), None, "204", no_content("Deleted"),
                &[("403", "Not an admin"), ("404", "Distribution center not found"), ("409", "Referenced by movements")]),
        }),
        "/api/products/" => json!({
            "get": op("List products with balances", product_params(true), None, "200",
                resp("Page", schema_ref("ProductPage")), &[]),
            "post": op("Create a product", none.clone(), Some(schema_ref("ProductCreate")), "201",
                resp("Created", schema_ref("Product")), &[("400", "Barcode or GTIN taken")]),
        }),
        "/api/products/{product_id}" => json!({
            "get": op("Get a product with balances", path_param("product_id"), None, "200",
                resp("Product", schema_ref("ProductWithStock")), &[("404", "Product not found")]),
            "put": op("Update a product", path_param("product_id"), Some(schema_ref("ProductUpdate")), "200",
                resp("Product", schema_ref("Product")), &[("400", "Barcode or GTIN taken"), ("404", "Product not found")]),
            "delete": op("Soft-delete a product (admin)", path_param("product_id"), None, "204", no_content("Deleted"),
                &[("403", "Not an admin"), ("404", "Product not found")]),
        }),
        "/api/products/{product_id}/restore" => json!({
            "post": op("Restore a soft-deleted product (admin)", path_param("product_id"), None, "200",
                resp("Product", schema_ref("Product")), &[("403", "Not an admin"), ("404", "Product not found")]),
        }),
        "/api/stock/movements" => json!({
            "post": op("Execute a stock operation", idempotency, Some(schema_ref("MovementCreate")), "201",
                resp("Movement", schema_ref("Movement")),
                &[("400", "Insufficient stock or overflow"), ("404", "Product, source or DC not found")]),
            "get": op("Movement journal", journal_params(true), None, "200",
                resp("Page", schema_ref("MovementPage")), &[]),
        }),
        "/api/stock/summary" => json!({
            "get": op("Totals", none.clone(), None, "200", resp("Summary", schema_ref("Summary")), &[]),
        }),
        "/api/import/excel" => json!({
            "post": {
                "summary": "Import products and balances from an Excel file (.xlsx or .xls)",
                "security": [{ "HTTPBearer": [] }],
                "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": {
                    "type": "object", "required": ["file"],
                    "properties": { "file": { "type": "string", "format": "binary" } }
                }}}},
                "responses": {
                    "200": resp("Result (row errors inside)", schema_ref("ImportResponse")),
                    "400": resp("Not an Excel file name", detail()),
                    "401": resp("Not authenticated", detail()),
                    "413": resp("File too large", detail()),
                    "422": resp("Validation error", schema_ref("HTTPValidationError")),
                }
            }
        }),
        "/api/export/products.csv" => json!({
            "get": op("Products with balances as CSV", product_params(false), None, "200", csv("CSV"), &[]),
        }),
        "/api/export/movements.csv" => json!({
            "get": op("Movement journal as CSV", journal_params(false), None, "200", csv("CSV"), &[]),
        }),
        "/api/admin/ledger-check" => json!({
            "get": op("Products whose balances differ from their journal (admin)", none, None, "200",
                resp("Report", schema_ref("LedgerReport")), &[("403", "Not an admin")]),
        }),
    };
    let mut paths = paths;
    if let Value::Object(m) = &mut paths {
        for (path, item) in super::floor::doc::paths() {
            m.insert(path.to_owned(), item);
        }
    }
    add_operation_ids(&mut paths);
    let mut schemas = schemas();
    if let Value::Object(m) = &mut schemas {
        for (name, schema) in super::floor::doc::schemas() {
            m.insert(name.to_owned(), schema);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "WMS Marketplace", "version": "1.0.0" },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "HTTPBearer": { "type": "http", "scheme": "bearer" } },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::document;

    #[test]
    fn every_api_route_is_documented() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for route in [
            "/health",
            "/api/auth/login",
            "/api/auth/me",
            "/api/sources/{source_id}",
            "/api/distribution-centers/",
            "/api/products/{product_id}",
            "/api/stock/movements",
            "/api/stock/summary",
            "/api/import/excel",
            "/api/export/movements.csv",
            "/api/admin/ledger-check",
            "/api/users/{user_id}",
        ] {
            assert!(paths.contains_key(route), "{route}");
        }
        assert_eq!(doc["info"]["title"], "WMS Marketplace");
        assert_eq!(
            doc["paths"]["/api/users/{user_id}"]["put"]["operationId"],
            "put_api_users_user_id"
        );
        // Every route of the router is described.
        for path in crate::backend::routes::route_paths() {
            if path != "/openapi.json" {
                assert!(paths.contains_key(path), "{path} is not documented");
            }
        }
    }
}
