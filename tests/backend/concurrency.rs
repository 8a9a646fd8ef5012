//! Stock safety under concurrency: guarded decrements never oversell, parallel mixed
//! operations keep balances equal to the journal, idempotency keys move stock once, and an
//! import racing with operations loses nothing (B-42).

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::http::request;
use crate::server::Backend;

/// Runs `n` requests at once (released together by a barrier); returns the responses.
fn at_once<F>(n: usize, f: F) -> Vec<crate::http::Resp>
where
    F: Fn(usize) -> crate::http::Resp + Send + Sync + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("request thread"))
        .collect()
}

fn post_json(
    addr: std::net::SocketAddr,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> crate::http::Resp {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    request(
        addr,
        "POST",
        "/api/stock/movements",
        &headers,
        body.to_string().as_bytes(),
    )
}

#[test]
fn fifty_parallel_shipments_against_ten_ship_exactly_ten() {
    let b = Backend::start();
    let p = b.product("RACE-1");
    let dc = b.first_id("/api/distribution-centers/");
    assert_eq!(b.move_stock(&p, "receipt", 10, json!({})).status, 201);
    let (addr, token) = (b.addr, b.token.clone());
    let body = json!({"product_id": p, "operation_type": "shipment_rc", "quantity": 1, "distribution_center_id": dc});
    let results = at_once(50, move |_| post_json(addr, &token, &body, None));
    let ok = results.iter().filter(|r| r.status == 201).count();
    let refused = results
        .iter()
        .filter(|r| {
            r.status == 400 && r.json() == json!({"detail": "Недостаточно товара для отгрузки"})
        })
        .count();
    assert_eq!(
        (ok, refused),
        (10, 40),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(b.balances(&p), (0, 0));
    assert_eq!(
        b.get("/api/stock/movements?operation_type=shipment_rc")
            .json()["total"],
        10
    );
    let min = b.sql("SELECT min(quantity) FROM stocks");
    assert_eq!(min, [Some("0".to_owned())]);
}

#[test]
fn parallel_mixed_operations_keep_balances_equal_to_the_journal() {
    let b = Backend::start();
    let products: Vec<String> = (0..3).map(|i| b.product(&format!("MIX-{i}"))).collect();
    for p in &products {
        b.move_stock(p, "receipt", 20, json!({}));
    }
    let (addr, token) = (b.addr, b.token.clone());
    let ps = products.clone();
    let ops = [
        "receipt",
        "write_off",
        "restoration",
        "utilization",
        "receipt_defect",
        "write_off",
    ];
    let results = at_once(60, move |i| {
        let body = json!({
            "product_id": ps[i % ps.len()],
            "operation_type": ops[i % ops.len()],
            "quantity": 1 + (i % 3),
        });
        post_json(addr, &token, &body, None)
    });
    assert!(
        results.iter().all(|r| r.status == 201 || r.status == 400),
        "no 5xx, no deadlock"
    );
    assert!(results.iter().filter(|r| r.status == 201).count() > 30);
    let check = b.get("/api/admin/ledger-check").json();
    assert_eq!(check["consistent"], true, "{check}");
    assert_eq!(check["products_checked"], 3);
    // The triggers' journal total agrees with a real count after concurrent writers.
    let counted = b.sql("SELECT count(*) FROM stock_movements")[0].clone();
    assert_eq!(
        b.get("/api/stock/movements").json()["total"].to_string(),
        counted.unwrap_or_default()
    );
    let negative = b.sql(
        "SELECT count(*) FROM stocks s, defect_stocks d WHERE s.quantity < 0 OR d.quantity < 0",
    );
    assert_eq!(negative, [Some("0".to_owned())]);
}

#[test]
fn idempotent_retries_move_once_and_replay_the_first_answer() {
    let b = Backend::start();
    let p = b.product("IDEM-1");
    let (addr, token) = (b.addr, b.token.clone());
    let body = json!({"product_id": p, "operation_type": "receipt", "quantity": 3});
    let first = post_json(addr, &token, &body, Some("order-42"));
    assert_eq!(first.status, 201);
    let again = post_json(addr, &token, &body, Some("order-42"));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.json(),
        first.json(),
        "the stored answer, same movement id"
    );
    assert_eq!(b.balances(&p), (3, 0));

    // Twenty simultaneous retries of a new key: one movement.
    let body2 = json!({"product_id": p, "operation_type": "receipt", "quantity": 5});
    let t = token.clone();
    let results = at_once(20, move |_| post_json(addr, &t, &body2, Some("order-43")));
    assert!(
        results.iter().all(|r| r.status == 201),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter_map(|r| r.json()["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(b.balances(&p), (8, 0));

    // The same key with another request: refused, nothing moves.
    let other = json!({"product_id": p, "operation_type": "receipt", "quantity": 4});
    let r = post_json(addr, &token, &other, Some("order-43"));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(b.balances(&p), (8, 0));
    // A failed attempt stores nothing: after fixing the cause, the key works.
    let ship = json!({"product_id": p, "operation_type": "utilization", "quantity": 1});
    assert_eq!(post_json(addr, &token, &ship, Some("order-44")).status, 400);
    b.move_stock(&p, "receipt_defect", 1, json!({}));
    assert_eq!(post_json(addr, &token, &ship, Some("order-44")).status, 201);
    // Keys are per user; invalid keys are 422.
    let r = post_json(addr, &token, &body, Some(&"k".repeat(256)));
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["header", "idempotency-key"]));
    assert_eq!(
        b.sql("SELECT count(*) FROM idempotency_keys"),
        [Some("3".to_owned())]
    );
}

#[test]
fn an_import_racing_with_operations_loses_nothing() {
    let b = Backend::start();
    let p = b.product("IMP-RACE");
    b.move_stock(&p, "receipt", 100, json!({}));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("name");
    ws.write_string(0, 0, "Баркод").expect("w");
    ws.write_string(0, 1, "АКТУАЛЬНЫЙ ОСТАТОК").expect("w");
    ws.write_string(1, 0, "IMP-RACE").expect("w");
    ws.write_number(1, 1, 50.0).expect("w");
    let file = wb.save_to_buffer().expect("xlsx");
    let boundary = "race-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.xlsx\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (addr, token) = (b.addr, b.token.clone());
    let pid = p.clone();
    let results = at_once(21, move |i| {
        let auth = format!("Bearer {token}");
        if i == 0 {
            let ct = format!("multipart/form-data; boundary={boundary}");
            request(
                addr,
                "POST",
                "/api/import/excel",
                &[("Authorization", &auth), ("Content-Type", &ct)],
                &body,
            )
        } else {
            let m = json!({"product_id": pid, "operation_type": "receipt", "quantity": 1});
            post_json(addr, &token, &m, None)
        }
    });
    assert_eq!(
        results[0].json()["result"]["success"],
        true,
        "{}",
        results[0].text()
    );
    assert!(results[1..].iter().all(|r| r.status == 201));
    // Whatever the interleaving, the journal explains the balance exactly.
    let check = b.get("/api/admin/ledger-check").json();
    assert_eq!(check["consistent"], true, "{check}");
    let (stock, _) = b.balances(&p);
    assert!((50..=70).contains(&stock), "{stock}");
}
