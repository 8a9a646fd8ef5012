//! The Excel import (spec section 9, "Our version" 9.5): `.xlsx` and legacy `.xls`, sheet
//! `Сводная`, header row 1, one transaction for the whole file (all or nothing), row locks on
//! every affected product and balance, a journal row (`import_stock` / `import_defect`, signed
//! delta) for every balance it changes, and row errors instead of crashes.
//!
//! Two halves: [`parse_workbook`] is pure (bytes in, rows or row errors out; run on the
//! blocking pool); [`apply`] writes through the owner modules' bulk statements
//! ([`super::products`], [`super::stock`], [`super::movements`]). No SQL here.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::time::Instant;

use calamine::{Data, Range, Reader, Xls, Xlsx};
use deadpool_postgres::Pool;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::db;
use super::errors::ApiError;
use super::movements;
use super::products::{self, BARCODE_MAX, BRAND_MAX, SELLER_SKU_MAX, SIZE_MAX};
use super::stock::{self, QUANTITY_MAX};
use super::users::User;

/// The worksheet that is read.
pub const SHEET: &str = "Сводная";
const H_BARCODE: &str = "Баркод";
const H_SELLER_SKU: &str = "Артикул продавца";
const H_SIZE: &str = "Размер";
const H_BRAND: &str = "Бренд";
const H_STOCK: &str = "АКТУАЛЬНЫЙ ОСТАТОК";
const H_DEFECT: &str = "БРАКИ";

/// The 400 answer for a file name without an Excel extension.
pub const NOT_EXCEL: &str = "File must be Excel format (.xlsx or .xls)";

/// One problem, reported inside a 200 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportRowError)]
pub struct RowError {
    pub row_number: u32,
    pub field: String,
    pub message: String,
}

impl RowError {
    fn new(row_number: u32, field: &str, message: impl Into<String>) -> RowError {
        RowError {
            row_number,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// `result` of the response.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportResult {
    pub total_rows: usize,
    pub created: usize,
    pub updated: usize,
    pub errors: Vec<RowError>,
    pub success: bool,
}

/// The response body.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportResponse {
    pub result: ImportResult,
    pub duration_seconds: f64,
}

/// A text attribute of a row: the column is absent, the cell is empty, or it has a value.
/// Absent and empty both leave an existing product's attribute untouched (B-05).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextCell {
    Absent,
    Empty,
    Value(String),
}

impl TextCell {
    fn value(&self) -> Option<&str> {
        match self {
            TextCell::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// One valid data row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub row_number: u32,
    pub barcode: String,
    pub seller_sku: TextCell,
    pub size: TextCell,
    pub brand: TextCell,
    /// `None`: the column is absent (leave the balance untouched); an empty cell is 0.
    pub stock: Option<i32>,
    pub defect: Option<i32>,
}

/// What the workbook holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSheet {
    /// Non-empty data rows (B-08: counted whenever the header was read).
    pub total_rows: usize,
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
}

/// True if `filename` ends in `.xlsx` or `.xls`, in any case (B-09).
pub fn has_excel_extension(filename: &str) -> bool {
    let lower = filename.to_lowercase();
    lower.ends_with(".xlsx") || lower.ends_with(".xls")
}

/// What a file the reader could not get through (it panicked) amounts to.
pub fn unreadable() -> ParsedSheet {
    failure(
        vec![RowError::new(
            0,
            "file",
            "Failed to open Excel file: the workbook cannot be read",
        )],
        0,
    )
}

fn failure(errors: Vec<RowError>, total_rows: usize) -> ParsedSheet {
    ParsedSheet {
        total_rows,
        rows: Vec::new(),
        errors,
    }
}

/// Reads the workbook (format by content: zip → xlsx, OLE → xls) and validates every row.
pub fn parse_workbook(bytes: &[u8]) -> ParsedSheet {
    let range = match read_sheet(bytes) {
        Ok(r) => r,
        Err(e) => return failure(vec![e], 0),
    };
    parse_range(&range)
}

fn read_sheet(bytes: &[u8]) -> Result<Range<Data>, RowError> {
    let open_error =
        |m: String| RowError::new(0, "file", format!("Failed to open Excel file: {m}"));
    let not_found = || RowError::new(0, "sheet", format!("Sheet '{SHEET}' not found"));
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        let mut wb: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(|e| open_error(e.to_string()))?;
        if !wb.sheet_names().iter().any(|n| n == SHEET) {
            return Err(not_found());
        }
        wb.worksheet_range(SHEET)
            .map_err(|e| open_error(e.to_string()))
    } else if bytes.starts_with(b"PK") {
        let mut wb: Xlsx<_> =
            Xlsx::new(Cursor::new(bytes)).map_err(|e| open_error(e.to_string()))?;
        if !wb.sheet_names().iter().any(|n| n == SHEET) {
            return Err(not_found());
        }
        wb.worksheet_range(SHEET)
            .map_err(|e| open_error(e.to_string()))
    } else {
        Err(open_error("File is not a zip file".to_owned()))
    }
}

