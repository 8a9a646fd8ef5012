//! Base backups (`wms backup base [--if-due]`) and retention.
//!
//! A run, under `base/.lock` (a second run while one is going just says so and exits 0):
//!
//! 1. With `--if-due` (for running it by hand or from cron; the stack's schedule runs it
//!    without), decides whether one is due: none yet, or the newest older than
//!    `WMS_BASE_BACKUP_EVERY` ([`is_due`], pure).
//! 2. `pg_basebackup` (plain format with its manifest, WAL streamed alongside, fast
//!    checkpoint) into `base/<TIME>.partial`; our `wms-backup.json` records the start and
//!    consistency positions, timeline, segment size, times and size; then the directory is
//!    renamed to `base/<TIME>`, so a complete-looking backup is always complete.
//! 3. Retention ([`retention`], pure): the newest `WMS_BACKUP_KEEP` base backups stay; older
//!    ones are deleted, and so is WAL older than the first segment the oldest kept one needs.
//! 4. One log line, and `status/base.json` (a failure is recorded there too, and the
//!    exit code is 1).

use std::os::unix::fs::DirBuilderExt;
use std::time::Instant;

use nix::fcntl::{Flock, FlockArg};
use time::OffsetDateTime;
use tracing::{info, warn};

use super::archive::{self, Archive, BaseInfo, INFO_FILE, LOCK_FILE, PARTIAL_SUFFIX, base_name};
use super::db;
use super::error::{BackupError, io_err};
use super::receiver::become_account;
use super::settings::Settings;
use super::status::{self, BASE_FILE, BaseRecord, BaseRun, Failure, human};
use super::tools::Tools;
use super::wal::{self, DEFAULT_SEG_SIZE};

/// Why a base backup is due now, or `None`.
pub fn is_due(
    newest: Option<&BaseInfo>,
    every: std::time::Duration,
    now: OffsetDateTime,
) -> Option<String> {
    match newest {
        None => Some("there is none yet".to_owned()),
        Some(b) => {
            let age = status::seconds_between(b.finished_at, now);
            (age >= every.as_secs_f64()).then(|| {
                format!(
                    "the newest ({}) is {} old, one is due every {}",
                    b.name,
                    human(age),
                    human(every.as_secs_f64())
                )
            })
        }
    }
}

/// What the retention removes: base backups (names) and the first segment number kept.
#[derive(Debug, PartialEq, Eq)]
pub struct Retention {
    /// Base backups to delete, oldest first.
    pub remove: Vec<String>,
    /// WAL segments below this number are no longer needed.
    pub keep_from_segno: Option<u64>,
}

/// Keeps the newest `keep` of `bases` (oldest first); pure.
pub fn retention(bases: &[BaseInfo], keep: usize) -> Retention {
    let cut = bases.len().saturating_sub(keep.max(1));
    let oldest_kept = bases.get(cut);
    Retention {
        remove: bases[..cut].iter().map(|b| b.name.clone()).collect(),
        keep_from_segno: oldest_kept
            .and_then(|b| b.start().map(|lsn| lsn.segno(b.seg_size.max(1)))),
    }
}

