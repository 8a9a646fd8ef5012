//! Giving back memory a process no longer uses, so that its private memory is what it
//! holds now, not what it once held.
//!
//! * [`release_free_heap`]: glibc's allocator keeps freed pages for reuse; after a burst
//!   that will not come back soon (a workbook read, the supervisor's start-up) they go back
//!   to the system (`malloc_trim`).
//! * [`release_code`]: the pages of our own binary's code and read-only data that a process
//!   touched while starting (config parsing, the first spawns) stay mapped into it, and the
//!   ones no other process of the stack touched count as its private memory although they
//!   are page cache. Unmapping them (`MADV_DONTNEED` on the binary's read-only, never
//!   written segments) leaves them in the page cache; what the process runs afterwards is
//!   mapped again on first use (a minor fault, no disk read while the file is cached).
//!   Relocated data (`PT_GNU_RELRO`) and writable segments are never touched: their pages
//!   hold our own writes.
//! * [`release_stack`]: a deep call chain at start-up (config parsing, the first spawns)
//!   leaves the main thread's stack pages resident long after it returned. The pages below
//!   the current frame hold nothing live; dropping them gives zero pages on the next use.
//! * [`restart_without_thread_cache`]: glibc keeps up to seven freed blocks of each small
//!   size per thread for reuse, outside the heap's free lists, where trimming cannot reach
//!   them (about 110 KiB in the supervisor, measured). The cache can only be turned off
//!   when a process starts (`GLIBC_TUNABLES`), so the supervisor re-executes itself once
//!   with it off.
//! * [`frugal_allocator`]: glibc gives every thread that allocates an arena of its own,
//!   and keeps freed small blocks in lists by size; a process with one busy thread and one
//!   mostly idle one (the supervisor and its health listener) saves the second arena's
//!   pages by sharing one, and fragments less without the lists.
//!
//! glibc on Linux only; elsewhere these do nothing.

/// Returns every whole free page of the heap to the system (`malloc_trim(0)`). Costs a walk
/// over the free lists: call it after bursts, not per request.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system; no live allocation
    // moves, and it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// glibc's setting that turns its per-thread cache of freed blocks off.
const NO_THREAD_CACHE: &str = "glibc.malloc.tcache_count=0";

/// Re-executes this program, same arguments and environment, with glibc's per-thread cache
/// of freed blocks turned off (`GLIBC_TUNABLES`), unless it is off already. Call first
/// thing, before any thread or descriptor exists; the process id stays the same (PID 1 stays
/// PID 1). Returns when the cache is already off, or when the re-execution failed (logged;
/// the process goes on with the cache). It re-executes at most once (`WMS_REEXECUTED` marks
/// the second start). Services inherit neither variable: neither is in the supervisor's base
/// environment.
pub fn restart_without_thread_cache() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const VAR: &str = "GLIBC_TUNABLES";
        // Set on the re-execution: once only, even where the C library drops the tunables
        // (a privileged start), which would otherwise restart us for ever.
        const ONCE: &str = "WMS_REEXECUTED";
        if std::env::var_os(ONCE).is_some() {
            return;
        }
        let current = match std::env::var(VAR) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => String::new(),
            // Not ours to rewrite.
            Err(std::env::VarError::NotUnicode(_)) => return,
        };
        if current
            .split(':')
            .any(|t| t.starts_with("glibc.malloc.tcache_count="))
        {
            return;
        }
        let tunables = if current.is_empty() {
            NO_THREAD_CACHE.to_owned()
        } else {
            format!("{current}:{NO_THREAD_CACHE}")
        };
        let mut args = std::env::args_os();
        let Some(arg0) = args.next() else { return };
        let program = match std::env::current_exe() {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!("keeping the allocator's thread cache: {e}");
                return;
            }
        };
        let e = std::process::Command::new(program)
            .arg0(arg0)
            .args(args)
            .env(VAR, tunables)
            .env(ONCE, "1")
            .exec();
        tracing::debug!("keeping the allocator's thread cache: {e}");
    }
}

