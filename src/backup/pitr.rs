//! `wms restore --latest` and `wms restore --at TIME`: rebuild PGDATA from the archive,
//! recover it, and swap it in only when the recovery succeeded.
//!
//! The stack's PostgreSQL must be stopped (`wms ctl stop postgres`, or run this in a one-off
//! container on the same volumes): a server answering on the socket, or a live postmaster
//! in `postmaster.pid`, is a refusal. The new directory is built beside PGDATA, so the swap
//! is two renames on one file system:
//!
//! * PGDATA is an ordinary directory: `PGDATA.restore-<TIME>` is built, PGDATA is renamed to
//!   `PGDATA.before-restore-<TIME>` (kept, never deleted), the new one to PGDATA.
//! * PGDATA is a mount point (a container volume; it cannot be renamed): the new cluster is
//!   built in `PGDATA/.wms-restore-<TIME>`; the old entries move into
//!   `PGDATA/.wms-before-restore-<TIME>`, then the new ones up. [`plan_swap`] decides
//!   (pure).
//!
//! After the swap the archive starts a new WAL stream (the restored cluster continues on
//! a new timeline: the old stream is kept as `wal.until-<TIME>`). The restore created the
//! replication slot in the new cluster at its first position, so the new stream starts
//! exactly where the old one was left: older base backups stay usable across the switch.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use tracing::{info, warn};

use super::archive::{Archive, base_name};
use super::error::{BackupError, io_err};
use super::recover::{self, After, Goal, Job};
use super::settings::Settings;
use super::status::rfc3339;
use super::tools::{Account, Tools};

/// What to restore.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Everything in the archive.
    Latest,
    /// Up to a time.
    Time(OffsetDateTime),
}

/// Where the new cluster is built and where the old one goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Swap {
    /// Beside PGDATA: two renames.
    Sibling {
        /// The new cluster.
        new: PathBuf,
        /// Where the old PGDATA goes (`None`: there is none).
        aside: Option<PathBuf>,
    },
    /// Inside PGDATA (a mount point): entries move.
    Inside {
        /// The new cluster.
        new: PathBuf,
        /// Where the old entries go.
        aside: PathBuf,
    },
}

impl Swap {
    /// The directory the new cluster is built in.
    pub fn new_dir(&self) -> &Path {
        match self {
            Swap::Sibling { new, .. } | Swap::Inside { new, .. } => new,
        }
    }
}

/// Decides where to build (pure): `exists` / `is_mount_point` describe PGDATA now.
pub fn plan_swap(pgdata: &Path, exists: bool, is_mount_point: bool, stamp: &str) -> Swap {
    if exists && is_mount_point {
        return Swap::Inside {
            new: pgdata.join(format!(".wms-restore-{stamp}")),
            aside: pgdata.join(format!(".wms-before-restore-{stamp}")),
        };
    }
    let name = pgdata
        .file_name()
        .map_or_else(|| "pgdata".into(), |n| n.to_string_lossy().into_owned());
    let sibling = |suffix: &str| pgdata.with_file_name(format!("{name}.{suffix}-{stamp}"));
    Swap::Sibling {
        new: sibling("restore"),
        aside: exists.then(|| sibling("before-restore")),
    }
}

/// `wms restore --latest | --at TIME`.
pub fn run(settings: &Settings, target: Target) -> Result<(), BackupError> {
    let archive = super::require_dir(settings)?;
    let account = Account::for_tools(settings.os_user.as_deref())?;
    let tools = Tools::detect(account.clone())?;
    refuse_if_running(settings)?;

    let pgdata = &settings.pgdata;
    let (exists, is_mount) = match std::fs::metadata(pgdata) {
        Ok(m) => {
            let parent_dev = pgdata
                .parent()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|p| p.dev());
            (true, parent_dev.is_some_and(|d| d != m.dev()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (false, false),
        Err(e) => return Err(io_err("cannot inspect PGDATA", pgdata)(e)),
    };
    let now = super::now();
    let stamp = base_name(now);
    let swap = plan_swap(pgdata, exists, is_mount, &stamp);
    let new = swap.new_dir().to_owned();
    if let Some(parent) = new.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("cannot create", parent))?;
    }
    let goal = match target {
        Target::Latest => Goal::Latest,
        Target::Time(t) => Goal::Time(t),
    };
    let job = Job {
        tools: &tools,
        archive: &archive,
        goal,
        into: &new,
        superuser: &settings.superuser,
        after: After {
            ledger_db: Some(settings.database.clone()),
            create_slot: true,
        },
    };
    let rebuilt = match recover::rebuild(&job) {
        Ok(r) => r,
        Err(e) => {
            // Only what this run built; PGDATA and the archive are untouched.
            if new.exists() {
                let _ = std::fs::remove_dir_all(&new);
            }
            return Err(e);
        }
    };
    let aside = apply_swap(pgdata, &swap)?;
    if let Err(e) = after_swap(&archive, now) {
        warn!("the restore worked, but {e}");
    }
    match &rebuilt.ledger {
        Some(l) if l.is_consistent() => info!(
            "ledger check of the restored database: clean ({} products)",
            l.products_checked
        ),
        Some(l) => warn!(
            "ledger check of the restored database: {} of {} products differ from their \
             journal: {}",
            l.mismatched_barcodes.len(),
            l.products_checked,
            l.mismatched_barcodes.join(", ")
        ),
        None => {}
    }
    info!(
        "restore done: PGDATA {} holds the data up to {} (base backup {}, {} WAL segments); {}; \
         start PostgreSQL again (wms ctl start postgres); a fresh base backup shortens later \
         restores (wms ctl start backup-base)",
        pgdata.display(),
        rebuilt
            .restored_to
            .map_or_else(|| "the base backup's end".into(), rfc3339),
        rebuilt.base.name,
        rebuilt.segments,
        match aside {
            Some(a) => format!("the previous data directory is kept in {}", a.display()),
            None => "there was no previous data directory".into(),
        }
    );
    Ok(())
}

