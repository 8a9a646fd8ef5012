//! The control socket (`[supervisor] control_socket`) and its client, `wms ctl`.
//!
//! Protocol: one JSON request line, one JSON response line, then the connection closes.
//!
//! ```text
//! → {"command":"stop","service":"backend"}
//! ← {"ok":true,"health":{...the /health document...}}
//! ← {"ok":false,"kind":"unknown_service","error":"unknown service \"bakend\" (services: ...)"}
//! ```
//!
//! `status` is answered from the published snapshot; `start`/`stop`/`restart` go to the
//! runtime's loop as [`Request`]s and are answered once the engine has taken them. The
//! socket is created with mode 0600: only its owner (root in the container) may use it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::engine::{Command, Snapshot};
use super::health;

/// Longest request line accepted.
const MAX_REQUEST: usize = 4096;
/// A client must send its request within this time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRequest {
    /// `status`, `start`, `stop` or `restart`.
    pub command: String,
    /// The service, for all but `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
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
}

/// A control command for the loop, with the channel to answer on.
#[derive(Debug)]
pub struct Request {
    /// The service's name (validated by the loop against the plan).
    pub service: String,
    /// What to do.
    pub command: Command,
    /// The loop's answer: `Err((kind, message))` on refusal.
    pub reply: oneshot::Sender<Result<(), (ErrorKind, String)>>,
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
                format!("another supervisor is already listening on {}", path.display()),
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
pub async fn serve(
    listener: UnixListener,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    requests: mpsc::Sender<Request>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let snapshots = snapshots.clone();
        let requests = requests.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, handle(stream, snapshots, requests)).await;
        });
    }
}

async fn handle(stream: UnixStream, snapshots: watch::Receiver<Arc<Snapshot>>, requests: mpsc::Sender<Request>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64);
    let response = match reader.read_line(&mut line).await {
        Ok(_) => answer(&line, &snapshots, &requests).await,
        Err(e) => error_json(ErrorKind::BadRequest, &format!("cannot read the request: {e}")),
    };
    let _ = write.write_all(format!("{response}\n").as_bytes()).await;
    let _ = write.shutdown().await;
}

fn error_json(kind: ErrorKind, message: &str) -> String {
    serde_json::json!({ "ok": false, "kind": kind, "error": message }).to_string()
}

fn health_json(snapshots: &watch::Receiver<Arc<Snapshot>>) -> String {
    let snap = Arc::clone(&snapshots.borrow());
    let body = health::render_json(&snap, Instant::now(), SystemTime::now());
    format!("{{\"ok\":true,\"health\":{body}}}")
}

async fn answer(line: &str, snapshots: &watch::Receiver<Arc<Snapshot>>, requests: &mpsc::Sender<Request>) -> String {
    let req: WireRequest = match serde_json::from_str(line.trim()) {
        Ok(r) => r,
        Err(e) => return error_json(ErrorKind::BadRequest, &format!("malformed request: {e}")),
    };
    let command = match req.command.as_str() {
        "status" => return health_json(snapshots),
        "start" => Command::Start,
        "stop" => Command::Stop,
        "restart" => Command::Restart,
        other => {
            return error_json(
                ErrorKind::BadRequest,
                &format!("unknown command {other:?}; use status, start, stop or restart"),
            );
        }
    };
    let Some(service) = req.service else {
        return error_json(ErrorKind::BadRequest, &format!("{} needs a service name", req.command));
    };
    let (reply, answer) = oneshot::channel();
    if requests.send(Request { service, command, reply }).await.is_err() {
        return error_json(ErrorKind::ShuttingDown, "the supervisor is shutting down");
    }
    match answer.await {
        Ok(Ok(())) => {
            // The loop publishes the new snapshot before it answers.
            health_json(snapshots)
        }
        Ok(Err((kind, message))) => error_json(kind, &message),
        Err(_) => error_json(ErrorKind::ShuttingDown, "the supervisor is shutting down"),
    }
}

/// Why `wms ctl` failed, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The supervisor is not there (or the socket is not ours).
    #[error("{0}")]
    Unreachable(String),
    /// The supervisor refused.
    #[error("{message}")]
    Refused {
        /// Why.
        kind: ErrorKind,
        /// Its message.
        message: String,
    },
}

impl ClientError {
    /// `wms ctl` exit codes: 1 refused by the supervisor, 3 supervisor unreachable.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Refused { .. } => 1,
            ClientError::Unreachable(_) => 3,
        }
    }
}

/// Sends one request and returns the `/health` document from the answer.
pub fn request(socket: &Path, req: &WireRequest) -> Result<serde_json::Value, ClientError> {
    let unreachable = |e: std::io::Error| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                "is the supervisor running? (wms supervise)".to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied: the socket is only for the user running the supervisor (try as root)".to_owned()
            }
            _ => e.to_string(),
        };
        ClientError::Unreachable(format!("cannot reach the supervisor at {}: {hint}", socket.display()))
    };
    let mut stream = StdUnixStream::connect(socket).map_err(unreachable)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut line = serde_json::to_string(req).unwrap_or_default();
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(unreachable)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(unreachable)?;
    let value: serde_json::Value = serde_json::from_str(&answer).map_err(|e| {
        ClientError::Unreachable(format!("unexpected answer from {}: {e}", socket.display()))
    })?;
    if value["ok"] == serde_json::Value::Bool(true) {
        return Ok(value["health"].clone());
    }
    let kind = serde_json::from_value(value["kind"].clone()).unwrap_or(ErrorKind::BadRequest);
    Err(ClientError::Refused {
        kind,
        message: value["error"].as_str().unwrap_or("refused").to_owned(),
    })
}

