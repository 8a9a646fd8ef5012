//! The movement journal (spec 8.1): the `stock_movements` table's SQL — writing a row (the
//! nine operations and the import's ledger rows), the paginated journal with its filters
//! (date-only bounds cover whole days in the business time zone, B-11; barcode filter, B-12;
//! additive names, B-13; stable order, B-17), and the journal's CSV export rows.
//!
//! Rows are only written inside a caller's transaction, together with the balance change
//! they record ([`super::stock`], [`super::import`]).

use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::db::{DbError, Filters, from_columns};
use super::errors::ApiError;
use super::paging::{self, Page, PageRequest, PagedSql};
use super::validation::{DateOrTime, ParseQuery, Problems, Query};
use super::wire::{Ts, contains_pattern};

/// Columns of the movement object, in order, from `m` and its joins.
macro_rules! movement_columns {
    () => {
        "m.product_id, m.operation_type, m.quantity, m.source_id, m.distribution_center_id, \
         m.notes, m.id, m.user_id, m.created_at, \
         p.barcode AS product_barcode, p.gtin AS product_gtin, p.brand AS product_brand, \
         p.size AS product_size, p.seller_sku AS product_seller_sku, \
         s.name AS source_name, d.name AS dc_name, u.email AS user_email"
    };
}

/// Joins that resolve the names of a movement row `m`.
macro_rules! movement_joins {
    () => {
        " LEFT JOIN products p ON p.id = m.product_id \
          LEFT JOIN sources s ON s.id = m.source_id \
          LEFT JOIN distribution_centers d ON d.id = m.distribution_center_id \
          LEFT JOIN users u ON u.id = m.user_id"
    };
}

/// Writes one row and returns it with the names resolved (one statement).
const INSERT: &str = concat!(
    "WITH m AS (INSERT INTO stock_movements \
     (id, operation_type, product_id, quantity, source_id, distribution_center_id, user_id, notes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *) SELECT ",
    movement_columns!(),
    " FROM m",
    movement_joins!()
);
/// Writes the import's ledger rows in one statement (parallel arrays).
const INSERT_IMPORT_ROWS: &str = "INSERT INTO stock_movements \
     (id, operation_type, product_id, quantity, user_id, notes) \
     SELECT u.id, u.operation_type, u.product_id, u.quantity, $5, u.notes \
     FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $6::text[]) \
       AS u(id, operation_type, product_id, quantity, notes)";

const LIST: &str = concat!(
    "SELECT ",
    movement_columns!(),
    " FROM stock_movements m",
    movement_joins!(),
    " WHERE true"
);
const COUNT: &str = "SELECT count(*) FROM stock_movements m WHERE true";
/// The unfiltered total, kept by triggers (migration V4) instead of counting every row.
const COUNT_ALL: &str = "SELECT COALESCE(sum(n), 0)::bigint FROM journal_count";
const NEWEST_FIRST: &str = " ORDER BY m.created_at DESC, m.id DESC";

const BY_OPERATION: &str = " AND m.operation_type = $?";
const BY_PRODUCT: &str = " AND m.product_id = $?";
const BY_BARCODE: &str =
    " AND m.product_id IN (SELECT bp.id FROM products bp WHERE bp.barcode ILIKE $?)";
const FROM_INSTANT: &str = " AND m.created_at >= $?";
const TO_INSTANT: &str = " AND m.created_at <= $?";
/// A date-only lower bound: 00:00 of that day in the business time zone.
const FROM_DAY: &str = " AND m.created_at >= ($?::date::timestamp AT TIME ZONE $?::text)";
/// A date-only upper bound: before 00:00 of the next day in the business time zone (B-11).
const TO_DAY: &str = " AND m.created_at < (($?::date + 1)::timestamp AT TIME ZONE $?::text)";

/// FK names that mean "unknown source / DC" on insert.
pub const SOURCE_FK: &str = "stock_movements_source_id_fkey";
pub const DC_FK: &str = "stock_movements_distribution_center_id_fkey";

/// A journal row: the reference's fields in order, then our additive names (spec 8.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Movement {
    pub product_id: Uuid,
    pub operation_type: String,
    pub quantity: i32,
    pub source_id: Option<Uuid>,
    pub distribution_center_id: Option<Uuid>,
    pub notes: Option<String>,
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: Ts,
    pub product_barcode: Option<String>,
    pub product_gtin: Option<String>,
    pub product_brand: Option<String>,
    pub product_size: Option<String>,
    pub product_seller_sku: Option<String>,
    pub source_name: Option<String>,
    pub dc_name: Option<String>,
    pub user_email: Option<String>,
}

