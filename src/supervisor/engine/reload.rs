//! Live reload (`wms ctl reload`, SIGHUP): a new, already validated plan is applied as a
//! difference, decided here like everything else (no I/O, no clock).
//!
//! * Services are matched by name. Ids never change: a removed service stays as a tombstone
//!   until its process is gone (probes and exits in flight still find their slot), an added
//!   one takes a new id.
//! * Added services start as soon as their dependencies allow. Removed ones are stopped and
//!   forgotten. Changed ones (any difference in their spec, dependencies included) are
//!   restarted one after another in dependency order: rolling where possible (held sockets
//!   and READY=1), a plain restart otherwise; a changed oneshot that is not running is not
//!   run again. Unchanged services are not touched: their processes keep running.
//! * `[supervisor]` settings other than `shutdown_timeout` (the listener addresses, the
//!   control socket, the state directory) take effect at the supervisor's next start; the
//!   summary says when they differ.

use std::collections::HashMap;
use std::time::Instant;

use super::{Accepted, CommandError, Engine, Handover, Phase, State, StopReason, Svc};
use crate::supervisor::plan::{Dependency, Plan, ServiceId, ServiceName};

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Services that are new.
    pub added: Vec<ServiceName>,
    /// Services that are gone (being stopped).
    pub removed: Vec<ServiceName>,
    /// Services whose spec changed (restarted one by one, rolling where possible).
    pub changed: Vec<ServiceName>,
    /// True if `[supervisor]` settings that apply only at the next start differ.
    pub needs_restart_for_supervisor: bool,
}

impl ReloadSummary {
    /// True if and only if nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.needs_restart_for_supervisor
    }
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return write!(f, "nothing changed");
        }
        let names = |v: &[ServiceName]| {
            v.iter()
                .map(ServiceName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("added {}", names(&self.added)));
        }
        if !self.removed.is_empty() {
            parts.push(format!("removed {}", names(&self.removed)));
        }
        if !self.changed.is_empty() {
            parts.push(format!("restarting {}", names(&self.changed)));
        }
        if self.needs_restart_for_supervisor {
            parts.push("[supervisor] changes apply at the next start".into());
        }
        write!(f, "{}", parts.join("; "))
    }
}

