//! The one place that calls `waitpid`.
//!
//! On every SIGCHLD the runtime calls [`Reaper::reap`], which loops `waitpid(-1, WNOHANG)`
//! until nothing is left, so every child is collected: services, probe commands, and
//! orphans re-parented to us (we are PID 1 or a child subreaper). Exits of pids someone
//! registered with [`Reaper::watch`] (exec probes) go to that waiter; all others are
//! returned for the engine, which ignores pids it does not know (orphans).

use std::collections::HashMap;

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use tokio::sync::oneshot;

use super::engine::{Pid, Termination};
use super::plan::Signal;

/// Collects exit statuses; owns the pid → waiter registry.
#[derive(Debug, Default)]
pub struct Reaper {
    /// Waiters for specific pids. A waiter that gave up (dropped receiver) is simply
    /// removed when its pid is reaped.
    waiters: HashMap<Pid, oneshot::Sender<Termination>>,
}

impl Reaper {
    /// Delivers `pid`'s exit to the returned receiver instead of returning it from `reap`.
    /// Call right after spawning, before the next `reap`.
    pub fn watch(&mut self, pid: Pid) -> oneshot::Receiver<Termination> {
        let (tx, rx) = oneshot::channel();
        self.waiters.insert(pid, tx);
        rx
    }

    /// Reaps every child that has exited. Returns those without a waiter.
    pub fn reap(&mut self) -> Vec<(Pid, Termination)> {
        let mut unclaimed = Vec::new();
        loop {
            let (pid, how) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (Pid(pid.as_raw()), Termination::Exited(code)),
                Ok(WaitStatus::Signaled(pid, sig, _core)) => (
                    Pid(pid.as_raw()),
                    Termination::Killed(Signal::from_raw(sig as i32)),
                ),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Err(Errno::EINTR) => continue,
                // Stopped/continued are not requested (no WUNTRACED/WCONTINUED).
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("waitpid failed: {e}");
                    break;
                }
            };
            match self.waiters.remove(&pid) {
                Some(tx) => {
                    let _ = tx.send(how);
                }
                None => unclaimed.push((pid, how)),
            }
        }
        unclaimed
    }
}
