//! The supervisor's decisions, as a pure state machine (sans-I/O).
//!
//! The engine owns every service's state and decides what happens next: what to start,
//! whether a dependency is satisfied, whether and when to restart, when to probe, what to
//! stop first at shutdown, when to escalate to SIGKILL, and the aggregate status. It performs
//! no I/O and never reads a clock: time comes in as `now` with every input.
//!
//! API, in the order the runtime uses it:
//!
//! * inputs: [`Engine::handle`] for [`Event`]s, [`Engine::handle_command`] for `wms ctl`
//!   requests, [`Engine::handle_timeout`] when the deadline from `poll_timeout` passes
//!   (a spurious call is harmless);
//! * outputs: [`Engine::poll_action`] until `None` after every input, then
//!   [`Engine::poll_timeout`] for the next deadline;
//! * getters: [`Engine::snapshot`] for `/health` and `wms ctl status`.
//!
//! `Spawn` actions must be answered synchronously with [`Event::Spawned`] or
//! [`Event::SpawnFailed`] before the next action is polled.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::memory::Memory;
use super::plan::{Condition, Plan, RestartPolicy, ServiceId, ServiceName, Signal};

/// A service that ran at least this long is "stable": its death restarts it at once and
/// resets the backoff (Docker resets its delay after 10 s of uptime).
pub const STABLE_AFTER: Duration = Duration::from_secs(10);
/// The first restart delay; it doubles up to `backoff_max` (Docker's numbers).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A process id, as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Pid(pub i32);

/// Which incarnation of a service a probe belongs to; results for an older one are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Generation(u64);

/// How a service's process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Termination {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal.
    Killed(Signal),
    /// The program could not be started at all.
    SpawnFailed(String),
}

impl Termination {
    /// True if and only if the process exited with status 0.
    pub fn is_success(&self) -> bool {
        matches!(self, Termination::Exited(0))
    }
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Termination::Exited(c) => write!(f, "exited with code {c}"),
            Termination::Killed(s) => write!(f, "killed by {s}"),
            Termination::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// One probe's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// True if and only if the probe passed.
    pub is_ok: bool,
    /// Why it failed (or what it saw), one line.
    pub detail: String,
    /// How long it took.
    pub took: Duration,
}

/// Inputs from the outside world.
#[derive(Clone, Debug)]
pub enum Event {
    /// The `Spawn` action succeeded.
    Spawned {
        /// The service spawned.
        service: ServiceId,
        /// Its process (and process group) id.
        pid: Pid,
    },
    /// The `Spawn` action failed (missing binary, bad workdir, ...).
    SpawnFailed {
        /// The service.
        service: ServiceId,
        /// The OS's reason.
        reason: String,
    },
    /// A child was reaped. Pids that are not a service's main process are ignored.
    Exited {
        /// The reaped pid.
        pid: Pid,
        /// How it ended.
        how: Termination,
    },
    /// A probe started by `Action::Probe` finished.
    ProbeFinished {
        /// The service probed.
        service: ServiceId,
        /// The generation from the `Probe` action.
        generation: Generation,
        /// The verdict.
        outcome: ProbeOutcome,
    },
    /// A process said `READY=1` on the supervisor's notify socket (its pid as the kernel
    /// reported it). Counts only from a service's main process.
    Notified {
        /// The sender.
        pid: Pid,
    },
    /// SIGTERM/SIGINT/SIGQUIT: stop everything. A second one escalates to SIGKILL.
    ShutdownRequested,
    /// Any other signal: forward it to every running service.
    Forward(Signal),
}

/// Requests from `wms ctl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// Start a stopped service (and remember it is wanted).
    Start,
    /// Stop a service and keep it stopped.
    Stop,
    /// Stop (if running) and start again.
    Restart,
}

/// How a command was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Carried out (the effect shows in the next snapshot).
    Done,
    /// A rolling restart began: its outcome comes as [`Report::HandoverDone`] or
    /// [`Report::HandoverFailed`] for the service.
    Rolling,
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The supervisor is shutting down.
    #[error("the supervisor is shutting down")]
    ShuttingDown,
}

/// Outputs for the runtime to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the service's process (own process group); answer with `Spawned`/`SpawnFailed`.
    Spawn {
        /// The service to start.
        service: ServiceId,
    },
    /// Send `signal` to the process group led by `pid`. ESRCH is not an error.
    Signal {
        /// The service concerned (for logs).
        service: ServiceId,
        /// Process group leader.
        pid: Pid,
        /// The signal.
        signal: Signal,
    },
    /// Run the service's probe once, with its timeout; answer with `ProbeFinished`.
    Probe {
        /// The service to probe.
        service: ServiceId,
        /// Echo this back.
        generation: Generation,
    },
    /// Something worth logging (and, for the aggregate, telling systemd).
    Report(Report),
    /// Every service is down after a shutdown: exit the supervisor.
    Exit,
}

/// Notable moments, for the log and for sd_notify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// A service changed state.
    StateChanged {
        /// The service.
        service: ServiceId,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A process ended without being asked to.
    Died {
        /// The service.
        service: ServiceId,
        /// How.
        how: Termination,
        /// How long it had run.
        uptime: Duration,
    },
    /// A restart is scheduled after `delay`.
    RestartScheduled {
        /// The service.
        service: ServiceId,
        /// The backoff delay (zero for a stable service).
        delay: Duration,
        /// Restarts so far, this one included.
        restarts: u32,
    },
    /// `max_restarts` reached: the service stays down.
    GaveUp {
        /// The service.
        service: ServiceId,
        /// Restarts in a row without a stable run.
        restarts: u32,
    },
    /// The probe failed `retries` times in a row.
    Unhealthy {
        /// The service.
        service: ServiceId,
        /// The last failure.
        detail: String,
    },
    /// A service did not stop within its `stop_timeout`; SIGKILL sent.
    StopTimedOut {
        /// The service.
        service: ServiceId,
    },
    /// Shutdown began.
    ShutdownStarted,
    /// Shutdown escalated: a second request or `shutdown_timeout` passed.
    ShutdownForced {
        /// True if a second signal forced it, false if the timeout did.
        by_request: bool,
    },
    /// The aggregate status changed.
    Overall(Overall),
    /// A rolling restart is done: the new instance is ready and serving, the old one drains.
    HandoverDone {
        /// The service.
        service: ServiceId,
    },
    /// A rolling restart failed; the old instance keeps serving (when there is one).
    HandoverFailed {
        /// The service.
        service: ServiceId,
        /// Why.
        reason: String,
    },
    /// The engine tried a state move its table refuses (a bug; the state stayed).
    RefusedMove {
        /// The service.
        service: ServiceId,
        /// Its state.
        from: State,
        /// The refused target.
        to: State,
    },
}

