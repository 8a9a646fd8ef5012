//! Listening sockets the supervisor holds for services (`listen = { NAME = "tcp:…" }`).
//!
//! Bound once at start (a port already taken fails the start, naming the service and the
//! key) and kept open for the life of the stack; each instance of the service receives them
//! as descriptors 3, 4, … with `LISTEN_FDS` / `LISTEN_FDNAMES` / `LISTEN_PID` (systemd's
//! socket-passing convention; `process.rs` does the passing). While an instance restarts,
//! new connections wait in the kernel's backlog instead of being refused, and during a
//! rolling restart old and new instances accept from the same socket.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, UnixAddr, bind, listen,
    setsockopt, socket, sockopt,
};

use super::plan::{ListenAddr, Plan, ServiceSpec};

/// Queue of connections waiting to be accepted (capped by the kernel's `somaxconn`): what
/// holds the clients of a service that is restarting.
const BACKLOG: i32 = 4096;

/// A socket that could not be bound, named as its key in the config.
#[derive(Debug, thiserror::Error)]
#[error("services.{service}.listen.{name}: cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The service.
    pub service: String,
    /// The socket's name.
    pub name: String,
    /// Its address.
    pub addr: String,
    /// The OS's reason.
    pub source: io::Error,
}

/// One held socket.
#[derive(Debug)]
pub struct Held {
    /// Its name (`LISTEN_FDNAMES`).
    pub name: String,
    /// The listening socket (close-on-exec; passed on explicitly).
    pub fd: OwnedFd,
    /// Where it listens.
    pub addr: ListenAddr,
}

/// The held socket listening on `addr`, whichever service it was bound for.
fn plan_addr_fd<'a>(held: &'a HeldSockets, addr: &ListenAddr) -> Option<&'a OwnedFd> {
    held.by_service
        .values()
        .flatten()
        .find(|h| h.addr == *addr)
        .map(|h| &h.fd)
}

/// The held sockets of every service, by service name.
#[derive(Debug, Default)]
pub struct HeldSockets {
    by_service: HashMap<String, Vec<Held>>,
}

impl HeldSockets {
    /// Binds every `listen` of the plan; the first failure is returned.
    pub fn bind_all(plan: &Plan) -> Result<HeldSockets, BindError> {
        let mut held = HeldSockets::default();
        for spec in &plan.services {
            held.bind_service(spec)?;
        }
        Ok(held)
    }

    /// Binds one service's sockets (replacing what it held).
    pub fn bind_service(&mut self, spec: &ServiceSpec) -> Result<(), BindError> {
        let sockets = sockets_of(spec, |_| None)?;
        self.by_service.insert(spec.name.to_string(), sockets);
        Ok(())
    }

    /// The sockets of `plan` (a reload): one already held for the same address is kept (a
    /// copy of its descriptor; binding it again would fail), anything else is bound. The
    /// first failure is returned and nothing changes.
    pub fn rebound(&self, plan: &Plan) -> Result<HeldSockets, BindError> {
        let mut next = HeldSockets::default();
        for spec in &plan.services {
            let sockets = sockets_of(spec, |addr| plan_addr_fd(self, addr))?;
            next.by_service.insert(spec.name.to_string(), sockets);
        }
        Ok(next)
    }

    /// What to pass to an instance of `service`: `(name, descriptor)` in order.
    pub fn for_service(&self, service: &str) -> Vec<(String, RawFd)> {
        self.by_service
            .get(service)
            .map(|v| {
                v.iter()
                    .map(|h| (h.name.clone(), h.fd.as_raw_fd()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A service's sockets: a copy of `existing`'s descriptor for an address, else a new bind.
fn sockets_of<'a>(
    spec: &ServiceSpec,
    existing: impl Fn(&ListenAddr) -> Option<&'a OwnedFd>,
) -> Result<Vec<Held>, BindError> {
    spec.listen
        .iter()
        .map(|l| {
            let fd = match existing(&l.addr) {
                Some(fd) => fd.try_clone(),
                None => bind_one(&l.addr, spec),
            }
            .map_err(|source| BindError {
                service: spec.name.to_string(),
                name: l.name.clone(),
                addr: l.addr.to_string(),
                source,
            })?;
            Ok(Held {
                name: l.name.clone(),
                fd,
                addr: l.addr.clone(),
            })
        })
        .collect()
}

fn bind_one(addr: &ListenAddr, spec: &ServiceSpec) -> io::Result<OwnedFd> {
    let family = match addr {
        ListenAddr::Tcp(a) if a.is_ipv4() => AddressFamily::Inet,
        ListenAddr::Tcp(_) => AddressFamily::Inet6,
        ListenAddr::Unix(_) => AddressFamily::Unix,
    };
    let fd =
        socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(io::Error::from)?;
    match addr {
        ListenAddr::Tcp(a) => {
            setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io::Error::from)?;
            bind(fd.as_raw_fd(), &SockaddrStorage::from(*a)).map_err(io::Error::from)?;
        }
        ListenAddr::Unix(path) => {
            // A stale socket file from an earlier run would block the bind.
            if std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
            {
                std::fs::remove_file(path)?;
            }
            let unix = UnixAddr::new(path.as_path()).map_err(io::Error::from)?;
            bind(fd.as_raw_fd(), &unix).map_err(io::Error::from)?;
        }
    }
    if let ListenAddr::Unix(path) = addr {
        // The service's account may use it; anyone may connect (the socket's directory is
        // where access is controlled).
        if let Some(u) = &spec.user {
            std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    }
    let backlog = Backlog::new(BACKLOG).unwrap_or(Backlog::MAXCONN);
    listen(&fd, backlog).map_err(io::Error::from)?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::plan::{ListenSpec, ServiceName};

    fn spec(listen: Vec<ListenSpec>) -> ServiceSpec {
        ServiceSpec {
            name: ServiceName::parse("web").unwrap(),
            command: vec!["web".into()],
            env: Vec::new(),
            inherit_env: Vec::new(),
            secret_env: Vec::new(),
            capabilities: Vec::new(),
            directories: Vec::new(),
            listen,
            user: None,
            workdir: None,
            depends_on: Vec::new(),
            ready: None,
            restart: crate::supervisor::plan::RestartPolicy::UnlessStopped,
            max_restarts: None,
            backoff_max: std::time::Duration::from_secs(1),
            stop_signal: crate::supervisor::plan::Signal::TERM,
            stop_timeout: std::time::Duration::from_secs(1),
            is_oneshot: false,
            schedule: None,
        }
    }

    #[test]
    fn binds_holds_and_names_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("api.sock");
        let mut held = HeldSockets::default();
        held.bind_service(&spec(vec![
            ListenSpec {
                name: "http".into(),
                addr: ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            },
            ListenSpec {
                name: "admin".into(),
                addr: ListenAddr::Unix(sock.clone()),
            },
        ]))
        .unwrap();
        let fds = held.for_service("web");
        assert_eq!(
            fds.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["http", "admin"]
        );
        // A connection is accepted by the kernel while nobody calls accept().
        std::os::unix::net::UnixStream::connect(&sock).unwrap();
        // The same port again: refused, naming the key.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let e = held
            .bind_service(&spec(vec![ListenSpec {
                name: "http".into(),
                addr: ListenAddr::Tcp(addr),
            }]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "services.web.listen.http: cannot listen on tcp:{addr}"
            )),
            "{e}"
        );
    }
}
