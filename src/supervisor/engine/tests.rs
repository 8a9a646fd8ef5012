//! Engine tests: a simulated world with a fake clock (quinn's `Pair`, in miniature).
//!
//! `Sim` plays the runtime: it answers `Spawn` with pids, turns signals into scripted exits,
//! answers probes from a per-service script, and jumps the clock to the next deadline. Every
//! run is bounded, so a livelock fails instead of hanging.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;
use crate::supervisor::plan::Schedule;
use crate::supervisor::plan::{
    Dependency, HttpTarget, ProbeKind, ProbeSpec, ServiceSpec, SupervisorSettings,
};

const MS: Duration = Duration::from_millis(1);

/// The simulated wall clock at the start: 2027-01-15 00:00:00 UTC (a midnight, so daily
/// schedules have round numbers).
fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 / 86_400 * 86_400)
}

/// How a simulated program behaves.
#[derive(Clone)]
struct Behaviour {
    /// Exits on its own this long after starting.
    exits_after: Option<(Duration, Termination)>,
    /// The exec fails.
    spawn_error: Option<String>,
    /// Signals it ignores (besides SIGKILL, which nothing ignores).
    ignores: Vec<Signal>,
    /// Time from a stop signal to its exit.
    stop_delay: Duration,
    /// Probe verdict as a function of time since spawn.
    probe: fn(Duration) -> bool,
    /// Time a probe takes.
    probe_latency: Duration,
    /// Says `READY=1` this long after starting.
    notifies_after: Option<Duration>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            exits_after: None,
            spawn_error: None,
            ignores: Vec::new(),
            stop_delay: 5 * MS,
            probe: |_| true,
            probe_latency: MS,
            notifies_after: None,
        }
    }
}

