//! Finding PostgreSQL's server binaries and their major version.

use std::path::{Path, PathBuf};

/// Why no usable server binaries were found.
#[derive(Debug, thiserror::Error)]
pub enum BinError {
    /// Not found (`PG_BIN` or Debian's directories).
    #[error(transparent)]
    Locate(#[from] crate::pgbin::LocateError),
    /// `postgres --version` failed or printed something unexpected.
    #[error("cannot tell the version of {path}: {reason}")]
    Version {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// A directory with `postgres`, `initdb`, ... of one major version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgBin {
    dir: PathBuf,
}

impl PgBin {
    /// `PG_BIN` if set, else the newest `/usr/lib/postgresql/N/bin`.
    pub fn detect() -> Result<Self, BinError> {
        Ok(PgBin {
            dir: crate::pgbin::locate()?,
        })
    }

    /// A binary in this directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The major version, from `postgres --version`.
    pub fn major(&self) -> Result<u32, BinError> {
        let path = self.path("postgres");
        let out = std::process::Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| BinError::Version {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        parse_major(&text).ok_or_else(|| BinError::Version {
            path,
            reason: format!("unexpected output {:?}", text.trim()),
        })
    }
}

/// `postgres (PostgreSQL) 17.2 (Debian 17.2-1)` → 17.
pub fn parse_major(version_output: &str) -> Option<u32> {
    let after = version_output.split(")").nth(1)?.trim_start();
    let number = after.split(|c: char| !c.is_ascii_digit()).next()?;
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 17.2"), Some(17));
        assert_eq!(parse_major("postgres (PostgreSQL) 18beta1"), Some(18));
        assert_eq!(parse_major("garbage"), None);
    }
}
