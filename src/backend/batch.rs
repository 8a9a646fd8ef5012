//! Batch posting (`POST /api/stock/movements/batch`, docs/floor-api.md): one operation type
//! (with its source or DC) applied to up to [`LINES_MAX`] lines of product and quantity, all
//! or nothing, in one transaction. The scan session of the UI posts through it.
//!
//! Owns no table: it claims the idempotency key ([`stock::claim_key`]), locks every
//! balance row of the batch's products in the stock module's order
//! ([`stock::lock_for_many`]: good-stock rows, then defect rows, each in product order, so a
//! batch never deadlocks with single operations, the import or another batch), checks each
//! line with [`stock::balances_after`] against the locked balances with the earlier accepted
//! lines applied, and then writes the final balances and one journal row per line. A refused
//! line refuses the batch: every refused line is reported with the single endpoint's status
//! and message, and nothing is written. It must not decide balance rules itself (they live in
//! [`stock`]).

use std::collections::BTreeSet;

use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::db;
use super::errors::{ApiError, msg};
use super::idempotency;
use super::movements::{self, Movement, NewMovement};
use super::stock::{self, BalanceSet, LockedBalance, Operation, QUANTITY_MAX};
use super::users::User;
use super::validation::{
    Body, ErrorItem, ParseBody, Patch, Problems, RawBody, Text, check_le, check_list_len,
    check_uuid, lenient_int, loc,
};

/// Most lines in one batch.
pub const LINES_MAX: usize = 500;

/// One line: a product and a quantity (1 … 2147483647).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
pub struct BatchLine {
    pub product_id: Uuid,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub quantity: i32,
}

/// A validated batch body.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(as = BatchCreate)]
pub struct BatchRequest {
    #[schema(rename = "operation_type")]
    pub operation: Operation,
    pub source_id: Option<Uuid>,
    pub distribution_center_id: Option<Uuid>,
    pub notes: Option<String>,
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<BatchLine>,
}

/// `201` of a batch: one movement per line, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchPostedBody {
    pub movements: Vec<Movement>,
}

/// One refused line: its 0-based index, product, and the single endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LineRefusal {
    pub index: usize,
    pub product_id: Uuid,
    pub status: u16,
    pub detail: String,
}

/// The 409 body of a refused batch (also of a refused stocktake approval).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineRefusals {
    /// `"k of n lines were refused; nothing was posted"`.
    pub detail: String,
    pub lines: Vec<LineRefusal>,
}

impl LineRefusals {
    pub fn new(refusals: Vec<LineRefusal>, lines: usize) -> LineRefusals {
        LineRefusals {
            detail: format!(
                "{} of {} lines were refused; nothing was posted",
                refusals.len(),
                lines
            ),
            lines: refusals,
        }
    }
}

/// The outcome of a batch.
#[derive(Debug)]
pub enum BatchPosted {
    /// Posted now: one movement per line, in request order.
    Created(Vec<Movement>),
    /// An earlier request with the same idempotency key: its stored answer.
    Replayed { status: u16, body: Value },
    /// Nothing posted: these lines were refused (409).
    Refused(Vec<LineRefusal>),
}

impl ParseBody for BatchRequest {
    /// Fields in order (`operation_type`, `source_id`, `distribution_center_id`, `notes`,
    /// `lines`), then the single operation's model rules once every field is valid.
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<BatchRequest> {
        let b = Body::of(raw, p)?;
        let operation = stock::parse_operation(&b, p);
        let source_id = b.patch_uuid(p, "source_id", true);
        let dc_id = b.patch_uuid(p, "distribution_center_id", true);
        let notes = b.patch_string(p, "notes", Text::FREE, true);
        let lines = parse_lines(&b, p);
        if !p.is_empty() {
            return None;
        }
        let (Some(operation), Some(lines)) = (operation, lines) else {
            return None;
        };
        let source_id = source_id.into_option();
        let distribution_center_id = dc_id.into_option();
        if !stock::check_required_fields(&b, p, operation, source_id, distribution_center_id) {
            return None;
        }
        Some(BatchRequest {
            operation,
            source_id,
            distribution_center_id,
            notes: match notes {
                Patch::Set(n) => Some(n),
                _ => None,
            },
            lines,
        })
    }
}