/// Column positions of the recognised headers (absolute column numbers; right-most wins).
#[derive(Debug, Default)]
struct Columns {
    barcode: Option<u32>,
    seller_sku: Option<u32>,
    size: Option<u32>,
    brand: Option<u32>,
    stock: Option<u32>,
    defect: Option<u32>,
}

/// Validates the rows of a sheet (positions are absolute: row 1 is the header even when the
/// sheet's used range starts lower).
pub fn parse_range(range: &Range<Data>) -> ParsedSheet {
    let Some((first_row, first_col)) = range.start() else {
        return failure(
            vec![RowError::new(1, "header", "Empty file - no header row")],
            0,
        );
    };
    let cell = |row: u32, col: Option<u32>| -> Option<&Data> {
        let col = col?;
        if row < first_row || col < first_col {
            return None;
        }
        range.get(((row - first_row) as usize, (col - first_col) as usize))
    };

    let mut cols = Columns::default();
    if first_row == 0 {
        if let Some(header) = range.rows().next() {
            for (j, c) in header.iter().enumerate() {
                let col = Some(first_col + j as u32);
                match cell_text(c).trim() {
                    H_BARCODE => cols.barcode = col,
                    H_SELLER_SKU => cols.seller_sku = col,
                    H_SIZE => cols.size = col,
                    H_BRAND => cols.brand = col,
                    H_STOCK => cols.stock = col,
                    H_DEFECT => cols.defect = col,
                    _ => {}
                }
            }
        }
    }

    // Data rows: absolute rows after the header.
    let mut total_rows = 0;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut first_seen: HashMap<String, u32> = HashMap::new();
    for (i, r) in range.rows().enumerate() {
        let abs = first_row + i as u32;
        if abs == 0 {
            continue;
        }
        if r.iter().all(is_blank) {
            continue;
        }
        total_rows += 1;
        if cols.barcode.is_none() {
            continue;
        }
        let n = abs + 1;
        let before = errors.len();
        let barcode = cell(abs, cols.barcode).map(cell_text).unwrap_or_default();
        let barcode = barcode.trim().to_owned();
        if barcode.is_empty() {
            errors.push(RowError::new(n, "barcode", "Barcode is required"));
        } else if let Some(e) = text_problem(&barcode, BARCODE_MAX) {
            errors.push(RowError::new(n, "barcode", e));
        } else if let Some(first) = first_seen.get(&barcode) {
            errors.push(RowError::new(
                n,
                "barcode",
                format!("Duplicate barcode, first occurrence at row {first}"),
            ));
        } else {
            first_seen.insert(barcode.clone(), n);
        }
        let mut text = |col: Option<u32>, field: &str, max: usize| -> TextCell {
            let Some(col) = col else {
                return TextCell::Absent;
            };
            let t = cell(abs, Some(col)).map(cell_text).unwrap_or_default();
            let t = t.trim();
            if t.is_empty() {
                return TextCell::Empty;
            }
            if let Some(e) = text_problem(t, max) {
                errors.push(RowError::new(n, field, e));
            }
            TextCell::Value(t.to_owned())
        };
        let seller_sku = text(cols.seller_sku, "seller_sku", SELLER_SKU_MAX);
        let size = text(cols.size, "size", SIZE_MAX);
        let brand = text(cols.brand, "brand", BRAND_MAX);
        let mut quantity = |col: Option<u32>, field: &str, negative: &str| -> Option<i32> {
            col?;
            match parse_quantity(cell(abs, col)) {
                Ok(q) => Some(q),
                Err(QuantityError::Negative) => {
                    errors.push(RowError::new(n, field, negative));
                    None
                }
                Err(QuantityError::NotWhole) => {
                    errors.push(RowError::new(
                        n,
                        field,
                        "Quantity must be a non-negative integer",
                    ));
                    None
                }
                Err(QuantityError::TooLarge) => {
                    errors.push(RowError::new(
                        n,
                        field,
                        format!("Quantity exceeds the allowed maximum ({QUANTITY_MAX})"),
                    ));
                    None
                }
            }
        };
        let stock = quantity(
            cols.stock,
            "stock_quantity",
            "Stock quantity cannot be negative",
        );
        let defect = quantity(
            cols.defect,
            "defect_quantity",
            "Defect quantity cannot be negative",
        );
        if errors.len() == before {
            rows.push(ImportRow {
                row_number: n,
                barcode,
                seller_sku,
                size,
                brand,
                stock,
                defect,
            });
        }
    }
    if cols.barcode.is_none() {
        return failure(
            vec![RowError::new(
                1,
                "barcode",
                format!("Required column '{H_BARCODE}' not found"),
            )],
            total_rows,
        );
    }
    if !errors.is_empty() {
        return failure(errors, total_rows);
    }
    ParsedSheet {
        total_rows,
        rows,
        errors,
    }
}

