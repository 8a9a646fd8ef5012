//! The control socket (`[supervisor] control_socket`) and its client, `wms ctl`.
//!
//! Protocol: one JSON request line, one JSON response line, then the connection closes.
//!
//! ```text
//! → {"command":"stop","service":"backend"}
//! ← {"ok":true,"health":{...the /health document...}}
//! ← {"ok":false,"kind":"unknown_service","error":"unknown service \"bakend\" (services: ...)"}
//! → {"command":"reload"}
//! ← {"ok":true,"message":"added cache; restarting web","health":{...}}
//! → {"command":"signal","service":"web","signal":"SIGHUP"}
//! ```
//!
//! `status` is answered from the published snapshot; `start`/`stop`/`restart`, `reload`
//! and `signal` go to the runtime's loop as [`Request`]s and are answered once the engine
//! has taken them (a rolling restart: once it succeeded or failed). The
//! socket is created with mode 0600: only its owner (root in the container) may use it.
//! The client side is `ctl.rs`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::engine::Command;
use super::health::Status;
use super::plan::Signal;

/// Longest request line accepted.
const MAX_REQUEST: usize = 4096;
/// A client must send its request within this time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRequest {
    /// `status`, `start`, `stop` or `restart`.
    pub command: String,
    /// The service, for all but `status` and `reload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The signal, for `signal` (`SIGHUP`, `HUP`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed request.
    BadRequest,
    /// No such service.
    UnknownService,
    /// The supervisor is shutting down.
    ShuttingDown,
    /// A rolling restart failed (the old instance keeps serving).
    RestartFailed,
    /// `reload`: the config file is invalid (nothing changed).
    InvalidConfig,
}

/// What the loop is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `start` / `stop` / `restart` of the request's service.
    Service(Command),
    /// Re-read the config file and apply the difference.
    Reload,
    /// Send a signal to the request's service.
    Signal(Signal),
}

/// The loop's answer: a message on success (e.g. what a reload changed), `Err((kind,
/// message))` on refusal.
pub type Answer = Result<Option<String>, (ErrorKind, String)>;

/// A control command for the loop, with the channel to answer on.
#[derive(Debug)]
pub struct Request {
    /// The service's name (validated by the loop against the plan); empty for `reload`.
    pub service: String,
    /// What to do.
    pub action: Action,
    /// The loop's answer.
    pub reply: oneshot::Sender<Answer>,
}

/// Binds the socket: removes a stale one, refuses if another supervisor answers on it,
/// creates the parent directory, and restricts the socket to its owner.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        if StdUnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "another supervisor is already listening on {}",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path)?;
    }
    // Bind with a restrictive umask so the socket is never accessible to others, even
    // briefly. We are still single-threaded here (before any other thread starts).
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: restores the previous mask.
    unsafe { libc::umask(old) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts clients; runs as a task of the supervisor's runtime and ends with it.
pub async fn serve(listener: UnixListener, status: Status, requests: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let status = status.clone();
        let requests = requests.clone();
        tokio::spawn(handle(stream, status, requests));
    }
}

async fn handle(stream: UnixStream, status: Status, requests: mpsc::Sender<Request>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read.take(MAX_REQUEST as u64));
    // The request must arrive in time; the answer may take as long as the command (a
    // rolling restart waits for the new instance, bounded by its start_period).
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
        Ok(Ok(_)) => answer(&line, &status, &requests).await,
        Ok(Err(e)) => error_json(
            ErrorKind::BadRequest,
            &format!("cannot read the request: {e}"),
        ),
        Err(_) => error_json(ErrorKind::BadRequest, "no request within 5s"),
    };
    let _ = write.write_all(format!("{response}\n").as_bytes()).await;
    let _ = write.shutdown().await;
}

fn error_json(kind: ErrorKind, message: &str) -> String {
    serde_json::json!({ "ok": false, "kind": kind, "error": message }).to_string()
}

fn health_json(status: &Status) -> String {
    format!("{{\"ok\":true,\"health\":{}}}", status.render())
}

fn message_json(status: &Status, message: &str) -> String {
    format!(
        "{{\"ok\":true,\"message\":{},\"health\":{}}}",
        serde_json::Value::from(message),
        status.render()
    )
}

async fn answer(line: &str, status: &Status, requests: &mpsc::Sender<Request>) -> String {
    let req: WireRequest = match serde_json::from_str(line.trim()) {
        Ok(r) => r,
        Err(e) => return error_json(ErrorKind::BadRequest, &format!("malformed request: {e}")),
    };
    let action = match req.command.as_str() {
        "status" => return health_json(status),
        "start" => Action::Service(Command::Start),
        "stop" => Action::Service(Command::Stop),
        "restart" => Action::Service(Command::Restart),
        "reload" => Action::Reload,
        "signal" => match req.signal.as_deref().and_then(Signal::parse) {
            Some(sig) => Action::Signal(sig),
            None => {
                return error_json(
                    ErrorKind::BadRequest,
                    &format!(
                        "signal needs a signal name such as SIGHUP, got {:?}",
                        req.signal.unwrap_or_default()
                    ),
                );
            }
        },
        other => {
            return error_json(
                ErrorKind::BadRequest,
                &format!(
                    "unknown command {other:?}; use status, start, stop, restart, reload or signal"
                ),
            );
        }
    };
    let service = match (action, req.service) {
        (Action::Reload, _) => String::new(),
        (_, Some(s)) => s,
        (_, None) => {
            return error_json(
                ErrorKind::BadRequest,
                &format!("{} needs a service name", req.command),
            );
        }
    };
    let (reply, answer) = oneshot::channel();
    if requests
        .send(Request {
            service,
            action,
            reply,
        })
        .await
        .is_err()
    {
        return error_json(ErrorKind::ShuttingDown, "the supervisor is shutting down");
    }
    match answer.await {
        // The loop publishes the new snapshot before it answers.
        Ok(Ok(None)) => health_json(status),
        Ok(Ok(Some(message))) => message_json(status, &message),
        Ok(Err((kind, message))) => error_json(kind, &message),
        Err(_) => error_json(ErrorKind::ShuttingDown, "the supervisor is shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let r = WireRequest {
            command: "status".into(),
            service: None,
            signal: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"command":"status"}"#
        );
        let r: WireRequest = serde_json::from_str(r#"{"command":"stop","service":"web"}"#).unwrap();
        assert_eq!(r.service.as_deref(), Some("web"));
    }
}