impl BatchRequest {
    /// A fingerprint, to recognise a reused idempotency key with a different request.
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "batch|{}|{:?}|{:?}|{:?}",
            self.operation.code(),
            self.source_id,
            self.distribution_center_id,
            self.notes
        );
        for line in &self.lines {
            text.push_str(&format!("|{}:{}", line.product_id, line.quantity));
        }
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `lines`: a list of 1 … [`LINES_MAX`] objects `{product_id, quantity}`; problems carry
/// `["body", "lines", i, field]`.
fn parse_lines(b: &Body<'_>, p: &mut Problems) -> Option<Vec<BatchLine>> {
    let raw = b.raw("lines");
    let items = match &raw {
        Value::Array(items) => items,
        Value::Null if !b.has("lines") => {
            p.push(ErrorItem::missing(loc("body", "lines"), b.whole()));
            return None;
        }
        other => {
            p.push(ErrorItem::new(
                "list_type",
                loc("body", "lines"),
                "Input should be a valid list",
                other.clone(),
            ));
            return None;
        }
    };
    if !check_list_len(p, loc("body", "lines"), items, LINES_MAX) {
        return None;
    }
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(line) = parse_line(i, item, p) {
            lines.push(line);
        }
    }
    (lines.len() == items.len()).then_some(lines)
}

fn line_loc(i: usize, field: &str) -> Vec<Value> {
    vec![
        Value::from("body"),
        Value::from("lines"),
        Value::from(i),
        Value::from(field),
    ]
}

fn parse_line(i: usize, item: &Value, p: &mut Problems) -> Option<BatchLine> {
    let Value::Object(map) = item else {
        p.push(ErrorItem::new(
            "model_attributes_type",
            vec![Value::from("body"), Value::from("lines"), Value::from(i)],
            "Input should be a valid dictionary or object to extract fields from",
            item.clone(),
        ));
        return None;
    };
    let product_id = match map.get("product_id") {
        None => {
            p.push(ErrorItem::missing(line_loc(i, "product_id"), item.clone()));
            None
        }
        Some(Value::String(s)) => match check_uuid(line_loc(i, "product_id"), s) {
            Ok(id) => Some(id),
            Err(problem) => {
                p.push(problem);
                None
            }
        },
        Some(other) => {
            p.push(ErrorItem::new(
                "uuid_type",
                line_loc(i, "product_id"),
                "UUID input should be a string, bytes or UUID object",
                other.clone(),
            ));
            None
        }
    };
    let quantity = match map.get("quantity") {
        None => {
            p.push(ErrorItem::missing(line_loc(i, "quantity"), item.clone()));
            None
        }
        Some(v) => match lenient_int(v) {
            Ok(n) if n < 1 => {
                p.push(ErrorItem::value_error(
                    line_loc(i, "quantity"),
                    "Quantity must be at least 1",
                    v.clone(),
                ));
                None
            }
            Ok(n) => {
                if check_le(p, line_loc(i, "quantity"), v.clone(), n, QUANTITY_MAX) {
                    i32::try_from(n).ok()
                } else {
                    None
                }
            }
            Err((kind, message)) => {
                p.push(ErrorItem::new(
                    kind,
                    line_loc(i, "quantity"),
                    message,
                    v.clone(),
                ));
                None
            }
        },
    };
    Some(BatchLine {
        product_id: product_id?,
        quantity: quantity?,
    })
}

