//! First contact: the backend starts, migrates, seeds, and answers.

use crate::server::Backend;

#[test]
fn starts_migrates_seeds_and_answers() {
    let b = Backend::start();
    let h = b.call_as("", "GET", "/health", None);
    assert_eq!((h.status, h.text()), (200, r#"{"status":"ok"}"#.to_owned()));
    let me = b.get("/api/auth/me");
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["email"], "admin@wms.example.com");
    let sources = b.get("/api/sources/").json();
    assert_eq!(sources.as_array().map(Vec::len), Some(4));
}
