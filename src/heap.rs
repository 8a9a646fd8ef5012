//! Giving freed heap memory back to the system. glibc's allocator keeps freed pages for
//! reuse; after a burst that will not come back soon (a workbook read, the supervisor's
//! start-up: config parsing, first spawns), [`release_free`] returns them, so a process's
//! private memory is what it holds, not what it once held.

/// Returns every whole free page of the heap to the system (`malloc_trim(0)`; glibc only,
/// a no-op elsewhere). Costs a walk over the free lists: call it after bursts, not per
/// request.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system; no live allocation
    // moves, and it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