/// Checks every line in order against `locked` (the earlier accepted lines applied) and
/// returns the final balances of the products that changed, or every refusal. Pure.
pub fn plan(
    operation: Operation,
    lines: &[BatchLine],
    locked: &std::collections::HashMap<Uuid, LockedBalance>,
) -> Result<Vec<BalanceSet>, Vec<LineRefusal>> {
    let mut balances: std::collections::HashMap<Uuid, (i32, i32)> =
        std::collections::HashMap::new();
    let mut refusals = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let refuse = |status: u16, detail: &str| LineRefusal {
            index,
            product_id: line.product_id,
            status,
            detail: detail.to_owned(),
        };
        let current = match locked.get(&line.product_id) {
            Some(b) if b.live => *balances
                .entry(line.product_id)
                .or_insert((b.good, b.defect)),
            _ => {
                refusals.push(refuse(404, msg::PRODUCT_NOT_FOUND));
                continue;
            }
        };
        match stock::balances_after(operation, line.quantity, current) {
            Ok(next) => {
                balances.insert(line.product_id, next);
            }
            Err(ApiError::Detail(status, detail)) => {
                refusals.push(refuse(status.as_u16(), &detail))
            }
            Err(other) => refusals.push(refuse(500, &format!("{other:?}"))),
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let ids: BTreeSet<Uuid> = balances.keys().copied().collect();
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            let (stock, defect) = balances.get(&id).copied()?;
            let before = locked.get(&id)?;
            ((stock, defect) != (before.good, before.defect)).then_some(BalanceSet {
                product_id: id,
                stock,
                defect,
            })
        })
        .collect())
}

