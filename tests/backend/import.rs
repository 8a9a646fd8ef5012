//! The Excel import (spec 9, our version 9.5): real `.xlsx` files written with
//! rust_xlsxwriter in the test, a real legacy `.xls` fixture (`fixtures/make_xls.py`),
//! journal rows for every balance change, all-or-nothing row errors, limits.

use serde_json::{Value, json};

use crate::http::{Resp, request};
use crate::server::Backend;

/// A cell of a test sheet.
enum C {
    S(&'static str),
    N(f64),
    E,
}

const HEADER: [&str; 6] = [
    "Баркод",
    "Артикул продавца",
    "Размер",
    "Бренд",
    "АКТУАЛЬНЫЙ ОСТАТОК",
    "БРАКИ",
];

/// An .xlsx with `rows` (row 0 = header) in sheet `sheet`, plus an unrelated first sheet.
fn xlsx(sheet: &str, rows: &[Vec<C>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet()
        .set_name("Инструкция")
        .expect("sheet name")
        .write_string(0, 0, "ignored")
        .expect("write");
    let ws = wb.add_worksheet().set_name(sheet).expect("sheet name");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                C::S(s) => {
                    ws.write_string(r, c, *s).expect("write");
                }
                C::N(n) => {
                    ws.write_number(r, c, *n).expect("write");
                }
                C::E => {}
            }
        }
    }
    wb.save_to_buffer().expect("xlsx bytes")
}

fn header() -> Vec<C> {
    HEADER.iter().map(|h| C::S(h)).collect()
}

fn multipart(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "wms-test-boundary-7f3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(b: &Backend, filename: &str, bytes: &[u8]) -> Resp {
    let (ct, body) = multipart("file", filename, bytes);
    b.raw("POST", "/api/import/excel", &[("Content-Type", &ct)], &body)
}

fn result(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert!(j["duration_seconds"].is_number());
    j["result"].clone()
}

fn product_by_barcode(b: &Backend, barcode: &str) -> Value {
    let page = b.get(&format!("/api/products/?barcode={barcode}")).json();
    page["items"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["barcode"] == barcode))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn creates_updates_and_journals_every_balance_change() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "EX-1", "brand": "Old", "size": "M"}),
    );
    let existing = r.json()["id"].as_str().expect("id").to_owned();
    b.move_stock(&existing, "receipt", 5, json!({}));
    let file = xlsx(
        "Сводная",
        &[
            header(),
            vec![
                C::S(" EX-1 "),
                C::S("S-1"),
                C::E,
                C::S("New"),
                C::N(3.0),
                C::N(2.0),
            ],
            vec![C::N(4601234567890.0), C::E, C::E, C::E, C::N(10.0), C::E],
            vec![C::S("ABC-1")],
            vec![C::E, C::E, C::E, C::E, C::E, C::E],
        ],
    );
    let res = result(&upload(&b, "остатки.xlsx", &file));
    assert_eq!(
        res,
        json!({"total_rows": 3, "created": 2, "updated": 1, "errors": [], "success": true})
    );
    // The existing product: attributes set where the sheet has values, kept where empty.
    let p = product_by_barcode(&b, "EX-1");
    assert_eq!(
        (
            p["brand"].clone(),
            p["size"].clone(),
            p["seller_sku"].clone()
        ),
        (json!("New"), json!("M"), json!("S-1"))
    );
    assert_eq!(b.balances(&existing), (3, 2));
    // A numeric barcode cell reads as digits (B-38) and gets its GTIN; others get none.
    let n = product_by_barcode(&b, "4601234567890");
    assert_eq!(
        (
            n["gtin"].clone(),
            n["stock_quantity"].clone(),
            n["defect_quantity"].clone()
        ),
        (json!("04601234567890"), json!(10), json!(0))
    );
    assert_eq!(product_by_barcode(&b, "ABC-1")["gtin"], Value::Null);
    // B-01: signed ledger rows, with notes, by the importing user.
    let j = b
        .get("/api/stock/movements?operation_type=import_stock&page_size=100")
        .json();
    let mut stock_rows: Vec<(String, i64, String)> = j["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            (
                m["product_barcode"].as_str().unwrap_or("").to_owned(),
                m["quantity"].as_i64().unwrap_or(0),
                m["notes"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    stock_rows.sort();
    assert_eq!(
        stock_rows,
        [
            (
                "4601234567890".to_owned(),
                10,
                "Excel import: 0 → 10".to_owned()
            ),
            ("EX-1".to_owned(), -2, "Excel import: 5 → 3".to_owned()),
        ]
    );
    let j = b
        .get("/api/stock/movements?operation_type=import_defect")
        .json();
    assert_eq!(j["total"], 1);
    assert_eq!(j["items"][0]["quantity"], 2);
    assert_eq!(j["items"][0]["user_email"], "admin@wms.example.com");
    let check = b.get("/api/admin/ledger-check").json();
    assert_eq!(check["consistent"], true, "{check}");
    // Importing the same file again changes nothing and journals nothing.
    let res = result(&upload(&b, "остатки.xlsx", &file));
    assert_eq!(
        (res["created"].clone(), res["updated"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(b.get("/api/stock/movements?page_size=1").json()["total"], 4);
}

#[test]
fn absent_columns_leave_data_alone_and_deleted_products_come_back() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "KEEP", "brand": "Brand", "seller_sku": "SKU"}),
    );
    let keep = r.json()["id"].as_str().expect("id").to_owned();
    b.move_stock(&keep, "receipt", 4, json!({}));
    let gone = b.product("GONE");
    assert_eq!(b.delete(&format!("/api/products/{gone}")).status, 204);
    let file = xlsx(
        "Сводная",
        &[
            vec![C::S("Бренд"), C::S("Баркод")],
            vec![C::E, C::S("KEEP")],
            vec![C::S("Back"), C::S("GONE")],
        ],
    );
    let res = result(&upload(&b, "a.XLSX", &file));
    assert_eq!(
        (res["success"].clone(), res["updated"].clone()),
        (json!(true), json!(2))
    );
    let p = product_by_barcode(&b, "KEEP");
    assert_eq!(
        (p["brand"].clone(), p["seller_sku"].clone()),
        (json!("Brand"), json!("SKU"))
    );
    assert_eq!(
        b.balances(&keep),
        (4, 0),
        "no quantity columns: balances untouched (B-05)"
    );
    assert_eq!(
        b.get("/api/stock/movements").json()["total"],
        1,
        "no import rows"
    );
    assert_eq!(
        product_by_barcode(&b, "GONE")["brand"],
        "Back",
        "undeleted (B-07)"
    );
}

