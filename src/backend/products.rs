//! Products (spec 6.6, 6.7): the paginated list with balances, create (with two zero
//! balances, one transaction), get (with balances, B-41), partial update, soft delete and
//! restore. Owns the SQL of `products` except the Excel import's bulk statements.
//! Uniqueness answers come from the constraint names, so races answer 400 like pre-checks.

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Pool};
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::db::{self, BULK_BATCH, DbError, Filters, from_columns};
use super::errors::{ApiError, msg};
use super::export::Table;
use super::paging::{self, Page, PageRequest, PagedSql};
use super::stock;
use super::validation::{Body, ParseBody, ParseQuery, Patch, Problems, Query, RawBody, Text};
use super::wire::{Ts, contains_pattern};

/// A product's columns, in the order [`Product`]'s row reader takes them.
macro_rules! product_columns {
    () => {
        "p.barcode, p.gtin, p.seller_sku, p.size, p.brand, p.color, p.id, p.created_at, p.updated_at"
    };
}
/// A product with its balances (joined), up to the `WHERE` clause.
macro_rules! with_balances {
    () => {
        concat!(
            "SELECT ",
            product_columns!(),
            ", COALESCE(s.quantity, 0) AS stock_quantity, \
             COALESCE(d.quantity, 0) AS defect_quantity \
             FROM products p \
             LEFT JOIN stocks s ON s.product_id = p.id \
             LEFT JOIN defect_stocks d ON d.product_id = p.id "
        )
    };
}

const LIST: &str = concat!(with_balances!(), "WHERE NOT p.is_deleted");
/// The paged list. The balances are scalar subqueries, not joins: a page's statement is
/// prepared once per connection and PostgreSQL soon switches it to a generic plan, in which
/// `LIMIT $n OFFSET $m` are unknown (estimated at a tenth of the table); with joins that plan
/// hashes every product's balances before sorting (1.3 ms at 1,000 products, growing with
/// the table), while subqueries are evaluated only for the rows the page returns, after the
/// index-ordered scan (0.06 ms). The export keeps the joins ([`LIST`]): it reads every row.
const LIST_PAGE: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", \
     COALESCE((SELECT s.quantity FROM stocks s WHERE s.product_id = p.id), 0) AS stock_quantity, \
     COALESCE((SELECT d.quantity FROM defect_stocks d WHERE d.product_id = p.id), 0) \
     AS defect_quantity \
     FROM products p \
     WHERE NOT p.is_deleted"
);
const COUNT: &str = "SELECT count(*) FROM products p WHERE NOT p.is_deleted";
const BY_BARCODE: &str = " AND p.barcode ILIKE $?";
const BY_BARCODE_SKU_OR_BRAND: &str =
    " AND (p.barcode ILIKE $? OR p.seller_sku ILIKE $? OR p.brand ILIKE $?)";
const NEWEST_FIRST: &str = " ORDER BY p.created_at DESC, p.id DESC";

const GET: &str = concat!(with_balances!(), "WHERE p.id = $1 AND NOT p.is_deleted");
const INSERT: &str = concat!(
    "INSERT INTO products AS p \
     (id, barcode, gtin, seller_sku, size, brand, color, is_deleted) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, false) \
     RETURNING ",
    product_columns!()
);
/// Partial update: each even parameter says whether the next one was sent; `updated_at`
/// moves only when a value really changes.
const UPDATE: &str = concat!(
    "UPDATE products AS p SET \
     barcode = CASE WHEN $2 THEN $3 ELSE p.barcode END, \
     gtin = CASE WHEN $4 THEN $5 ELSE p.gtin END, \
     seller_sku = CASE WHEN $6 THEN $7 ELSE p.seller_sku END, \
     size = CASE WHEN $8 THEN $9 ELSE p.size END, \
     brand = CASE WHEN $10 THEN $11 ELSE p.brand END, \
     color = CASE WHEN $12 THEN $13 ELSE p.color END, \
     updated_at = CASE WHEN ($2 AND p.barcode IS DISTINCT FROM $3) \
          OR ($4 AND p.gtin IS DISTINCT FROM $5) \
          OR ($6 AND p.seller_sku IS DISTINCT FROM $7) \
          OR ($8 AND p.size IS DISTINCT FROM $9) \
          OR ($10 AND p.brand IS DISTINCT FROM $11) \
          OR ($12 AND p.color IS DISTINCT FROM $13) \
        THEN now() ELSE p.updated_at END \
     WHERE p.id = $1 AND NOT p.is_deleted \
     RETURNING ",
    product_columns!()
);
const SOFT_DELETE: &str =
    "UPDATE products SET is_deleted = true, updated_at = now() WHERE id = $1 AND NOT is_deleted";
