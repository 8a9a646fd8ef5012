//! Stocktakes (cycle counts, docs/floor-api.md): the SQL of `stocktakes` and
//! `stocktake_lines` (migration V6), the request bodies, and approval.
//!
//! Starting a count freezes each product's balances (`expected_*`). Counting a line (typed,
//! or a scan adding to it) also records the balances at that moment (`balance_at_count_*`),
//! so "moved during the count" is the balance change between the start and the count —
//! exactly the net journal change, because every balance change is journaled (the ledger
//! check) — and needs no comparison of timestamps of concurrent transactions. A line's
//! difference is `counted − balance_at_count` (= counted − (expected + moved)).
//!
//! Approval (admins), one transaction: the stocktake row is locked (counting takes it
//! `FOR SHARE`, so no count lands half-way), then the balance rows of the lines with a
//! difference in the stock module's order ([`stock::lock_for_many`]); each difference is
//! added to the balance as it is *now* (movements after the count are kept, no lost
//! update), and journaled as `stocktake_stock` / `stocktake_defect` with the signed
//! difference. A balance that would become negative refuses the approval (409 with the lines,
//! like a refused batch). It must not change balances in any other way.

use std::collections::{BTreeSet, HashMap};

use deadpool_postgres::{GenericClient, Pool};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::batch::LineRefusal;
use super::db::{self, Filters, from_columns};
use super::errors::{ApiError, msg};
use super::movements::{self, Adjustment};
use super::paging::{self, Page, PageRequest, PagedSql};
use super::products;
use super::stock::{self, BalanceSet, QUANTITY_MAX};
use super::users::User;
use super::validation::{
    Body, ErrorItem, ParseBody, ParseQuery, Patch, Problems, Query, RawBody, Text, check_le,
    check_list_len, check_uuid, loc,
};
use super::wire::Ts;

/// Most products named in one `POST /api/stocktakes` (null counts every product).
pub const PRODUCT_IDS_MAX: usize = 10_000;
/// Longest approval reason.
pub const REASON_MAX: usize = 255;

pub const NOT_FOUND: &str = "Stocktake not found";
pub const NOT_OPEN: &str = "Stocktake is not open";
pub const NOT_IN_STOCKTAKE: &str = "Product is not part of this stocktake";
pub const WOULD_BE_NEGATIVE: &str =
    "The balance would become negative: stock moved out after it was counted";

const INSERT: &str =
    "INSERT INTO stocktakes (id, status, notes, created_by) VALUES ($1, 'open', $2, $3)";
/// The frozen balances of every non-deleted product, or of the named ones (one snapshot).
const INSERT_LINES: &str = "INSERT INTO stocktake_lines \
     (stocktake_id, product_id, expected_quantity, expected_defect_quantity) \
     SELECT $1, p.id, COALESCE(s.quantity, 0), COALESCE(d.quantity, 0) \
     FROM products p \
     LEFT JOIN stocks s ON s.product_id = p.id \
     LEFT JOIN defect_stocks d ON d.product_id = p.id \
     WHERE NOT p.is_deleted AND ($2::uuid[] IS NULL OR p.id = ANY($2))";

/// The stocktake object with its line counts.
macro_rules! stocktake_select {
    () => {
        "SELECT t.id, t.status, t.notes, t.created_at, t.created_by, u.email AS created_by_email, \
         t.closed_at, t.closed_by, t.reason, \
         COALESCE(c.total, 0) AS lines_total, COALESCE(c.counted, 0) AS lines_counted, \
         COALESCE(c.differing, 0) AS lines_with_difference \
         FROM stocktakes t \
         LEFT JOIN users u ON u.id = t.created_by \
         LEFT JOIN LATERAL (SELECT count(*) AS total, \
             count(*) FILTER (WHERE l.counted_at IS NOT NULL) AS counted, \
             count(*) FILTER (WHERE l.counted_quantity <> l.balance_at_count_quantity \
                OR l.counted_defect_quantity <> l.balance_at_count_defect_quantity) AS differing \
           FROM stocktake_lines l WHERE l.stocktake_id = t.id) c ON true"
    };
}