#[test]
fn row_errors_reject_the_whole_file() {
    let b = Backend::start();
    let before = b.get("/api/products/").json()["total"].clone();
    let long_brand = Box::leak("b".repeat(256).into_boxed_str());
    let file = xlsx(
        "Сводная",
        &[
            header(),
            vec![C::S("OK-1"), C::E, C::E, C::E, C::N(1.0), C::N(0.0)],
            vec![C::E, C::S("sku without barcode")],
            vec![C::S("OK-1")],
            vec![C::S("NEG"), C::E, C::E, C::E, C::N(-1.0), C::N(-2.0)],
            vec![C::S("TXT"), C::E, C::E, C::E, C::S("abc"), C::N(1.5)],
            vec![C::S("LONG"), C::E, C::E, C::S(long_brand)],
            vec![C::S("OK-2"), C::E, C::E, C::E, C::S(" 7 ")],
        ],
    );
    let res = result(&upload(&b, "bad.xlsx", &file));
    assert_eq!(res["success"], false);
    assert_eq!(res["total_rows"], 7, "B-08: counted although rows failed");
    assert_eq!(
        (res["created"].clone(), res["updated"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        res["errors"],
        json!([
            {"row_number": 3, "field": "barcode", "message": "Barcode is required"},
            {"row_number": 4, "field": "barcode", "message": "Duplicate barcode, first occurrence at row 2"},
            {"row_number": 5, "field": "stock_quantity", "message": "Stock quantity cannot be negative"},
            {"row_number": 5, "field": "defect_quantity", "message": "Defect quantity cannot be negative"},
            {"row_number": 6, "field": "stock_quantity", "message": "Quantity must be a non-negative integer"},
            {"row_number": 6, "field": "defect_quantity", "message": "Quantity must be a non-negative integer"},
            {"row_number": 7, "field": "brand", "message": "Value is too long (at most 255 characters)"},
        ])
    );
    assert_eq!(
        b.get("/api/products/").json()["total"],
        before,
        "nothing written (B-04)"
    );
}

#[test]
fn file_level_problems() {
    let b = Backend::start();
    let fail = |r: &Resp| {
        let res = result(r);
        assert_eq!(res["success"], false);
        res["errors"][0].clone()
    };
    let e = fail(&upload(&b, "x.xlsx", &xlsx("Summary", &[header()])));
    assert_eq!(
        e,
        json!({"row_number": 0, "field": "sheet", "message": "Sheet 'Сводная' not found"})
    );
    let e = fail(&upload(
        &b,
        "x.xlsx",
        &xlsx("Сводная", &[vec![C::S("Штрихкод")], vec![C::S("1")]]),
    ));
    assert_eq!(
        e,
        json!({"row_number": 1, "field": "barcode", "message": "Required column 'Баркод' not found"})
    );
    let e = fail(&upload(&b, "x.xlsx", &xlsx("Сводная", &[])));
    assert_eq!(
        e,
        json!({"row_number": 1, "field": "header", "message": "Empty file - no header row"})
    );
    // The header belongs in row 1: a sheet starting lower has none.
    let e = fail(&upload(
        &b,
        "x.xlsx",
        &xlsx(
            "Сводная",
            &[vec![], vec![], vec![C::S("Баркод")], vec![C::S("X")]],
        ),
    ));
    assert_eq!(e["field"], "barcode");
    let e = fail(&upload(&b, "x.xlsx", b"this is not a workbook"));
    assert_eq!(e["field"], "file");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Failed to open Excel file: ")
    );
    let e = fail(&upload(&b, "x.xlsx", b"PK\x03\x04 a broken zip"));
    assert_eq!(e["field"], "file");
    // Only the header: success, nothing to do.
    let res = result(&upload(&b, "x.xlsx", &xlsx("Сводная", &[header()])));
    assert_eq!(
        res,
        json!({"total_rows": 0, "created": 0, "updated": 0, "errors": [], "success": true})
    );

    let r = upload(&b, "data.csv", b"a,b");
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"detail": "File must be Excel format (.xlsx or .xls)"})
        )
    );
    let (ct, body) = multipart("other", "x.xlsx", b"x");
    let r = b.raw("POST", "/api/import/excel", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body", "file"]));
    let r = b.raw(
        "POST",
        "/api/import/excel",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(r.status, 422);
    let r = request(b.addr, "POST", "/api/import/excel", &[], b"");
    assert_eq!(r.status, 401);
}

#[test]
fn uploads_over_the_limit_are_413() {
    let b = Backend::start_with(&[], &[("WMS_UPLOAD_LIMIT", "4KiB")]);
    let big = vec![b'x'; 64 * 1024];
    let r = upload(&b, "big.xlsx", &big);
    assert_eq!(
        (r.status, r.json()),
        (413, json!({"detail": "File too large"}))
    );
    // Without Content-Length (chunked), the limit holds while reading.
    let (ct, body) = multipart("file", "big.xlsx", &big);
    let mut chunked = Vec::new();
    for piece in body.chunks(4096) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let auth = format!("Bearer {}", b.token);
    let r = crate::http::raw_request(
        b.addr,
        "POST",
        "/api/import/excel",
        &[
            ("Authorization", &auth),
            ("Content-Type", &ct),
            ("Transfer-Encoding", "chunked"),
        ],
        &chunked,
    );
    assert_eq!(
        (r.status, r.json()),
        (413, json!({"detail": "File too large"}))
    );
    let small = xlsx("Сводная", &[header(), vec![C::S("SMALL")]]);
    assert!(small.len() < 4096 * 2);
}

#[test]
fn legacy_xls_files_are_read() {
    let b = Backend::start();
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/backend/fixtures/summary.xls"
    ))
    .expect("the .xls fixture");
    let res = result(&upload(&b, "old.xls", &file));
    assert_eq!(
        res,
        json!({"total_rows": 2, "created": 2, "updated": 0, "errors": [], "success": true})
    );
    let n = product_by_barcode(&b, "4601234567891");
    assert_eq!(
        (n["stock_quantity"].clone(), n["defect_quantity"].clone()),
        (json!(12), json!(1))
    );
    let t = product_by_barcode(&b, "XLS-TEXT");
    assert_eq!(
        (
            t["brand"].clone(),
            t["size"].clone(),
            t["seller_sku"].clone()
        ),
        (json!("Бренд XLS"), json!("L"), json!("арт-1"))
    );
    assert_eq!(t["stock_quantity"], 3);
}

