//! The sd_notify protocol, client side: datagrams of `KEY=VALUE` lines to the unix socket
//! named by `NOTIFY_SOCKET` (`@name` for an abstract socket). Shared by the supervisor (which
//! tells systemd or `podman --sdnotify` about the whole stack) and by `wms web` and `wms
//! backend` (which tell the supervisor the moment they are ready: `READY=1`, the protocol
//! `ready = { notify = true }` expects). A no-op without `NOTIFY_SOCKET`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// A connection to the notification socket.
#[derive(Debug)]
pub struct Client {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Client {
    /// From `NOTIFY_SOCKET`: `Ok(None)` when unset, `Err` (why) when unusable.
    pub fn from_env() -> Result<Option<Client>, String> {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let path = path
            .to_str()
            .ok_or_else(|| "NOTIFY_SOCKET is not UTF-8".to_owned())?;
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(path),
        }
        .map_err(|e| format!("NOTIFY_SOCKET={path:?}: {e}"))?;
        let socket = UnixDatagram::unbound().map_err(|e| e.to_string())?;
        Ok(Some(Client { socket, addr }))
    }

    /// Sends one message (lines `KEY=VALUE`); failures are returned, never fatal.
    pub fn send(&self, message: &str) -> std::io::Result<()> {
        self.socket
            .send_to_addr(message.as_bytes(), &self.addr)
            .map(|_| ())
    }
}

/// `READY=1` to `NOTIFY_SOCKET`, if set: what a server calls once it accepts connections.
/// Problems are logged, never fatal (readiness then falls back to the service's timeout).
pub fn ready() {
    match Client::from_env() {
        Ok(Some(c)) => {
            if let Err(e) = c.send("READY=1") {
                tracing::warn!("sd_notify READY=1: {e}");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("sd_notify: {e}"),
    }
}