fn from_row(row: &Row) -> Result<Movement, tokio_postgres::Error> {
    Ok(from_columns! { row, Movement {
        product_id, operation_type, quantity, source_id, distribution_center_id, notes,
        id, user_id, created_at, product_barcode, product_gtin, product_brand,
        product_size, product_seller_sku, source_name, dc_name, user_email
    } })
}

/// What a new journal row records.
#[derive(Debug, Clone)]
pub struct NewMovement<'a> {
    pub operation_type: &'a str,
    pub product_id: Uuid,
    pub quantity: i32,
    pub source_id: Option<Uuid>,
    pub distribution_center_id: Option<Uuid>,
    pub user_id: Uuid,
    pub notes: Option<&'a str>,
}

/// Writes a journal row inside the caller's transaction and returns it with names.
/// Unknown source or DC ids fail with the FK violations [`SOURCE_FK`] / [`DC_FK`].
pub async fn insert(
    client: &impl GenericClient,
    new: &NewMovement<'_>,
) -> Result<Movement, DbError> {
    let stmt = client.prepare_cached(INSERT).await?;
    let row = client
        .query_one(
            &stmt,
            &[
                &Uuid::new_v4(),
                &new.operation_type,
                &new.product_id,
                &new.quantity,
                &new.source_id,
                &new.distribution_center_id,
                &new.user_id,
                &new.notes,
            ],
        )
        .await?;
    Ok(from_row(&row)?)
}

/// One journal row of the import: a signed balance delta (never 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLedgerRow {
    pub operation_type: &'static str,
    pub product_id: Uuid,
    pub delta: i32,
    pub notes: String,
}

/// Writes the import's ledger rows inside the caller's transaction.
pub async fn insert_import_rows(
    client: &impl GenericClient,
    user_id: Uuid,
    rows: &[ImportLedgerRow],
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.operation_type).collect();
    let products: Vec<Uuid> = rows.iter().map(|r| r.product_id).collect();
    let deltas: Vec<i32> = rows.iter().map(|r| r.delta).collect();
    let notes: Vec<&str> = rows.iter().map(|r| r.notes.as_str()).collect();
    client
        .execute(
            INSERT_IMPORT_ROWS,
            &[&ids, &types, &products, &deltas, &user_id, &notes],
        )
        .await?;
    Ok(())
}

/// Filters of the journal and its export.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalFilter {
    /// Exact type; unknown values match nothing (B-14 kept).
    pub operation_type: Option<String>,
    pub product_id: Option<Uuid>,
    /// From this instant, or from the start of this day in the business time zone.
    #[param(inline)]
    pub date_from: Option<DateOrTime>,
    /// Up to this instant, or to the end of this day in the business time zone (B-11).
    #[param(inline)]
    pub date_to: Option<DateOrTime>,
    /// Substring of the product's barcode, case-insensitive (B-12).
    pub barcode: Option<String>,
}

impl ParseQuery for JournalFilter {
    fn parse(q: &Query, p: &mut Problems) -> JournalFilter {
        JournalFilter {
            operation_type: q.text(p, "operation_type"),
            product_id: q.uuid(p, "product_id"),
            date_from: q.datetime(p, "date_from"),
            date_to: q.datetime(p, "date_to"),
            barcode: q.text(p, "barcode"),
        }
    }
}

impl JournalFilter {
    /// The conditions, with date-only bounds taken in `tz`.
    fn filters(&self, tz: &str) -> Filters {
        let mut f = Filters::new();
        if let Some(op) = &self.operation_type {
            f.and(BY_OPERATION, op.clone());
        }
        if let Some(id) = self.product_id {
            f.and(BY_PRODUCT, id);
        }
        match self.date_from {
            Some(DateOrTime::At(t)) => f.and(FROM_INSTANT, t),
            Some(DateOrTime::Day(d)) => f.and2(FROM_DAY, d, tz.to_owned()),
            None => {}
        }
        match self.date_to {
            Some(DateOrTime::At(t)) => f.and(TO_INSTANT, t),
            Some(DateOrTime::Day(d)) => f.and2(TO_DAY, d, tz.to_owned()),
            None => {}
        }
        if let Some(b) = &self.barcode {
            f.and(BY_BARCODE, contains_pattern(b));
        }
        f
    }
}