const GET: &str = concat!(stocktake_select!(), " WHERE t.id = $1");
const LIST: PagedSql<'static> = PagedSql {
    count: "SELECT count(*) FROM stocktakes t WHERE true",
    list: concat!(stocktake_select!(), " WHERE true"),
    order: " ORDER BY t.created_at DESC, t.id DESC",
};
const BY_STATUS: &str = " AND t.status = $?";

/// Lines with the product's names; `moved` is the balance at the count (or now) − expected.
macro_rules! line_select {
    () => {
        "SELECT l.product_id, p.barcode, p.seller_sku, p.brand, p.size, \
         l.expected_quantity, l.expected_defect_quantity, \
         l.counted_quantity, l.counted_defect_quantity, l.counted_at, \
         COALESCE(l.balance_at_count_quantity, COALESCE(s.quantity, 0)) - l.expected_quantity \
           AS moved_quantity, \
         COALESCE(l.balance_at_count_defect_quantity, COALESCE(d.quantity, 0)) \
           - l.expected_defect_quantity AS moved_defect_quantity, \
         l.counted_quantity - l.balance_at_count_quantity AS difference, \
         l.counted_defect_quantity - l.balance_at_count_defect_quantity AS defect_difference \
         FROM stocktake_lines l \
         JOIN products p ON p.id = l.product_id \
         LEFT JOIN stocks s ON s.product_id = l.product_id \
         LEFT JOIN defect_stocks d ON d.product_id = l.product_id \
         WHERE l.stocktake_id = $1"
    };
}

const LINES: &str = concat!(line_select!(), " ORDER BY p.barcode, p.id");
const LINE: &str = concat!(line_select!(), " AND l.product_id = $2");

/// Counting and closing take the stocktake row first: counts share it, approval and
/// cancellation own it.
const STATUS_FOR_COUNT: &str = "SELECT status, created_by FROM stocktakes WHERE id = $1 FOR SHARE";
const STATUS_FOR_CLOSE: &str = "SELECT status, created_by FROM stocktakes WHERE id = $1 FOR UPDATE";
/// The current line, locked, for a scan adding to it.
const LINE_FOR_SCAN: &str = "SELECT counted_quantity, counted_defect_quantity FROM stocktake_lines \
     WHERE stocktake_id = $1 AND product_id = $2 FOR UPDATE";
/// Sets a count and records the balances at this moment (one snapshot).
const SET_COUNT: &str = "UPDATE stocktake_lines AS l SET \
     counted_quantity = $3, counted_defect_quantity = $4, counted_at = clock_timestamp(), \
     balance_at_count_quantity = \
       COALESCE((SELECT s.quantity FROM stocks s WHERE s.product_id = l.product_id), 0), \
     balance_at_count_defect_quantity = \
       COALESCE((SELECT d.quantity FROM defect_stocks d WHERE d.product_id = l.product_id), 0) \
     WHERE l.stocktake_id = $1 AND l.product_id = $2";
/// The counted lines whose count differs from the balances at the count, in product order.
const DIFFERENCES: &str = "SELECT product_id, \
     counted_quantity - balance_at_count_quantity AS difference, \
     counted_defect_quantity - balance_at_count_defect_quantity AS defect_difference \
     FROM stocktake_lines WHERE stocktake_id = $1 AND counted_at IS NOT NULL \
       AND (counted_quantity <> balance_at_count_quantity \
         OR counted_defect_quantity <> balance_at_count_defect_quantity) \
     ORDER BY product_id";
const CLOSE: &str = "UPDATE stocktakes SET status = $2, closed_at = now(), closed_by = $3, \
     reason = $4 WHERE id = $1";

// ---- wire objects ------------------------------------------------------------------------

/// A stocktake and how far its count has come.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stocktake {
    pub id: Uuid,
    /// `open`, `approved` or `cancelled`.
    pub status: String,
    pub notes: Option<String>,
    pub created_at: Ts,
    pub created_by: Uuid,
    pub created_by_email: Option<String>,
    pub closed_at: Option<Ts>,
    pub closed_by: Option<Uuid>,
    pub reason: Option<String>,
    pub lines_total: i64,
    pub lines_counted: i64,
    pub lines_with_difference: i64,
}

