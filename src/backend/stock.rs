//! Balances: the SQL of `stocks` and `defect_stocks`, the nine operations (spec 7), the
//! summary (8.2) and the ledger check.
//!
//! An operation runs in one transaction: optional idempotency claim, balance changes, the
//! journal row, the stored response. Decrements are single guarded updates ("subtract only
//! if at least n is there"), so balances never go negative under concurrency; increments are
//! guarded against 32-bit overflow. Rows are always locked in the same order — the good-stock
//! row before the defect row — so `write_off` and `restoration` on one product cannot
//! deadlock each other (and the import locks in that order too). Writers never lock a
//! product `FOR UPDATE` (only `FOR NO KEY UPDATE`), so the `KEY SHARE` lock that a journal
//! row's foreign key takes never waits behind a transaction that waits for a balance row.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::db::{self, BULK_BATCH, DbError, from_columns};
use super::errors::{ApiError, msg};
use super::idempotency::{self, Claim};
use super::movements::{self, Movement, NewMovement};
use super::users::User;
use super::validation::{
    Body, ErrorItem, ParseBody, Patch, Problems, RawBody, Text, check_le, loc,
};

/// The statements of one balance table; `stocks` and `defect_stocks` have the same columns.
struct BalanceSql {
    /// A zero row for a product, unless it has one.
    create: &'static str,
    /// `+n` on a live product's balance, unless the result would exceed `i32::MAX`.
    increment: &'static str,
    /// `-n` on a live product's balance, only if at least `n` is there.
    decrement: &'static str,
    /// The import: lock the existing rows of these products, in product order.
    lock: &'static str,
    /// The import: absolute balances, creating missing rows; unchanged rows are not
    /// rewritten.
    set: &'static str,
}

macro_rules! balance_sql {
    ($table:literal) => {
        BalanceSql {
            create: concat!(
                "INSERT INTO ",
                $table,
                " (id, product_id, quantity) VALUES ($1, $2, 0) \
                 ON CONFLICT (product_id) DO NOTHING"
            ),
            increment: concat!(
                "UPDATE ",
                $table,
                " SET quantity = quantity + $2, updated_at = now() \
                 WHERE product_id = $1 AND quantity <= 2147483647 - $2 \
                 AND EXISTS (SELECT 1 FROM products p WHERE p.id = $1 AND NOT p.is_deleted) \
                 RETURNING quantity"
            ),
            decrement: concat!(
                "UPDATE ",
                $table,
                " SET quantity = quantity - $2, updated_at = now() \
                 WHERE product_id = $1 AND quantity >= $2 \
                 AND EXISTS (SELECT 1 FROM products p WHERE p.id = $1 AND NOT p.is_deleted) \
                 RETURNING quantity"
            ),
            lock: concat!(
                "SELECT product_id, quantity FROM ",
                $table,
                " WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE"
            ),
            set: concat!(
                "INSERT INTO ",
                $table,
                " AS s (id, product_id, quantity) \
                 SELECT gen_random_uuid(), u.product_id, u.quantity \
                 FROM unnest($1::uuid[], $2::int[]) AS u(product_id, quantity) \
                 ORDER BY u.product_id \
                 ON CONFLICT (product_id) DO UPDATE \
                 SET quantity = EXCLUDED.quantity, updated_at = now() \
                 WHERE s.quantity <> EXCLUDED.quantity"
            ),
        }
    };
}

/// Good stock.
const STOCKS: BalanceSql = balance_sql!("stocks");
/// Defect stock.
const DEFECTS: BalanceSql = balance_sql!("defect_stocks");
/// Both, in the lock order (good stock first).
const BALANCES: [&BalanceSql; 2] = [&STOCKS, &DEFECTS];