const RESTORE: &str = concat!(
    "UPDATE products AS p SET is_deleted = false, updated_at = now() \
     WHERE p.id = $1 AND p.is_deleted \
     RETURNING ",
    product_columns!()
);
/// The product a scanned code names: its barcode, else its GTIN as sent or padded to 14 digits
/// (docs/floor-api.md). A barcode match wins over another product's GTIN.
const BY_CODE: &str = concat!(
    with_balances!(),
    "WHERE NOT p.is_deleted AND (p.barcode = $1 OR p.gtin = $1 OR p.gtin = $2) \
     ORDER BY (p.barcode = $1) DESC LIMIT 1"
);
const GET_ANY: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products p WHERE p.id = $1"
);

/// The import: lock the products a sheet names (deleted ones included), in id order. `NO KEY`:
/// a concurrent operation holding a balance row still gets the `KEY SHARE` lock its journal
/// row's foreign key needs; a plain `FOR UPDATE` here would deadlock with it.
/// Each row names the (1-based) position of its barcode in `$1` instead of the barcode.
const LOCK_FOR_IMPORT: &str = "SELECT p.id, p.is_deleted, u.position \
     FROM products p JOIN unnest($1::text[]) WITH ORDINALITY AS u(barcode, position) \
       ON p.barcode = u.barcode \
     ORDER BY p.id FOR NO KEY UPDATE OF p";
/// The import: which candidate GTINs are taken already.
const TAKEN_GTINS: &str = "SELECT gtin FROM products WHERE gtin = ANY($1)";
/// The import: new products in one statement; conflicts (a concurrent writer) are skipped and
/// show up as missing ids in the result.
const INSERT_IMPORTED: &str = "INSERT INTO products \
     (id, barcode, gtin, seller_sku, size, brand, color, is_deleted) \
     SELECT u.id, u.barcode, u.gtin, u.seller_sku, u.size, u.brand, NULL, false \
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
       AS u(id, barcode, gtin, seller_sku, size, brand) \
     ON CONFLICT DO NOTHING RETURNING id";
/// The import: set the attributes a row has (null = untouched, B-05) and undelete (B-07).
const UPDATE_IMPORTED: &str = "UPDATE products AS p SET \
     seller_sku = COALESCE(u.seller_sku, p.seller_sku), \
     size = COALESCE(u.size, p.size), \
     brand = COALESCE(u.brand, p.brand), \
     is_deleted = false, \
     updated_at = CASE WHEN p.is_deleted \
          OR p.seller_sku IS DISTINCT FROM COALESCE(u.seller_sku, p.seller_sku) \
          OR p.size IS DISTINCT FROM COALESCE(u.size, p.size) \
          OR p.brand IS DISTINCT FROM COALESCE(u.brand, p.brand) \
        THEN now() ELSE p.updated_at END \
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) \
       AS u(id, seller_sku, size, brand) \
     WHERE p.id = u.id";

/// Constraint names that map to the 400 answers of create and update.
const BARCODE_KEY: &str = "products_barcode_key";
const GTIN_KEY: &str = "products_gtin_key";

/// Column limits (spec 6.6).
pub const BARCODE_MAX: usize = 100;
pub const GTIN_MAX: usize = 14;
pub const SELLER_SKU_MAX: usize = 100;
pub const SIZE_MAX: usize = 50;
pub const BRAND_MAX: usize = 255;
pub const COLOR_MAX: usize = 100;

/// A product, fields in the reference's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub barcode: String,
    pub gtin: Option<String>,
    pub seller_sku: Option<String>,
    pub size: Option<String>,
    pub brand: Option<String>,
    pub color: Option<String>,
    pub id: Uuid,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A product with its two balances (list items; `GET /api/products/{id}` in our version).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductWithStock {
    #[serde(flatten)]
    pub product: Product,
    pub stock_quantity: i32,
    pub defect_quantity: i32,
}

fn product_from_row(row: &Row) -> Result<Product, tokio_postgres::Error> {
    Ok(from_columns! { row, Product {
        barcode, gtin, seller_sku, size, brand, color, id, created_at, updated_at
    } })
}

