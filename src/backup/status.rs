//! The backup status document: what the jobs record, and the verdict read from it.
//!
//! Each writer owns one small JSON file under `$WMS_BACKUP_DIR/status/`, replaced
//! atomically (temp file, fsync, rename), so writers never race each other:
//!
//! | file | written by | holds |
//! |---|---|---|
//! | `receiver.json` | the WAL receiver at start, its readiness probe, `wms backup status --refresh` | streaming or not, archive lag |
//! | `base.json` | `wms backup base` | last base backup (time, size, duration), last failure |
//! | `verify.json` | `wms backup verify` | last restore drill and its ledger check |
//!
//! [`read_status`] is the reader for `/health` and `/metrics`: it reads those files (no
//! database, no clock: `now` is passed in) and returns a [`BackupStatus`] with a verdict
//! ([`BackupStatus::is_ok`]) and the reasons when it is not ok. The thresholds are in
//! [`Thresholds`]; the ones that follow the configuration are recorded by the jobs in their
//! files, so the reader needs no settings.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The status directory inside the backup volume.
pub const STATUS_DIR: &str = "status";
/// The receiver's file.
pub const RECEIVER_FILE: &str = "receiver.json";
/// The base backup job's file.
pub const BASE_FILE: &str = "base.json";
/// The restore drill's file.
pub const VERIFY_FILE: &str = "verify.json";
/// Largest status file read (they are a few hundred bytes).
const MAX_FILE: u64 = 64 * 1024;

/// The thresholds of the verdict.
pub mod thresholds {
    /// A lag measurement older than this is stale: the lag is then counted from the last
    /// time the archive was known to be caught up (the receiver is down or not measured).
    pub const STALE_AFTER_S: f64 = 30.0;
    /// Default lag limit when the receiver has not recorded `WMS_BACKUP_MAX_LAG`.
    pub const DEFAULT_MAX_LAG_S: f64 = 300.0;
    /// A base backup is overdue at this multiple of `WMS_BASE_BACKUP_EVERY`.
    pub const BASE_OVERDUE_FACTOR: f64 = 2.0;
    /// A restore drill is overdue at this multiple of `WMS_BACKUP_VERIFY_EVERY`.
    pub const DRILL_OVERDUE_FACTOR: f64 = 2.0;
    /// Default schedule when the jobs have not recorded theirs (24 h).
    pub const DEFAULT_EVERY_S: u64 = 24 * 3600;
}

/// What the receiver (or whoever measured) saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiverRecord {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub measured_at: OffsetDateTime,
    /// `pg_receivewal` streams (`pg_stat_replication.state = 'streaming'`).
    pub is_streaming: bool,
    /// Synchronous mode is configured.
    pub is_sync: bool,
    /// Bytes of WAL the server has written that the archive has not flushed (`None`:
    /// could not be measured, e.g. the server is down).
    pub lag_bytes: Option<u64>,
    /// Seconds the archive is behind at `measured_at`.
    pub lag_seconds: Option<f64>,
    /// The last time the archive was known to hold everything the server had written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub caught_up_at: Option<OffsetDateTime>,
    /// `WMS_BACKUP_MAX_LAG`, in seconds.
    pub max_lag_s: f64,
    /// Why the measurement failed or what is wrong, if anything.
    pub error: Option<String>,
    /// WAL went missing from the archive at this time (the slot was lost): only base
    /// backups taken after it can restore what follows.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub gap_since: Option<OffsetDateTime>,
}

/// One measurement of the archive's position against the server's.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The receiver is connected and streaming.
    pub is_streaming: bool,
    /// `pg_current_wal_lsn()` minus what the archive flushed (from `pg_stat_replication`
    /// while streaming, else the slot's `restart_lsn`); `None` if there is no slot yet.
    pub lag_bytes: Option<u64>,
    /// `pg_stat_replication.flush_lag` while streaming (`None`: idle or not streaming).
    pub flush_lag_s: Option<f64>,
}

