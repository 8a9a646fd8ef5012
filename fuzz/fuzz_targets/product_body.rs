//! The bodies of `POST /api/products/` and `PUT /api/products/{id}`: `parse_body`, then
//! `NewProduct::parse` and `ProductChange::parse`. Never panics, never "no value and no
//! problem"; accepted strings respect the column limits and carry no NUL.
#![no_main]

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use wms::backend::products::{NewProduct, ProductChange};
use wms::backend::validation::{ParseBody, Problems, parse_body};

fn check_text(value: &str, max: usize) {
    assert!(
        value.chars().count() <= max,
        "{value:?} is longer than {max}"
    );
    assert!(!value.contains('\0'), "NUL accepted");
}

fuzz_target!(|data: &[u8]| {
    let raw = match parse_body(Some("application/json"), data) {
        Ok(raw) => raw,
        Err(e) => {
            let _ = e.into_response();
            return;
        }
    };
    let mut p = Problems::new();
    let new = NewProduct::parse(&raw, &mut p);
    if let (Some(n), true) = (&new, p.is_empty()) {
        check_text(&n.barcode, 100);
        assert!(!n.barcode.trim().is_empty(), "blank barcode accepted");
        if let Some(g) = &n.gtin {
            check_text(g, 14);
        }
    }
    if let Err(e) = p.finish(new) {
        assert!(!format!("{e:?}").contains("no value and no problem"));
        let _ = e.into_response();
    }

    let mut p = Problems::new();
    let change = ProductChange::parse(&raw, &mut p);
    if let (
        Some(ProductChange {
            barcode: Some(b), ..
        }),
        true,
    ) = (&change, p.is_empty())
    {
        check_text(b, 100);
    }
    if let Err(e) = p.finish(change) {
        assert!(!format!("{e:?}").contains("no value and no problem"));
        let _ = e.into_response();
    }
});
