//! Listening sockets: bound by the server itself, or inherited from the supervisor.
//!
//! The supervisor may own a service's listening sockets for the life of the stack and pass
//! them to each instance the way systemd does: descriptors from 3 on, `LISTEN_FDS` their
//! count, `LISTEN_PID` the pid they are meant for (so a child of ours that inherits the
//! environment does not take them), `LISTEN_FDNAMES` their names separated by `:`. A server
//! asks for its socket by name ([`Listener::inherit_or_bind`]): the inherited one when
//! there is one, else it binds its own address (run alone, outside the supervisor).
//!
//! Parsing the environment is pure ([`parse_listen_env`]); taking the descriptors is the one
//! unsafe step, done once per process.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use super::zerocopy;

/// The first descriptor of the convention.
pub const LISTEN_FDS_START: RawFd = 3;

/// Why no listener could be had.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS's reason.
        source: io::Error,
    },
    /// The inherited descriptor is not a usable listening socket.
    #[error("inherited socket {name:?} (fd {fd}): {reason}")]
    Inherited {
        /// Its name.
        name: String,
        /// Its descriptor.
        fd: RawFd,
        /// What is wrong.
        reason: String,
    },
    /// `LISTEN_FDS` and friends are malformed.
    #[error("{0}")]
    Env(String),
}

/// One descriptor the environment announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announced {
    /// Its name (`LISTEN_FDNAMES`), or `unknown` as systemd says when names are missing.
    pub name: String,
    /// The descriptor.
    pub fd: RawFd,
}

/// Reads the convention's variables (pure). `Ok(vec![])` when they are absent or meant for
/// another process.
pub fn parse_listen_env(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    listen_fdnames: Option<&str>,
    my_pid: u32,
) -> Result<Vec<Announced>, ListenError> {
    let (Some(pid), Some(count)) = (listen_pid, listen_fds) else {
        return Ok(Vec::new());
    };
    let pid: u32 = pid
        .trim()
        .parse()
        .map_err(|_| ListenError::Env(format!("LISTEN_PID: not a pid: {pid:?}")))?;
    if pid != my_pid {
        return Ok(Vec::new());
    }
    let count: i32 = count
        .trim()
        .parse()
        .ok()
        .filter(|n| (0..=1024).contains(n))
        .ok_or_else(|| ListenError::Env(format!("LISTEN_FDS: not a count: {count:?}")))?;
    let names: Vec<&str> = listen_fdnames
        .map(|n| n.split(':').collect())
        .unwrap_or_default();
    if listen_fdnames.is_some() && names.len() != count as usize {
        return Err(ListenError::Env(format!(
            "LISTEN_FDNAMES names {} sockets, LISTEN_FDS says {count}",
            names.len()
        )));
    }
    Ok((0..count)
        .map(|i| Announced {
            name: names.get(i as usize).unwrap_or(&"unknown").to_string(),
            fd: LISTEN_FDS_START + i,
        })
        .collect())
}

/// Descriptors not yet taken by a server of this process. Each inherited descriptor is
/// owned exactly once: taking it removes it from here.
static INHERITED: Mutex<Option<Vec<Announced>>> = Mutex::new(None);

/// Takes the inherited descriptor called `name`, if the environment announces one.
fn take_inherited(name: &str) -> Result<Option<(Announced, OwnedFd)>, ListenError> {
    // A std Mutex: held for a few instructions, never across an await.
    let mut guard = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        let var = |k: &str| std::env::var(k).ok();
        *guard = Some(parse_listen_env(
            var("LISTEN_PID").as_deref(),
            var("LISTEN_FDS").as_deref(),
            var("LISTEN_FDNAMES").as_deref(),
            std::process::id(),
        )?);
    }
    let list = guard.get_or_insert_with(Vec::new);
    let Some(i) = list.iter().position(|a| a.name == name) else {
        return Ok(None);
    };
    let announced = list.remove(i);
    // The descriptor must be open before it is owned.
    // SAFETY: F_GETFD only reads the descriptor's flags; any number is safe to ask about.
    if unsafe { libc::fcntl(announced.fd, libc::F_GETFD) } < 0 {
        return Err(ListenError::Inherited {
            name: announced.name,
            fd: announced.fd,
            reason: "not an open descriptor".into(),
        });
    }
    // SAFETY: the convention hands this descriptor to this process (LISTEN_PID matched), it
    // is open (checked above), and it is taken at most once (removed from the list above),
    // so nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(announced.fd) };
    // Not passed on to children of ours.
    let _ = nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    Ok(Some((announced, fd)))
}

/// Where a connection came from.
pub type Peer = Option<SocketAddr>;

/// A listening socket, TCP or unix.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix stream socket.
    Unix(UnixListener),
}

impl Listener {
    /// Binds a TCP address.
    pub async fn bind(addr: SocketAddr) -> Result<Listener, ListenError> {
        TcpListener::bind(addr)
            .await
            .map(Listener::Tcp)
            .map_err(|source| ListenError::Bind {
                addr: addr.to_string(),
                source,
            })
    }

    /// The inherited socket called `name` when the supervisor passed one, else `addr`
    /// bound here. Must run inside a tokio runtime.
    pub async fn inherit_or_bind(name: &str, addr: SocketAddr) -> Result<Listener, ListenError> {
        match take_inherited(name)? {
            Some((announced, fd)) => Listener::from_inherited(announced, fd),
            None => Listener::bind(addr).await,
        }
    }