impl ReceiverRecord {
    /// The record after a measurement (`Ok`) or a failed one (`Err(reason)`), given the
    /// previous record: pure, so the lag rules are unit-tested.
    pub fn next(
        previous: Option<&ReceiverRecord>,
        measured: Result<Measurement, String>,
        is_sync: bool,
        max_lag_s: f64,
        now: OffsetDateTime,
    ) -> ReceiverRecord {
        let previous_caught_up = previous.and_then(|p| p.caught_up_at);
        let gap_since = previous.and_then(|p| p.gap_since);
        match measured {
            Ok(m) => {
                let behind = m.lag_bytes.unwrap_or(0) > 0;
                let (lag_seconds, caught_up_at) = if !behind {
                    (Some(0.0), Some(now))
                } else if m.is_streaming {
                    // Streaming: the server's own measure of how far behind the flush is.
                    let s = m.flush_lag_s.unwrap_or(0.0).max(0.0);
                    (Some(s), Some(now - time::Duration::seconds_f64(s)))
                } else {
                    (
                        previous_caught_up.map(|t| seconds_between(t, now)),
                        previous_caught_up,
                    )
                };
                ReceiverRecord {
                    measured_at: now,
                    is_streaming: m.is_streaming,
                    is_sync,
                    lag_bytes: m.lag_bytes,
                    lag_seconds,
                    caught_up_at,
                    max_lag_s,
                    error: (!m.is_streaming).then(|| "the WAL receiver is not streaming".into()),
                    gap_since,
                }
            }
            Err(reason) => ReceiverRecord {
                measured_at: now,
                is_streaming: false,
                is_sync,
                lag_bytes: None,
                lag_seconds: previous_caught_up.map(|t| seconds_between(t, now)),
                caught_up_at: previous_caught_up,
                max_lag_s,
                error: Some(reason),
                gap_since,
            },
        }
    }
}

/// What the base backup job recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaseRecord {
    /// The last successful base backup.
    pub last_ok: Option<BaseRun>,
    /// The last failure, if it came after the last success.
    pub last_error: Option<Failure>,
    /// Complete base backups in the volume after the last run.
    pub count: usize,
    /// `WMS_BASE_BACKUP_EVERY`, in seconds.
    pub every_s: u64,
}

/// One successful base backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaseRun {
    /// Its name (directory under `base/`).
    pub name: String,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Its size.
    pub bytes: u64,
    /// How long it took.
    pub seconds: f64,
}

/// A failed run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why.
    pub error: String,
}

/// What the last restore drill found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The restore worked and the ledger check was clean.
    pub is_ok: bool,
    /// One line: what was restored and checked, or what failed.
    pub detail: String,
    /// The base backup it started from.
    pub base: Option<String>,
    /// The last transaction the restored copy holds.
    #[serde(with = "time::serde::rfc3339::option")]
    pub restored_to: Option<OffsetDateTime>,
    /// Products the ledger check compared.
    pub products_checked: Option<i64>,
    /// Products whose balances differ from their journal.
    pub mismatches: Option<usize>,
    /// How long the drill took.
    pub seconds: f64,
    /// `WMS_BACKUP_VERIFY_EVERY`, in seconds.
    pub every_s: u64,
}

/// The backup section of `/health`: what is known and whether it is ok.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupStatus {
    /// `ok`; `starting` while only first-boot steps are still to come (the receiver's
    /// first report, the first base backup) and nothing failed; else `failing`.
    pub status: &'static str,
    /// Why it is failing (empty when ok or starting).
    pub problems: Vec<String>,
    /// What has not happened yet at a first boot (empty when ok).
    pub pending: Vec<String>,
    /// Synchronous mode.
    pub sync: bool,
    /// The receiver streams, as last measured.
    pub receiver_streaming: bool,
    /// WAL not yet in the archive, as last measured.
    pub wal_lag_bytes: Option<u64>,
    /// How far behind the archive is (grows while nobody measures).
    pub wal_lag_seconds: Option<f64>,
    /// When the lag was measured.
    #[serde(with = "time::serde::rfc3339::option")]
    pub lag_measured_at: Option<OffsetDateTime>,
    /// The newest base backup.
    pub last_base_backup: Option<BaseRun>,
    /// Its age in seconds.
    pub last_base_backup_age_s: Option<f64>,
    /// Complete base backups kept.
    pub base_backups: usize,
    /// The last restore drill.
    pub last_drill: Option<DrillRecord>,
    /// Its age in seconds.
    pub last_drill_age_s: Option<f64>,
    /// Errors the jobs recorded.
    pub errors: Vec<String>,
}