/// A service's state, with the exact spelling `/health` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Wanted, but dependencies are not satisfied yet.
    Waiting,
    /// Running; the readiness probe has not passed yet (a oneshot: running).
    Starting,
    /// Running and ready.
    Ready,
    /// Running, but the probe failed `retries` times in a row.
    Unhealthy,
    /// Asked to stop; waiting for it to exit.
    Stopping,
    /// Ended; a restart is scheduled.
    Backoff,
    /// Stopped on request (`wms ctl stop`, or shutdown).
    Stopped,
    /// Ended with status 0 and will not be restarted.
    Exited,
    /// A oneshot that finished with status 0.
    Completed,
    /// Ended unsuccessfully and will not be restarted (policy, or `max_restarts`).
    Failed,
}

impl State {
    /// The `/health` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Starting => "starting",
            State::Ready => "ready",
            State::Unhealthy => "unhealthy",
            State::Stopping => "stopping",
            State::Backoff => "backoff",
            State::Stopped => "stopped",
            State::Exited => "exited",
            State::Completed => "completed",
            State::Failed => "failed",
        }
    }
}

/// The aggregate status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    /// Not yet healthy for the first time, and nothing has gone wrong.
    Starting,
    /// Every service is ready (oneshots: completed).
    Healthy,
    /// Something is not ready after a first healthy moment, or has failed.
    Degraded,
    /// Shutting down.
    Stopping,
}

impl Overall {
    /// The `/health` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Starting => "starting",
            Overall::Healthy => "healthy",
            Overall::Degraded => "degraded",
            Overall::Stopping => "stopping",
        }
    }
}

/// Why a running service is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    /// `wms ctl stop`: stay stopped.
    User,
    /// `wms ctl restart`: start again at once.
    Restart,
    /// Failed liveness: restart per policy, counted as a failure.
    Unhealthy,
    /// Supervisor shutdown.
    Shutdown,
}

/// The next instance of a rolling restart.
#[derive(Clone, Debug)]
struct Handover {
    /// Set when the runtime answered the `Spawn`.
    pid: Option<Pid>,
    spawned_at: Option<Instant>,
    /// `READY=1` must come before this, or the new instance is killed.
    ready_by: Instant,
}

impl Svc {
    /// True if and only if some instance of the service has a process.
    fn has_process(&self) -> bool {
        self.pid.is_some()
            || self.handover.as_ref().is_some_and(|h| h.pid.is_some())
            || !self.retiring.is_empty()
    }

    /// Every process of the service, for signals that go to all of them.
    fn processes(&self) -> Vec<Pid> {
        let mut all: Vec<Pid> = self.pid.into_iter().collect();
        all.extend(self.handover.as_ref().and_then(|h| h.pid));
        all.extend(self.retiring.iter().map(|(p, _)| *p));
        all
    }
}

/// Probe bookkeeping for one service incarnation.
#[derive(Clone, Debug, Default)]
struct ProbeTrack {
    /// When the next probe is due (`None`: not scheduled, e.g. one is in flight).
    next_at: Option<Instant>,
    /// Consecutive counted failures.
    failures: u32,
    /// The most recent failure, cleared by a success.
    last_error: Option<String>,
}

/// What the engine knows about one service.
#[derive(Clone, Debug)]
struct Svc {
    state: State,
    /// False after `wms ctl stop` (and during shutdown).
    is_wanted: bool,
    pid: Option<Pid>,
    generation: Generation,
    spawned_at: Option<Instant>,
    /// Automatic restarts since the supervisor started.
    restarts: u32,
    /// Automatic restarts since the last stable run (for `max_restarts`).
    restarts_in_a_row: u32,
    /// The last backoff delay used; `None` after a stable run.
    backoff: Option<Duration>,
    restart_at: Option<Instant>,
    /// stop_timeout deadline: SIGKILL the group when it passes.
    kill_at: Option<Instant>,
    /// Notify readiness: `READY=1` must arrive before this (`start_period` after start).
    ready_by: Option<Instant>,
    stop_reason: Option<StopReason>,
    last_exit: Option<(Termination, Instant)>,
    probe: ProbeTrack,
    /// Scheduled oneshots: when the next run is due (while not running).
    next_run_at: Option<Instant>,
    /// A rolling restart in progress: the next instance, started beside the serving one.
    handover: Option<Handover>,
    /// Earlier instances draining after a handover: pid and SIGKILL deadline.
    retiring: Vec<(Pid, Instant)>,
    /// Scheduled oneshots: the wall-clock start of the run in progress.
    run_started: Option<SystemTime>,
    /// Scheduled oneshots: the wall-clock start of the last successful run.
    last_success: Option<SystemTime>,
}

impl Svc {
    fn new(is_wanted: bool) -> Self {
        Svc {
            state: if is_wanted {
                State::Waiting
            } else {
                State::Stopped
            },
            is_wanted,
            pid: None,
            generation: Generation::default(),
            spawned_at: None,
            restarts: 0,
            restarts_in_a_row: 0,
            backoff: None,
            restart_at: None,
            kill_at: None,
            ready_by: None,
            stop_reason: None,
            last_exit: None,
            probe: ProbeTrack::default(),
            next_run_at: None,
            handover: None,
            retiring: Vec::new(),
            run_started: None,
            last_success: None,
        }
    }
}

/// Where the supervisor as a whole is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    ShuttingDown {
        /// `shutdown_timeout` deadline; `None` once everything was SIGKILLed.
        deadline: Option<Instant>,
    },
    Done,
}

/// The state machine. See the module docs for the calling protocol.
#[derive(Debug)]
pub struct Engine {
    plan: Plan,
    svcs: Vec<Svc>,
    /// `dependents[i]`: every service that depends on service i, directly or through others
    /// (completed or failed oneshots in between included): shutdown stops service i only
    /// after all of them are gone.
    dependents: Vec<Vec<ServiceId>>,
    actions: VecDeque<Action>,
    phase: Phase,
    started_at: Instant,
    /// The wall-clock time at `started_at`: schedules are wall-clock times, and the engine
    /// reads no clock, so it derives wall time from the instants it is given.
    started_wall: SystemTime,
    has_been_healthy: bool,
    overall: Overall,
    /// Per service: removed by a reload (kept as a tombstone until its process is gone, so
    /// ids stay stable for everything in flight).
    removed: Vec<bool>,
    /// Services a reload changed, restarted one after another in dependency order.
    reload_queue: VecDeque<ServiceId>,
    /// The one of them restarting now.
    reload_current: Option<ServiceId>,
}

