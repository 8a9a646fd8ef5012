//! The exit codes of every `wms` subcommand, in one place. Each role returns an
//! [`Outcome`]: `Ok(())`, or a [`Failure`] that says which [`Exit`] it is and why; `main`
//! reports the failure and turns it into the process status (its table and the README's
//! list are this enum). Roles print their results, never their own failure.

use std::fmt;
use std::process::ExitCode;

/// How a subcommand ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done (for `supervise`: a requested shutdown completed).
    Success,
    /// 1: failed at run time (cannot connect, bind, a tool failed, a check found a problem).
    Failed,
    /// 2: invalid configuration or command line; nothing was started or changed.
    Invalid,
    /// 3: refused because a precondition is not met: the schema is not migrated
    /// (`backend`), existing data would be overwritten (`restore` without `--force`), the
    /// supervisor cannot be reached (`ctl`).
    Precondition,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::Precondition => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// How a role ends: done, or failed for a reason.
pub type Outcome = Result<(), Failure>;

/// Why a role failed: the exit code and the message `main` reports (one or more lines,
/// naming what is wrong).
#[derive(Debug)]
pub struct Failure {
    exit: Exit,
    message: String,
}

impl Failure {
    /// A failure with this exit code.
    pub fn new(exit: Exit, message: impl fmt::Display) -> Self {
        Failure {
            exit,
            message: message.to_string(),
        }
    }

    /// [`Exit::Failed`]: failed at run time.
    pub fn failed(message: impl fmt::Display) -> Self {
        Failure::new(Exit::Failed, message)
    }

    /// [`Exit::Invalid`]: the configuration or the command line is wrong.
    pub fn invalid(message: impl fmt::Display) -> Self {
        Failure::new(Exit::Invalid, message)
    }

    /// [`Exit::Precondition`]: refused, a precondition is not met.
    pub fn precondition(message: impl fmt::Display) -> Self {
        Failure::new(Exit::Precondition, message)
    }

    /// The exit code.
    pub fn exit(&self) -> Exit {
        self.exit
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let all = [
            Exit::Success,
            Exit::Failed,
            Exit::Invalid,
            Exit::Precondition,
        ];
        let codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn a_failure_keeps_its_code_and_message() {
        let f = Failure::precondition("run `wms migrate`");
        assert_eq!(f.exit(), Exit::Precondition);
        assert_eq!(f.to_string(), "run `wms migrate`");
        assert_eq!(Failure::invalid("x").exit().code(), 2);
        assert_eq!(Failure::failed("x").exit().code(), 1);
    }
}
