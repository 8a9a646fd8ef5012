//! The one error type of the backup commands, and its exit code.

use std::path::{Path, PathBuf};

use super::db::TargetError;
use super::settings::SettingsError;
use super::tools::ToolError;

/// Exit code: the command failed (a tool, the server, the disk).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: invalid command line or settings.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: refused to protect data (restore over data without `--force`, a running
/// server, nothing suitable to restore).
pub const EXIT_REFUSED: u8 = 3;

/// Why a backup command failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// `DATABASE_URL` or its password file.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A PostgreSQL tool.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A file system operation.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A query.
    #[error("{what}: {message}")]
    Sql {
        /// What was being done.
        what: String,
        /// The server's message.
        message: String,
    },
    /// Refused, to protect data.
    #[error("{0}")]
    Refused(String),
    /// Failed for a reason explained in the message.
    #[error("{0}")]
    Failed(String),
    /// Invalid use.
    #[error("{0}")]
    Usage(String),
}

impl BackupError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::Settings(_) | BackupError::Usage(_) => EXIT_USAGE,
            BackupError::Target(TargetError::Url(_)) => EXIT_USAGE,
            BackupError::Refused(_) => EXIT_REFUSED,
            _ => EXIT_FAILED,
        }
    }

    /// A SQL error with context.
    pub fn sql(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> BackupError {
        let what = what.into();
        move |e| BackupError::Sql {
            what,
            message: super::db::describe_error(&e),
        }
    }
}

/// An I/O error with what and where.
pub fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io { what, path, source }
}
