//! Products (spec 6.6-6.8): pagination math, filters with escaped wildcards, stable order,
//! uniqueness (soft-deleted included), optional GTIN, trimming, partial updates, soft delete
//! and restore, and the summary over live products only.

use serde_json::{Value, json};

use crate::server::Backend;

fn barcodes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["barcode"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn empty_list_and_pagination_math() {
    let b = Backend::start();
    let r = b.get("/api/products/");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"items":[],"total":0,"page":1,"page_size":20,"pages":1}"#
    );
    for i in 1..=5 {
        b.product(&format!("P-{i}"));
    }
    let page = b.get("/api/products/?page=3&page_size=2").json();
    assert_eq!(
        (
            &page["total"],
            &page["page"],
            &page["page_size"],
            &page["pages"]
        ),
        (&json!(5), &json!(3), &json!(2), &json!(3))
    );
    assert_eq!(barcodes(&page), ["P-1"], "newest first");
    let beyond = b.get("/api/products/?page=9&page_size=2").json();
    assert_eq!(
        (beyond["items"].clone(), beyond["total"].clone()),
        (json!([]), json!(5))
    );
    let all = b.get("/api/products/?page_size=100").json();
    assert_eq!(barcodes(&all), ["P-5", "P-4", "P-3", "P-2", "P-1"]);
    let first = &all["items"][0];
    assert_eq!(
        (
            first["stock_quantity"].clone(),
            first["defect_quantity"].clone()
        ),
        (json!(0), json!(0))
    );
    assert!(first.get("is_deleted").is_none() && first.get("is_active").is_none());

    for (query, kind) in [
        ("page=0", "greater_than_equal"),
        ("page_size=101", "less_than_equal"),
        ("page_size=0", "greater_than_equal"),
        ("page=abc", "int_parsing"),
    ] {
        let r = b.get(&format!("/api/products/?{query}"));
        assert_eq!(r.status, 422, "{query}");
        assert_eq!(r.detail()[0]["type"], kind, "{query}");
        assert_eq!(r.detail()[0]["loc"][0], "query");
    }
    let r = b.get("/api/products/?page=0");
    assert_eq!(
        r.detail()[0],
        json!({"type": "greater_than_equal", "loc": ["query", "page"],
               "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}})
    );
}

#[test]
fn rows_sharing_a_timestamp_paginate_stably() {
    let b = Backend::start();
    // One transaction, one created_at: the id breaks the tie (B-17).
    b.sql(
        "INSERT INTO products (id, barcode, is_deleted) \
         SELECT gen_random_uuid(), 'SAME-' || i, false FROM generate_series(1, 30) AS i",
    );
    let mut seen = Vec::new();
    for page in 1..=3 {
        seen.extend(barcodes(
            &b.get(&format!("/api/products/?page={page}&page_size=10"))
                .json(),
        ));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (30, 30));
}

#[test]
fn barcode_and_q_filters_escape_wildcards() {
    let b = Backend::start();
    b.product("ABC_1");
    b.product("ABCX1");
    b.product("100%");
    b.product("1000");
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "SKU-HOLDER", "seller_sku": "art-77"}),
    );
    assert_eq!(r.status, 201);
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "BRANDED", "brand": "Acme Textiles"}),
    );
    assert_eq!(r.status, 201);
    let q = |query: &str| barcodes(&b.get(&format!("/api/products/?{query}")).json());
    assert_eq!(
        q("barcode=abc_"),
        ["ABC_1"],
        "case-insensitive, `_` literal"
    );
    assert_eq!(q("barcode=0%25"), ["100%"], "`%` literal");
    assert_eq!(q("barcode=").len(), 6, "empty = no filter");
    assert_eq!(q("q=ART-7"), ["SKU-HOLDER"]);
    assert_eq!(q("q=textile"), ["BRANDED"], "q also matches the brand");
    assert_eq!(q("q=abcx"), ["ABCX1"]);
    assert_eq!(
        b.get("/api/products/?page=1&page_size=20&barcode=zzz")
            .json()["total"],
        0
    );
}

