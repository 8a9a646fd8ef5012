//! The nine operations (spec 7), their errors, and the journal (spec 8.1): filters,
//! date-only ranges, additive names, order; balance rows stamped and recreated.

use serde_json::{Value, json};

use crate::server::Backend;

#[test]
fn the_worked_example_ends_at_8_and_3_with_a_full_journal() {
    let b = Backend::start();
    let p = b.product("W-1");
    let src = b.first_id("/api/sources/");
    let dc = b.first_id("/api/distribution-centers/");
    let steps = [
        ("receipt", 10, json!({})),
        ("shipment_rc", 3, json!({"distribution_center_id": dc})),
        ("return_pickup", 1, json!({"source_id": src})),
        ("return_defect", 2, json!({"source_id": src})),
        ("self_purchase", 1, json!({"source_id": src})),
        ("receipt_defect", 1, json!({})),
        ("write_off", 2, json!({})),
        ("restoration", 1, json!({})),
        ("utilization", 1, json!({"notes": "утилизировано"})),
    ];
    for (op, n, extra) in &steps {
        let r = b.move_stock(&p, op, *n, extra.clone());
        assert_eq!(r.status, 201, "{op}: {}", r.text());
        let m = r.json();
        assert_eq!(
            (m["operation_type"].as_str(), m["quantity"].as_i64()),
            (Some(*op), Some(*n))
        );
        assert_eq!(m["product_barcode"], "W-1");
    }
    assert_eq!(b.balances(&p), (8, 3));

    let journal = b.get("/api/stock/movements?page_size=100");
    let text = journal.text();
    let j = journal.json();
    assert_eq!(j["total"], 9);
    let first = &j["items"][0];
    assert_eq!(first["operation_type"], "utilization", "newest first");
    assert_eq!(first["notes"], "утилизировано");
    assert_eq!(first["user_email"], "admin@wms.example.com");
    let ship = j["items"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["operation_type"] == "shipment_rc"))
        .cloned()
        .unwrap_or_default();
    assert!(
        ship["dc_name"].as_str().is_some_and(|n| !n.is_empty()),
        "B-13: {ship}"
    );
    let ret = j["items"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["operation_type"] == "return_pickup"))
        .cloned()
        .unwrap_or_default();
    assert!(ret["source_name"].as_str().is_some_and(|n| !n.is_empty()));
    // The reference's fields first, in order, then ours.
    let item = text.split("},{").next().unwrap_or("");
    let keys = [
        "product_id",
        "operation_type",
        "quantity",
        "source_id",
        "distribution_center_id",
        "notes",
        "\"id\"",
        "user_id",
        "created_at",
        "product_barcode",
        "product_gtin",
        "product_brand",
        "product_size",
        "product_seller_sku",
        "source_name",
        "dc_name",
        "user_email",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| {
            let k = if k.starts_with('"') {
                (*k).to_owned()
            } else {
                format!("\"{k}\"")
            };
            item.find(&k).unwrap_or(usize::MAX)
        })
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{item}");

    // B-28: operations stamp updated_at on the balance rows they change.
    let stamped = b.sql(&format!(
        "SELECT bool_and(updated_at > created_at) FROM (SELECT updated_at, created_at FROM stocks \
         WHERE product_id = '{p}' UNION ALL SELECT updated_at, created_at FROM defect_stocks \
         WHERE product_id = '{p}') t"
    ));
    assert_eq!(stamped, [Some("t".to_owned())]);
}

#[test]
fn insufficient_balances_are_400_with_the_reference_messages() {
    let b = Backend::start();
    let p = b.product("I-1");
    let dc = b.first_id("/api/distribution-centers/");
    for (op, extra, message) in [
        (
            "shipment_rc",
            json!({"distribution_center_id": dc}),
            "Недостаточно товара для отгрузки",
        ),
        (
            "write_off",
            json!({}),
            "Недостаточно товара для списания в брак",
        ),
        (
            "restoration",
            json!({}),
            "Недостаточно брака для восстановления",
        ),
        (
            "utilization",
            json!({}),
            "Недостаточно брака для утилизации",
        ),
    ] {
        let r = b.move_stock(&p, op, 1, extra);
        assert_eq!(
            (r.status, r.json()),
            (400, json!({"detail": message})),
            "{op}"
        );
    }
    // Nothing moved, nothing journaled.
    assert_eq!(b.balances(&p), (0, 0));
    assert_eq!(b.get("/api/stock/movements").json()["total"], 0);
    // Exactly enough is enough.
    b.move_stock(&p, "receipt", 2, json!({}));
    assert_eq!(b.move_stock(&p, "write_off", 2, json!({})).status, 201);
    assert_eq!(b.balances(&p), (0, 2));
}

