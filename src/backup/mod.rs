//! Backups: logical dumps, continuous WAL archiving, base backups, point-in-time restore
//! and restore drills (`wms backup ...`, `wms restore ...`).
//!
//! PostgreSQL's own tools do the work (`pg_dump`/`pg_restore`, `pg_receivewal`,
//! `pg_basebackup`, `pg_waldump`, recovery settings); this module orchestrates them,
//! verifies the result and records what happened. It imports none of `supervisor`,
//! `postgres`, `backend`, `web`: the stack runs these commands as services of
//! `config.toml`, and `/health` reads the status through [`status::read_status`].
//!
//! * [`settings`]: the environment (`WMS_BACKUP_DIR`, schedules, retention, sync mode, the
//!   embedded server's coordinates, `DATABASE_URL`) read once (pure).
//! * [`tools`]: PostgreSQL's binaries and the OS account they run as.
//! * [`db`]: which database (embedded socket or `DATABASE_URL`), as conninfo and config.
//! * [`logical`]: `wms backup [--output FILE]`, `wms restore FILE|-`.
//! * [`wal`]: WAL positions, segment names, timeline histories, which segments a recovery
//!   reads (pure).
//! * [`archive`]: the backup volume's layout and what it holds.
//! * [`status`]: the status files the jobs write, and the pure verdict `/health` shows.
//! * [`receiver`]: the WAL receiver service (`pg_receivewal`), its probe, the lag.
//! * [`base`]: base backups (`pg_basebackup`) and retention.
//! * [`recover`]: a data directory rebuilt from a base backup and WAL, recovered by a
//!   temporary server on a private socket; used by restores and drills.
//! * [`pitr`]: `wms restore --latest | --at TIME`: recover, then swap the new directory in.
//! * [`verify`]: `wms backup verify`, the restore drill with the ledger check.
//!
//! Exit codes: 0 done, 1 failed, 2 invalid command line or settings, 3 refused to protect
//! data (see [`error`]). `wms backup status` exits 1 when the status is not ok.

pub mod archive;
pub mod base;
pub mod db;
pub mod error;
pub mod logical;
pub mod pitr;
pub mod receiver;
pub mod recover;
pub mod settings;
pub mod status;
pub mod tools;
pub mod verify;
pub mod wal;

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::exit::{Failure, Outcome};

use error::BackupError;
use settings::Settings;

/// `wms backup`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// Write the dump (pg_dump custom format) to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Archive jobs and reports (without one: a logical dump of the app database).
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
}

/// `wms backup SUBCOMMAND`.
#[derive(Debug, clap::Subcommand)]
pub enum BackupCommand {
    /// Take a base backup into WMS_BACKUP_DIR, then apply the retention.
    Base {
        /// Only if one is due (the newest is older than WMS_BASE_BACKUP_EVERY, or a restore
        /// asked for one).
        #[arg(long)]
        if_due: bool,
    },
    /// Restore drill: the latest base backup + WAL restored into a scratch directory on a
    /// private socket, then the ledger check.
    Verify {
        /// Only if one is due (the last drill is older than WMS_BACKUP_VERIFY_EVERY).
        #[arg(long)]
        if_due: bool,
    },
    /// Print the backup status; exit 0 when ok, 1 when not.
    Status {
        /// The JSON document /health shows.
        #[arg(long)]
        json: bool,
        /// Measure the archive lag first (from the replication slot).
        #[arg(long)]
        refresh: bool,
    },
    /// Prepare the backup volume: create it and give it to the server's OS account (a
    /// oneshot of config.toml, run as root at every boot).
    Init,
    /// Run the WAL receiver (a service of config.toml): prepares the slot and the
    /// synchronous setting, then becomes pg_receivewal.
    ReceiveWal,
    /// The receiver's readiness probe: exit 0 when it streams; records the lag.
    Probe(ProbeArgs),
}