/// Batches and stocktakes: create the missing zero balance rows of live products, in product
/// order (so concurrent creators wait for each other in one order), before locking them.
const CREATE_MISSING: [&str; 2] = [
    "INSERT INTO stocks (id, product_id, quantity) \
     SELECT gen_random_uuid(), p.id, 0 FROM products p \
     WHERE p.id = ANY($1) AND NOT p.is_deleted \
       AND NOT EXISTS (SELECT 1 FROM stocks s WHERE s.product_id = p.id) \
     ORDER BY p.id ON CONFLICT (product_id) DO NOTHING",
    "INSERT INTO defect_stocks (id, product_id, quantity) \
     SELECT gen_random_uuid(), p.id, 0 FROM products p \
     WHERE p.id = ANY($1) AND NOT p.is_deleted \
       AND NOT EXISTS (SELECT 1 FROM defect_stocks d WHERE d.product_id = p.id) \
     ORDER BY p.id ON CONFLICT (product_id) DO NOTHING",
];
/// Batches and stocktakes: which of these products are live (not soft-deleted).
const LIVE: &str = "SELECT id FROM products WHERE id = ANY($1) AND NOT is_deleted";

/// Why a guarded update matched nothing: is the product live, are its balance rows there?
const DIAGNOSE: &str = "SELECT NOT p.is_deleted AS live, \
     EXISTS (SELECT 1 FROM stocks s WHERE s.product_id = p.id) AS has_stock, \
     EXISTS (SELECT 1 FROM defect_stocks d WHERE d.product_id = p.id) AS has_defect \
     FROM products p WHERE p.id = $1";

const SUMMARY: &str = "SELECT count(*) AS total_products, \
     COALESCE(sum(s.quantity), 0)::bigint AS total_stock, \
     COALESCE(sum(d.quantity), 0)::bigint AS total_defect \
     FROM products p \
     LEFT JOIN stocks s ON s.product_id = p.id \
     LEFT JOIN defect_stocks d ON d.product_id = p.id \
     WHERE NOT p.is_deleted";

/// Largest quantity of one operation (and of any balance).
pub const QUANTITY_MAX: i64 = i32::MAX as i64;

/// The nine operation types (spec 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Operation {
    Receipt,
    ReceiptDefect,
    ShipmentRc,
    ReturnPickup,
    ReturnDefect,
    SelfPurchase,
    WriteOff,
    Restoration,
    Utilization,
}

/// One balance change of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    StockUp,
    StockDown,
    DefectUp,
    DefectDown,
}

impl Operation {
    pub const ALL: [Operation; 9] = [
        Operation::Receipt,
        Operation::ReceiptDefect,
        Operation::ShipmentRc,
        Operation::ReturnPickup,
        Operation::ReturnDefect,
        Operation::SelfPurchase,
        Operation::WriteOff,
        Operation::Restoration,
        Operation::Utilization,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Operation::Receipt => "receipt",
            Operation::ReceiptDefect => "receipt_defect",
            Operation::ShipmentRc => "shipment_rc",
            Operation::ReturnPickup => "return_pickup",
            Operation::ReturnDefect => "return_defect",
            Operation::SelfPurchase => "self_purchase",
            Operation::WriteOff => "write_off",
            Operation::Restoration => "restoration",
            Operation::Utilization => "utilization",
        }
    }

    pub fn parse(code: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.code() == code)
    }

    /// True if `source_id` is required.
    pub fn needs_source(self) -> bool {
        matches!(
            self,
            Operation::ReturnPickup | Operation::ReturnDefect | Operation::SelfPurchase
        )
    }

    /// True if `distribution_center_id` is required.
    pub fn needs_dc(self) -> bool {
        self == Operation::ShipmentRc
    }

    /// The balance changes, good stock first (the lock order).
    fn steps(self) -> &'static [Step] {
        match self {
            Operation::Receipt | Operation::ReturnPickup | Operation::SelfPurchase => {
                &[Step::StockUp]
            }
            Operation::ReceiptDefect | Operation::ReturnDefect => &[Step::DefectUp],
            Operation::ShipmentRc => &[Step::StockDown],
            Operation::WriteOff => &[Step::StockDown, Step::DefectUp],
            Operation::Restoration => &[Step::StockUp, Step::DefectDown],
            Operation::Utilization => &[Step::DefectDown],
        }
    }

    /// The 400 message when a decrement finds too little.
    fn insufficient(self) -> &'static str {
        match self {
            Operation::ShipmentRc => "Недостаточно товара для отгрузки",
            Operation::WriteOff => "Недостаточно товара для списания в брак",
            Operation::Restoration => "Недостаточно брака для восстановления",
            _ => "Недостаточно брака для утилизации",
        }
    }
}

