//! The WAL receiver service, its readiness probe, the archive lag, and `wms backup status`.
//!
//! `wms backup receive-wal` prepares, starts `pg_receivewal` as its child, says `READY=1`
//! to the supervisor (`ready = { notify = true }`) the moment `pg_stat_replication` shows it
//! streaming, and then waits for it: the child's exit is the service's exit, so its death is
//! seen and restarted like any service's (a stop signals the whole process group; the
//! wrapper ignores SIGTERM/SIGINT once the child runs and exits when it does). Before the
//! start it:
//!
//! 1. creates the backup volume's `wal/` (as the server's OS account; `wms backup init`,
//!    a root oneshot before it, made the volume its) and checks that the archive belongs
//!    to this cluster (`cluster-id`, the system identifier, recorded at the first start);
//! 2. creates the physical replication slot `wms_backup` if missing (the server keeps WAL
//!    for the archive while the receiver is down); a slot the server invalidated
//!    (`max_slot_wal_keep_size` exceeded) is recreated and the old stream retired; the
//!    hole is recorded, and the status fails until a base backup newer than it exists;
//! 3. sets `synchronous_standby_names` to the receiver's name when `WMS_BACKUP_SYNC=true`
//!    (and clears it when it is ours and sync is off), then reloads the configuration;
//! 4. pads a `.partial` segment left short by a receiver killed while creating it (it
//!    holds only zeros then, and `pg_receivewal` would refuse it forever);
//! 5. records the lag (from the slot) in `status/receiver.json`, so the status has a fresh
//!    figure on every (re)start even while the receiver keeps failing.
//!
//! `pg_receivewal` runs with `--synchronous` in both modes (it flushes each chunk and
//! reports at once, so the lag is measured to the byte and the archive is durable), and
//! with `--no-loop`: a lost connection ends it and the supervisor restarts it.
//!
//! With `WMS_BACKUP_DIR=off` the service clears a synchronous setting it left behind, says
//! `READY=1` and then idles until it is stopped (a service cannot be switched off by a
//! path-valued variable in `config.toml`; see docs/operations.md).
//!
//! `wms backup probe` (the liveness probe once the service is ready; a readiness probe where
//! the supervisor gets no notification) measures the lag, records it, and exits 0 only while
//! `pg_stat_replication` shows the receiver streaming.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use nix::sys::signal::{SigHandler, Signal};
use tracing::{error, info, warn};

use super::archive::Archive;
use super::db::{self, describe_error};
use super::error::{BackupError, io_err};
use super::settings::Settings;
use super::status::{self, Measurement, RECEIVER_FILE, ReceiverRecord};
use super::tools::{Account, Tools};

/// The replication slot, and the receiver's `application_name` (what
/// `synchronous_standby_names` names).
pub const SLOT: &str = "wms_backup";
/// How long the probe may take to connect.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

const CREATE_SLOT: &str = "SELECT pg_create_physical_replication_slot($1, true) \
     WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)";
const SLOT_STATE: &str = "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1";
const DROP_SLOT: &str = "SELECT pg_drop_replication_slot($1)";
const MEASURE: &str = "SELECT COALESCE(r.state = 'streaming', false) AS streaming, \
       GREATEST(0, pg_wal_lsn_diff(pg_current_wal_lsn(), \
                                   COALESCE(r.flush_lsn, s.restart_lsn)))::bigint AS lag_bytes, \
       extract(epoch FROM r.flush_lag)::float8 AS flush_lag_s \
     FROM pg_replication_slots s \
     LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid \
     WHERE s.slot_name = $1";
const SHOW_SYNC: &str = "SELECT current_setting('synchronous_standby_names')";
const RELOAD: &str = "SELECT pg_reload_conf()";
const SEG_SIZE: &str = "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'";
const SYSTEM_ID: &str = "SELECT system_identifier::bigint FROM pg_control_system()";
/// The system identifier of the cluster the archive belongs to.
pub const CLUSTER_FILE: &str = "cluster-id";

/// Drops to the server's OS account when we are root (the socket authenticates it, and
/// the files in the backup volume are its).
pub fn become_account(settings: &Settings) -> Result<(), BackupError> {
    if let Some(account) = Account::for_tools(settings.os_user.as_deref())? {
        account.become_it()?;
    }
    Ok(())
}

