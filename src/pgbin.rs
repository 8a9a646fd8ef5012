//! Where PostgreSQL's server binaries are: `PG_BIN` if set, else the newest Debian
//! `/usr/lib/postgresql/N/bin`. Shared by `postgres` (the server, `initdb`) and `backup`
//! (`pg_dump`, `pg_basebackup`, ...).

use std::path::PathBuf;

/// Where Debian installs one directory per major version.
pub const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Why no server binaries were found.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// `PG_BIN` points somewhere without `postgres` in it.
    #[error("PG_BIN={0} has no postgres binary in it")]
    NotInPgBin(PathBuf),
    /// Nothing under /usr/lib/postgresql.
    #[error("no PostgreSQL server found under {DEBIAN_ROOT}/*/bin; install one or set PG_BIN")]
    NotFound,
}

/// The directory holding `postgres`, `initdb`, `pg_dump`, ...
pub fn locate() -> Result<PathBuf, LocateError> {
    if let Some(dir) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("postgres").is_file() {
            Ok(dir)
        } else {
            Err(LocateError::NotInPgBin(dir))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .map_err(|_| LocateError::NotFound)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, dir)| dir).ok_or(LocateError::NotFound)
}