/// The 422 message listing the public operation types.
fn invalid_operation_message() -> String {
    let list: Vec<String> = Operation::ALL
        .iter()
        .map(|op| format!("'{}'", op.code()))
        .collect();
    format!(
        "Invalid operation_type. Must be one of: [{}]",
        list.join(", ")
    )
}

/// The `operation_type` field: one of the nine public types (the ledger-only types of the
/// import and the stocktake are refused with the same message).
pub fn parse_operation(b: &Body<'_>, p: &mut Problems) -> Option<Operation> {
    let code = b.string(p, "operation_type", Text::FREE)?;
    let operation = Operation::parse(&code);
    if operation.is_none() {
        p.push(ErrorItem::value_error(
            loc("body", "operation_type"),
            &invalid_operation_message(),
            Value::from(code),
        ));
    }
    operation
}

/// The model-level rules of spec 7.1 (a source or a DC required by some types); true if
/// they hold, else the problem is pushed.
pub fn check_required_fields(
    b: &Body<'_>,
    p: &mut Problems,
    operation: Operation,
    source_id: Option<Uuid>,
    distribution_center_id: Option<Uuid>,
) -> bool {
    if operation.needs_source() && source_id.is_none() {
        p.push(ErrorItem::value_error(
            vec![Value::from("body")],
            &format!(
                "source_id is required for operation_type: {}",
                operation.code()
            ),
            b.whole(),
        ));
        return false;
    }
    if operation.needs_dc() && distribution_center_id.is_none() {
        p.push(ErrorItem::value_error(
            vec![Value::from("body")],
            "distribution_center_id is required for operation_type: shipment_rc",
            b.whole(),
        ));
        return false;
    }
    true
}

/// A validated `POST /api/stock/movements` body.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(as = MovementCreate)]
pub struct MovementRequest {
    pub product_id: Uuid,
    #[schema(rename = "operation_type")]
    pub operation: Operation,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub quantity: i32,
    pub source_id: Option<Uuid>,
    pub distribution_center_id: Option<Uuid>,
    pub notes: Option<String>,
}

impl ParseBody for MovementRequest {
    /// Field rules in declaration order, then the model-level rules (spec 7.1).
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<MovementRequest> {
        let b = Body::of(raw, p)?;
        let product_id = b.uuid(p, "product_id");
        let operation = parse_operation(&b, p);
        let quantity = match b.int(p, "quantity") {
            Some(n) if n < 1 => {
                p.push(ErrorItem::value_error(
                    loc("body", "quantity"),
                    "Quantity must be at least 1",
                    b.raw("quantity"),
                ));
                None
            }
            Some(n) => {
                if check_le(
                    p,
                    loc("body", "quantity"),
                    b.raw("quantity"),
                    n,
                    QUANTITY_MAX,
                ) {
                    i32::try_from(n).ok()
                } else {
                    None
                }
            }
            None => None,
        };
        let source_id = b.patch_uuid(p, "source_id", true);
        let dc_id = b.patch_uuid(p, "distribution_center_id", true);
        let notes = b.patch_string(p, "notes", Text::FREE, true);
        if !p.is_empty() {
            return None;
        }
        let (Some(product_id), Some(operation), Some(quantity)) = (product_id, operation, quantity)
        else {
            return None;
        };
        let source_id = source_id.into_option();
        let distribution_center_id = dc_id.into_option();
        if !check_required_fields(&b, p, operation, source_id, distribution_center_id) {
            return None;
        }
        Some(MovementRequest {
            product_id,
            operation,
            quantity,
            source_id,
            distribution_center_id,
            notes: match notes {
                Patch::Set(n) => Some(n),
                _ => None,
            },
        })
    }
}