fn is_blank(c: &Data) -> bool {
    match c {
        Data::Empty => true,
        Data::String(s) => s.is_empty(),
        _ => false,
    }
}

fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.contains('\0') {
        Some("Text must not contain NUL characters".to_owned())
    } else if value.chars().count() > max {
        Some(format!("Value is too long (at most {max} characters)"))
    } else {
        None
    }
}

/// The text of a cell: integral numbers as plain digits (B-38), never `123.0` or `1e15`.
pub fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(d) => float_text(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuantityError {
    Negative,
    NotWhole,
    TooLarge,
}

/// A quantity cell: empty → 0; whole non-negative numbers (numeric or text) → the number.
fn parse_quantity(c: Option<&Data>) -> Result<i32, QuantityError> {
    let whole = |v: i128| -> Result<i32, QuantityError> {
        if v < 0 {
            Err(QuantityError::Negative)
        } else {
            i32::try_from(v).map_err(|_| QuantityError::TooLarge)
        }
    };
    match c {
        None | Some(Data::Empty) => Ok(0),
        Some(Data::Int(i)) => whole(i128::from(*i)),
        Some(Data::Float(f)) => {
            if !f.is_finite() || f.fract() != 0.0 {
                Err(QuantityError::NotWhole)
            } else if *f < 0.0 {
                Err(QuantityError::Negative)
            } else if *f > QUANTITY_MAX as f64 {
                Err(QuantityError::TooLarge)
            } else {
                whole(*f as i128)
            }
        }
        Some(Data::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(0);
            }
            let (neg, digits) = match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError::NotWhole);
            }
            if neg && digits.bytes().any(|b| b != b'0') {
                return Err(QuantityError::Negative);
            }
            if digits.len() > 12 {
                return Err(QuantityError::TooLarge);
            }
            digits
                .parse::<i128>()
                .map_err(|_| QuantityError::NotWhole)
                .and_then(whole)
        }
        Some(_) => Err(QuantityError::NotWhole),
    }
}

