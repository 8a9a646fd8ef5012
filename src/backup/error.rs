//! The one error type of the backup commands, and its exit code.

use crate::exit::Exit;
use std::path::{Path, PathBuf};

use super::db::TargetError;
use super::settings::SettingsError;
use super::tools::ToolError;

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
    /// Refused to protect data (restore over data without `--force`, a running server,
    /// nothing suitable to restore) is [`Exit::Precondition`].
    pub fn exit(&self) -> Exit {
        match self {
            BackupError::Settings(_) | BackupError::Usage(_) => Exit::Invalid,
            BackupError::Target(TargetError::Url(_)) => Exit::Invalid,
            BackupError::Refused(_) => Exit::Precondition,
            _ => Exit::Failed,
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