fn with_stock_from_row(row: &Row) -> Result<ProductWithStock, tokio_postgres::Error> {
    Ok(ProductWithStock {
        product: product_from_row(row)?,
        stock_quantity: row.try_get("stock_quantity")?,
        defect_quantity: row.try_get("defect_quantity")?,
    })
}

// ---- input -------------------------------------------------------------------------------

/// Barcodes are trimmed (B-36) and must not be empty (B-37).
const BARCODE: Text = Text::name(BARCODE_MAX);
const GTIN: Text = Text {
    max: Some(GTIN_MAX),
    trim: true,
    non_empty: false,
};

/// A validated `POST /api/products/` body.
#[derive(Debug, Clone, ToSchema)]
#[schema(as = ProductCreate)]
pub struct NewProduct {
    #[schema(min_length = 1, max_length = 100)]
    pub barcode: String,
    #[schema(max_length = 14)]
    pub gtin: Option<String>,
    #[schema(max_length = 100)]
    pub seller_sku: Option<String>,
    #[schema(max_length = 50)]
    pub size: Option<String>,
    #[schema(max_length = 255)]
    pub brand: Option<String>,
    #[schema(max_length = 100)]
    pub color: Option<String>,
}

/// A validated `PUT /api/products/{id}` body; `None` = leave unchanged, `Some(None)` = clear.
#[derive(Debug, Clone, Default, ToSchema)]
#[schema(as = ProductUpdate)]
pub struct ProductChange {
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub barcode: Option<String>,
    #[schema(value_type = Option<String>, max_length = 14)]
    pub gtin: Option<Option<String>>,
    #[schema(value_type = Option<String>, max_length = 100)]
    pub seller_sku: Option<Option<String>>,
    #[schema(value_type = Option<String>, max_length = 50)]
    pub size: Option<Option<String>>,
    #[schema(value_type = Option<String>, max_length = 255)]
    pub brand: Option<Option<String>>,
    #[schema(value_type = Option<String>, max_length = 100)]
    pub color: Option<Option<String>>,
}

/// An empty (after trimming) GTIN means "no GTIN": several products may lack one, so the
/// empty string must not take part in uniqueness.
fn gtin_patch(p: Patch<String>) -> Patch<String> {
    match p {
        Patch::Set(s) if s.is_empty() => Patch::Null,
        other => other,
    }
}

impl ParseBody for NewProduct {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewProduct> {
        let b = Body::of(raw, p)?;
        let barcode = b.string(p, "barcode", BARCODE);
        let gtin = gtin_patch(b.patch_string(p, "gtin", GTIN, true));
        let seller_sku = b.patch_string(p, "seller_sku", Text::max(SELLER_SKU_MAX), true);
        let size = b.patch_string(p, "size", Text::max(SIZE_MAX), true);
        let brand = b.patch_string(p, "brand", Text::max(BRAND_MAX), true);
        let color = b.patch_string(p, "color", Text::max(COLOR_MAX), true);
        Some(NewProduct {
            barcode: barcode?,
            gtin: gtin.into_option(),
            seller_sku: seller_sku.into_option(),
            size: size.into_option(),
            brand: brand.into_option(),
            color: color.into_option(),
        })
    }
}

impl ParseBody for ProductChange {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<ProductChange> {
        let b = Body::of(raw, p)?;
        let barcode = b.patch_string(p, "barcode", BARCODE, false);
        let gtin = gtin_patch(b.patch_string(p, "gtin", GTIN, true));
        let seller_sku = b.patch_string(p, "seller_sku", Text::max(SELLER_SKU_MAX), true);
        let size = b.patch_string(p, "size", Text::max(SIZE_MAX), true);
        let brand = b.patch_string(p, "brand", Text::max(BRAND_MAX), true);
        let color = b.patch_string(p, "color", Text::max(COLOR_MAX), true);
        Some(ProductChange {
            barcode: barcode.into_option(),
            gtin: gtin.into_update(),
            seller_sku: seller_sku.into_update(),
            size: size.into_update(),
            brand: brand.into_update(),
            color: color.into_update(),
        })
    }
}

/// Filters of the product list and its CSV export.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// Substring of the barcode, case-insensitive.
    pub barcode: Option<String>,
    /// Substring of the barcode, the seller SKU or the brand (our extension).
    pub q: Option<String>,
}

impl ParseQuery for ProductFilter {
    fn parse(q: &Query, p: &mut Problems) -> ProductFilter {
        ProductFilter {
            barcode: q.text(p, "barcode"),
            q: q.text(p, "q"),
        }
    }
}