/// `wms backup init`: the backup volume exists and belongs to the server's OS account
/// (run as root with only CAP_CHOWN: it creates the directory when missing and gives it
/// away when its owner differs; what is inside is the account's business).
pub fn init(settings: &Settings) -> Result<(), BackupError> {
    let Some(dir) = settings.backup_dir.as_deref() else {
        info!("WAL archiving is off (WMS_BACKUP_DIR=off)");
        return Ok(());
    };
    let account = Account::for_tools(settings.os_user.as_deref())?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("cannot create", dir))?;
    if let Some(a) = &account {
        let meta = std::fs::metadata(dir).map_err(io_err("cannot stat", dir))?;
        if std::os::unix::fs::MetadataExt::uid(&meta) != a.uid {
            a.chown(dir)
                .map_err(io_err("cannot give to the server's account", dir))?;
        }
    }
    info!(
        "backup volume {} ready{}",
        dir.display(),
        account
            .as_ref()
            .map(|a| format!(" (owner {})", a.name))
            .unwrap_or_default()
    );
    Ok(())
}

/// `wms backup receive-wal`.
pub fn run(settings: &Settings) -> Result<(), BackupError> {
    become_account(settings)?;
    let rt = db::runtime().map_err(io_err("cannot start a runtime", "".as_ref()))?;
    let Some(dir) = settings.backup_dir.as_deref() else {
        info!("WAL archiving is off (WMS_BACKUP_DIR=off); the WAL receiver idles");
        if let Err(e) = rt.block_on(clear_sync(settings)) {
            warn!("cannot check synchronous_standby_names: {e}");
        }
        drop(rt);
        crate::sdnotify::ready();
        loop {
            // Ends by a signal (the supervisor's stop).
            nix::unistd::pause();
        }
    };
    let archive = Archive::new(dir);
    for d in [archive.root().to_owned(), archive.wal_dir()] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&d)
            .map_err(io_err(
                "cannot create (the backup volume must belong to the server's OS account)",
                &d,
            ))?;
    }
    let client = rt.block_on(prepare(settings, &archive))?;

    let tools = Tools::detect(None)?;
    let conninfo = format!(
        "{} application_name={SLOT}",
        db::embedded_conninfo(settings, "postgres")
    );
    info!(
        "WAL receiver: streaming into {} (slot {SLOT}, synchronous replication {})",
        archive.wal_dir().display(),
        if settings.is_sync { "on" } else { "off" }
    );
    let program = tools.path("pg_receivewal");
    let mut child = tools
        .command("pg_receivewal")
        .arg("--directory")
        .arg(archive.wal_dir())
        .args([
            "--slot",
            SLOT,
            "--synchronous",
            "--no-loop",
            "--no-password",
            "--verbose",
            "--dbname",
            &conninfo,
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| BackupError::Failed(format!("cannot run {}: {e}", program.display())))?;
    // From here a stop's SIGTERM (sent to the whole group) is the child's to act on; we
    // follow its exit. (Set after the spawn: an ignored signal would stay ignored across
    // the child's exec.)
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: SIG_IGN installs no handler code; nothing else handles these here.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigIgn) };
    }
    rt.block_on(announce_streaming(settings, &archive, &client, &mut child));
    drop(client);
    drop(rt);
    // From here this process only waits: what it allocated, and the code it ran to get
    // here, leave its resident set.
    crate::resident::release_free_heap();
    crate::resident::release_code();
    let status = child
        .wait()
        .map_err(|e| BackupError::Failed(format!("waiting for pg_receivewal: {e}")))?;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        // Stopped as asked (PostgreSQL 15's pg_receivewal dies of SIGTERM).
        (_, Some(s)) if s == Signal::SIGTERM as i32 || s == Signal::SIGINT as i32 => Ok(()),
        _ => Err(BackupError::Failed(format!(
            "pg_receivewal ended: {status}"
        ))),
    }
}

/// How often the receiver's state is read until it streams.
const STREAMING_POLL: Duration = Duration::from_millis(5);
/// The pause after a failed read of it.
const STREAMING_RETRY: Duration = Duration::from_millis(200);

