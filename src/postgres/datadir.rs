//! What a data directory holds, and whether it can be used — decided without changing it.
//!
//! [`inspect`] takes a small snapshot (does it exist, its entries, `PG_VERSION`, owner and
//! mode); [`verdict`] is a pure function of that snapshot and of the server we are about to
//! run. Everything that can go wrong gets a message saying what is wrong and how to fix it;
//! nothing here ever deletes anything.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Our marker: present while a first boot is under way; removed when it finished.
pub const INIT_PENDING: &str = "wms-init.pending";

/// What was found at `PGDATA`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing there yet.
    Missing,
    /// An empty directory (a fresh volume).
    Empty {
        /// Owner uid.
        owner: u32,
    },
    /// A cluster (`PG_VERSION` present).
    Cluster {
        /// The major version it was created with.
        major: u32,
        /// Owner uid of the directory.
        owner: u32,
        /// Permission bits of the directory.
        mode: u32,
        /// Our first boot did not finish.
        is_init_pending: bool,
    },
    /// Files, but no cluster.
    Foreign {
        /// Up to five entry names, for the message.
        entries: Vec<String>,
    },
}

/// Looks at `pgdata` without changing anything.
pub fn inspect(pgdata: &Path) -> std::io::Result<Found> {
    let meta = match std::fs::metadata(pgdata) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a directory",
            pgdata.display()
        )));
    }
    let mut entries: Vec<String> = std::fs::read_dir(pgdata)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    if entries.is_empty() {
        return Ok(Found::Empty { owner: meta.uid() });
    }
    match std::fs::read_to_string(pgdata.join("PG_VERSION")) {
        Ok(text) => Ok(Found::Cluster {
            major: text.trim().parse().map_err(|_| {
                std::io::Error::other(format!(
                    "{}/PG_VERSION holds {:?}, not a version number",
                    pgdata.display(),
                    text.trim()
                ))
            })?,
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
            is_init_pending: entries.iter().any(|e| e == INIT_PENDING),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            entries.truncate(5);
            Ok(Found::Foreign { entries })
        }
        Err(e) => Err(e),
    }
}

/// What to do with the data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// First boot: create the cluster.
    Initialize,
    /// Use the existing cluster; if `fix_mode`, tighten its permissions to 0700 first
    /// (PostgreSQL refuses group/world access).
    Use {
        /// Permissions need tightening.
        fix_mode: bool,
    },
    /// Refuse to start, with the reason and the fix.
    Refuse(String),
}

