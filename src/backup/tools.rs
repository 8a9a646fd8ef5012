//! PostgreSQL's own tools (`pg_dump`, `pg_restore`, `pg_basebackup`, `pg_receivewal`,
//! `pg_waldump`, `pg_controldata`, `postgres`), found like the server's, and the OS account
//! they run as.
//!
//! The binaries come from `PG_BIN`, else the newest `/usr/lib/postgresql/*/bin` (the same
//! rule as `wms postgres`; duplicated here so this module does not import `postgres`). When
//! we run as root (`podman exec wms wms backup`), the tools run as the server's OS account
//! (`PG_OS_USER`, default `postgres`): PostgreSQL refuses root, the socket authenticates that
//! account, and the files it writes must belong to it. Commands here are one-off children
//! that we wait for ourselves; supervised services are never started from here.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How much of a failed tool's output an error carries.
const OUTPUT_TAIL: usize = 2000;

/// Why a tool could not be found or run.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not found (`PG_BIN` or Debian's directories).
    #[error(transparent)]
    Locate(#[from] crate::pgbin::LocateError),
    /// The OS account does not exist.
    #[error("PG_OS_USER: unknown user {0:?}")]
    UnknownAccount(String),
    /// The tool could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The tool failed.
    #[error("{program} failed ({status}): {output}")]
    Failed {
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
        /// The end of what it printed.
        output: String,
    },
    /// Dropping privileges failed.
    #[error("cannot switch to the OS account {name:?}: {source}")]
    Switch {
        /// The account.
        name: String,
        /// The OS error.
        source: nix::Error,
    },
}

/// An OS account the tools run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its home directory.
    pub home: PathBuf,
}

impl Account {
    /// The account to switch to: `os_user` when we are root, else none (we are already
    /// whoever we are).
    pub fn for_tools(os_user: Option<&str>) -> Result<Option<Account>, ToolError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        let Some(name) = os_user else {
            return Ok(None);
        };
        let user = crate::accounts::lookup_user(name)
            .ok()
            .flatten()
            .ok_or_else(|| ToolError::UnknownAccount(name.to_owned()))?;
        Ok(Some(Account {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            home: user.home,
        }))
    }

    /// Drops this process's privileges to the account for good. Call before any thread is
    /// started (it changes the identity of the calling thread's process).
    pub fn become_it(&self) -> Result<(), ToolError> {
        let err = |source| ToolError::Switch {
            name: self.name.clone(),
            source,
        };
        let gid = nix::unistd::Gid::from_raw(self.gid);
        nix::unistd::setgroups(&[gid]).map_err(err)?;
        nix::unistd::setgid(gid).map_err(err)?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(self.uid)).map_err(err)?;
        // SAFETY: setting environment variables before any thread exists.
        unsafe {
            std::env::set_var("HOME", &self.home);
            std::env::set_var("USER", &self.name);
        }
        Ok(())
    }

    /// Gives `path` to this account.
    pub fn chown(&self, path: &Path) -> std::io::Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
    }
}

/// The directory of PostgreSQL's binaries and the account to run them as.
#[derive(Clone, Debug)]
pub struct Tools {
    dir: PathBuf,
    account: Option<Account>,
}

impl Tools {
    /// `PG_BIN` if set, else the newest `/usr/lib/postgresql/N/bin`; `account` as given by
    /// [`Account::for_tools`].
    pub fn detect(account: Option<Account>) -> Result<Self, ToolError> {
        let dir = crate::pgbin::locate()?;
        Ok(Tools { dir, account })
    }

    /// The account the tools run as (`None`: ours).
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    /// A command for the tool `name`, as the account, with a UTC time zone (tools print
    /// times in it) and no inherited stdin.
    pub fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.dir.join(name));
        cmd.env("TZ", "UTC").stdin(std::process::Stdio::null());
        if let Some(a) = &self.account {
            cmd.uid(a.uid)
                .gid(a.gid)
                .env("HOME", &a.home)
                .env("USER", &a.name);
            // std drops the supplementary groups itself when root sets a uid.
        }
        cmd
    }

    /// The path of the tool `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `cmd` to completion, capturing its output; a non-zero exit is an error carrying
    /// the end of what it printed.
    pub fn output(cmd: &mut Command) -> Result<Output, ToolError> {
        let program = program_name(cmd.get_program());
        let out = cmd.output().map_err(|source| ToolError::Spawn {
            program: program.clone(),
            source,
        })?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(ToolError::Failed {
                program,
                status: out.status.to_string(),
                output: tail_text(&out.stderr, &out.stdout),
            })
        }
    }
}

/// The file name of a program, for messages.
pub fn program_name(program: &OsStr) -> String {
    Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy()
        .into_owned()
}

/// The last [`OUTPUT_TAIL`] bytes of stderr (or stdout when stderr is empty), trimmed.
pub fn tail_text(stderr: &[u8], stdout: &[u8]) -> String {
    let bytes = if stderr.iter().all(u8::is_ascii_whitespace) {
        stdout
    } else {
        stderr
    };
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let start = text.len().saturating_sub(OUTPUT_TAIL);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail_text(b"  \n", b"out\n"), "out");
        assert_eq!(tail_text(b"err\n", b"out"), "err");
        let long = "é".repeat(3000);
        let t = tail_text(long.as_bytes(), b"");
        assert!(t.len() <= OUTPUT_TAIL && t.chars().all(|c| c == 'é'));
    }
}