impl Engine {
    /// A new engine at `now` (wall-clock time `wall`). What `memory` holds from a previous
    /// run applies: services stopped by request start out stopped, and a scheduled oneshot
    /// whose run was missed while the supervisor was down (or that never ran) is due at
    /// once, the others at their next time. The first `Spawn` actions are queued at once.
    pub fn new(plan: Plan, now: Instant, wall: SystemTime, memory: &Memory) -> Self {
        let svcs = plan
            .services
            .iter()
            .map(|s| {
                let mut svc = Svc::new(!memory.stopped.contains(&s.name));
                if let Some(schedule) = s.schedule {
                    svc.last_success = memory
                        .last_runs
                        .iter()
                        .find(|(n, _)| *n == s.name)
                        .map(|(_, t)| *t);
                    let due = svc.last_success.map(|t| schedule.next_after(t));
                    match due {
                        // Not due yet: it completed in a previous life (remembered).
                        Some(d) if d > wall => {
                            svc.next_run_at =
                                Some(now + d.duration_since(wall).unwrap_or_default());
                            if svc.is_wanted {
                                svc.state = State::Completed;
                            }
                        }
                        // Never ran, or missed while the supervisor was down: now, once.
                        Some(_) | None => svc.next_run_at = Some(now),
                    }
                }
                svc
            })
            .collect();
        let dependents = plan.transitive_dependents();
        let mut engine = Engine {
            plan,
            svcs,
            dependents,
            actions: VecDeque::new(),
            phase: Phase::Running,
            started_at: now,
            started_wall: wall,
            has_been_healthy: false,
            overall: Overall::Starting,
            removed: Vec::new(),
            reload_queue: VecDeque::new(),
            reload_current: None,
        };
        engine.removed = vec![false; engine.svcs.len()];
        engine.settle(now);
        engine
    }