/// Tunes the allocator for a process that allocates little and rarely (the supervisor):
/// every thread shares the main arena, and freed small blocks are merged at once instead
/// of being kept in per-size lists (no fastbins), so [`release_free_heap`] finds whole free
/// pages. Call before starting threads.
pub fn frugal_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes tuning parameters of the allocator; these values are valid
    // and existing allocations are unaffected.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

/// Unmaps the pages of this binary's code and read-only data from this process (they stay
/// in the page cache; see the module doc). Returns the bytes of address space advised.
pub fn release_code() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut ranges = Vec::new();
        // SAFETY: the callback only reads the program headers glibc passes it and pushes to
        // the Vec behind `data`, which outlives the call.
        unsafe {
            libc::dl_iterate_phdr(
                Some(main_program_segments),
                (&mut ranges as *mut Vec<Segment>).cast(),
            );
        }
        let mut advised = 0;
        for segment in clean_ranges(&ranges) {
            // SAFETY: the range is a read-only, never written, file-backed part of our own
            // binary's mapping: dropping its pages loses nothing (they are read again from
            // the file on next use).
            if unsafe {
                libc::madvise(
                    segment.0 as *mut libc::c_void,
                    segment.1,
                    libc::MADV_DONTNEED,
                )
            } == 0
            {
                advised += segment.1;
            }
        }
        advised
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}

/// How far below the caller's frame the stack is kept: the calls made from here down to
/// the system call (and the 128-byte red zone) live there.
const STACK_MARGIN: usize = 16 * 1024;

/// Drops the pages of the main thread's stack that lie below the caller's frame (less
/// [`STACK_MARGIN`]). Call it on the main thread from a shallow frame (the event loop) after
/// a burst of deep calls; on another thread it does nothing. Returns the bytes advised.
pub fn release_stack() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: getpid and gettid only read the calling process's and thread's ids.
        let main_thread = unsafe { libc::getpid() == libc::gettid() };
        let Some(low) = main_stack_start().filter(|_| main_thread) else {
            return 0;
        };
        let here = 0u8;
        let frame = std::hint::black_box(std::ptr::addr_of!(here)) as usize;
        let top = frame.saturating_sub(STACK_MARGIN) / PAGE * PAGE;
        if top <= low {
            return 0;
        }
        // SAFETY: [low, top) is the part of this thread's own stack below the caller's
        // frame by more than the margin: no live frame (nor the calls this function makes,
        // nor a signal handler, which runs only after the system call returns) is there.
        // Dropped pages read as zeros when the stack grows into them again.
        if unsafe { libc::madvise(low as *mut libc::c_void, top - low, libc::MADV_DONTNEED) } == 0 {
            return top - low;
        }
    }
    0
}

/// Where the main thread's stack mapping starts (its lowest address), from
/// `/proc/self/maps`.
fn main_stack_start() -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    let start = line.split('-').next()?;
    usize::from_str_radix(start, 16).ok()
}

/// One program header of the main program, at its address in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    start: usize,
    len: usize,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A loaded segment never written to: code or read-only data.
    ReadOnly,
    /// A loaded segment that is writable (data, bss).
    Writable,
    /// The range the loader relocated before making it read-only.
    Relro,
}

const PAGE: usize = 4096;

