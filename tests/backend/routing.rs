//! Routing (spec 2.3, 3.2): slash toggling answers 307 before authentication, unknown
//! paths 404, wrong methods 405 with every method in `Allow`, bad path UUIDs 422 after
//! authentication; `/health` and the OpenAPI document.

use serde_json::json;

use crate::http::request;
use crate::server::Backend;

#[test]
fn toggled_slashes_redirect_with_a_path_absolute_location_before_auth() {
    let b = Backend::start();
    for (path, location) in [
        (
            "/api/products?page=2&page_size=5",
            "/api/products/?page=2&page_size=5",
        ),
        ("/api/sources", "/api/sources/"),
        ("/api/distribution-centers", "/api/distribution-centers/"),
        ("/api/auth/me/", "/api/auth/me"),
        ("/api/auth/login/", "/api/auth/login"),
        ("/api/stock/movements/?x=1", "/api/stock/movements?x=1"),
        ("/api/stock/summary/", "/api/stock/summary"),
        ("/api/import/excel/", "/api/import/excel"),
        ("/health/", "/health"),
        (
            "/api/products/0c9f7a4e-58e3-4b1c-8a57-8f2a3bb3f6a1/",
            "/api/products/0c9f7a4e-58e3-4b1c-8a57-8f2a3bb3f6a1",
        ),
    ] {
        // No Authorization header: the redirect comes first.
        let r = b.call_as("", "POST", path, Some(&json!({})));
        assert_eq!(r.status, 307, "{path}: {}", r.text());
        assert_eq!(r.header("location"), Some(location), "{path}");
        assert!(r.body.is_empty(), "{path}");
    }
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let b = Backend::start();
    let r = b.get("/api/nothing-here");
    assert_eq!((r.status, r.json()), (404, json!({"detail": "Not Found"})));
    let r = b.get("/");
    assert_eq!(r.status, 404);

    let r = b.call("PUT", "/api/products/", Some(&json!({})));
    assert_eq!(
        (r.status, r.json()),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    let allow = r.header("allow").unwrap_or_default().to_owned();
    for m in ["GET", "POST"] {
        assert!(allow.contains(m), "Allow: {allow}");
    }
    let r = b.call("DELETE", "/api/stock/movements", None);
    assert_eq!(r.status, 405);
    let allow = r.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "Allow: {allow}"
    );
    let r = b.call("OPTIONS", "/api/products/", None);
    assert_eq!(r.status, 405);
}

#[test]
fn bad_path_uuids_are_422_after_authentication() {
    let b = Backend::start();
    let r = b.call_as("", "GET", "/api/products/abc", None);
    assert_eq!(r.status, 401, "auth comes before path validation");
    let r = b.get("/api/products/abc");
    assert_eq!(r.status, 422);
    let item = &r.detail()[0];
    assert_eq!(item["type"], "uuid_parsing");
    assert_eq!(item["loc"], json!(["path", "product_id"]));
    assert_eq!(item["input"], "abc");
    assert!(
        item["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("Input should be a valid UUID, ")
    );
    let r = b.get("/api/sources/not-a-uuid");
    assert_eq!(r.detail()[0]["loc"], json!(["path", "source_id"]));
    let r = b.get("/api/distribution-centers/1234");
    assert_eq!(r.detail()[0]["loc"], json!(["path", "dc_id"]));
    // Upper case and hyphen-less forms are UUIDs too.
    let r = b.get("/api/products/0C9F7A4E58E34B1C8A578F2A3BB3F6A1");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Product not found"}))
    );
}

#[test]
fn health_and_the_openapi_document() {
    let b = Backend::start();
    let r = request(b.addr, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"status":"ok"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = request(b.addr, "HEAD", "/health", &[], b"");
    assert_eq!(r.status, 200);
    let r = request(b.addr, "GET", "/health/live", &[], b"");
    assert_eq!(r.status, 200);
    for path in ["/api/openapi.json", "/openapi.json"] {
        let r = request(b.addr, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        let doc = r.json();
        assert_eq!(doc["info"]["title"], "WMS Marketplace");
        assert!(doc["paths"]["/api/stock/movements"]["post"].is_object());
        assert!(doc["components"]["securitySchemes"]["HTTPBearer"].is_object());
    }
}

#[test]
fn health_is_503_while_the_database_refuses_connections_and_recovers() {
    let b = Backend::start();
    assert_eq!(request(b.addr, "GET", "/health", &[], b"").status, 200);
    let pg = crate::pg::shared();
    pg.sql(
        "postgres",
        &format!(
            "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'",
            db = b.db
        ),
    );
    let r = crate::util::wait_for(
        "/health to turn 503",
        std::time::Duration::from_secs(20),
        || {
            let r = request(b.addr, "GET", "/health", &[], b"");
            (r.status == 503).then_some(r)
        },
    );
    assert_eq!(r.json()["status"], "unavailable");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("database: ")
    );
    pg.sql(
        "postgres",
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", b.db),
    );
    crate::util::wait_for(
        "/health to recover",
        std::time::Duration::from_secs(20),
        || (request(b.addr, "GET", "/health", &[], b"").status == 200).then_some(()),
    );
}