    /// The service called `name`, unless a reload removed it.
    pub fn find(&self, name: &str) -> Option<ServiceId> {
        self.plan
            .ids()
            .find(|id| !self.removed[id.0] && self.plan.service(*id).name.as_str() == name)
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// True if and only if `pid` is the main process of a service instance (serving,
    /// starting in a rolling restart, or retiring after one).
    pub fn is_service_pid(&self, pid: Pid) -> bool {
        self.svcs.iter().any(|s| s.processes().contains(&pid))
    }

    /// Services stopped by request whose policy remembers that (`unless-stopped`).
    pub fn remembered_stops(&self) -> Vec<ServiceName> {
        self.plan
            .ids()
            .filter(|id| {
                !self.svcs[id.0].is_wanted
                    && self.plan.service(*id).restart == RestartPolicy::UnlessStopped
            })
            .map(|id| self.plan.service(id).name.clone())
            .collect()
    }

    /// Scheduled oneshots and the wall-clock start of their last successful run, for
    /// `state_dir` (see [`Memory`]).
    pub fn last_runs(&self) -> Vec<(ServiceName, SystemTime)> {
        self.plan
            .ids()
            .filter_map(|id| {
                let t = self.svcs[id.0].last_success?;
                Some((self.plan.service(id).name.clone(), t))
            })
            .collect()
    }

    /// The wall-clock time at `now`.
    fn wall(&self, now: Instant) -> SystemTime {
        self.started_wall + now.saturating_duration_since(self.started_at)
    }

    /// The next action to carry out, if any.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest deadline at which `handle_timeout` must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let svc_deadlines = self.svcs.iter().flat_map(|s| {
            let probe = s
                .pid
                .and(s.probe.next_at)
                .filter(|_| s.state != State::Stopping);
            // A scheduled run is due only while the service is idle between runs and wanted
            // (a due service that waits for its dependencies is started by `settle`).
            let run = s.next_run_at.filter(|_| {
                s.pid.is_none()
                    && s.is_wanted
                    && self.phase == Phase::Running
                    && matches!(s.state, State::Completed | State::Failed | State::Exited)
            });
            let ready_by = s.ready_by.filter(|_| s.state == State::Starting);
            let handover = s.handover.as_ref().map(|h| h.ready_by);
            let retiring = s.retiring.iter().map(|(_, t)| *t).min();
            [
                s.restart_at,
                s.kill_at,
                probe,
                run,
                ready_by,
                handover,
                retiring,
            ]
        });
        let shutdown = match self.phase {
            Phase::ShuttingDown { deadline } => deadline,
            Phase::Running | Phase::Done => None,
        };
        svc_deadlines.chain([shutdown]).flatten().min()
    }

    /// Feeds one event in.
    pub fn handle(&mut self, event: Event, now: Instant) {
        match event {
            Event::Spawned { service, pid } => match self.svcs[service.0].handover.as_mut() {
                Some(h) if h.pid.is_none() => {
                    h.pid = Some(pid);
                    h.spawned_at = Some(now);
                }
                _ => self.on_spawned(service, pid, now),
            },
            Event::SpawnFailed { service, reason } => {
                let is_handover = self.svcs[service.0]
                    .handover
                    .as_ref()
                    .is_some_and(|h| h.pid.is_none());
                if is_handover {
                    self.fail_handover(
                        service,
                        format!("the new instance could not start: {reason}"),
                    );
                } else {
                    self.on_ended(service, Termination::SpawnFailed(reason), now)
                }
            }
            Event::Exited { pid, how } => {
                if let Some(i) = self
                    .svcs
                    .iter()
                    .position(|s| s.handover.as_ref().is_some_and(|h| h.pid == Some(pid)))
                {
                    self.actions.push_back(Action::Signal {
                        service: ServiceId(i),
                        pid,
                        signal: Signal::KILL,
                    });
                    self.svcs[i].handover = None;
                    self.fail_handover(
                        ServiceId(i),
                        format!("the new instance {how} before it was ready"),
                    );
                } else if let Some(i) = self
                    .svcs
                    .iter()
                    .position(|s| s.retiring.iter().any(|(p, _)| *p == pid))
                {
                    // A drained instance is gone; its leftovers go with it.
                    self.svcs[i].retiring.retain(|(p, _)| *p != pid);
                    self.actions.push_back(Action::Signal {
                        service: ServiceId(i),
                        pid,
                        signal: Signal::KILL,
                    });
                } else if let Some(i) = self.svcs.iter().position(|s| s.pid == Some(pid)) {
                    // Leftovers of the group (workers, orphans) go with the main process;
                    // stale PostgreSQL backends would otherwise block the next postmaster.
                    self.actions.push_back(Action::Signal {
                        service: ServiceId(i),
                        pid,
                        signal: Signal::KILL,
                    });
                    if self.svcs[i]
                        .handover
                        .as_ref()
                        .is_some_and(|h| h.pid.is_some())
                    {
                        self.adopt_handover(ServiceId(i), &how, now);
                    } else {
                        self.on_ended(ServiceId(i), how, now);
                    }
                }
            }
            Event::ProbeFinished {
                service,
                generation,
                outcome,
            } => self.on_probe(service, generation, outcome, now),
            Event::Notified { pid } => {
                if let Some(i) = self
                    .svcs
                    .iter()
                    .position(|s| s.handover.as_ref().is_some_and(|h| h.pid == Some(pid)))
                {
                    self.complete_handover(ServiceId(i), now);
                } else if let Some(i) = self.svcs.iter().position(|s| s.pid == Some(pid)) {
                    self.on_ready_notification(ServiceId(i), now);
                }
            }
            Event::ShutdownRequested => self.on_shutdown_request(now),
            Event::Forward(signal) => {
                for id in self.plan.ids() {
                    self.signal_processes(id, signal);
                }
            }
        }
        self.settle(now);
    }

    /// Fires every deadline that has passed. Harmless when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        for id in self.plan.ids() {
            let s = &mut self.svcs[id.0];
            if s.restart_at.is_some_and(|t| t <= now) {
                s.restart_at = None;
                if s.state == State::Backoff {
                    self.set_state(id, State::Waiting);
                }
            }
            let s = &self.svcs[id.0];
            if s.state == State::Starting && s.ready_by.is_some_and(|t| t <= now) {
                self.on_not_ready_in_time(id, now);
            }
            let s = &mut self.svcs[id.0];
            if s.handover.as_ref().is_some_and(|h| h.ready_by <= now) {
                if let Some(pid) = s.handover.take().and_then(|h| h.pid) {
                    self.actions.push_back(Action::Signal {
                        service: id,
                        pid,
                        signal: Signal::KILL,
                    });
                }
                let period = self
                    .plan
                    .service(id)
                    .ready
                    .as_ref()
                    .map_or(Duration::ZERO, |r| r.start_period);
                self.fail_handover(
                    id,
                    format!(
                        "the new instance did not say READY=1 within {}; it was stopped",
                        humantime::format_duration(period)
                    ),
                );
            }
            let s = &mut self.svcs[id.0];
            let due: Vec<Pid> = s
                .retiring
                .iter_mut()
                .filter(|(_, t)| *t <= now)
                .map(|(p, t)| {
                    // Far away: one SIGKILL is enough; the reap removes the entry.
                    *t = now + Duration::from_secs(365 * 24 * 3600);
                    *p
                })
                .collect();
            for pid in due {
                self.kill_overdue(id, pid);
            }
            let s = &mut self.svcs[id.0];
            if let (Some(t), Some(pid)) = (s.kill_at, s.pid) {
                if t <= now {
                    s.kill_at = None;
                    self.kill_overdue(id, pid);
                }
            }
            let s = &self.svcs[id.0];
            let is_run_due = s.pid.is_none()
                && s.is_wanted
                && self.phase == Phase::Running
                && s.next_run_at.is_some_and(|t| t <= now)
                && matches!(s.state, State::Completed | State::Failed | State::Exited);
            if is_run_due {
                self.set_state(id, State::Waiting);
            }
            let s = &mut self.svcs[id.0];
            if s.pid.is_some()
                && s.state != State::Stopping
                && s.probe.next_at.is_some_and(|t| t <= now)
            {
                s.probe.next_at = None;
                self.actions.push_back(Action::Probe {
                    service: id,
                    generation: s.generation,
                });
            }
        }
        if let Phase::ShuttingDown {
            deadline: Some(deadline),
        } = self.phase
        {
            if deadline <= now {
                self.force_kill(false);
            }
        }
        self.settle(now);
    }

    /// Carries out a `wms ctl` request for one service.
    pub fn handle_command(
        &mut self,
        id: ServiceId,
        command: Command,
        now: Instant,
    ) -> Result<Accepted, CommandError> {
        if self.phase != Phase::Running {
            return Err(CommandError::ShuttingDown);
        }
        if command == Command::Restart && self.can_roll(id) {
            let spec = self.plan.service(id);
            let start_period = spec
                .ready
                .as_ref()
                .map_or(Duration::ZERO, |r| r.start_period);
            let s = &mut self.svcs[id.0];
            s.handover = Some(Handover {
                pid: None,
                spawned_at: None,
                ready_by: now + start_period,
            });
            self.actions.push_back(Action::Spawn { service: id });
            self.settle(now);
            return Ok(Accepted::Rolling);
        }
        let s = &mut self.svcs[id.0];
        match command {
            Command::Stop => {
                s.is_wanted = false;
                s.restart_at = None;
                self.abandon_handover(id, now, "stopped by request");
                let s = &mut self.svcs[id.0];
                if s.pid.is_some() {
                    self.stop(id, StopReason::User, now);
                } else {
                    self.set_state(id, State::Stopped);
                }
            }
            Command::Start | Command::Restart => {
                s.is_wanted = true;
                // A manual start forgets the crash history, as `docker start` does.
                s.backoff = None;
                s.restarts_in_a_row = 0;
                s.restart_at = None;
                // ... and runs a scheduled oneshot now.
                if s.next_run_at.is_some() {
                    s.next_run_at = Some(now);
                }
                match (s.pid.is_some(), command) {
                    (true, Command::Restart) => self.stop(id, StopReason::Restart, now),
                    (true, _) => {
                        // Already running; a pending manual stop turns into a restart.
                        if s.stop_reason == Some(StopReason::User) {
                            s.stop_reason = Some(StopReason::Restart);
                        }
                    }
                    (false, _) => self.set_state(id, State::Waiting),
                }
            }
        }
        self.settle(now);
        Ok(Accepted::Done)
    }

    /// `wms ctl signal NAME SIG`: the signal to every process group of the service.
    pub fn signal_service(
        &mut self,
        id: ServiceId,
        signal: Signal,
        now: Instant,
    ) -> Result<Accepted, CommandError> {
        if self.phase != Phase::Running {
            return Err(CommandError::ShuttingDown);
        }
        self.signal_processes(id, signal);
        self.settle(now);
        Ok(Accepted::Done)
    }

    /// A process group that outlived its stop timeout: SIGKILL, and say so.
    fn kill_overdue(&mut self, id: ServiceId, pid: Pid) {
        self.actions.push_back(Action::Signal {
            service: id,
            pid,
            signal: Signal::KILL,
        });
        self.actions
            .push_back(Action::Report(Report::StopTimedOut { service: id }));
    }

    /// `signal` to every process group of the service (none when it is not running).
    fn signal_processes(&mut self, id: ServiceId, signal: Signal) {
        for pid in self.svcs[id.0].processes() {
            self.actions.push_back(Action::Signal {
                service: id,
                pid,
                signal,
            });
        }
    }

    /// True if and only if a restart of `id` can be rolling: its sockets are held (old and
    /// new instances share them), it says READY=1 (a probe could not tell the instances
    /// apart on a shared port), it serves now, and no handover is already under way.
    fn can_roll(&self, id: ServiceId) -> bool {
        let spec = self.plan.service(id);
        let s = &self.svcs[id.0];
        !spec.listen.is_empty()
            && spec.ready.as_ref().is_some_and(|r| r.is_notify)
            && s.pid.is_some()
            && matches!(s.state, State::Ready | State::Unhealthy)
            && s.handover.is_none()
    }

    /// The new instance said READY=1: it becomes the serving one, the old one is asked to
    /// stop (it stops accepting and finishes its requests within `stop_timeout`).
    fn complete_handover(&mut self, id: ServiceId, now: Instant) {
        let spec = self.plan.service(id);
        let (stop_signal, stop_timeout) = (spec.stop_signal, spec.stop_timeout);
        let interval = spec
            .ready
            .as_ref()
            .and_then(|r| r.kind.as_ref().map(|_| r.interval));
        let s = &mut self.svcs[id.0];
        let Some(h) = s.handover.take() else { return };
        let Some(new_pid) = h.pid else { return };
        if let Some(old) = s.pid.replace(new_pid) {
            s.retiring.push((old, now + stop_timeout));
            self.actions.push_back(Action::Signal {
                service: id,
                pid: old,
                signal: stop_signal,
            });
        }
        let s = &mut self.svcs[id.0];
        s.generation = Generation(s.generation.0 + 1);
        s.spawned_at = h.spawned_at.or(Some(now));
        s.probe = ProbeTrack {
            next_at: interval.map(|i| now + i),
            ..ProbeTrack::default()
        };
        self.set_state(id, State::Ready);
        self.actions
            .push_back(Action::Report(Report::HandoverDone { service: id }));
    }

    /// The serving instance died during a rolling restart: the new one, already started,
    /// takes over as a plain start (it becomes ready when it says READY=1).
    fn adopt_handover(&mut self, id: ServiceId, how: &Termination, now: Instant) {
        let s = &mut self.svcs[id.0];
        let Some(h) = s.handover.take() else { return };
        s.last_exit = Some((how.clone(), now));
        s.pid = h.pid;
        s.spawned_at = h.spawned_at;
        s.ready_by = Some(h.ready_by);
        s.generation = Generation(s.generation.0 + 1);
        s.probe = ProbeTrack::default();
        self.actions.push_back(Action::Report(Report::Died {
            service: id,
            how: how.clone(),
            uptime: Duration::ZERO,
        }));
        self.set_state(id, State::Starting);
        self.fail_handover(
            id,
            format!(
                "the serving instance {how} during the rolling restart; the new one takes over"
            ),
        );
    }

    /// Ends a rolling restart of `id` in progress, if any: its new instance (not serving
    /// yet) is killed and the handover fails with `reason`.
    fn abandon_handover(&mut self, id: ServiceId, now: Instant, reason: &str) {
        let s = &mut self.svcs[id.0];
        if let Some(pid) = s.handover.as_ref().and_then(|h| h.pid) {
            s.retiring.push((pid, now));
            self.actions.push_back(Action::Signal {
                service: id,
                pid,
                signal: Signal::KILL,
            });
        }
        if self.svcs[id.0].handover.is_some() {
            self.fail_handover(id, reason.into());
        }
    }

    fn fail_handover(&mut self, id: ServiceId, reason: String) {
        self.svcs[id.0].handover = None;
        self.actions
            .push_back(Action::Report(Report::HandoverFailed {
                service: id,
                reason,
            }));
    }

    fn on_spawned(&mut self, id: ServiceId, pid: Pid, now: Instant) {
        let spec = self.plan.service(id);
        let state = match (&spec.ready, spec.is_oneshot) {
            (Some(_), _) | (None, true) => State::Starting,
            (None, false) => State::Ready,
        };
        // With notification, READY=1 decides readiness and the probe (if any) only checks
        // liveness afterwards; without, the probe runs fast from the start.
        let (first_probe, ready_by) = match &spec.ready {
            Some(p) if p.is_notify => (None, Some(now + p.start_period)),
            Some(p) if p.kind.is_some() => (Some(now + p.start_interval), None),
            Some(_) | None => (None, None),
        };
        let s = &mut self.svcs[id.0];
        s.pid = Some(pid);
        s.spawned_at = Some(now);
        s.ready_by = ready_by;
        s.probe = ProbeTrack {
            next_at: first_probe,
            ..ProbeTrack::default()
        };
        self.set_state(id, state);
    }

    /// `READY=1` from the service's main process: ready (liveness probing begins).
    fn on_ready_notification(&mut self, id: ServiceId, now: Instant) {
        let Some(spec) = self.plan.service(id).ready.as_ref() else {
            return;
        };
        let (is_notify, has_probe, interval) = (spec.is_notify, spec.kind.is_some(), spec.interval);
        let s = &mut self.svcs[id.0];
        if !is_notify || s.state != State::Starting {
            return;
        }
        s.ready_by = None;
        s.probe.next_at = has_probe.then_some(now + interval);
        self.set_state(id, State::Ready);
    }

    /// No `READY=1` within `start_period`: unhealthy, restarted per policy.
    fn on_not_ready_in_time(&mut self, id: ServiceId, now: Instant) {
        let spec = self.plan.service(id);
        let restart = spec.restart;
        let period = spec
            .ready
            .as_ref()
            .map_or(Duration::ZERO, |p| p.start_period);
        let s = &mut self.svcs[id.0];
        s.ready_by = None;
        let detail = format!(
            "no READY=1 within the start period ({})",
            humantime::format_duration(period)
        );
        s.probe.last_error = Some(detail.clone());
        self.actions.push_back(Action::Report(Report::Unhealthy {
            service: id,
            detail,
        }));
        self.set_state(id, State::Unhealthy);
        if restart.restarts_after(false) {
            self.stop(id, StopReason::Unhealthy, now);
        }
    }

    /// The service's process is gone (or never started): decide what comes next.
    fn on_ended(&mut self, id: ServiceId, how: Termination, now: Instant) {
        let s = &mut self.svcs[id.0];
        s.ready_by = None;
        let uptime = s
            .spawned_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        s.pid = None;
        s.kill_at = None;
        s.probe.next_at = None;
        s.last_exit = Some((how.clone(), now));
        let reason = s.stop_reason.take();
        let spec = self.plan.service(id);
        let (is_oneshot, policy) = (spec.is_oneshot, spec.restart);

        if matches!(self.phase, Phase::ShuttingDown { .. } | Phase::Done) {
            self.set_state(id, State::Stopped);
            return;
        }
        match reason {
            Some(StopReason::User | StopReason::Shutdown) => self.set_state(id, State::Stopped),
            Some(StopReason::Restart) => self.set_state(id, State::Waiting),
            None if is_oneshot && how.is_success() => {
                let s = &mut self.svcs[id.0];
                s.backoff = None;
                s.restarts_in_a_row = 0;
                if let Some(started) = s.run_started.take() {
                    s.last_success = Some(started);
                }
                self.set_state(id, State::Completed);
                // A run that outlasted its interval: the next one starts now (one run, never
                // a queue of missed ones). handle_timeout does it at the next call.
            }
            None | Some(StopReason::Unhealthy) => {
                let is_success = how.is_success() && reason.is_none();
                self.actions.push_back(Action::Report(Report::Died {
                    service: id,
                    how,
                    uptime,
                }));
                if policy.restarts_after(is_success) {
                    self.schedule_restart(id, uptime, now);
                } else {
                    self.set_state(
                        id,
                        if is_success {
                            State::Exited
                        } else {
                            State::Failed
                        },
                    );
                }
            }
        }
    }

    /// Docker's backoff: 100 ms doubling up to `backoff_max`; after a stable run the
    /// restart is immediate and the backoff starts over.
    fn schedule_restart(&mut self, id: ServiceId, uptime: Duration, now: Instant) {
        let spec = self.plan.service(id);
        let (max_restarts, backoff_max) = (spec.max_restarts, spec.backoff_max);
        let s = &mut self.svcs[id.0];
        let is_stable = uptime >= STABLE_AFTER;
        if is_stable {
            s.backoff = None;
            s.restarts_in_a_row = 0;
        }
        if max_restarts.is_some_and(|max| s.restarts_in_a_row >= max) {
            let restarts = s.restarts_in_a_row;
            self.actions.push_back(Action::Report(Report::GaveUp {
                service: id,
                restarts,
            }));
            self.set_state(id, State::Failed);
            return;
        }
        let delay = if is_stable {
            Duration::ZERO
        } else {
            let next = s
                .backoff
                .map_or(FIRST_BACKOFF, |b| b.saturating_mul(2))
                .min(backoff_max);
            s.backoff = Some(next);
            next
        };
        s.restarts += 1;
        s.restarts_in_a_row += 1;
        let restarts = s.restarts;
        self.actions
            .push_back(Action::Report(Report::RestartScheduled {
                service: id,
                delay,
                restarts,
            }));
        if delay.is_zero() {
            self.set_state(id, State::Waiting);
        } else {
            self.svcs[id.0].restart_at = Some(now + delay);
            self.set_state(id, State::Backoff);
        }
    }

    fn on_probe(
        &mut self,
        id: ServiceId,
        generation: Generation,
        outcome: ProbeOutcome,
        now: Instant,
    ) {
        let service = self.plan.service(id);
        let restart = service.restart;
        let Some(spec) = service.ready.as_ref() else {
            return;
        };
        let (interval, start_interval, start_period, retries) = (
            spec.interval,
            spec.start_interval,
            spec.start_period,
            spec.retries,
        );
        let s = &mut self.svcs[id.0];
        if generation != s.generation || s.pid.is_none() || s.state == State::Stopping {
            return; // A stale result for an earlier incarnation, or a service going away.
        }
        if outcome.is_ok {
            s.probe.failures = 0;
            s.probe.last_error = None;
            s.probe.next_at = Some(now + interval);
            if matches!(s.state, State::Starting | State::Unhealthy) {
                self.set_state(id, State::Ready);
            }
            return;
        }
        s.probe.last_error = Some(outcome.detail.clone());
        let in_start_period =
            s.state == State::Starting && s.spawned_at.is_some_and(|t| now < t + start_period);
        if in_start_period {
            s.probe.next_at = Some(now + start_interval);
            return;
        }
        s.probe.failures += 1;
        s.probe.next_at = Some(now + interval);
        if s.probe.failures < retries {
            return;
        }
        if s.state != State::Unhealthy {
            self.actions.push_back(Action::Report(Report::Unhealthy {
                service: id,
                detail: outcome.detail,
            }));
            self.set_state(id, State::Unhealthy);
        }
        if restart.restarts_after(false) {
            self.stop(id, StopReason::Unhealthy, now);
        }
    }

    fn on_shutdown_request(&mut self, now: Instant) {
        match self.phase {
            Phase::Running => {
                self.phase = Phase::ShuttingDown {
                    deadline: Some(now + self.plan.supervisor.shutdown_timeout),
                };
                self.actions
                    .push_back(Action::Report(Report::ShutdownStarted));
                for id in self.plan.ids() {
                    let s = &mut self.svcs[id.0];
                    s.restart_at = None;
                    // The new instance of a rolling restart is not serving yet: the
                    // shutdown has no reason to wait for it.
                    self.abandon_handover(id, now, "the supervisor is shutting down");
                    let s = &self.svcs[id.0];
                    if s.pid.is_none() && matches!(s.state, State::Waiting | State::Backoff) {
                        self.set_state(id, State::Stopped);
                    }
                }
            }
            Phase::ShuttingDown { deadline: Some(_) } => self.force_kill(true),
            Phase::ShuttingDown { deadline: None } | Phase::Done => {}
        }
    }

    /// SIGKILL every running service now.
    fn force_kill(&mut self, by_request: bool) {
        self.phase = Phase::ShuttingDown { deadline: None };
        self.actions
            .push_back(Action::Report(Report::ShutdownForced { by_request }));
        for id in self.plan.ids() {
            let s = &mut self.svcs[id.0];
            s.kill_at = None;
            for pid in s.processes() {
                self.actions.push_back(Action::Signal {
                    service: id,
                    pid,
                    signal: Signal::KILL,
                });
            }
        }
    }

    /// Sends the stop signal and arms the stop timeout. A service already stopping keeps
    /// its timer; only the reason is updated.
    fn stop(&mut self, id: ServiceId, reason: StopReason, now: Instant) {
        let spec = self.plan.service(id);
        let s = &mut self.svcs[id.0];
        let Some(pid) = s.pid else { return };
        s.stop_reason = Some(match (s.stop_reason, reason) {
            (Some(StopReason::Shutdown), _) => StopReason::Shutdown,
            (_, r) => r,
        });
        if s.state == State::Stopping {
            return;
        }
        s.kill_at = Some(now + spec.stop_timeout);
        self.actions.push_back(Action::Signal {
            service: id,
            pid,
            signal: spec.stop_signal,
        });
        self.set_state(id, State::Stopping);
    }

    /// After every input: start what may start, stop what shutdown allows, exit when done,
    /// and report aggregate changes.
    fn settle(&mut self, now: Instant) {
        match self.phase {
            Phase::Running => {
                self.advance_reload(now);
                for id in self.plan.ids() {
                    if self.removed[id.0] {
                        continue;
                    }
                    let s = &self.svcs[id.0];
                    let is_due = s.next_run_at.is_none_or(|t| t <= now);
                    if s.state == State::Waiting
                        && s.is_wanted
                        && is_due
                        && self.dependencies_met(id)
                    {
                        self.spawn(id, now);
                    }
                }
            }
            Phase::ShuttingDown { .. } => {
                // Reverse dependency order over the whole graph: a service stops once every
                // service that depends on it, directly or through others, is gone. (The backend
                // reaches postgres only through the completed `migrate`; a direct-edges rule
                // would stop postgres under a live backend.)
                for id in self.plan.ids().rev() {
                    let s = &self.svcs[id.0];
                    let dependents_gone = self.dependents[id.0]
                        .iter()
                        .all(|d| !self.svcs[d.0].has_process());
                    if s.pid.is_some() && s.state != State::Stopping && dependents_gone {
                        self.stop(id, StopReason::Shutdown, now);
                    }
                }
                if self.svcs.iter().all(|s| !s.has_process()) {
                    self.phase = Phase::Done;
                    self.actions.push_back(Action::Exit);
                }
            }
            Phase::Done => {}
        }
        let overall = self.compute_overall();
        if overall != self.overall {
            self.overall = overall;
            self.actions
                .push_back(Action::Report(Report::Overall(overall)));
        }
    }

    fn spawn(&mut self, id: ServiceId, now: Instant) {
        let wall = self.wall(now);
        if let Some(schedule) = self.plan.service(id).schedule {
            // The next run counts from this one's start.
            let next = schedule.next_after(wall);
            let s = &mut self.svcs[id.0];
            s.run_started = Some(wall);
            s.next_run_at = Some(now + next.duration_since(wall).unwrap_or_default());
        }
        let s = &mut self.svcs[id.0];
        s.generation = Generation(s.generation.0 + 1);
        // The uptime of this attempt starts at `Spawned`; a failed spawn ran for zero time
        // (not since the previous start, which would count it as a stable run and restart
        // it at once, over and over).
        s.spawned_at = None;
        // Starting with no pid yet: the runtime answers `Spawn` before anything else.
        self.set_state(id, State::Starting);
        self.actions.push_back(Action::Spawn { service: id });
    }

    /// True if and only if every dependency of `id` is in its required condition.
    fn dependencies_met(&self, id: ServiceId) -> bool {
        self.plan.service(id).depends_on.iter().all(|d| {
            is_condition_met(
                self.svcs[d.on.0].state,
                self.svcs[d.on.0].pid.is_some(),
                d.condition,
            )
        })
    }

    /// Moves a service to `to` if [`is_allowed_move`] permits it. A refused move is a bug in
    /// the engine: it is reported (and fails the engine tests), and the state stays.
    fn set_state(&mut self, id: ServiceId, to: State) {
        let from = self.svcs[id.0].state;
        if from == to {
            return;
        }
        if !is_allowed_move(from, to) {
            debug_assert!(false, "refused state move {from:?} -> {to:?}");
            self.actions.push_back(Action::Report(Report::RefusedMove {
                service: id,
                from,
                to,
            }));
            return;
        }
        self.svcs[id.0].state = to;
        self.actions.push_back(Action::Report(Report::StateChanged {
            service: id,
            from,
            to,
        }));
    }

    fn compute_overall(&mut self) -> Overall {
        if self.phase != Phase::Running {
            return Overall::Stopping;
        }
        let all_ok = self.plan.ids().filter(|id| !self.removed[id.0]).all(|id| {
            counts_as_up(
                self.svcs[id.0].state,
                self.plan.service(id).schedule.is_some(),
            )
        });
        if all_ok {
            self.has_been_healthy = true;
            return Overall::Healthy;
        }
        let has_trouble = self
            .plan
            .ids()
            .filter(|id| !self.removed[id.0])
            .map(|id| &self.svcs[id.0])
            .any(|s| {
                matches!(
                    s.state,
                    State::Unhealthy
                        | State::Backoff
                        | State::Failed
                        | State::Exited
                        | State::Stopped
                )
            });
        if self.has_been_healthy || has_trouble {
            Overall::Degraded
        } else {
            Overall::Starting
        }
    }

    /// A read-only view of everything, for `/health`, metrics and `wms ctl status`. Times
    /// are instants, so a published snapshot renders fresh durations later.
    pub fn snapshot(&self) -> Snapshot {
        let services = self
            .plan
            .ids()
            .filter(|id| !self.removed[id.0] || self.svcs[id.0].has_process())
            .map(|id| {
                let s = &self.svcs[id.0];
                let spec = self.plan.service(id);
                let waiting_for = if s.state == State::Waiting {
                    spec.depends_on
                        .iter()
                        .filter(|d| {
                            let dep = &self.svcs[d.on.0];
                            !is_condition_met(dep.state, dep.pid.is_some(), d.condition)
                        })
                        .map(|d| (self.plan.service(d.on).name.clone(), d.condition))
                        .collect()
                } else {
                    Vec::new()
                };
                ServiceSnapshot {
                    name: spec.name.clone(),
                    state: s.state,
                    is_oneshot: spec.is_oneshot,
                    is_scheduled: spec.schedule.is_some(),
                    pid: s.pid,
                    restarts: s.restarts,
                    running_since: s.pid.and(s.spawned_at),
                    last_exit: s.last_exit.clone(),
                    last_probe_error: s.probe.last_error.clone(),
                    next_restart_at: s.restart_at,
                    next_run_at: s.next_run_at.filter(|_| s.pid.is_none()),
                    waiting_for,
                }
            })
            .collect();
        Snapshot {
            status: self.overall,
            started_at: self.started_at,
            services,
        }
    }
}