impl MovementRequest {
    /// A fingerprint of the request, to recognise a reused idempotency key with a different
    /// request.
    pub fn fingerprint(&self) -> String {
        let text = format!(
            "{}|{}|{}|{:?}|{:?}|{:?}",
            self.product_id,
            self.operation.code(),
            self.quantity,
            self.source_id,
            self.distribution_center_id,
            self.notes
        );
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The outcome of a movement request.
#[derive(Debug)]
pub enum Posted {
    /// Executed now.
    Created(Box<Movement>),
    /// An earlier request with the same idempotency key: its stored answer.
    Replayed { status: u16, body: Value },
}

/// Claims an `Idempotency-Key` (if any) inside the posting transaction: `None` to go ahead,
/// or the stored answer `(status, body)` of the earlier request to replay; 422 if the key was
/// used for a different request. Shared by the single operation and batch posting.
pub async fn claim_key(
    client: &impl GenericClient,
    user: &User,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<Option<(u16, Value)>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    match idempotency::claim(client, user.id, key, fingerprint).await? {
        Claim::Fresh => Ok(None),
        Claim::Replay { status, body } => Ok(Some((status, body))),
        Claim::Mismatch => Err(ApiError::detail(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key was already used for a different request",
        )),
    }
}

/// A failed journal insert: an unknown source or DC (their foreign keys) is the request's 404.
pub fn insert_error(e: DbError) -> ApiError {
    if e.is_fk_violation(movements::SOURCE_FK) {
        ApiError::not_found(msg::SOURCE_NOT_FOUND)
    } else if e.is_fk_violation(movements::DC_FK) {
        ApiError::not_found(msg::DC_NOT_FOUND)
    } else {
        e.into()
    }
}

/// Executes one operation in one transaction (with `key`: at most once per key and user).
pub async fn post_movement(
    pool: &Pool,
    user: &User,
    req: &MovementRequest,
    key: Option<&str>,
) -> Result<Posted, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    if let Some((status, body)) = claim_key(&tx, user, key, &req.fingerprint()).await? {
        return Ok(Posted::Replayed { status, body });
    }
    for step in req.operation.steps() {
        apply_step(&tx, req, *step).await?;
    }
    let movement = movements::insert(
        &tx,
        &NewMovement {
            operation_type: req.operation.code(),
            product_id: req.product_id,
            quantity: req.quantity,
            source_id: req.source_id,
            distribution_center_id: req.distribution_center_id,
            user_id: user.id,
            notes: req.notes.as_deref(),
        },
    )
    .await
    .map_err(insert_error)?;
    if let Some(key) = key {
        let body = serde_json::to_value(&movement)
            .map_err(|e| ApiError::Internal(format!("cannot encode a movement: {e}")))?;
        idempotency::store(&tx, user.id, key, 201, &body).await?;
    }
    tx.commit().await?;
    Ok(Posted::Created(Box::new(movement)))
}

/// One guarded balance change; on no match, finds out why (404, 400) or creates a missing
/// balance row (B-40) and tries once more.
async fn apply_step(
    client: &impl GenericClient,
    req: &MovementRequest,
    step: Step,
) -> Result<(), ApiError> {
    let sql = match step {
        Step::StockUp => STOCKS.increment,
        Step::StockDown => STOCKS.decrement,
        Step::DefectUp => DEFECTS.increment,
        Step::DefectDown => DEFECTS.decrement,
    };
    let stmt = client.prepare_cached(sql).await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&req.product_id, &req.quantity];
    if client.query_opt(&stmt, &params).await?.is_some() {
        return Ok(());
    }
    let Some(row) = client.query_opt(DIAGNOSE, &[&req.product_id]).await? else {
        return Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND));
    };
    if !row.try_get::<_, bool>("live")? {
        return Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND));
    }
    let has_row: bool = match step {
        Step::StockUp | Step::StockDown => row.try_get("has_stock")?,
        Step::DefectUp | Step::DefectDown => row.try_get("has_defect")?,
    };
    match (step, has_row) {
        (Step::StockDown | Step::DefectDown, _) => {
            Err(ApiError::bad_request(req.operation.insufficient()))
        }
        (_, true) => Err(ApiError::bad_request(msg::QUANTITY_MAXIMUM)),
        (_, false) => {
            create_zero_balances(client, req.product_id).await?;
            if client.query_opt(&stmt, &params).await?.is_some() {
                Ok(())
            } else {
                Err(ApiError::bad_request(msg::QUANTITY_MAXIMUM))
            }
        }
    }
}