impl BackupStatus {
    /// True if and only if nothing failed and nothing is still to come.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.pending.is_empty()
    }

    /// True if something failed (not merely still to come at a first boot).
    pub fn is_failing(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Prometheus text for `/metrics` (`wms_backup_*` gauges; absent values are left out).
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: Option<f64>| {
            if let Some(v) = value {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
                ));
            }
        };
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        gauge(
            "wms_backup_ok",
            "1 if backups are current and the last drill passed.",
            Some(flag(self.is_ok())),
        );
        gauge(
            "wms_backup_receiver_streaming",
            "1 if the WAL receiver streams.",
            Some(flag(self.receiver_streaming)),
        );
        gauge(
            "wms_backup_sync",
            "1 if commits wait for the archive (WMS_BACKUP_SYNC).",
            Some(flag(self.sync)),
        );
        gauge(
            "wms_backup_wal_lag_bytes",
            "WAL written by the server and not yet flushed to the archive.",
            self.wal_lag_bytes.map(|b| b as f64),
        );
        gauge(
            "wms_backup_wal_lag_seconds",
            "How far the archive is behind the server.",
            self.wal_lag_seconds,
        );
        gauge(
            "wms_backup_last_base_backup_timestamp_seconds",
            "When the newest base backup finished (Unix time).",
            self.last_base_backup
                .as_ref()
                .map(|b| b.at.unix_timestamp() as f64),
        );
        gauge(
            "wms_backup_last_base_backup_age_seconds",
            "Age of the newest base backup.",
            self.last_base_backup_age_s,
        );
        gauge(
            "wms_backup_last_base_backup_bytes",
            "Size of the newest base backup.",
            self.last_base_backup.as_ref().map(|b| b.bytes as f64),
        );
        gauge(
            "wms_backup_base_backups",
            "Complete base backups kept.",
            Some(self.base_backups as f64),
        );
        gauge(
            "wms_backup_last_drill_ok",
            "1 if the last restore drill restored and passed the ledger check.",
            self.last_drill.as_ref().map(|d| flag(d.is_ok)),
        );
        gauge(
            "wms_backup_last_drill_timestamp_seconds",
            "When the last restore drill finished (Unix time).",
            self.last_drill
                .as_ref()
                .map(|d| d.at.unix_timestamp() as f64),
        );
        out
    }
}

/// Reads the status files under `dir` (the backup volume) and judges them at `now`.
/// Missing or unreadable files count as "not recorded yet" (and are named in `problems`
/// where that matters); nothing here panics on what is on disk.
pub fn read_status(dir: &Path, now: OffsetDateTime) -> BackupStatus {
    let status = dir.join(STATUS_DIR);
    let mut errors = Vec::new();
    let receiver: Option<ReceiverRecord> = read_json(&status.join(RECEIVER_FILE), &mut errors);
    let base: Option<BaseRecord> = read_json(&status.join(BASE_FILE), &mut errors);
    let drill: Option<DrillRecord> = read_json(&status.join(VERIFY_FILE), &mut errors);
    judge(receiver, base, drill, errors, now)
}

