//! The Excel import (spec section 9, "Our version" 9.5): `.xlsx` and legacy `.xls`, sheet
//! `Сводная`, header row 1, one transaction for the whole file (all or nothing), row locks on
//! every affected product and balance, a journal row (`import_stock` / `import_defect`, signed
//! delta) for every balance it changes, and row errors instead of crashes.
//!
//! Two halves: [`parse_workbook`] is pure (bytes in, rows or row errors out; run on the
//! blocking pool); [`apply`] writes through the owner modules' bulk statements
//! ([`super::products`], [`super::stock`], [`super::movements`]). No SQL here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use calamine::Data;
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
use super::workbook::{self, Limits, Problem};

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
    fn into_value(self) -> Option<String> {
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
            format!("Failed to open Excel file: {READER_FAILED}"),
        )],
        0,
    )
}

/// Why a file the reader failed on is refused.
const READER_FAILED: &str = "the workbook cannot be read";

fn failure(errors: Vec<RowError>, total_rows: usize) -> ParsedSheet {
    ParsedSheet {
        total_rows,
        rows: Vec::new(),
        errors,
    }
}

/// Reads the workbook (format by content: zip → xlsx, OLE → xls; within [`LIMITS`]) and
/// validates every row. `Err` is a refusal of the whole file (413/422), before anything was
/// read into memory; an unreadable file or bad rows are row errors in the `Ok` value.
pub fn parse_workbook(bytes: Vec<u8>, limits: &Limits) -> Result<ParsedSheet, Problem> {
    let open_error =
        |m: String| RowError::new(0, "file", format!("Failed to open Excel file: {m}"));
    let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
        workbook::open(&bytes, limits).and_then(|mut wb| {
            if !wb.has_sheet(SHEET) {
                return Ok(None);
            }
            SheetCells::collect(|visit| wb.cells(SHEET, limits, visit)).map(Some)
        })
    }))
    // The reader (calamine) can panic on a malformed file (a shared-string index past the
    // table, in 0.30): that file is unreadable, nothing else is affected. Whatever it
    // built is dropped with the unwind.
    .unwrap_or_else(|_| Err(Problem::Unreadable(READER_FAILED.to_owned())));
    // The cells are owned now: the file goes before the rows are built.
    drop(bytes);
    match read {
        Ok(Some(sheet)) => Ok(validate(sheet)),
        Ok(None) => Ok(failure(
            vec![RowError::new(
                0,
                "sheet",
                format!("Sheet '{SHEET}' not found"),
            )],
            0,
        )),
        Err(Problem::Unreadable(m)) => Ok(failure(vec![open_error(m)], 0)),
        Err(refusal) => Err(refusal),
    }
}

/// Column positions of the recognised headers (absolute column numbers; right-most wins).
#[derive(Debug, Default, Clone, Copy)]
struct Columns {
    barcode: Option<u32>,
    seller_sku: Option<u32>,
    size: Option<u32>,
    brand: Option<u32>,
    stock: Option<u32>,
    defect: Option<u32>,
}

impl Columns {
    /// Reads the header row (cells in column order).
    fn from_header(header: &BTreeMap<u32, Data>) -> Columns {
        let mut cols = Columns::default();
        for (&col, cell) in header {
            let col = Some(col);
            match cell_text(cell).trim() {
                H_BARCODE => cols.barcode = col,
                H_SELLER_SKU => cols.seller_sku = col,
                H_SIZE => cols.size = col,
                H_BRAND => cols.brand = col,
                H_STOCK => cols.stock = col,
                H_DEFECT => cols.defect = col,
                _ => {}
            }
        }
        cols
    }

    /// The recognised columns in slot order (see [`RowCells`]).
    fn slots(&self) -> [Option<u32>; 6] {
        [
            self.barcode,
            self.seller_sku,
            self.size,
            self.brand,
            self.stock,
            self.defect,
        ]
    }

    /// The slot column `col` fills, if it is recognised.
    fn slot_of(&self, col: u32) -> Option<usize> {
        self.slots().iter().position(|c| *c == Some(col))
    }
}

