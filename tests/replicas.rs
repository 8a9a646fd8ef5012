//! Two `wms backend` replicas on one PostgreSQL, as the Kubernetes manifests run them
//! (issue 10): nothing per process may break with 2+ replicas.
//!
//! Real processes against a real PostgreSQL (the test binary's private server from
//! `tests/backend/pg.rs`: `PG_BIN` or the newest `/usr/lib/postgresql/*/bin`, started in a
//! temp dir), connected over TCP like pods are:
//!
//! * two `wms backend --migrate` and one `wms migrate` (the Job) start at the same instant
//!   on an empty database: exactly one applies the migrations, the others wait on the
//!   advisory lock and find the schema up to date; one JWT secret, one administrator;
//! * a token from either replica is accepted by the other;
//! * clients send movements through both replicas at once, each with its own
//!   Idempotency-Key, retrying on the other replica when one fails; one replica is
//!   SIGKILLed in the middle and started again; every product ends with exactly the balance
//!   its answered movements add up to, each key in the journal once, and the ledger check is
//!   clean;
//! * one Idempotency-Key sent to both replicas at the same moment moves stock once.
//!
//! Every wait has a deadline; nothing sleeps a fixed time.

mod util;

#[path = "backend/http.rs"]
mod http;
#[path = "backend/pg.rs"]
mod pg;
#[path = "backend/server.rs"]
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use http::{Resp, try_json_request};
use server::{ADMIN, spawn};
use util::wait_for;

/// Products the clients move stock of.
const PRODUCTS: usize = 4;
/// Client threads, and movements each sends.
const CLIENTS: usize = 6;
const PER_CLIENT: usize = 40;
/// A request that fails on every replica for this long fails the test.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// A `wms` process with its output; killed on drop.
struct Proc {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn start(args: &[&str], url: &str) -> Proc {
        let (child, lines) = spawn(args, &[("DATABASE_URL", url), ("WMS_DB_WAIT", "30s")]);
        Proc {
            child: Some(child),
            lines,
        }
    }

    fn output(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The address from `listening on http://ADDR`.
    fn wait_listening(&mut self) -> SocketAddr {
        wait_for("a backend to listen", Duration::from_secs(90), || {
            if let Some(status) = self.exited() {
                panic!(
                    "the backend exited with {status} before listening:\n{}",
                    self.output().join("\n")
                );
            }
            self.output().iter().find_map(|l| {
                l.split("listening on http://")
                    .nth(1)
                    .and_then(|a| a.trim().parse().ok())
            })
        })
    }

    /// Waits for the process to end and its output to drain.
    fn wait_exit(&mut self) -> ExitStatus {
        let status = wait_for("wms to exit", Duration::from_secs(90), || self.exited());
        self.child = None;
        wait_for("the output to drain", Duration::from_secs(10), || {
            (Arc::strong_count(&self.lines) == 1).then_some(())
        });
        status
    }

    /// The line saying what migrating did: `applied ...` or `... up to date ...`.
    fn migration_outcome(&self) -> String {
        self.output()
            .into_iter()
            .find(|l| l.contains("INFO") && (l.contains("applied V") || l.contains("up to date")))
            .unwrap_or_else(|| {
                panic!(
                    "no migration outcome in the log:\n{}",
                    self.output().join("\n")
                )
            })
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ok(addr: SocketAddr, token: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    let r = try_json_request(addr, token, method, path, body, &[])
        .unwrap_or_else(|e| panic!("{method} {path} at {addr}: {e}"));
    assert!(
        r.status == 200 || r.status == 201,
        "{method} {path} at {addr}: {} {}",
        r.status,
        r.text()
    );
    r.json()
}

fn login(addr: SocketAddr) -> String {
    let r = ok(
        addr,
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": ADMIN, "password": "admin123"})),
    );
    r["access_token"].as_str().expect("token").to_owned()
}

/// `(stock, defect)` change of a movement that was carried out.
fn effect(op: &str) -> (i64, i64) {
    match op {
        "receipt" => (1, 0),
        "receipt_defect" => (0, 1),
        "write_off" => (-1, 1),
        "restoration" => (1, -1),
        "utilization" => (0, -1),
        other => panic!("no effect known for {other}"),
    }
}

fn count(pg: &pg::Postgres, db: &str, sql: &str) -> i64 {
    pg.sql(db, sql)[0]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a count from {sql}"))
}

#[test]
fn two_replicas_race_migrations_share_secrets_and_keep_one_ledger_through_a_kill() {
    let pg = pg::shared();
    let db = pg.create_db();
    let url = format!("postgresql://postgres@127.0.0.1:{}/{db}", pg.port);

    // 1. Two backends with --migrate and the migration Job, released at the same instant,
    //    on an empty database; no SECRET_KEY (each would generate one).
    let gate = Arc::new(Barrier::new(3));
    let starters: Vec<_> = [
        vec!["backend", "--migrate", "--listen", "127.0.0.1:0"],
        vec!["backend", "--migrate", "--listen", "127.0.0.1:0"],
        vec!["migrate"],
    ]
    .into_iter()
    .map(|args| {
        let (gate, url) = (Arc::clone(&gate), url.clone());
        std::thread::spawn(move || {
            gate.wait();
            Proc::start(&args, &url)
        })
    })
    .collect();
    let mut procs: Vec<Proc> = starters
        .into_iter()
        .map(|h| h.join().expect("start"))
        .collect();
    let mut job = procs.pop().expect("the Job");
    let mut b = procs.pop().expect("replica B");
    let mut a = procs.pop().expect("replica A");
    let addr_a = a.wait_listening();
    let addr_b = b.wait_listening();
    assert!(job.wait_exit().success(), "{}", job.output().join("\n"));
    assert_ne!(addr_a.port(), addr_b.port());

    let outcomes = [
        a.migration_outcome(),
        b.migration_outcome(),
        job.migration_outcome(),
    ];
    eprintln!("migrators: {outcomes:#?}");
    let applied = outcomes.iter().filter(|l| l.contains("applied V")).count();
    assert_eq!(applied, 1, "exactly one migrator applies: {outcomes:#?}");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with('V'))
        })
        .count() as i64;
    assert_eq!(
        count(pg, &db, "SELECT count(*) FROM refinery_schema_history"),
        migrations
    );
    assert_eq!(
        count(
            pg,
            &db,
            "SELECT count(DISTINCT version) FROM refinery_schema_history"
        ),
        migrations
    );
    assert_eq!(
        count(
            pg,
            &db,
            "SELECT count(*) FROM app_settings WHERE name = 'jwt_secret'"
        ),
        1
    );
    assert_eq!(count(pg, &db, "SELECT count(*) FROM users"), 1);

