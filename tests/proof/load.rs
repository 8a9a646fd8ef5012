//! A bounded, steady load of ordinary clients for the restart tests (issue 16): threads
//! sending GETs of the product list and POSTed receipts (each with its own
//! `Idempotency-Key`) through the web port, half of them on kept-alive connections, half on
//! a fresh connection per request. Unlike the proof workload, nothing retries through an
//! outage: a request fails unless it gets a 2xx (after the one retry every HTTP client makes
//! on a reused connection the server closed without answering), and a refused connection
//! is counted apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use super::http::{KeepAlive, Request, Sent};

/// What the clients saw.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub ok: u64,
    pub failed: u64,
    pub refused: u64,
    /// Receipts acknowledged with 201.
    pub receipts: u64,
    pub stale_retries: u64,
    /// Latencies of the successful requests.
    pub latencies: Vec<Duration>,
    /// The first failures, for the message.
    pub failures: Vec<String>,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.refused += other.refused;
        self.receipts += other.receipts;
        self.stale_retries += other.stale_retries;
        self.latencies.extend(other.latencies);
        for f in other.failures {
            if self.failures.len() < 20 {
                self.failures.push(f);
            }
        }
    }
}

/// Running client threads; [`Load::finish`] stops them and adds up what they saw.
pub struct Load {
    stop: Arc<AtomicBool>,
    /// Successful requests so far, across threads (for progress waits).
    ok: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Counts>>,
}

impl Load {
    /// Starts `clients` threads against `addr` (the web port) with `token`, receiving into
    /// `product`. Each thread pauses `pause` between requests (a bounded rate).
    pub fn start(addr: &str, token: &str, product: &str, clients: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let threads = (0..clients)
            .map(|c| {
                let (addr, token, product, stop, ok) = (
                    addr.to_owned(),
                    token.to_owned(),
                    product.to_owned(),
                    Arc::clone(&stop),
                    Arc::clone(&ok),
                );
                std::thread::spawn(move || client(c, &addr, &token, &product, &stop, &ok, pause))
            })
            .collect();
        Load { stop, ok, threads }
    }

    /// Successful requests so far.
    pub fn ok_so_far(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    /// Waits until `n` more requests have succeeded (or `limit` passes): a restart test
    /// moves on only once traffic flows again.
    pub fn wait_progress(&self, n: u64, limit: Duration) -> bool {
        let target = self.ok_so_far() + n;
        let deadline = Instant::now() + limit;
        while self.ok_so_far() < target {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    pub fn finish(self) -> Counts {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Counts::default();
        for t in self.threads {
            all.add(t.join().expect("a load thread"));
        }
        all
    }
}

fn client(
    c: usize,
    addr: &str,
    token: &str,
    product: &str,
    stop: &AtomicBool,
    ok: &AtomicU64,
    pause: Duration,
) -> Counts {
    let mut counts = Counts::default();
    let mut conn = KeepAlive::new(addr);
    let is_kept = c % 2 == 0;
    let mut n: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let key = format!("load-{c}-{n}-{}", std::process::id());
        let body = json!({"operation_type": "receipt", "product_id": product, "quantity": 1});
        let is_post = n % 3 == 0;
        let req = if is_post {
            Request::new("POST", "/api/stock/movements")
                .bearer(token)
                .header("Idempotency-Key", key)
                .json(&body)
        } else {
            Request::new("GET", "/api/products/?page_size=5").bearer(token)
        }
        .timeout(Duration::from_secs(20));
        let started = Instant::now();
        let sent = if is_kept {
            conn.send(&req)
        } else {
            conn.send_fresh(&req)
        };
        match sent {
            Sent::Answered(r) if (200..300).contains(&r.status) => {
                counts.ok += 1;
                ok.fetch_add(1, Ordering::SeqCst);
                counts.latencies.push(started.elapsed());
                if is_post {
                    counts.receipts += 1;
                }
            }
            Sent::Answered(r) => {
                counts.failed += 1;
                if counts.failures.len() < 20 {
                    counts.failures.push(format!(
                        "{} {}: {} {}",
                        req.method,
                        req.path,
                        r.status,
                        r.text()
                    ));
                }
            }
            Sent::Refused(e) => {
                counts.refused += 1;
                counts.failed += 1;
                if counts.failures.len() < 20 {
                    counts
                        .failures
                        .push(format!("{} {}: refused: {e}", req.method, req.path));
                }
            }
            Sent::Failed(e) => {
                counts.failed += 1;
                if counts.failures.len() < 20 {
                    counts
                        .failures
                        .push(format!("{} {}: {e}", req.method, req.path));
                }
            }
        }
        std::thread::sleep(pause);
    }
    counts.stale_retries = conn.stale_retries;
    counts
}
