//! CSV exports (streamed), the ledger check, and hostile input that must never reach a 5xx.

use serde_json::json;

use crate::http::request;
use crate::server::Backend;

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let body = text.strip_prefix('\u{feff}').expect("a UTF-8 BOM first");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn products_and_journal_export_as_csv() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "CSV-1", "brand": "Бренд, \"кавычки\""}),
    );
    let p = r.json()["id"].as_str().expect("id").to_owned();
    b.product("CSV-2");
    b.move_stock(&p, "receipt", 3, json!({"notes": "строка\nдве"}));
    b.move_stock(&p, "write_off", 1, json!({}));

    let r = b.get("/api/export/products.csv");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        r.header("content-disposition")
            .unwrap_or("")
            .contains("products.csv")
    );
    let rows = csv_rows(&r.text());
    assert_eq!(rows[0][..3], ["id", "barcode", "gtin"]);
    assert_eq!(rows.len(), 3);
    let csv1 = rows
        .iter()
        .find(|row| row[1] == "CSV-1")
        .expect("CSV-1 row");
    assert_eq!(csv1[5], "Бренд, \"кавычки\"");
    assert_eq!((csv1[7].as_str(), csv1[8].as_str()), ("2", "1"));
    let filtered = csv_rows(&b.get("/api/export/products.csv?barcode=csv-2").text());
    assert_eq!(filtered.len(), 2);

    let rows = csv_rows(&b.get("/api/export/movements.csv").text());
    assert_eq!(
        rows[0][..4],
        ["created_at", "operation_type", "operation", "quantity"]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[1][1].as_str(), rows[1][2].as_str()),
        ("write_off", "Списание в брак")
    );
    assert_eq!(rows[2][12], "строка\nдве");
    let only = csv_rows(
        &b.get("/api/export/movements.csv?operation_type=receipt")
            .text(),
    );
    assert_eq!(only.len(), 2);
    let r = b.get("/api/export/movements.csv?date_from=bad");
    assert_eq!(r.status, 422);
    assert_eq!(
        request(b.addr, "GET", "/api/export/products.csv", &[], b"").status,
        401
    );
}

#[test]
fn large_exports_stream_every_row() {
    let b = Backend::start();
    let p = b.product("BULK");
    let user = b.get("/api/auth/me").json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    b.sql(&format!(
        "INSERT INTO stock_movements (operation_type, product_id, quantity, user_id, notes) \
         SELECT 'receipt', '{p}', 1, '{user}', 'row ' || i FROM generate_series(1, 20000) AS i; \
         UPDATE stocks SET quantity = 20000 WHERE product_id = '{p}'"
    ));
    let r = b.get("/api/export/movements.csv");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(csv_rows(&r.text()).len(), 20001);
    assert_eq!(b.get("/api/admin/ledger-check").json()["consistent"], true);
}

#[test]
fn the_ledger_check_finds_balances_the_journal_does_not_explain() {
    let b = Backend::start();
    let p = b.product("LEDGER");
    b.move_stock(&p, "receipt", 5, json!({}));
    let ok = b.get("/api/admin/ledger-check").json();
    assert_eq!(
        ok,
        json!({"consistent": true, "products_checked": 1, "mismatches": []})
    );
    b.sql(&format!(
        "UPDATE defect_stocks SET quantity = 2 WHERE product_id = '{p}'"
    ));
    let bad = b.get("/api/admin/ledger-check").json();
    assert_eq!(bad["consistent"], false);
    assert_eq!(
        bad["mismatches"][0],
        json!({"product_id": p, "barcode": "LEDGER", "is_deleted": false,
               "stock_quantity": 5, "stock_ledger": 5, "defect_quantity": 2, "defect_ledger": 0})
    );
}

#[test]
fn hostile_input_never_gets_a_5xx() {
    let b = Backend::start();
    let p = b.product("HOSTILE");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let long = "x".repeat(200_000);
    let bodies: Vec<Vec<u8>> = vec![
        br#"{"name": "a\u0000b", "barcode": "a\u0000b", "email": "a\u0000@b.c", "password": "\u0000"}"#.to_vec(),
        br#"{"quantity": 1e400}"#.to_vec(),
        br#"{"quantity": -99999999999999999999999, "product_id": 5}"#.to_vec(),
        deep.into_bytes(),
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        b"null".to_vec(),
        b"\"text\"".to_vec(),
        b"123".to_vec(),
        format!(r#"{{"name": "{long}", "barcode": "{long}", "notes": "{long}"}}"#).into_bytes(),
        vec![b'{'; 2 << 20],
        format!(r#"{{"product_id": "{p}", "operation_type": "receipt", "quantity": 1, "notes": "\u0000"}}"#).into_bytes(),
        format!(r#"{{"product_id": "{p}", "operation_type": "shipment_rc", "quantity": 1, "distribution_center_id": "{p}"}}"#).into_bytes(),
    ];
    let targets = [
        ("POST", "/api/auth/login".to_owned()),
        ("POST", "/api/auth/change-password".to_owned()),
        ("POST", "/api/users/".to_owned()),
        ("POST", "/api/sources/".to_owned()),
        ("POST", "/api/distribution-centers/".to_owned()),
        ("POST", "/api/products/".to_owned()),
        ("PUT", format!("/api/products/{p}")),
        ("PUT", format!("/api/sources/{p}")),
        ("POST", "/api/stock/movements".to_owned()),
    ];
    for (method, path) in &targets {
        for body in &bodies {
            let r = b.raw(method, path, &[("Content-Type", "application/json")], body);
            assert!(
                r.status < 500,
                "{method} {path} {:?}: {} {}",
                String::from_utf8_lossy(&body[..body.len().min(60)]),
                r.status,
                r.text()
            );
        }
    }
    for path in [
        "/api/products/?page=99999999999999999999999",
        "/api/products/?page=2147483647&page_size=100",
        "/api/products/?barcode=%00",
        "/api/products/?barcode=%zz%ff",
        "/api/stock/movements?date_from=%00",
        "/api/stock/movements?date_from=99999999999999999999",
        "/api/stock/movements?date_from=-99999999999",
        "/api/stock/movements?date_to=9999-12-31",
        "/api/stock/movements?date_from=0000-01-01",
        "/api/stock/movements?product_id=%FF",
        "/api/stock/movements?operation_type=%00",
        "/api/products/%00",
        "/api/products/%FF%FE",
        "/api/export/movements.csv?barcode=%00",
    ] {
        let r = b.get(path);
        assert!(r.status < 500, "{path}: {} {}", r.status, r.text());
    }
    let r = b.raw(
        "POST",
        "/api/sources/",
        &[("Content-Type", "application/json")],
        &vec![b' '; 2 << 20],
    );
    assert_eq!(
        (r.status, r.json()),
        (413, json!({"detail": "Request body too large"}))
    );
}