/// One product of a stocktake: frozen, moved, counted, difference (good / defect).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StocktakeLine {
    pub product_id: Uuid,
    pub barcode: String,
    pub seller_sku: Option<String>,
    pub brand: Option<String>,
    pub size: Option<String>,
    pub expected_quantity: i32,
    pub expected_defect_quantity: i32,
    pub counted_quantity: Option<i32>,
    pub counted_defect_quantity: Option<i32>,
    pub counted_at: Option<Ts>,
    pub moved_quantity: i32,
    pub moved_defect_quantity: i32,
    pub difference: Option<i32>,
    pub defect_difference: Option<i32>,
}

/// `GET /api/stocktakes/{id}`: the object and its lines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StocktakeDetail {
    #[serde(flatten)]
    pub stocktake: Stocktake,
    pub lines: Vec<StocktakeLine>,
}

fn stocktake_from_row(row: &Row) -> Result<Stocktake, tokio_postgres::Error> {
    Ok(from_columns! { row, Stocktake {
        id, status, notes, created_at, created_by, created_by_email, closed_at, closed_by,
        reason, lines_total, lines_counted, lines_with_difference,
    }})
}

fn line_from_row(row: &Row) -> Result<StocktakeLine, tokio_postgres::Error> {
    Ok(from_columns! { row, StocktakeLine {
        product_id, barcode, seller_sku, brand, size, expected_quantity,
        expected_defect_quantity, counted_quantity, counted_defect_quantity, counted_at,
        moved_quantity, moved_defect_quantity, difference, defect_difference,
    }})
}

// ---- input -------------------------------------------------------------------------------

/// `POST /api/stocktakes`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(as = StocktakeCreate)]
pub struct NewStocktake {
    /// The products to count; null or absent: every non-deleted product.
    #[schema(min_items = 1, max_items = 10000)]
    pub product_ids: Option<Vec<Uuid>>,
    pub notes: Option<String>,
}

impl ParseBody for NewStocktake {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewStocktake> {
        let b = Body::of(raw, p)?;
        let product_ids = match b.raw("product_ids") {
            Value::Null => Some(None),
            Value::Array(items) => parse_ids(&items, p).map(Some),
            other => {
                p.push(ErrorItem::new(
                    "list_type",
                    loc("body", "product_ids"),
                    "Input should be a valid list",
                    other,
                ));
                None
            }
        };
        let notes = b.patch_string(p, "notes", Text::FREE, true);
        if !p.is_empty() {
            return None;
        }
        Some(NewStocktake {
            product_ids: product_ids?,
            notes: notes.into_option(),
        })
    }
}

fn parse_ids(items: &[Value], p: &mut Problems) -> Option<Vec<Uuid>> {
    if !check_list_len(p, loc("body", "product_ids"), items, PRODUCT_IDS_MAX) {
        return None;
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = vec![
            Value::from("body"),
            Value::from("product_ids"),
            Value::from(i),
        ];
        match item {
            Value::String(s) => match check_uuid(at, s) {
                Ok(id) => ids.push(id),
                Err(problem) => p.push(problem),
            },
            other => p.push(ErrorItem::new(
                "uuid_type",
                at,
                "UUID input should be a string, bytes or UUID object",
                other.clone(),
            )),
        }
    }
    (ids.len() == items.len()).then_some(ids)
}

/// A required whole number 0 … 2147483647 (`min` 0) or 1 … (`min` 1).
fn count_field(b: &Body<'_>, p: &mut Problems, name: &str, min: i64) -> Option<i32> {
    let n = b.int(p, name)?;
    if n < min {
        p.push(
            ErrorItem::new(
                "greater_than_equal",
                loc("body", name),
                format!("Input should be greater than or equal to {min}"),
                b.raw(name),
            )
            .with_ctx(json!({ "ge": min })),
        );
        return None;
    }
    if !check_le(p, loc("body", name), b.raw(name), n, QUANTITY_MAX) {
        return None;
    }
    i32::try_from(n).ok()
}

/// `PUT /api/stocktakes/{id}/lines/{product_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(as = StocktakeCount)]
pub struct Count {
    #[schema(minimum = 0, maximum = 2147483647)]
    pub counted_quantity: i32,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub counted_defect_quantity: i32,
}

impl ParseBody for Count {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<Count> {
        let b = Body::of(raw, p)?;
        let good = count_field(&b, p, "counted_quantity", 0);
        let defect = count_field(&b, p, "counted_defect_quantity", 0);
        Some(Count {
            counted_quantity: good?,
            counted_defect_quantity: defect?,
        })
    }
}

