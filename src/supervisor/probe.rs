//! Readiness and liveness checks, one function per kind.
//!
//! Each call performs exactly one check within its own timeout and returns a
//! [`ProbeOutcome`] whose `detail` says what was seen ("connection refused", "status 503",
//! "exited with code 1: <last output line>", "timed out after 2s"). Probes never sleep or
//! retry: the engine decides when the next one runs.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, unix::pipe};
use tokio::sync::oneshot;

use super::engine::{Pid, ProbeOutcome, Termination};
use super::plan::{HttpTarget, Signal};
use crate::pgerror;

/// Most output an exec probe keeps (for its `detail`).
const EXEC_OUTPUT_MAX: usize = 4096;

/// Runs `check` with a deadline, timing it.
async fn timed<F>(timeout: Duration, check: F) -> ProbeOutcome
where
    F: Future<Output = Result<String, String>>,
{
    let start = Instant::now();
    let result = tokio::time::timeout(timeout, check).await;
    let took = start.elapsed();
    let (is_ok, detail) = match result {
        Ok(Ok(detail)) => (true, detail),
        Ok(Err(detail)) => (false, detail),
        Err(_) => (
            false,
            format!("timed out after {}", humantime::format_duration(timeout)),
        ),
    };
    ProbeOutcome {
        is_ok,
        detail,
        took,
    }
}

/// A TCP connect to `addr` succeeds.
pub async fn tcp(addr: &str, timeout: Duration) -> ProbeOutcome {
    timed(timeout, async {
        TcpStream::connect(addr)
            .await
            .map(|_| format!("connected to {addr}"))
            .map_err(|e| format!("connect to {addr}: {e}"))
    })
    .await
}

/// `GET` answers 2xx.
pub async fn http(target: &HttpTarget, timeout: Duration) -> ProbeOutcome {
    timed(timeout, async {
        let status = http_get_status(target).await?;
        if status.is_success() {
            Ok(format!("status {}", status.as_u16()))
        } else {
            Err(format!("{target} answered status {}", status.as_u16()))
        }
    })
    .await
}

/// One HTTP/1.1 GET without a body; the status code, or why there is none.
pub async fn http_get_status(target: &HttpTarget) -> Result<hyper::StatusCode, String> {
    let stream = TcpStream::connect(&target.authority)
        .await
        .map_err(|e| format!("connect to {}: {e}", target.authority))?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    // The connection task ends with the request (the sender is dropped after it).
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = hyper::Request::get(target.path_and_query.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::USER_AGENT, "wms-probe")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{target}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    Ok(response.status())
}

/// Connects with a libpq connection string and runs `SELECT 1`.
pub async fn postgres(conninfo: &str, timeout: Duration) -> ProbeOutcome {
    timed(timeout, async {
        let (client, conn) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
            .await
            .map_err(|e| pgerror::describe(&e))?;
        let conn = tokio::spawn(conn);
        let result = client.simple_query("SELECT 1").await;
        drop(client);
        let _ = conn.await;
        result
            .map(|_| "SELECT 1 ok".to_owned())
            .map_err(|e| pgerror::describe(&e))
    })
    .await
}

/// Waits for an exec probe's process (reaped by the reaper) and reads its merged output.
/// On failure or timeout the probe's process group is killed.
pub async fn exec(
    pid: Pid,
    exited: oneshot::Receiver<Termination>,
    output: OwnedFd,
    timeout: Duration,
) -> ProbeOutcome {
    let outcome = timed(timeout, async {
        let lost = |_| "the probe's exit status was lost".to_owned();
        let mut pipe = pipe::Receiver::from_owned_fd(output).ok();
        let mut exited = exited;
        let mut how = None;
        let mut text = Vec::new();
        let mut buf = [0u8; 1024];
        // Read output while waiting for the exit; after the exit, only what is already
        // there (a background grandchild may hold the pipe open forever).
        while let Some(p) = pipe.as_mut() {
            let read = async {
                match &how {
                    None => Some(p.read(&mut buf).await),
                    Some(_) => tokio::time::timeout(Duration::from_millis(20), p.read(&mut buf))
                        .await
                        .ok(),
                }
            };
            tokio::select! {
                r = read => match r {
                    Some(Ok(n)) if n > 0 => {
                        let room = EXEC_OUTPUT_MAX.saturating_sub(text.len());
                        text.extend_from_slice(&buf[..n.min(room)]);
                    }
                    _ => pipe = None,
                },
                h = &mut exited, if how.is_none() => how = Some(h.map_err(lost)?),
            }
        }
        let how = match how {
            Some(h) => h,
            None => exited.await.map_err(lost)?,
        };
        let text = String::from_utf8_lossy(&text);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let detail = if last.is_empty() {
            how.to_string()
        } else {
            format!("{how}: {last}")
        };
        if how.is_success() {
            Ok(detail)
        } else {
            Err(detail)
        }
    })
    .await;
    if !outcome.is_ok {
        // Harmless if it already exited; stops a hung probe and anything it started.
        let _ = super::process::signal_group(pid, Signal::KILL);
    }
    outcome
}

/// `wms probe URL [--timeout 2s]`: exit 0 when the URL answers 2xx, 1 otherwise with one
/// line saying why (refused, timeout, status). Images need no curl for HEALTHCHECK.
pub fn run_cli(url: &str, timeout: Duration) -> std::process::ExitCode {
    let target = match HttpTarget::parse(url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wms probe: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(http(&target, timeout)),
        Err(e) => {
            eprintln!("wms probe: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if outcome.is_ok {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("wms probe: {target}: {}", outcome.detail);
        std::process::ExitCode::FAILURE
    }
}