/// Says `READY=1` once `pg_stat_replication` shows the child streaming (and records the
/// lag then); returns, saying nothing, if the child ends first. A failed read is logged
/// once and retried at a slower pace: a passing error must not leave the service unready
/// until its `start_period` runs out (then the supervisor restarts it, as for a child
/// that never streams).
async fn announce_streaming(
    settings: &Settings,
    archive: &Archive,
    client: &tokio_postgres::Client,
    child: &mut std::process::Child,
) {
    let mut failed_before = false;
    while matches!(child.try_wait(), Ok(None)) {
        match measure(client).await {
            Ok(m) if m.is_streaming => {
                record(settings, archive, Ok(m), None);
                crate::sdnotify::ready();
                return;
            }
            Ok(_) => tokio::time::sleep(STREAMING_POLL).await,
            Err(e) => {
                if !failed_before {
                    warn!("cannot read the receiver's state (retrying): {e}");
                    failed_before = true;
                }
                tokio::time::sleep(STREAMING_RETRY).await;
            }
        }
    }
}

async fn prepare(
    settings: &Settings,
    archive: &Archive,
) -> Result<tokio_postgres::Client, BackupError> {
    let cfg = super_config(settings, db::CONNECT_TIMEOUT);
    let client = db::connect(&cfg)
        .await
        .map_err(BackupError::sql("connecting to the embedded server"))?;
    check_identity(&client, archive).await?;
    let state: Option<Option<String>> = client
        .query_opt(SLOT_STATE, &[&SLOT])
        .await
        .map_err(BackupError::sql("reading the replication slot"))?
        .map(|r| r.get(0));
    let mut gap = None;
    if let Some(Some(wal_status)) = &state {
        if wal_status == "lost" {
            error!(
                "the replication slot {SLOT} was invalidated (max_slot_wal_keep_size): WAL \
                 is missing from the archive; starting a new stream (take a base backup: wms ctl \
                 start backup-base)"
            );
            client
                .execute(DROP_SLOT, &[&SLOT])
                .await
                .map_err(BackupError::sql("dropping the lost slot"))?;
            let now = super::now();
            if let Some(to) = archive
                .retire_wal(now)
                .map_err(io_err("cannot retire", &archive.wal_dir()))?
            {
                warn!("the old WAL stream is kept in {}", to.display());
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(archive.wal_dir())
                .map_err(io_err("cannot create", &archive.wal_dir()))?;
            gap = Some(now);
        }
    }
    let created = client
        .execute(CREATE_SLOT, &[&SLOT])
        .await
        .map_err(BackupError::sql("creating the replication slot"))?;
    if created > 0 {
        info!("created the physical replication slot {SLOT}");
    }
    set_sync(&client, settings.is_sync).await?;
    let seg_size: i64 = client
        .query_one(SEG_SIZE, &[])
        .await
        .map_err(BackupError::sql("reading wal_segment_size"))?
        .get(0);
    repair_partials(&archive.wal_dir(), u64::try_from(seg_size).unwrap_or(0))?;
    // A fresh lag figure on every start: before streaming, from the slot.
    record(settings, archive, measure(&client).await, gap);
    Ok(client)
}

/// `pg_receivewal` creates a segment by padding it with zeros to its full size before it
/// writes WAL into it; killed during that, it leaves a short `.partial` it then refuses to
/// open. Such a file holds zeros only: it is padded to the full size (nothing is removed).
fn repair_partials(wal_dir: &std::path::Path, seg_size: u64) -> Result<(), BackupError> {
    if seg_size == 0 {
        return Ok(());
    }
    for e in std::fs::read_dir(wal_dir)
        .map_err(io_err("cannot read", wal_dir))?
        .filter_map(Result::ok)
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".partial") {
            continue;
        }
        let len = e
            .metadata()
            .map_err(io_err("cannot stat", &e.path()))?
            .len();
        if len > 0 && len < seg_size {
            warn!(
                "{name} has {len} bytes (the receiver died while creating it); padding it to \
                 {seg_size}"
            );
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(e.path())
                .map_err(io_err("cannot open", &e.path()))?;
            f.set_len(seg_size)
                .and_then(|()| f.sync_all())
                .map_err(io_err("cannot pad", &e.path()))?;
        }
    }
    Ok(())
}