/// Options of the probe (it runs with the supervisor's environment, so the config passes
/// the values it resolved).
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// WMS_BACKUP_DIR.
    #[arg(long)]
    pub dir: Option<String>,
    /// PG_SOCKET_DIR.
    #[arg(long)]
    pub socket_dir: Option<String>,
    /// PGPORT.
    #[arg(long)]
    pub port: Option<String>,
    /// POSTGRES_USER.
    #[arg(long)]
    pub user: Option<String>,
    /// WMS_BACKUP_SYNC.
    #[arg(long)]
    pub sync: Option<String>,
}

/// `wms restore`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "latest", "at"])))]
pub struct RestoreArgs {
    /// A dump made by `wms backup` (`-` reads stdin).
    pub file: Option<PathBuf>,
    /// Rebuild PGDATA from the newest base backup and all archived WAL (postgres stopped).
    #[arg(long)]
    pub latest: bool,
    /// Rebuild PGDATA as it was at this time, e.g. 2026-12-06T12:00:00Z (postgres stopped).
    #[arg(long, value_parser = parse_time)]
    pub at: Option<OffsetDateTime>,
    /// Restore a dump over existing warehouse data (still one transaction).
    #[arg(long, requires = "file")]
    pub force: bool,
}

/// RFC 3339 (`2026-12-06T12:00:00Z`, `2026-12-06T13:00:00+01:00`).
fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-06T12:00:00Z ({e})"))
}

/// `wms backup ...`.
pub fn run_backup(args: BackupArgs) -> Outcome {
    backup(args).map_err(failure)
}

/// `wms restore ...`.
pub fn run_restore(args: RestoreArgs) -> Outcome {
    restore(args).map_err(failure)
}

fn failure(e: BackupError) -> Failure {
    Failure::new(e.exit(), e)
}

fn backup(args: BackupArgs) -> Result<(), BackupError> {
    let mut settings = Settings::from_env()?;
    match args.command {
        None => {
            let output = match args.output {
                Some(path) if path.as_os_str() != "-" => logical::Output::File(path),
                _ => logical::Output::Stdout,
            };
            logical::backup(&settings, output)?;
            Ok(())
        }
        Some(BackupCommand::Base { if_due }) => base::run(&settings, if_due),
        Some(BackupCommand::Verify { if_due }) => verify::run(&settings, if_due),
        Some(BackupCommand::Status { json, refresh }) => receiver::status(&settings, json, refresh),
        Some(BackupCommand::Init) => receiver::init(&settings),
        Some(BackupCommand::ReceiveWal) => receiver::run(&settings),
        Some(BackupCommand::Probe(p)) => {
            apply_probe_args(&mut settings, p)?;
            receiver::probe(&settings)
        }
    }
}

fn apply_probe_args(settings: &mut Settings, p: ProbeArgs) -> Result<(), BackupError> {
    let mut env: Vec<(&str, String)> = Vec::new();
    for (name, value) in [
        ("WMS_BACKUP_DIR", p.dir),
        ("PG_SOCKET_DIR", p.socket_dir),
        ("PGPORT", p.port),
        ("POSTGRES_USER", p.user),
        ("WMS_BACKUP_SYNC", p.sync),
    ] {
        if let Some(v) = value {
            env.push((name, v));
        }
    }
    *settings = Settings::from_lookup(&|name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    })?;
    Ok(())
}

fn restore(args: RestoreArgs) -> Result<(), BackupError> {
    let settings = Settings::from_env()?;
    if args.latest {
        pitr::run(&settings, pitr::Target::Latest)?;
    } else if let Some(at) = args.at {
        pitr::run(&settings, pitr::Target::Time(at))?;
    } else if let Some(file) = args.file {
        let input = if file.as_os_str() == "-" {
            logical::Input::Stdin
        } else {
            logical::Input::File(file)
        };
        logical::restore(&settings, input, args.force)?;
    }
    Ok(())
}

/// The backup volume, or a clear error when archiving is off.
pub fn require_dir(settings: &Settings) -> Result<archive::Archive, BackupError> {
    settings
        .backup_dir
        .as_deref()
        .map(archive::Archive::new)
        .ok_or_else(|| {
            BackupError::Usage(
                "WAL archiving is off (WMS_BACKUP_DIR=off): there are no base backups or WAL \
                 to work with"
                    .into(),
            )
        })
}

/// Now, in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
