//! The async shell around the engine: the supervisor's only event loop.
//!
//! One `select!` waits on signals (SIGCHLD included), finished probes, and the engine's next
//! deadline, never on a fixed tick. Every input goes into the engine; every action that
//! comes out is carried out here with `process`, `reaper`, `probe` and `logs`. The loop
//! decides nothing itself.
//!
//! It runs on a single-threaded tokio runtime: spawning, reaping and the engine share one
//! thread, so a child can never be reaped before its pid is known to the engine or to the
//! reaper's waiter list.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use signal_hook::consts::signal::{
    SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
};
use signal_hook_tokio::Signals;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info, warn};

use super::control::{self, Action as ControlAction, ErrorKind};
use super::engine::{
    Accepted, Action, CommandError, Engine, Event, Generation, Overall, ProbeOutcome, Report,
    Snapshot, State,
};
use super::logs::{self, Stream};
use super::notify::{self, Notifier};
use super::notify_socket;
use super::plan::{Plan, ProbeKind, ServiceId, ServiceName, ServiceSpec, Signal};
use super::probe;
use super::process::{self, Launch};
use super::reaper::Reaper;
use super::sockets::{self, HeldSockets};
use super::{config, health, memory, prepare};

/// Signals that stop the supervisor; a second one escalates to SIGKILL.
const SHUTDOWN_SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGQUIT];
/// Signals passed on to every running service's process group.
const FORWARDED_SIGNALS: [i32; 3] = [SIGUSR1, SIGUSR2, SIGWINCH];

