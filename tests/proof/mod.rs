//! Helpers of the proof tests (issue 9: chaos soak, power loss, startup faults, abuse):
//!
//! * [`stack`]: the repository's `config.toml` stack under `wms supervise` as PID 1, in a
//!   temp dir, with the environment overrides of `tests/e2e.sh`; /health and pid helpers.
//! * [`http`]: a blocking HTTP/1.1 client (methods, headers, bodies, timeouts).
//! * [`api`]: the WMS API calls the audits need.
//! * [`workload`]: client threads sending stock operations with idempotency keys, and the
//!   audit of the journal and balances afterwards.
//! * [`stats`]: percentiles for the printed figures.
//! * [`sql`]: a blocking PostgreSQL client for locks, roles and owners.
//! * [`load`]: a steady load of ordinary clients that count every failure (restart tests).
//!
//! Nothing here sleeps to let things settle: waits poll a condition with a deadline.

#![allow(dead_code)]

pub mod api;
pub mod http;
pub mod load;
pub mod sql;
pub mod stack;
pub mod stats;
pub mod workload;

/// A number from the environment, or `default`.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes a report under the target dir (`target/tmp/proof/NAME`) and prints it.
pub fn report(name: &str, text: &str) {
    println!("{text}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("proof");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(name), text);
    }
}