/// The page-aligned ranges `(start, len)` safe to drop: every read-only segment, less every
/// page that shares anything with a relocated or writable one.
fn clean_ranges(segments: &[Segment]) -> Vec<(usize, usize)> {
    let dirty: Vec<(usize, usize)> = segments
        .iter()
        .filter(|s| s.kind != Kind::ReadOnly)
        .map(|s| {
            (
                s.start / PAGE * PAGE,
                (s.start + s.len).div_ceil(PAGE) * PAGE,
            )
        })
        .collect();
    let mut out = Vec::new();
    for s in segments.iter().filter(|s| s.kind == Kind::ReadOnly) {
        // Whole pages inside the segment only.
        let mut pieces = vec![(
            s.start.div_ceil(PAGE) * PAGE,
            (s.start + s.len) / PAGE * PAGE,
        )];
        for &(d0, d1) in &dirty {
            pieces = pieces
                .into_iter()
                .flat_map(|(a, b)| {
                    if d1 <= a || b <= d0 {
                        vec![(a, b)]
                    } else {
                        [(a, d0.max(a)), (d1.min(b), b)]
                            .into_iter()
                            .filter(|(x, y)| x < y)
                            .collect()
                    }
                })
                .collect();
        }
        out.extend(
            pieces
                .into_iter()
                .filter(|(a, b)| a < b)
                .map(|(a, b)| (a, b - a)),
        );
    }
    out
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
/// `dl_iterate_phdr` callback: records the main program's segments (the first object
/// reported), then stops the iteration.
unsafe extern "C" fn main_program_segments(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: glibc passes a valid info for the duration of the call, and `data` is the
    // Vec `release_code` passed.
    let (info, out) = unsafe { (&*info, &mut *data.cast::<Vec<Segment>>()) };
    if info.dlpi_phdr.is_null() {
        return 1;
    }
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
    let headers =
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    for h in headers {
        let kind = match h.p_type {
            libc::PT_LOAD if h.p_flags & libc::PF_W != 0 => Kind::Writable,
            libc::PT_LOAD => Kind::ReadOnly,
            libc::PT_GNU_RELRO => Kind::Relro,
            _ => continue,
        };
        let (Ok(vaddr), Ok(len)) = (usize::try_from(h.p_vaddr), usize::try_from(h.p_memsz)) else {
            continue;
        };
        out.push(Segment {
            start: (info.dlpi_addr as usize).wrapping_add(vaddr),
            len,
            kind,
        });
    }
    // The main program comes first: stop here.
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: usize, len: usize, kind: Kind) -> Segment {
        Segment { start, len, kind }
    }

    #[test]
    fn only_whole_read_only_pages_away_from_written_ones_are_dropped() {
        let segments = [
            // Headers and read-only data, then code: page-aligned.
            seg(0x0, 0x3000, Kind::ReadOnly),
            seg(0x3000, 0x5000, Kind::ReadOnly),
            // Read-only data ending mid-page, then the relocated range starting mid-page.
            seg(0x8000, 0x2800, Kind::ReadOnly),
            seg(0xa800, 0x1000, Kind::Relro),
            seg(0xa800, 0x2000, Kind::Writable),
        ];
        assert_eq!(
            clean_ranges(&segments),
            [(0x0, 0x3000), (0x3000, 0x5000), (0x8000, 0x2000)]
        );
        // A read-only segment entirely inside the relocated range: nothing.
        let inside = [
            seg(0x1000, 0x800, Kind::ReadOnly),
            seg(0x0, 0x4000, Kind::Relro),
        ];
        assert_eq!(clean_ranges(&inside), []);
    }

    /// Only the main thread's own stack is ever dropped: test functions run on threads of
    /// the harness, whose stacks are left alone. (The main thread's case runs in every
    /// supervisor test: it drops its stack once healthy and goes on.)
    #[test]
    fn another_threads_stack_is_left_alone() {
        assert_eq!(release_stack(), 0);
        assert!(main_stack_start().is_some());
    }

    /// Dropping our own code pages while running is harmless: the code runs on, and the
    /// process's resident code shrinks.
    #[test]
    fn code_pages_are_dropped_and_come_back_on_use() {
        let advised = release_code();
        assert!(advised > 0, "no segment of the test binary was advised");
        // Still running: format, allocate, call into code dropped a moment ago.
        let text = format!("{:?}", clean_ranges(&[seg(0, PAGE, Kind::ReadOnly)]));
        assert_eq!(text, "[(0, 4096)]");
    }
}