/// The GTIN of a new product: the barcode left-padded to 14 digits when it has 8, 12, 13 or
/// 14 digits; otherwise none (B-02, no `IMP…` placeholders).
pub fn gtin_for(barcode: &str) -> Option<String> {
    let digits = barcode.bytes().all(|b| b.is_ascii_digit());
    (digits && matches!(barcode.len(), 8 | 12 | 13 | 14)).then(|| format!("{barcode:0>14}"))
}

// ---- applying ----------------------------------------------------------------------------

/// Result of a parse, as the response (nothing written).
pub fn rejected(parsed: ParsedSheet, started: Instant) -> ImportResponse {
    respond(
        ImportResult {
            total_rows: parsed.total_rows,
            created: 0,
            updated: 0,
            errors: parsed.errors,
            success: false,
        },
        started,
    )
}

fn respond(result: ImportResult, started: Instant) -> ImportResponse {
    let secs = started.elapsed().as_secs_f64();
    ImportResponse {
        result,
        duration_seconds: (secs * 100.0).round() / 100.0,
    }
}

/// Writes valid rows in one transaction: locks, upserts, balances, journal rows. Conflicts
/// with concurrent writers become row errors and nothing is written.
pub async fn apply(
    pool: &Pool,
    user: &User,
    parsed: ParsedSheet,
    started: Instant,
) -> Result<ImportResponse, ApiError> {
    if !parsed.errors.is_empty() {
        return Ok(rejected(parsed, started));
    }
    let total_rows = parsed.total_rows;
    if parsed.rows.is_empty() {
        return Ok(respond(
            ImportResult {
                total_rows,
                created: 0,
                updated: 0,
                errors: Vec::new(),
                success: true,
            },
            started,
        ));
    }
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;

    let barcodes: Vec<String> = parsed.rows.iter().map(|r| r.barcode.clone()).collect();
    let existing = products::lock_for_import(&tx, &barcodes).await?;
    let by_barcode: HashMap<&str, &products::ImportTarget> =
        existing.iter().map(|p| (p.barcode.as_str(), p)).collect();
    let existing_ids: Vec<Uuid> = existing.iter().map(|p| p.id).collect();
    let balances = stock::lock_balances(&tx, &existing_ids).await?;

    // New products, with GTINs that are free in the database and in this file.
    let mut new_products = Vec::new();
    let candidates: Vec<String> = parsed
        .rows
        .iter()
        .filter(|r| !by_barcode.contains_key(r.barcode.as_str()))
        .filter_map(|r| gtin_for(&r.barcode))
        .collect();
    let mut taken: HashSet<String> = products::taken_gtins(&tx, &candidates).await?;
    let mut updates = Vec::new();
    let mut balance_changes = Vec::new();
    let mut ledger = Vec::new();
    for row in &parsed.rows {
        match by_barcode.get(row.barcode.as_str()) {
            Some(target) => {
                updates.push(products::ImportUpdate {
                    id: target.id,
                    seller_sku: row.seller_sku.value().map(str::to_owned),
                    size: row.size.value().map(str::to_owned),
                    brand: row.brand.value().map(str::to_owned),
                });
                let (old_stock, old_defect) = balances.get(&target.id).copied().unwrap_or((0, 0));
                let new_stock = row.stock.unwrap_or(old_stock);
                let new_defect = row.defect.unwrap_or(old_defect);
                balance_changes.push(stock::BalanceSet {
                    product_id: target.id,
                    stock: new_stock,
                    defect: new_defect,
                });
                ledger_rows(
                    &mut ledger,
                    target.id,
                    old_stock,
                    new_stock,
                    old_defect,
                    new_defect,
                );
            }
            None => {
                let id = Uuid::new_v4();
                let gtin = gtin_for(&row.barcode).filter(|g| taken.insert(g.clone()));
                new_products.push(products::ImportNew {
                    id,
                    row_number: row.row_number,
                    barcode: row.barcode.clone(),
                    gtin,
                    seller_sku: row.seller_sku.value().map(str::to_owned),
                    size: row.size.value().map(str::to_owned),
                    brand: row.brand.value().map(str::to_owned),
                });
                let (stock_q, defect_q) = (row.stock.unwrap_or(0), row.defect.unwrap_or(0));
                balance_changes.push(stock::BalanceSet {
                    product_id: id,
                    stock: stock_q,
                    defect: defect_q,
                });
                ledger_rows(&mut ledger, id, 0, stock_q, 0, defect_q);
            }
        }
    }

    let inserted = products::insert_imported(&tx, &new_products).await?;
    if inserted.len() != new_products.len() {
        // A concurrent writer took a barcode or GTIN since the lock: report those rows.
        let errors = new_products
            .iter()
            .filter(|p| !inserted.contains(&p.id))
            .map(|p| {
                RowError::new(
                    p.row_number,
                    "barcode",
                    format!(
                        "Product with barcode '{}' or its GTIN was created concurrently",
                        p.barcode
                    ),
                )
            })
            .collect();
        drop(tx);
        return Ok(rejected(failure(errors, total_rows), started));
    }
    products::update_imported(&tx, &updates).await?;
    stock::set_balances(&tx, &balance_changes).await?;
    movements::insert_import_rows(&tx, user.id, &ledger).await?;
    tx.commit().await?;
    Ok(respond(
        ImportResult {
            total_rows,
            created: new_products.len(),
            updated: updates.len(),
            errors: Vec::new(),
            success: true,
        },
        started,
    ))
}