#[test]
fn movement_validation_and_unknown_references() {
    let b = Backend::start();
    let p = b.product("V-1");
    let missing = "6c7d2d5e-8d1f-4b0e-9c7a-2f5e1d3c4b5a";
    let body = |extra: Value| {
        let mut base = json!({"product_id": p, "operation_type": "receipt", "quantity": 1});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            base[k] = v;
        }
        base
    };
    let post = |v: Value| b.post("/api/stock/movements", &v);

    let r = post(body(json!({"quantity": 0})));
    assert_eq!(
        r.detail()[0],
        json!({"type": "value_error", "loc": ["body", "quantity"],
               "msg": "Value error, Quantity must be at least 1", "input": 0, "ctx": {"error": {}}})
    );
    let r = post(body(json!({"quantity": 1.5})));
    assert_eq!(r.detail()[0]["type"], "int_from_float");
    let r = post(body(json!({"quantity": 2147483648_i64})));
    assert_eq!(r.detail()[0]["type"], "less_than_equal");
    assert_eq!(r.detail()[0]["ctx"], json!({"le": 2147483647}));
    for q in [json!("3"), json!(2.0)] {
        let r = post(body(json!({"quantity": q})));
        assert_eq!(r.status, 201, "{q}: {}", r.text());
    }
    let r = post(body(json!({"operation_type": "Receipt"})));
    assert!(
        r.detail()[0]["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("Value error, Invalid operation_type. Must be one of: ['receipt', ")
    );
    let r = post(body(json!({"operation_type": "import_stock"})));
    assert_eq!(r.status, 422, "ledger-only types cannot be posted");
    for (op, message) in [
        (
            "return_pickup",
            "Value error, source_id is required for operation_type: return_pickup",
        ),
        (
            "return_defect",
            "Value error, source_id is required for operation_type: return_defect",
        ),
        (
            "self_purchase",
            "Value error, source_id is required for operation_type: self_purchase",
        ),
        (
            "shipment_rc",
            "Value error, distribution_center_id is required for operation_type: shipment_rc",
        ),
    ] {
        let r = post(body(json!({"operation_type": op, "source_id": null})));
        assert_eq!(r.status, 422);
        assert_eq!(r.detail()[0]["loc"], json!(["body"]), "{op}");
        assert_eq!(r.detail()[0]["msg"], message);
    }
    // Model rules wait for valid fields: only the field error is reported.
    let r = post(json!({"product_id": "nope", "operation_type": "shipment_rc", "quantity": 1}));
    assert_eq!(r.detail().as_array().map(Vec::len), Some(1));
    assert_eq!(r.detail()[0]["type"], "uuid_parsing");
    let r = post(json!({"product_id": null, "operation_type": "receipt", "quantity": 1}));
    assert_eq!(r.detail()[0]["type"], "uuid_type");
    let r = post(json!({}));
    assert_eq!(r.detail().as_array().map(Vec::len), Some(3));

    let r = post(body(json!({"product_id": missing})));
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Product not found"}))
    );
    let r = post(body(json!({"source_id": missing})));
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Source not found"}))
    );
    let r = post(body(json!({"distribution_center_id": missing})));
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"detail": "Distribution center not found"}))
    );
    // Optional references are accepted (and checked) on any type (B-31).
    let src = b.first_id("/api/sources/");
    let r = post(body(json!({"source_id": src})));
    assert_eq!((r.status, r.json()["source_id"].clone()), (201, json!(src)));
    // Overflow of a balance is a 400, not a crash.
    let q = b.move_stock(&p, "receipt", 2147483647, json!({}));
    assert_eq!(
        (q.status, q.json()),
        (
            400,
            json!({"detail": "Resulting quantity exceeds the allowed maximum"})
        )
    );
    assert_eq!(b.balances(&p).0, 6, "3 + 2 + 1 from the accepted posts");
}

#[test]
fn a_missing_balance_row_is_created_by_the_operation() {
    let b = Backend::start();
    let p = b.product("B40");
    b.sql(&format!("DELETE FROM stocks WHERE product_id = '{p}'; DELETE FROM defect_stocks WHERE product_id = '{p}'"));
    let r = b.move_stock(&p, "utilization", 1, json!({}));
    assert_eq!(r.status, 400, "a missing row holds nothing");
    assert_eq!(b.move_stock(&p, "receipt", 4, json!({})).status, 201);
    assert_eq!(b.move_stock(&p, "write_off", 1, json!({})).status, 201);
    assert_eq!(b.balances(&p), (3, 1));
    let rows = b.sql(&format!(
        "SELECT count(*) FROM stocks WHERE product_id = '{p}'"
    ));
    assert_eq!(rows, [Some("1".to_owned())]);
}