/// Every state move the engine may make, in one table; anything else is refused.
///
/// * Waiting → Starting (spawned), or Stopped (stop, shutdown).
/// * Starting, Ready, Unhealthy: the process runs. Starting → Ready (probe passed, or none);
///   Ready ⇄ Unhealthy (liveness); any of them → Stopping (asked to stop) or, when the process
///   ends on its own, to what its policy says: Backoff or Waiting (restart), Completed (a
///   oneshot's success), Exited or Failed (not restarted), Stopped (during shutdown); Ready
///   or Unhealthy → Starting when the serving instance died during a rolling restart and
///   the new one takes over.
/// * Stopping → Stopped (asked to stay down), Waiting (restart), Backoff or Failed (stopped
///   because unhealthy: restart per policy, or give up).
/// * Backoff → Waiting (the delay passed) or Stopped.
/// * Stopped, Exited, Completed, Failed → Waiting (started again) or Stopped (stopped on
///   request); never straight to a running state.
pub fn is_allowed_move(from: State, to: State) -> bool {
    use State::*;
    match from {
        Waiting => matches!(to, Starting | Stopped),
        Starting | Ready | Unhealthy => match to {
            Ready => from != Ready,
            Unhealthy => from != Unhealthy,
            Stopping | Backoff | Waiting | Completed | Exited | Failed | Stopped => true,
            // The serving instance died during a rolling restart and the new one, already
            // started beside it, takes over.
            Starting => from != Starting,
        },
        Stopping => matches!(to, Stopped | Waiting | Backoff | Failed),
        Backoff => matches!(to, Waiting | Stopped),
        Stopped | Exited | Completed | Failed => matches!(to, Waiting | Stopped),
    }
}

