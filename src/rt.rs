//! The one way a `wms` role builds its tokio runtime: a current-thread runtime for the
//! small roles (probes, `pg-init`, the backup commands), for each thread of `wms web`, and
//! with a small event buffer for the supervisor and its health listener; a multi-thread one
//! for the backend.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// A single-threaded runtime with I/O and timers.
pub fn current_thread() -> io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// A single-threaded runtime for a process that watches a few dozen descriptors (the
/// supervisor and its health listener): it takes up to 64 I/O events per turn instead of
/// 1024, so its event buffer is 768 bytes, not 12 KiB. More ready events wait for the next
/// turn; none is lost.
pub fn light() -> io::Result<Runtime> {
    Builder::new_current_thread()
        .enable_all()
        .max_io_events_per_tick(64)
        .build()
}

/// A runtime with `workers` threads (at least one) and I/O and timers.
pub fn multi_thread(workers: usize) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
}
