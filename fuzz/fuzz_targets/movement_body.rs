//! The body of `POST /api/stock/movements` as the backend reads it before any database
//! work: `parse_body` (content type, JSON syntax) then `MovementRequest::parse` (every
//! field rule, the model rules). Never panics; it yields either a request or at least one
//! problem (never neither: that would be a 500); a request's quantity is in 1..=i32::MAX;
//! the error turns into a response.
#![no_main]

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use wms::backend::stock::MovementRequest;
use wms::backend::validation::{ParseBody, Problems, parse_body};

const TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("application/merge-patch+json; charset=utf-8"),
    Some("text/plain"),
    None,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let content_type = TYPES[usize::from(first) % TYPES.len()];
    let raw = match parse_body(content_type, body) {
        Ok(raw) => raw,
        Err(e) => {
            let _ = e.into_response();
            return;
        }
    };
    let mut problems = Problems::new();
    let parsed = MovementRequest::parse(&raw, &mut problems);
    if let Some(req) = &parsed {
        assert!(req.quantity >= 1, "quantity {} accepted", req.quantity);
        assert!(problems.is_empty(), "a request and problems at once");
        let _ = req.fingerprint();
    }
    match problems.finish(parsed) {
        Ok(_) => {}
        Err(e) => {
            let text = format!("{e:?}");
            assert!(!text.contains("no value and no problem"), "{text}");
            let _ = e.into_response();
        }
    }
});
