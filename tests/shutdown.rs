//! Shutdown of the real stack (`config.toml` under `wms supervise` as PID 1): the order
//! follows the whole dependency graph (issue 13). The backend reaches PostgreSQL only through
//! the completed `migrate` oneshot; PostgreSQL must still wait until the backend is gone, so a
//! request the backend drains during its grace period finishes against a live database.

mod proof;
mod util;

use std::time::{Duration, Instant};

use serde_json::json;

use proof::api::Api;
use proof::http::Request;
use proof::sql::Sql;
use proof::stack::{Layout, wait_healthy};
use util::wait_for;

const BOOT: Duration = Duration::from_secs(120);

/// The index of the first supervisor line (not a service's output) containing every needle.
fn line_index(lines: &[String], needles: &[&str]) -> Option<usize> {
    lines
        .iter()
        .position(|l| !l.contains(" | ") && needles.iter().all(|n| l.contains(n)))
}

#[test]
fn issue_13_postgres_stops_only_after_the_backend_is_gone() {
    let layout = Layout::new();
    // The backend gets the whole grace period the test needs; the default 4 s is plenty.
    let mut sup = layout.start(&[]);
    wait_healthy(&layout.health, BOOT).expect("the stack became healthy");
    let api = Api::login(&layout.backend(), Duration::from_secs(30)).expect("log in");
    let product = api.create_product("SHUTDOWN-1").expect("create a product");
    let first = api
        .post(
            "/api/stock/movements",
            &json!({"operation_type": "receipt", "product_id": product, "quantity": 1}),
        )
        .expect("a first receipt");
    assert_eq!(first.status, 201, "first receipt: {}", first.text());

    // Hold the product's balance row, so the receipt below waits inside its transaction.
    // A transaction held open as the superuser, so the receipt waits on a row lock.
    let db = Sql::superuser(&layout, "wms");
    db.query("BEGIN");
    let locked = db.query(&format!(
        "SELECT quantity FROM stocks WHERE product_id = '{product}' FOR UPDATE"
    ));
    assert_eq!(locked, ["1"], "the balance row is held");
    let receipt = {
        let (addr, token, product) = (layout.backend(), api.token.clone(), product.clone());
        std::thread::spawn(move || {
            Request::new("POST", "/api/stock/movements")
                .bearer(&token)
                .json(&json!({"operation_type": "receipt", "product_id": product, "quantity": 3}))
                .timeout(Duration::from_secs(30))
                .send(&addr)
        })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND datname = 'wms'";
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.query(waiting) == ["0"] {
        assert!(
            Instant::now() < deadline,
            "the receipt never waited on the row lock; activity: {:?}",
            db.query(
                "SELECT concat_ws(' / ', state, wait_event_type, wait_event, query) \
                 FROM pg_stat_activity WHERE datname = 'wms'"
            )
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // SIGTERM while the request is inside its transaction. The backend drains it; release
    // the lock only once the backend has been asked to stop, so the request finishes during
    // the backend's grace period, while PostgreSQL must still be up.
    let asked = Instant::now();
    sup.signal(libc::SIGTERM);
    wait_for("the backend asked to stop", Duration::from_secs(10), || {
        line_index(&sup.output(), &["-> stopping", "service=backend"])
    });
    db.query("COMMIT");
    drop(db);

    let answer = receipt
        .join()
        .expect("the request thread")
        .expect("an answer to the receipt");
    assert_eq!(
        answer.status,
        201,
        "the receipt drained at shutdown: {}",
        answer.text()
    );
    let status = sup.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "supervisor exit: {status:?}");
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());

    let lines = sup.output();
    let backend_stopped = line_index(&lines, &["stopping -> stopped", "service=backend"])
        .expect("the backend stopped");
    let postgres_stopping =
        line_index(&lines, &["-> stopping", "service=postgres"]).expect("postgres was stopped");
    assert!(
        backend_stopped < postgres_stopping,
        "postgres began stopping (line {postgres_stopping}) before the backend was gone \
         (line {backend_stopped}):\n{}",
        lines.join("\n")
    );
    let terminated: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("terminating connection due to administrator command"))
        .collect();
    assert!(
        terminated.is_empty(),
        "PostgreSQL terminated client connections: {terminated:?}\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("database system is shut down")),
        "no clean PostgreSQL shutdown"
    );
}