/// The verdict over the three records (pure).
pub fn judge(
    receiver: Option<ReceiverRecord>,
    base: Option<BaseRecord>,
    drill: Option<DrillRecord>,
    mut errors: Vec<String>,
    now: OffsetDateTime,
) -> BackupStatus {
    use thresholds::*;
    let mut problems = Vec::new();
    let mut pending = Vec::new();

    let (lag_seconds, is_streaming) = match &receiver {
        None => {
            pending.push("the WAL receiver has not reported yet".to_owned());
            (None, false)
        }
        Some(r) => {
            let age = seconds_between(r.measured_at, now);
            let stale = age > STALE_AFTER_S;
            let lag = if stale || !r.is_streaming {
                r.caught_up_at.map(|t| seconds_between(t, now))
            } else {
                r.lag_seconds
            };
            if stale {
                problems.push(format!(
                    "the archive lag was last measured {} ago",
                    human(age)
                ));
            }
            if let Some(e) = &r.error {
                errors.push(format!("WAL receiver: {e}"));
            }
            if !r.is_streaming {
                problems.push(if r.is_sync {
                    "the WAL receiver is not streaming: in synchronous mode writes wait for it"
                        .to_owned()
                } else {
                    "the WAL receiver is not streaming".to_owned()
                });
            }
            match lag {
                Some(l) if l > r.max_lag_s => problems.push(format!(
                    "the archive is {} behind (limit {})",
                    human(l),
                    human(r.max_lag_s)
                )),
                None if r.lag_bytes.is_none_or(|b| b > 0) => {
                    problems.push("the archive has never been seen caught up".to_owned());
                }
                _ => {}
            }
            (lag, r.is_streaming && !stale)
        }
    };

    let base = base.unwrap_or_default();
    let every = if base.every_s == 0 {
        DEFAULT_EVERY_S
    } else {
        base.every_s
    } as f64;
    let base_age = base.last_ok.as_ref().map(|b| seconds_between(b.at, now));
    match base_age {
        None => pending.push("no base backup yet".to_owned()),
        Some(age) if age > every * BASE_OVERDUE_FACTOR => problems.push(format!(
            "the newest base backup is {} old (one is due every {})",
            human(age),
            human(every)
        )),
        Some(_) => {}
    }
    if let Some(gap) = receiver.as_ref().and_then(|r| r.gap_since) {
        if base.last_ok.as_ref().is_none_or(|b| b.at < gap) {
            problems.push(format!(
                "WAL is missing from the archive since {} (the replication slot was lost): \
                 take a base backup (wms ctl start backup-base)",
                rfc3339(gap)
            ));
        }
    }
    if let Some(f) = &base.last_error {
        let is_after_success = base.last_ok.as_ref().is_none_or(|ok| f.at >= ok.at);
        if is_after_success {
            problems.push(format!("the last base backup failed: {}", f.error));
            errors.push(format!("base backup at {}: {}", rfc3339(f.at), f.error));
        }
    }

    let drill_age = drill.as_ref().map(|d| seconds_between(d.at, now));
    if let Some(d) = &drill {
        let every = if d.every_s == 0 {
            DEFAULT_EVERY_S
        } else {
            d.every_s
        } as f64;
        if !d.is_ok {
            problems.push(format!("the last restore drill failed: {}", d.detail));
        }
        if let Some(age) = drill_age.filter(|a| *a > every * DRILL_OVERDUE_FACTOR) {
            problems.push(format!(
                "the last restore drill was {} ago (one is due every {})",
                human(age),
                human(every)
            ));
        }
    }

    BackupStatus {
        status: match (problems.is_empty(), pending.is_empty()) {
            (false, _) => "failing",
            (true, false) => "starting",
            (true, true) => "ok",
        },
        problems,
        pending,
        sync: receiver.as_ref().is_some_and(|r| r.is_sync),
        receiver_streaming: is_streaming,
        wal_lag_bytes: receiver.as_ref().and_then(|r| r.lag_bytes),
        wal_lag_seconds: lag_seconds,
        lag_measured_at: receiver.as_ref().map(|r| r.measured_at),
        last_base_backup: base.last_ok.clone(),
        last_base_backup_age_s: base_age,
        base_backups: base.count,
        last_drill: drill,
        last_drill_age_s: drill_age,
        errors,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, errors: &mut Vec<String>) -> Option<T> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            errors.push(format!("cannot read {}: {e}", path.display()));
            return None;
        }
    };
    let mut text = String::new();
    if let Err(e) = file.take(MAX_FILE).read_to_string(&mut text) {
        errors.push(format!("cannot read {}: {e}", path.display()));
        return None;
    }
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(format!("{} is not a status file: {e}", path.display()));
            None
        }
    }
}