/// Characters of a header cell that are kept (a longer one cannot be a known header).
const HEADER_KEPT: usize = 64;
/// Characters of a cell that are kept, per slot: one more than a valid value may have, so
/// validation still says "too long" (a cell may hold 32,767 characters; keeping them all for
/// every row would multiply the memory an upload costs).
const SLOT_KEPT: [usize; 6] = [
    BARCODE_MAX + 1,
    SELLER_SKU_MAX + 1,
    SIZE_MAX + 1,
    BRAND_MAX + 1,
    32,
    32,
];

/// The value of a cell as the import keeps it: text trimmed, then cut to `max` characters.
fn kept(value: &Data, max: usize) -> Data {
    match value {
        Data::String(s) => Data::String(s.trim().chars().take(max).collect()),
        other => other.clone(),
    }
}

/// Slot numbers of the recognised columns in a [`RowCells`].
const BARCODE: usize = 0;
const SELLER_SKU: usize = 1;
const SIZE: usize = 2;
const BRAND: usize = 3;
const STOCK: usize = 4;
const DEFECT: usize = 5;

/// One data row: whether it has any non-blank cell, and its cells in the recognised
/// columns, by slot ([`BARCODE`] ... [`DEFECT`]). A later cell at the same place wins, as
/// in a grid built from the same cells.
#[derive(Debug, Default)]
struct RowCells {
    non_blank: bool,
    values: [Option<Data>; 6],
}

impl RowCells {
    /// The cell of a slot, taken out (each is read once).
    fn take(&mut self, slot: usize) -> Option<Data> {
        self.values[slot].take()
    }
}

/// What the import needs of a sheet: the header row (row 1) and the recognised columns of
/// the data rows. Never a grid: unrecognised cells only count towards "is the row blank".
#[derive(Debug, Default)]
pub struct SheetCells {
    header: BTreeMap<u32, Data>,
    columns: Columns,
    rows: BTreeMap<u32, RowCells>,
}

impl SheetCells {
    /// Two passes over the cells (`pass` calls its visitor once per cell): the header row,
    /// then the data rows' recognised columns.
    pub fn collect(
        mut pass: impl FnMut(&mut dyn FnMut(u32, u32, &Data)) -> Result<(), Problem>,
    ) -> Result<SheetCells, Problem> {
        let mut sheet = SheetCells::default();
        pass(&mut |row, col, value| {
            if row == 0 {
                sheet.header.insert(col, kept(value, HEADER_KEPT));
            }
        })?;
        sheet.columns = Columns::from_header(&sheet.header);
        let columns = sheet.columns;
        pass(&mut |row, col, value| {
            if row == 0 {
                return;
            }
            let blank = is_blank(value);
            let slot = columns.slot_of(col);
            if blank && slot.is_none() {
                return;
            }
            let cells = sheet.rows.entry(row).or_default();
            cells.non_blank |= !blank;
            if let Some(slot) = slot {
                cells.values[slot] = Some(kept(value, SLOT_KEPT[slot]));
            }
        })?;
        Ok(sheet)
    }
}