/// The archive belongs to one cluster: its system identifier is recorded at the first
/// start and must match on every later one (WAL of two clusters must never mix).
async fn check_identity(
    client: &tokio_postgres::Client,
    archive: &Archive,
) -> Result<(), BackupError> {
    let id: i64 = client
        .query_one(SYSTEM_ID, &[])
        .await
        .map_err(BackupError::sql("reading the system identifier"))?
        .get(0);
    let id = id.to_string();
    let path = archive.root().join(CLUSTER_FILE);
    match super::archive::read_small(&path, 4096) {
        Ok(text) if text.trim() == id => Ok(()),
        Ok(text) => Err(BackupError::Refused(format!(
            "{} holds the archive of another cluster (system identifier {}, this server's is              {id}): give WMS_BACKUP_DIR an empty directory, or move the old archive away",
            archive.root().display(),
            text.trim()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, id + "\n").map_err(io_err("cannot write", &path))
        }
        Err(e) => Err(io_err("cannot read", &path)(e)),
    }
}

/// Makes `synchronous_standby_names` match the mode; only ever touches our own name.
async fn set_sync(client: &tokio_postgres::Client, is_sync: bool) -> Result<(), BackupError> {
    let current: String = client
        .query_one(SHOW_SYNC, &[])
        .await
        .map_err(BackupError::sql("reading synchronous_standby_names"))?
        .get(0);
    let statement = match (is_sync, current.trim() == SLOT) {
        (true, false) => {
            if !current.trim().is_empty() {
                warn!(
                    "synchronous_standby_names was {current:?}; WMS_BACKUP_SYNC=true replaces it \
                     with {SLOT:?}"
                );
            }
            format!("ALTER SYSTEM SET synchronous_standby_names = '{SLOT}'")
        }
        (false, true) => "ALTER SYSTEM RESET synchronous_standby_names".to_owned(),
        _ => return Ok(()),
    };
    client
        .batch_execute(&statement)
        .await
        .map_err(BackupError::sql(statement.clone()))?;
    client
        .query_one(RELOAD, &[])
        .await
        .map_err(BackupError::sql("reloading the configuration"))?;
    info!(
        "synchronous replication to the archive is now {}",
        if is_sync { "on" } else { "off" }
    );
    Ok(())
}

async fn clear_sync(settings: &Settings) -> Result<(), String> {
    let client = db::connect(&super_config(settings, db::CONNECT_TIMEOUT))
        .await
        .map_err(|e| describe_error(&e))?;
    set_sync(&client, false).await.map_err(|e| e.to_string())
}

/// The superuser over the embedded server's socket, database `postgres`.
fn super_config(settings: &Settings, timeout: Duration) -> tokio_postgres::Config {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host_path(&settings.socket_dir)
        .port(settings.port)
        .user(&settings.superuser)
        .dbname("postgres")
        .application_name("wms-backup")
        .connect_timeout(timeout);
    cfg
}

/// One measurement of the archive against the server.
async fn measure(client: &tokio_postgres::Client) -> Result<Measurement, String> {
    let row = client
        .query_opt(MEASURE, &[&SLOT])
        .await
        .map_err(|e| describe_error(&e))?;
    Ok(match row {
        None => Measurement {
            is_streaming: false,
            lag_bytes: None,
            flush_lag_s: None,
        },
        Some(r) => Measurement {
            is_streaming: r.get("streaming"),
            lag_bytes: r
                .get::<_, Option<i64>>("lag_bytes")
                .map(|b| u64::try_from(b).unwrap_or(0)),
            flush_lag_s: r.get("flush_lag_s"),
        },
    })
}

/// Writes the receiver record after a measurement (`gap`: the archive lost WAL now);
/// failures to write are logged only.
fn record(
    settings: &Settings,
    archive: &Archive,
    measured: Result<Measurement, String>,
    gap: Option<time::OffsetDateTime>,
) {
    let previous: Option<ReceiverRecord> = status::load(archive.root(), RECEIVER_FILE);
    let mut next = ReceiverRecord::next(
        previous.as_ref(),
        measured,
        settings.is_sync,
        settings.max_lag.as_secs_f64(),
        super::now(),
    );
    if gap.is_some() {
        next.gap_since = gap;
    }
    if let Err(e) = status::store(archive.root(), RECEIVER_FILE, &next) {
        warn!("cannot record the archive lag: {e}");
    }
}

/// Measures and records; the outcome for the caller.
fn refresh(settings: &Settings, archive: &Archive) -> Result<Measurement, String> {
    let rt = db::runtime().map_err(|e| e.to_string())?;
    let measured = rt.block_on(async {
        let client = db::connect(&super_config(settings, PROBE_CONNECT_TIMEOUT))
            .await
            .map_err(|e| describe_error(&e))?;
        measure(&client).await
    });
    record(settings, archive, measured.clone(), None);
    measured
}

/// `wms backup probe`.
pub fn probe(settings: &Settings) -> Result<(), BackupError> {
    let Some(dir) = settings.backup_dir.as_deref() else {
        println!("WAL archiving is off");
        return Ok(());
    };
    become_account(settings)?;
    match refresh(settings, &Archive::new(dir)) {
        Ok(m) if m.is_streaming => {
            println!("streaming; archive lag {} bytes", m.lag_bytes.unwrap_or(0));
            Ok(())
        }
        Ok(m) => Err(BackupError::Failed(format!(
            "the WAL receiver is not streaming (slot {SLOT}: {})",
            match m.lag_bytes {
                Some(b) => format!("{b} bytes behind"),
                None => "missing".into(),
            }
        ))),
        Err(e) => Err(BackupError::Failed(format!(
            "cannot measure the archive: {e}"
        ))),
    }
}

/// `wms backup status [--json] [--refresh]`.
pub fn status(settings: &Settings, json: bool, refresh_first: bool) -> Result<(), BackupError> {
    let Some(dir) = settings.backup_dir.as_deref() else {
        if json {
            println!("{{\"status\": \"off\"}}");
        } else {
            println!("backup: off (WMS_BACKUP_DIR=off)");
        }
        return Ok(());
    };
    if refresh_first {
        become_account(settings)?;
        if let Err(e) = refresh(settings, &Archive::new(dir)) {
            warn!("cannot measure the archive lag: {e}");
        }
    }
    let now = super::now();
    let s = status::read_status(dir, now);
    if json {
        let text = serde_json::to_string_pretty(&s)
            .map_err(|e| BackupError::Failed(format!("cannot render the status: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", render(&s));
    }
    if s.is_ok() {
        Ok(())
    } else {
        Err(BackupError::Failed(format!(
            "the backup archive is {}",
            s.status
        )))
    }
}

/// The status for people.
fn render(s: &status::BackupStatus) -> String {
    use status::{human, rfc3339};
    let mut out = format!("backup: {}\n", s.status);
    let lag = match (s.wal_lag_bytes, s.wal_lag_seconds) {
        (Some(b), Some(t)) => format!("lag {b} bytes, {}", human(t)),
        (None, Some(t)) => format!("lag {}", human(t)),
        (Some(b), None) => format!("lag {b} bytes"),
        (None, None) => "lag unknown".into(),
    };
    out += &format!(
        "  WAL receiver: {} ({}), {lag}{}\n",
        if s.receiver_streaming {
            "streaming"
        } else {
            "not streaming"
        },
        if s.sync {
            "synchronous"
        } else {
            "asynchronous"
        },
        s.lag_measured_at
            .map(|t| format!(", measured {}", rfc3339(t)))
            .unwrap_or_default()
    );
    match (&s.last_base_backup, s.last_base_backup_age_s) {
        (Some(b), Some(age)) => {
            out += &format!(
                "  base backups: {}, newest {} ({} ago, {} bytes in {:.1} s)\n",
                s.base_backups,
                b.name,
                human(age),
                b.bytes,
                b.seconds
            );
        }
        _ => out += "  base backups: none yet\n",
    }
    match (&s.last_drill, s.last_drill_age_s) {
        (Some(d), Some(age)) => {
            out += &format!(
                "  last restore drill: {} ago, {}: {}\n",
                human(age),
                if d.is_ok { "ok" } else { "FAILED" },
                d.detail
            );
        }
        _ => out += "  last restore drill: none yet\n",
    }
    for p in &s.problems {
        out += &format!("  problem: {p}\n");
    }
    for e in &s.errors {
        out += &format!("  error: {e}\n");
    }
    out
}