/// One page of the journal, newest first. The unfiltered total comes from the trigger-kept
/// counter instead of counting every row.
pub async fn list(
    conn: &impl GenericClient,
    filter: &JournalFilter,
    tz: &str,
    page: PageRequest,
) -> Result<Page<Movement>, ApiError> {
    let filters = filter.filters(tz);
    let sql = PagedSql {
        count: if filters.sql().is_empty() {
            COUNT_ALL
        } else {
            COUNT
        },
        list: LIST,
        order: NEWEST_FIRST,
    };
    paging::fetch(conn, sql, filters, page, from_row).await
}

/// The SQL and parameters of the journal's CSV export (every matching row, newest first).
pub fn export_query(filter: &JournalFilter, tz: &str) -> (String, Filters) {
    let f = filter.filters(tz);
    (format!("{LIST}{}{NEWEST_FIRST}", f.sql()), f)
}

/// Header of the journal export.
pub const EXPORT_HEADER: [&str; 15] = [
    "created_at",
    "operation_type",
    "operation",
    "quantity",
    "product_barcode",
    "product_gtin",
    "product_seller_sku",
    "product_brand",
    "product_size",
    "source_name",
    "dc_name",
    "user_email",
    "notes",
    "id",
    "product_id",
];

/// Renders one export row (see [`EXPORT_HEADER`]).
pub fn export_record(row: &Row) -> Result<Vec<String>, tokio_postgres::Error> {
    let m = from_row(row)?;
    let o = |v: Option<String>| v.unwrap_or_default();
    let label = label_ru(&m.operation_type).to_owned();
    Ok(vec![
        m.created_at.render(),
        m.operation_type,
        label,
        m.quantity.to_string(),
        o(m.product_barcode),
        o(m.product_gtin),
        o(m.product_seller_sku),
        o(m.product_brand),
        o(m.product_size),
        o(m.source_name),
        o(m.dc_name),
        o(m.user_email),
        o(m.notes),
        m.id.to_string(),
        m.product_id.to_string(),
    ])
}

/// The Russian UI label of an operation type (spec 13.7), empty for unknown types.
pub fn label_ru(operation_type: &str) -> &'static str {
    match operation_type {
        "receipt" => "Приёмка",
        "receipt_defect" => "Приёмка брака",
        "shipment_rc" => "Отгрузка в РЦ",
        "return_pickup" => "Возврат с ПВЗ",
        "return_defect" => "Возврат брака",
        "self_purchase" => "Самовыкуп",
        "write_off" => "Списание в брак",
        "restoration" => "Восстановление",
        "utilization" => "Утилизация",
        "import_stock" => "Импорт: остаток",
        "import_defect" => "Импорт: брак",
        _ => "",
    }
}

/// A day, for tests of the filter SQL.
#[cfg(test)]
fn day(y: i32, m: time::Month, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, m, d).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_only_bounds_cover_whole_days_in_the_time_zone() {
        let f = JournalFilter {
            date_from: Some(DateOrTime::Day(day(2026, time::Month::February, 20))),
            date_to: Some(DateOrTime::Day(day(2026, time::Month::February, 20))),
            ..JournalFilter::default()
        }
        .filters("Europe/Moscow");
        assert_eq!(
            f.sql(),
            " AND m.created_at >= ($1::date::timestamp AT TIME ZONE $2::text) \
             AND m.created_at < (($3::date + 1)::timestamp AT TIME ZONE $4::text)"
        );
        assert_eq!(f.params().len(), 4);
    }

    #[test]
    fn every_filter_numbers_its_parameters_in_order() {
        let f = JournalFilter {
            operation_type: Some("receipt".to_owned()),
            product_id: Some(Uuid::nil()),
            barcode: Some("46".to_owned()),
            ..JournalFilter::default()
        }
        .filters("UTC");
        assert_eq!(
            f.sql(),
            " AND m.operation_type = $1 AND m.product_id = $2 \
             AND m.product_id IN (SELECT bp.id FROM products bp WHERE bp.barcode ILIKE $3)"
        );
    }
}
