//! `wms ctl`: the client of the control socket.
//!
//! | command | effect |
//! |---|---|
//! | `wms ctl status [--json]` | a table like `docker compose ps` (or the `/health` JSON) |
//! | `wms ctl start NAME` | start a stopped service (and forget a remembered stop) |
//! | `wms ctl stop NAME` | stop it and keep it stopped (remembered for `unless-stopped`) |
//! | `wms ctl restart NAME` | stop if running, start again |
//!
//! Exit codes: 0 done, 1 refused by the supervisor (unknown service, shutting down),
//! 2 usage error, 3 the supervisor cannot be reached (not running, permission denied).

use crate::exit::{Exit, Failure, Outcome};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::control::{ErrorKind, WireRequest};
use super::health::{HealthJson, ServiceJson};

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
    pub fn exit(&self) -> Exit {
        match self {
            ClientError::Refused { .. } => Exit::Failed,
            ClientError::Unreachable(_) => Exit::Precondition,
        }
    }
}

/// The control socket's answer.
#[derive(Debug, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    health: Option<HealthJson>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    kind: Option<ErrorKind>,
    #[serde(default)]
    error: Option<String>,
}

/// Sends one request and returns the `/health` document from the answer.
pub fn request(socket: &Path, req: &WireRequest) -> Result<HealthJson, ClientError> {
    request_with_message(socket, req).map(|(h, _)| h)
}

/// Sends one request; the `/health` document and the message (e.g. what a reload changed).
pub fn request_with_message(
    socket: &Path,
    req: &WireRequest,
) -> Result<(HealthJson, Option<String>), ClientError> {
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
        ClientError::Unreachable(format!(
            "cannot reach the supervisor at {}: {hint}",
            socket.display()
        ))
    };
    let mut stream = UnixStream::connect(socket).map_err(unreachable)?;
    // A rolling restart answers when the new instance is ready (or not): allow for long
    // start periods, but never hang forever on a stuck supervisor.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(11 * 60)));
    let mut line = serde_json::to_string(req).unwrap_or_default();
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(unreachable)?;
    let mut text = String::new();
    BufReader::new(stream)
        .read_line(&mut text)
        .map_err(unreachable)?;
    let answer: Answer = serde_json::from_str(&text).map_err(|e| {
        ClientError::Unreachable(format!("unexpected answer from {}: {e}", socket.display()))
    })?;
    match (answer.ok, answer.health) {
        (true, Some(health)) => Ok((health, answer.message)),
        _ => Err(ClientError::Refused {
            kind: answer.kind.unwrap_or(ErrorKind::BadRequest),
            message: answer.error.unwrap_or_else(|| "refused".to_owned()),
        }),
    }
}