#[test]
fn create_validates_trims_and_keeps_keys_unique() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "  4601234567890 ", "gtin": "04601234567890", "brand": "Nike",
                "size": "M", "seller_sku": "A-1", "color": null, "unknown": 1}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(p["barcode"], "4601234567890", "trimmed (B-36)");
    assert!(
        p.get("stock_quantity").is_none(),
        "create answers without balances"
    );
    let text = r.text();
    let order: Vec<usize> = [
        "barcode",
        "gtin",
        "seller_sku",
        "size",
        "brand",
        "color",
        "id",
        "created_at",
        "updated_at",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\"")).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");

    let r = b.post(
        "/api/products/",
        &json!({"barcode": "4601234567890", "gtin": "1"}),
    );
    assert_eq!(
        r.json(),
        json!({"detail": "Product with barcode '4601234567890' already exists"})
    );
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "other", "gtin": "04601234567890"}),
    );
    assert_eq!(
        r.json(),
        json!({"detail": "Product with GTIN '04601234567890' already exists"})
    );
    // GTIN is optional; many products may have none (B-02).
    for barcode in ["NO-GTIN-1", "NO-GTIN-2"] {
        let r = b.post("/api/products/", &json!({"barcode": barcode}));
        assert_eq!((r.status, r.json()["gtin"].clone()), (201, Value::Null));
    }
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "NO-GTIN-3", "gtin": ""}),
    );
    assert_eq!(r.json()["gtin"], Value::Null);
    for (body, kind) in [
        (json!({"barcode": ""}), "string_too_short"),
        (json!({"barcode": " \t "}), "string_too_short"),
        (json!({"barcode": "x".repeat(101)}), "string_too_long"),
        (
            json!({"barcode": "ok", "gtin": "123456789012345"}),
            "string_too_long",
        ),
        (
            json!({"barcode": "ok", "brand": "b".repeat(256)}),
            "string_too_long",
        ),
        (json!({"barcode": "ok", "size": 5}), "string_type"),
        (json!({}), "missing"),
        (json!([1, 2]), "model_attributes_type"),
    ] {
        let r = b.post("/api/products/", &body);
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.detail()[0]["type"], kind, "{body}");
    }
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "ok", "gtin": "123456789012345"}),
    );
    assert_eq!(
        r.detail()[0],
        json!({"type": "string_too_long", "loc": ["body", "gtin"],
               "msg": "String should have at most 14 characters",
               "input": "123456789012345", "ctx": {"max_length": 14}})
    );
}

#[test]
fn update_is_partial_and_touches_updated_at_only_on_change() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "U-1", "gtin": "111", "brand": "A"}),
    );
    let p = r.json();
    let path = format!("/api/products/{}", p["id"].as_str().expect("id"));
    b.product("U-2");
    let r = b.put(&path, &json!({}));
    assert_eq!((r.status, r.json()), (200, p.clone()));
    let r = b.put(&path, &json!({"brand": "A"}));
    assert_eq!(
        r.json()["updated_at"],
        p["updated_at"],
        "same value: no change"
    );
    let r = b.put(&path, &json!({"brand": "B", "size": "XL"}));
    let q = r.json();
    assert_eq!(
        (q["brand"].clone(), q["size"].clone(), q["gtin"].clone()),
        (json!("B"), json!("XL"), json!("111"))
    );
    assert_ne!(q["updated_at"], p["updated_at"]);
    let r = b.put(&path, &json!({"gtin": null, "size": null}));
    assert_eq!(
        (r.json()["gtin"].clone(), r.json()["size"].clone()),
        (Value::Null, Value::Null)
    );
    let r = b.put(&path, &json!({"barcode": null}));
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "string_type");
    let r = b.put(&path, &json!({"barcode": "U-2"}));
    assert_eq!(
        r.json(),
        json!({"detail": "Product with barcode 'U-2' already exists"})
    );
    let r = b.put(&path, &json!({"barcode": " U-1b "}));
    assert_eq!(r.json()["barcode"], "U-1b");
    // GET has the balances too (B-41).
    let g = b.get(&path).json();
    assert_eq!(
        (g["stock_quantity"].clone(), g["defect_quantity"].clone()),
        (json!(0), json!(0))
    );
}

#[test]
fn soft_delete_hides_reserves_and_restores() {
    let b = Backend::start();
    let id = b.product("DEL-1");
    let keep = b.product("KEEP-1");
    b.move_stock(&id, "receipt", 7, json!({}));
    b.move_stock(&keep, "receipt", 2, json!({}));
    b.move_stock(&keep, "receipt_defect", 1, json!({}));
    let path = format!("/api/products/{id}");
    let r = b.delete(&path);
    assert_eq!((r.status, r.body.len()), (204, 0));
    for r in [b.get(&path), b.put(&path, &json!({})), b.delete(&path)] {
        assert_eq!(
            (r.status, r.json()),
            (404, json!({"detail": "Product not found"}))
        );
    }
    let list = b.get("/api/products/").json();
    assert_eq!(
        (barcodes(&list), list["total"].clone()),
        (vec!["KEEP-1".to_owned()], json!(1))
    );
    // B-16: the summary covers live products only.
    assert_eq!(
        b.get("/api/stock/summary").text(),
        r#"{"total_products":1,"total_stock":2,"total_defect":1}"#
    );
    // Its barcode stays reserved; its journal stays listed.
    let r = b.post("/api/products/", &json!({"barcode": "DEL-1"}));
    assert_eq!(
        r.json(),
        json!({"detail": "Product with barcode 'DEL-1' already exists"})
    );
    let r = b.move_stock(&id, "receipt", 1, json!({}));
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Product not found"}))
    );
    let j = b
        .get(&format!("/api/stock/movements?product_id={id}"))
        .json();
    assert_eq!(j["total"], 1);
    assert_eq!(j["items"][0]["product_barcode"], "DEL-1");
    // Restore (our extension) brings it back with its balance.
    let r = b.post(&format!("/api/products/{id}/restore"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(b.balances(&id), (7, 0));
    assert_eq!(b.get("/api/stock/summary").json()["total_products"], 2);
}