#[test]
fn generated_gtins_never_collide() {
    let b = Backend::start();
    // An existing product already uses the GTIN the barcode would pad to.
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "OTHER", "gtin": "00012345678905"}),
    );
    assert_eq!(r.status, 201);
    let file = xlsx(
        "Сводная",
        &[
            vec![C::S("Баркод")],
            vec![C::S("12345678905")],
            vec![C::S("012345678905")],
            vec![C::S("0012345678905")],
            vec![C::S("ABCDEFGHIJK-1")],
            vec![C::S("ABCDEFGHIJK-2")],
        ],
    );
    let res = result(&upload(&b, "g.xlsx", &file));
    assert_eq!(res["success"], true, "{res}");
    assert_eq!(res["created"], 5);
    // 11 digits: no GTIN; 12 and 13 digits pad to the taken GTIN: none either (B-03).
    for barcode in [
        "12345678905",
        "012345678905",
        "0012345678905",
        "ABCDEFGHIJK-1",
        "ABCDEFGHIJK-2",
    ] {
        assert_eq!(
            product_by_barcode(&b, barcode)["gtin"],
            Value::Null,
            "{barcode}"
        );
    }
}

// ---- issue 14: hostile workbooks ---------------------------------------------------------

/// The backend still serves after a hostile upload: same process, `/health` 200.
fn still_alive(b: &mut Backend, pid: u32) {
    assert_eq!(b.pid(), pid);
    assert_eq!(
        request(b.addr, "GET", "/health", &[], b"").status,
        200,
        "the backend stopped answering:\n{}",
        b.output().join("\n")
    );
}