/// Reads one status file (`None` when missing or unreadable).
pub fn load<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Option<T> {
    read_json(&dir.join(STATUS_DIR).join(file), &mut Vec::new())
}

/// Replaces one status file atomically: a temp file beside it, fsynced, renamed over.
pub fn store<T: Serialize>(dir: &Path, file: &str, value: &T) -> std::io::Result<PathBuf> {
    let status = dir.join(STATUS_DIR);
    std::fs::create_dir_all(&status)?;
    let path = status.join(file);
    let tmp = status.join(format!(".{file}.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&status)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| path)
}

/// Seconds from `earlier` to `later` (0 if `later` is before).
pub fn seconds_between(earlier: OffsetDateTime, later: OffsetDateTime) -> f64 {
    (later - earlier).as_seconds_f64().max(0.0)
}

/// `2026-12-06T12:00:00Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A duration for people: `45s`, `12m 3s`, `26h 5m`.
pub fn human(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-06 12:00:00 UTC);

    fn at(s: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(s)
    }

    fn streaming(lag_bytes: u64, flush_lag_s: Option<f64>) -> Result<Measurement, String> {
        Ok(Measurement {
            is_streaming: true,
            lag_bytes: Some(lag_bytes),
            flush_lag_s,
        })
    }

    fn receiver(lag_bytes: u64, now: OffsetDateTime) -> ReceiverRecord {
        ReceiverRecord::next(None, streaming(lag_bytes, None), false, 300.0, now)
    }

    fn base(at_s: i64) -> BaseRecord {
        BaseRecord {
            last_ok: Some(BaseRun {
                name: "b".into(),
                at: at(at_s),
                bytes: 1,
                seconds: 1.0,
            }),
            last_error: None,
            count: 1,
            every_s: 3600,
        }
    }

    fn drill(at_s: i64, is_ok: bool) -> DrillRecord {
        DrillRecord {
            at: at(at_s),
            is_ok,
            detail: if is_ok { "clean" } else { "2 mismatches" }.into(),
            base: None,
            restored_to: None,
            products_checked: Some(3),
            mismatches: Some(if is_ok { 0 } else { 2 }),
            seconds: 1.0,
            every_s: 3600,
        }
    }

    #[test]
    fn lag_rules() {
        // Caught up.
        let r = receiver(0, at(0));
        assert_eq!(r.lag_seconds, Some(0.0));
        assert_eq!(r.caught_up_at, Some(at(0)));
        // Streaming but behind: the server's flush_lag.
        let r = ReceiverRecord::next(Some(&r), streaming(8192, Some(2.0)), false, 300.0, at(10));
        assert_eq!(r.lag_seconds, Some(2.0));
        assert_eq!(r.caught_up_at, Some(at(8)));
        // The receiver is down and WAL piles up in the slot: the lag counts from the last
        // time the archive was caught up.
        let down = Ok(Measurement {
            is_streaming: false,
            lag_bytes: Some(1 << 20),
            flush_lag_s: None,
        });
        let r = ReceiverRecord::next(Some(&r), down, false, 300.0, at(70));
        assert_eq!(r.lag_seconds, Some(62.0));
        assert_eq!(r.lag_bytes, Some(1 << 20));
        assert!(!r.is_streaming);
        // The server cannot be reached: nothing new is known, the clock keeps running.
        let r = ReceiverRecord::next(
            Some(&r),
            Err("connection refused".into()),
            true,
            300.0,
            at(100),
        );
        assert_eq!(r.lag_seconds, Some(92.0));
        assert_eq!(r.error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn all_current_is_ok() {
        let s = judge(
            Some(receiver(0, at(0))),
            Some(base(-100)),
            Some(drill(-50, true)),
            vec![],
            at(5),
        );
        assert!(s.is_ok(), "{:?}", s.problems);
        assert_eq!(s.status, "ok");
        assert_eq!(s.wal_lag_seconds, Some(0.0));
        assert_eq!(s.last_base_backup_age_s, Some(105.0));
        assert!(s.metrics().contains("wms_backup_ok 1\n"));
        assert!(s.metrics().contains("wms_backup_wal_lag_bytes 0\n"));
    }

    #[test]
    fn every_problem_is_named() {
        // Nothing recorded at all.
        // Nothing recorded at all: a first boot, still to come, not failing.
        let s = judge(None, None, None, vec![], at(0));
        assert_eq!(
            s.pending,
            vec![
                "the WAL receiver has not reported yet",
                "no base backup yet"
            ]
        );
        assert!(s.problems.is_empty() && !s.is_failing() && !s.is_ok());
        assert_eq!(s.status, "starting");
        assert!(s.metrics().contains("wms_backup_ok 0\n"));
        // A stale measurement: the lag keeps growing from the last catch-up.
        let s = judge(
            Some(receiver(0, at(0))),
            Some(base(0)),
            None,
            vec![],
            at(400),
        );
        assert_eq!(s.wal_lag_seconds, Some(400.0));
        assert!(
            s.problems[0].contains("last measured 6m 40s ago"),
            "{:?}",
            s.problems
        );
        assert!(
            s.problems[1].contains("6m 40s behind (limit 5m 0s)"),
            "{:?}",
            s.problems
        );
        // Base backup overdue and failing, drill failed and overdue.
        let mut b = base(-3 * 3600);
        b.last_error = Some(Failure {
            at: at(-10),
            error: "disk full".into(),
        });
        let s = judge(
            Some(receiver(0, at(0))),
            Some(b),
            Some(drill(-3 * 3600, false)),
            vec![],
            at(0),
        );
        assert_eq!(
            s.problems,
            vec![
                "the newest base backup is 3h 0m old (one is due every 1h 0m)",
                "the last base backup failed: disk full",
                "the last restore drill failed: 2 mismatches",
                "the last restore drill was 3h 0m ago (one is due every 1h 0m)",
            ]
        );
        assert!(s.metrics().contains("wms_backup_last_drill_ok 0\n"));
    }

    #[test]
    fn a_gap_needs_a_newer_base_backup() {
        let mut r = receiver(0, at(0));
        r.gap_since = Some(at(-5));
        let s = judge(Some(r.clone()), Some(base(-10)), None, vec![], at(1));
        assert!(
            s.problems[0].contains("WAL is missing from the archive since"),
            "{:?}",
            s.problems
        );
        let s = judge(Some(r), Some(base(-1)), None, vec![], at(1));
        assert!(s.is_ok(), "{:?}", s.problems);
    }

    #[test]
    fn an_old_failure_before_a_success_is_history() {
        let mut b = base(0);
        b.last_error = Some(Failure {
            at: at(-10),
            error: "x".into(),
        });
        let s = judge(Some(receiver(0, at(0))), Some(b), None, vec![], at(1));
        assert!(s.is_ok(), "{:?}", s.problems);
    }

    #[test]
    fn synchronous_mode_without_receiver_says_writes_wait() {
        let r = ReceiverRecord::next(None, Err("refused".into()), true, 300.0, at(0));
        let s = judge(Some(r), Some(base(0)), None, vec![], at(1));
        assert!(
            s.problems.iter().any(|p| p.contains("writes wait")),
            "{:?}",
            s.problems
        );
        assert!(s.errors.iter().any(|e| e.contains("refused")));
    }

    #[test]
    fn files_round_trip_and_garbage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), BASE_FILE, &base(0)).unwrap();
        store(dir.path(), RECEIVER_FILE, &receiver(0, at(0))).unwrap();
        std::fs::write(dir.path().join("status").join(VERIFY_FILE), "{not json").unwrap();
        let s = read_status(dir.path(), at(1));
        assert_eq!(s.last_base_backup, base(0).last_ok);
        assert!(
            s.errors.iter().any(|e| e.contains("is not a status file")),
            "{:?}",
            s.errors
        );
        assert_eq!(load::<BaseRecord>(dir.path(), BASE_FILE), Some(base(0)));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(5.2), "5s");
        assert_eq!(human(125.0), "2m 5s");
        assert_eq!(human(26.0 * 3600.0 + 300.0), "26h 5m");
    }
}
