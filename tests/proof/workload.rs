//! The stock workload of the chaos and power-loss tests, and the audit that follows it.
//!
//! Several client threads send a steady mix of the nine operations through the web port,
//! each with its own `Idempotency-Key` and a unique tag in `notes`. An operation is retried
//! with the same key through outages (connection refused or reset, 502, 503, 504) until it
//! gets a definitive answer: 201 (acknowledged) or a 4xx (rejected). Each client owns two
//! products (only it touches them, so it knows their exact balances and predicts every
//! answer: a decrement beyond the balance must be refused with the spec's message, anything
//! else must succeed) and all clients share two more (contention: either answer is fine).
//! A few requests are invalid on purpose (quantity 0, must be a 422), and a few acknowledged
//! ones are sent again with the same key (must replay the same movement, not move twice).
//!
//! [`Workload::audit`] then reads the whole journal and every balance and checks: every
//! acknowledged operation is in the journal exactly once (same id, type, quantity, product);
//! no rejected one is; nothing else is; each product's balances equal the signed sum of its
//! journal rows, are not negative, and equal the owner's model; `ledger-check` is clean.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::api::{Api, login};
use super::http::{Request, Response};

/// The nine operation types of spec 7.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
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

impl Op {
    pub const ALL: [Op; 9] = [
        Op::Receipt,
        Op::ReceiptDefect,
        Op::ShipmentRc,
        Op::ReturnPickup,
        Op::ReturnDefect,
        Op::SelfPurchase,
        Op::WriteOff,
        Op::Restoration,
        Op::Utilization,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Op::Receipt => "receipt",
            Op::ReceiptDefect => "receipt_defect",
            Op::ShipmentRc => "shipment_rc",
            Op::ReturnPickup => "return_pickup",
            Op::ReturnDefect => "return_defect",
            Op::SelfPurchase => "self_purchase",
            Op::WriteOff => "write_off",
            Op::Restoration => "restoration",
            Op::Utilization => "utilization",
        }
    }

    pub fn from_code(code: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.code() == code)
    }

    /// Change of (stock, defect) for quantity `n`.
    pub fn effect(self, n: i64) -> (i64, i64) {
        match self {
            Op::Receipt | Op::ReturnPickup | Op::SelfPurchase => (n, 0),
            Op::ReceiptDefect | Op::ReturnDefect => (0, n),
            Op::ShipmentRc => (-n, 0),
            Op::WriteOff => (-n, n),
            Op::Restoration => (n, -n),
            Op::Utilization => (0, -n),
        }
    }

    /// The 400 `detail` when the balance is too small (decrements only).
    pub fn insufficient(self) -> Option<&'static str> {
        match self {
            Op::ShipmentRc => Some("Недостаточно товара для отгрузки"),
            Op::WriteOff => Some("Недостаточно товара для списания в брак"),
            Op::Restoration => Some("Недостаточно брака для восстановления"),
            Op::Utilization => Some("Недостаточно брака для утилизации"),
            _ => None,
        }
    }

    /// Weight in the mix.
    fn weight(self) -> u32 {
        match self {
            Op::Receipt => 4,
            Op::ShipmentRc => 3,
            Op::WriteOff | Op::Restoration | Op::Utilization => 2,
            _ => 1,
        }
    }
}

/// What became of one operation.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// 201: the movement `id`, when the client saw it.
    Acked { id: String, at: Instant },
    /// A definitive refusal.
    Rejected { status: u16, detail: String },
    /// No definitive answer (outage past the deadline, or the whole stack was killed).
    Unresolved { last: String },
}

/// One operation as the client sent it and what it got.
#[derive(Clone, Debug)]
pub struct Record {
    pub client: usize,
    pub key: String,
    pub tag: String,
    pub product: String,
    pub op: Op,
    pub qty: i64,
    pub body: Value,
    pub outcome: Outcome,
    pub attempts: u32,
}

/// A product of the workload; `owner` is the only client touching it, if any.
#[derive(Clone, Debug)]
pub struct Slot {
    pub id: String,
    pub owner: Option<usize>,
}

