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

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use signal_hook::consts::signal::{
    SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
};
use signal_hook_tokio::Signals;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::engine::{Action, Engine, Event, Generation, ProbeOutcome, Report, State};
use super::logs::{self, Stream};
use super::plan::{Plan, ProbeKind, ServiceId, Signal};
use super::probe;
use super::process::{self, Launch};
use super::reaper::Reaper;

/// Signals that stop the supervisor; a second one escalates to SIGKILL.
const SHUTDOWN_SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGQUIT];
/// Signals passed on to every running service's process group.
const FORWARDED_SIGNALS: [i32; 4] = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH];

/// Why the supervisor could not run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The tokio runtime or the signal handlers could not be set up.
    #[error("cannot set up {what}: {source}")]
    Setup {
        /// What was being set up.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Runs the plan until a requested shutdown completes. Returns exit code 0 then.
pub fn run(plan: Plan) -> Result<ExitCode, RuntimeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| RuntimeError::Setup {
            what: "the async runtime",
            source,
        })?;
    rt.block_on(async {
        let shell = Shell::new(plan)?;
        Ok(shell.run().await)
    })
}

/// The loop's state. Dropping it closes the signal stream; child pipes are owned by their
/// drain tasks.
struct Shell {
    engine: Engine,
    reaper: Reaper,
    signals: Signals,
    /// Probe results come back on this channel; each probe task holds a sender clone.
    results_tx: mpsc::UnboundedSender<Event>,
    results_rx: mpsc::UnboundedReceiver<Event>,
    /// Width of the name column in service output.
    name_width: usize,
}

impl Shell {
    fn new(plan: Plan) -> Result<Self, RuntimeError> {
        become_subreaper();
        let signals = Signals::new(
            SHUTDOWN_SIGNALS
                .iter()
                .chain(&FORWARDED_SIGNALS)
                .chain(&[SIGCHLD]),
        )
        .map_err(|source| RuntimeError::Setup {
            what: "signal handlers",
            source,
        })?;
        let name_width = plan
            .services
            .iter()
            .map(|s| s.name.as_str().len())
            .max()
            .unwrap_or(0);
        info!(
            config = %plan.source.display(),
            services = plan.services.len(),
            pid = std::process::id(),
            "supervisor starting"
        );
        let (results_tx, results_rx) = mpsc::unbounded_channel();
        Ok(Shell {
            engine: Engine::new(plan, Instant::now(), &[]),
            reaper: Reaper::default(),
            signals,
            results_tx,
            results_rx,
            name_width,
        })
    }

    async fn run(mut self) -> ExitCode {
        loop {
            if self.carry_out_actions() {
                info!("all services stopped; exiting");
                return ExitCode::SUCCESS;
            }
            let deadline = self
                .engine
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                Some(signal) = self.signals.next() => self.on_signal(signal),
                Some(event) = self.results_rx.recv() => self.engine.handle(event, Instant::now()),
                () = sleep_until(deadline) => self.engine.handle_timeout(Instant::now()),
            }
        }
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
                Action::Report(report) => self.log_report(&report),
                Action::Exit => return true,
            }
        }
        false
    }

    fn spawn(&mut self, id: ServiceId) {
        let spec = self.engine.plan().service(id);
        let launch = Launch {
            argv: &spec.command,
            env: &spec.env,
            user: spec.user.as_ref(),
            workdir: spec.workdir.as_deref(),
            merge_stderr: false,
        };
        let event = match process::spawn(&launch) {
            Ok(child) => {
                let name = spec.name.to_string();
                info!(service = %name, pid = child.pid.0, "started: {}", spec.command.join(" "));
                logs::drain(name.clone(), self.name_width, Stream::Stdout, child.stdout);
                if let Some(stderr) = child.stderr {
                    logs::drain(name, self.name_width, Stream::Stderr, stderr);
                }
                Event::Spawned {
                    service: id,
                    pid: child.pid,
                }
            }
            Err(e) => {
                let reason = format!("{}: {e}", spec.command[0]);
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
        let tx = self.results_tx.clone();
        let finish = move |outcome| {
            // The receiver lives as long as the loop; after exit nobody needs the result.
            let _ = tx.send(Event::ProbeFinished {
                service,
                generation,
                outcome,
            });
        };
        match spec.kind {
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
                let launch = Launch {
                    argv: &argv,
                    env: &[],
                    user: None,
                    workdir: None,
                    merge_stderr: true,
                };
                match process::spawn(&launch) {
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
        }
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