/// `wms backup base [--if-due]`.
pub fn run(settings: &Settings, if_due: bool) -> Result<(), BackupError> {
    let Some(dir) = settings.backup_dir.as_deref() else {
        info!("WAL archiving is off (WMS_BACKUP_DIR=off): no base backup");
        return Ok(());
    };
    become_account(settings)?;
    let archive = Archive::new(dir);
    let base_dir = archive.base_dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&base_dir)
        .map_err(io_err(
            "cannot create (the backup volume must belong to the server's OS account)",
            &base_dir,
        ))?;
    let lock_path = base_dir.join(LOCK_FILE);
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("cannot open", &lock_path))?;
    let _lock = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            info!("a base backup is already running; not starting another");
            return Ok(());
        }
        Err((_, e)) => {
            return Err(io_err("cannot lock", &lock_path)(std::io::Error::from(e)));
        }
    };

    let mut skipped = Vec::new();
    let bases = archive.bases(&mut skipped);
    for s in &skipped {
        warn!("ignoring {s}");
    }
    let now = super::now();
    let why = if if_due {
        match is_due(bases.last(), settings.base_every, now) {
            Some(why) => why,
            None => {
                if let Some(b) = bases.last() {
                    info!(
                        "base backup not due: the newest ({}) is {} old, one is due every {}",
                        b.name,
                        human(status::seconds_between(b.finished_at, now)),
                        human(settings.base_every.as_secs_f64())
                    );
                }
                return Ok(());
            }
        }
    } else {
        "asked for".to_owned()
    };
    info!("base backup: starting ({why})");
    let started = Instant::now();
    match take(settings, &archive) {
        Ok(info) => {
            let mut bases = archive.bases(&mut Vec::new());
            let plan = retention(&bases, settings.keep);
            let (removed, pruned) = apply_retention(&archive, &plan, info.seg_size);
            bases.retain(|b| !plan.remove.contains(&b.name));
            let seconds = started.elapsed().as_secs_f64();
            info!(
                "base backup {} done: {} bytes in {seconds:.1} s, consistent from {}; \
                 {} kept, {removed} older removed, {pruned} WAL files pruned",
                info.name,
                info.bytes,
                info.end_lsn,
                bases.len()
            );
            let record = BaseRecord {
                last_ok: Some(BaseRun {
                    name: info.name.clone(),
                    at: info.finished_at,
                    bytes: info.bytes,
                    seconds,
                }),
                last_error: None,
                count: bases.len(),
                every_s: settings.base_every.as_secs(),
            };
            if let Err(e) = status::store(archive.root(), BASE_FILE, &record) {
                warn!("cannot record the base backup: {e}");
            }
            Ok(())
        }
        Err(e) => {
            let previous: BaseRecord = status::load(archive.root(), BASE_FILE).unwrap_or_default();
            let record = BaseRecord {
                last_error: Some(Failure {
                    at: super::now(),
                    error: e.to_string(),
                }),
                count: bases.len(),
                every_s: settings.base_every.as_secs(),
                ..previous
            };
            if let Err(w) = status::store(archive.root(), BASE_FILE, &record) {
                warn!("cannot record the failure: {w}");
            }
            Err(e)
        }
    }
}