    fn from_inherited(announced: Announced, fd: OwnedFd) -> Result<Listener, ListenError> {
        let fail = |reason: String| ListenError::Inherited {
            name: announced.name.clone(),
            fd: announced.fd,
            reason,
        };
        let addr = nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
        )
        .map_err(|e| fail(format!("not a socket: {e}")))?;
        let is_unix = addr.as_unix_addr().is_some();
        if is_unix {
            let l = std::os::unix::net::UnixListener::from(fd);
            l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
            UnixListener::from_std(l)
                .map(Listener::Unix)
                .map_err(|e| fail(e.to_string()))
        } else {
            let l = std::net::TcpListener::from(fd);
            l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
            TcpListener::from_std(l)
                .map(Listener::Tcp)
                .map_err(|e| fail(e.to_string()))
        }
    }

    /// What it listens on, for the log.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| format!("tcp ({e})"), |a| format!("http://{a}")),
            Listener::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(PathBuf::from))
                .map_or_else(|| "a unix socket".to_owned(), |p| p.display().to_string()),
        }
    }

    /// The TCP address, if it is a TCP listener.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(_) => None,
        }
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Responses go out at once; a failure here changes nothing that matters.
                let _ = s.set_nodelay(true);
                Ok((Stream::Tcp(s), Some(peer)))
            }
            Listener::Unix(l) => l.accept().await.map(|(s, _)| (Stream::Unix(s), None)),
        }
    }
}

/// A duplicate of a listening socket, not yet registered with a runtime: how a server that
/// runs a runtime per thread ([`super::cores`]) gives each thread its own handle on the one
/// socket. Both descriptors share the socket (and its non-blocking mode); the kernel hands
/// each new connection to one of the threads waiting in `accept`.
#[derive(Debug)]
pub enum Duplicate {
    /// TCP.
    Tcp(std::net::TcpListener),
    /// A unix stream socket.
    Unix(std::os::unix::net::UnixListener),
}

impl Listener {
    /// A second descriptor of the same socket, for another thread's runtime.
    pub fn duplicate(&self) -> io::Result<Duplicate> {
        Ok(match self {
            Listener::Tcp(l) => Duplicate::Tcp(l.as_fd().try_clone_to_owned()?.into()),
            Listener::Unix(l) => Duplicate::Unix(l.as_fd().try_clone_to_owned()?.into()),
        })
    }
}

impl Duplicate {
    /// Registers it with the current runtime. Must run inside a tokio runtime.
    pub fn register(self) -> io::Result<Listener> {
        match self {
            Duplicate::Tcp(l) => {
                l.set_nonblocking(true)?;
                TcpListener::from_std(l).map(Listener::Tcp)
            }
            Duplicate::Unix(l) => {
                l.set_nonblocking(true)?;
                UnixListener::from_std(l).map(Listener::Unix)
            }
        }
    }
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

/// An accepted connection.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix.
    Unix(UnixStream),
}

impl Stream {
    /// The socket's descriptor, for queries on the open connection.
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Writes `bufs[..k]` and then `bufs[k]` from its sealed region (see [`zerocopy`]),
    /// waiting for the socket to be writable the way tokio's own writes do.
    fn poll_zero_copy(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        k: usize,
        source: zerocopy::Source,
    ) -> Poll<io::Result<usize>> {
        loop {
            let attempt = match self {
                Stream::Tcp(s) => {
                    std::task::ready!(s.poll_write_ready(cx))?;
                    s.try_io(Interest::WRITABLE, || {
                        zerocopy::send(s.as_raw_fd(), bufs, k, source)
                    })
                }
                Stream::Unix(s) => {
                    std::task::ready!(s.poll_write_ready(cx))?;
                    s.try_io(Interest::WRITABLE, || {
                        zerocopy::send(s.as_raw_fd(), bufs, k, source)
                    })
                }
            };
            match attempt {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let bufs = [io::IoSlice::new(buf)];
        if let Some((k, source)) = zerocopy::plan(&bufs) {
            return self.get_mut().poll_zero_copy(cx, &bufs, k, source);
        }
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // A large body from a sealed region (the site's big files) goes out by sendfile.
        if let Some((k, source)) = zerocopy::plan(bufs) {
            return self.get_mut().poll_zero_copy(cx, bufs, k, source);
        }
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Announced]) -> Vec<(&str, RawFd)> {
        v.iter().map(|a| (a.name.as_str(), a.fd)).collect()
    }

    #[test]
    fn listen_env_rows() {
        // Absent, or meant for another process: nothing.
        assert_eq!(parse_listen_env(None, None, None, 7).unwrap(), vec![]);
        assert_eq!(
            parse_listen_env(Some("8"), Some("1"), None, 7).unwrap(),
            vec![]
        );
        // Named, from fd 3 on.
        let got = parse_listen_env(Some("7"), Some("2"), Some("http:admin"), 7).unwrap();
        assert_eq!(names(&got), [("http", 3), ("admin", 4)]);
        // No names: systemd's "unknown".
        let got = parse_listen_env(Some("7"), Some("1"), None, 7).unwrap();
        assert_eq!(names(&got), [("unknown", 3)]);
        // Refused: garbage, a names/count mismatch, an absurd count.
        for (pid, fds, names) in [
            ("x", "1", None),
            ("7", "two", None),
            ("7", "2", Some("http")),
            ("7", "-1", None),
            ("7", "100000", None),
        ] {
            assert!(
                parse_listen_env(Some(pid), Some(fds), names, 7).is_err(),
                "{pid} {fds} {names:?}"
            );
        }
    }
}