/// A refusal: `status` and a `detail` that names the limit.
fn refused(r: &Resp, status: u16, names: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let detail = r.detail();
    let detail = detail.as_str().unwrap_or_default();
    assert!(detail.contains(names), "{detail:?} does not name {names:?}");
}

/// One cell at XFD1048576 beside a proper header: calamine would allocate a dense grid of
/// 1.7·10¹⁰ cells for it and abort the process (the report of issue 14).
fn far_cell_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("sheet name");
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("write");
    }
    ws.write_string(1, 0, "4600000000017").expect("write");
    ws.write_string(1_048_575, 16_383, "x").expect("write");
    wb.save_to_buffer().expect("xlsx bytes")
}

#[test]
fn issue_14_a_sheet_with_one_far_cell_is_refused_and_the_backend_lives() {
    let mut b = Backend::start();
    let pid = b.pid();
    let file = far_cell_workbook();
    assert!(file.len() < 10_000, "a small file: {} bytes", file.len());
    let r = upload(&b, "far.xlsx", &file);
    refused(&r, 413, "at most 30000 rows (the sheet uses row 1048576)");
    still_alive(&mut b, pid);
    // Nothing was imported.
    assert_eq!(product_by_barcode(&b, "4600000000017"), Value::Null);
}

/// A valid workbook whose sheet carries `padding` bytes of empty elements (compressed
/// ~1000:1), or of spaces (one long stretch of text) with `one_run`.
fn padded_workbook(padding: usize, one_run: bool) -> Vec<u8> {
    use std::io::Write;
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Баркод</t></is></c></row>"#,
    );
    if one_run {
        sheet.push_str(&" ".repeat(padding));
    } else {
        sheet.push_str(&"<a/>".repeat(padding / 4));
    }
    sheet.push_str(r#"<row r="2"><c r="A2" t="inlineStr"><is><t>BOMB-1</t></is></c></row></sheetData></worksheet>"#);
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Сводная" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.start_file("xl/worksheets/sheet1.xml", options)
        .expect("zip entry");
    zip.write_all(sheet.as_bytes()).expect("zip write");
    zip.finish().expect("zip").into_inner()
}

#[test]
fn zip_bombs_are_refused_by_their_compression_ratio() {
    let mut b = Backend::start();
    let pid = b.pid();
    // With half a MiB of padding (under the ratio floor) it imports: the hand-made workbook
    // itself is fine.
    let res = result(&upload(&b, "ok.xlsx", &padded_workbook(512 << 10, false)));
    assert_eq!(res["created"], 1, "{res}");
    let bomb = padded_workbook(20 << 20, false);
    assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
    let r = upload(&b, "bomb.xlsx", &bomb);
    refused(&r, 413, "a compression ratio of at most 100:1");
    // One piece of text of 1 MiB (the XML reader would hold it whole).
    let r = upload(&b, "run.xlsx", &padded_workbook(1 << 20, true));
    refused(&r, 413, "at most 128 KiB in one cell or tag");
    still_alive(&mut b, pid);
}

#[test]
fn sheets_with_too_many_rows_are_refused() {
    let mut b = Backend::start();
    let pid = b.pid();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("sheet name");
    ws.write_string(0, 0, "Баркод").expect("write");
    for r in 1..=30_000u32 {
        ws.write_number(r, 0, f64::from(r)).expect("write");
    }
    let file = wb.save_to_buffer().expect("xlsx bytes");
    let r = upload(&b, "rows.xlsx", &file);
    refused(&r, 413, "at most 30000 rows (the sheet uses row 30001)");
    still_alive(&mut b, pid);
}

