//! The one way a `wms` role builds its tokio runtime: a current-thread runtime for the
//! small roles (the supervisor, its health listener, probes, `pg-init`, the backup
//! commands) and a multi-thread one for the servers that use every core.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// A single-threaded runtime with I/O and timers.
pub fn current_thread() -> io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// A runtime with `workers` threads (at least one) and I/O and timers.
pub fn multi_thread(workers: usize) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
}
