//! Large in-memory bodies sent without copying them through user space (`sendfile`).
//!
//! [`backed_by_file`] maps the file a body was read from: its bytes are sent from the
//! file's page cache, exactly nginx's path, and no copy of them stays in our heap. [`seal`]
//! (for bodies made in memory, such as
//! compressed variants) puts immutable bytes (a big static file of the site) into a sealed, read-only
//! memfd and returns them as [`Bytes`] that point into a read-only mapping of it: the same
//! pages, no second copy in memory. The mapping's address range is registered here, so that
//! when a connection's writer ([`super::listen::Stream`]) is handed a slice that lies inside
//! such a range, it sends that part with `sendfile(2)` from the memfd at the matching
//! offset: the kernel passes page references to the socket instead of copying the bytes
//! from our memory (what nginx does with `sendfile on`). The response head before it goes
//! out with `MSG_MORE` in the same call, and the socket is corked (TCP_CORK) until the body's
//! last byte is handed over, so head and body leave in full segments.
//!
//! Owns: the registry of sealed regions and the two system calls. Must not: look at HTTP, or
//! send a slice it did not register (any other slice is written the ordinary way). The
//! memfd is sealed against writes and size changes before it is mapped, so the bytes a
//! `sendfile` reads are always those the `Bytes` show.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::RwLock;

use bytes::Bytes;

/// Slices shorter than this are written the ordinary way (copying is cheaper than the
/// look-up and the extra system call); also the size from which [`seal`] is worth it.
pub const MIN_SENDFILE: usize = 32 * 1024;

/// Bodies from this size on are sent with the socket corked (see [`send`]).
const MIN_CORK: usize = 256 * 1024;

/// One sealed mapping: where it is in our address space and the memfd behind it.
#[derive(Clone, Copy)]
struct Region {
    start: usize,
    len: usize,
    fd: RawFd,
}

/// Every live sealed mapping (a handful: the site's large files).
static REGIONS: RwLock<Vec<Region>> = RwLock::new(Vec::new());