/// True if and only if a service in `state` counts as up for the aggregate: ready, or a
/// completed oneshot. A scheduled oneshot also counts as up between runs and during one
/// (a nightly backup does not make the stack unhealthy); only its failure counts against it.
pub fn counts_as_up(state: State, is_scheduled: bool) -> bool {
    match state {
        State::Ready | State::Completed => true,
        State::Waiting | State::Starting => is_scheduled,
        State::Unhealthy
        | State::Stopping
        | State::Backoff
        | State::Stopped
        | State::Exited
        | State::Failed => false,
    }
}

fn is_condition_met(state: State, is_running: bool, condition: Condition) -> bool {
    match condition {
        Condition::Started => {
            (is_running && matches!(state, State::Starting | State::Ready | State::Unhealthy))
                || state == State::Completed
        }
        Condition::Ready => matches!(state, State::Ready | State::Completed),
        Condition::Completed => state == State::Completed,
    }
}

/// Everything `/health` and `wms ctl status` show.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The aggregate.
    pub status: Overall,
    /// When the engine was created.
    pub started_at: Instant,
    /// In start order.
    pub services: Vec<ServiceSnapshot>,
}

impl Snapshot {
    /// True if and only if the aggregate is healthy.
    pub fn is_healthy(&self) -> bool {
        self.status == Overall::Healthy
    }