/// Validates the rows of a sheet (positions are absolute: row 1 is the header; without a
/// cell in row 1 there is no header). Consumes the cells: their text moves into the rows.
fn validate(sheet: SheetCells) -> ParsedSheet {
    if sheet.header.is_empty() && sheet.rows.is_empty() {
        return failure(
            vec![RowError::new(1, "header", "Empty file - no header row")],
            0,
        );
    }
    let cols = sheet.columns;
    let mut total_rows = 0;
    let mut rows = Vec::with_capacity(sheet.rows.len());
    let mut errors = Vec::new();
    let mut first_seen: HashMap<String, u32> = HashMap::new();
    for (abs, mut r) in sheet.rows {
        if !r.non_blank {
            continue;
        }
        total_rows += 1;
        if cols.barcode.is_none() {
            continue;
        }
        let n = abs + 1;
        let before = errors.len();
        let barcode = trimmed(r.take(BARCODE).map(cell_into_text).unwrap_or_default());
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
        let mut text = |slot: usize, col: Option<u32>, field: &str, max: usize| -> TextCell {
            if col.is_none() {
                return TextCell::Absent;
            }
            let t = trimmed(r.take(slot).map(cell_into_text).unwrap_or_default());
            if t.is_empty() {
                return TextCell::Empty;
            }
            if let Some(e) = text_problem(&t, max) {
                errors.push(RowError::new(n, field, e));
            }
            TextCell::Value(t)
        };
        let seller_sku = text(SELLER_SKU, cols.seller_sku, "seller_sku", SELLER_SKU_MAX);
        let size = text(SIZE, cols.size, "size", SIZE_MAX);
        let brand = text(BRAND, cols.brand, "brand", BRAND_MAX);
        let mut quantity = |slot: usize, col: Option<u32>, field: &str, negative: &str| {
            col?;
            match parse_quantity(r.take(slot).as_ref()) {
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
            STOCK,
            cols.stock,
            "stock_quantity",
            "Stock quantity cannot be negative",
        );
        let defect = quantity(
            DEFECT,
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
        return failure(capped(errors), total_rows);
    }
    ParsedSheet {
        total_rows,
        rows,
        errors,
    }
}

/// Row errors reported at most; the rest are counted in one last entry.
pub const MAX_ROW_ERRORS: usize = 1_000;

/// The first [`MAX_ROW_ERRORS`] errors, and a `file` entry saying how many more there were.
fn capped(mut errors: Vec<RowError>) -> Vec<RowError> {
    if errors.len() > MAX_ROW_ERRORS {
        let more = errors.len() - MAX_ROW_ERRORS;
        errors.truncate(MAX_ROW_ERRORS);
        errors.push(RowError::new(
            0,
            "file",
            format!("{more} more errors are not listed; fix these and import again"),
        ));
    }
    errors
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

/// `text` without surrounding whitespace, reusing its buffer when nothing is cut.
fn trimmed(text: String) -> String {
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_owned()
    }
}

/// [`cell_text`] of a cell that is not needed any more (strings are moved, not copied).
fn cell_into_text(c: Data) -> String {
    match c {
        Data::String(s) => s,
        other => cell_text(&other),
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

    let barcodes: Vec<&str> = parsed.rows.iter().map(|r| r.barcode.as_str()).collect();
    // Per row (same order): the existing product it updates, if any.
    let existing = products::lock_for_import(&tx, &barcodes).await?;
    drop(barcodes);
    let existing_ids: Vec<Uuid> = existing.iter().flatten().map(|p| p.id).collect();
    let balances = stock::lock_balances(&tx, &existing_ids).await?;
    drop(existing_ids);

    // Deleted products come back only with an administrator's import.
    let refused: Vec<RowError> = parsed
        .rows
        .iter()
        .zip(&existing)
        .filter(|(_, target)| {
            target
                .as_ref()
                .is_some_and(|t| t.is_deleted && !user.is_admin())
        })
        .map(|(row, _)| row)
        .map(|row| {
            RowError::new(
                row.row_number,
                "barcode",
                format!(
                    "Product with barcode '{}' is deleted; only an administrator can restore it",
                    row.barcode
                ),
            )
        })
        .collect();
    if !refused.is_empty() {
        drop(tx);
        return Ok(rejected(failure(refused, total_rows), started));
    }

    // GTINs of new products: free in the database and in this file.
    let candidates: Vec<String> = parsed
        .rows
        .iter()
        .zip(&existing)
        .filter(|(_, target)| target.is_none())
        .filter_map(|(r, _)| gtin_for(&r.barcode))
        .collect();
    let mut taken: HashSet<String> = products::taken_gtins(&tx, &candidates).await?;
    drop(candidates);

    // Written in batches, so what is built for the statements stays small; one transaction.
    let (mut created, mut updated) = (0, 0);
    let mut conflicts = Vec::new();
    let mut rows = parsed.rows.into_iter().zip(existing);
    loop {
        let batch: Vec<_> = rows.by_ref().take(db::BULK_BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let mut new_products = Vec::new();
        let mut updates = Vec::new();
        let mut balance_changes = Vec::with_capacity(batch.len());
        let mut ledger = Vec::new();
        for (row, target) in batch {
            let (id, (old_stock, old_defect)) = match target {
                Some(target) => {
                    updates.push(products::ImportUpdate {
                        id: target.id,
                        seller_sku: row.seller_sku.into_value(),
                        size: row.size.into_value(),
                        brand: row.brand.into_value(),
                    });
                    let old = balances.get(&target.id).copied().unwrap_or((0, 0));
                    (target.id, old)
                }
                None => {
                    let id = Uuid::new_v4();
                    let gtin = gtin_for(&row.barcode).filter(|g| taken.insert(g.clone()));
                    new_products.push(products::ImportNew {
                        id,
                        row_number: row.row_number,
                        barcode: row.barcode,
                        gtin,
                        seller_sku: row.seller_sku.into_value(),
                        size: row.size.into_value(),
                        brand: row.brand.into_value(),
                    });
                    (id, (0, 0))
                }
            };
            let new_stock = row.stock.unwrap_or(old_stock);
            let new_defect = row.defect.unwrap_or(old_defect);
            balance_changes.push(stock::BalanceSet {
                product_id: id,
                stock: new_stock,
                defect: new_defect,
            });
            ledger_rows(
                &mut ledger,
                id,
                old_stock,
                new_stock,
                old_defect,
                new_defect,
            );
        }
        let inserted = products::insert_imported(&tx, &new_products).await?;
        // A concurrent writer took a barcode or GTIN since the lock: those rows are
        // reported (every batch is still tried, to report them all); nothing is kept.
        conflicts.extend(
            new_products
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
                }),
        );
        if !conflicts.is_empty() {
            continue;
        }
        products::update_imported(&tx, &updates).await?;
        stock::set_balances(&tx, &balance_changes).await?;
        movements::insert_import_rows(&tx, user.id, &ledger).await?;
        created += new_products.len();
        updated += updates.len();
    }
    if !conflicts.is_empty() {
        drop(tx);
        return Ok(rejected(failure(conflicts, total_rows), started));
    }
    tx.commit().await?;
    Ok(respond(
        ImportResult {
            total_rows,
            created,
            updated,
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
                change: movements::Adjustment {
                    operation_type: kind,
                    product_id,
                    // Both are in 0..=i32::MAX, so the difference fits.
                    delta: new - old,
                },
                old,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(cells: &[(u32, u32, Data)]) -> SheetCells {
        SheetCells::collect(|visit| {
            for (row, col, value) in cells {
                visit(*row, *col, value);
            }
            Ok(())
        })
        .unwrap()
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
        let parsed = validate(r);
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
        let parsed = validate(r);
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
        let parsed = validate(r);
        assert_eq!(parsed.errors[0].field, "barcode");
        assert_eq!(
            parsed.errors[0].message,
            "Required column 'Баркод' not found"
        );
        let parsed = validate(sheet(&[]));
        assert_eq!(
            parsed.errors,
            vec![RowError::new(1, "header", "Empty file - no header row")]
        );
    }

    #[test]
    fn unreadable_files_and_missing_sheets() {
        let parsed = parse_workbook(b"not a workbook".to_vec(), &workbook::LIMITS).unwrap();
        assert_eq!(parsed.errors[0].field, "file");
        assert!(
            parsed.errors[0]
                .message
                .starts_with("Failed to open Excel file: ")
        );
        let parsed = parse_workbook(b"PK\x03\x04garbage".to_vec(), &workbook::LIMITS).unwrap();
        assert_eq!(parsed.errors[0].field, "file");
    }

    /// Found by the `workbook` fuzz target: a cell of type `s` whose index is past the
    /// (empty) shared-string table makes calamine 0.30 index out of bounds. The panic stays
    /// inside `parse_workbook`: the file gets the same row error as any unreadable one.
    #[test]
    fn a_reader_panic_is_an_unreadable_file() {
        let bytes = include_bytes!("../../fuzz/seeds/workbook/shared-string-out-of-range.xlsx");
        let parsed = parse_workbook(bytes.to_vec(), &workbook::LIMITS).unwrap();
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert_eq!(parsed.errors[0].field, "file");
        assert_eq!(
            parsed.errors[0].message,
            "Failed to open Excel file: the workbook cannot be read"
        );
        assert!(parsed.rows.is_empty());
    }
}
