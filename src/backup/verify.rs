//! `wms backup verify [--if-due]`: the restore drill.
//!
//! The newest base backup and all archived WAL are restored into a scratch directory on
//! the backup volume (`verify/<TIME>`), recovered by a temporary server on a private socket
//! (nothing listens on TCP, the production server is not involved), and the ledger check
//! (the same SQL the backend's `GET /api/admin/ledger-check` runs) is run on the restored
//! app database. The result is printed, recorded in `status/verify.json`, and the scratch
//! directory removed. Exit 0 when the restore worked and the ledger is clean, 1 otherwise.
//!
//! With `--if-due` it runs only when the last drill (or, before the first one, the first
//! base backup) is older than `WMS_BACKUP_VERIFY_EVERY`.

use std::time::Instant;

use tracing::{info, warn};

use nix::fcntl::{Flock, FlockArg};

use super::archive::{LOCK_FILE, base_name};
use super::error::{BackupError, io_err};
use super::receiver::become_account;
use super::recover::{self, After, Goal, Job};
use super::settings::Settings;
use super::status::{self, DrillRecord, VERIFY_FILE, human, rfc3339};
use super::tools::Tools;

/// One drill at a time: a second one waits for the first (the scratch space is shared).
fn lock(dir: &std::path::Path) -> Result<Flock<std::fs::File>, BackupError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("cannot open", &path))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(l),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            info!("another restore drill is running; waiting for it to finish");
            Flock::lock(file, FlockArg::LockExclusive)
                .map_err(|(_, e)| io_err("cannot lock", &path)(std::io::Error::from(e)))
        }
        Err((_, e)) => Err(io_err("cannot lock", &path)(std::io::Error::from(e))),
    }
}

/// `wms backup verify [--if-due]`.
pub fn run(settings: &Settings, if_due: bool) -> Result<(), BackupError> {
    let Some(dir) = settings.backup_dir.as_deref() else {
        info!("WAL archiving is off (WMS_BACKUP_DIR=off): nothing to verify");
        return Ok(());
    };
    become_account(settings)?;
    let archive = super::archive::Archive::new(dir);
    let now = super::now();
    if if_due {
        let bases = archive.bases(&mut Vec::new());
        let Some(first) = bases.first() else {
            info!("restore drill not due: there is no base backup yet");
            return Ok(());
        };
        // The first drill comes one period after the first base backup, so a first boot
        // is not delayed by it.
        let last: Option<DrillRecord> = status::load(dir, VERIFY_FILE);
        let (since, what) = match &last {
            Some(d) => (d.at, "the last drill"),
            None => (first.finished_at, "the first base backup"),
        };
        let age = status::seconds_between(since, now);
        if age < settings.verify_every.as_secs_f64() {
            info!(
                "restore drill not due: {what} was {} ago, one is due every {}",
                human(age),
                human(settings.verify_every.as_secs_f64())
            );
            return Ok(());
        }
    }
    let scratch_root = archive.verify_dir();
    std::fs::create_dir_all(&scratch_root).map_err(io_err("cannot create", &scratch_root))?;
    let _lock = lock(&scratch_root)?;
    // Leftovers of drills that died (we hold the lock: none is running).
    for e in std::fs::read_dir(&scratch_root)
        .map_err(io_err("cannot read", &scratch_root))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != LOCK_FILE)
    {
        warn!("removing {} left by an earlier drill", e.path().display());
        let _ = std::fs::remove_dir_all(e.path());
    }
    let scratch = scratch_root.join(base_name(now));
    let started = Instant::now();
    let tools = Tools::detect(None)?;
    let job = Job {
        tools: &tools,
        archive: &archive,
        goal: Goal::Latest,
        into: &scratch,
        superuser: &settings.superuser,
        after: After {
            ledger_db: Some(settings.database.clone()),
            create_slot: false,
        },
    };
    let result = recover::rebuild(&job);
    let _ = std::fs::remove_dir_all(&scratch);
    let seconds = started.elapsed().as_secs_f64();
    let record = match &result {
        Ok(r) => {
            let (checked, mismatches, detail) = match &r.ledger {
                Some(l) if l.is_consistent() => (
                    Some(l.products_checked),
                    Some(0),
                    format!(
                        "base backup {} + {} WAL segments restored to {}; ledger clean ({} products)",
                        r.base.name,
                        r.segments,
                        r.restored_to
                            .map_or_else(|| "the base backup's end".into(), rfc3339),
                        l.products_checked
                    ),
                ),
                Some(l) => (
                    Some(l.products_checked),
                    Some(l.mismatched_barcodes.len()),
                    format!(
                        "restored, but {} of {} products differ from their journal: {}",
                        l.mismatched_barcodes.len(),
                        l.products_checked,
                        l.mismatched_barcodes.join(", ")
                    ),
                ),
                None => (None, None, "restored; no ledger check".into()),
            };
            DrillRecord {
                at: super::now(),
                is_ok: r.ledger.as_ref().is_some_and(|l| l.is_consistent()),
                detail,
                base: Some(r.base.name.clone()),
                restored_to: r.restored_to,
                products_checked: checked,
                mismatches,
                seconds,
                every_s: settings.verify_every.as_secs(),
            }
        }
        Err(e) => DrillRecord {
            at: super::now(),
            is_ok: false,
            detail: e.to_string(),
            base: None,
            restored_to: None,
            products_checked: None,
            mismatches: None,
            seconds,
            every_s: settings.verify_every.as_secs(),
        },
    };
    if let Err(e) = status::store(dir, VERIFY_FILE, &record) {
        warn!("cannot record the drill: {e}");
    }
    if record.is_ok {
        info!("restore drill passed in {seconds:.1} s: {}", record.detail);
        println!("ok: {}", record.detail);
        Ok(())
    } else {
        println!("FAILED: {}", record.detail);
        Err(BackupError::Failed(format!(
            "restore drill FAILED after {seconds:.1} s: {}",
            record.detail
        )))
    }
}