/// `POST /api/stocktakes/{id}/scan`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = StocktakeScan)]
pub struct Scan {
    #[schema(min_length = 1, max_length = 100)]
    pub barcode: String,
    /// Units the scan adds.
    #[schema(required = false, default = 1, minimum = 1, maximum = 2147483647)]
    pub quantity: i32,
    /// True: the units are defect stock.
    #[schema(required = false, default = false)]
    pub defect: bool,
}

impl ParseBody for Scan {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<Scan> {
        let b = Body::of(raw, p)?;
        let barcode = b.string(p, "barcode", Text::name(products::CODE_MAX));
        let quantity = if b.has("quantity") {
            count_field(&b, p, "quantity", 1)
        } else {
            Some(1)
        };
        let defect = match b.patch_bool(p, "defect") {
            Patch::Set(v) => Some(v),
            Patch::Absent => Some(false),
            Patch::Null | Patch::Invalid => None,
        };
        Some(Scan {
            barcode: barcode?,
            quantity: quantity?,
            defect: defect?,
        })
    }
}

/// `POST /api/stocktakes/{id}/approve`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = StocktakeApprove)]
pub struct Approval {
    /// Why (it goes into the journal's notes); trimmed.
    #[schema(min_length = 1, max_length = 255)]
    pub reason: String,
}

impl ParseBody for Approval {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<Approval> {
        let b = Body::of(raw, p)?;
        let reason = b.string(p, "reason", Text::name(REASON_MAX))?;
        Some(Approval { reason })
    }
}

/// The list's filter.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StocktakeFilter {
    /// `open`, `approved` or `cancelled`.
    #[param(pattern = "^(open|approved|cancelled)$")]
    pub status: Option<String>,
}

impl ParseQuery for StocktakeFilter {
    fn parse(q: &Query, p: &mut Problems) -> StocktakeFilter {
        let status = q.text(p, "status");
        if let Some(s) = &status {
            if !["open", "approved", "cancelled"].contains(&s.as_str()) {
                p.push(
                    ErrorItem::new(
                        "enum",
                        loc("query", "status"),
                        "Input should be 'open', 'approved' or 'cancelled'",
                        Value::from(s.as_str()),
                    )
                    .with_ctx(json!({"expected": "'open', 'approved' or 'cancelled'"})),
                );
            }
        }
        StocktakeFilter { status }
    }
}

impl StocktakeFilter {
    fn filters(&self) -> Filters {
        let mut f = Filters::new();
        if let Some(status) = &self.status {
            f.and(BY_STATUS, status.clone());
        }
        f
    }
}

// ---- operations --------------------------------------------------------------------------

async fn get_object(conn: &impl GenericClient, id: Uuid) -> Result<Stocktake, ApiError> {
    let stmt = conn.prepare_cached(GET).await?;
    match conn.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(stocktake_from_row(&row)?),
        None => Err(ApiError::not_found(NOT_FOUND)),
    }
}

async fn get_line(
    conn: &impl GenericClient,
    id: Uuid,
    product_id: Uuid,
) -> Result<StocktakeLine, ApiError> {
    let stmt = conn.prepare_cached(LINE).await?;
    match conn.query_opt(&stmt, &[&id, &product_id]).await? {
        Some(row) => Ok(line_from_row(&row)?),
        None => Err(ApiError::not_found(NOT_IN_STOCKTAKE)),
    }
}

/// Starts a count: one line per product with its balances frozen now.
pub async fn create(pool: &Pool, user: &User, new: &NewStocktake) -> Result<Stocktake, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    let id = Uuid::new_v4();
    tx.execute(INSERT, &[&id, &new.notes, &user.id]).await?;
    let inserted = tx.execute(INSERT_LINES, &[&id, &new.product_ids]).await?;
    if let Some(ids) = &new.product_ids {
        let distinct = ids.iter().collect::<BTreeSet<_>>().len();
        if usize::try_from(inserted).unwrap_or(usize::MAX) != distinct {
            return Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND));
        }
    }
    let stocktake = get_object(&tx, id).await?;
    tx.commit().await?;
    Ok(stocktake)
}