/// Decides what to do with `found` at `pgdata` for a server of `server_major` running as
/// `server_uid` (`None`: whatever user we are).
pub fn verdict(
    found: &Found,
    pgdata: &Path,
    server_major: u32,
    server_uid: Option<u32>,
) -> Verdict {
    let p = pgdata.display();
    match found {
        Found::Missing | Found::Empty { .. } => Verdict::Initialize,
        Found::Foreign { entries } => Verdict::Refuse(format!(
            "PGDATA {p} is not empty but holds no PostgreSQL cluster (it contains: {}); \
             point PGDATA at an empty directory or at an existing cluster",
            entries.join(", ")
        )),
        Found::Cluster {
            is_init_pending: true,
            ..
        } => Verdict::Refuse(format!(
            "PGDATA {p} holds a cluster whose first-boot setup did not finish (database or \
             init scripts may be missing). Check it, then delete {p}/{INIT_PENDING} to use it \
             as is, or empty {p} to start over"
        )),
        Found::Cluster { major, .. } if *major != server_major => Verdict::Refuse(format!(
            "PGDATA {p} holds a PostgreSQL {major} cluster, but this server is PostgreSQL \
             {server_major}; upgrade the data with pg_upgrade (or pg_dump/pg_restore) or run \
             an image with PostgreSQL {major}"
        )),
        Found::Cluster { owner, .. } if server_uid.is_some_and(|uid| uid != *owner) => {
            let uid = server_uid.unwrap_or_default();
            Verdict::Refuse(format!(
                "PGDATA {p} is owned by uid {owner}, but PostgreSQL runs as uid {uid}; \
                 fix with: chown -R {uid} {p}"
            ))
        }
        Found::Cluster { mode, .. } => Verdict::Use {
            fix_mode: mode & 0o077 != 0 && *mode & 0o777 != 0o750,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(major: u32, owner: u32, mode: u32) -> Found {
        Found::Cluster {
            major,
            owner,
            mode,
            is_init_pending: false,
        }
    }

    #[test]
    fn verdicts() {
        let p = Path::new("/data");
        assert_eq!(
            verdict(&Found::Missing, p, 17, Some(101)),
            Verdict::Initialize
        );
        assert_eq!(
            verdict(&Found::Empty { owner: 0 }, p, 17, Some(101)),
            Verdict::Initialize
        );
        assert_eq!(
            verdict(&cluster(17, 101, 0o700), p, 17, Some(101)),
            Verdict::Use { fix_mode: false }
        );
        assert_eq!(
            verdict(&cluster(17, 101, 0o750), p, 17, Some(101)),
            Verdict::Use { fix_mode: false }
        );
        assert_eq!(
            verdict(&cluster(17, 101, 0o755), p, 17, Some(101)),
            Verdict::Use { fix_mode: true }
        );
        assert_eq!(
            verdict(&cluster(17, 5, 0o700), p, 17, None),
            Verdict::Use { fix_mode: false }
        );
    }

    #[test]
    fn refusals_say_what_is_wrong_and_how_to_fix_it() {
        let p = Path::new("/data");
        let Verdict::Refuse(m) = verdict(&cluster(16, 101, 0o700), p, 17, Some(101)) else {
            panic!()
        };
        assert!(
            m.contains("PostgreSQL 16 cluster, but this server is PostgreSQL 17"),
            "{m}"
        );
        let Verdict::Refuse(m) = verdict(&cluster(17, 0, 0o700), p, 17, Some(101)) else {
            panic!()
        };
        assert!(
            m.contains(
                "owned by uid 0, but PostgreSQL runs as uid 101; fix with: chown -R 101 /data"
            ),
            "{m}"
        );
        let found = Found::Foreign {
            entries: vec!["notes.txt".into()],
        };
        let Verdict::Refuse(m) = verdict(&found, p, 17, Some(101)) else {
            panic!()
        };
        assert!(
            m.contains("not empty but holds no PostgreSQL cluster (it contains: notes.txt)"),
            "{m}"
        );
        let pending = Found::Cluster {
            major: 17,
            owner: 101,
            mode: 0o700,
            is_init_pending: true,
        };
        let Verdict::Refuse(m) = verdict(&pending, p, 17, Some(101)) else {
            panic!()
        };
        assert!(m.contains("did not finish"), "{m}");
    }

    #[test]
    fn inspect_reads_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("pg");
        assert_eq!(inspect(&d).unwrap(), Found::Missing);
        std::fs::create_dir(&d).unwrap();
        assert!(matches!(inspect(&d).unwrap(), Found::Empty { .. }));
        std::fs::write(d.join("x"), "").unwrap();
        assert_eq!(
            inspect(&d).unwrap(),
            Found::Foreign {
                entries: vec!["x".into()]
            }
        );
        std::fs::write(d.join("PG_VERSION"), "15\n").unwrap();
        assert!(matches!(
            inspect(&d).unwrap(),
            Found::Cluster {
                major: 15,
                is_init_pending: false,
                ..
            }
        ));
        std::fs::write(d.join(INIT_PENDING), "").unwrap();
        assert!(matches!(
            inspect(&d).unwrap(),
            Found::Cluster {
                is_init_pending: true,
                ..
            }
        ));
        std::fs::write(d.join("PG_VERSION"), "x").unwrap();
        assert!(inspect(&d).is_err());
    }
}