/// Creates the zero balance rows of a product (those that are missing).
pub async fn create_zero_balances(
    client: &impl GenericClient,
    product_id: Uuid,
) -> Result<(), DbError> {
    for table in BALANCES {
        client
            .execute(table.create, &[&Uuid::new_v4(), &product_id])
            .await?;
    }
    Ok(())
}

/// Locks the balance rows of these products (see the module doc for the order) and returns
/// `(good, defect)` per product; a missing row reads as 0.
pub async fn lock_balances(
    client: &impl GenericClient,
    product_ids: &[Uuid],
) -> Result<HashMap<Uuid, (i32, i32)>, DbError> {
    let mut out: HashMap<Uuid, (i32, i32)> = HashMap::new();
    if product_ids.is_empty() {
        return Ok(out);
    }
    for (i, table) in BALANCES.into_iter().enumerate() {
        // Read as they arrive: a large import does not buffer every row.
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&product_ids];
        let rows = client.query_raw(table.lock, params).await?;
        futures_util::pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            let balances = out.entry(row.try_get(0)?).or_default();
            let quantity = row.try_get(1)?;
            if i == 0 {
                balances.0 = quantity;
            } else {
                balances.1 = quantity;
            }
        }
    }
    Ok(out)
}

/// The balances `(good, defect)` after `operation` of `quantity`, or the refusal the single
/// endpoint would give (400 insufficient / overflow). Pure: batches check every line against
/// the balances they locked, with the earlier accepted lines applied.
pub fn balances_after(
    operation: Operation,
    quantity: i32,
    (good, defect): (i32, i32),
) -> Result<(i32, i32), ApiError> {
    let (mut good, mut defect) = (i64::from(good), i64::from(defect));
    let n = i64::from(quantity);
    for step in operation.steps() {
        let (balance, sign) = match step {
            Step::StockUp => (&mut good, 1),
            Step::StockDown => (&mut good, -1),
            Step::DefectUp => (&mut defect, 1),
            Step::DefectDown => (&mut defect, -1),
        };
        let next = *balance + sign * n;
        if next < 0 {
            return Err(ApiError::bad_request(operation.insufficient()));
        }
        if next > QUANTITY_MAX {
            return Err(ApiError::bad_request(msg::QUANTITY_MAXIMUM));
        }
        *balance = next;
    }
    let narrow =
        |v: i64| i32::try_from(v).map_err(|_| ApiError::bad_request(msg::QUANTITY_MAXIMUM));
    Ok((narrow(good)?, narrow(defect)?))
}

/// A locked balance pair and whether its product is live (not soft-deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedBalance {
    pub good: i32,
    pub defect: i32,
    pub live: bool,
}