impl Engine {
    /// Applies `new` (validated) as a difference to the running plan.
    pub fn reload(&mut self, new: Plan, now: Instant) -> Result<ReloadSummary, CommandError> {
        if self.phase != Phase::Running {
            return Err(CommandError::ShuttingDown);
        }
        let mut summary = ReloadSummary {
            needs_restart_for_supervisor: {
                let (old, new) = (&self.plan.supervisor, &new.supervisor);
                old.health_listen != new.health_listen
                    || old.control_socket != new.control_socket
                    || old.state_dir != new.state_dir
            },
            ..ReloadSummary::default()
        };
        self.plan.supervisor.shutdown_timeout = new.supervisor.shutdown_timeout;

        // Engine id of every service of the new plan (existing ones keep theirs).
        let mut id_of: HashMap<ServiceName, ServiceId> = self
            .plan
            .ids()
            .map(|id| (self.plan.service(id).name.clone(), id))
            .collect();
        let mut new_ids = Vec::with_capacity(new.services.len());
        for spec in &new.services {
            let id = match id_of.get(&spec.name) {
                Some(id) => *id,
                None => {
                    let id = ServiceId(self.plan.services.len());
                    self.plan.services.push(spec.clone());
                    self.svcs.push(Svc::new(true));
                    self.removed.push(false);
                    id_of.insert(spec.name.clone(), id);
                    summary.added.push(spec.name.clone());
                    id
                }
            };
            new_ids.push(id);
        }
        // The new specs, their dependencies in engine ids.
        let mut changed = Vec::new();
        for (j, spec) in new.services.into_iter().enumerate() {
            let id = new_ids[j];
            let mut spec = spec;
            spec.depends_on = spec
                .depends_on
                .iter()
                .map(|d| Dependency {
                    on: new_ids[d.on.0],
                    condition: d.condition,
                })
                .collect();
            let was_removed = self.removed[id.0];
            if was_removed {
                // Back after a removal: started again with the new spec (once its old
                // process, if still stopping, is gone).
                self.removed[id.0] = false;
                let s = &mut self.svcs[id.0];
                s.is_wanted = true;
                if s.stop_reason == Some(StopReason::User) {
                    s.stop_reason = Some(StopReason::Restart);
                }
                if s.pid.is_none() && s.state == State::Stopped {
                    self.set_state(id, State::Waiting);
                }
                summary.added.push(spec.name.clone());
            } else if !summary.added.contains(&spec.name) && *self.plan.service(id) != spec {
                summary.changed.push(spec.name.clone());
                changed.push(id);
            }
            self.plan.services[id.0] = spec;
        }
        // What is no longer there: stopped and forgotten.
        let kept: Vec<bool> = self.plan.ids().map(|id| new_ids.contains(&id)).collect();
        for id in self.plan.ids() {
            if kept[id.0] || self.removed[id.0] {
                continue;
            }
            self.removed[id.0] = true;
            summary.removed.push(self.plan.service(id).name.clone());
            self.reload_queue.retain(|q| *q != id);
            let s = &mut self.svcs[id.0];
            s.is_wanted = false;
            s.restart_at = None;
            s.next_run_at = None;
            if s.pid.is_some() {
                self.stop(id, StopReason::User, now);
            } else if s.state != State::Stopped {
                self.set_state(id, State::Stopped);
            }
        }
        // Tombstones no longer depend on anything: nothing waits for them.
        for id in self.plan.ids() {
            if self.removed[id.0] {
                self.plan.services[id.0].depends_on.clear();
            }
        }
        self.dependents = self.plan.transitive_dependents();
        // Changed services restart in the new plan's order (dependencies first).
        for id in changed {
            if !self.reload_queue.contains(&id) {
                self.reload_queue.push_back(id);
            }
        }
        self.settle(now);
        Ok(summary)
    }

    /// Restarts the changed services of reloads one at a time: the next begins once the
    /// current one is back (ready, or settled in a failure state).
    pub(super) fn advance_reload(&mut self, now: Instant) {
        if let Some(id) = self.reload_current {
            let s = &self.svcs[id.0];
            let is_back = s.handover.is_none()
                && matches!(
                    s.state,
                    State::Ready
                        | State::Completed
                        | State::Failed
                        | State::Backoff
                        | State::Unhealthy
                        | State::Stopped
                        | State::Exited
                );
            if !is_back {
                return;
            }
            self.reload_current = None;
        }
        while let Some(id) = self.reload_queue.pop_front() {
            if self.removed[id.0] || !self.svcs[id.0].has_process() {
                // Not running: it will start with its new spec when it starts.
                continue;
            }
            self.reload_current = Some(id);
            if self.can_roll(id) {
                let start_period = self
                    .plan
                    .service(id)
                    .ready
                    .as_ref()
                    .map_or(std::time::Duration::ZERO, |r| r.start_period);
                self.svcs[id.0].handover = Some(Handover {
                    pid: None,
                    spawned_at: None,
                    ready_by: now + start_period,
                });
                self.actions.push_back(super::Action::Spawn { service: id });
            } else {
                let _: Result<Accepted, CommandError> = self.handle_restart_plain(id, now);
            }
            return;
        }
    }

    /// A plain restart (stop, then start) as `wms ctl restart` does without a handover.
    fn handle_restart_plain(
        &mut self,
        id: ServiceId,
        now: Instant,
    ) -> Result<Accepted, CommandError> {
        let s = &mut self.svcs[id.0];
        s.is_wanted = true;
        s.backoff = None;
        s.restarts_in_a_row = 0;
        s.restart_at = None;
        if s.pid.is_some() {
            self.stop(id, StopReason::Restart, now);
        }
        Ok(Accepted::Done)
    }
}