/// One page of stocktakes, newest first.
pub async fn list(
    conn: &impl GenericClient,
    filter: &StocktakeFilter,
    page: PageRequest,
) -> Result<Page<Stocktake>, ApiError> {
    paging::fetch(conn, LIST, filter.filters(), page, stocktake_from_row).await
}

/// The stocktake with its lines (ordered by barcode).
pub async fn get(conn: &impl GenericClient, id: Uuid) -> Result<StocktakeDetail, ApiError> {
    let (stocktake, rows) = tokio::try_join!(get_object(conn, id), async {
        Ok::<_, ApiError>(conn.query(LINES, &[&id]).await?)
    })?;
    let lines = rows
        .iter()
        .map(line_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StocktakeDetail { stocktake, lines })
}

/// The stocktake's status and creator, locked (`FOR SHARE` to count, `FOR UPDATE` to close);
/// 404 if there is none, 409 unless it is open.
async fn lock_open(client: &impl GenericClient, id: Uuid, sql: &str) -> Result<Uuid, ApiError> {
    let Some(row) = client.query_opt(sql, &[&id]).await? else {
        return Err(ApiError::not_found(NOT_FOUND));
    };
    let status: String = row.try_get("status")?;
    if status != "open" {
        return Err(ApiError::conflict(NOT_OPEN));
    }
    Ok(row.try_get("created_by")?)
}

async fn write_count(
    client: &impl GenericClient,
    id: Uuid,
    product_id: Uuid,
    good: i32,
    defect: i32,
) -> Result<StocktakeLine, ApiError> {
    if client
        .execute(SET_COUNT, &[&id, &product_id, &good, &defect])
        .await?
        == 0
    {
        return Err(ApiError::not_found(NOT_IN_STOCKTAKE));
    }
    get_line(client, id, product_id).await
}

/// Sets a line's counts (typed).
pub async fn set_count(
    pool: &Pool,
    id: Uuid,
    product_id: Uuid,
    count: Count,
) -> Result<StocktakeLine, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    lock_open(&tx, id, STATUS_FOR_COUNT).await?;
    let line = write_count(
        &tx,
        id,
        product_id,
        count.counted_quantity,
        count.counted_defect_quantity,
    )
    .await?;
    tx.commit().await?;
    Ok(line)
}

/// Adds a scan to a line's count (an uncounted line starts from 0 for both fields).
pub async fn scan(pool: &Pool, id: Uuid, scan: &Scan) -> Result<StocktakeLine, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    lock_open(&tx, id, STATUS_FOR_COUNT).await?;
    let Some(product) = products::find_by_code(&tx, &scan.barcode).await? else {
        return Err(ApiError::not_found(msg::PRODUCT_NOT_FOUND));
    };
    let product_id = product.product.id;
    let Some(row) = tx.query_opt(LINE_FOR_SCAN, &[&id, &product_id]).await? else {
        return Err(ApiError::not_found(NOT_IN_STOCKTAKE));
    };
    let good = row.try_get::<_, Option<i32>>(0)?.unwrap_or(0);
    let defect = row.try_get::<_, Option<i32>>(1)?.unwrap_or(0);
    let add = |n: i32| {
        n.checked_add(scan.quantity)
            .ok_or_else(|| ApiError::bad_request(msg::QUANTITY_MAXIMUM))
    };
    let (good, defect) = if scan.defect {
        (good, add(defect)?)
    } else {
        (add(good)?, defect)
    };
    let line = write_count(&tx, id, product_id, good, defect).await?;
    tx.commit().await?;
    Ok(line)
}

/// The outcome of an approval.
#[derive(Debug)]
pub enum Approved {
    Done(Box<Stocktake>),
    /// Nothing posted: these lines would make a balance negative (or name a deleted product).
    Refused {
        refusals: Vec<LineRefusal>,
        lines: usize,
    },
}

/// One line's signed differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineDifference {
    pub product_id: Uuid,
    pub good: i32,
    pub defect: i32,
}