impl ProductFilter {
    fn filters(&self) -> Filters {
        let mut f = Filters::new();
        if let Some(b) = &self.barcode {
            f.and(BY_BARCODE, contains_pattern(b));
        }
        if let Some(q) = &self.q {
            let pattern = contains_pattern(q);
            // One parameter used twice: the fragment names it once per use.
            let n = f.param(pattern);
            f.and_raw(&BY_BARCODE_SKU_OR_BRAND.replace("$?", &n));
        }
        f
    }
}

fn uniqueness_error(e: DbError, barcode: Option<&str>, gtin: Option<&str>) -> ApiError {
    if e.is_unique_violation(BARCODE_KEY) {
        ApiError::bad_request(format!(
            "Product with barcode '{}' already exists",
            barcode.unwrap_or_default()
        ))
    } else if e.is_unique_violation(GTIN_KEY) {
        ApiError::bad_request(format!(
            "Product with GTIN '{}' already exists",
            gtin.unwrap_or_default()
        ))
    } else {
        e.into()
    }
}

// ---- operations --------------------------------------------------------------------------

/// One page of non-deleted products with balances, newest first (ties by id, B-17).
pub async fn list(
    conn: &impl GenericClient,
    filter: &ProductFilter,
    page: PageRequest,
) -> Result<Page<ProductWithStock>, ApiError> {
    let sql = PagedSql {
        count: COUNT,
        list: LIST_PAGE,
        order: NEWEST_FIRST,
    };
    paging::fetch(conn, sql, filter.filters(), page, with_stock_from_row).await
}

/// One non-deleted product with its balances.
pub async fn get(conn: &impl GenericClient, id: Uuid) -> Result<ProductWithStock, ApiError> {
    let stmt = conn.prepare_cached(GET).await?;
    match conn.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(with_stock_from_row(&row)?),
        None => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
    }
}

/// Longest scanned code accepted by the lookup (the barcode column's limit).
pub const CODE_MAX: usize = BARCODE_MAX;

/// `code` left-padded with zeros to a 14-digit GTIN when it is 1–14 digits, else as it is.
pub fn gtin14(code: &str) -> String {
    if !code.is_empty() && code.len() <= GTIN_MAX && code.bytes().all(|b| b.is_ascii_digit()) {
        format!("{code:0>14}")
    } else {
        code.to_owned()
    }
}

/// The non-deleted product a scanned code names (barcode, or GTIN as is or padded), if any.
pub async fn find_by_code(
    conn: &impl GenericClient,
    code: &str,
) -> Result<Option<ProductWithStock>, ApiError> {
    let stmt = conn.prepare_cached(BY_CODE).await?;
    let padded = gtin14(code);
    match conn.query_opt(&stmt, &[&code, &padded]).await? {
        Some(row) => Ok(Some(with_stock_from_row(&row)?)),
        None => Ok(None),
    }
}

/// Creates a product and its two zero balances in one transaction.
pub async fn create(pool: &Pool, new: &NewProduct) -> Result<Product, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    let id = Uuid::new_v4();
    let row = tx
        .query_one(
            INSERT,
            &[
                &id,
                &new.barcode,
                &new.gtin,
                &new.seller_sku,
                &new.size,
                &new.brand,
                &new.color,
            ],
        )
        .await
        .map_err(|e| uniqueness_error(e.into(), Some(&new.barcode), new.gtin.as_deref()))?;
    let product = product_from_row(&row)?;
    stock::create_zero_balances(&tx, id).await?;
    tx.commit().await?;
    Ok(product)
}

/// Applies a partial update to a non-deleted product.
pub async fn update(pool: &Pool, id: Uuid, change: &ProductChange) -> Result<Product, ApiError> {
    let conn = db::conn(pool).await?;
    let flat = |v: &Option<Option<String>>| v.clone().flatten();
    let (gtin, sku, size, brand, color) = (
        flat(&change.gtin),
        flat(&change.seller_sku),
        flat(&change.size),
        flat(&change.brand),
        flat(&change.color),
    );
    let row = conn
        .query_opt(
            UPDATE,
            &[
                &id,
                &change.barcode.is_some(),
                &change.barcode,
                &change.gtin.is_some(),
                &gtin,
                &change.seller_sku.is_some(),
                &sku,
                &change.size.is_some(),
                &size,
                &change.brand.is_some(),
                &brand,
                &change.color.is_some(),
                &color,
            ],
        )
        .await
        .map_err(|e| uniqueness_error(e.into(), change.barcode.as_deref(), gtin.as_deref()))?;
    match row {
        Some(row) => Ok(product_from_row(&row)?),
        None => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
    }
}

