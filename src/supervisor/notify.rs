//! sd_notify: tells systemd (or `podman run --sdnotify=container`) how we are doing.
//!
//! A no-op unless `NOTIFY_SOCKET` is set. Paths starting with `@` are abstract socket names.
//! Messages: `READY=1` (with `MAINPID`) once, the first time everything is healthy;
//! `STATUS=<one line>` on every aggregate change; `STOPPING=1` when shutdown begins;
//! `WATCHDOG=1` every `WATCHDOG_USEC / 2` while the loop runs, when systemd asks for it.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
    has_sent_ready: bool,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`; `None` when unset or unusable (a warning is logged).
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let path = path.to_str().map(str::to_owned);
        let made = path
            .as_deref()
            .ok_or_else(|| "not UTF-8".to_owned())
            .and_then(|p| {
                let addr = match p.strip_prefix('@') {
                    Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
                    None => SocketAddr::from_pathname(p),
                }
                .map_err(|e| e.to_string())?;
                let socket = UnixDatagram::unbound().map_err(|e| e.to_string())?;
                Ok(Notifier {
                    socket,
                    addr,
                    has_sent_ready: false,
                })
            });
        match made {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET={path:?} is unusable ({e}); not notifying");
                None
            }
        }
    }

    fn send(&self, message: &str) {
        if let Err(e) = self.socket.send_to_addr(message.as_bytes(), &self.addr) {
            tracing::debug!("sd_notify {message:?} failed: {e}");
        }
    }

    /// `READY=1` the first time only.
    pub fn ready(&mut self, status: &str) {
        if !self.has_sent_ready {
            self.has_sent_ready = true;
            self.send(&format!(
                "READY=1\nMAINPID={}\nSTATUS={}",
                std::process::id(),
                one_line(status)
            ));
        }
    }

    /// `STATUS=...`.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Half of `WATCHDOG_USEC`, if the watchdog is enabled for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        if pid != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
