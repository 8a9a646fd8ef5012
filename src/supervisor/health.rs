//! The aggregate `/health`, `/health/live`, `/health/ready` and `/metrics`.
//!
//! Rendering is pure ([`render_json`], [`render_metrics`], [`status_code`]) and works on a
//! published [`Snapshot`]; durations are computed at request time from the snapshot's
//! instants. The server ([`serve`]) runs on a thread of its own with its own
//! single-threaded runtime and only ever reads the latest snapshot from a `watch` channel:
//! it never waits for a probe and cannot slow the engine down, however hard it is hit.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::engine::{ServiceSnapshot, Snapshot, State, Termination};
use super::logs::Tails;
use crate::http::{self, Limits, Listener};

/// Most connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 1024;
/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A part of `/health` that is not a service: something beside the supervisor reports it
/// (the backup volume's status), read when a request asks. The supervisor knows no more of
/// it than this; `main` decides which sections a stack has.
pub trait Section: Send + Sync + std::fmt::Debug {
    /// The key in `/health` (`backup`).
    fn name(&self) -> &str;
    /// The section as of now.
    fn report(&self) -> SectionReport;
}

/// What a [`Section`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionReport {
    /// False turns a `healthy` aggregate into `degraded` (the HTTP code stays: a section
    /// does not make the stack unready).
    pub is_ok: bool,
    /// The full section (loopback `/health`, `wms ctl status`).
    pub detail: serde_json::Value,
    /// What anyone may see (`/health/public`).
    pub public: serde_json::Value,
    /// Prometheus text appended to `/metrics`.
    pub metrics: String,
}

/// The sections of this stack.
pub type Sections = Arc<Vec<Box<dyn Section>>>;

/// Every section's report, by name, now.
pub fn reports(sections: &[Box<dyn Section>]) -> Vec<(String, SectionReport)> {
    sections
        .iter()
        .map(|s| (s.name().to_owned(), s.report()))
        .collect()
}

/// The aggregate word: the engine's, except that a healthy stack with a failing section is
/// `degraded`.
fn aggregate(snap: &Snapshot, reports: &[(String, SectionReport)]) -> String {
    if snap.is_healthy() && reports.iter().any(|(_, r)| !r.is_ok) {
        "degraded".to_owned()
    } else {
        snap.status.as_str().to_owned()
    }
}

/// `/health`'s body, with each service as `S`: [`ServiceJson`] in the full view (also what
/// `wms ctl` reads back, hence `Deserialize`), [`PublicServiceJson`] in the public one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthJson<S = ServiceJson> {
    /// Aggregate status.
    pub status: String,
    /// Supervisor uptime, whole seconds.
    pub uptime_s: u64,
    /// Per service, in start order.
    pub services: IndexMap<String, S>,
    /// The sections ([`Section`]), by name, beside `services` (in the public view, the
    /// public part of each).
    #[serde(flatten, default)]
    pub sections: IndexMap<String, serde_json::Value>,
}

/// One service in `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceJson {
    /// `waiting`, `starting`, `ready`, ...
    pub state: String,
    /// True for a oneshot.
    pub oneshot: bool,
    /// Main process id while running.
    pub pid: Option<i32>,
    /// Automatic restarts.
    pub restarts: u32,
    /// Seconds since the running process started.
    pub uptime_s: Option<u64>,
    /// How the last process ended.
    pub last_exit: Option<LastExitJson>,
    /// The latest probe failure.
    pub last_probe_error: Option<String>,
    /// The last line the service printed (usually why it keeps exiting).
    #[serde(default)]
    pub last_output: Option<String>,
    /// Time until a scheduled restart.
    pub next_restart_in_ms: Option<u64>,
    /// Scheduled oneshots, between runs: seconds until the next run.
    #[serde(default)]
    pub next_run_in_s: Option<u64>,
    /// Unmet dependencies, while waiting.
    pub waiting_for: Vec<WaitingJson>,
}

/// How a process ended, for `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastExitJson {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal name, when killed.
    pub signal: Option<String>,
    /// Why it could not start, when it never ran.
    pub error: Option<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Seconds ago.
    pub ago_s: u64,
}

/// An unmet dependency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingJson {
    /// The dependency.
    pub service: String,
    /// The condition it has not reached.
    pub condition: String,
}