/// Soft-deletes a product; a second delete is 404.
pub async fn soft_delete(pool: &Pool, id: Uuid) -> Result<(), ApiError> {
    let conn = db::conn(pool).await?;
    match conn.execute(SOFT_DELETE, &[&id]).await? {
        0 => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
        _ => Ok(()),
    }
}

/// Clears the soft-delete flag (our extension); restoring a live product is a no-op.
pub async fn restore(pool: &Pool, id: Uuid) -> Result<Product, ApiError> {
    let conn = db::conn(pool).await?;
    if let Some(row) = conn.query_opt(RESTORE, &[&id]).await? {
        return Ok(product_from_row(&row)?);
    }
    match conn.query_opt(GET_ANY, &[&id]).await? {
        Some(row) => Ok(product_from_row(&row)?),
        None => Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND)),
    }
}

// ---- the import's bulk statements ---------------------------------------------------------

/// An existing product the import matched by barcode (now locked).
#[derive(Debug, Clone)]
pub struct ImportTarget {
    pub id: Uuid,
    /// Soft-deleted: only an administrator's import restores it.
    pub is_deleted: bool,
}

/// A product the import creates.
#[derive(Debug, Clone)]
pub struct ImportNew {
    pub id: Uuid,
    pub row_number: u32,
    pub barcode: String,
    pub gtin: Option<String>,
    pub seller_sku: Option<String>,
    pub size: Option<String>,
    pub brand: Option<String>,
}

/// Attributes the import sets on an existing product (`None` = untouched).
#[derive(Debug, Clone)]
pub struct ImportUpdate {
    pub id: Uuid,
    pub seller_sku: Option<String>,
    pub size: Option<String>,
    pub brand: Option<String>,
}

/// Locks (FOR UPDATE, id order) the products with these barcodes, deleted ones included.
/// Locks (id order) the products with these barcodes, deleted ones included; the result
/// has one entry per barcode, `None` where there is no such product. Rows are read as they
/// arrive (a large import does not buffer them all).
pub async fn lock_for_import(
    client: &impl GenericClient,
    barcodes: &[&str],
) -> Result<Vec<Option<ImportTarget>>, DbError> {
    let mut found: Vec<Option<ImportTarget>> = Vec::new();
    found.resize_with(barcodes.len(), || None);
    let params: [&(dyn ToSql + Sync); 1] = [&barcodes];
    let rows = client.query_raw(LOCK_FOR_IMPORT, params).await?;
    futures_util::pin_mut!(rows);
    while let Some(row) = rows.try_next().await? {
        let position: i64 = row.try_get("position")?;
        let target = from_columns! { row, ImportTarget { id, is_deleted } };
        if let Some(slot) = usize::try_from(position - 1)
            .ok()
            .and_then(|i| found.get_mut(i))
        {
            *slot = Some(target);
        }
    }
    Ok(found)
}

/// The candidates that some product already uses as its GTIN.
pub async fn taken_gtins(
    client: &impl GenericClient,
    candidates: &[String],
) -> Result<HashSet<String>, DbError> {
    if candidates.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = client.query(TAKEN_GTINS, &[&candidates]).await?;
    rows.iter()
        .map(|r| r.try_get::<_, String>(0).map_err(DbError::from))
        .collect()
}

/// Inserts new products; returns the ids actually inserted (conflicts are skipped).
pub async fn insert_imported(
    client: &impl GenericClient,
    new: &[ImportNew],
) -> Result<HashSet<Uuid>, DbError> {
    let mut inserted = HashSet::new();
    for new in new.chunks(BULK_BATCH) {
        let ids: Vec<Uuid> = new.iter().map(|p| p.id).collect();
        let barcodes: Vec<&str> = new.iter().map(|p| p.barcode.as_str()).collect();
        let gtins: Vec<Option<&str>> = new.iter().map(|p| p.gtin.as_deref()).collect();
        let skus: Vec<Option<&str>> = new.iter().map(|p| p.seller_sku.as_deref()).collect();
        let sizes: Vec<Option<&str>> = new.iter().map(|p| p.size.as_deref()).collect();
        let brands: Vec<Option<&str>> = new.iter().map(|p| p.brand.as_deref()).collect();
        let rows = client
            .query(
                INSERT_IMPORTED,
                &[&ids, &barcodes, &gtins, &skus, &sizes, &brands],
            )
            .await?;
        for r in rows {
            inserted.insert(r.try_get::<_, Uuid>(0)?);
        }
    }
    Ok(inserted)
}