    // 2. One secret: a token from either replica works on the other.
    let token = login(addr_a);
    let token_b = login(addr_b);
    for (t, addr) in [(&token, addr_b), (&token_b, addr_a)] {
        let me = ok(addr, t, "GET", "/api/auth/me", None);
        assert_eq!(me["email"], ADMIN);
    }

    // 3. Movements through both replicas at once; replica A is killed and restarted in the
    //    middle. Each movement has its own Idempotency-Key and is retried, with the same key,
    //    on the other replica when a replica fails it: it must count exactly once.
    let products: Vec<String> = (0..PRODUCTS)
        .map(|i| {
            let addr = [addr_a, addr_b][i % 2];
            let p = ok(
                addr,
                &token,
                "POST",
                "/api/products/",
                Some(&json!({"barcode": format!("REPL-{i}")})),
            );
            p["id"].as_str().expect("id").to_owned()
        })
        .collect();
    let replicas = Arc::new(RwLock::new(vec![addr_a, addr_b]));
    let answered = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let replays = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (replicas, answered, retried, replays) = (
                Arc::clone(&replicas),
                Arc::clone(&answered),
                Arc::clone(&retried),
                Arc::clone(&replays),
            );
            let (token, products) = (token.clone(), products.clone());
            std::thread::spawn(move || {
                let mut outcomes = Vec::new(); // (product, op, status)
                for i in 0..PER_CLIENT {
                    let product = &products[(c + i) % PRODUCTS];
                    let op = [
                        "receipt",
                        "receipt",
                        "write_off",
                        "receipt_defect",
                        "restoration",
                        "utilization",
                    ][(c * 7 + i) % 6];
                    let key = format!("repl-{c}-{i}");
                    let body = json!({"product_id": product, "operation_type": op, "quantity": 1});
                    let deadline = Instant::now() + RETRY_FOR;
                    let mut attempt = c + i;
                    let status = loop {
                        let addr = {
                            let r = replicas.read().expect("replicas");
                            r[attempt % r.len()]
                        };
                        attempt += 1;
                        match try_json_request(
                            addr,
                            &token,
                            "POST",
                            "/api/stock/movements",
                            Some(&body),
                            &[("Idempotency-Key", &key)],
                        ) {
                            Ok(r) if r.status == 201 || r.status == 400 => {
                                // A retry whose first attempt committed on the killed replica.
                                if r.header("Idempotent-Replayed") == Some("true") {
                                    replays.fetch_add(1, Ordering::SeqCst);
                                }
                                break r.status;
                            }
                            // 503: the transaction rolled back (key claim included).
                            Ok(r) if r.status == 503 => {}
                            Ok(r) => panic!("movement {key} at {addr}: {} {}", r.status, r.text()),
                            Err(_) => {} // the replica is down or was killed mid-request
                        }
                        retried.fetch_add(1, Ordering::SeqCst);
                        assert!(
                            Instant::now() < deadline,
                            "movement {key} failed on every replica for {RETRY_FOR:?}"
                        );
                    };
                    answered.fetch_add(1, Ordering::SeqCst);
                    outcomes.push((product.clone(), op, status));
                }
                outcomes
            })
        })
        .collect();
    let total = CLIENTS * PER_CLIENT;
    wait_for("a third of the movements", Duration::from_secs(120), || {
        (answered.load(Ordering::SeqCst) >= total / 3).then_some(())
    });
    a.kill();
    let killed_at = answered.load(Ordering::SeqCst);
    // The clients keep going on B alone for a while.
    wait_for(
        "movements on the surviving replica",
        Duration::from_secs(120),
        || (answered.load(Ordering::SeqCst) >= killed_at + total / 6).then_some(()),
    );
    let mut a2 = Proc::start(&["backend", "--migrate", "--listen", "127.0.0.1:0"], &url);
    let addr_a2 = a2.wait_listening();
    assert!(
        a2.migration_outcome().contains("up to date"),
        "{}",
        a2.migration_outcome()
    );
    *replicas.write().expect("replicas") = vec![addr_a2, addr_b];
    let mut expected: HashMap<String, (i64, i64, i64)> = HashMap::new(); // stock, defect, rows
    for c in clients {
        for (product, op, status) in c.join().expect("client") {
            let e = expected.entry(product).or_default();
            if status == 201 {
                let (s, d) = effect(op);
                e.0 += s;
                e.1 += d;
                e.2 += 1;
            }
        }
    }
    eprintln!(
        "{total} movements answered; replica A killed after {killed_at}; {} attempts retried on \
         another replica; {} answered as replays of a commit the client never heard of",
        retried.load(Ordering::SeqCst),
        replays.load(Ordering::SeqCst)
    );
    assert!(
        retried.load(Ordering::SeqCst) > 0,
        "no request met the killed replica: the kill proved nothing"
    );
    for (i, p) in products.iter().enumerate() {
        let (stock, defect, rows) = expected.get(p).copied().unwrap_or_default();
        for addr in [addr_a2, addr_b] {
            let got = ok(addr, &token, "GET", &format!("/api/products/{p}"), None);
            assert_eq!(
                (
                    got["stock_quantity"].as_i64(),
                    got["defect_quantity"].as_i64()
                ),
                (Some(stock), Some(defect)),
                "REPL-{i} at {addr}"
            );
        }
        let journal = ok(
            addr_b,
            &token,
            "GET",
            &format!("/api/stock/movements?product_id={p}"),
            None,
        );
        assert_eq!(
            journal["total"].as_i64(),
            Some(rows),
            "REPL-{i} journal rows"
        );
        eprintln!("REPL-{i}: stock {stock}, defect {defect}, {rows} journal rows on both replicas");
    }
    assert_eq!(
        count(
            pg,
            &db,
            "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'repl-%'"
        ),
        count(pg, &db, "SELECT count(*) FROM stock_movements"),
        "one stored key per journal row"
    );
    for addr in [addr_a2, addr_b] {
        let check = ok(addr, &token, "GET", "/api/admin/ledger-check", None);
        assert_eq!(check["consistent"], true, "{check}");
    }

    // 4. The same Idempotency-Key at both replicas at the same moment: one movement.
    let p = products[0].clone();
    let before = ok(addr_b, &token, "GET", &format!("/api/products/{p}"), None);
    let gate = Arc::new(Barrier::new(2));
    let both: Vec<_> = [addr_a2, addr_b]
        .into_iter()
        .map(|addr| {
            let (gate, token, p) = (Arc::clone(&gate), token.clone(), p.clone());
            std::thread::spawn(move || {
                let body = json!({"product_id": p, "operation_type": "receipt", "quantity": 3});
                gate.wait();
                try_json_request(
                    addr,
                    &token,
                    "POST",
                    "/api/stock/movements",
                    Some(&body),
                    &[("Idempotency-Key", "repl-same-key")],
                )
                .expect("request")
            })
        })
        .collect();
    let rs: Vec<Resp> = both.into_iter().map(|h| h.join().expect("send")).collect();
    assert!(
        rs.iter().all(|r| r.status == 201),
        "{:?}",
        rs.iter().map(|r| (r.status, r.text())).collect::<Vec<_>>()
    );
    assert_eq!(rs[0].json()["id"], rs[1].json()["id"], "one movement");
    let replayed = rs
        .iter()
        .filter(|r| r.header("Idempotent-Replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 1, "exactly one answer is the replay");
    let after = ok(addr_a2, &token, "GET", &format!("/api/products/{p}"), None);
    assert_eq!(
        after["stock_quantity"].as_i64(),
        before["stock_quantity"].as_i64().map(|s| s + 3)
    );
    // The key with a different request, at the other replica: refused.
    let r = try_json_request(
        addr_b,
        &token,
        "POST",
        "/api/stock/movements",
        Some(&json!({"product_id": p, "operation_type": "receipt", "quantity": 4})),
        &[("Idempotency-Key", "repl-same-key")],
    )
    .expect("request");
    assert_eq!(r.status, 422, "{}", r.text());
    let check = ok(addr_a2, &token, "GET", "/api/admin/ledger-check", None);
    assert_eq!(check["consistent"], true, "{check}");
    b.kill();
    a2.kill();
}