/// Journal rows for the balance changes of one product (none for unchanged balances).
fn ledger_rows(
    out: &mut Vec<movements::ImportLedgerRow>,
    product_id: Uuid,
    old_stock: i32,
    new_stock: i32,
    old_defect: i32,
    new_defect: i32,
) {
    for (kind, old, new) in [
        ("import_stock", old_stock, new_stock),
        ("import_defect", old_defect, new_defect),
    ] {
        if old != new {
            out.push(movements::ImportLedgerRow {
                operation_type: kind,
                product_id,
                // Both are in 0..=i32::MAX, so the difference fits.
                delta: new - old,
                notes: format!("Excel import: {old} → {new}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(cells: &[(u32, u32, Data)]) -> Range<Data> {
        let max_r = cells.iter().map(|c| c.0).max().unwrap_or(0);
        let max_c = cells.iter().map(|c| c.1).max().unwrap_or(0);
        let min_r = cells.iter().map(|c| c.0).min().unwrap_or(0);
        let min_c = cells.iter().map(|c| c.1).min().unwrap_or(0);
        let mut r = Range::new((min_r, min_c), (max_r, max_c));
        for (row, col, v) in cells {
            r.set_value((*row, *col), v.clone());
        }
        r
    }

    fn s(v: &str) -> Data {
        Data::String(v.to_owned())
    }

    #[test]
    fn integral_numbers_render_as_digits() {
        assert_eq!(cell_text(&Data::Float(4601234567890.0)), "4601234567890");
        assert_eq!(cell_text(&Data::Float(1e15)), "1000000000000000");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::Int(123)), "123");
    }

    #[test]
    fn quantities_must_be_whole_and_non_negative() {
        assert_eq!(parse_quantity(None), Ok(0));
        assert_eq!(parse_quantity(Some(&Data::Empty)), Ok(0));
        assert_eq!(parse_quantity(Some(&Data::Float(7.0))), Ok(7));
        assert_eq!(parse_quantity(Some(&s(" 7 "))), Ok(7));
        assert_eq!(
            parse_quantity(Some(&Data::Float(3.7))),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(
            parse_quantity(Some(&s("1 000"))),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(
            parse_quantity(Some(&s("1,5"))),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(
            parse_quantity(Some(&s("abc"))),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(
            parse_quantity(Some(&Data::Int(-1))),
            Err(QuantityError::Negative)
        );
        assert_eq!(parse_quantity(Some(&s("-4"))), Err(QuantityError::Negative));
        assert_eq!(
            parse_quantity(Some(&Data::Float(3e9))),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(
            parse_quantity(Some(&Data::Bool(true))),
            Err(QuantityError::NotWhole)
        );
    }

    #[test]
    fn gtins_pad_8_12_13_14_digit_barcodes() {
        assert_eq!(gtin_for("4601234567890").as_deref(), Some("04601234567890"));
        assert_eq!(gtin_for("12345678").as_deref(), Some("00000012345678"));
        assert_eq!(gtin_for("ABC-1"), None);
        assert_eq!(gtin_for("123456789"), None);
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(has_excel_extension("DATA.XLSX"));
        assert!(has_excel_extension("old.xls"));
        assert!(!has_excel_extension("data.csv"));
        assert!(!has_excel_extension("xlsx"));
    }

    #[test]
    fn header_rules_and_row_errors() {
        // Right-most duplicate header wins; unknown columns are ignored.
        let r = sheet(&[
            (0, 0, s("Баркод")),
            (0, 1, s("АКТУАЛЬНЫЙ ОСТАТОК")),
            (0, 2, s("Прочее")),
            (0, 3, s(" АКТУАЛЬНЫЙ ОСТАТОК ")),
            (1, 0, Data::Float(4601234567890.0)),
            (1, 1, Data::Int(99)),
            (1, 3, Data::Int(5)),
            (3, 2, s("only an ignored column")),
            (4, 0, s("X")),
            (4, 3, s("abc")),
            (5, 0, s("4601234567890")),
        ]);
        let parsed = parse_range(&r);
        assert_eq!(parsed.total_rows, 4);
        assert_eq!(
            parsed.errors,
            vec![
                RowError::new(4, "barcode", "Barcode is required"),
                RowError::new(
                    5,
                    "stock_quantity",
                    "Quantity must be a non-negative integer"
                ),
                RowError::new(6, "barcode", "Duplicate barcode, first occurrence at row 2"),
            ]
        );
        assert!(parsed.rows.is_empty());
    }

    #[test]
    fn valid_rows_keep_absent_and_empty_apart() {
        let r = sheet(&[
            (0, 0, s("Баркод")),
            (0, 1, s("Бренд")),
            (0, 2, s("БРАКИ")),
            (1, 0, s(" A-1 ")),
            (1, 1, s("Nike")),
            (2, 0, s("A-2")),
            (2, 2, Data::Int(3)),
        ]);
        let parsed = parse_range(&r);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.total_rows, 2);
        let a = &parsed.rows[0];
        assert_eq!(a.barcode, "A-1");
        assert_eq!(a.brand, TextCell::Value("Nike".to_owned()));
        assert_eq!(a.size, TextCell::Absent);
        assert_eq!(a.stock, None);
        assert_eq!(a.defect, Some(0));
        let b = &parsed.rows[1];
        assert_eq!(b.brand, TextCell::Empty);
        assert_eq!(b.defect, Some(3));
    }

    #[test]
    fn missing_header_cells_and_empty_sheets() {
        let r = sheet(&[(2, 0, s("Баркод"))]);
        let parsed = parse_range(&r);
        assert_eq!(parsed.errors[0].field, "barcode");
        assert_eq!(
            parsed.errors[0].message,
            "Required column 'Баркод' not found"
        );
        let empty: Range<Data> = Range::empty();
        let parsed = parse_range(&empty);
        assert_eq!(
            parsed.errors,
            vec![RowError::new(1, "header", "Empty file - no header row")]
        );
    }

    #[test]
    fn unreadable_files_and_missing_sheets() {
        let parsed = parse_workbook(b"not a workbook");
        assert_eq!(parsed.errors[0].field, "file");
        assert!(
            parsed.errors[0]
                .message
                .starts_with("Failed to open Excel file: ")
        );
        let parsed = parse_workbook(b"PK\x03\x04garbage");
        assert_eq!(parsed.errors[0].field, "file");
    }
}