/// Updates the attributes of matched products and clears their soft-delete flag.
pub async fn update_imported(
    client: &impl GenericClient,
    updates: &[ImportUpdate],
) -> Result<(), DbError> {
    for updates in updates.chunks(BULK_BATCH) {
        let ids: Vec<Uuid> = updates.iter().map(|u| u.id).collect();
        let skus: Vec<Option<&str>> = updates.iter().map(|u| u.seller_sku.as_deref()).collect();
        let sizes: Vec<Option<&str>> = updates.iter().map(|u| u.size.as_deref()).collect();
        let brands: Vec<Option<&str>> = updates.iter().map(|u| u.brand.as_deref()).collect();
        client
            .execute(UPDATE_IMPORTED, &[&ids, &skus, &sizes, &brands])
            .await?;
    }
    Ok(())
}

/// The SQL and parameters of the CSV export of products with balances (all matching
/// non-deleted products, newest first), for [`super::movements`]' streaming helper.
pub fn export_query(filter: &ProductFilter) -> (String, Filters) {
    let f = filter.filters();
    (format!("{LIST}{}{NEWEST_FIRST}", f.sql()), f)
}

/// The products export.
pub const EXPORT: Table = Table {
    header: &EXPORT_HEADER,
    numbers: &["stock_quantity", "defect_quantity"],
    render: export_record,
    filename: "products.csv",
};

/// The CSV header of the products export.
const EXPORT_HEADER: [&str; 11] = [
    "id",
    "barcode",
    "gtin",
    "seller_sku",
    "size",
    "brand",
    "color",
    "stock_quantity",
    "defect_quantity",
    "created_at",
    "updated_at",
];

/// Renders one export row (see [`EXPORT_HEADER`]).
fn export_record(row: &Row) -> Result<Vec<String>, tokio_postgres::Error> {
    let p = with_stock_from_row(row)?;
    let o = |v: Option<String>| v.unwrap_or_default();
    Ok(vec![
        p.product.id.to_string(),
        p.product.barcode,
        o(p.product.gtin),
        o(p.product.seller_sku),
        o(p.product.size),
        o(p.product.brand),
        o(p.product.color),
        p.stock_quantity.to_string(),
        p.defect_quantity.to_string(),
        p.product.created_at.render(),
        p.product.updated_at.render(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::validation::parse_body;

    #[test]
    fn barcodes_are_trimmed_and_empty_gtins_are_null() {
        let raw = parse_body(
            Some("application/json"),
            br#"{"barcode": "  460123  ", "gtin": " ", "brand": null}"#,
        )
        .unwrap();
        let mut p = Problems::new();
        let new = NewProduct::parse(&raw, &mut p).unwrap();
        assert!(p.is_empty());
        assert_eq!(new.barcode, "460123");
        assert_eq!(new.gtin, None);
        assert_eq!(new.brand, None);
    }

    #[test]
    fn update_distinguishes_clearing_from_leaving_alone() {
        let raw = parse_body(Some("application/json"), br#"{"gtin": null, "size": "M"}"#).unwrap();
        let mut p = Problems::new();
        let c = ProductChange::parse(&raw, &mut p).unwrap();
        assert!(p.is_empty());
        assert_eq!(c.barcode, None);
        assert_eq!(c.gtin, Some(None));
        assert_eq!(c.size, Some(Some("M".to_owned())));
        assert_eq!(c.brand, None);
    }

    #[test]
    fn null_barcode_on_update_is_a_string_type_problem() {
        let raw = parse_body(Some("application/json"), br#"{"barcode": null}"#).unwrap();
        let mut p = Problems::new();
        let _ = ProductChange::parse(&raw, &mut p);
        assert!(!p.is_empty());
    }

    #[test]
    fn filters_number_their_parameters() {
        let f = ProductFilter {
            barcode: Some("4_6".to_owned()),
            q: Some("x".to_owned()),
        }
        .filters();
        assert_eq!(
            f.sql(),
            " AND p.barcode ILIKE $1 AND (p.barcode ILIKE $2 OR p.seller_sku ILIKE $2 OR p.brand ILIKE $2)"
        );
        assert_eq!(f.params().len(), 2);
    }
}
