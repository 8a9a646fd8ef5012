//! The supervisor's own sd_notify socket: services with `ready = { notify = true }` say
//! `READY=1` here the moment they are ready (the protocol systemd defines; PostgreSQL built
//! with systemd support speaks it, and so do `wms web` and `wms backend`).
//!
//! A unix datagram socket beside the control socket (`notify.sock`), writable by every
//! account (services run as several), with `SO_PASSCRED`: the kernel attaches each
//! sender's pid, which a process without capabilities cannot forge. The loop accepts a
//! message only from a service's main process. Parsing is pure ([`parse`]).

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use tokio::net::UnixDatagram;
use tokio::sync::mpsc;

use super::engine::{Event, Pid};

/// Largest message read (systemd's limit is the same order).
const MESSAGE_MAX: usize = 4096;

/// What one message says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notification {
    /// `READY=1`.
    pub is_ready: bool,
    /// `STATUS=...`, if any.
    pub status: Option<String>,
}

/// Parses a message: `KEY=VALUE` lines; unknown keys are ignored.
pub fn parse(message: &[u8]) -> Notification {
    let text = String::from_utf8_lossy(message);
    let mut n = Notification::default();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("READY", "1")) => n.is_ready = true,
            Some(("STATUS", s)) => n.status = Some(s.to_owned()),
            _ => {}
        }
    }
    n
}

/// The socket's path for a control socket path: `notify.sock` beside it.
pub fn path_beside(control_socket: &Path) -> PathBuf {
    control_socket.with_file_name("notify.sock")
}

/// Binds the socket (replacing a stale file), world-writable, with `SO_PASSCRED`.
pub fn bind(path: &Path) -> io::Result<UnixDatagram> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let socket = std::os::unix::net::UnixDatagram::bind(path)?;
    setsockopt(&socket, sockopt::PassCred, &true).map_err(io::Error::from)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    socket.set_nonblocking(true)?;
    UnixDatagram::from_std(socket)
}

/// Reads messages until the loop's receiver is gone, sending each `READY=1` with its
/// sender's pid as [`Event::Notified`].
pub async fn serve(socket: UnixDatagram, events: mpsc::UnboundedSender<Event>) {
    let mut buf = vec![0u8; MESSAGE_MAX];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        let received = socket.try_io(tokio::io::Interest::READABLE, || {
            let mut iov = [io::IoSliceMut::new(&mut buf)];
            let mut cmsg = nix::cmsg_space!(libc::ucred);
            let msg = recvmsg::<()>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            )
            .map_err(io::Error::from)?;
            let pid = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|m| match m {
                    ControlMessageOwned::ScmCredentials(cred) => Some(cred.pid()),
                    _ => None,
                })
            });
            Ok((msg.bytes, pid))
        });
        let (len, pid) = match received {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::warn!("notify socket: {e}");
                continue;
            }
        };
        let Some(pid) = pid else {
            continue;
        };
        let n = parse(&buf[..len.min(buf.len())]);
        if n.is_ready && events.send(Event::Notified { pid: Pid(pid) }).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            parse(b"READY=1\nSTATUS=accepting connections"),
            Notification {
                is_ready: true,
                status: Some("accepting connections".into())
            }
        );
        assert!(!parse(b"READY=0").is_ready);
        assert!(!parse(b"STOPPING=1").is_ready);
        assert!(parse(b"MAINPID=7\nREADY=1\n").is_ready);
        assert_eq!(parse(b"\xff\xfe"), Notification::default());
    }
}