/// The shared state of the clients.
pub struct Workload {
    pub web: String,
    /// Unique per run; part of every key and tag.
    pub run: String,
    pub slots: Vec<Slot>,
    source_id: String,
    dc_id: String,
    token: RwLock<String>,
    /// Ends the clients after their current operation.
    pub stop: AtomicBool,
    /// The whole stack was killed: give up on the operation in flight at once.
    pub abandon: AtomicBool,
    /// How long one operation is retried through outages.
    pub op_deadline: Duration,
    records: Mutex<Vec<Record>>,
    violations: Mutex<Vec<String>>,
    /// Final balances each owner expects for its products, `None` once unknown.
    models: Mutex<HashMap<String, Option<(i64, i64)>>>,
    pub replays_checked: AtomicU64,
    pub samples: AtomicU64,
    /// Sequence numbers of operations, unique across clients and rounds.
    next_seq: AtomicU64,
}

/// Exact answer the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Ok,
    Insufficient,
    Invalid,
    Either,
}

impl Workload {
    /// Logs in, creates two products per client and two shared ones.
    pub fn prepare(web: &str, clients: usize, run: &str) -> Result<Workload, String> {
        let api = Api::login(web, Duration::from_secs(60))?;
        let mut slots = Vec::new();
        for c in 0..clients {
            for i in 0..2 {
                slots.push(Slot {
                    id: api.create_product(&format!("{run}-c{c}-{i}"))?,
                    owner: Some(c),
                });
            }
        }
        for i in 0..2 {
            slots.push(Slot {
                id: api.create_product(&format!("{run}-shared-{i}"))?,
                owner: None,
            });
        }
        let models = slots
            .iter()
            .filter(|s| s.owner.is_some())
            .map(|s| (s.id.clone(), Some((0, 0))))
            .collect();
        Ok(Workload {
            web: web.to_owned(),
            run: run.to_owned(),
            slots,
            source_id: api.first_id("/api/sources/")?,
            dc_id: api.first_id("/api/distribution-centers/")?,
            token: RwLock::new(api.token),
            stop: AtomicBool::new(false),
            abandon: AtomicBool::new(false),
            op_deadline: Duration::from_secs(60),
            records: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            models: Mutex::new(models),
            replays_checked: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            next_seq: AtomicU64::new(1),
        })
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().expect("records lock").clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().expect("violations lock").clone()
    }

    fn violation(&self, what: String) {
        self.violations.lock().expect("violations lock").push(what);
    }