/// Refuses while a server uses PGDATA: one answers on the socket, or `postmaster.pid`
/// names a live process.
fn refuse_if_running(settings: &Settings) -> Result<(), BackupError> {
    let socket = settings
        .socket_dir
        .join(format!(".s.PGSQL.{}", settings.port));
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(BackupError::Refused(format!(
            "PostgreSQL is running (it answers on {}): stop it first (wms ctl stop postgres), \
             then restore",
            socket.display()
        )));
    }
    let pid_file = settings.pgdata.join("postmaster.pid");
    if let Ok(text) = std::fs::read_to_string(&pid_file) {
        let pid = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok());
        if let Some(pid) = pid.filter(|p| *p > 0) {
            let is_alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
            let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.starts_with("postgres"));
            if is_alive && is_postgres {
                return Err(BackupError::Refused(format!(
                    "PostgreSQL (pid {pid}) is running on {}: stop it first (wms ctl stop \
                     postgres), then restore",
                    settings.pgdata.display()
                )));
            }
        }
        warn!(
            "{} is left from a server that is gone (killed?); restoring anyway",
            pid_file.display()
        );
    }
    Ok(())
}

/// Puts the new cluster in place; returns where the old one went.
fn apply_swap(pgdata: &Path, swap: &Swap) -> Result<Option<PathBuf>, BackupError> {
    let parent = pgdata.parent().unwrap_or(Path::new("/"));
    match swap {
        Swap::Sibling { new, aside } => {
            if let Some(aside) = aside {
                std::fs::rename(pgdata, aside).map_err(io_err("cannot move PGDATA to", aside))?;
            }
            if let Err(e) = std::fs::rename(new, pgdata) {
                // Put the old one back rather than leave no PGDATA.
                if let Some(aside) = aside {
                    let _ = std::fs::rename(aside, pgdata);
                }
                return Err(io_err("cannot move the restored cluster to", pgdata)(e));
            }
            sync_dir(parent)?;
            Ok(aside.clone())
        }
        Swap::Inside { new, aside } => {
            std::fs::create_dir(aside).map_err(io_err("cannot create", aside))?;
            let keep = |name: &str| {
                name.starts_with(".wms-restore-") || name.starts_with(".wms-before-restore-")
            };
            let mut moved = Vec::new();
            for e in std::fs::read_dir(pgdata)
                .map_err(io_err("cannot read", pgdata))?
                .filter_map(Result::ok)
            {
                let name = e.file_name();
                if keep(&name.to_string_lossy()) {
                    continue;
                }
                let to = aside.join(&name);
                std::fs::rename(e.path(), &to).map_err(io_err("cannot move aside", &e.path()))?;
                moved.push(name);
            }
            for e in std::fs::read_dir(new)
                .map_err(io_err("cannot read", new))?
                .filter_map(Result::ok)
            {
                let to = pgdata.join(e.file_name());
                std::fs::rename(e.path(), &to).map_err(io_err("cannot move into PGDATA", &to))?;
            }
            std::fs::remove_dir(new).map_err(io_err("cannot remove", new))?;
            sync_dir(pgdata)?;
            if moved.is_empty() {
                let _ = std::fs::remove_dir(aside);
                return Ok(None);
            }
            Ok(Some(aside.clone()))
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync", dir))
}

/// The restored cluster continues on a new timeline: a new WAL stream. (The chain stays
/// whole: base backup, the old stream up to the switch, the history file, the new stream;
/// a new base backup only shortens later recoveries.)
fn after_swap(archive: &Archive, now: OffsetDateTime) -> Result<(), String> {
    match archive.retire_wal(now) {
        Ok(Some(to)) => {
            info!("the previous WAL stream is kept in {}", to.display());
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(format!("cannot retire the WAL stream: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_plans() {
        let pgdata = Path::new("/var/lib/postgresql/data");
        assert_eq!(
            plan_swap(pgdata, true, false, "T"),
            Swap::Sibling {
                new: "/var/lib/postgresql/data.restore-T".into(),
                aside: Some("/var/lib/postgresql/data.before-restore-T".into()),
            }
        );
        assert_eq!(
            plan_swap(pgdata, false, false, "T"),
            Swap::Sibling {
                new: "/var/lib/postgresql/data.restore-T".into(),
                aside: None,
            }
        );
        assert_eq!(
            plan_swap(pgdata, true, true, "T"),
            Swap::Inside {
                new: "/var/lib/postgresql/data/.wms-restore-T".into(),
                aside: "/var/lib/postgresql/data/.wms-before-restore-T".into(),
            }
        );
    }
}
