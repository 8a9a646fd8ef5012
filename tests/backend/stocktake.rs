//! The warehouse floor (issue 19, docs/floor-api.md) against the real backend and
//! PostgreSQL: the scanned-code lookup, batch posting (all or nothing, per-line refusals,
//! idempotency under a double submit), and stocktakes from start to approval, including
//! approval while movements keep arriving (no lost update, the ledger check clean).

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::http::{Resp, try_json_request};
use crate::server::{Backend, SECRET, token_for};

fn post_with_key(b: &Backend, path: &str, body: &Value, key: &str) -> Resp {
    try_json_request(
        b.addr,
        &b.token,
        "POST",
        path,
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

fn ledger_is_clean(b: &Backend) {
    let check = b.get("/api/admin/ledger-check").json();
    assert_eq!(check["consistent"], true, "{check}");
}

/// An operator account and its token.
fn operator(b: &Backend, email: &str) -> (String, String) {
    let r = b.post(
        "/api/users/",
        &json!({"email": email, "password": "operator-pass-1", "role": "operator"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    (id, token_for(SECRET, email))
}

fn line_of<'a>(detail: &'a Value, product: &str) -> &'a Value {
    detail["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["product_id"] == product)
        .unwrap_or_else(|| panic!("no line for {product} in {detail}"))
}

#[test]
fn a_scanned_code_finds_the_product_by_barcode_or_padded_gtin() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "SCAN-1", "gtin": "04600000000017", "brand": "Acme"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(b.move_stock(&id, "receipt", 4, json!({})).status, 201);

    for code in ["SCAN-1", "04600000000017", "4600000000017"] {
        let r = b.get(&format!("/api/products/by-barcode/{code}"));
        assert_eq!(r.status, 200, "{code}: {}", r.text());
        let product = r.json();
        assert_eq!(product["id"], id.as_str());
        assert_eq!(product["stock_quantity"], 4);
        assert_eq!(product["brand"], "Acme");
    }
    // Percent-encoded characters of a Code 128 label reach the lookup decoded.
    let slashed = b.product("A/B 7");
    let r = b.get("/api/products/by-barcode/A%2FB%207");
    assert_eq!((r.status, r.json()["id"].clone()), (200, json!(slashed)));

    let r = b.get("/api/products/by-barcode/UNKNOWN-9");
    assert_eq!((r.status, r.detail()), (404, json!("Product not found")));
    assert_eq!(b.delete(&format!("/api/products/{id}")).status, 204);
    assert_eq!(b.get("/api/products/by-barcode/SCAN-1").status, 404);
    let long = "9".repeat(101);
    let r = b.get(&format!("/api/products/by-barcode/{long}"));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["detail"][0]["loc"], json!(["path", "code"]));
    assert_eq!(
        b.call_as("", "GET", "/api/products/by-barcode/SCAN-1", None)
            .status,
        401
    );
}

#[test]
fn a_batch_posts_every_line_in_order_or_nothing() {
    let b = Backend::start();
    let p1 = b.product("BATCH-1");
    let p2 = b.product("BATCH-2");
    let dc = b.first_id("/api/distribution-centers/");
    let receipt = json!({
        "operation_type": "receipt", "notes": "pallet 7",
        "lines": [{"product_id": p1, "quantity": 3}, {"product_id": p2, "quantity": 1},
                  {"product_id": p1, "quantity": 2}]
    });
    let r = b.post("/api/stock/movements/batch", &receipt);
    assert_eq!(r.status, 201, "{}", r.text());
    let movements = r.json()["movements"].as_array().expect("movements").clone();
    let summary: Vec<(Value, Value)> = movements
        .iter()
        .map(|m| (m["product_barcode"].clone(), m["quantity"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("BATCH-1"), json!(3)),
            (json!("BATCH-2"), json!(1)),
            (json!("BATCH-1"), json!(2))
        ]
    );
    assert!(movements.iter().all(|m| m["notes"] == "pallet 7"
        && m["operation_type"] == "receipt"
        && m["user_email"] == "admin@wms.example.com"));
    assert_eq!((b.balances(&p1), b.balances(&p2)), ((5, 0), (1, 0)));

    // Ship 4 + 2 of BATCH-1 (5 there) and 2 of BATCH-2 (1 there): lines 1 and 2 are refused,
    // each judged after the lines before it; nothing moves.
    let shipment = json!({
        "operation_type": "shipment_rc", "distribution_center_id": dc,
        "lines": [{"product_id": p1, "quantity": 4}, {"product_id": p1, "quantity": 2},
                  {"product_id": p2, "quantity": 2}]
    });
    let r = b.post("/api/stock/movements/batch", &shipment);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "detail": "2 of 3 lines were refused; nothing was posted",
            "lines": [
                {"index": 1, "product_id": p1, "status": 400, "detail": "Недостаточно товара для отгрузки"},
                {"index": 2, "product_id": p2, "status": 400, "detail": "Недостаточно товара для отгрузки"},
            ]
        })
    );
    assert_eq!((b.balances(&p1), b.balances(&p2)), ((5, 0), (1, 0)));

    // An unknown product is refused on its line; an unknown DC refuses the whole request.
    let ghost = "00000000-0000-4000-8000-000000000001";
    let r = b.post(
        "/api/stock/movements/batch",
        &json!({"operation_type": "write_off", "lines": [{"product_id": ghost, "quantity": 1}]}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["lines"][0]["status"], 404);
    assert_eq!(r.json()["lines"][0]["detail"], "Product not found");
    let r = b.post(
        "/api/stock/movements/batch",
        &json!({"operation_type": "shipment_rc", "distribution_center_id": ghost,
                "lines": [{"product_id": p1, "quantity": 1}]}),
    );
    assert_eq!(
        (r.status, r.detail()),
        (404, json!("Distribution center not found"))
    );
    assert_eq!(b.balances(&p1), (5, 0));

    // Validation: same rules as the single operation, line problems located.
    let r = b.post(
        "/api/stock/movements/batch",
        &json!({"operation_type": "shipment_rc", "lines": [{"product_id": p1, "quantity": 0}]}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["detail"][0]["loc"],
        json!(["body", "lines", 0, "quantity"])
    );
    let r = b.post(
        "/api/stock/movements/batch",
        &json!({"operation_type": "receipt", "lines": []}),
    );
    assert_eq!(
        (r.status, r.json()["detail"][0]["type"].clone()),
        (422, json!("too_short"))
    );
    assert_eq!(
        b.call_as("", "POST", "/api/stock/movements/batch", Some(&receipt))
            .status,
        401
    );
    ledger_is_clean(&b);
}

#[test]
fn a_double_submitted_batch_posts_once() {
    let b = Backend::start();
    let p = b.product("BATCH-IDEM");
    let body = json!({"operation_type": "receipt", "lines": [{"product_id": p, "quantity": 2}]});

    // Five identical submissions at once with one key: one posts, the others replay it.
    let n = 5;
    let barrier = Arc::new(Barrier::new(n));
    let (addr, token) = (b.addr, b.token.clone());
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, token, body) = (Arc::clone(&barrier), token.clone(), body.clone());
            std::thread::spawn(move || {
                barrier.wait();
                try_json_request(
                    addr,
                    &token,
                    "POST",
                    "/api/stock/movements/batch",
                    Some(&body),
                    &[("Idempotency-Key", "session-1-attempt-1")],
                )
                .expect("request")
            })
        })
        .collect();
    let answers: Vec<Resp> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(answers.iter().all(|r| r.status == 201), "{answers:?}");
    let replayed = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, n - 1);
    let ids: Vec<Value> = answers
        .iter()
        .map(|r| r.json()["movements"][0]["id"].clone())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(b.balances(&p), (2, 0));

    // A retry later replays too; the same key with another body is refused.
    let again = post_with_key(
        &b,
        "/api/stock/movements/batch",
        &body,
        "session-1-attempt-1",
    );
    assert_eq!(
        (again.status, again.json()["movements"][0]["id"].clone()),
        (201, ids[0].clone())
    );
    let other = json!({"operation_type": "receipt", "lines": [{"product_id": p, "quantity": 3}]});
    let r = post_with_key(
        &b,
        "/api/stock/movements/batch",
        &other,
        "session-1-attempt-1",
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(b.balances(&p), (2, 0));
    let count = b.sql(&format!(
        "SELECT count(*) FROM stock_movements WHERE product_id = '{p}'"
    ));
    assert_eq!(count, vec![Some("1".to_owned())]);

    // A refused batch stores nothing under its key: the same key works once stock is there.
    let dc = b.first_id("/api/distribution-centers/");
    let ship = json!({"operation_type": "shipment_rc", "distribution_center_id": dc,
                      "lines": [{"product_id": p, "quantity": 3}]});
    let r = post_with_key(&b, "/api/stock/movements/batch", &ship, "ship-1");
    assert_eq!(r.status, 409);
    assert_eq!(b.move_stock(&p, "receipt", 1, json!({})).status, 201);
    let r = post_with_key(&b, "/api/stock/movements/batch", &ship, "ship-1");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(b.balances(&p), (0, 0));
    ledger_is_clean(&b);
}