/// What the HEALTH column says about a service.
fn health_cell(s: &ServiceJson) -> String {
    if let Some(e) = &s.last_probe_error {
        return e.clone();
    }
    if let Some(ms) = s.next_restart_in_ms {
        return format!(
            "restart in {}",
            humantime::format_duration(Duration::from_millis(ms))
        );
    }
    if let (Some(secs), None) = (s.next_run_in_s, s.pid) {
        return format!(
            "next run in {}",
            humantime::format_duration(Duration::from_secs(secs))
        );
    }
    if !s.waiting_for.is_empty() {
        let deps: Vec<String> = s
            .waiting_for
            .iter()
            .map(|d| format!("{} {}", d.service, d.condition))
            .collect();
        return format!("waiting for {}", deps.join(", "));
    }
    match (&s.last_exit, s.pid) {
        (Some(e), None) => {
            let how = match (e.code, &e.signal, &e.error) {
                (Some(c), _, _) => format!("exited with code {c}"),
                (_, Some(sig), _) => format!("killed by {sig}"),
                (_, _, Some(err)) => return err.clone(),
                _ => return "-".to_owned(),
            };
            match (&s.last_output, e.code) {
                // Why it failed is usually its last line.
                (Some(out), Some(c)) if c != 0 => format!("{how}: {}", shorten(out, 100)),
                _ => how,
            }
        }
        _ => "ok".to_owned(),
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A `docker compose ps`-like table of a `/health` document.
pub fn status_table(health: &HealthJson) -> String {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let mut rows =
        vec![["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "HEALTH"].map(str::to_owned)];
    for (name, s) in &health.services {
        rows.push([
            name.clone(),
            s.state.clone(),
            dash(s.pid.map(|p| p.to_string())),
            dash(
                s.uptime_s
                    .map(|n| humantime::format_duration(Duration::from_secs(n)).to_string()),
            ),
            s.restarts.to_string(),
            health_cell(s),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "status: {} (up {})\n",
        health.status,
        humantime::format_duration(Duration::from_secs(health.uptime_s))
    ));
    for (name, section) in &health.sections {
        let word = section["status"].as_str().unwrap_or("?");
        out.push_str(&format!("{name}: {word}"));
        if let Some(problems) = section["problems"].as_array().filter(|p| !p.is_empty()) {
            let text: Vec<&str> = problems.iter().filter_map(|p| p.as_str()).collect();
            out.push_str(&format!(" ({})", text.join("; ")));
        }
        out.push('\n');
    }
    out
}

/// Where `wms ctl` finds the socket: `--socket`, else `WMS_CONTROL_SOCKET`, else the
/// config's `control_socket`, else the default.
pub fn socket_path(explicit: Option<PathBuf>, config: &Path) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("WMS_CONTROL_SOCKET").map(PathBuf::from))
        .or_else(|| {
            super::config::load(config)
                .ok()
                .map(|p| p.supervisor.control_socket)
        })
        .unwrap_or_else(|| PathBuf::from(super::config::defaults::CONTROL_SOCKET))
}

/// One `wms ctl` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlCommand {
    /// The status table (or JSON).
    Status {
        /// JSON instead of the table.
        is_json: bool,
    },
    /// `start`, `stop` or `restart` of a service.
    Service {
        /// The command's name.
        command: &'static str,
        /// The service.
        service: Option<String>,
    },
    /// Re-read the config and apply the difference.
    Reload,
    /// A signal to a service.
    Signal {
        /// The service.
        service: String,
        /// The signal's name.
        signal: String,
    },
}

/// Runs one `wms ctl` command against `socket`; printing goes to stdout (results) and
/// stderr (errors).
pub fn run(socket: &Path, command: CtlCommand) -> Outcome {
    let req = match &command {
        CtlCommand::Status { .. } => WireRequest {
            command: "status".into(),
            service: None,
            signal: None,
        },
        CtlCommand::Service { command, service } => {
            let Some(service) = service else {
                let mut why = format!(
                    "wms ctl {command} needs a service name (see `wms ctl status` for the names)."
                );
                if *command == "stop" {
                    why.push_str(
                        "\nTo stop everything, stop the supervisor itself: podman stop / docker stop / \
                         systemctl stop, or SIGTERM to its PID.",
                    );
                }
                return Err(Failure::invalid(why));
            };
            WireRequest {
                command: (*command).to_owned(),
                service: Some(service.clone()),
                signal: None,
            }
        }
        CtlCommand::Reload => WireRequest {
            command: "reload".into(),
            service: None,
            signal: None,
        },
        CtlCommand::Signal { service, signal } => WireRequest {
            command: "signal".into(),
            service: Some(service.clone()),
            signal: Some(signal.clone()),
        },
    };
    match (request_with_message(socket, &req), &command) {
        (Ok((health, _)), CtlCommand::Status { is_json }) => {
            if *is_json {
                println!("{}", serde_json::to_string(&health).unwrap_or_default());
            } else {
                print!("{}", status_table(&health));
            }
            Ok(())
        }
        (Ok((_, message)), CtlCommand::Reload) => {
            println!("reloaded: {}", message.unwrap_or_default());
            Ok(())
        }
        (Ok((health, _)), CtlCommand::Service { service, .. }) => {
            let name = service.as_deref().unwrap_or_default();
            let state = health.services.get(name).map_or("?", |s| s.state.as_str());
            println!("{name}: {state}");
            Ok(())
        }
        (Ok(_), CtlCommand::Signal { service, signal }) => {
            println!("{service}: sent {signal}");
            Ok(())
        }
        (Err(e), _) => Err(Failure::new(e.exit(), format!("wms ctl: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_renders_states_and_reasons() {
        let health: HealthJson = serde_json::from_str(
            r#"{"status": "degraded", "uptime_s": 75, "services": {
                "postgres": {"state": "ready", "oneshot": false, "pid": 12, "uptime_s": 70, "restarts": 0, "last_probe_error": null,
                             "next_restart_in_ms": null, "waiting_for": [], "last_exit": null},
                "backend": {"state": "backoff", "oneshot": false, "pid": null, "uptime_s": null, "restarts": 3, "last_probe_error": null,
                            "next_restart_in_ms": 400, "waiting_for": [],
                            "last_exit": {"code": 1, "signal": null, "error": null, "at": "2026-01-01T00:00:00Z", "ago_s": 1}},
                "web": {"state": "waiting", "oneshot": false, "pid": null, "uptime_s": null, "restarts": 0, "last_probe_error": null,
                        "next_restart_in_ms": null, "waiting_for": [{"service": "backend", "condition": "ready"}], "last_exit": null},
                "init": {"state": "failed", "oneshot": true, "pid": null, "uptime_s": null, "restarts": 0, "last_probe_error": null,
                         "last_output": "ERROR: cannot bind 127.0.0.1:5432: Address already in use",
                         "next_restart_in_ms": null, "waiting_for": [],
                         "last_exit": {"code": 3, "signal": null, "error": null, "at": "2026-01-01T00:00:00Z", "ago_s": 1}}
            }}"#,
        )
        .unwrap();
        let table = status_table(&health);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "NAME      STATE    PID  UPTIME  RESTARTS  HEALTH");
        assert_eq!(lines[1], "postgres  ready    12   1m 10s  0         ok");
        assert_eq!(
            lines[2],
            "backend   backoff  -    -       3         restart in 400ms"
        );
        assert_eq!(
            lines[3],
            "web       waiting  -    -       0         waiting for backend ready"
        );
        assert_eq!(
            lines[4],
            "init      failed   -    -       0         exited with code 3: ERROR: cannot bind 127.0.0.1:5432: Address already in use"
        );
        assert_eq!(lines[5], "status: degraded (up 1m 15s)");
    }
}
