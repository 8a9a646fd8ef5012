//! Query strings of `GET /api/stock/movements` and `GET /api/products/`: `Query::parse`,
//! `JournalFilter::parse` (page bounds, UUIDs, dates and timestamps) and
//! `ProductFilter::parse`. Never panics; problems turn into a response.
#![no_main]

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use wms::backend::movements::JournalFilter;
use wms::backend::products::ProductFilter;
use wms::backend::validation::{ParseQuery, Problems, Query, parse_date_or_time};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_date_or_time(text);
    let q = Query::parse(Some(text));
    let mut p = Problems::new();
    let _ = JournalFilter::parse(&q, &mut p);
    let _ = ProductFilter::parse(&q, &mut p);
    if let Err(e) = p.check() {
        let _ = e.into_response();
    }
});
