//! The parts of the OpenAPI 3.1 document that are not on a handler: the document's frame
//! ([`base`]: title, security scheme, the error schemas), the responses each kind of caller
//! can get ([`IntoResponses`] for the [`Access`](super::extract::Access) types, so a
//! handler's annotation names its caller once, e.g. `responses(..., Admin)`), and the last
//! touches applied when the document is rendered ([`render`]: an `operationId` per operation
//! from its method and path, e.g. `put_api_users_user_id`, and the bearer requirement on
//! every operation that can answer 401).
//!
//! The paths themselves come from the `#[utoipa::path]` annotations in [`super::routes`],
//! which also build the router. Pure: no I/O.

use std::collections::BTreeMap;

use axum::body::Bytes;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{IntoResponses, OpenApi as _, ToSchema};

use super::errors::{ErrorDetail, ErrorItem, ValidationErrors};
use super::extract::{Admin, Anyone, Member, Reader};

/// The name of the bearer security scheme (the reference's).
const BEARER: &str = "HTTPBearer";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "WMS Marketplace", version = "1.0.0"),
    components(schemas(ErrorDetail, ValidationErrors, ErrorItem))
)]
struct Frame;

/// The document before any path is added.
pub fn base() -> OpenApi {
    let mut doc = Frame::openapi();
    // utoipa fills `info` from this crate's Cargo.toml where the attribute is silent.
    doc.info.description = None;
    doc.info.license = None;
    doc.info.contact = None;
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
    doc
}

/// The multipart body of `POST /api/import/excel`.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The workbook (`.xlsx` or `.xls`).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A JSON response whose body is the component `schema`.
fn json_response(description: &str, schema: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
        .into()
}

/// The error responses of a caller kind.
fn errors(kinds: &[(&str, &str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    kinds
        .iter()
        .map(|(status, description, schema)| {
            ((*status).to_owned(), json_response(description, schema))
        })
        .collect()
}

const INVALID: (&str, &str, &str) = ("422", "Validation error", "HTTPValidationError");
const UNAVAILABLE: (&str, &str, &str) = ("503", "Database unavailable", "ErrorDetail");
const UNAUTHENTICATED: (&str, &str, &str) = ("401", "Not authenticated", "ErrorDetail");
const FORBIDDEN: (&str, &str, &str) = ("403", "Not an administrator", "ErrorDetail");

impl IntoResponses for Anyone {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors(&[INVALID, UNAVAILABLE])
    }
}

impl IntoResponses for Member {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors(&[UNAUTHENTICATED, INVALID, UNAVAILABLE])
    }
}

impl IntoResponses for Reader {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        Member::responses()
    }
}

impl IntoResponses for Admin {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors(&[UNAUTHENTICATED, FORBIDDEN, INVALID, UNAVAILABLE])
    }
}

/// `put_api_users_user_id` for `PUT /api/users/{user_id}`.
pub fn operation_id(method: &str, path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::iter::once(method)
        .chain(slug.split('_').filter(|s| !s.is_empty()))
        .collect::<Vec<_>>()
        .join("_")
}

/// Every operation of a path item with its lower-case method name.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// The finished document as served: operation ids, security requirements, JSON bytes.
pub fn render(mut doc: OpenApi) -> Bytes {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            op.operation_id = Some(operation_id(method, path));
            op.tags = None;
            // Every caller kind that needs a token answers with this 401; login's own 401
            // (wrong password) is not a token requirement.
            let needs_token =
                op.responses.responses.get("401").is_some_and(
                    |r| matches!(r, RefOr::T(r) if r.description == UNAUTHENTICATED.1),
                );
            if needs_token {
                op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            }
        }
    }
    match serde_json::to_vec(&doc) {
        Ok(bytes) => Bytes::from(bytes),
        // Serialising plain data cannot fail; an empty object keeps the route answering.
        Err(_) => Bytes::from_static(b"{}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_ids_are_method_and_path() {
        assert_eq!(
            super::operation_id("put", "/api/users/{user_id}"),
            "put_api_users_user_id"
        );
        assert_eq!(
            super::operation_id("get", "/api/export/products.csv"),
            "get_api_export_products_csv"
        );
    }
}