/// Why the supervisor could not run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A `listen` socket could not be bound (a port taken, say): an invalid config here.
    #[error(transparent)]
    Listen(#[from] sockets::BindError),
    /// The tokio runtime, the signal handlers or a listener could not be set up.
    #[error("cannot set up {what}: {source}")]
    Setup {
        /// What was being set up.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn setup(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let what = what.into();
    move |source| RuntimeError::Setup { what, source }
}

/// Runs the plan until a requested shutdown completes (`Ok`: exit code 0). `sections` are
/// shown in `/health` beside the services.
pub fn run(plan: Plan, sections: health::Sections) -> Result<(), RuntimeError> {
    // Little is allocated here, and rarely: one arena for both threads, no size lists.
    crate::resident::frugal_allocator();
    let rt = crate::rt::light().map_err(setup("the async runtime"))?;
    rt.block_on(async {
        let shell = Shell::new(plan, sections)?;
        shell.run().await;
        Ok(())
    })
}

/// The loop's state. Dropping it closes the signal stream and the snapshot channel (which
/// ends the health server thread); child pipes are owned by their drain tasks.
/// The answer channel of one control request.
type Reply = oneshot::Sender<control::Answer>;

struct Shell {
    engine: Engine,
    reaper: Reaper,
    signals: Signals,
    /// Probe results come back on this channel; each probe task holds a sender clone.
    results_tx: mpsc::UnboundedSender<Event>,
    results_rx: mpsc::UnboundedReceiver<Event>,
    /// `wms ctl start/stop/restart`, from the control socket's task.
    control_rx: mpsc::Receiver<control::Request>,
    /// Replies to send once the effects of their commands are published.
    pending_replies: Vec<(Reply, control::Answer)>,
    /// Replies to rolling restarts, sent when the engine reports how the handover ended.
    rolling_replies: Vec<(ServiceId, Reply)>,
    /// Handover outcomes reported by the engine, answered at the next publish.
    handover_outcomes: Vec<(ServiceId, Result<(), String>)>,
    /// Aggregate changes to tell the service manager once they are published.
    pending_notes: Vec<Report>,
    /// The latest snapshot, for /health and `wms ctl status`.
    snapshots: watch::Sender<Arc<Snapshot>>,
    notifier: Option<Notifier>,
    watchdog: Option<Duration>,
    control_socket: PathBuf,
    /// Width of the name column in service output.
    name_width: usize,
    /// Last output lines, shared with the drain tasks and /health.
    tails: Arc<logs::Tails>,
    /// The scheduled runs last written to `state_dir` (written again when they change).
    saved_runs: Vec<(ServiceName, SystemTime)>,
    /// Where services with notify readiness send `READY=1` (`None`: no service does).
    notify_socket: Option<PathBuf>,
    /// Listening sockets held for services across their restarts.
    sockets: HeldSockets,
}

impl Shell {
    fn new(plan: Plan, sections: health::Sections) -> Result<Self, RuntimeError> {
        become_subreaper();
        let signals = Signals::new(
            SHUTDOWN_SIGNALS
                .iter()
                .chain(&FORWARDED_SIGNALS)
                .chain(&[SIGHUP])
                .chain(&[SIGCHLD]),
        )
        .map_err(setup("signal handlers"))?;
        let name_width = plan
            .services
            .iter()
            .map(|s| s.name.as_str().len())
            .max()
            .unwrap_or(0);
        let settings = plan.supervisor.clone();
        info!(
            config = %plan.source.display(),
            services = plan.services.len(),
            pid = std::process::id(),
            "supervisor starting"
        );
        // Before anything starts: a taken port is a config error naming the service.
        let sockets = HeldSockets::bind_all(&plan)?;
        let memory = memory::load(&settings.state_dir);
        if !memory.stopped.is_empty() {
            let names: Vec<&str> = memory.stopped.iter().map(|n| n.as_str()).collect();
            info!(
                "kept stopped (wms ctl stop, remembered): {}",
                names.join(", ")
            );
        }
        let engine = Engine::new(plan, Instant::now(), SystemTime::now(), &memory);
        let (snapshots, snapshot_rx) = watch::channel(Arc::new(engine.snapshot()));
        let tails = Arc::new(logs::Tails::default());
        let status = health::Status {
            snapshots: snapshot_rx,
            tails: Arc::clone(&tails),
            sections,
        };

        let control_listener = control::bind(&settings.control_socket).map_err(setup(format!(
            "the control socket {}",
            settings.control_socket.display()
        )))?;
        let (control_tx, control_rx) = mpsc::channel(16);
        tokio::spawn(control::serve(control_listener, status.clone(), control_tx));

        if let Some(addr) = settings.health_listen {
            let listener =
                health::bind(addr).map_err(setup(format!("the health listener on {addr}")))?;
            health::spawn_server(listener, status).map_err(setup("the health server thread"))?;
            info!("health at http://{addr}/health");
        }

        let notifier = Notifier::from_env();
        if let Some(n) = &notifier {
            n.status(&engine.snapshot().summary());
        }
        let (results_tx, results_rx) = mpsc::unbounded_channel();
        // Services with `ready = { notify = true }` say READY=1 here.
        let notify_socket = notify_socket::path_beside(&settings.control_socket);
        let uses_notify = plan_uses_notify(engine.plan());
        if uses_notify {
            let socket = notify_socket::bind(&notify_socket).map_err(setup(format!(
                "the notify socket {}",
                notify_socket.display()
            )))?;
            tokio::spawn(notify_socket::serve(socket, results_tx.clone()));
        }
        Ok(Shell {
            engine,
            reaper: Reaper::default(),
            signals,
            results_tx,
            results_rx,
            control_rx,
            pending_replies: Vec::new(),
            rolling_replies: Vec::new(),
            handover_outcomes: Vec::new(),
            pending_notes: Vec::new(),
            snapshots,
            notifier,
            watchdog: notify::watchdog_interval(),
            control_socket: settings.control_socket,
            name_width,
            tails,
            saved_runs: memory.last_runs,
            notify_socket: uses_notify.then_some(notify_socket),
            sockets,
        })
    }

    async fn run(mut self) {
        let mut watchdog = self.watchdog.map(tokio::time::interval);
        loop {
            let is_done = self.carry_out_actions();
            self.publish();
            if is_done {
                let _ = std::fs::remove_file(&self.control_socket);
                info!("all services stopped; exiting");
                return;
            }
            let deadline = self
                .engine
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                Some(signal) = self.signals.next() => self.on_signal(signal),
                Some(event) = self.results_rx.recv() => self.engine.handle(event, Instant::now()),
                Some(request) = self.control_rx.recv() => self.on_control(request),
                () = sleep_until(deadline) => self.engine.handle_timeout(Instant::now()),
                _ = tick(&mut watchdog) => {
                    if let Some(n) = &self.notifier {
                        n.watchdog();
                    }
                }
            }
        }
    }

    /// Publishes the snapshot if it changed, then answers the control requests and tells
    /// the service manager about the changes it shows (so READY=1 never precedes a healthy
    /// /health).
    fn publish(&mut self) {
        // Remembered before it shows: whoever sees a run completed finds it in state_dir.
        let runs = self.engine.last_runs();
        if runs != self.saved_runs {
            let state_dir = &self.engine.plan().supervisor.state_dir;
            if let Err(e) = memory::save_runs(state_dir, &runs) {
                warn!(
                    "cannot remember scheduled runs in {}: {e}",
                    state_dir.display()
                );
            }
            self.saved_runs = runs;
        }
        let snap = self.engine.snapshot();
        self.snapshots.send_if_modified(|current| {
            if **current == snap {
                false
            } else {
                *current = Arc::new(snap);
                true
            }
        });
        for (service, outcome) in std::mem::take(&mut self.handover_outcomes) {
            let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.rolling_replies)
                .into_iter()
                .partition(|(s, _)| *s == service);
            self.rolling_replies = waiting;
            for (_, reply) in done {
                let _ = reply.send(
                    outcome
                        .clone()
                        .map(|()| None)
                        .map_err(|reason| (ErrorKind::RestartFailed, reason)),
                );
            }
        }
        for (reply, answer) in self.pending_replies.drain(..) {
            let _ = reply.send(answer);
        }
        for report in std::mem::take(&mut self.pending_notes) {
            let burst_over = matches!(
                report,
                Report::Overall(Overall::Healthy)
                    | Report::StateChanged {
                        to: State::Completed,
                        ..
                    }
            );
            if burst_over {
                // After start-up, or a oneshot's run (a backup, a drill): the garbage goes
                // back to the system, and the code and stack depth only that burst used
                // leave our resident set.
                crate::resident::release_free_heap();
                crate::resident::release_code();
                crate::resident::release_stack();
            }
            self.notify(&report);
        }
    }

    fn on_control(&mut self, request: control::Request) {
        if request.action == ControlAction::Reload {
            info!("control: reload");
            let answer = self.reload();
            self.pending_replies.push((request.reply, answer));
            return;
        }
        let Some(id) = self.engine.find(&request.service) else {
            let plan = self.engine.plan();
            let message = if plan.disabled.iter().any(|d| d.as_str() == request.service) {
                format!("service {:?} is disabled in the config", request.service)
            } else {
                let names: Vec<&str> = plan
                    .ids()
                    .filter(|id| self.engine.find(plan.service(*id).name.as_str()).is_some())
                    .map(|id| plan.service(id).name.as_str())
                    .collect();
                format!(
                    "unknown service {:?} (services: {})",
                    request.service,
                    names.join(", ")
                )
            };
            let _ = request
                .reply
                .send(Err((ErrorKind::UnknownService, message)));
            return;
        };
        info!(service = %request.service, "control: {:?}", request.action);
        let now = Instant::now();
        let taken = match request.action {
            ControlAction::Service(command) => self.engine.handle_command(id, command, now),
            ControlAction::Signal(signal) => self.engine.signal_service(id, signal, now),
            ControlAction::Reload => unreachable!("answered above"),
        };
        match taken {
            Ok(Accepted::Rolling) => self.rolling_replies.push((id, request.reply)),
            Ok(Accepted::Done) => {
                let state_dir = &self.engine.plan().supervisor.state_dir;
                if let Err(e) = memory::save_stopped(state_dir, &self.engine.remembered_stops()) {
                    warn!(
                        "cannot remember manual stops in {}: {e}",
                        state_dir.display()
                    );
                }
                self.pending_replies.push((request.reply, Ok(None)));
            }
            Err(CommandError::ShuttingDown) => {
                let _ = request.reply.send(Err((
                    ErrorKind::ShuttingDown,
                    "the supervisor is shutting down".into(),
                )));
            }
        }
    }

    /// Re-reads the config file and applies the difference. An invalid file, or a socket
    /// that cannot be bound, changes nothing.
    fn reload(&mut self) -> control::Answer {
        let path = self.engine.plan().source.clone();
        let new = config::load(&path).map_err(|e| (ErrorKind::InvalidConfig, e.to_string()))?;
        // The new plan's sockets: kept where the address is the same, bound otherwise.
        let sockets = self
            .sockets
            .rebound(&new)
            .map_err(|e| (ErrorKind::InvalidConfig, format!("{}: {e}", path.display())))?;
        if self.notify_socket.is_none() && plan_uses_notify(&new) {
            let notify = notify_socket::path_beside(&self.engine.plan().supervisor.control_socket);
            let socket = notify_socket::bind(&notify).map_err(|e| {
                (
                    ErrorKind::InvalidConfig,
                    format!("{}: {e}", notify.display()),
                )
            })?;
            tokio::spawn(notify_socket::serve(socket, self.results_tx.clone()));
            self.notify_socket = Some(notify);
        }
        let summary = self.engine.reload(new, Instant::now()).map_err(|_| {
            (
                ErrorKind::ShuttingDown,
                "the supervisor is shutting down".into(),
            )
        })?;
        self.sockets = sockets;
        info!("reloaded {}: {summary}", path.display());
        Ok(Some(summary.to_string()))
    }

    fn on_signal(&mut self, signal: i32) {
        let now = Instant::now();
        if signal == SIGCHLD {
            for (pid, how) in self.reaper.reap() {
                if !self.engine.is_service_pid(pid) {
                    debug!(pid = pid.0, "reaped an orphan ({how})");
                }
                self.engine.handle(Event::Exited { pid, how }, now);
            }
        } else if signal == SIGHUP {
            // SIGHUP reloads the config, as nginx and systemd services do; `wms ctl signal
            // NAME SIGHUP` forwards one to a service.
            info!("received SIGHUP: reloading the config");
            if let Err((_, e)) = self.reload() {
                error!("reload refused, nothing changed:\n{e}");
            }
        } else if SHUTDOWN_SIGNALS.contains(&signal) {
            info!("received {}: stopping", Signal::from_raw(signal));
            self.engine.handle(Event::ShutdownRequested, now);
        } else {
            debug!("forwarding {}", Signal::from_raw(signal));
            self.engine
                .handle(Event::Forward(Signal::from_raw(signal)), now);
        }
    }

    /// Carries out queued actions until the engine has none. True once it says `Exit`.
    fn carry_out_actions(&mut self) -> bool {
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::Spawn { service } => self.spawn(service),
                Action::Signal {
                    service,
                    pid,
                    signal,
                } => {
                    let name = &self.engine.plan().service(service).name;
                    debug!(service = %name, pid = pid.0, "sending {signal}");
                    if let Err(e) = process::signal_group(pid, signal) {
                        warn!(service = %name, "cannot send {signal} to process group {}: {e}", pid.0);
                    }
                }
                Action::Probe {
                    service,
                    generation,
                } => self.start_probe(service, generation),
                Action::Report(report) => {
                    self.log_report(&report);
                    match &report {
                        Report::HandoverDone { service } => {
                            self.handover_outcomes.push((*service, Ok(())));
                        }
                        Report::HandoverFailed { service, reason } => {
                            self.handover_outcomes.push((*service, Err(reason.clone())));
                        }
                        _ => {}
                    }
                    if matches!(report, Report::Overall(_) | Report::ShutdownStarted) {
                        self.pending_notes.push(report);
                    }
                }
                Action::Exit => return true,
            }
        }
        false
    }

    fn spawn(&mut self, id: ServiceId) {
        let spec = self.engine.plan().service(id);
        let notify = self.notify_socket.as_deref();
        let pass_fds = self.sockets.for_service(spec.name.as_str());
        let prepared = prepare::directories(spec)
            .and_then(|()| prepare::environment(spec, notify))
            .and_then(|env| {
                let launch = Launch {
                    argv: &spec.command,
                    env: &env,
                    keep_caps: keep_caps(spec),
                    user: spec.user.as_ref(),
                    workdir: spec.workdir.as_deref(),
                    merge_stderr: false,
                    pass_fds: &pass_fds,
                };
                process::spawn(&launch).map_err(|e| format!("{}: {e}", spec.command[0]))
            });
        let event = match prepared {
            Ok(child) => {
                let name = spec.name.to_string();
                info!(service = %name, pid = child.pid.0, "started: {}", spec.command.join(" "));
                let tails = &self.tails;
                logs::drain(
                    name.clone(),
                    self.name_width,
                    Stream::Stdout,
                    child.stdout,
                    Arc::clone(tails),
                );
                if let Some(stderr) = child.stderr {
                    logs::drain(
                        name,
                        self.name_width,
                        Stream::Stderr,
                        stderr,
                        Arc::clone(tails),
                    );
                }
                Event::Spawned {
                    service: id,
                    pid: child.pid,
                }
            }
            Err(reason) => {
                error!(service = %spec.name, "cannot start: {reason}");
                Event::SpawnFailed {
                    service: id,
                    reason,
                }
            }
        };
        self.engine.handle(event, Instant::now());
    }

    fn start_probe(&mut self, service: ServiceId, generation: Generation) {
        let Some(spec) = self.engine.plan().service(service).ready.clone() else {
            return;
        };
        let Some(kind) = spec.kind else {
            return;
        };
        let tx = self.results_tx.clone();
        let finish = move |outcome| {
            // The receiver lives as long as the loop; after exit nobody needs the result.
            let _ = tx.send(Event::ProbeFinished {
                service,
                generation,
                outcome,
            });
        };
        match kind {
            ProbeKind::Http(target) => {
                tokio::spawn(async move { finish(probe::http(&target, spec.timeout).await) });
            }
            ProbeKind::Tcp(addr) => {
                tokio::spawn(async move { finish(probe::tcp(&addr, spec.timeout).await) });
            }
            ProbeKind::Postgres(conninfo) => {
                tokio::spawn(async move { finish(probe::postgres(&conninfo, spec.timeout).await) });
            }
            ProbeKind::Exec(argv) => {
                // A probe is part of its service: same account, environment and rights.
                let svc = self.engine.plan().service(service);
                let spawned = prepare::environment(svc, None).and_then(|env| {
                    let launch = Launch {
                        argv: &argv,
                        env: &env,
                        keep_caps: keep_caps(svc),
                        user: svc.user.as_ref(),
                        workdir: svc.workdir.as_deref(),
                        merge_stderr: true,
                        pass_fds: &[],
                    };
                    process::spawn(&launch).map_err(|e| e.to_string())
                });
                match spawned {
                    Ok(child) => {
                        // Registered before the loop can reap it: we are on the loop's thread.
                        let exited = self.reaper.watch(child.pid);
                        let timeout = spec.timeout;
                        tokio::spawn(async move {
                            finish(probe::exec(child.pid, exited, child.stdout, timeout).await)
                        });
                    }
                    Err(e) => finish(ProbeOutcome {
                        is_ok: false,
                        detail: format!("cannot run {}: {e}", argv[0]),
                        took: Duration::ZERO,
                    }),
                }
            }
        }
    }

    /// Tells the service manager about aggregate changes and shutdown.
    fn notify(&mut self, report: &Report) {
        let Some(n) = self.notifier.as_mut() else {
            return;
        };
        match report {
            Report::Overall(o) => {
                let summary = self.engine.snapshot().summary();
                if *o == Overall::Healthy {
                    n.ready(&summary);
                }
                n.status(&summary);
            }
            Report::ShutdownStarted => n.stopping(),
            _ => {}
        }
    }

    fn log_report(&self, report: &Report) {
        let plan = self.engine.plan();
        let name = |id: ServiceId| plan.service(id).name.as_str();
        match report {
            Report::StateChanged { service, from, to } => match to {
                State::Failed | State::Unhealthy => {
                    warn!(service = %name(*service), "{} -> {}", from.as_str(), to.as_str())
                }
                _ => info!(service = %name(*service), "{} -> {}", from.as_str(), to.as_str()),
            },
            Report::Died {
                service,
                how,
                uptime,
            } => warn!(
                service = %name(*service),
                "{how} after {}",
                humantime::format_duration(whole_ms(*uptime))
            ),
            Report::RestartScheduled {
                service,
                delay,
                restarts,
            } => info!(
                service = %name(*service),
                "restart #{restarts} in {}",
                humantime::format_duration(*delay)
            ),
            Report::GaveUp { service, restarts } => error!(
                service = %name(*service),
                "giving up after {restarts} restarts in a row (max_restarts)"
            ),
            Report::Unhealthy { service, detail } => {
                warn!(service = %name(*service), "unhealthy: {detail}")
            }
            Report::StopTimedOut { service } => warn!(
                service = %name(*service),
                "did not stop within stop_timeout; sent SIGKILL"
            ),
            Report::ShutdownStarted => info!("shutting down in reverse dependency order"),
            Report::ShutdownForced { by_request: true } => {
                warn!("second stop request: killing all services now")
            }
            Report::ShutdownForced { by_request: false } => {
                warn!("shutdown_timeout passed: killing all services now")
            }
            Report::Overall(o) => info!("status: {}", o.as_str()),
            Report::HandoverDone { service } => info!(
                service = %name(*service),
                "rolling restart: the new instance is ready and serving; the old one drains"
            ),
            Report::HandoverFailed { service, reason } => {
                warn!(service = %name(*service), "rolling restart failed: {reason}")
            }
            Report::RefusedMove { service, from, to } => error!(
                service = %name(*service),
                "bug: refused state move {} -> {}", from.as_str(), to.as_str()
            ),
        }
    }
}

/// True if and only if some service is ready by notification.
fn plan_uses_notify(plan: &Plan) -> bool {
    plan.services
        .iter()
        .any(|s| s.ready.as_ref().is_some_and(|r| r.is_notify))
}

/// The capabilities a service keeps, as the bit mask `process::spawn` wants.
fn keep_caps(spec: &ServiceSpec) -> u64 {
    spec.capabilities
        .iter()
        .filter(|c| **c < 64)
        .fold(0, |mask, c| mask | (1u64 << c))
}

/// The next watchdog tick, or never without a watchdog.
async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A duration rounded down to whole milliseconds, for readable logs.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// When not PID 1, become a child subreaper so orphans of our services are re-parented to
/// us (and reaped by us) rather than to the real init.
fn become_subreaper() {
    if std::process::id() == 1 {
        return;
    }
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        warn!("cannot become a child subreaper ({e}); orphans will be reaped by init");
    }
}