/// Posts a batch in one transaction (with `key`: at most once per key and user).
pub async fn post(
    pool: &Pool,
    user: &User,
    req: &BatchRequest,
    key: Option<&str>,
) -> Result<BatchPosted, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    if let Some((status, body)) = stock::claim_key(&tx, user, key, &req.fingerprint()).await? {
        return Ok(BatchPosted::Replayed { status, body });
    }
    let ids: Vec<Uuid> = req
        .lines
        .iter()
        .map(|l| l.product_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let locked = stock::lock_for_many(&tx, &ids).await?;
    let sets = match plan(req.operation, &req.lines, &locked) {
        Ok(sets) => sets,
        // Dropping the transaction rolls it back (the key claim too).
        Err(refusals) => return Ok(BatchPosted::Refused(refusals)),
    };
    stock::set_balances(&tx, &sets).await?;
    let news: Vec<NewMovement<'_>> = req
        .lines
        .iter()
        .map(|line| NewMovement {
            operation_type: req.operation.code(),
            product_id: line.product_id,
            quantity: line.quantity,
            source_id: req.source_id,
            distribution_center_id: req.distribution_center_id,
            user_id: user.id,
            notes: req.notes.as_deref(),
        })
        .collect();
    // One statement per line, pipelined on the one connection.
    let movements =
        futures_util::future::try_join_all(news.iter().map(|new| movements::insert(&tx, new)))
            .await
            .map_err(stock::insert_error)?;
    if let Some(key) = key {
        let body = json!({ "movements": movements });
        idempotency::store(&tx, user.id, key, 201, &body).await?;
    }
    tx.commit().await?;
    Ok(BatchPosted::Created(movements))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::backend::validation::parse_body;

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);

    fn parse(json: &str) -> Result<BatchRequest, Vec<ErrorItem>> {
        let raw = parse_body(Some("application/json"), json.as_bytes()).expect("JSON");
        let mut p = Problems::new();
        let r = BatchRequest::parse(&raw, &mut p);
        match p.finish(r) {
            Ok(r) => Ok(r),
            Err(ApiError::Validation(items)) => Err(items),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn locked(entries: &[(Uuid, i32, i32, bool)]) -> HashMap<Uuid, LockedBalance> {
        entries
            .iter()
            .map(|&(id, good, defect, live)| (id, LockedBalance { good, defect, live }))
            .collect()
    }

    fn line(product_id: Uuid, quantity: i32) -> BatchLine {
        BatchLine {
            product_id,
            quantity,
        }
    }

    #[test]
    fn parses_a_batch_with_the_single_operations_rules() {
        let r = parse(&format!(
            r#"{{"operation_type":"shipment_rc","distribution_center_id":"{B}","lines":[{{"product_id":"{A}","quantity":"2"}}]}}"#
        ))
        .expect("valid");
        assert_eq!(r.lines, vec![line(A, 2)]);
        let items = parse(&format!(
            r#"{{"operation_type":"shipment_rc","lines":[{{"product_id":"{A}","quantity":1}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(
            items[0].msg,
            "Value error, distribution_center_id is required for operation_type: shipment_rc"
        );
        let items = parse(&format!(
            r#"{{"operation_type":"stocktake_stock","lines":[{{"product_id":"{A}","quantity":1}}]}}"#
        ))
        .unwrap_err();
        assert!(items[0].msg.contains("Invalid operation_type"), "{items:?}");
    }

    #[test]
    fn line_problems_name_their_index_and_field() {
        let items = parse(&format!(
            r#"{{"operation_type":"receipt","lines":[{{"product_id":"{A}","quantity":1}},{{"product_id":"x","quantity":0}},7]}}"#
        ))
        .unwrap_err();
        let locs: Vec<String> = items
            .iter()
            .map(|i| serde_json::to_string(&i.loc).expect("loc"))
            .collect();
        assert_eq!(
            locs,
            [
                r#"["body","lines",1,"product_id"]"#,
                r#"["body","lines",1,"quantity"]"#,
                r#"["body","lines",2]"#
            ]
        );
        assert_eq!(items[1].msg, "Value error, Quantity must be at least 1");
    }

    #[test]
    fn the_list_is_bounded() {
        let items = parse(r#"{"operation_type":"receipt","lines":[]}"#).unwrap_err();
        assert_eq!(items[0].kind, "too_short");
        let many: Vec<String> = (0..=LINES_MAX)
            .map(|_| format!(r#"{{"product_id":"{A}","quantity":1}}"#))
            .collect();
        let items = parse(&format!(
            r#"{{"operation_type":"receipt","lines":[{}]}}"#,
            many.join(",")
        ))
        .unwrap_err();
        assert_eq!(items[0].kind, "too_long");
        assert_eq!(
            items[0].ctx.as_deref(),
            Some(&json!({"field_type": "List", "max_length": 500, "actual_length": 501}))
        );
        let items = parse(r#"{"operation_type":"receipt"}"#).unwrap_err();
        assert_eq!(items[0].kind, "missing");
        let items = parse(r#"{"operation_type":"receipt","lines":{}}"#).unwrap_err();
        assert_eq!(items[0].kind, "list_type");
    }

    #[test]
    fn lines_see_the_earlier_lines_of_the_batch() {
        // 5 in stock: ship 3, then 3 more (refused: 2 left), then 2 (fine).
        let balances = locked(&[(A, 5, 0, true)]);
        let refused = plan(
            Operation::ShipmentRc,
            &[line(A, 3), line(A, 3), line(A, 2)],
            &balances,
        )
        .unwrap_err();
        assert_eq!(
            refused,
            vec![LineRefusal {
                index: 1,
                product_id: A,
                status: 400,
                detail: "Недостаточно товара для отгрузки".to_owned()
            }]
        );
        let sets = plan(Operation::ShipmentRc, &[line(A, 3), line(A, 2)], &balances).expect("fits");
        assert_eq!(
            sets,
            vec![BalanceSet {
                product_id: A,
                stock: 0,
                defect: 0
            }]
        );
    }

    #[test]
    fn unknown_deleted_and_overflowing_lines_are_all_reported() {
        let balances = locked(&[(A, i32::MAX - 1, 0, true), (B, 0, 0, false)]);
        let refused = plan(
            Operation::Receipt,
            &[
                line(A, 1),
                line(B, 1),
                line(Uuid::from_u128(9), 1),
                line(A, 1),
            ],
            &balances,
        )
        .unwrap_err();
        let summary: Vec<(usize, u16)> = refused.iter().map(|r| (r.index, r.status)).collect();
        assert_eq!(summary, vec![(1, 404), (2, 404), (3, 400)]);
        assert_eq!(refused[2].detail, msg::QUANTITY_MAXIMUM);
    }

    #[test]
    fn write_off_moves_both_balances_and_unchanged_products_are_not_rewritten() {
        let balances = locked(&[(A, 4, 1, true), (B, 0, 0, true)]);
        let sets = plan(Operation::WriteOff, &[line(A, 3)], &balances).expect("fits");
        assert_eq!(
            sets,
            vec![BalanceSet {
                product_id: A,
                stock: 1,
                defect: 4
            }]
        );
    }

    #[test]
    fn fingerprints_cover_every_line() {
        let a = parse(&format!(
            r#"{{"operation_type":"receipt","lines":[{{"product_id":"{A}","quantity":1}},{{"product_id":"{B}","quantity":1}}]}}"#
        ))
        .expect("valid");
        let mut b = a.clone();
        b.lines[1].quantity = 2;
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