/// The owner of a sealed mapping, kept alive by the [`Bytes`] that show it.
struct Sealed {
    ptr: *const u8,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping is read-only and immutable (sealed) for its whole life; the pointer
// is only read through `as_ref`.
unsafe impl Send for Sealed {}
// SAFETY: as above: shared reads of immutable memory.
unsafe impl Sync for Sealed {}

impl AsRef<[u8]> for Sealed {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` is a live PROT_READ mapping of exactly `len` bytes until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Sealed {
    fn drop(&mut self) {
        let start = self.ptr as usize;
        if let Ok(mut regions) = REGIONS.write() {
            regions.retain(|r| r.start != start);
        }
        // SAFETY: unmapping the mapping this value created; no `Bytes` shows it any more.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// Copies `data` (non-empty) into a sealed memfd and returns it as `Bytes` that later go out
/// by `sendfile` when written to a connection. Errors (no memfd in a sandbox, no memory)
/// leave the caller to keep its ordinary bytes.
pub fn seal(data: &[u8]) -> io::Result<Bytes> {
    if data.is_empty() {
        return Ok(Bytes::new());
    }
    const NAME: &CStr = c"wms-static";
    // SAFETY: a valid C string and flags; the result is checked.
    let raw =
        unsafe { libc::memfd_create(NAME.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let mut file = std::fs::File::from(fd);
    file.write_all(data)?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
    map_read_only(OwnedFd::from(file), data.len())
}

/// Maps the first `len` bytes of `fd` read-only and registers the range, so slices of the
/// returned `Bytes` go out by `sendfile` from `fd`. Mapping touches no page: until a slice
/// is written the ordinary way, the bytes are not resident in this process at all.
fn map_read_only(fd: OwnedFd, len: usize) -> io::Result<Bytes> {
    // SAFETY: mapping `len` bytes of a file at least that long, read-only.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let sealed = Sealed {
        ptr: ptr as *const u8,
        len,
        fd,
    };
    REGIONS
        .write()
        .map_err(|_| io::Error::other("zero-copy registry poisoned"))?
        .push(Region {
            start: sealed.ptr as usize,
            len: sealed.len,
            fd: sealed.fd.as_raw_fd(),
        });
    Ok(Bytes::from_owner(sealed))
}

/// The whole content of `file` (`len` bytes, as just read from it) as `Bytes` that map the
/// file read-only: sending them is `sendfile` from the file's page cache, as nginx does
/// (cheaper per byte than a memfd's small pages), and no copy stays in this process's
/// memory. The file must not change while served (the site's files are immutable: in the
/// image, they are read-only); a changed size is refused here.
pub fn backed_by_file(file: &File, len: usize) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    if file.metadata()?.len() != len as u64 {
        return Err(io::Error::other("the file changed while it was read"));
    }
    map_read_only(OwnedFd::from(file.try_clone()?), len)
}

/// Where a slice lies in a sealed region: the memfd and the offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    fd: RawFd,
    offset: usize,
}

/// The sealed source of `slice`, if it lies wholly inside a registered region and is long
/// enough to be worth a `sendfile`.
fn source_of(slice: &[u8]) -> Option<Source> {
    if slice.len() < MIN_SENDFILE {
        return None;
    }
    let start = slice.as_ptr() as usize;
    let regions = REGIONS.read().ok()?;
    regions
        .iter()
        .find(|r| start >= r.start && start + slice.len() <= r.start + r.len)
        .map(|r| Source {
            fd: r.fd,
            offset: start - r.start,
        })
}

/// The plan for a vectored write: the index of the first slice to send from a sealed
/// region, and where it is. `None`: write the ordinary way.
pub fn plan(bufs: &[io::IoSlice<'_>]) -> Option<(usize, Source)> {
    bufs.iter()
        .enumerate()
        .find_map(|(i, b)| source_of(b).map(|s| (i, s)))
}

/// Writes `bufs[..k]` (the head) with `MSG_MORE`, then `bufs[k]` by `sendfile` from
/// `source`, on the non-blocking socket `sock`. Returns the bytes written from the start of
/// `bufs` (the caller advances by that much); `WouldBlock` only when nothing was written.
pub fn send(sock: RawFd, bufs: &[io::IoSlice<'_>], k: usize, source: Source) -> io::Result<usize> {
    let mut written = 0;
    if k > 0 {
        // A large response starts: cork the socket (as nginx's tcp_nopush), so that the
        // body, sent in as many calls as the send buffer takes, leaves in full segments;
        // uncorked when its last byte is handed over. Not a TCP socket (unix): nothing to
        // cork. Smaller bodies usually go in one call: the two extra calls would cost more.
        if bufs[k].len() >= MIN_CORK {
            cork(sock, true);
        }
        let head = &bufs[..k];
        let head_len: usize = head.iter().map(|b| b.len()).sum();
        // SAFETY: a zeroed msghdr pointing at `head`'s iovecs (IoSlice is an iovec on
        // Unix), which outlive the call.
        let n = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = head.as_ptr() as *mut libc::iovec;
            msg.msg_iovlen = head.len() as _;
            libc::sendmsg(sock, &msg, libc::MSG_MORE | libc::MSG_NOSIGNAL)
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        written = n as usize;
        if written < head_len {
            return Ok(written);
        }
    }
    let mut offset = source.offset as libc::off_t;
    let count = bufs[k].len().min(0x7fff_f000);
    // SAFETY: sendfile from a sealed memfd we own (kept open by the Bytes being written)
    // to the caller's socket; `offset` is ours.
    let n = unsafe { libc::sendfile(sock, source.fd, &mut offset, count) };
    if n == 0 && written == 0 {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the file behind a static body shrank",
        ));
    }
    if n < 0 {
        let e = io::Error::last_os_error();
        // The head went out: report it; the error (or WouldBlock) comes back next call.
        return if written > 0 { Ok(written) } else { Err(e) };
    }
    if n as usize == bufs[k].len() && (k > 0 && bufs[k].len() >= MIN_CORK || k == 0) {
        cork(sock, false);
    }
    Ok(written + n as usize)
}

/// Sets or clears TCP_CORK; errors (a unix socket) are of no consequence.
fn cork(sock: RawFd, on: bool) {
    let v: libc::c_int = on.into();
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    unsafe {
        libc::setsockopt(
            sock,
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn sealed_bytes_are_the_data_and_registered_until_dropped() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let b = seal(&data).unwrap();
        assert_eq!(&b[..], &data[..]);
        let whole = io::IoSlice::new(&b);
        let tail = io::IoSlice::new(&b[40_000..]);
        let short = io::IoSlice::new(&b[..100]);
        let other = io::IoSlice::new(&data);
        assert_eq!(plan(&[short, other]), None, "short or foreign slices");
        let (k, s) = plan(&[short, tail]).unwrap();
        assert_eq!((k, s.offset), (1, 40_000));
        assert_eq!(plan(&[whole]).unwrap().1.offset, 0);
        let start = b.as_ptr() as usize;
        drop(b);
        assert!(!REGIONS.read().unwrap().iter().any(|r| r.start == start));
    }

    #[test]
    fn head_and_sealed_body_arrive_in_order() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
        let b = seal(&data).unwrap();
        let (mut tx, mut rx) = std::os::unix::net::UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            rx.read_to_end(&mut got).unwrap();
            got
        });
        let head = b"HEAD:".to_vec();
        let mut sent = 0;
        let total = head.len() + b.len();
        while sent < total {
            let (h, body) = if sent < head.len() {
                (&head[sent..], &b[..])
            } else {
                (&head[..0], &b[sent - head.len()..])
            };
            let bufs = [io::IoSlice::new(h), io::IoSlice::new(body)];
            let bufs: Vec<_> = bufs.into_iter().filter(|s| !s.is_empty()).collect();
            sent += match plan(&bufs) {
                Some((k, s)) => send(tx.as_raw_fd(), &bufs, k, s).unwrap(),
                None => tx.write(&bufs[0]).unwrap(),
            };
        }
        drop(tx);
        let got = reader.join().unwrap();
        assert_eq!(&got[..5], b"HEAD:");
        assert_eq!(&got[5..], &data[..]);
    }
}