/// For writers of many products at once (batches, stocktake approval): creates the missing
/// zero rows of the live products among `product_ids`, then locks every balance row in the
/// module's order ([`lock_balances`]). A product absent from the answer does not exist.
pub async fn lock_for_many(
    client: &impl GenericClient,
    product_ids: &[Uuid],
) -> Result<HashMap<Uuid, LockedBalance>, DbError> {
    if product_ids.is_empty() {
        return Ok(HashMap::new());
    }
    for sql in CREATE_MISSING {
        client.execute(sql, &[&product_ids]).await?;
    }
    let locked = lock_balances(client, product_ids).await?;
    let mut live = std::collections::HashSet::new();
    for row in client.query(LIVE, &[&product_ids]).await? {
        live.insert(row.try_get::<_, Uuid>(0)?);
    }
    Ok(locked
        .into_iter()
        .map(|(id, (good, defect))| {
            let balance = LockedBalance {
                good,
                defect,
                live: live.contains(&id),
            };
            (id, balance)
        })
        .collect())
}

/// Absolute balances of one product, set by the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceSet {
    pub product_id: Uuid,
    pub stock: i32,
    pub defect: i32,
}

/// Sets absolute balances (good stock first), creating missing rows.
pub async fn set_balances(client: &impl GenericClient, sets: &[BalanceSet]) -> Result<(), DbError> {
    // Good stock first, in batches (the lock order of every writer).
    for sets in sets.chunks(BULK_BATCH) {
        let ids: Vec<Uuid> = sets.iter().map(|s| s.product_id).collect();
        let stock: Vec<i32> = sets.iter().map(|s| s.stock).collect();
        client.execute(STOCKS.set, &[&ids, &stock]).await?;
    }
    for sets in sets.chunks(BULK_BATCH) {
        let ids: Vec<Uuid> = sets.iter().map(|s| s.product_id).collect();
        let defect: Vec<i32> = sets.iter().map(|s| s.defect).collect();
        client.execute(DEFECTS.set, &[&ids, &defect]).await?;
    }
    Ok(())
}

/// `GET /api/stock/summary` (all three totals over non-deleted products, B-16).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub total_products: i64,
    pub total_stock: i64,
    pub total_defect: i64,
}

pub async fn summary(conn: &impl GenericClient) -> Result<Summary, ApiError> {
    let stmt = conn.prepare_cached(SUMMARY).await?;
    let row = conn.query_one(&stmt, &[]).await?;
    Ok(from_columns! { row, Summary { total_products, total_stock, total_defect } })
}

/// A product whose balances differ from its journal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerMismatch {
    pub product_id: Uuid,
    pub barcode: String,
    pub is_deleted: bool,
    pub stock_quantity: i64,
    pub stock_ledger: i64,
    pub defect_quantity: i64,
    pub defect_ledger: i64,
}

/// `GET /api/admin/ledger-check`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerReport {
    /// True if and only if every balance equals the sum of its journal rows.
    pub consistent: bool,
    pub products_checked: i64,
    pub mismatches: Vec<LedgerMismatch>,
}