#[test]
fn journal_filters_dates_and_barcodes() {
    let b = Backend::start();
    let a = b.product("JA-100");
    let c = b.product("JC-200");
    b.move_stock(&a, "receipt", 5, json!({}));
    b.move_stock(&a, "receipt_defect", 1, json!({}));
    b.move_stock(&c, "receipt", 2, json!({}));
    let total = |q: &str| {
        let r = b.get(&format!("/api/stock/movements?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.json()["total"].as_i64().unwrap_or(-1)
    };
    assert_eq!(total(""), 3);
    assert_eq!(total("operation_type=receipt"), 2);
    assert_eq!(total("operation_type="), 3, "empty = no filter");
    assert_eq!(
        total("operation_type=nonsense"),
        0,
        "unknown type: empty page (B-14)"
    );
    assert_eq!(total(&format!("product_id={a}")), 2);
    assert_eq!(total("barcode=jc-2"), 1, "B-12");
    assert_eq!(total("barcode=%25"), 0, "wildcards escaped");
    // B-11: one day, from = to = today, includes today's rows.
    let today = b.sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")[0]
        .clone()
        .unwrap_or_default();
    let tomorrow = b
        .sql("SELECT to_char((now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD')")[0]
        .clone()
        .unwrap_or_default();
    let yesterday = b
        .sql("SELECT to_char((now() AT TIME ZONE 'UTC') - interval '1 day', 'YYYY-MM-DD')")[0]
        .clone()
        .unwrap_or_default();
    assert_eq!(total(&format!("date_from={today}&date_to={today}")), 3);
    assert_eq!(total(&format!("date_from={tomorrow}")), 0);
    assert_eq!(total(&format!("date_to={yesterday}")), 0);
    assert_eq!(
        total(&format!(
            "date_from={yesterday}T00:00:00Z&date_to={tomorrow}T00:00:00%2B00:00"
        )),
        3
    );
    assert_eq!(total("date_from=1000000000"), 3, "a Unix timestamp");
    assert_eq!(total(&format!("date_to={yesterday}T23:59:59")), 0);

    let r = b.get("/api/stock/movements?date_from=26.11.2026");
    assert_eq!(r.status, 422);
    assert_eq!(
        r.detail()[0],
        json!({"type": "datetime_from_date_parsing", "loc": ["query", "date_from"],
               "msg": "Input should be a valid datetime or date, invalid character in year",
               "input": "26.11.2026", "ctx": {"error": "invalid character in year"}})
    );
    let r = b.get("/api/stock/movements?product_id=");
    assert_eq!(
        (r.status, r.detail()[0]["type"].clone()),
        (422, json!("uuid_parsing"))
    );
    let r = b.get("/api/stock/movements?page=0&date_to=x&product_id=y");
    assert_eq!(
        r.detail().as_array().map(Vec::len),
        Some(3),
        "all problems at once"
    );
    let page = b.get("/api/stock/movements?page=2&page_size=2").json();
    assert_eq!(
        (
            page["pages"].clone(),
            page["items"].as_array().map(Vec::len)
        ),
        (json!(2), Some(1))
    );
}

#[test]
fn date_only_filters_use_the_business_time_zone() {
    // 23:30 UTC on 1 March is 2 March in Moscow (UTC+3).
    let b = Backend::start_with(&[], &[("WMS_BUSINESS_TZ", "Europe/Moscow")]);
    let p = b.product("TZ-1");
    b.move_stock(&p, "receipt", 1, json!({}));
    b.sql("UPDATE stock_movements SET created_at = '2026-03-01 23:30:00+00'");
    let total = |q: &str| b.get(&format!("/api/stock/movements?{q}")).json()["total"].as_i64();
    assert_eq!(total("date_from=2026-03-02&date_to=2026-03-02"), Some(1));
    assert_eq!(total("date_from=2026-03-01&date_to=2026-03-01"), Some(0));
    // Date-times are exact instants, whatever the zone.
    assert_eq!(
        total("date_from=2026-03-01T23:00:00Z&date_to=2026-03-01T23:59:59Z"),
        Some(1)
    );
}

#[test]
fn the_unfiltered_journal_total_stays_exact() {
    let b = Backend::start();
    let total = || b.get("/api/stock/movements").json()["total"].as_i64();
    let count = || {
        b.sql("SELECT count(*) FROM stock_movements")[0]
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
    };
    let p = b.product("COUNT-1");
    let q = b.product("COUNT-2");
    for _ in 0..3 {
        b.move_stock(&p, "receipt", 1, json!({}));
    }
    b.move_stock(&q, "receipt", 1, json!({}));
    assert_eq!((total(), count()), (Some(4), Some(4)));
    // Rows written in bulk and rows removed by a cascade are counted too.
    b.sql(&format!(
        "INSERT INTO stock_movements (operation_type, product_id, quantity, user_id) \
         SELECT 'receipt', '{p}', 1, (SELECT id FROM users LIMIT 1) FROM generate_series(1, 250)"
    ));
    assert_eq!(total(), Some(254));
    b.sql(&format!("DELETE FROM products WHERE id = '{q}'"));
    assert_eq!((total(), count()), (Some(253), Some(253)));
    b.sql("TRUNCATE stock_movements");
    assert_eq!(total(), Some(0));
}