    /// Times at which operations were acknowledged.
    pub fn ack_times(&self) -> Vec<Instant> {
        let mut v: Vec<Instant> = self
            .records()
            .iter()
            .filter_map(|r| match r.outcome {
                Outcome::Acked { at, .. } => Some(at),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// One attempt: `Ok` is a definitive answer, `Err` a transient failure.
    fn attempt(&self, body: &Value, key: &str) -> Result<Response, String> {
        let token = self.token.read().expect("token lock").clone();
        let req = Request::new("POST", "/api/stock/movements")
            .bearer(&token)
            .header("Idempotency-Key", key)
            .json(body)
            .timeout(Duration::from_secs(20));
        match req.send(&self.web) {
            Ok(r) if matches!(r.status, 502..=504) => Err(format!("{} {}", r.status, r.text())),
            Ok(r) if r.status == 401 => {
                // The secret is stored in the database, so tokens survive restarts; log in
                // again anyway rather than fail the run on it, and note it.
                self.violation(format!("401 for a valid token: {}", r.text()));
                if let Ok(t) = login(&self.web, Duration::from_secs(30)) {
                    *self.token.write().expect("token lock") = t;
                }
                Err("401".into())
            }
            Ok(r) => Ok(r),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends until a definitive answer, the deadline, or `abandon`.
    pub fn resolve(&self, body: &Value, key: &str) -> (Outcome, u32, bool) {
        let start = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(body, key) {
                Ok(r) if r.status == 201 => {
                    let replayed = r.header("idempotent-replayed") == Some("true");
                    let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                    let at = Instant::now();
                    return (Outcome::Acked { id, at }, attempts, replayed);
                }
                Ok(r) => {
                    let j = r.json();
                    let detail = j["detail"].as_str().map_or_else(|| r.text(), str::to_owned);
                    let status = r.status;
                    return (Outcome::Rejected { status, detail }, attempts, false);
                }
                Err(last) => {
                    if self.abandon.load(Ordering::SeqCst) || start.elapsed() > self.op_deadline {
                        return (Outcome::Unresolved { last }, attempts, false);
                    }
                    let backoff = 10u64 << attempts.min(4);
                    std::thread::sleep(Duration::from_millis(backoff));
                }
            }
        }
    }

    /// One client: operations until `stop` (or `abandon`).
    pub fn client(&self, c: usize, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let own: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.owner == Some(c))
            .map(|s| s.id.clone())
            .collect();
        let shared: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.owner.is_none())
            .map(|s| s.id.clone())
            .collect();
        // The balances this client expects for its own products (kept across rounds).
        let mut model: HashMap<String, Option<(i64, i64)>> = {
            let models = self.models.lock().expect("models lock");
            own.iter()
                .map(|id| (id.clone(), models.get(id).copied().flatten()))
                .collect()
        };
        let total_weight: u32 = Op::ALL.iter().map(|o| o.weight()).sum();
        while !self.stop.load(Ordering::SeqCst) && !self.abandon.load(Ordering::SeqCst) {
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            let product = if shared.is_empty() || rng.random_bool(0.7) {
                own[rng.random_range(0..own.len())].clone()
            } else {
                shared[rng.random_range(0..shared.len())].clone()
            };
            let mut pick = rng.random_range(0..total_weight);
            let op = Op::ALL
                .into_iter()
                .find(|o| {
                    if pick < o.weight() {
                        true
                    } else {
                        pick -= o.weight();
                        false
                    }
                })
                .unwrap_or(Op::Receipt);
            let invalid = rng.random_bool(0.03);
            let qty: i64 = if invalid {
                0
            } else if op.insufficient().is_some() {
                rng.random_range(1..=6)
            } else {
                rng.random_range(1..=4)
            };
            let key = format!("{}-{seq}", self.run);
            let tag = format!("chaos {} c{c} #{seq}", self.run);
            let mut body = json!({
                "product_id": product,
                "operation_type": op.code(),
                "quantity": qty,
                "notes": tag,
            });
            if op == Op::ShipmentRc || rng.random_bool(0.1) {
                body["distribution_center_id"] = json!(self.dc_id);
            }
            if matches!(op, Op::ReturnPickup | Op::ReturnDefect | Op::SelfPurchase) {
                body["source_id"] = json!(self.source_id);
            }
            let expect = match model.get(&product) {
                _ if invalid => Expect::Invalid,
                Some(Some((stock, defect))) => {
                    let (ds, dd) = op.effect(qty);
                    if stock + ds < 0 || defect + dd < 0 {
                        Expect::Insufficient
                    } else {
                        Expect::Ok
                    }
                }
                _ => Expect::Either,
            };
            let (outcome, attempts, _) = self.resolve(&body, &key);
            let what = format!("{key} {} {qty} on {product}", op.code());
            match (&outcome, expect) {
                (Outcome::Unresolved { .. }, _) => {
                    if let Some(m) = model.get_mut(&product) {
                        *m = None;
                    }
                }
                (Outcome::Acked { .. }, Expect::Ok | Expect::Either) => {
                    if let Some(Some((stock, defect))) = model.get_mut(&product) {
                        let (ds, dd) = op.effect(qty);
                        *stock += ds;
                        *defect += dd;
                    }
                }
                (
                    Outcome::Rejected {
                        status: 400,
                        detail,
                    },
                    Expect::Insufficient | Expect::Either,
                ) if Some(detail.as_str()) == op.insufficient() => {}
                (Outcome::Rejected { status: 422, .. }, Expect::Invalid) => {}
                (got, expect) => {
                    self.violation(format!("{what}: expected {expect:?}, got {got:?}"));
                    if let Some(m) = model.get_mut(&product) {
                        *m = None;
                    }
                }
            }
            // Now and then, send an acknowledged request again with its key: it must replay
            // the same movement.
            if let Outcome::Acked { id, .. } = &outcome {
                if rng.random_bool(0.05) {
                    match self.resolve(&body, &key) {
                        (Outcome::Acked { id: again, .. }, _, true) if again == *id => {
                            self.replays_checked.fetch_add(1, Ordering::Relaxed);
                        }
                        (Outcome::Unresolved { .. }, _, _) => {}
                        (got, _, replayed) => self.violation(format!(
                            "{what}: a retry with the same key gave {got:?} (replayed: {replayed}), not movement {id}"
                        )),
                    }
                }
            }
            self.records.lock().expect("records lock").push(Record {
                client: c,
                key,
                tag,
                product,
                op,
                qty,
                body,
                outcome,
                attempts,
            });
            std::thread::sleep(Duration::from_millis(rng.random_range(0..5)));
        }
        let mut models = self.models.lock().expect("models lock");
        for (id, m) in model {
            models.insert(id, m);
        }
    }

    /// One reading of every balance through the web port while the load runs (no retries:
    /// outages are expected). Flags any negative balance.
    pub fn sample_balances(&self) {
        let token = self.token.read().expect("token lock").clone();
        let req = Request::new("GET", "/api/products/?page_size=100")
            .bearer(&token)
            .timeout(Duration::from_secs(5));
        let Ok(r) = req.send(&self.web) else {
            return;
        };
        if r.status != 200 {
            return;
        }
        self.samples.fetch_add(1, Ordering::Relaxed);
        for p in r.json()["items"].as_array().into_iter().flatten() {
            for field in ["stock_quantity", "defect_quantity"] {
                if p[field].as_i64().unwrap_or(0) < 0 {
                    self.violation(format!("negative {field} seen while running: {p}"));
                }
            }
        }
    }

    /// Sends every unresolved operation again with its key (after a power loss): the answer
    /// is definitive now. Returns how many were resolved, and how many of them had been
    /// committed before (the answer was a replay).
    pub fn resolve_leftovers(&self) -> (usize, usize) {
        let mut records = self.records.lock().expect("records lock");
        let (mut n, mut committed) = (0, 0);
        for r in records.iter_mut() {
            if matches!(r.outcome, Outcome::Unresolved { .. }) {
                let (outcome, attempts, replayed) = self.resolve(&r.body, &r.key);
                r.outcome = outcome;
                r.attempts += attempts;
                n += 1;
                committed += usize::from(replayed);
            }
        }
        (n, committed)
    }

    /// Reads the journal, balances and the ledger check and compares them with what the
    /// clients were told. Returns the audit; problems are in `violations`.
    pub fn audit(&self, api: &Api) -> Result<Audit, String> {
        // Per product (offset pagination over one product's rows is much cheaper than
        // over the whole journal), then the whole journal's total must match.
        let mut journal = Vec::new();
        for slot in &self.slots {
            journal.extend(api.all_pages(&format!("/api/stock/movements?product_id={}", slot.id))?);
        }
        let total = api.get("/api/stock/movements?page_size=1")?["total"]
            .as_u64()
            .unwrap_or(0);
        let products = api.products()?;
        let ledger = api.ledger_check()?;
        let records = self.records();
        let mut audit = Audit {
            journal_rows: journal.len(),
            ..Audit::default()
        };
        let prefix = format!("chaos {} ", self.run);
        let mut by_tag: HashMap<&str, Vec<&Value>> = HashMap::new();
        for row in &journal {
            if let Some(tag) = row["notes"].as_str().filter(|t| t.starts_with(&prefix)) {
                by_tag.entry(tag).or_default().push(row);
            }
        }
        let mut problems = Vec::new();
        if total != journal.len() as u64 {
            problems.push(format!(
                "the journal has {total} rows, the workload's products {}",
                journal.len()
            ));
        }
        let known: std::collections::HashSet<&str> =
            records.iter().map(|r| r.tag.as_str()).collect();
        for (tag, rows) in &by_tag {
            if !known.contains(tag) {
                problems.push(format!("journal rows nobody sent: {tag} x{}", rows.len()));
            }
        }
        for r in &records {
            let rows = by_tag.get(r.tag.as_str()).map_or(&[][..], Vec::as_slice);
            if r.attempts > 1 {
                audit.retried += 1;
            }
            match &r.outcome {
                Outcome::Acked { id, .. } => {
                    audit.acked += 1;
                    let ok = rows.len() == 1
                        && rows[0]["id"].as_str() == Some(id)
                        && rows[0]["operation_type"].as_str() == Some(r.op.code())
                        && rows[0]["quantity"].as_i64() == Some(r.qty)
                        && rows[0]["product_id"].as_str() == Some(&r.product);
                    if !ok {
                        problems.push(format!(
                            "acknowledged {} ({} {} id {id}) is in the journal {} time(s): {rows:?}",
                            r.key,
                            r.op.code(),
                            r.qty,
                            rows.len()
                        ));
                    }
                }
                Outcome::Rejected { status, detail } => {
                    audit.rejected += 1;
                    if *status == 422 {
                        audit.invalid += 1;
                    }
                    if !rows.is_empty() {
                        problems.push(format!(
                            "rejected {} ({status} {detail}) moved stock: {rows:?}",
                            r.key
                        ));
                    }
                    if !matches!(status, 400 | 422) {
                        problems.push(format!("{}: unexpected answer {status} {detail}", r.key));
                    }
                }
                Outcome::Unresolved { last } => {
                    audit.unresolved += 1;
                    if rows.len() > 1 {
                        problems.push(format!(
                            "unresolved {} is in the journal {} times",
                            r.key,
                            rows.len()
                        ));
                    }
                    problems.push(format!(
                        "{} got no definitive answer in {:?} ({} attempts; last: {last})",
                        r.key, self.op_deadline, r.attempts
                    ));
                }
            }
        }
        let models = self.models.lock().expect("models lock").clone();
        for slot in &self.slots {
            let Some(p) = products.iter().find(|p| p["id"].as_str() == Some(&slot.id)) else {
                problems.push(format!("product {} is missing", slot.id));
                continue;
            };
            let have = (
                p["stock_quantity"].as_i64().unwrap_or(-1),
                p["defect_quantity"].as_i64().unwrap_or(-1),
            );
            if have.0 < 0 || have.1 < 0 {
                problems.push(format!("negative balance: {p}"));
            }
            let mut sum = (0, 0);
            for row in journal
                .iter()
                .filter(|row| row["product_id"].as_str() == Some(&slot.id))
            {
                let op = row["operation_type"].as_str().and_then(Op::from_code);
                let (Some(op), Some(n)) = (op, row["quantity"].as_i64()) else {
                    problems.push(format!("unexpected journal row {row}"));
                    continue;
                };
                let (ds, dd) = op.effect(n);
                sum = (sum.0 + ds, sum.1 + dd);
            }
            if sum != have {
                problems.push(format!(
                    "product {}: balances {have:?} but the journal sums to {sum:?}",
                    slot.id
                ));
            }
            if let Some(Some(model)) = models.get(&slot.id) {
                if *model != have {
                    problems.push(format!(
                        "product {}: balances {have:?} but its only client expects {model:?}",
                        slot.id
                    ));
                }
            }
            audit.final_stock += have.0;
            audit.final_defect += have.1;
        }
        if ledger["consistent"] != json!(true)
            || ledger["mismatches"]
                .as_array()
                .is_none_or(|m| !m.is_empty())
        {
            problems.push(format!("ledger check: {ledger}"));
        }
        audit.ledger = ledger;
        audit.replays_checked = self.replays_checked.load(Ordering::Relaxed);
        audit.samples = self.samples.load(Ordering::Relaxed);
        problems.extend(self.violations());
        audit.problems = problems;
        Ok(audit)
    }
}

/// What the audit found.
#[derive(Debug, Default)]
pub struct Audit {
    pub journal_rows: usize,
    pub acked: usize,
    pub rejected: usize,
    pub invalid: usize,
    pub unresolved: usize,
    pub retried: usize,
    pub replays_checked: u64,
    pub samples: u64,
    pub final_stock: i64,
    pub final_defect: i64,
    pub ledger: Value,
    pub problems: Vec<String>,
}

impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "operations acknowledged {}, rejected {} ({} invalid on purpose), unresolved {}, \
             retried through an outage {}; idempotent replays checked {}; balance samples {}; \
             journal rows {}; final stock {} / defect {}; ledger {}",
            self.acked,
            self.rejected,
            self.invalid,
            self.unresolved,
            self.retried,
            self.replays_checked,
            self.samples,
            self.journal_rows,
            self.final_stock,
            self.final_defect,
            self.ledger
        )
    }
}