/// Compares every product's balances (deleted ones too) with its journal, in one snapshot.
pub async fn ledger_check(pool: &Pool) -> Result<LedgerReport, ApiError> {
    let mut conn = db::conn(pool).await?;
    let (checked, rows) = crate::ledger::snapshot(&mut conn).await?;
    let mismatches = rows
        .iter()
        .map(|row| {
            Ok(from_columns! { row, LedgerMismatch {
                product_id, barcode, is_deleted, stock_quantity, stock_ledger, defect_quantity,
                defect_ledger
            } })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(LedgerReport {
        consistent: mismatches.is_empty(),
        products_checked: checked,
        mismatches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::errors::ApiError;
    use crate::backend::validation::parse_body;

    fn parse(json: &str) -> Result<MovementRequest, Vec<ErrorItem>> {
        let raw = parse_body(Some("application/json"), json.as_bytes()).unwrap();
        let mut p = Problems::new();
        let r = MovementRequest::parse(&raw, &mut p);
        match p.finish(r) {
            Ok(r) => Ok(r),
            Err(ApiError::Validation(items)) => Err(items),
            Err(e) => panic!("{e:?}"),
        }
    }

    const PID: &str = "f6cd00e3-8a82-4eff-af6d-f9f0b6382504";

    #[test]
    fn the_worked_example_of_the_spec_ends_at_8_and_3() {
        // Balance arithmetic of the nine steps (the database does the same).
        let seq = [
            (Operation::Receipt, 10),
            (Operation::ShipmentRc, 3),
            (Operation::ReturnPickup, 1),
            (Operation::ReturnDefect, 2),
            (Operation::SelfPurchase, 1),
            (Operation::ReceiptDefect, 1),
            (Operation::WriteOff, 2),
            (Operation::Restoration, 1),
            (Operation::Utilization, 1),
        ];
        let (mut stock, mut defect) = (0i64, 0i64);
        for (op, n) in seq {
            for step in op.steps() {
                match step {
                    Step::StockUp => stock += n,
                    Step::StockDown => stock -= n,
                    Step::DefectUp => defect += n,
                    Step::DefectDown => defect -= n,
                }
                assert!(stock >= 0 && defect >= 0);
            }
        }
        assert_eq!((stock, defect), (8, 3));
    }

    #[test]
    fn steps_lock_good_stock_before_defect_stock() {
        for op in Operation::ALL {
            let steps = op.steps();
            let first_defect = steps
                .iter()
                .position(|s| matches!(s, Step::DefectUp | Step::DefectDown));
            let last_stock = steps
                .iter()
                .rposition(|s| matches!(s, Step::StockUp | Step::StockDown));
            if let (Some(d), Some(s)) = (first_defect, last_stock) {
                assert!(s < d, "{op:?}");
            }
        }
    }

    #[test]
    fn quantities_are_lenient_and_bounded() {
        let ok = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"receipt","quantity":"3"}}"#
        ))
        .unwrap();
        assert_eq!(ok.quantity, 3);
        let items = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"receipt","quantity":0}}"#
        ))
        .unwrap_err();
        assert_eq!(items[0].msg, "Value error, Quantity must be at least 1");
        let items = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"receipt","quantity":2147483648}}"#
        ))
        .unwrap_err();
        assert_eq!(items[0].kind, "less_than_equal");
        assert_eq!(
            items[0].ctx.as_deref(),
            Some(&serde_json::json!({"le": 2147483647}))
        );
    }

    #[test]
    fn unknown_types_list_the_nine_codes() {
        let items = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"import_stock","quantity":1}}"#
        ))
        .unwrap_err();
        assert_eq!(
            items[0].msg,
            "Value error, Invalid operation_type. Must be one of: ['receipt', 'receipt_defect', \
             'shipment_rc', 'return_pickup', 'return_defect', 'self_purchase', 'write_off', \
             'restoration', 'utilization']"
        );
    }

    #[test]
    fn model_rules_run_only_when_fields_are_valid() {
        let items = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"return_pickup","quantity":1}}"#
        ))
        .unwrap_err();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].loc, vec![Value::from("body")]);
        assert_eq!(
            items[0].msg,
            "Value error, source_id is required for operation_type: return_pickup"
        );
        let items =
            parse(r#"{"product_id":"x","operation_type":"shipment_rc","quantity":1}"#).unwrap_err();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].kind, "uuid_parsing");
    }

    #[test]
    fn fingerprints_differ_when_the_request_differs() {
        let a = parse(&format!(
            r#"{{"product_id":"{PID}","operation_type":"receipt","quantity":1}}"#
        ))
        .unwrap();
        let mut b = a.clone();
        b.quantity = 2;
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