/// 200 when healthy, 503 otherwise.
pub fn status_code(snap: &Snapshot) -> StatusCode {
    if snap.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn wall_clock(at: Instant, now: Instant, wall_now: SystemTime) -> SystemTime {
    wall_now
        .checked_sub(now.saturating_duration_since(at))
        .unwrap_or(wall_now)
}

/// The `/health` document for `snap` as seen at `now` (`wall_now` is the same moment on the
/// wall clock, for timestamps).
pub fn health_json(
    snap: &Snapshot,
    tails: &Tails,
    reports: &[(String, SectionReport)],
    now: Instant,
    wall_now: SystemTime,
) -> HealthJson {
    HealthJson {
        status: aggregate(snap, reports),
        uptime_s: now.saturating_duration_since(snap.started_at).as_secs(),
        services: snap
            .services
            .iter()
            .map(|s| {
                let mut json = service_json(s, now, wall_now);
                json.last_output = tails.get(s.name.as_str());
                (s.name.to_string(), json)
            })
            .collect(),
        sections: reports
            .iter()
            .map(|(name, r)| (name.clone(), r.detail.clone()))
            .collect(),
    }
}

fn service_json(s: &ServiceSnapshot, now: Instant, wall_now: SystemTime) -> ServiceJson {
    {
        let last_exit = s.last_exit.as_ref().map(|(how, at)| {
            let (code, signal, error) = match how {
                Termination::Exited(c) => (Some(*c), None, None),
                Termination::Killed(sig) => (None, Some(sig.name()), None),
                Termination::SpawnFailed(e) => (None, None, Some(e.clone())),
            };
            LastExitJson {
                code,
                signal,
                error,
                at: humantime::format_rfc3339_seconds(wall_clock(*at, now, wall_now)).to_string(),
                ago_s: now.saturating_duration_since(*at).as_secs(),
            }
        });
        ServiceJson {
            state: s.state.as_str().to_owned(),
            oneshot: s.is_oneshot,
            pid: s.pid.map(|p| p.0),
            restarts: s.restarts,
            uptime_s: s.uptime(now).map(|d| d.as_secs()),
            last_exit,
            last_probe_error: s.last_probe_error.clone(),
            last_output: None,
            next_restart_in_ms: s
                .next_restart_in(now)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            next_run_in_s: s
                .next_run_at
                .map(|t| t.saturating_duration_since(now).as_secs()),
            waiting_for: s
                .waiting_for
                .iter()
                .map(|(name, cond)| WaitingJson {
                    service: name.to_string(),
                    condition: cond.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

/// `/health` as JSON text.
pub fn render_json(
    snap: &Snapshot,
    tails: &Tails,
    reports: &[(String, SectionReport)],
    now: Instant,
    wall_now: SystemTime,
) -> String {
    // Serialising plain structs, strings and numbers cannot fail.
    serde_json::to_string(&health_json(snap, tails, reports, now, wall_now)).unwrap_or_default()
}

/// The public view (`/health/public`, what `wms web` shows anyone on the published port):
/// the aggregate and, per service, its state, restarts and uptime. No pids, probe errors,
/// exit details or output lines: those may carry anything a service printed.
pub type PublicHealthJson = HealthJson<PublicServiceJson>;

/// One service in the public view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicServiceJson {
    /// `waiting`, `starting`, `ready`, ...
    pub state: String,
    /// True for a oneshot.
    pub oneshot: bool,
    /// Automatic restarts.
    pub restarts: u32,
    /// Seconds since the running process started.
    pub uptime_s: Option<u64>,
}

/// The public view as JSON text.
pub fn render_public_json(
    snap: &Snapshot,
    reports: &[(String, SectionReport)],
    now: Instant,
) -> String {
    let doc = PublicHealthJson {
        status: aggregate(snap, reports),
        uptime_s: now.saturating_duration_since(snap.started_at).as_secs(),
        services: snap
            .services
            .iter()
            .map(|s| {
                let json = PublicServiceJson {
                    state: s.state.as_str().to_owned(),
                    oneshot: s.is_oneshot,
                    restarts: s.restarts,
                    uptime_s: s.uptime(now).map(|d| d.as_secs()),
                };
                (s.name.to_string(), json)
            })
            .collect(),
        sections: reports
            .iter()
            .map(|(name, r)| (name.clone(), r.public.clone()))
            .collect(),
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// What `/health` and `wms ctl status` are rendered from: the latest engine snapshot
/// (published by the runtime) and the services' last output lines (kept by `logs`).
#[derive(Clone, Debug)]
pub struct Status {
    /// The latest snapshot; the sender is dropped when the supervisor exits.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Last output lines.
    pub tails: Arc<Tails>,
    /// The stack's sections beside its services.
    pub sections: Sections,
}

impl Status {
    /// `/health` as JSON text, now.
    pub fn render(&self) -> String {
        let snap = Arc::clone(&self.snapshots.borrow());
        let reports = reports(&self.sections);
        render_json(
            &snap,
            &self.tails,
            &reports,
            Instant::now(),
            SystemTime::now(),
        )
    }
}

const ALL_STATES: [State; 10] = [
    State::Waiting,
    State::Starting,
    State::Ready,
    State::Unhealthy,
    State::Stopping,
    State::Backoff,
    State::Stopped,
    State::Exited,
    State::Completed,
    State::Failed,
];

/// `/metrics` in the Prometheus text exposition format (version 0.0.4).
pub fn render_metrics(
    snap: &Snapshot,
    reports: &[(String, SectionReport)],
    now: Instant,
) -> String {
    let mut out = String::with_capacity(2048);
    let mut family =
        |name: &str, kind: &str, help: &str, rows: &mut dyn Iterator<Item = (String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
    let label = |s: &ServiceSnapshot| format!("{{service=\"{}\"}}", s.name);
    family(
        "wms_service_up",
        "gauge",
        "1 if the service's process is running.",
        &mut snap
            .services
            .iter()
            .map(|s| (label(s), u8::from(s.pid.is_some()).to_string())),
    );
    family(
        "wms_service_ready",
        "gauge",
        "1 if the service is ready (a oneshot: completed).",
        &mut snap
            .services
            .iter()
            .map(|s| (label(s), u8::from(s.is_ok()).to_string())),
    );
    family(
        "wms_service_restarts_total",
        "counter",
        "Automatic restarts since the supervisor started.",
        &mut snap
            .services
            .iter()
            .map(|s| (label(s), s.restarts.to_string())),
    );
    family(
        "wms_service_state",
        "gauge",
        "1 for the service's current state, 0 for the others.",
        &mut snap.services.iter().flat_map(|s| {
            ALL_STATES.iter().map(move |st| {
                (
                    format!("{{service=\"{}\",state=\"{}\"}}", s.name, st.as_str()),
                    u8::from(s.state == *st).to_string(),
                )
            })
        }),
    );
    family(
        "wms_service_last_exit_code",
        "gauge",
        "Exit code of the last process (128+N when killed by signal N, -1 when it could not start).",
        &mut snap.services.iter().filter_map(|s| {
            s.last_exit.as_ref().map(|(how, _)| {
                let code = match how {
                    Termination::Exited(c) => *c,
                    Termination::Killed(sig) => 128 + sig.as_raw(),
                    Termination::SpawnFailed(_) => -1,
                };
                (label(s), code.to_string())
            })
        }),
    );
    family(
        "wms_supervisor_uptime_seconds",
        "gauge",
        "Seconds since the supervisor started.",
        &mut std::iter::once((
            String::new(),
            format!(
                "{:.3}",
                now.saturating_duration_since(snap.started_at).as_secs_f64()
            ),
        )),
    );
    family(
        "wms_build_info",
        "gauge",
        "Build information.",
        &mut std::iter::once((
            format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
            "1".to_owned(),
        )),
    );
    for (_, r) in reports {
        out.push_str(&r.metrics);
    }
    out
}

type Body = Full<Bytes>;

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: String,
    is_head: bool,
) -> Response<Body> {
    let len = body.len();
    let mut resp = Response::new(Full::new(if is_head {
        Bytes::new()
    } else {
        Bytes::from(body)
    }));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    resp
}

/// Answers one request from the latest snapshot.
pub fn answer(
    method: &Method,
    path: &str,
    snap: &Snapshot,
    tails: &Tails,
    sections: &[Box<dyn Section>],
) -> Response<Body> {
    let is_head = method == Method::HEAD;
    if method != Method::GET && !is_head {
        let mut r = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            r#"{"detail":"Method Not Allowed"}"#.to_owned(),
            false,
        );
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let now = Instant::now();
    let reports = || reports(sections);
    match path {
        "/health" | "/health/" => respond(
            status_code(snap),
            "application/json",
            render_json(snap, tails, &reports(), now, SystemTime::now()),
            is_head,
        ),
        "/health/public" => respond(
            status_code(snap),
            "application/json",
            render_public_json(snap, &reports(), now),
            is_head,
        ),
        "/health/live" => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n".into(),
            is_head,
        ),
        "/health/ready" => respond(
            status_code(snap),
            "text/plain; charset=utf-8",
            String::new(),
            is_head,
        ),
        "/metrics" => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            render_metrics(snap, &reports(), now),
            is_head,
        ),
        _ => respond(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"detail":"Not Found"}"#.to_owned(),
            is_head,
        ),
    }
}

/// Binds the listener (so a port clash is reported at start-up, not later).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves on a thread of its own until the snapshot sender is dropped.
pub fn spawn_server(
    listener: std::net::TcpListener,
    status: Status,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("health".into())
        .spawn(move || {
            let rt = match crate::rt::light() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("health server: cannot start its runtime: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(l) => serve(l, status).await,
                    Err(e) => tracing::error!("health server: {e}"),
                }
            });
        })
}

/// Serves until the snapshot channel closes (the supervisor is exiting), on the shared
/// serving path ([`crate::http::serve`]).
pub async fn serve(listener: TcpListener, status: Status) {
    let limits = Limits {
        max_connections: MAX_CONNECTIONS,
        header_timeout: HEADER_TIMEOUT,
        // Nobody waits for the health listener at exit.
        drain_timeout: Duration::ZERO,
        ..Limits::default()
    };
    let mut closed = status.snapshots.clone();
    let shutdown = async move { while closed.changed().await.is_ok() {} };
    let make_service = move |_peer| {
        let status = status.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let snap = Arc::clone(&status.snapshots.borrow());
            let response = answer(
                req.method(),
                req.uri().path(),
                &snap,
                &status.tails,
                &status.sections,
            );
            async move { Ok::<_, Infallible>(response) }
        })
    };
    http::serve(
        Listener::Tcp(listener),
        http::cores::Seat::alone(),
        limits,
        make_service,
        shutdown,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::engine::Overall;
    use crate::supervisor::engine::Pid;
    use crate::supervisor::plan::{Condition, ServiceName, Signal};

    fn snap(now: Instant) -> Snapshot {
        let svc = |name: &str, state| ServiceSnapshot {
            name: ServiceName::parse(name).unwrap(),
            state,
            is_oneshot: false,
            is_scheduled: false,
            pid: None,
            restarts: 0,
            running_since: None,
            last_exit: None,
            last_probe_error: None,
            next_restart_at: None,
            next_run_at: None,
            waiting_for: Vec::new(),
        };
        let mut db = svc("postgres", State::Backoff);
        db.restarts = 2;
        db.last_exit = Some((
            Termination::Killed(Signal::KILL),
            now - Duration::from_secs(3),
        ));
        db.next_restart_at = Some(now + Duration::from_millis(400));
        db.last_probe_error = Some("connection refused".into());
        let mut api = svc("backend", State::Waiting);
        api.waiting_for = vec![(ServiceName::parse("postgres").unwrap(), Condition::Ready)];
        let mut web = svc("web", State::Ready);
        web.pid = Some(Pid(7));
        web.running_since = Some(now - Duration::from_secs(65));
        Snapshot {
            status: Overall::Degraded,
            started_at: now - Duration::from_secs(100),
            services: vec![db, api, web],
        }
    }

    #[test]
    fn health_json_has_every_field_in_start_order() {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let tails = Tails::default();
        tails.record("postgres", "FATAL: could not bind");
        let text = render_json(&snap(now), &tails, &[], now, wall);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["status"], "degraded");
        assert_eq!(json["uptime_s"], 100);
        let doc: HealthJson = serde_json::from_str(&text).unwrap();
        let names: Vec<&String> = doc.services.keys().collect();
        assert_eq!(names, ["postgres", "backend", "web"]);
        let pg = &json["services"]["postgres"];
        assert_eq!(pg["state"], "backoff");
        assert_eq!(pg["restarts"], 2);
        assert_eq!(pg["next_restart_in_ms"], 400);
        assert_eq!(pg["last_probe_error"], "connection refused");
        assert_eq!(pg["last_output"], "FATAL: could not bind");
        assert_eq!(
            json["services"]["web"]["last_output"],
            serde_json::Value::Null
        );
        assert_eq!(pg["last_exit"]["signal"], "SIGKILL");
        assert_eq!(pg["last_exit"]["code"], serde_json::Value::Null);
        assert_eq!(pg["last_exit"]["at"], "2027-01-15T07:59:57Z");
        assert_eq!(pg["last_exit"]["ago_s"], 3);
        assert_eq!(
            json["services"]["backend"]["waiting_for"][0]["service"],
            "postgres"
        );
        assert_eq!(
            json["services"]["backend"]["waiting_for"][0]["condition"],
            "ready"
        );
        assert_eq!(json["services"]["web"]["pid"], 7);
        assert_eq!(json["services"]["web"]["uptime_s"], 65);
        assert_eq!(
            json["services"]["web"]["last_exit"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn public_view_has_states_restarts_and_uptime_only() {
        let now = Instant::now();
        let tails = Tails::default();
        tails.record("postgres", "password=hunter2");
        let text = render_public_json(&snap(now), &[], now);
        assert!(!text.contains("hunter2") && !text.contains("connection refused"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let web = json["services"]["web"].as_object().unwrap();
        let keys: Vec<&String> = web.keys().collect();
        assert_eq!(keys, ["oneshot", "restarts", "state", "uptime_s"]);
        assert_eq!(json["services"]["postgres"]["restarts"], 2);
        assert_eq!(json["services"]["web"]["uptime_s"], 65);
        let r = answer(&Method::GET, "/health/public", &snap(now), &tails, &[]);
        assert_eq!(r.status(), 503);
    }

    /// A section that reports what it was given.
    #[derive(Debug)]
    struct Fixed(bool);

    impl Section for Fixed {
        fn name(&self) -> &str {
            "backup"
        }
        fn report(&self) -> SectionReport {
            SectionReport {
                is_ok: self.0,
                detail: serde_json::json!({ "status": "x", "problems": ["secret path"] }),
                public: serde_json::json!({ "status": "x" }),
                metrics: "wms_backup_ok 0\n".to_owned(),
            }
        }
    }

    #[test]
    fn a_failing_section_turns_healthy_into_degraded_but_keeps_the_code() {
        let now = Instant::now();
        let t = Tails::default();
        let mut s = snap(now);
        s.status = Overall::Healthy;
        for svc in &mut s.services {
            svc.state = State::Ready;
        }
        let failing: Vec<Box<dyn Section>> = vec![Box::new(Fixed(false))];
        let ok: Vec<Box<dyn Section>> = vec![Box::new(Fixed(true))];
        let status = |sections: &[Box<dyn Section>], path: &str| {
            let reports = reports(sections);
            let text = if path == "/health" {
                render_json(&s, &t, &reports, now, SystemTime::now())
            } else {
                render_public_json(&s, &reports, now)
            };
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        };
        for path in ["/health", "/health/public"] {
            assert_eq!(status(&ok, path)["status"], "healthy", "{path}");
            let doc = status(&failing, path);
            assert_eq!(doc["status"], "degraded", "{path}");
            assert_eq!(doc["backup"]["status"], "x", "{path}");
        }
        assert!(status(&failing, "/health")["backup"]["problems"].is_array());
        assert!(status(&failing, "/health/public")["backup"]["problems"].is_null());
        assert_eq!(
            answer(&Method::GET, "/health", &s, &t, &failing).status(),
            200
        );
        let text = render_metrics(&s, &reports(&failing), now);
        assert!(text.ends_with("wms_backup_ok 0\n"), "{text}");
        // wms ctl reads the document back, sections included.
        let doc: HealthJson = serde_json::from_str(&render_json(
            &s,
            &t,
            &reports(&failing),
            now,
            SystemTime::now(),
        ))
        .unwrap();
        assert_eq!(doc.sections["backup"]["status"], "x");
    }

    #[test]
    fn status_codes_and_routes() {
        let now = Instant::now();
        let t = Tails::default();
        let mut s = snap(now);
        assert_eq!(answer(&Method::GET, "/health", &s, &t, &[]).status(), 503);
        assert_eq!(
            answer(&Method::GET, "/health/ready", &s, &t, &[]).status(),
            503
        );
        assert_eq!(
            answer(&Method::GET, "/health/live", &s, &t, &[]).status(),
            200
        );
        s.status = Overall::Healthy;
        assert_eq!(answer(&Method::GET, "/health", &s, &t, &[]).status(), 200);
        assert_eq!(answer(&Method::HEAD, "/health", &s, &t, &[]).status(), 200);
        assert_eq!(answer(&Method::GET, "/nope", &s, &t, &[]).status(), 404);
        let r = answer(&Method::POST, "/health", &s, &t, &[]);
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
    }

    #[test]
    fn metrics_lines() {
        let now = Instant::now();
        let text = render_metrics(&snap(now), &[], now);
        for line in [
            "wms_service_up{service=\"web\"} 1",
            "wms_service_up{service=\"postgres\"} 0",
            "wms_service_ready{service=\"web\"} 1",
            "wms_service_restarts_total{service=\"postgres\"} 2",
            "wms_service_state{service=\"postgres\",state=\"backoff\"} 1",
            "wms_service_state{service=\"postgres\",state=\"ready\"} 0",
            "wms_service_last_exit_code{service=\"postgres\"} 137",
            "# TYPE wms_service_restarts_total counter",
            "wms_supervisor_uptime_seconds 100.000",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
