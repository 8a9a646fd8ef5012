//! The ledger check: every product's balances must equal the signed sum of its journal
//! rows. Shared by the backend (`GET /api/admin/ledger-check`) and the restore drills
//! (`wms backup verify`), so both judge a database by the same SQL.
//!
//! Stocktake adjustments (`stocktake_stock`, `stocktake_defect`) carry their sign in the
//! quantity. Owns the SQL and the summary type only; callers bring the connection and decide what a
//! mismatch means for them. No HTTP, no pool.

/// Products whose balances differ from the sums of their journal rows.
pub const LEDGER_MISMATCHES: &str = "WITH ledger AS ( \
       SELECT product_id, \
         sum(CASE WHEN operation_type IN ('receipt', 'return_pickup', 'self_purchase', \
                                          'restoration', 'import_stock', 'stocktake_stock') \
                  THEN quantity::bigint \
                  WHEN operation_type IN ('shipment_rc', 'write_off') THEN -quantity::bigint \
                  ELSE 0 END) AS stock, \
         sum(CASE WHEN operation_type IN ('receipt_defect', 'return_defect', 'write_off', \
                                          'import_defect', 'stocktake_defect') THEN quantity::bigint \
                  WHEN operation_type IN ('restoration', 'utilization') THEN -quantity::bigint \
                  ELSE 0 END) AS defect \
       FROM stock_movements GROUP BY product_id) \
     SELECT p.id AS product_id, p.barcode, p.is_deleted, \
       COALESCE(s.quantity, 0)::bigint AS stock_quantity, COALESCE(l.stock, 0)::bigint AS stock_ledger, \
       COALESCE(d.quantity, 0)::bigint AS defect_quantity, COALESCE(l.defect, 0)::bigint AS defect_ledger \
     FROM products p \
     LEFT JOIN stocks s ON s.product_id = p.id \
     LEFT JOIN defect_stocks d ON d.product_id = p.id \
     LEFT JOIN ledger l ON l.product_id = p.id \
     WHERE COALESCE(s.quantity, 0) <> COALESCE(l.stock, 0) \
        OR COALESCE(d.quantity, 0) <> COALESCE(l.defect, 0) \
     ORDER BY p.barcode, p.id";

/// Every product, deleted ones included.
pub const COUNT_PRODUCTS: &str = "SELECT count(*) FROM products";

/// Whether the app's two data tables exist (`t`/`f` each); a database without them has no
/// warehouse data by definition.
pub const DATA_TABLES_PRESENT: &str = "SELECT to_regclass('products') IS NOT NULL \
       AND to_regclass('stock_movements') IS NOT NULL";

/// Products and journal rows, as `PRODUCTS MOVEMENTS` (only when both tables exist). A new
/// stack's database (schema and seed only) has `0 0`.
pub const WAREHOUSE_COUNTS: &str = "SELECT (SELECT count(*) FROM products) || ' ' || \
       (SELECT count(*) FROM stock_movements)";

/// The outcome of one ledger check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Products compared.
    pub products_checked: i64,
    /// Barcodes of the products whose balances differ from their journal.
    pub mismatched_barcodes: Vec<String>,
}

impl Summary {
    /// True if and only if every balance equals its journal.
    pub fn is_consistent(&self) -> bool {
        self.mismatched_barcodes.is_empty()
    }
}

/// The products compared and the rows of [`LEDGER_MISMATCHES`], in one read-only
/// repeatable-read snapshot.
pub async fn snapshot(
    client: &mut tokio_postgres::Client,
) -> Result<(i64, Vec<tokio_postgres::Row>), tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let checked: i64 = tx.query_one(COUNT_PRODUCTS, &[]).await?.try_get(0)?;
    let rows = tx.query(LEDGER_MISMATCHES, &[]).await?;
    tx.commit().await?;
    Ok((checked, rows))
}

/// Runs the check in one read-only repeatable-read snapshot.
pub async fn check(client: &mut tokio_postgres::Client) -> Result<Summary, tokio_postgres::Error> {
    let (checked, rows) = snapshot(client).await?;
    let mismatched_barcodes = rows
        .iter()
        .map(|r| r.try_get::<_, String>("barcode"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        products_checked: checked,
        mismatched_barcodes,
    })
}
