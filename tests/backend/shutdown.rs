//! Graceful shutdown: SIGTERM stops accepting, lets a request in flight finish, exits 0;
//! a request that outlives `--shutdown-grace` does not keep the process alive.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::http::try_request;
use crate::pg::{self, Locker};
use crate::server::Backend;
use crate::util::{kill, wait_for};

/// Starts a shipment that waits on a row lock held by the test; returns its thread.
fn blocked_shipment(
    b: &Backend,
    p: &str,
) -> std::thread::JoinHandle<std::io::Result<crate::http::Resp>> {
    let dc = b.first_id("/api/distribution-centers/");
    let (addr, auth) = (b.addr, format!("Bearer {}", b.token));
    let body = json!({"product_id": p, "operation_type": "shipment_rc", "quantity": 1, "distribution_center_id": dc});
    let handle = std::thread::spawn(move || {
        try_request(
            addr,
            "POST",
            "/api/stock/movements",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    });
    let db = b.db.clone();
    wait_for(
        "the shipment to wait for the row lock",
        Duration::from_secs(20),
        || {
            let n = pg::shared().sql(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND wait_event_type = 'Lock'"),
        );
            (n.first().cloned().flatten().as_deref() == Some("1")).then_some(())
        },
    );
    handle
}

#[test]
fn sigterm_finishes_requests_in_flight_then_exits_0() {
    let mut b = Backend::start_with(&["--shutdown-grace", "20s"], &[]);
    let p = b.product("SHUT-1");
    b.move_stock(&p, "receipt", 1, json!({}));
    let lock = Locker::hold(
        pg::shared(),
        &b.db,
        &format!("SELECT 1 FROM stocks WHERE product_id = '{p}' FOR UPDATE"),
    );
    let in_flight = blocked_shipment(&b, &p);
    kill(b.pid(), libc::SIGTERM);
    // New connections are refused once the signal is handled...
    wait_for("the listener to close", Duration::from_secs(10), || {
        TcpStream::connect_timeout(&b.addr, Duration::from_millis(200))
            .is_err()
            .then_some(())
    });
    // ...while the request in flight completes when its lock is released.
    lock.release();
    let r = in_flight
        .join()
        .expect("request thread")
        .expect("an answer");
    assert_eq!(r.status, 201, "{}", r.text());
    let status = b.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(
        b.output().iter().any(|l| l.contains("SIGTERM")),
        "{:?}",
        b.output()
    );
    assert_eq!(
        pg::shared().sql(
            &b.db,
            &format!("SELECT quantity FROM stocks WHERE product_id = '{p}'")
        ),
        [Some("0".to_owned())]
    );
}

#[test]
fn a_request_outliving_the_grace_period_does_not_hold_the_exit() {
    let mut b = Backend::start_with(&["--shutdown-grace", "300ms"], &[]);
    let p = b.product("SHUT-2");
    b.move_stock(&p, "receipt", 1, json!({}));
    let lock = Locker::hold(
        pg::shared(),
        &b.db,
        &format!("SELECT 1 FROM stocks WHERE product_id = '{p}' FOR UPDATE"),
    );
    let in_flight = blocked_shipment(&b, &p);
    let t = Instant::now();
    kill(b.pid(), libc::SIGTERM);
    let status = b.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(lock);
    // The abandoned request got no answer; its transaction was rolled back.
    assert!(
        in_flight
            .join()
            .expect("thread")
            .map(|r| r.status)
            .unwrap_or(0)
            != 201
    );
    wait_for(
        "the abandoned transaction to end",
        Duration::from_secs(10),
        || {
            let q = pg::shared().sql(
                &b.db,
                &format!("SELECT quantity FROM stocks WHERE product_id = '{p}'"),
            );
            (q == [Some("1".to_owned())]).then_some(())
        },
    );
}

/// Reads until the server closes the connection (or answers), with a deadline.
fn cut_off_within(stream: &mut TcpStream, limit: Duration) -> bool {
    use std::io::Read;
    let _ = stream.set_read_timeout(Some(limit));
    let mut buf = [0u8; 256];
    stream.read(&mut buf).is_ok()
}

#[test]
fn slow_and_idle_clients_are_cut_off() {
    use std::io::Write;
    let b = Backend::start_with(
        &["--header-timeout", "300ms", "--max-connections", "4"],
        &[],
    );
    let t = Instant::now();
    // A head that never ends (slowloris), and a connection that never says anything.
    let mut slow = TcpStream::connect(b.addr).expect("connect");
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("write");
    let mut idle = TcpStream::connect(b.addr).expect("connect");
    assert!(
        cut_off_within(&mut slow, Duration::from_secs(10)),
        "slowloris kept"
    );
    assert!(
        cut_off_within(&mut idle, Duration::from_secs(10)),
        "idle kept"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    // More connections than the cap: the extra ones wait for a free slot, then are served.
    let idlers: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(b.addr).expect("connect"))
        .collect();
    let r = crate::http::request(b.addr, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    drop(idlers);
}
