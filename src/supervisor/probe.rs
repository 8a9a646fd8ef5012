//! Readiness and liveness checks, one function per kind.
//!
//! Each call performs exactly one check within its own timeout and returns a
//! [`ProbeOutcome`] whose `detail` says what was seen ("connection refused", "status 503",
//! "exited with code 1: <last output line>", "timed out after 2s"). Probes never sleep or
//! retry: the engine decides when the next one runs.

use crate::exit::{Failure, Outcome};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, unix::pipe};
use tokio::sync::oneshot;

use super::engine::{Pid, ProbeOutcome, Termination};
use super::plan::{HttpTarget, Signal};

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

/// Is PostgreSQL accepting connections (what `pg_isready` asks)? Sends a startup message
/// for the conninfo's user and database and reads the first answer: an authentication
/// request (or success) means yes, and the probe hangs up right there, before any
/// credential is exchanged, so the server logs nothing; "starting up" / "shutting down"
/// means no; an authentication refusal (peer) also means yes, though the server logs it.
/// The supervisor holds no database credentials and needs none.
pub async fn postgres(conninfo: &str, timeout: Duration) -> ProbeOutcome {
    timed(timeout, postgres_check(conninfo)).await
}

async fn postgres_check(conninfo: &str) -> Result<String, String> {
    use postgres_protocol::message::frontend;
    use tokio::io::AsyncWriteExt;

    let config: tokio_postgres::Config =
        conninfo.parse().map_err(|e| format!("bad conninfo: {e}"))?;
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let dbname = config.get_dbname().unwrap_or(&user).to_owned();
    let mut startup = bytes::BytesMut::new();
    frontend::startup_message(
        [("user", user.as_str()), ("database", dbname.as_str())],
        &mut startup,
    )
    .map_err(|e| e.to_string())?;
    let mut answer = bytes::BytesMut::with_capacity(1024);
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Unix(dir)) => {
            let path = dir.join(format!(".s.PGSQL.{port}"));
            let mut s = tokio::net::UnixStream::connect(&path)
                .await
                .map_err(|e| format!("connect to {}: {e}", path.display()))?;
            s.write_all(&startup).await.map_err(|e| e.to_string())?;
            read_first_message(&mut s, &mut answer).await?;
        }
        Some(tokio_postgres::config::Host::Tcp(host)) => {
            let mut s = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
            s.write_all(&startup).await.map_err(|e| e.to_string())?;
            read_first_message(&mut s, &mut answer).await?;
        }
        None => return Err("the conninfo names no host".into()),
    }
    match answer.first() {
        Some(b'E') => {
            let (code, message) = error_fields(answer.get(5..).unwrap_or_default());
            if code.starts_with("28") {
                Ok(format!("accepting connections ({code}: {message})"))
            } else {
                Err(format!("{code}: {message}"))
            }
        }
        Some(_) => Ok("accepting connections".into()),
        None => Err("the server closed the connection".into()),
    }
}

/// SQLSTATE (`C`) and message (`M`) of an ErrorResponse body: fields of a type byte and a
/// NUL-terminated value, ended by a NUL.
fn error_fields(body: &[u8]) -> (String, String) {
    let (mut code, mut message) = (String::new(), String::new());
    let mut rest = body;
    while let Some((&kind, tail)) = rest.split_first() {
        if kind == 0 {
            break;
        }
        let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
        let value = String::from_utf8_lossy(&tail[..end]).into_owned();
        match kind {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    (code, message)
}

/// Reads until one whole backend message is buffered (or the peer closes).
async fn read_first_message(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut bytes::BytesMut,
) -> Result<(), String> {
    loop {
        if let Ok(Some(header)) = postgres_protocol::message::backend::Header::parse(buf) {
            // The type byte, then `len` bytes (the length counts itself).
            if buf.len() > header.len() as usize {
                return Ok(());
            }
        }
        if buf.len() > 64 * 1024 {
            return Err("an oversized first message".into());
        }
        let n = stream.read_buf(buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(());
        }
    }
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
pub fn run_cli(url: &str, timeout: Duration) -> Outcome {
    let target = HttpTarget::parse(url).map_err(|e| Failure::invalid(format!("wms probe: {e}")))?;
    let rt = crate::rt::current_thread()
        .map_err(|e| Failure::failed(format!("wms probe: cannot start: {e}")))?;
    let outcome = rt.block_on(http(&target, timeout));
    if outcome.is_ok {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "wms probe: {target}: {}",
            outcome.detail
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_fields_of_an_error_response() {
        let body = b"SFATAL\0C57P03\0Mthe database system is starting up\0\0";
        assert_eq!(
            error_fields(body),
            ("57P03".into(), "the database system is starting up".into())
        );
        assert_eq!(error_fields(b""), (String::new(), String::new()));
        assert_eq!(
            error_fields(b"Cunterminated"),
            ("unterminated".into(), String::new())
        );
    }
}