#[test]
fn the_single_operation_refuses_the_ledger_only_types() {
    let b = Backend::start();
    let p = b.product("LEDGER-ONLY");
    for op in ["stocktake_stock", "stocktake_defect"] {
        let r = b.move_stock(&p, op, 1, json!({}));
        assert_eq!(r.status, 422, "{op}");
        let msg = r.json()["detail"][0]["msg"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            msg.starts_with("Value error, Invalid operation_type. Must be one of: ['receipt'"),
            "{msg}"
        );
    }
}

#[test]
fn a_stocktake_counts_accounts_for_movements_and_posts_its_differences() {
    let b = Backend::start();
    let a = b.product("ST-A");
    let c = b.product("ST-C");
    let untouched = b.product("ST-UNCOUNTED");
    let dc = b.first_id("/api/distribution-centers/");
    assert_eq!(b.move_stock(&a, "receipt", 10, json!({})).status, 201);
    assert_eq!(b.move_stock(&a, "write_off", 1, json!({})).status, 201);
    assert_eq!(b.move_stock(&c, "receipt", 5, json!({})).status, 201);
    assert_eq!(
        b.move_stock(&untouched, "receipt", 7, json!({})).status,
        201
    );

    let r = b.post(
        "/api/stocktakes",
        &json!({"product_ids": [a, c, untouched], "notes": "aisle 3"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let st = r.json();
    let id = st["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (
            st["status"].clone(),
            st["lines_total"].clone(),
            st["lines_counted"].clone()
        ),
        (json!("open"), json!(3), json!(0))
    );

    // While counting: 2 of A are shipped before A is counted; C gets 3 more after its count.
    let ship = json!({"distribution_center_id": dc});
    assert_eq!(b.move_stock(&a, "shipment_rc", 2, ship).status, 201);
    // A: 9 good − 2 shipped = 7 on the shelf, 6 found; 1 defect found, as expected.
    let r = b.put(
        &format!("/api/stocktakes/{id}/lines/{a}"),
        &json!({"counted_quantity": 6, "counted_defect_quantity": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let line = r.json();
    assert_eq!(
        (
            line["expected_quantity"].clone(),
            line["moved_quantity"].clone(),
            line["difference"].clone(),
            line["defect_difference"].clone()
        ),
        (json!(9), json!(-2), json!(-1), json!(0))
    );
    // C is counted by scanning: 6 scans of good stock and one defect unit (a surplus of both).
    for _ in 0..6 {
        let r = b.post(
            &format!("/api/stocktakes/{id}/scan"),
            &json!({"barcode": "ST-C"}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = b.post(
        &format!("/api/stocktakes/{id}/scan"),
        &json!({"barcode": "ST-C", "defect": true}),
    );
    assert_eq!(
        (
            r.json()["counted_quantity"].clone(),
            r.json()["counted_defect_quantity"].clone()
        ),
        (json!(6), json!(1))
    );
    assert_eq!(b.move_stock(&c, "receipt", 3, json!({})).status, 201);

    // Refusals while open.
    let r = b.post(
        &format!("/api/stocktakes/{id}/scan"),
        &json!({"barcode": "NOT-A-PRODUCT"}),
    );
    assert_eq!((r.status, r.detail()), (404, json!("Product not found")));
    let other = b.product("ST-OTHER");
    let r = b.post(
        &format!("/api/stocktakes/{id}/scan"),
        &json!({"barcode": "ST-OTHER"}),
    );
    assert_eq!(
        (r.status, r.detail()),
        (404, json!("Product is not part of this stocktake"))
    );
    let r = b.put(
        &format!("/api/stocktakes/{id}/lines/{other}"),
        &json!({"counted_quantity": 1, "counted_defect_quantity": 0}),
    );
    assert_eq!(r.status, 404);
    let (_, operator_token) = operator(&b, "counter@wms.example.com");
    let r = b.call_as(
        &operator_token,
        "POST",
        &format!("/api/stocktakes/{id}/approve"),
        Some(&json!({"reason": "count"})),
    );
    assert_eq!(r.status, 403);
    let r = b.post(
        &format!("/api/stocktakes/{id}/approve"),
        &json!({"reason": "  "}),
    );
    assert_eq!(r.status, 422);

    let detail = b.get(&format!("/api/stocktakes/{id}")).json();
    assert_eq!(detail["lines_counted"], 2);
    assert_eq!(detail["lines_with_difference"], 2);
    let c_line = line_of(&detail, &c);
    assert_eq!(
        (
            c_line["expected_quantity"].clone(),
            c_line["moved_quantity"].clone(),
            c_line["difference"].clone(),
            c_line["defect_difference"].clone()
        ),
        (json!(5), json!(0), json!(1), json!(1))
    );
    let u_line = line_of(&detail, &untouched);
    assert_eq!(
        (
            u_line["counted_quantity"].clone(),
            u_line["difference"].clone()
        ),
        (Value::Null, Value::Null)
    );

    let r = b.post(
        &format!("/api/stocktakes/{id}/approve"),
        &json!({"reason": "annual count"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(r.json()["reason"], "annual count");
    // A: 7 − 1 = 6 good, 1 defect. C: 5 + 1 (difference) + 3 (after the count) = 9, defect 1.
    assert_eq!(b.balances(&a), (6, 1));
    assert_eq!(b.balances(&c), (9, 1));
    assert_eq!(b.balances(&untouched), (7, 0));
    let rows = b.sql(&format!(
        "SELECT operation_type || ' ' || quantity || ' ' || notes FROM stock_movements \
         WHERE operation_type LIKE 'stocktake%' ORDER BY product_id = '{a}' DESC, operation_type"
    ));
    let prefix = &id.replace('-', "")[..8];
    assert_eq!(
        rows,
        vec![
            Some(format!(
                "stocktake_stock -1 Stocktake {prefix}: annual count"
            )),
            Some(format!(
                "stocktake_defect 1 Stocktake {prefix}: annual count"
            )),
            Some(format!(
                "stocktake_stock 1 Stocktake {prefix}: annual count"
            )),
        ]
    );
    let journal = b
        .get("/api/stock/movements?operation_type=stocktake_defect")
        .json();
    assert_eq!(journal["total"], 1);
    ledger_is_clean(&b);

    // Closed: no more counting, approving or cancelling.
    let r = b.post(
        &format!("/api/stocktakes/{id}/scan"),
        &json!({"barcode": "ST-A"}),
    );
    assert_eq!(
        (r.status, r.detail()),
        (409, json!("Stocktake is not open"))
    );
    assert_eq!(
        b.post(
            &format!("/api/stocktakes/{id}/approve"),
            &json!({"reason": "again"})
        )
        .status,
        409
    );
    assert_eq!(
        b.post(&format!("/api/stocktakes/{id}/cancel"), &json!({}))
            .status,
        409
    );
    let list = b.get("/api/stocktakes?status=approved").json();
    assert_eq!(
        (list["total"].clone(), list["items"][0]["id"].clone()),
        (json!(1), json!(id))
    );
    assert_eq!(b.get("/api/stocktakes?status=closed").status, 422);
}

#[test]
fn starting_a_stocktake_checks_its_products() {
    let b = Backend::start();
    let a = b.product("START-A");
    let gone = b.product("START-GONE");
    assert_eq!(b.delete(&format!("/api/products/{gone}")).status, 204);
    let r = b.post("/api/stocktakes", &json!({"product_ids": [a, gone]}));
    assert_eq!((r.status, r.detail()), (404, json!("Product not found")));
    assert_eq!(b.get("/api/stocktakes").json()["total"], 0);
    let r = b.post("/api/stocktakes", &json!({"product_ids": []}));
    assert_eq!(r.status, 422);
    // Every live product, when none are named.
    let live = b.get("/api/stock/summary").json()["total_products"].clone();
    let r = b.post("/api/stocktakes", &json!({}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["lines_total"], live);
    let missing = b.get("/api/stocktakes/00000000-0000-4000-8000-000000000009");
    assert_eq!(
        (missing.status, missing.detail()),
        (404, json!("Stocktake not found"))
    );
    assert_eq!(b.get("/api/stocktakes/not-a-uuid").status, 422);
}

#[test]
fn only_an_admin_or_the_creator_cancels() {
    let b = Backend::start();
    let a = b.product("CANCEL-A");
    let (_, creator) = operator(&b, "creator@wms.example.com");
    let (_, stranger) = operator(&b, "stranger@wms.example.com");
    let r = b.call_as(
        &creator,
        "POST",
        "/api/stocktakes",
        Some(&json!({"product_ids": [a]})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(r.json()["created_by_email"], "creator@wms.example.com");
    let path = format!("/api/stocktakes/{id}/cancel");
    assert_eq!(b.call_as(&stranger, "POST", &path, None).status, 403);
    let r = b.call_as(&creator, "POST", &path, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(b.balances(&a), (0, 0));
}

#[test]
fn approval_refuses_a_balance_that_would_go_negative() {
    let b = Backend::start();
    let a = b.product("NEG-A");
    let dc = b.first_id("/api/distribution-centers/");
    assert_eq!(b.move_stock(&a, "receipt", 10, json!({})).status, 201);
    let id = b
        .post("/api/stocktakes", &json!({"product_ids": [a]}))
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = b.put(
        &format!("/api/stocktakes/{id}/lines/{a}"),
        &json!({"counted_quantity": 8, "counted_defect_quantity": 0}),
    );
    assert_eq!(r.json()["difference"], -2);
    // 9 of the 10 leave after the count: 1 left, and −2 cannot be posted.
    let ship = json!({"distribution_center_id": dc});
    assert_eq!(b.move_stock(&a, "shipment_rc", 9, ship).status, 201);
    let r = b.post(
        &format!("/api/stocktakes/{id}/approve"),
        &json!({"reason": "count"}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["lines"][0]["product_id"], a.as_str());
    assert_eq!(r.json()["lines"][0]["status"], 400);
    assert_eq!(b.balances(&a), (1, 0));
    assert_eq!(
        b.get(&format!("/api/stocktakes/{id}")).json()["status"],
        "open"
    );
    ledger_is_clean(&b);
}

#[test]
fn approval_under_concurrent_movements_loses_nothing() {
    let b = Backend::start();
    let dc = b.first_id("/api/distribution-centers/");
    let products: Vec<String> = (0..4).map(|i| b.product(&format!("CONC-{i}"))).collect();
    for p in &products {
        assert_eq!(b.move_stock(p, "receipt", 100, json!({})).status, 201);
        assert_eq!(b.move_stock(p, "write_off", 10, json!({})).status, 201);
    }
    let id = b
        .post("/api/stocktakes", &json!({"product_ids": products}))
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Every product counted 5 short of good stock and 2 over on defect.
    for p in &products {
        let r = b.put(
            &format!("/api/stocktakes/{id}/lines/{p}"),
            &json!({"counted_quantity": 85, "counted_defect_quantity": 12}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            (
                r.json()["difference"].clone(),
                r.json()["defect_difference"].clone()
            ),
            (json!(-5), json!(2))
        );
    }

    // Receipts, shipments, write-offs and a batch on the same products race the approval.
    let workers = 8;
    let barrier = Arc::new(Barrier::new(workers + 1));
    let (addr, token) = (b.addr, b.token.clone());
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (barrier, token, products, dc) =
                (Arc::clone(&barrier), token.clone(), products.clone(), dc.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut statuses = Vec::new();
                for round in 0..6 {
                    let p = &products[(w + round) % products.len()];
                    let (path, body) = match (w + round) % 4 {
                        0 => ("/api/stock/movements", json!({"product_id": p, "operation_type": "receipt", "quantity": 3})),
                        1 => ("/api/stock/movements", json!({"product_id": p, "operation_type": "shipment_rc", "quantity": 2, "distribution_center_id": dc})),
                        2 => ("/api/stock/movements", json!({"product_id": p, "operation_type": "write_off", "quantity": 1})),
                        _ => ("/api/stock/movements/batch", json!({"operation_type": "receipt",
                                "lines": products.iter().map(|q| json!({"product_id": q, "quantity": 1})).collect::<Vec<_>>()})),
                    };
                    let r = try_json_request(addr, &token, "POST", path, Some(&body), &[])
                        .expect("request");
                    statuses.push(r.status);
                }
                statuses
            })
        })
        .collect();
    barrier.wait();
    let r = b.post(
        &format!("/api/stocktakes/{id}/approve"),
        &json!({"reason": "racing"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let statuses: Vec<u16> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("worker"))
        .collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    // Each balance = what the journal says; and = start (90/10) + the racing movements
    // + the approved differences (−5/+2), whatever the interleaving.
    ledger_is_clean(&b);
    for p in &products {
        let sums = b.sql(&format!(
            "SELECT COALESCE(sum(CASE operation_type WHEN 'receipt' THEN quantity \
               WHEN 'shipment_rc' THEN -quantity WHEN 'write_off' THEN -quantity ELSE 0 END), 0) \
               || ' ' || COALESCE(sum(CASE operation_type WHEN 'write_off' THEN quantity ELSE 0 END), 0) \
             FROM stock_movements WHERE product_id = '{p}'"
        ));
        let text = sums[0].clone().unwrap_or_default();
        let mut parts = text.split(' ').map(|n| n.parse::<i64>().expect("number"));
        let (good, defect) = (parts.next().expect("good"), parts.next().expect("defect"));
        assert_eq!(b.balances(p), (good - 5, defect + 2), "{p}");
    }
}