    /// One line for sd_notify `STATUS=` and the log.
    pub fn summary(&self) -> String {
        let not_ok: Vec<String> = self
            .services
            .iter()
            .filter(|s| !s.is_ok())
            .map(|s| format!("{} {}", s.name, s.state.as_str()))
            .collect();
        if not_ok.is_empty() {
            format!(
                "{}: all {} services ready",
                self.status.as_str(),
                self.services.len()
            )
        } else {
            format!("{}: {}", self.status.as_str(), not_ok.join(", "))
        }
    }
}

impl ServiceSnapshot {
    /// Time since the running process started, at `now`.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        self.running_since.map(|t| now.saturating_duration_since(t))
    }

    /// Time until the scheduled restart, at `now`.
    pub fn next_restart_in(&self, now: Instant) -> Option<Duration> {
        self.next_restart_at
            .map(|t| t.saturating_duration_since(now))
    }

    /// True if and only if this service counts as up for the aggregate.
    pub fn is_ok(&self) -> bool {
        counts_as_up(self.state, self.is_scheduled)
    }
}

/// One service in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSnapshot {
    /// Its name.
    pub name: ServiceName,
    /// Its state.
    pub state: State,
    /// True for a oneshot.
    pub is_oneshot: bool,
    /// True for a scheduled oneshot.
    pub is_scheduled: bool,
    /// Main process, while running.
    pub pid: Option<Pid>,
    /// Automatic restarts since the supervisor started.
    pub restarts: u32,
    /// When the running process started.
    pub running_since: Option<Instant>,
    /// How the last process ended, and when.
    pub last_exit: Option<(Termination, Instant)>,
    /// The latest probe failure (cleared by a success).
    pub last_probe_error: Option<String>,
    /// When the scheduled restart is due, in backoff.
    pub next_restart_at: Option<Instant>,
    /// Scheduled oneshots, between runs: when the next run is due.
    pub next_run_at: Option<Instant>,
    /// Unmet dependencies, while waiting.
    pub waiting_for: Vec<(ServiceName, Condition)>,
}

mod reload;
#[cfg(test)]
mod tests;

pub use reload::ReloadSummary;