/// The balances after adding each difference to the balances as they are now, or every
/// refusal (index = position in `differences`). Pure.
pub fn plan_approval(
    differences: &[LineDifference],
    locked: &HashMap<Uuid, stock::LockedBalance>,
) -> Result<Vec<BalanceSet>, Vec<LineRefusal>> {
    let mut sets = Vec::with_capacity(differences.len());
    let mut refusals = Vec::new();
    for (index, d) in differences.iter().enumerate() {
        let refuse = |status: u16, detail: &str| LineRefusal {
            index,
            product_id: d.product_id,
            status,
            detail: detail.to_owned(),
        };
        let Some(now) = locked.get(&d.product_id).filter(|b| b.live) else {
            refusals.push(refuse(404, msg::PRODUCT_NOT_FOUND));
            continue;
        };
        let good = i64::from(now.good) + i64::from(d.good);
        let defect = i64::from(now.defect) + i64::from(d.defect);
        if good < 0 || defect < 0 {
            refusals.push(refuse(400, WOULD_BE_NEGATIVE));
        } else if good > QUANTITY_MAX || defect > QUANTITY_MAX {
            refusals.push(refuse(400, msg::QUANTITY_MAXIMUM));
        } else {
            sets.push(BalanceSet {
                product_id: d.product_id,
                stock: i32::try_from(good).unwrap_or(i32::MAX),
                defect: i32::try_from(defect).unwrap_or(i32::MAX),
            });
        }
    }
    if refusals.is_empty() {
        Ok(sets)
    } else {
        Err(refusals)
    }
}

/// The journal note of an approval's movements.
fn note(id: Uuid, reason: &str) -> String {
    let hex = id.simple().to_string();
    format!("Stocktake {}: {reason}", &hex[..8])
}

