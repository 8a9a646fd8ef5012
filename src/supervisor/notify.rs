//! sd_notify: tells systemd (or `podman run --sdnotify=container`) how we are doing.
//!
//! A no-op unless `NOTIFY_SOCKET` is set. Paths starting with `@` are abstract socket names.
//! Messages: `READY=1` (with `MAINPID`) once, the first time everything is healthy;
//! `STATUS=<one line>` on every aggregate change; `STOPPING=1` when shutdown begins;
//! `WATCHDOG=1` every `WATCHDOG_USEC / 2` while the loop runs, when systemd asks for it.

use std::time::Duration;

use crate::sdnotify::Client;

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    client: Client,
    has_sent_ready: bool,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`; `None` when unset or unusable (a warning is logged).
    pub fn from_env() -> Option<Self> {
        match Client::from_env() {
            Ok(client) => client.map(|client| Notifier {
                client,
                has_sent_ready: false,
            }),
            Err(e) => {
                tracing::warn!("{e}; not notifying");
                None
            }
        }
    }

    fn send(&self, message: &str) {
        if let Err(e) = self.client.send(message) {
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