/// A `docker compose ps`-like table of a `/health` document.
pub fn status_table(health: &serde_json::Value) -> String {
    let mut rows = vec![[
        "NAME".to_owned(),
        "STATE".to_owned(),
        "PID".to_owned(),
        "UPTIME".to_owned(),
        "RESTARTS".to_owned(),
        "HEALTH".to_owned(),
    ]];
    let empty = serde_json::Map::new();
    for (name, s) in health["services"].as_object().unwrap_or(&empty) {
        let num = |v: &serde_json::Value| v.as_u64().map_or("-".to_owned(), |n| n.to_string());
        let uptime = s["uptime_s"]
            .as_u64()
            .map_or("-".to_owned(), |n| humantime::format_duration(Duration::from_secs(n)).to_string());
        let health = if let Some(e) = s["last_probe_error"].as_str() {
            e.to_owned()
        } else if let Some(ms) = s["next_restart_in_ms"].as_u64() {
            format!("restart in {}", humantime::format_duration(Duration::from_millis(ms)))
        } else if let Some(w) = s["waiting_for"].as_array().filter(|w| !w.is_empty()) {
            let deps: Vec<String> = w
                .iter()
                .map(|d| format!("{} {}", d["service"].as_str().unwrap_or("?"), d["condition"].as_str().unwrap_or("?")))
                .collect();
            format!("waiting for {}", deps.join(", "))
        } else if let Some(e) = s["last_exit"].as_object().filter(|_| s["pid"].is_null()) {
            match (e.get("code").and_then(|c| c.as_i64()), e.get("signal").and_then(|s| s.as_str()), e.get("error").and_then(|s| s.as_str())) {
                (Some(c), _, _) => format!("exited with code {c}"),
                (_, Some(sig), _) => format!("killed by {sig}"),
                (_, _, Some(err)) => err.to_owned(),
                _ => "-".to_owned(),
            }
        } else {
            "ok".to_owned()
        };
        rows.push([
            name.clone(),
            s["state"].as_str().unwrap_or("?").to_owned(),
            num(&s["pid"]),
            uptime,
            num(&s["restarts"]),
            health,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 5 { c.clone() } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "status: {} (up {})\n",
        health["status"].as_str().unwrap_or("?"),
        humantime::format_duration(Duration::from_secs(health["uptime_s"].as_u64().unwrap_or(0)))
    ));
    out
}

/// Where `wms ctl` finds the socket: `--socket`, else `WMS_CONTROL_SOCKET`, else the
/// config's `control_socket`, else the default.
pub fn socket_path(explicit: Option<PathBuf>, config: &Path) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("WMS_CONTROL_SOCKET").map(PathBuf::from))
        .or_else(|| super::config::load(config).ok().map(|p| p.supervisor.control_socket))
        .unwrap_or_else(|| PathBuf::from(super::config::defaults::CONTROL_SOCKET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_renders_states_and_reasons() {
        let health = serde_json::json!({
            "status": "degraded", "uptime_s": 75,
            "services": {
                "postgres": {"state": "ready", "pid": 12, "uptime_s": 70, "restarts": 0, "last_probe_error": null,
                             "next_restart_in_ms": null, "waiting_for": [], "last_exit": null},
                "backend": {"state": "backoff", "pid": null, "uptime_s": null, "restarts": 3, "last_probe_error": null,
                            "next_restart_in_ms": 400, "waiting_for": [], "last_exit": {"code": 1}},
                "web": {"state": "waiting", "pid": null, "uptime_s": null, "restarts": 0, "last_probe_error": null,
                        "next_restart_in_ms": null, "waiting_for": [{"service": "backend", "condition": "ready"}], "last_exit": null},
                "init": {"state": "failed", "pid": null, "uptime_s": null, "restarts": 0, "last_probe_error": null,
                         "next_restart_in_ms": null, "waiting_for": [], "last_exit": {"code": 3, "signal": null, "error": null}}
            }
        });
        let table = status_table(&health);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "NAME      STATE    PID  UPTIME  RESTARTS  HEALTH");
        assert_eq!(lines[1], "postgres  ready    12   1m 10s  0         ok");
        assert_eq!(lines[2], "backend   backoff  -    -       3         restart in 400ms");
        assert_eq!(lines[3], "web       waiting  -    -       0         waiting for backend ready");
        assert_eq!(lines[4], "init      failed   -    -       0         exited with code 3");
        assert_eq!(lines[5], "status: degraded (up 1m 15s)");
    }

    #[test]
    fn requests_round_trip() {
        let r = WireRequest { command: "status".into(), service: None };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"command":"status"}"#);
    }
}