/// Posts the differences of the counted lines (see the module doc) and closes the stocktake.
pub async fn approve(
    pool: &Pool,
    user: &User,
    id: Uuid,
    reason: &str,
) -> Result<Approved, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    lock_open(&tx, id, STATUS_FOR_CLOSE).await?;
    let differences = tx
        .query(DIFFERENCES, &[&id])
        .await?
        .iter()
        .map(|r| {
            Ok(LineDifference {
                product_id: r.try_get("product_id")?,
                good: r.try_get("difference")?,
                defect: r.try_get("defect_difference")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let ids: Vec<Uuid> = differences.iter().map(|d| d.product_id).collect();
    let locked = stock::lock_for_many(&tx, &ids).await?;
    let sets = match plan_approval(&differences, &locked) {
        Ok(sets) => sets,
        Err(refusals) => {
            return Ok(Approved::Refused {
                refusals,
                lines: differences.len(),
            });
        }
    };
    stock::set_balances(&tx, &sets).await?;
    let notes = note(id, reason);
    let mut rows = Vec::new();
    for d in &differences {
        for (operation_type, delta) in [("stocktake_stock", d.good), ("stocktake_defect", d.defect)]
        {
            if delta != 0 {
                rows.push(Adjustment {
                    operation_type,
                    product_id: d.product_id,
                    delta,
                });
            }
        }
    }
    movements::insert_adjustments(&tx, user.id, &rows, &notes).await?;
    tx.execute(CLOSE, &[&id, &"approved", &user.id, &Some(reason)])
        .await?;
    let stocktake = get_object(&tx, id).await?;
    tx.commit().await?;
    Ok(Approved::Done(Box::new(stocktake)))
}

/// Closes an open stocktake without posting anything (admins and its creator).
pub async fn cancel(pool: &Pool, user: &User, id: Uuid) -> Result<Stocktake, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    let creator = lock_open(&tx, id, STATUS_FOR_CLOSE).await?;
    if !user.is_admin() && user.id != creator {
        return Err(ApiError::forbidden());
    }
    tx.execute(CLOSE, &[&id, &"cancelled", &user.id, &None::<String>])
        .await?;
    let stocktake = get_object(&tx, id).await?;
    tx.commit().await?;
    Ok(stocktake)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::stock::LockedBalance;
    use crate::backend::validation::parse_body;

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);

    fn raw(json: &str) -> RawBody {
        parse_body(Some("application/json"), json.as_bytes()).expect("JSON")
    }

    fn problems<T: std::fmt::Debug>(parsed: Option<T>, p: Problems) -> Vec<ErrorItem> {
        match p.finish(parsed) {
            Err(ApiError::Validation(items)) => items,
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_new_stocktake_names_products_or_takes_all() {
        let mut p = Problems::new();
        let all = NewStocktake::parse(&raw(r#"{"notes":"shelf 3"}"#), &mut p).expect("all");
        assert_eq!(all.product_ids, None);
        assert_eq!(all.notes.as_deref(), Some("shelf 3"));
        let some = NewStocktake::parse(&raw(&format!(r#"{{"product_ids":["{A}"]}}"#)), &mut p)
            .expect("one");
        assert_eq!(some.product_ids, Some(vec![A]));
        let mut p = Problems::new();
        let parsed = NewStocktake::parse(&raw(r#"{"product_ids":[]}"#), &mut p);
        assert_eq!(problems(parsed, p)[0].kind, "too_short");
        let mut p = Problems::new();
        let parsed = NewStocktake::parse(&raw(r#"{"product_ids":["x", 3]}"#), &mut p);
        let items = problems(parsed, p);
        assert_eq!(
            (items[0].kind, items[1].kind),
            ("uuid_parsing", "uuid_type")
        );
    }

    #[test]
    fn counts_are_whole_and_not_negative() {
        let mut p = Problems::new();
        let c = Count::parse(
            &raw(r#"{"counted_quantity":3,"counted_defect_quantity":"0"}"#),
            &mut p,
        );
        assert_eq!(
            c,
            Some(Count {
                counted_quantity: 3,
                counted_defect_quantity: 0
            })
        );
        let mut p = Problems::new();
        let c = Count::parse(&raw(r#"{"counted_quantity":-1}"#), &mut p);
        let items = problems(c, p);
        assert_eq!(items[0].kind, "greater_than_equal");
        assert_eq!(items[1].kind, "missing");
    }

    #[test]
    fn scans_default_to_one_good_unit() {
        let mut p = Problems::new();
        let s = Scan::parse(&raw(r#"{"barcode":" 4600000000017 "}"#), &mut p).expect("scan");
        assert_eq!(
            s,
            Scan {
                barcode: "4600000000017".to_owned(),
                quantity: 1,
                defect: false
            }
        );
        let mut p = Problems::new();
        let s = Scan::parse(&raw(r#"{"barcode":"","quantity":0,"defect":1}"#), &mut p);
        let kinds: Vec<&str> = problems(s, p).iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            ["string_too_short", "greater_than_equal", "bool_type"]
        );
    }

    #[test]
    fn approval_adds_differences_to_the_balances_of_now() {
        // Counted 8 when the balance was 10 (−2); 3 more arrived after the count: 11 now.
        let locked: HashMap<Uuid, LockedBalance> = [
            (
                A,
                LockedBalance {
                    good: 11,
                    defect: 1,
                    live: true,
                },
            ),
            (
                B,
                LockedBalance {
                    good: 0,
                    defect: 0,
                    live: true,
                },
            ),
        ]
        .into();
        let sets = plan_approval(
            &[
                LineDifference {
                    product_id: A,
                    good: -2,
                    defect: 1,
                },
                LineDifference {
                    product_id: B,
                    good: 4,
                    defect: 0,
                },
            ],
            &locked,
        )
        .expect("fits");
        assert_eq!(
            sets,
            vec![
                BalanceSet {
                    product_id: A,
                    stock: 9,
                    defect: 2
                },
                BalanceSet {
                    product_id: B,
                    stock: 4,
                    defect: 0
                },
            ]
        );
    }

    #[test]
    fn approval_is_refused_when_stock_left_after_the_count() {
        let locked: HashMap<Uuid, LockedBalance> = [(
            A,
            LockedBalance {
                good: 1,
                defect: 0,
                live: true,
            },
        )]
        .into();
        let refused = plan_approval(
            &[
                LineDifference {
                    product_id: A,
                    good: -2,
                    defect: 0,
                },
                LineDifference {
                    product_id: B,
                    good: 1,
                    defect: 0,
                },
            ],
            &locked,
        )
        .unwrap_err();
        let summary: Vec<(usize, u16, &str)> = refused
            .iter()
            .map(|r| (r.index, r.status, r.detail.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 400, WOULD_BE_NEGATIVE),
                (1, 404, msg::PRODUCT_NOT_FOUND)
            ]
        );
    }

    #[test]
    fn notes_name_the_stocktake_by_its_first_eight_hex_digits() {
        let id = Uuid::parse_str("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d").expect("uuid");
        assert_eq!(note(id, "annual count"), "Stocktake 0a1b2c3d: annual count");
    }
}
