//! The exit codes of every `wms` subcommand, in one place. Each role ends with one of
//! these; `main`'s table and the README's list are this enum.

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
}