/// One line of the timeline the tests assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Spawn(&'static str),
    Signal(&'static str, Signal),
    State(&'static str, State),
    Overall(Overall),
    Exit,
}

struct Proc {
    service: ServiceId,
    started: Instant,
    is_stopping: bool,
}

struct Sim {
    engine: Engine,
    t0: Instant,
    now: Instant,
    next_pid: i32,
    procs: HashMap<Pid, Proc>,
    behaviour: HashMap<String, Behaviour>,
    pending: Vec<(Instant, Event)>,
    timeline: Vec<(Duration, Entry)>,
    reports: Vec<Report>,
    names: Vec<&'static str>,
    is_done: bool,
}

/// A service spec with test-friendly defaults: a fast probe if asked for.
fn svc(name: &str) -> ServiceSpec {
    ServiceSpec {
        name: ServiceName::parse(name).unwrap(),
        command: vec![name.to_owned()],
        env: Vec::new(),
        inherit_env: Vec::new(),
        secret_env: Vec::new(),
        capabilities: Vec::new(),
        directories: Vec::new(),
        listen: Vec::new(),
        user: None,
        workdir: None,
        depends_on: Vec::new(),
        ready: None,
        restart: RestartPolicy::UnlessStopped,
        max_restarts: None,
        backoff_max: Duration::from_secs(60),
        stop_signal: Signal::TERM,
        stop_timeout: Duration::from_secs(10),
        is_oneshot: false,
        schedule: None,
    }
}

fn probed(mut spec: ServiceSpec) -> ServiceSpec {
    spec.ready = Some(ProbeSpec {
        kind: Some(ProbeKind::Http(
            HttpTarget::parse("http://127.0.0.1:1/").unwrap(),
        )),
        is_notify: false,
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        retries: 3,
        start_period: Duration::from_secs(5),
        start_interval: 20 * MS,
    });
    spec
}

fn after(mut spec: ServiceSpec, on: usize, condition: Condition) -> ServiceSpec {
    spec.depends_on.push(Dependency {
        on: ServiceId(on),
        condition,
    });
    spec
}

fn plan(services: Vec<ServiceSpec>) -> Plan {
    Plan {
        source: PathBuf::from("test.toml"),
        supervisor: SupervisorSettings {
            health_listen: None,
            control_socket: PathBuf::from("/nonexistent"),
            state_dir: PathBuf::from("/nonexistent"),
            shutdown_timeout: Duration::from_secs(30),
        },
        services,
        disabled: Vec::new(),
    }
}

impl Sim {
    fn new(services: Vec<ServiceSpec>, behaviour: &[(&str, Behaviour)]) -> Sim {
        Sim::with_stopped(services, behaviour, &[])
    }

    fn with_stopped(
        services: Vec<ServiceSpec>,
        behaviour: &[(&str, Behaviour)],
        stopped: &[&str],
    ) -> Sim {
        let names = services
            .iter()
            .map(|s| &*Box::leak(s.name.as_str().to_owned().into_boxed_str()))
            .collect();
        let t0 = Instant::now();
        let stopped: Vec<ServiceName> = stopped
            .iter()
            .map(|n| ServiceName::parse(n).unwrap())
            .collect();
        let mut sim = Sim {
            engine: Engine::new(
                plan(services),
                t0,
                wall0(),
                &Memory {
                    stopped,
                    last_runs: Vec::new(),
                },
            ),
            t0,
            now: t0,
            next_pid: 100,
            procs: HashMap::new(),
            behaviour: behaviour
                .iter()
                .map(|(n, b)| ((*n).to_owned(), b.clone()))
                .collect(),
            pending: Vec::new(),
            timeline: Vec::new(),
            reports: Vec::new(),
            names,
            is_done: false,
        };
        sim.drain();
        sim
    }

    fn id(&self, name: &str) -> ServiceId {
        self.engine.plan().find(name).unwrap()
    }

    fn behaviour_of(&self, id: ServiceId) -> Behaviour {
        self.behaviour
            .get(self.names[id.0])
            .cloned()
            .unwrap_or_default()
    }

    fn record(&mut self, entry: Entry) {
        self.timeline.push((self.now - self.t0, entry));
    }

    /// Carries out every queued action, like the runtime does.
    fn drain(&mut self) {
        // Bounded, so an engine that keeps producing actions in one instant (a livelock)
        // fails the test instead of hanging it.
        let mut budget = 10_000;
        while let Some(action) = self.engine.poll_action() {
            budget -= 1;
            assert!(budget > 0, "livelock: 10000 actions without time passing");
            match action {
                Action::Spawn { service } => {
                    self.record(Entry::Spawn(self.names[service.0]));
                    let b = self.behaviour_of(service);
                    if let Some(reason) = b.spawn_error {
                        self.engine
                            .handle(Event::SpawnFailed { service, reason }, self.now);
                        continue;
                    }
                    let pid = Pid(self.next_pid);
                    self.next_pid += 1;
                    self.procs.insert(
                        pid,
                        Proc {
                            service,
                            started: self.now,
                            is_stopping: false,
                        },
                    );
                    if let Some((d, how)) = b.exits_after {
                        self.pending
                            .push((self.now + d, Event::Exited { pid, how }));
                    }
                    if let Some(d) = b.notifies_after {
                        self.pending.push((self.now + d, Event::Notified { pid }));
                    }
                    self.engine
                        .handle(Event::Spawned { service, pid }, self.now);
                }
                Action::Signal {
                    service,
                    pid,
                    signal,
                } => {
                    self.record(Entry::Signal(self.names[service.0], signal));
                    let b = self.behaviour_of(service);
                    let Some(p) = self.procs.get_mut(&pid) else {
                        continue;
                    };
                    if signal == Signal::KILL {
                        self.procs.remove(&pid);
                        self.pending.retain(
                            |(_, e)| !matches!(e, Event::Exited { pid: q, .. } if *q == pid),
                        );
                        self.pending.push((
                            self.now,
                            Event::Exited {
                                pid,
                                how: Termination::Killed(Signal::KILL),
                            },
                        ));
                    } else if !b.ignores.contains(&signal) && !p.is_stopping {
                        p.is_stopping = true;
                        self.pending.push((
                            self.now + b.stop_delay,
                            Event::Exited {
                                pid,
                                how: Termination::Killed(signal),
                            },
                        ));
                    }
                }
                Action::Probe {
                    service,
                    generation,
                } => {
                    let b = self.behaviour_of(service);
                    let since = self
                        .procs
                        .values()
                        .find(|p| p.service == service)
                        .map_or(Duration::ZERO, |p| self.now - p.started);
                    let is_ok = (b.probe)(since);
                    let outcome = ProbeOutcome {
                        is_ok,
                        detail: if is_ok {
                            "ok".into()
                        } else {
                            "connection refused".into()
                        },
                        took: b.probe_latency,
                    };
                    self.pending.push((
                        self.now + b.probe_latency,
                        Event::ProbeFinished {
                            service,
                            generation,
                            outcome,
                        },
                    ));
                }
                Action::Report(r) => {
                    match &r {
                        Report::StateChanged { service, to, .. } => {
                            self.record(Entry::State(self.names[service.0], *to))
                        }
                        Report::Overall(o) => self.record(Entry::Overall(*o)),
                        _ => {}
                    }
                    self.reports.push(r);
                }
                Action::Exit => {
                    self.record(Entry::Exit);
                    self.is_done = true;
                }
            }
        }
    }

    /// Advances to the next thing that happens; false when nothing ever will.
    fn step(&mut self) -> bool {
        let next_event = self.pending.iter().map(|(t, _)| *t).min();
        let next = match (next_event, self.engine.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return false,
            },
        };
        self.now = self.now.max(next);
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(t, _)| *t <= self.now);
        self.pending = rest;
        for (_, event) in due {
            if let Event::Exited { pid, .. } = &event {
                self.procs.remove(pid);
            }
            self.engine.handle(event, self.now);
            self.drain();
        }
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        true
    }

    /// Runs until simulated time `t` (from the start), bounded.
    fn run_until(&mut self, t: Duration) {
        for _ in 0..100_000 {
            let next_event = self.pending.iter().map(|(t, _)| *t).min();
            let next = [next_event, self.engine.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if next.is_none_or(|n| n > self.t0 + t) {
                self.now = self.now.max(self.t0 + t);
                return;
            }
            self.step();
        }
        panic!("livelock: 100000 steps before {t:?}");
    }

    fn run_until_idle(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("livelock: still busy after 100000 steps");
    }

    fn shutdown(&mut self) {
        self.engine.handle(Event::ShutdownRequested, self.now);
        self.drain();
    }

    fn command(&mut self, name: &str, command: Command) {
        let id = self.id(name);
        self.engine.handle_command(id, command, self.now).unwrap();
        self.drain();
    }

    fn kill(&mut self, name: &str, how: Termination) {
        let id = self.id(name);
        let pid = *self.procs.iter().find(|(_, p)| p.service == id).unwrap().0;
        self.procs.remove(&pid);
        self.engine.handle(Event::Exited { pid, how }, self.now);
        self.drain();
    }

    fn state(&self, name: &str) -> State {
        let snap = self.engine.snapshot();
        snap.services
            .iter()
            .find(|s| s.name.as_str() == name)
            .unwrap()
            .state
    }

    /// Times (from start) at which `name` was spawned.
    fn spawns(&self, name: &str) -> Vec<Duration> {
        self.timeline
            .iter()
            .filter(|(_, e)| *e == Entry::Spawn(self.names[self.id(name).0]))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Timeline entries of one kind, without times.
    fn entries(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        self.timeline
            .iter()
            .map(|(_, e)| e.clone())
            .filter(|e| keep(e))
            .collect()
    }
}

fn ready_after(d: Duration) -> fn(Duration) -> bool {
    // fn pointers cannot capture, so the few delays tests need are spelled out.
    match d.as_millis() {
        300 => |t| t >= Duration::from_millis(300),
        2000 => |t| t >= Duration::from_secs(2),
        _ => panic!("add a case for {d:?}"),
    }
}

fn crash_after(ms: u64, code: i32) -> Behaviour {
    Behaviour {
        exits_after: Some((Duration::from_millis(ms), Termination::Exited(code))),
        ..Behaviour::default()
    }
}

// ---- start order and gating ----------------------------------------------------------

#[test]
fn dependents_wait_for_the_probe_and_start_the_moment_it_passes() {
    let mut sim = Sim::new(
        vec![probed(svc("db")), after(svc("app"), 0, Condition::Ready)],
        &[(
            "db",
            Behaviour {
                probe: ready_after(300 * MS),
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(1));
    assert_eq!(sim.spawns("db"), [Duration::ZERO]);
    // A probe is due start_interval (20 ms) after the previous result and takes 1 ms, so
    // probes run at 20, 41, 62, ... 314 ms: the first passing one reports at 315 ms, and
    // the dependent is spawned in that same instant.
    assert_eq!(sim.spawns("app"), [315 * MS]);
    assert_eq!(sim.state("db"), State::Ready);
    assert_eq!(sim.state("app"), State::Ready);
}

#[test]
fn started_condition_needs_only_the_process() {
    let mut sim = Sim::new(
        vec![probed(svc("db")), after(svc("app"), 0, Condition::Started)],
        &[(
            "db",
            Behaviour {
                probe: |_| false,
                ..Behaviour::default()
            },
        )],
    );
    assert_eq!(sim.spawns("db"), [Duration::ZERO]);
    assert_eq!(sim.spawns("app"), [Duration::ZERO]);
    sim.run_until(Duration::from_secs(1));
    assert_eq!(sim.state("db"), State::Starting);
}

#[test]
fn oneshot_gates_its_dependent_until_it_completes() {
    let mut init = svc("init");
    init.is_oneshot = true;
    init.restart = RestartPolicy::No;
    let mut sim = Sim::new(
        vec![init, after(svc("app"), 0, Condition::Completed)],
        &[("init", crash_after(250, 0))],
    );
    assert_eq!(sim.state("init"), State::Starting);
    assert_eq!(sim.state("app"), State::Waiting);
    let snap = sim.engine.snapshot();
    assert_eq!(snap.services[1].waiting_for[0].0.as_str(), "init");
    sim.run_until(Duration::from_secs(1));
    assert_eq!(sim.state("init"), State::Completed);
    assert_eq!(sim.spawns("app"), [250 * MS]);
    assert_eq!(
        sim.spawns("init").len(),
        1,
        "a completed oneshot is not rerun"
    );
    assert_eq!(sim.engine.snapshot().status, Overall::Healthy);
}

#[test]
fn failed_oneshot_blocks_dependents_and_is_reported() {
    let mut init = svc("init");
    init.is_oneshot = true;
    init.restart = RestartPolicy::No;
    let mut sim = Sim::new(
        vec![init, after(svc("app"), 0, Condition::Completed)],
        &[("init", crash_after(10, 3))],
    );
    sim.run_until(Duration::from_secs(60));
    assert_eq!(sim.state("init"), State::Failed);
    assert_eq!(sim.state("app"), State::Waiting);
    assert!(sim.spawns("app").is_empty());
    let snap = sim.engine.snapshot();
    assert_eq!(snap.status, Overall::Degraded);
    assert_eq!(
        snap.services[0].last_exit.as_ref().unwrap().0,
        Termination::Exited(3)
    );
    assert!(sim.reports.iter().any(|r| matches!(
        r,
        Report::Died {
            how: Termination::Exited(3),
            ..
        }
    )));
}

#[test]
fn chain_starts_in_order() {
    let mut sim = Sim::new(
        vec![
            probed(svc("a")),
            after(probed(svc("b")), 0, Condition::Ready),
            after(svc("c"), 1, Condition::Ready),
        ],
        &[],
    );
    sim.run_until(Duration::from_secs(1));
    // Each probe passes at its first try: start_interval (20 ms) + latency (1 ms).
    assert_eq!(sim.spawns("a"), [Duration::ZERO]);
    assert_eq!(sim.spawns("b"), [21 * MS]);
    assert_eq!(sim.spawns("c"), [42 * MS]);
}

// ---- probes: start period and liveness ----------------------------------------------

#[test]
fn failures_inside_start_period_do_not_count() {
    let mut sim = Sim::new(
        vec![probed(svc("slow"))],
        &[(
            "slow",
            Behaviour {
                probe: ready_after(2000 * MS),
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(3));
    // 100 failures in the 5 s start period, yet never unhealthy, and ready as soon as true.
    assert_eq!(sim.state("slow"), State::Ready);
    assert_eq!(sim.spawns("slow").len(), 1);
    let ready_at = sim
        .timeline
        .iter()
        .find(|(_, e)| *e == Entry::State("slow", State::Ready))
        .unwrap()
        .0;
    assert!(
        ready_at >= 2000 * MS && ready_at <= 2021 * MS,
        "{ready_at:?}"
    );
}

#[test]
fn never_ready_after_start_period_and_retries_is_restarted() {
    let mut sim = Sim::new(
        vec![probed(svc("stuck"))],
        &[(
            "stuck",
            Behaviour {
                probe: |_| false,
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(9));
    // start_period 5 s, then 3 failures 1 s apart → unhealthy at ~7 s, stopped, restarted.
    let spawns = sim.spawns("stuck");
    assert_eq!(spawns.len(), 2, "{spawns:?}");
    assert!(
        spawns[1] > Duration::from_secs(7) && spawns[1] < Duration::from_millis(7200),
        "{spawns:?}"
    );
    assert!(
        sim.reports.iter().any(
            |r| matches!(r, Report::Unhealthy { detail, .. } if detail == "connection refused")
        )
    );
}

#[test]
fn liveness_failures_past_retries_restart_the_service() {
    // Ready at once, healthy for 3 s, then the probe fails forever.
    let mut sim = Sim::new(
        vec![probed(svc("api"))],
        &[(
            "api",
            Behaviour {
                probe: |t| t < Duration::from_secs(3),
                ..Behaviour::default()
            },
        )],
    );
    // Probes report at ~1.02 s, 2.02 s, then fail at ~3.02 s and ~4.02 s: tolerated.
    sim.run_until(Duration::from_millis(4500));
    assert_eq!(sim.spawns("api").len(), 1, "two failures are tolerated");
    assert_eq!(sim.state("api"), State::Ready);
    sim.run_until(Duration::from_millis(5500));
    // Third failure at ~5.03 s: unhealthy, SIGTERM, exit 5 ms later, restart after 100 ms
    // (it ran only 5 s, not stable).
    let states = sim.entries(|e| matches!(e, Entry::State("api", _)));
    assert_eq!(
        states,
        [
            Entry::State("api", State::Starting),
            Entry::State("api", State::Ready),
            Entry::State("api", State::Unhealthy),
            Entry::State("api", State::Stopping),
            Entry::State("api", State::Backoff),
            Entry::State("api", State::Waiting),
            Entry::State("api", State::Starting),
            Entry::State("api", State::Ready),
        ]
    );
    assert!(
        sim.entries(|e| matches!(e, Entry::Signal(_, _)))
            .contains(&Entry::Signal("api", Signal::TERM))
    );
}

#[test]
fn unhealthy_with_restart_no_stays_up_and_may_recover() {
    let mut api = probed(svc("api"));
    api.restart = RestartPolicy::No;
    let mut sim = Sim::new(
        vec![api],
        &[(
            "api",
            Behaviour {
                probe: |t| t < Duration::from_secs(3) || t > Duration::from_secs(10),
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(8));
    assert_eq!(sim.state("api"), State::Unhealthy);
    assert!(sim.entries(|e| matches!(e, Entry::Signal(..))).is_empty());
    sim.run_until(Duration::from_secs(12));
    assert_eq!(sim.state("api"), State::Ready);
}

#[test]
fn stale_probe_results_are_ignored() {
    let mut sim = Sim::new(vec![probed(svc("api"))], &[]);
    let id = sim.id("api");
    let old = Generation(0);
    sim.engine.handle(
        Event::ProbeFinished {
            service: id,
            generation: old,
            outcome: ProbeOutcome {
                is_ok: true,
                detail: String::new(),
                took: MS,
            },
        },
        sim.now,
    );
    sim.drain();
    assert_eq!(sim.state("api"), State::Starting);
}

// ---- restart policies and backoff ----------------------------------------------------

fn policy_outcome(policy: RestartPolicy, code: i32) -> (State, usize) {
    let mut s = svc("x");
    s.restart = policy;
    let mut sim = Sim::new(vec![s], &[("x", crash_after(50, code))]);
    sim.run_until(Duration::from_millis(120));
    (sim.state("x"), sim.spawns("x").len())
}

#[test]
fn each_restart_policy() {
    use RestartPolicy::*;
    let rows = [
        (No, 0, (State::Exited, 1)),
        (No, 1, (State::Failed, 1)),
        (OnFailure, 0, (State::Exited, 1)),
        (OnFailure, 1, (State::Backoff, 1)),
        (Always, 0, (State::Backoff, 1)),
        (Always, 1, (State::Backoff, 1)),
        (UnlessStopped, 0, (State::Backoff, 1)),
        (UnlessStopped, 1, (State::Backoff, 1)),
    ];
    for (policy, code, want) in rows {
        assert_eq!(policy_outcome(policy, code), want, "{policy:?} exit {code}");
    }
}

#[test]
fn docker_backoff_doubles_from_100ms_and_is_capped() {
    let mut s = svc("loop");
    s.backoff_max = Duration::from_millis(1000);
    let mut sim = Sim::new(vec![s], &[("loop", crash_after(1, 1))]);
    sim.run_until(Duration::from_secs(6));
    let spawns = sim.spawns("loop");
    let gaps: Vec<Duration> = spawns.windows(2).map(|w| w[1] - w[0] - MS).collect();
    let want: Vec<Duration> = [100, 200, 400, 800, 1000, 1000, 1000]
        .iter()
        .map(|&m| Duration::from_millis(m))
        .collect();
    assert_eq!(gaps[..7], want[..], "spawns at {spawns:?}");
    let snap = sim.engine.snapshot();
    assert_eq!(
        snap.services[0].restarts as usize,
        spawns.len() - usize::from(snap.services[0].state != State::Backoff)
    );
}

#[test]
fn backoff_is_visible_in_the_snapshot() {
    let mut sim = Sim::new(vec![svc("loop")], &[("loop", crash_after(1, 1))]);
    sim.run_until(31 * MS);
    let snap = sim.engine.snapshot();
    assert_eq!(snap.services[0].state, State::Backoff);
    assert_eq!(snap.services[0].next_restart_in(sim.now), Some(70 * MS));
    assert_eq!(snap.status, Overall::Degraded);
}

#[test]
fn stable_service_that_dies_is_restarted_at_once_and_backoff_resets() {
    let mut sim = Sim::new(vec![svc("api")], &[]);
    sim.run_until(Duration::from_secs(11));
    sim.kill("api", Termination::Killed(Signal::KILL));
    assert_eq!(
        sim.spawns("api"),
        [Duration::ZERO, Duration::from_secs(11)],
        "no delay after a stable run"
    );
    // Now it crashes quickly: the backoff starts over at 100 ms.
    sim.behaviour.insert("api".into(), crash_after(1, 1));
    sim.kill("api", Termination::Exited(1));
    sim.run_until(Duration::from_millis(11_500));
    let spawns = sim.spawns("api");
    assert_eq!(spawns[2] - spawns[1], 100 * MS, "the backoff starts over");
    assert_eq!(spawns[3] - spawns[2], 201 * MS);
}

#[test]
fn max_restarts_gives_up() {
    let mut s = svc("flaky");
    s.max_restarts = Some(3);
    let mut sim = Sim::new(vec![s], &[("flaky", crash_after(1, 2))]);
    sim.run_until(Duration::from_secs(10));
    assert_eq!(
        sim.spawns("flaky").len(),
        4,
        "first start and three restarts"
    );
    assert_eq!(sim.state("flaky"), State::Failed);
    assert!(sim.reports.contains(&Report::GaveUp {
        service: ServiceId(0),
        restarts: 3
    }));
    // A manual start forgets the history.
    sim.command("flaky", Command::Start);
    sim.run_until(Duration::from_secs(20));
    assert_eq!(sim.spawns("flaky").len(), 8);
}

#[test]
fn spawn_failure_is_retried_with_backoff_and_kept_as_last_exit() {
    let mut sim = Sim::new(
        vec![svc("ghost")],
        &[(
            "ghost",
            Behaviour {
                spawn_error: Some("No such file or directory (os error 2)".into()),
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_millis(350));
    assert_eq!(sim.spawns("ghost"), [Duration::ZERO, 100 * MS, 300 * MS]);
    let snap = sim.engine.snapshot();
    assert!(
        matches!(&snap.services[0].last_exit, Some((Termination::SpawnFailed(e), _)) if e.contains("No such file"))
    );
    assert_eq!(snap.services[0].state, State::Backoff);
}

/// Regression (tests/faults.rs): a stable service whose restart cannot even be spawned
/// (binary gone) must back off, not restart "at once" forever.
#[test]
fn spawn_failures_after_a_stable_run_back_off() {
    let mut sim = Sim::new(vec![svc("victim")], &[]);
    sim.run_until(Duration::from_secs(11));
    sim.behaviour.insert(
        "victim".into(),
        Behaviour {
            spawn_error: Some("No such file or directory".into()),
            ..Behaviour::default()
        },
    );
    sim.kill("victim", Termination::Killed(Signal::KILL));
    sim.run_until(Duration::from_millis(11_800));
    let spawns = sim.spawns("victim");
    let after: Vec<Duration> = spawns
        .iter()
        .skip(1)
        .map(|t| *t - Duration::from_secs(11))
        .collect();
    // The stable run's death restarts at once; the failed spawns then back off.
    assert_eq!(after, [Duration::ZERO, 100 * MS, 300 * MS, 700 * MS]);
}

#[test]
fn dependent_restarts_wait_for_dependencies_again() {
    let mut sim = Sim::new(
        vec![probed(svc("db")), after(svc("app"), 0, Condition::Ready)],
        &[],
    );
    sim.run_until(Duration::from_secs(12));
    sim.behaviour.insert(
        "db".into(),
        Behaviour {
            probe: ready_after(300 * MS),
            ..Behaviour::default()
        },
    );
    sim.kill("db", Termination::Killed(Signal::KILL));
    sim.kill("app", Termination::Exited(1));
    sim.run_until(Duration::from_secs(13));
    // The stable app is due at once, but waits for db to be ready again.
    let app = sim.spawns("app");
    let db = sim.spawns("db");
    assert_eq!(db[1], Duration::from_secs(12));
    assert!(app[1] >= db[1] + 300 * MS, "app {app:?} db {db:?}");
}

// ---- shutdown ---------------------------------------------------------------------------

#[test]
fn shutdown_stops_in_reverse_dependency_order_and_exits() {
    let mut db = svc("db");
    db.stop_signal = Signal::INT;
    let mut sim = Sim::new(
        vec![
            db,
            after(svc("api"), 0, Condition::Started),
            after(svc("web"), 1, Condition::Started),
            svc("loner"),
        ],
        &[],
    );
    sim.run_until(Duration::from_secs(1));
    sim.shutdown();
    sim.run_until_idle();
    let signals = sim.entries(|e| matches!(e, Entry::Signal(_, s) if *s != Signal::KILL));
    assert_eq!(
        signals,
        [
            Entry::Signal("loner", Signal::TERM),
            Entry::Signal("web", Signal::TERM),
            Entry::Signal("api", Signal::TERM),
            Entry::Signal("db", Signal::INT),
        ]
    );
    // web must be gone (5 ms) before api is asked, and api before db.
    let at = |e: Entry| sim.timeline.iter().find(|(_, x)| *x == e).unwrap().0;
    assert_eq!(
        at(Entry::Signal("api", Signal::TERM)) - at(Entry::Signal("web", Signal::TERM)),
        5 * MS
    );
    assert_eq!(
        at(Entry::Signal("db", Signal::INT)) - at(Entry::Signal("api", Signal::TERM)),
        5 * MS
    );
    assert_eq!(sim.timeline.last().unwrap().1, Entry::Exit);
    assert!(sim.is_done);
    for name in ["db", "api", "web", "loner"] {
        assert_eq!(sim.state(name), State::Stopped);
    }
}

/// How a service of a stop-order row behaves.
#[derive(Clone, Copy)]
enum Kind {
    /// Runs until stopped.
    Daemon,
    /// A oneshot that completes (exit 0) after 10 ms.
    Completes,
    /// A oneshot that fails (exit 1, not restarted) after 10 ms.
    Fails,
}

/// One service of a row: its name, kind and `depends_on` edges by name.
type Node = (&'static str, Kind, &'static [(&'static str, Condition)]);

/// One row: a graph (service, kind, `depends_on` edges by name), and the services signalled
/// at shutdown, wave by wave (a wave is everything signalled in the same instant).
struct StopRow {
    name: &'static str,
    graph: &'static [Node],
    waves: &'static [&'static [&'static str]],
}

const STOP_ORDER: &[StopRow] = &[
    StopRow {
        name: "chain through a completed oneshot (the real stack)",
        graph: &[
            ("init", Kind::Completes, &[]),
            ("db", Kind::Daemon, &[("init", Condition::Completed)]),
            ("migrate", Kind::Completes, &[("db", Condition::Ready)]),
            ("api", Kind::Daemon, &[("migrate", Condition::Completed)]),
            ("web", Kind::Daemon, &[("api", Condition::Ready)]),
        ],
        waves: &[&["web"], &["api"], &["db"]],
    },
    StopRow {
        name: "chain through a failed oneshot whose dependent had started",
        graph: &[
            ("db", Kind::Daemon, &[]),
            ("job", Kind::Fails, &[("db", Condition::Ready)]),
            ("worker", Kind::Daemon, &[("job", Condition::Started)]),
        ],
        waves: &[&["worker"], &["db"]],
    },
    StopRow {
        name: "a failed oneshot's dependents never started: nothing holds the database",
        graph: &[
            ("db", Kind::Daemon, &[]),
            ("job", Kind::Fails, &[("db", Condition::Ready)]),
            ("api", Kind::Daemon, &[("job", Condition::Completed)]),
        ],
        waves: &[&["db"]],
    },
    StopRow {
        name: "diamond: the top first, both sides together, the bottom last",
        graph: &[
            ("db", Kind::Daemon, &[]),
            ("left", Kind::Daemon, &[("db", Condition::Started)]),
            ("right", Kind::Daemon, &[("db", Condition::Started)]),
            (
                "top",
                Kind::Daemon,
                &[("left", Condition::Started), ("right", Condition::Started)],
            ),
        ],
        waves: &[&["top"], &["left", "right"], &["db"]],
    },
    StopRow {
        name: "a long chain of oneshots between two daemons",
        graph: &[
            ("db", Kind::Daemon, &[]),
            ("a", Kind::Completes, &[("db", Condition::Ready)]),
            ("b", Kind::Completes, &[("a", Condition::Completed)]),
            ("c", Kind::Completes, &[("b", Condition::Completed)]),
            ("api", Kind::Daemon, &[("c", Condition::Completed)]),
        ],
        waves: &[&["api"], &["db"]],
    },
    StopRow {
        name: "independent services stop at once, in parallel with the chain's top",
        graph: &[
            ("db", Kind::Daemon, &[]),
            ("migrate", Kind::Completes, &[("db", Condition::Ready)]),
            ("api", Kind::Daemon, &[("migrate", Condition::Completed)]),
            ("loner", Kind::Daemon, &[]),
        ],
        waves: &[&["api", "loner"], &["db"]],
    },
];

#[test]
fn stop_order_follows_the_transitive_graph() {
    for row in STOP_ORDER {
        let names: Vec<&str> = row.graph.iter().map(|(n, ..)| *n).collect();
        let index = |n: &str| names.iter().position(|x| *x == n).unwrap();
        let mut services = Vec::new();
        let mut behaviour = Vec::new();
        for (name, kind, deps) in row.graph {
            let mut spec = svc(name);
            for (on, condition) in *deps {
                spec = after(spec, index(on), *condition);
            }
            match kind {
                Kind::Daemon => {}
                Kind::Completes | Kind::Fails => {
                    spec.is_oneshot = true;
                    spec.restart = RestartPolicy::No;
                    let code = if matches!(kind, Kind::Completes) {
                        0
                    } else {
                        1
                    };
                    behaviour.push((*name, crash_after(10, code)));
                }
            }
            services.push(spec);
        }
        let mut sim = Sim::new(services, &behaviour);
        sim.run_until(Duration::from_secs(1));
        let t_shutdown = sim.now - sim.t0;
        sim.shutdown();
        sim.run_until_idle();
        assert!(sim.is_done, "{}: did not exit", row.name);
        let mut waves: Vec<(Duration, Vec<&str>)> = Vec::new();
        for (t, e) in &sim.timeline {
            let Entry::Signal(n, s) = e else { continue };
            if *t < t_shutdown || *s == Signal::KILL {
                continue;
            }
            match waves.last_mut() {
                Some((at, wave)) if at == t => wave.push(n),
                _ => waves.push((*t, vec![n])),
            }
        }
        let got: Vec<Vec<&str>> = waves
            .into_iter()
            .map(|(_, mut w)| {
                w.sort();
                w
            })
            .collect();
        assert_eq!(got, row.waves, "{}", row.name);
    }
}

#[test]
fn transitive_dependents_of_a_plan() {
    // db <- migrate <- api <- web, and a diamond on db through left/right.
    let plan = plan(vec![
        svc("db"),
        after(svc("migrate"), 0, Condition::Ready),
        after(svc("api"), 1, Condition::Completed),
        after(svc("web"), 2, Condition::Ready),
        after(
            after(svc("both"), 1, Condition::Completed),
            2,
            Condition::Ready,
        ),
    ]);
    let ids = |v: &[usize]| v.iter().map(|i| ServiceId(*i)).collect::<Vec<_>>();
    let all = plan.transitive_dependents();
    assert_eq!(all[0], ids(&[1, 2, 3, 4]));
    assert_eq!(all[1], ids(&[2, 3, 4]));
    assert_eq!(all[2], ids(&[3, 4]));
    assert_eq!(all[3], ids(&[]));
    assert_eq!(all[4], ids(&[]));
}

#[test]
fn service_ignoring_its_stop_signal_is_killed_after_stop_timeout() {
    let mut stubborn = svc("stubborn");
    stubborn.stop_timeout = Duration::from_secs(2);
    let mut sim = Sim::new(
        vec![stubborn],
        &[(
            "stubborn",
            Behaviour {
                ignores: vec![Signal::TERM],
                ..Behaviour::default()
            },
        )],
    );
    sim.shutdown();
    sim.run_until_idle();
    assert_eq!(
        sim.timeline
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Signal(..) | Entry::Exit))
            .cloned()
            .collect::<Vec<_>>(),
        [
            (Duration::ZERO, Entry::Signal("stubborn", Signal::TERM)),
            (
                Duration::from_secs(2),
                Entry::Signal("stubborn", Signal::KILL)
            ),
            // The group cleanup after the reap.
            (
                Duration::from_secs(2),
                Entry::Signal("stubborn", Signal::KILL)
            ),
            (Duration::from_secs(2), Entry::Exit),
        ]
    );
    assert!(sim.reports.contains(&Report::StopTimedOut {
        service: ServiceId(0)
    }));
}

#[test]
fn second_shutdown_request_escalates_to_sigkill() {
    let mut sim = Sim::new(
        vec![svc("a"), svc("b")],
        &[
            (
                "a",
                Behaviour {
                    ignores: vec![Signal::TERM],
                    ..Behaviour::default()
                },
            ),
            (
                "b",
                Behaviour {
                    ignores: vec![Signal::TERM],
                    ..Behaviour::default()
                },
            ),
        ],
    );
    sim.shutdown();
    sim.run_until(Duration::from_secs(1));
    assert!(!sim.is_done);
    sim.shutdown();
    sim.run_until_idle();
    assert!(sim.is_done);
    assert_eq!(sim.timeline.last().unwrap().0, Duration::from_secs(1));
    assert!(
        sim.reports
            .contains(&Report::ShutdownForced { by_request: true })
    );
}

#[test]
fn shutdown_timeout_kills_everything_left() {
    let mut a = svc("a");
    a.stop_timeout = Duration::from_secs(100);
    let mut sim = Sim::new(
        vec![a],
        &[(
            "a",
            Behaviour {
                ignores: vec![Signal::TERM],
                ..Behaviour::default()
            },
        )],
    );
    sim.shutdown();
    sim.run_until_idle();
    assert_eq!(
        sim.timeline.last().unwrap(),
        &(Duration::from_secs(30), Entry::Exit)
    );
    assert!(
        sim.reports
            .contains(&Report::ShutdownForced { by_request: false })
    );
}

#[test]
fn shutdown_cancels_pending_restarts_and_refuses_commands() {
    let mut sim = Sim::new(vec![svc("loop"), svc("ok")], &[("loop", crash_after(1, 1))]);
    sim.run_until(50 * MS);
    assert_eq!(sim.state("loop"), State::Backoff);
    sim.shutdown();
    sim.run_until_idle();
    assert_eq!(sim.spawns("loop").len(), 1);
    assert_eq!(sim.state("loop"), State::Stopped);
    assert!(sim.is_done);
    let id = sim.id("ok");
    assert_eq!(
        sim.engine.handle_command(id, Command::Start, sim.now),
        Err(CommandError::ShuttingDown)
    );
}

#[test]
fn shutdown_with_nothing_running_exits_at_once() {
    let mut sim = Sim::with_stopped(vec![svc("a")], &[], &["a"]);
    assert!(sim.spawns("a").is_empty());
    sim.shutdown();
    assert!(sim.is_done);
}

// ---- commands -------------------------------------------------------------------------

#[test]
fn stop_cancels_a_pending_restart() {
    let mut sim = Sim::new(vec![svc("loop")], &[("loop", crash_after(1, 1))]);
    sim.run_until(50 * MS);
    assert_eq!(sim.state("loop"), State::Backoff);
    sim.command("loop", Command::Stop);
    sim.run_until(Duration::from_secs(5));
    assert_eq!(sim.state("loop"), State::Stopped);
    assert_eq!(sim.spawns("loop").len(), 1);
}

#[test]
fn stop_start_restart() {
    let mut sim = Sim::new(vec![svc("api")], &[]);
    sim.run_until(Duration::from_secs(1));
    sim.command("api", Command::Stop);
    sim.run_until(Duration::from_secs(2));
    assert_eq!(sim.state("api"), State::Stopped);
    assert_eq!(sim.engine.snapshot().status, Overall::Degraded);
    assert_eq!(sim.engine.remembered_stops()[0].as_str(), "api");
    sim.command("api", Command::Start);
    assert_eq!(sim.state("api"), State::Ready);
    assert!(sim.engine.remembered_stops().is_empty());
    sim.run_until(Duration::from_secs(3));
    sim.command("api", Command::Restart);
    sim.run_until(Duration::from_secs(4));
    assert_eq!(
        sim.spawns("api"),
        [
            Duration::ZERO,
            Duration::from_secs(2),
            Duration::from_secs(3) + 5 * MS
        ]
    );
    let snap = sim.engine.snapshot();
    assert_eq!(
        snap.services[0].restarts, 0,
        "manual restarts are not counted"
    );
    assert_eq!(snap.status, Overall::Healthy);
}

#[test]
fn start_while_a_manual_stop_is_in_flight_becomes_a_restart() {
    let mut sim = Sim::new(vec![svc("api")], &[]);
    sim.command("api", Command::Stop);
    sim.command("api", Command::Start);
    sim.run_until(Duration::from_secs(1));
    assert_eq!(sim.state("api"), State::Ready);
    assert_eq!(sim.spawns("api"), [Duration::ZERO, 5 * MS]);
}

#[test]
fn remembered_stops_only_for_unless_stopped() {
    let mut always = svc("always");
    always.restart = RestartPolicy::Always;
    let mut sim = Sim::new(vec![always, svc("unless")], &[]);
    sim.command("always", Command::Stop);
    sim.command("unless", Command::Stop);
    let names: Vec<String> = sim
        .engine
        .remembered_stops()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, ["unless"]);
    let sim = Sim::with_stopped(vec![svc("unless")], &[], &["unless"]);
    assert_eq!(sim.state("unless"), State::Stopped);
    assert!(sim.spawns("unless").is_empty());
}

// ---- signals and aggregate --------------------------------------------------------------

#[test]
fn other_signals_are_forwarded_to_running_services() {
    let mut sim = Sim::new(vec![svc("a"), svc("b")], &[("b", crash_after(1, 0))]);
    sim.run_until(10 * MS);
    let usr1 = Signal::parse("USR1").unwrap();
    sim.engine.handle(Event::Forward(usr1), sim.now);
    sim.drain();
    let sent = sim.entries(|e| matches!(e, Entry::Signal(_, s) if *s == usr1));
    assert_eq!(
        sent,
        [Entry::Signal("a", usr1)],
        "b is in backoff, not running"
    );
}

#[test]
fn aggregate_walks_starting_healthy_degraded_healthy() {
    let mut sim = Sim::new(
        vec![probed(svc("db")), after(svc("app"), 0, Condition::Ready)],
        &[],
    );
    sim.run_until(Duration::from_secs(20));
    sim.kill("app", Termination::Killed(Signal::KILL));
    sim.run_until(Duration::from_secs(21));
    let overall = sim.entries(|e| matches!(e, Entry::Overall(_)));
    assert_eq!(
        overall,
        [
            Entry::Overall(Overall::Healthy),
            Entry::Overall(Overall::Degraded),
            Entry::Overall(Overall::Healthy)
        ]
    );
    assert_eq!(
        sim.engine.snapshot().summary(),
        "healthy: all 2 services ready"
    );
    sim.shutdown();
    assert_eq!(sim.engine.snapshot().status, Overall::Stopping);
}

#[test]
fn unknown_pids_are_ignored() {
    let mut sim = Sim::new(vec![svc("a")], &[]);
    sim.engine.handle(
        Event::Exited {
            pid: Pid(9999),
            how: Termination::Exited(0),
        },
        sim.now,
    );
    sim.drain();
    assert_eq!(sim.state("a"), State::Ready);
    assert!(!sim.engine.is_service_pid(Pid(9999)));
    assert!(sim.engine.is_service_pid(Pid(100)));
}

#[test]
fn idle_engine_has_no_deadline() {
    // No probes, nothing in backoff: the runtime sleeps until an event arrives.
    let sim = Sim::new(vec![svc("a"), svc("b")], &[]);
    assert_eq!(sim.engine.poll_timeout(), None);
}

// ---- the state-move table ----------------------------------------------------------------

#[test]
fn state_moves_allowed_and_refused() {
    use State::*;
    // (from, to, allowed): every kind of move the engine makes, and moves it must never make.
    let rows = [
        (Waiting, Starting, true),
        (Waiting, Stopped, true),
        (Starting, Ready, true),
        (Starting, Completed, true),
        (Starting, Unhealthy, true),
        (Starting, Backoff, true),
        (Ready, Unhealthy, true),
        (Unhealthy, Ready, true),
        (Ready, Stopping, true),
        (Ready, Waiting, true),
        (Ready, Completed, true),
        (Unhealthy, Failed, true),
        (Stopping, Stopped, true),
        (Stopping, Waiting, true),
        (Stopping, Backoff, true),
        (Stopping, Failed, true),
        (Backoff, Waiting, true),
        (Backoff, Stopped, true),
        (Stopped, Waiting, true),
        (Completed, Waiting, true),
        (Failed, Stopped, true),
        (Exited, Waiting, true),
        // Refused: skipping a step, resurrecting, or running without a spawn.
        (Waiting, Ready, false),
        (Waiting, Backoff, false),
        (Waiting, Completed, false),
        (Starting, Starting, false),
        (Ready, Starting, true),
        (Unhealthy, Starting, true),
        (Stopping, Ready, false),
        (Stopping, Completed, false),
        (Stopping, Starting, false),
        (Backoff, Starting, false),
        (Backoff, Ready, false),
        (Stopped, Ready, false),
        (Stopped, Stopping, false),
        (Stopped, Starting, false),
        (Completed, Ready, false),
        (Failed, Backoff, false),
        (Exited, Starting, false),
    ];
    for (from, to, allowed) in rows {
        assert_eq!(
            is_allowed_move(from, to),
            allowed,
            "{from:?} -> {to:?} should be {}",
            if allowed { "allowed" } else { "refused" }
        );
    }
}

// ---- scheduled oneshots -------------------------------------------------------------------

const HOUR: Duration = Duration::from_secs(3600);

/// A scheduled oneshot that runs for `run_for` and exits with `code`.
fn scheduled(name: &str, schedule: &str) -> ServiceSpec {
    let mut spec = svc(name);
    spec.is_oneshot = true;
    spec.restart = RestartPolicy::No;
    spec.schedule = Some(Schedule::parse(schedule).unwrap());
    spec
}

fn runs_for(d: Duration, code: i32) -> Behaviour {
    Behaviour {
        exits_after: Some((d, Termination::Exited(code))),
        ..Behaviour::default()
    }
}

fn sim_with_memory(
    services: Vec<ServiceSpec>,
    behaviour: &[(&str, Behaviour)],
    last_runs: &[(&str, SystemTime)],
) -> Sim {
    let mut sim = Sim::new(Vec::new(), &[]);
    let memory = Memory {
        stopped: Vec::new(),
        last_runs: last_runs
            .iter()
            .map(|(n, t)| (ServiceName::parse(n).unwrap(), *t))
            .collect(),
    };
    sim.names = services
        .iter()
        .map(|s| &*Box::leak(s.name.as_str().to_owned().into_boxed_str()))
        .collect();
    sim.behaviour = behaviour
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    sim.engine = Engine::new(plan(services), sim.t0, wall0(), &memory);
    sim.drain();
    sim
}

#[test]
fn a_schedule_that_never_ran_runs_at_start_then_every_interval() {
    let mut sim = Sim::new(
        vec![svc("db"), scheduled("backup", "every 1h")],
        &[("backup", runs_for(Duration::from_secs(60), 0))],
    );
    sim.run_until(3 * HOUR + Duration::from_secs(1));
    assert_eq!(
        sim.spawns("backup"),
        [Duration::ZERO, HOUR, 2 * HOUR, 3 * HOUR],
        "at start, then every hour from each run's start"
    );
    assert_eq!(sim.state("backup"), State::Starting, "the 4th run is going");
    sim.run_until(3 * HOUR + Duration::from_secs(120));
    assert_eq!(sim.state("backup"), State::Completed);
    let snap = sim.engine.snapshot();
    let backup = &snap.services[1];
    assert_eq!(
        backup.next_run_at.map(|t| t - sim.now),
        Some(HOUR - Duration::from_secs(120))
    );
    // Never unhealthy because of its runs.
    assert!(
        !sim.entries(|e| matches!(e, Entry::Overall(_)))
            .contains(&Entry::Overall(Overall::Degraded))
    );
    assert_eq!(snap.status, Overall::Healthy);
    // The last success is remembered with its wall-clock start.
    assert_eq!(
        sim.engine.last_runs(),
        [(ServiceName::parse("backup").unwrap(), wall0() + 3 * HOUR)]
    );
}

#[test]
fn a_run_still_going_is_not_started_twice() {
    // Every hour, but a run takes 90 minutes: the 1h mark passes during the first run; the
    // second starts when the first ends (one run, not a queue), the third an hour after
    // the second started.
    let mut sim = Sim::new(
        vec![scheduled("backup", "every 1h")],
        &[("backup", runs_for(90 * 60 * Duration::from_secs(1), 0))],
    );
    sim.run_until(4 * HOUR);
    let spawns = sim.spawns("backup");
    assert_eq!(
        spawns,
        [Duration::ZERO, 90 * 60 * Duration::from_secs(1), 3 * HOUR],
    );
}

#[test]
fn missed_runs_while_stopped_run_once_at_start() {
    let three_days_ago = wall0() - 72 * HOUR;
    let mut sim = sim_with_memory(
        vec![scheduled("backup", "every 24h")],
        &[("backup", runs_for(Duration::from_secs(10), 0))],
        &[("backup", three_days_ago)],
    );
    sim.run_until(23 * HOUR);
    assert_eq!(
        sim.spawns("backup"),
        [Duration::ZERO],
        "once, not three times"
    );
    sim.run_until(25 * HOUR);
    assert_eq!(sim.spawns("backup"), [Duration::ZERO, 24 * HOUR]);
}

#[test]
fn a_recent_run_is_not_repeated_at_start() {
    let an_hour_ago = wall0() - HOUR;
    let mut sim = sim_with_memory(
        vec![scheduled("backup", "every 24h")],
        &[("backup", runs_for(Duration::from_secs(10), 0))],
        &[("backup", an_hour_ago)],
    );
    assert_eq!(
        sim.state("backup"),
        State::Completed,
        "its last run completed (remembered)"
    );
    assert_eq!(sim.engine.snapshot().status, Overall::Healthy);
    sim.run_until(24 * HOUR);
    assert_eq!(sim.spawns("backup"), [23 * HOUR]);
}

#[test]
fn daily_runs_at_the_utc_time() {
    // The simulation starts at midnight UTC; the last run was yesterday at 03:00.
    let yesterday_3am = wall0() - 21 * HOUR;
    let mut sim = sim_with_memory(
        vec![scheduled("backup", "daily 03:00")],
        &[("backup", runs_for(Duration::from_secs(10), 0))],
        &[("backup", yesterday_3am)],
    );
    sim.run_until(28 * HOUR);
    assert_eq!(sim.spawns("backup"), [3 * HOUR, 27 * HOUR]);
}

#[test]
fn a_failed_run_degrades_until_the_next_one_and_is_retried_then() {
    let mut sim = Sim::new(
        vec![svc("db"), scheduled("backup", "every 1h")],
        &[("backup", runs_for(Duration::from_secs(5), 1))],
    );
    sim.run_until(Duration::from_secs(10));
    assert_eq!(sim.state("backup"), State::Failed);
    assert_eq!(sim.engine.snapshot().status, Overall::Degraded);
    sim.run_until(HOUR + Duration::from_secs(1));
    assert_eq!(sim.spawns("backup"), [Duration::ZERO, HOUR]);
    assert!(sim.engine.last_runs().is_empty(), "no successful run");
}

#[test]
fn start_runs_a_scheduled_oneshot_now_and_stop_suspends_it() {
    let mut sim = Sim::new(
        vec![scheduled("backup", "every 1h")],
        &[("backup", runs_for(Duration::from_secs(5), 0))],
    );
    sim.run_until(Duration::from_secs(600));
    sim.command("backup", Command::Start);
    sim.run_until(Duration::from_secs(700));
    assert_eq!(
        sim.spawns("backup"),
        [Duration::ZERO, Duration::from_secs(600)]
    );
    sim.command("backup", Command::Stop);
    sim.run_until(5 * HOUR);
    assert_eq!(sim.spawns("backup").len(), 2, "stopped: no more runs");
    assert_eq!(sim.state("backup"), State::Stopped);
}

#[test]
fn a_dependent_of_a_scheduled_oneshot_waits_for_its_first_success() {
    let mut sim = Sim::new(
        vec![
            scheduled("backup", "every 24h"),
            after(scheduled("verify", "every 24h"), 0, Condition::Completed),
        ],
        &[
            ("backup", runs_for(Duration::from_secs(30), 0)),
            ("verify", runs_for(Duration::from_secs(10), 0)),
        ],
    );
    sim.run_until(Duration::from_secs(60));
    assert_eq!(sim.spawns("verify"), [Duration::from_secs(30)]);
}

// ---- readiness by notification ----------------------------------------------------------

/// Ready by `READY=1`, with an HTTP liveness probe afterwards.
fn notifying(spec: ServiceSpec) -> ServiceSpec {
    let mut spec = probed(spec);
    if let Some(r) = spec.ready.as_mut() {
        r.is_notify = true;
    }
    spec
}

fn says_ready_after(ms: u64) -> Behaviour {
    Behaviour {
        notifies_after: Some(Duration::from_millis(ms)),
        ..Behaviour::default()
    }
}

#[test]
fn ready_the_instant_it_notifies_and_dependents_start_then() {
    let mut sim = Sim::new(
        vec![notifying(svc("db")), after(svc("app"), 0, Condition::Ready)],
        // The probe would pass at once; only READY=1 counts for readiness.
        &[("db", says_ready_after(137))],
    );
    sim.run_until(Duration::from_millis(136));
    assert_eq!(sim.state("db"), State::Starting);
    sim.run_until(Duration::from_millis(137));
    assert_eq!(sim.state("db"), State::Ready);
    assert_eq!(sim.spawns("app"), [Duration::from_millis(137)]);
}

#[test]
fn without_ready_within_the_start_period_it_is_restarted() {
    // start_period is 5 s in `probed`.
    let mut sim = Sim::new(vec![notifying(svc("mute"))], &[]);
    sim.run_until(Duration::from_secs(6));
    assert!(sim.reports.iter().any(|r| matches!(
        r,
        Report::Unhealthy { detail, .. } if detail.contains("no READY=1 within the start period (5s)")
    )));
    assert_eq!(
        sim.spawns("mute")[..2],
        [
            Duration::ZERO,
            Duration::from_secs(5) + 5 * MS + FIRST_BACKOFF
        ]
    );
}

#[test]
fn ready_from_another_process_does_not_count() {
    let mut sim = Sim::new(vec![notifying(svc("db"))], &[]);
    sim.run_until(Duration::from_millis(10));
    sim.engine
        .handle(Event::Notified { pid: Pid(4242) }, sim.now);
    sim.drain();
    assert_eq!(sim.state("db"), State::Starting);
}

#[test]
fn after_ready_the_probe_checks_liveness() {
    // Ready by notification at 50 ms; the probe then fails from 2 s on: three failures a
    // second apart make it unhealthy, and it is restarted.
    let mut sim = Sim::new(
        vec![notifying(svc("db"))],
        &[(
            "db",
            Behaviour {
                notifies_after: Some(50 * MS),
                probe: |t| t < Duration::from_secs(2),
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(1));
    assert_eq!(sim.state("db"), State::Ready);
    sim.run_until(Duration::from_secs(5));
    assert!(
        sim.reports
            .iter()
            .any(|r| matches!(r, Report::Unhealthy { .. }))
    );
    assert_eq!(sim.spawns("db").len(), 2);
}

// ---- rolling restarts (held sockets + READY=1) --------------------------------------------

/// Holds its socket and says READY=1: restarts are rolling.
fn rolling(spec: ServiceSpec) -> ServiceSpec {
    let mut spec = notifying(spec);
    spec.listen = vec![crate::supervisor::plan::ListenSpec {
        name: "http".into(),
        addr: crate::supervisor::plan::ListenAddr::Tcp("127.0.0.1:1".parse().unwrap()),
    }];
    spec
}

fn restart(sim: &mut Sim, name: &str) -> Accepted {
    let id = sim.id(name);
    let accepted = sim
        .engine
        .handle_command(id, Command::Restart, sim.now)
        .unwrap();
    sim.drain();
    accepted
}

fn handover_reports(sim: &Sim) -> Vec<Result<(), String>> {
    sim.reports
        .iter()
        .filter_map(|r| match r {
            Report::HandoverDone { .. } => Some(Ok(())),
            Report::HandoverFailed { reason, .. } => Some(Err(reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_rolling_restart_stops_the_old_instance_only_once_the_new_one_is_ready() {
    let mut sim = Sim::new(vec![rolling(svc("api"))], &[("api", says_ready_after(30))]);
    sim.run_until(Duration::from_secs(1));
    assert_eq!(restart(&mut sim, "api"), Accepted::Rolling);
    // The old instance (pid 100) keeps serving while the new one (101) starts.
    sim.run_until(Duration::from_secs(1) + 29 * MS);
    assert_eq!(sim.engine.snapshot().services[0].pid, Some(Pid(100)));
    assert!(sim.entries(|e| matches!(e, Entry::Signal(..))).is_empty());
    assert_eq!(sim.state("api"), State::Ready);
    // READY=1 from the new one: it serves, the old one gets its stop signal and drains.
    sim.run_until(Duration::from_secs(2));
    assert_eq!(sim.engine.snapshot().services[0].pid, Some(Pid(101)));
    assert_eq!(
        sim.entries(|e| matches!(e, Entry::Signal(_, s) if *s == Signal::TERM)),
        [Entry::Signal("api", Signal::TERM)]
    );
    assert_eq!(handover_reports(&sim), [Ok(())]);
    assert!(
        !sim.engine.is_service_pid(Pid(100)),
        "the old one has exited"
    );
    assert_eq!(
        sim.entries(|e| matches!(e, Entry::Overall(_))),
        [Entry::Overall(Overall::Healthy)],
        "never degraded"
    );
    assert_eq!(sim.engine.snapshot().services[0].restarts, 0);
}

#[test]
fn a_new_instance_that_never_gets_ready_is_stopped_and_the_old_one_keeps_serving() {
    let mut sim = Sim::new(vec![rolling(svc("api"))], &[]);
    // The first instance becomes ready by hand; later ones never say READY=1.
    sim.run_until(10 * MS);
    sim.engine
        .handle(Event::Notified { pid: Pid(100) }, sim.now);
    sim.drain();
    assert_eq!(restart(&mut sim, "api"), Accepted::Rolling);
    sim.run_until(Duration::from_secs(10));
    let reports = handover_reports(&sim);
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0]
            .as_ref()
            .is_err_and(|e| e.contains("did not say READY=1 within 5s")),
        "{reports:?}"
    );
    assert_eq!(sim.engine.snapshot().services[0].pid, Some(Pid(100)));
    assert_eq!(sim.state("api"), State::Ready);
    assert_eq!(
        sim.entries(|e| matches!(e, Entry::Signal(..))),
        [Entry::Signal("api", Signal::KILL)],
        "only the new instance was killed"
    );
}

#[test]
fn a_new_instance_that_crashes_fails_the_restart_and_the_old_one_keeps_serving() {
    let mut sim = Sim::new(vec![rolling(svc("api"))], &[("api", says_ready_after(30))]);
    sim.run_until(Duration::from_secs(1));
    restart(&mut sim, "api");
    let new = Pid(101);
    sim.engine.handle(
        Event::Exited {
            pid: new,
            how: Termination::Exited(3),
        },
        sim.now,
    );
    sim.drain();
    let reports = handover_reports(&sim);
    assert!(
        reports[0]
            .as_ref()
            .is_err_and(|e| e.contains("exited with code 3 before it was ready")),
        "{reports:?}"
    );
    assert_eq!(sim.engine.snapshot().services[0].pid, Some(Pid(100)));
    assert_eq!(sim.state("api"), State::Ready);
}

#[test]
fn when_the_old_instance_dies_during_the_handover_the_new_one_takes_over() {
    let mut sim = Sim::new(vec![rolling(svc("api"))], &[("api", says_ready_after(300))]);
    sim.run_until(Duration::from_secs(1));
    restart(&mut sim, "api");
    sim.run_until(Duration::from_secs(1) + 100 * MS);
    // The serving instance (100) dies; the new one (101) is still starting.
    sim.procs.remove(&Pid(100));
    sim.engine.handle(
        Event::Exited {
            pid: Pid(100),
            how: Termination::Killed(Signal::KILL),
        },
        sim.now,
    );
    sim.drain();
    assert_eq!(sim.state("api"), State::Starting);
    assert_eq!(sim.engine.snapshot().services[0].pid, Some(Pid(101)));
    sim.run_until(Duration::from_secs(2));
    assert_eq!(sim.state("api"), State::Ready);
    assert_eq!(sim.spawns("api").len(), 2, "no third instance");
}

#[test]
fn without_held_sockets_a_restart_stops_then_starts() {
    let mut sim = Sim::new(
        vec![notifying(svc("api"))],
        &[("api", says_ready_after(30))],
    );
    sim.run_until(Duration::from_secs(1));
    assert_eq!(restart(&mut sim, "api"), Accepted::Done);
    sim.run_until(Duration::from_secs(2));
    // Stopped (5 ms), then started again.
    assert_eq!(
        sim.spawns("api"),
        [Duration::ZERO, Duration::from_secs(1) + 5 * MS]
    );
}

#[test]
fn an_old_instance_that_ignores_its_stop_signal_is_killed_after_stop_timeout() {
    let mut sim = Sim::new(
        vec![rolling(svc("api"))],
        &[(
            "api",
            Behaviour {
                notifies_after: Some(30 * MS),
                ignores: vec![Signal::TERM],
                ..Behaviour::default()
            },
        )],
    );
    sim.run_until(Duration::from_secs(1));
    restart(&mut sim, "api");
    sim.run_until(Duration::from_secs(20));
    let kills: Vec<Duration> = sim
        .timeline
        .iter()
        .filter(|(_, e)| *e == Entry::Signal("api", Signal::KILL))
        .map(|(t, _)| *t)
        .collect();
    // stop_timeout is 10 s after the handover at 1.03 s (then the group cleanup).
    assert_eq!(kills[0], Duration::from_secs(11) + 30 * MS);
    assert!(!sim.engine.is_service_pid(Pid(100)));
}

#[test]
fn shutdown_during_a_handover_kills_the_new_instance_and_exits() {
    let mut sim = Sim::new(vec![rolling(svc("api"))], &[("api", says_ready_after(300))]);
    sim.run_until(Duration::from_secs(1));
    restart(&mut sim, "api");
    sim.run_until(Duration::from_secs(1) + 100 * MS);
    sim.shutdown();
    sim.run_until_idle();
    assert!(sim.is_done);
    assert!(
        handover_reports(&sim)[0]
            .as_ref()
            .is_err_and(|e| e.contains("shutting down"))
    );
}

// ---- live reload ------------------------------------------------------------------------------

fn reload(sim: &mut Sim, services: Vec<ServiceSpec>) -> ReloadSummary {
    let summary = sim.engine.reload(plan(services.clone()), sim.now).unwrap();
    // New services need names in the simulation.
    for s in &services {
        if !sim.names.contains(&s.name.as_str()) {
            sim.names
                .push(Box::leak(s.name.as_str().to_owned().into_boxed_str()));
        }
    }
    sim.drain();
    summary
}

fn pid_of(sim: &Sim, name: &str) -> Option<Pid> {
    sim.engine
        .snapshot()
        .services
        .iter()
        .find(|s| s.name.as_str() == name)
        .and_then(|s| s.pid)
}

#[test]
fn reload_starts_added_stops_removed_restarts_changed_and_leaves_the_rest() {
    let mut sim = Sim::new(vec![svc("db"), svc("api"), svc("old")], &[]);
    sim.run_until(Duration::from_secs(1));
    let (db, api) = (pid_of(&sim, "db"), pid_of(&sim, "api"));
    let mut api2 = svc("api");
    api2.env = vec![("MODE".into(), "new".into())];
    let summary = reload(&mut sim, vec![svc("db"), api2, svc("new")]);
    assert_eq!(
        summary.to_string(),
        "added new; removed old; restarting api"
    );
    sim.run_until(Duration::from_secs(2));
    assert_eq!(pid_of(&sim, "db"), db, "unchanged: same process");
    assert_ne!(pid_of(&sim, "api"), api, "changed: restarted");
    assert!(pid_of(&sim, "new").is_some(), "added: started");
    let names: Vec<String> = sim
        .engine
        .snapshot()
        .services
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["db", "api", "new"], "the removed one is gone");
    assert_eq!(sim.engine.snapshot().status, Overall::Healthy);
    assert!(sim.engine.find("old").is_none());
}

#[test]
fn changed_services_restart_one_at_a_time_in_dependency_order() {
    let mut sim = Sim::new(
        vec![
            probed(svc("db")),
            after(probed(svc("api")), 0, Condition::Ready),
        ],
        &[
            (
                "db",
                Behaviour {
                    probe: ready_after(Duration::from_millis(300)),
                    ..Behaviour::default()
                },
            ),
            (
                "api",
                Behaviour {
                    probe: ready_after(Duration::from_millis(300)),
                    ..Behaviour::default()
                },
            ),
        ],
    );
    sim.run_until(Duration::from_secs(5));
    let t = sim.now - sim.t0;
    let changed = |mut s: ServiceSpec| {
        s.env = vec![("V".into(), "2".into())];
        s
    };
    reload(
        &mut sim,
        vec![
            changed(probed(svc("db"))),
            after(changed(probed(svc("api"))), 0, Condition::Ready),
        ],
    );
    sim.run_until(Duration::from_secs(10));
    let db = sim.spawns("db");
    let api = sim.spawns("api");
    assert_eq!(db.len(), 2);
    assert_eq!(api.len(), 2);
    // db restarted first; api only once db was ready again (300 ms later and more).
    assert!(
        db[1] >= t && api[1] >= db[1] + Duration::from_millis(300),
        "db {db:?} api {api:?}"
    );
}

#[test]
fn a_changed_service_with_held_sockets_is_restarted_rolling() {
    let mut sim = Sim::new(vec![rolling(svc("web"))], &[("web", says_ready_after(30))]);
    sim.run_until(Duration::from_secs(1));
    let mut web2 = rolling(svc("web"));
    web2.command = vec!["web".into(), "--new".into()];
    reload(&mut sim, vec![web2]);
    // The old instance serves until the new one said READY=1.
    sim.run_until(Duration::from_secs(1) + 29 * MS);
    assert_eq!(pid_of(&sim, "web"), Some(Pid(100)));
    sim.run_until(Duration::from_secs(2));
    assert_eq!(pid_of(&sim, "web"), Some(Pid(101)));
    assert_eq!(handover_reports(&sim), [Ok(())]);
    assert_eq!(
        sim.entries(|e| matches!(e, Entry::Overall(_))),
        [Entry::Overall(Overall::Healthy)]
    );
}

#[test]
fn an_added_service_waits_for_its_dependency_in_the_running_plan() {
    let mut sim = Sim::new(vec![svc("db")], &[]);
    sim.run_until(Duration::from_secs(1));
    // `cache` depends on `db`, which keeps its id; the plan's own indices differ.
    reload(
        &mut sim,
        vec![
            svc("cache0"),
            svc("db"),
            after(svc("cache"), 1, Condition::Started),
        ],
    );
    sim.run_until(Duration::from_secs(2));
    assert!(pid_of(&sim, "cache").is_some());
    assert!(pid_of(&sim, "cache0").is_some());
    assert_eq!(sim.spawns("db").len(), 1);
}

#[test]
fn reload_is_refused_while_shutting_down() {
    let mut sim = Sim::new(vec![svc("a")], &[]);
    sim.shutdown();
    assert_eq!(
        sim.engine.reload(plan(vec![svc("a")]), sim.now),
        Err(CommandError::ShuttingDown)
    );
}