/// Takes one base backup; returns what was recorded about it.
fn take(settings: &Settings, archive: &Archive) -> Result<BaseInfo, BackupError> {
    let base_dir = archive.base_dir();
    // Leftovers of runs that died: ours (we hold the lock), never complete.
    for e in std::fs::read_dir(&base_dir)
        .map_err(io_err("cannot read", &base_dir))?
        .filter_map(Result::ok)
    {
        if e.file_name().to_string_lossy().ends_with(PARTIAL_SUFFIX) {
            warn!("removing {} left by a failed run", e.path().display());
            std::fs::remove_dir_all(e.path()).map_err(io_err("cannot remove", &e.path()))?;
        }
    }
    let started_at = super::now();
    let mut name = base_name(started_at);
    let mut n = 1;
    while base_dir.join(&name).exists() {
        n += 1;
        name = format!("{}-{n}", base_name(started_at));
    }
    let partial = base_dir.join(format!("{name}{PARTIAL_SUFFIX}"));
    let tools = Tools::detect(None)?;
    let conninfo = format!(
        "{} application_name=wms_base_backup",
        db::embedded_conninfo(settings, "postgres")
    );
    let result = (|| {
        Tools::output(
            tools
                .command("pg_basebackup")
                .arg("--pgdata")
                .arg(&partial)
                .args([
                    "--format=plain",
                    "--wal-method=stream",
                    "--checkpoint=fast",
                    "--no-password",
                    "--label",
                    &format!("wms {name}"),
                    "--dbname",
                    &conninfo,
                ]),
        )?;
        describe(&tools, &partial, &name, started_at)
    })();
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let info_path = partial.join(INFO_FILE);
    let text = serde_json::to_string_pretty(&info)
        .map_err(|e| BackupError::Failed(format!("cannot encode {INFO_FILE}: {e}")))?;
    std::fs::write(&info_path, text + "\n")
        .and_then(|()| std::fs::File::open(&info_path)?.sync_all())
        .map_err(io_err("cannot write", &info_path))?;
    let done = base_dir.join(&name);
    std::fs::rename(&partial, &done).map_err(io_err("cannot rename to", &done))?;
    std::fs::File::open(&base_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync", &base_dir))?;
    Ok(info)
}

/// Reads what a finished `pg_basebackup` directory says about itself.
fn describe(
    tools: &Tools,
    dir: &std::path::Path,
    name: &str,
    started_at: OffsetDateTime,
) -> Result<BaseInfo, BackupError> {
    let label_path = dir.join("backup_label");
    let label =
        archive::read_small(&label_path, 64 * 1024).map_err(io_err("cannot read", &label_path))?;
    let label = archive::parse_label(&label).ok_or_else(|| {
        BackupError::Failed(format!("{} has no start position", label_path.display()))
    })?;
    let manifest_path = dir.join("backup_manifest");
    let manifest =
        std::fs::read_to_string(&manifest_path).map_err(io_err("cannot read", &manifest_path))?;
    let (_, end) = archive::parse_manifest_end(&manifest).ok_or_else(|| {
        BackupError::Failed(format!("{} has no WAL range", manifest_path.display()))
    })?;
    let seg_size = segment_size(tools, dir).unwrap_or_else(|e| {
        warn!("{e}; assuming {DEFAULT_SEG_SIZE}-byte WAL segments");
        DEFAULT_SEG_SIZE
    });
    Ok(BaseInfo {
        name: name.to_owned(),
        start_lsn: label.start.to_string(),
        end_lsn: end.to_string(),
        timeline: label.timeline,
        seg_size,
        started_at,
        finished_at: super::now(),
        bytes: archive::disk_usage(dir),
    })
}

/// `Bytes per WAL segment` from `pg_controldata` on a data directory or base backup.
pub fn segment_size(tools: &Tools, dir: &std::path::Path) -> Result<u64, BackupError> {
    let out = Tools::output(tools.command("pg_controldata").arg(dir).env("LC_ALL", "C"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Bytes per WAL segment:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| v.is_power_of_two())
        .ok_or_else(|| {
            BackupError::Failed(format!(
                "pg_controldata {} does not give the WAL segment size",
                dir.display()
            ))
        })
}

/// Deletes what the plan says; returns (base backups removed, WAL files pruned).
fn apply_retention(archive: &Archive, plan: &Retention, seg_size: u64) -> (usize, usize) {
    let mut removed = 0;
    for name in &plan.remove {
        let path = archive.base_path(name);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed += 1,
            Err(e) => warn!("cannot remove {}: {e}", path.display()),
        }
    }
    let mut pruned = 0;
    if let Some(keep_from) = plan.keep_from_segno {
        for dir in archive.wal_dirs() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(file) = wal::classify(&name, seg_size) else {
                    continue;
                };
                if wal::is_prunable(file, keep_from) {
                    match std::fs::remove_file(e.path()) {
                        Ok(()) => pruned += 1,
                        Err(err) => warn!("cannot remove {}: {err}", e.path().display()),
                    }
                }
            }
        }
    }
    (removed, pruned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use time::macros::datetime;

    fn info(name: &str, start: &str, finished: OffsetDateTime) -> BaseInfo {
        BaseInfo {
            name: name.into(),
            start_lsn: start.into(),
            end_lsn: start.into(),
            timeline: 1,
            seg_size: DEFAULT_SEG_SIZE,
            started_at: finished,
            finished_at: finished,
            bytes: 1,
        }
    }

    #[test]
    fn due_rules() {
        let now = datetime!(2026-12-06 12:00 UTC);
        let day = Duration::from_secs(86400);
        assert_eq!(is_due(None, day, now).as_deref(), Some("there is none yet"));
        let b = info("a", "0/2000028", datetime!(2026-12-06 00:00 UTC));
        assert_eq!(is_due(Some(&b), day, now), None);
        let old = info("a", "0/2000028", datetime!(2026-12-05 11:00 UTC));
        assert_eq!(
            is_due(Some(&old), day, now).as_deref(),
            Some("the newest (a) is 25h 0m old, one is due every 24h 0m")
        );
    }

    #[test]
    fn retention_keeps_the_newest() {
        let t = datetime!(2026-12-06 12:00 UTC);
        let bases = vec![
            info("a", "0/2000028", t),
            info("b", "0/5000028", t),
            info("c", "0/9000028", t),
        ];
        assert_eq!(
            retention(&bases, 2),
            Retention {
                remove: vec!["a".into()],
                keep_from_segno: Some(5)
            }
        );
        assert_eq!(
            retention(&bases, 7),
            Retention {
                remove: vec![],
                keep_from_segno: Some(2)
            }
        );
        assert_eq!(
            retention(&[], 7),
            Retention {
                remove: vec![],
                keep_from_segno: None
            }
        );
    }
}