/// `summary.xls` with its last shared-string cell moved to (row 65536, column IV), or its
/// DIMENSIONS record claiming billions of rows.
fn patched_xls(dimensions: bool) -> Vec<u8> {
    let mut bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/backend/fixtures/summary.xls"
    ))
    .expect("fixture");
    let (pattern, patch): (&[u8], &[u8]) = if dimensions {
        // DIMENSIONS, 14 bytes: first row 0, last row + 1 = 0xFFFFFFF0, columns 0..256.
        (
            b"\x00\x02\x0e\x00",
            b"\x00\x00\x00\x00\xf0\xff\xff\xff\x00\x00\x00\x01",
        )
    } else {
        // LABELSST, 10 bytes: row 0xFFFF, column 0xFF.
        (b"\xfd\x00\x0a\x00", b"\xff\xff\xff\x00")
    };
    let at = bytes
        .windows(pattern.len())
        .rposition(|w| w == pattern)
        .expect("the record in the fixture");
    bytes[at + 4..at + 4 + patch.len()].copy_from_slice(patch);
    bytes
}

#[test]
fn legacy_xls_bombs_are_refused() {
    let mut b = Backend::start();
    let pid = b.pid();
    let r = upload(&b, "far.xls", &patched_xls(false));
    refused(&r, 413, "cells spanned by the sheets of a legacy .xls file");
    let r = upload(&b, "dimensions.xls", &patched_xls(true));
    refused(&r, 413, "its DIMENSIONS record claims more");
    still_alive(&mut b, pid);
    // The unpatched fixture still imports.
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/backend/fixtures/summary.xls"
    ))
    .expect("fixture");
    assert_eq!(
        result(&upload(&b, "summary.xls", &fixture))["success"],
        true
    );
}

#[test]
fn only_an_administrators_import_restores_a_deleted_product() {
    let b = Backend::start();
    let gone = b.product("GONE-OP");
    assert_eq!(b.delete(&format!("/api/products/{gone}")).status, 204);
    let r = b.post(
        "/api/users/",
        &json!({"email": "importer@wms.example.com", "password": "operator-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let login = b.call_as(
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": "importer@wms.example.com", "password": "operator-1"})),
    );
    let op = login.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let file = xlsx(
        "Сводная",
        &[
            vec![C::S("Баркод"), C::S("АКТУАЛЬНЫЙ ОСТАТОК")],
            vec![C::S("NEW-OP"), C::N(1.0)],
            vec![C::S("GONE-OP"), C::N(2.0)],
        ],
    );
    let (ct, body) = multipart("file", "op.xlsx", &file);
    let auth = format!("Bearer {op}");
    let r = request(
        b.addr,
        "POST",
        "/api/import/excel",
        &[("Content-Type", &ct), ("Authorization", &auth)],
        &body,
    );
    let res = result(&r);
    assert_eq!(res["success"], false);
    assert_eq!(
        res["errors"],
        json!([{"row_number": 3, "field": "barcode",
                "message": "Product with barcode 'GONE-OP' is deleted; only an administrator can restore it"}])
    );
    assert_eq!(
        product_by_barcode(&b, "NEW-OP"),
        Value::Null,
        "all or nothing"
    );
    // The administrator's import restores it.
    let res = result(&upload(&b, "admin.xlsx", &file));
    assert_eq!(
        (res["created"].clone(), res["updated"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(product_by_barcode(&b, "GONE-OP")["stock_quantity"], 2);
}

#[test]
fn uploads_of_several_mebibytes_are_read_whole() {
    // Beyond axum's 2 MB default body limit, within WMS_UPLOAD_LIMIT (20 MiB): a workbook
    // with a 5 MiB incompressible part next to its sheet.
    use std::io::Write;
    let b = Backend::start();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("sheet name");
    ws.write_string(0, 0, "Баркод").expect("write");
    ws.write_string(1, 0, "BIG-1").expect("write");
    let small = wb.save_to_buffer().expect("xlsx");
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(small)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let entry = src.by_index(i).expect("entry");
        out.raw_copy_file(entry).expect("copy");
    }
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file("xl/media/blob.bin", stored).expect("entry");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let blob: Vec<u8> = (0..5 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    out.write_all(&blob).expect("write");
    let file = out.finish().expect("zip").into_inner();
    assert!(file.len() > 5 << 20);
    let res = result(&upload(&b, "big.xlsx", &file));
    assert_eq!(
        (res["success"].clone(), res["created"].clone()),
        (json!(true), json!(1))
    );
}
