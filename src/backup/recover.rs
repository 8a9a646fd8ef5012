//! A data directory rebuilt from a base backup and the archived WAL, recovered by a
//! temporary server: the common core of `wms restore --latest|--at` and of the drills.
//!
//! [`rebuild`], step by step:
//!
//! 1. **Base backup**: the newest one (`--latest`), or the newest that finished before the
//!    target time (a copy is consistent only from its end).
//! 2. **WAL chain**: every segment from the base backup's start, following timeline switches
//!    through the history files ([`wal::plan_chain`]); a hole in the file names is found
//!    here, before anything runs.
//! 3. **Copy**: the base backup into the new directory (owned by the server's account,
//!    0700), the chain's segments into its `pg_wal` under their real names (a `.partial`
//!    becomes a whole segment: the recovery reads up to its last valid record).
//! 4. **Check**: `pg_waldump` reads the chain (per timeline) and we keep each commit's
//!    time. A segment that stops early is corrupt; the last commit before the damage is
//!    "the last time that can be restored", which the error names. For `--at`, the WAL must
//!    hold a commit after the target (or end cleanly, then everything is restored).
//! 5. **Recover**: `postgres` on the new directory with `recovery.signal`, on a private
//!    socket in a fresh temp dir with its own `pg_hba.conf` (trust, that socket only: the
//!    production authentication is not involved) and no TCP; to the end of the WAL or to
//!    the target time; it promotes to a new timeline.
//! 6. **After**: optionally the ledger check and the replication slot for the archive, then
//!    a fast shutdown (a clean checkpoint: the directory is ready to be started normally).
//!
//! Nothing outside the new directory is written; on failure the caller removes it.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tracing::{info, warn};

use super::archive::{Archive, BaseInfo, INFO_FILE};
use super::db::{self, describe_error};
use super::error::{BackupError, io_err};
use super::receiver::SLOT;
use super::status::{human, rfc3339};
use super::tools::{Account, Tools, tail_text};
use super::wal::{self, Lsn, PathStep, Planned, SegmentName};

/// How long the temporary server may take to start, recover and promote.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(6 * 3600);
/// How long its shutdown may take.
const STOP_DEADLINE: Duration = Duration::from_secs(120);
/// How often its state is polled while it recovers.
const POLL: Duration = Duration::from_millis(25);
/// Lines of the server's log kept for error messages.
const LOG_TAIL_LINES: usize = 30;

/// Where the recovery stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// All the WAL there is.
    Latest,
    /// Every transaction committed at or before this time.
    Time(OffsetDateTime),
}

/// What to do on the recovered server before it is stopped.
#[derive(Clone, Debug, Default)]
pub struct After {
    /// Run the ledger check in this database.
    pub ledger_db: Option<String>,
    /// Create the archive's replication slot (the restored cluster will stream to it).
    pub create_slot: bool,
}

/// A recovered, cleanly stopped data directory.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// The base backup it started from.
    pub base: BaseInfo,
    /// The last transaction it holds (commit time), if any after the base backup.
    pub restored_to: Option<OffsetDateTime>,
    /// Segments read after the base backup.
    pub segments: usize,
    /// The timeline it continues on.
    pub timeline: Option<i64>,
    /// The ledger check, when asked for.
    pub ledger: Option<crate::ledger::Summary>,
}

/// Everything [`rebuild`] needs.
pub struct Job<'a> {
    /// PostgreSQL's tools (account: the server's, when we are root).
    pub tools: &'a Tools,
    /// The backup volume.
    pub archive: &'a Archive,
    /// Where to stop.
    pub goal: Goal,
    /// The new data directory (must not exist).
    pub into: &'a Path,
    /// The database superuser of the backed-up cluster.
    pub superuser: &'a str,
    /// What to do before stopping.
    pub after: After,
}

/// The base backups that may serve `goal`, best first (pure): the newest for `--latest`;
/// for a time, those that started before it, newest first (whether the copy's consistency
/// point is early enough is known only from its WAL: see [`ends_after`]).
pub fn candidates(bases: &[BaseInfo], goal: Goal) -> Result<Vec<&BaseInfo>, String> {
    let none = || "there is no base backup in the archive yet".to_owned();
    match goal {
        Goal::Latest => bases.last().map(|b| vec![b]).ok_or_else(none),
        Goal::Time(t) => {
            let found: Vec<&BaseInfo> = bases.iter().rev().filter(|b| b.started_at <= t).collect();
            if found.is_empty() {
                return Err(match bases.first() {
                    Some(oldest) => format!(
                        "no base backup started before {}: the earliest time that can be \
                         restored is {} (base backup {})",
                        rfc3339(t),
                        rfc3339(oldest.finished_at),
                        oldest.name
                    ),
                    None => none(),
                });
            }
            Ok(found)
        }
    }
}

/// True if the copy cannot stop at `t`: a transaction committed after `t` is already in
/// it (a commit before its consistency point `end`). Pure.
pub fn ends_after(checked: &Checked, end: Lsn, t: OffsetDateTime) -> bool {
    checked
        .commits
        .iter()
        .any(|(lsn, committed)| *lsn < end && *committed > t)
}

/// Where the recovering server is told to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// At the end of the WAL.
    End,
    /// After the last commit at or before this time.
    Time(OffsetDateTime),
    /// After the record at this position (a commit).
    Lsn(Lsn),
    /// As soon as the copy is consistent.
    Immediate,
}

/// Why the goal cannot be reached.
#[derive(Debug, PartialEq, Eq)]
pub enum StopError {
    /// The WAL is damaged before the goal (the message names the segment).
    Damaged(String),
}

/// How to reach `goal` with the WAL `checked` found (pure), and the last commit the result
/// holds. PostgreSQL stops at a target time only when it sees a later commit; where the
/// WAL ends (or is damaged) before one, the target becomes the position of the last
/// commit before the target time, or the copy's consistency point.
pub fn decide_stop(
    goal: Goal,
    damage: Option<&str>,
    checked: &Checked,
    base_end: Lsn,
) -> Result<(Stop, Option<OffsetDateTime>), StopError> {
    match goal {
        Goal::Latest => match damage {
            Some(d) => Err(StopError::Damaged(d.to_owned())),
            None => Ok((Stop::End, checked.last_commit.map(|(_, t)| t))),
        },
        Goal::Time(t) => {
            let before = checked.commits.iter().rev().find(|(_, c)| *c <= t).copied();
            if checked.first_commit_after(t).is_some() {
                return Ok((Stop::Time(t), before.map(|(_, c)| c)));
            }
            match (damage, before) {
                (None, _) => Ok((Stop::End, checked.last_commit.map(|(_, c)| c))),
                (Some(_), Some((lsn, c))) if lsn >= base_end => Ok((Stop::Lsn(lsn), Some(c))),
                (Some(_), _) => Ok((Stop::Immediate, None)),
            }
        }
    }
}

/// Rebuilds and recovers `job.into`.
pub fn rebuild(job: &Job<'_>) -> Result<Rebuilt, BackupError> {
    let mut skipped = Vec::new();
    let bases = job.archive.bases(&mut skipped);
    for s in &skipped {
        warn!("ignoring {s}");
    }
    if let Goal::Time(t) = job.goal {
        if t > super::now() {
            return Err(BackupError::Usage(format!(
                "{} is in the future; use --latest for everything there is",
                rfc3339(t)
            )));
        }
    }
    let candidates = candidates(&bases, job.goal).map_err(BackupError::Refused)?;
    let account = job.tools.account();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(job.into)
        .map_err(io_err("cannot create", job.into))?;
    if let Some(a) = account {
        a.chown(job.into)
            .map_err(io_err("cannot chown", job.into))?;
    }
    let pg_wal = job.into.join("pg_wal");
    // The WAL first (staged and read), then the base backup it belongs to.
    let mut chosen = None;
    for base in &candidates {
        let staged = stage(job, base, &pg_wal)?;
        if let (Goal::Time(t), Some(end)) = (job.goal, base.end()) {
            if ends_after(&staged.checked, end, t) {
                info!(
                    "base backup {} was still running at {}; trying an older one",
                    base.name,
                    rfc3339(t)
                );
                continue;
            }
        }
        chosen = Some(((*base).clone(), staged));
        break;
    }
    let Some((base, staged)) = chosen else {
        return Err(BackupError::Refused(format!(
            "every base backup that started before the target was still running at it; the \
             earliest time that can be restored is {}",
            candidates
                .last()
                .map_or_else(|| "unknown".into(), |b| rfc3339(b.finished_at))
        )));
    };
    let Staged {
        start,
        target_tli,
        chain,
        checked,
    } = staged;
    let seg_size = base.seg_size;
    info!(
        "restoring base backup {} ({} bytes, finished {}) into {}",
        base.name,
        base.bytes,
        rfc3339(base.finished_at),
        job.into.display()
    );
    copy_tree(
        &job.archive.base_path(&base.name),
        job.into,
        account,
        &[INFO_FILE, "backup_manifest", "pg_wal"],
    )?;

    let damage = match (chain.gap, &checked.damage) {
        (_, Some((seg, why))) => Some(format!(
            "WAL segment {} is corrupt ({why})",
            seg.file_name(seg_size)
        )),
        (Some(seg), None) => Some(format!(
            "WAL segment {} is missing from the archive",
            seg.file_name(seg_size)
        )),
        (None, None) => None,
    };
    let base_end = base.end().unwrap_or(start);
    let (stop, restored_to) = decide_stop(job.goal, damage.as_deref(), &checked, base_end)
        .map_err(|e| match e {
            StopError::Damaged(d) => {
                let upto = match checked.last_commit {
                    Some((_, t)) => format!(
                        "the last time that can be restored is {} (wms restore --at {})",
                        rfc3339(t),
                        rfc3339(t)
                    ),
                    None => format!(
                        "nothing after base backup {} (finished {}) can be restored",
                        base.name,
                        rfc3339(base.finished_at)
                    ),
                };
                BackupError::Failed(format!("{d}; {upto}"))
            }
        })?;
    if let (Goal::Time(t), Stop::End) = (job.goal, stop) {
        if let Some((_, last)) = checked.last_commit {
            info!(
                "nothing was committed after {} (the archive's last commit is at {}): \
                 restoring everything",
                rfc3339(t),
                rfc3339(last)
            );
        }
    }

    // The recovery.
    std::fs::write(job.into.join("recovery.signal"), "")
        .map_err(io_err("cannot write", &job.into.join("recovery.signal")))?;
    if let Some(a) = account {
        a.chown(&job.into.join("recovery.signal"))
            .map_err(io_err("cannot chown", job.into))?;
    }
    let started = Instant::now();
    let mut server = TempServer::start(job.tools, job.into, target_tli, stop)?;
    let outcome = server.await_promotion(job.superuser, &job.after);
    let stopped = server.stop();
    let (timeline, ledger) = outcome?;
    stopped?;
    info!(
        "recovered to {} on timeline {} in {:.1} s ({} WAL segments after the base backup)",
        restored_to.map_or_else(|| "the base backup's end".into(), rfc3339),
        timeline.map_or_else(|| "?".into(), |t| t.to_string()),
        started.elapsed().as_secs_f64(),
        chain.segments.len()
    );
    Ok(Rebuilt {
        base,
        restored_to,
        segments: chain.segments.len(),
        timeline,
        ledger,
    })
}

/// A base backup's WAL, staged in the new `pg_wal` and read.
struct Staged {
    start: Lsn,
    target_tli: u32,
    chain: wal::Chain<PathBuf>,
    checked: Checked,
}

/// Stages the WAL chain of `base` into `pg_wal` (emptied first) and reads it.
fn stage(job: &Job<'_>, base: &BaseInfo, pg_wal: &Path) -> Result<Staged, BackupError> {
    let seg_size = base.seg_size;
    let start = base.start().ok_or_else(|| {
        BackupError::Failed(format!(
            "base backup {}: bad start position {:?}",
            base.name, base.start_lsn
        ))
    })?;
    let base_path = job.archive.base_path(&base.name);
    let scan = job.archive.scan_wal(seg_size, &[base_path.join("pg_wal")]);
    for p in &scan.problems {
        warn!("{p}");
    }
    let target_tli = wal::latest_timeline(base.timeline, &scan.histories);
    let path = wal::timeline_path(base.timeline, target_tli, &scan.histories).ok_or_else(|| {
        BackupError::Failed(format!(
            "timeline {target_tli} does not descend from the base backup's timeline {}",
            base.timeline
        ))
    })?;
    let mut chain = wal::plan_chain(start, seg_size, &path, &scan.segments);
    if let Some(last) = chain.segments.last() {
        if last.is_partial && holds_no_wal_yet(&last.source) {
            info!(
                "{} holds no WAL yet (the receiver has just begun it); left out",
                last.source.display()
            );
            chain.segments.pop();
        }
    }
    let account = job.tools.account();
    if pg_wal.exists() {
        std::fs::remove_dir_all(pg_wal).map_err(io_err("cannot empty", pg_wal))?;
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(pg_wal)
        .map_err(io_err("cannot create", pg_wal))?;
    if let Some(a) = account {
        a.chown(pg_wal).map_err(io_err("cannot chown", pg_wal))?;
    }
    for p in &chain.segments {
        copy_file(&p.source, &pg_wal.join(p.name.file_name(seg_size)), account)?;
    }
    for tli in path.iter().map(|s| s.tli) {
        if let Some(h) = scan.history_files.get(&tli) {
            copy_file(h, &pg_wal.join(wal::history_name(tli)), account)?;
        }
    }
    let checked = check_chain(job.tools, pg_wal, start, seg_size, &path, &chain.segments)?;
    Ok(Staged {
        start,
        target_tli,
        chain,
        checked,
    })
}

/// True if a `.partial` segment holds no WAL yet: `pg_receivewal` creates the next segment
/// zero-filled to its full size before it writes the first page, so for a moment the newest
/// file is zeros only (its first page header's magic number is 0). Read as WAL it would be
/// damage (`pg_waldump` refuses it); it only means the archive ends with the segment before.
/// A file that cannot be read is left to the check, which names it.
fn holds_no_wal_yet(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == [0, 0])
}

/// Copies a directory tree (files, directories, symlinks as links), giving everything to
/// `account`; `skip` names top-level entries left out. Directories are created 0700.
pub fn copy_tree(
    from: &Path,
    to: &Path,
    account: Option<&Account>,
    skip: &[&str],
) -> Result<(), BackupError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(to)
        .map_err(io_err("cannot create", to))?;
    if let Some(a) = account {
        a.chown(to).map_err(io_err("cannot chown", to))?;
    }
    let mut files = Vec::new();
    let mut todo = vec![(from.to_owned(), to.to_owned(), true)];
    while let Some((src, dst, top)) = todo.pop() {
        for e in std::fs::read_dir(&src)
            .map_err(io_err("cannot read", &src))?
            .filter_map(Result::ok)
        {
            let name = e.file_name();
            if top && skip.iter().any(|s| name == *s) {
                continue;
            }
            let (s, d) = (e.path(), dst.join(&name));
            let kind = e.file_type().map_err(io_err("cannot stat", &s))?;
            if kind.is_dir() {
                std::fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&d)
                    .map_err(io_err("cannot create", &d))?;
                if let Some(a) = account {
                    a.chown(&d).map_err(io_err("cannot chown", &d))?;
                }
                todo.push((s, d, false));
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&s).map_err(io_err("cannot read", &s))?;
                std::os::unix::fs::symlink(&target, &d).map_err(io_err("cannot create", &d))?;
            } else {
                files.push((s, d));
            }
        }
    }
    // Two threads: the copy is I/O-bound, and a second request in flight keeps the disk
    // busy while the first one's page cache is written.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<(), BackupError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| -> Result<(), BackupError> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((s, d)) = files.get(i) else {
                            return Ok(());
                        };
                        copy_file(s, d, account)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(BackupError::Failed("a copy thread panicked".into())))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Copies one file (0600 unless the source is stricter), giving it to `account`.
pub fn copy_file(from: &Path, to: &Path, account: Option<&Account>) -> Result<(), BackupError> {
    std::fs::copy(from, to).map_err(|source| BackupError::Io {
        what: "cannot copy to",
        path: to.to_owned(),
        source: std::io::Error::new(source.kind(), format!("{} ({source})", from.display())),
    })?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err("cannot chmod", to))?;
    if let Some(a) = account {
        a.chown(to).map_err(io_err("cannot chown", to))?;
    }
    Ok(())
}

/// What `pg_waldump` found in the chain.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Commit records, in WAL order.
    pub commits: Vec<(Lsn, OffsetDateTime)>,
    /// The last one.
    pub last_commit: Option<(Lsn, OffsetDateTime)>,
    /// The segment where readable WAL stopped too early, and why.
    pub damage: Option<(SegmentName, String)>,
}

impl Checked {
    /// The first commit after `t`.
    pub fn first_commit_after(&self, t: OffsetDateTime) -> Option<(Lsn, OffsetDateTime)> {
        self.commits.iter().find(|(_, c)| *c > t).copied()
    }
}

/// Reads the staged chain with `pg_waldump`, one timeline at a time.
fn check_chain(
    tools: &Tools,
    pg_wal: &Path,
    start: Lsn,
    seg_size: u64,
    path: &[PathStep],
    segments: &[Planned<PathBuf>],
) -> Result<Checked, BackupError> {
    let mut checked = Checked::default();
    for step in path {
        let mine: Vec<&Planned<PathBuf>> =
            segments.iter().filter(|p| p.name.tli == step.tli).collect();
        let Some(last) = mine.last() else {
            continue;
        };
        // Start at a record boundary: the base backup's start, else the first record of the
        // timeline's first segment (pg_waldump finds it).
        let from = match step.begin {
            None => start,
            Some(_) => mine[0].name.start(seg_size).max(start),
        };
        // A switch segment is read from the newer timeline's file: this timeline's part
        // of the check ends where that segment begins.
        let end = step.end.map(|e| Lsn(e.segno(seg_size) * seg_size));
        if end.is_some_and(|e| e <= from) {
            continue;
        }
        let mut cmd = tools.command("pg_waldump");
        cmd.arg("--path")
            .arg(pg_wal)
            .arg(format!("--timeline={}", step.tli))
            .arg(format!("--start={from}"))
            .arg("--rmgr=Transaction");
        if let Some(end) = end {
            cmd.arg(format!("--end={end}"));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| super::tools::ToolError::Spawn {
                program: "pg_waldump".into(),
                source,
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // stderr on its own thread: a chatty tool must not block on a full pipe.
        let err_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut e) = stderr {
                let _ = std::io::Read::read_to_end(&mut e, &mut text);
            }
            text
        });
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(c) = parse_commit(&line) {
                    checked.commits.push(c);
                }
            }
        }
        let status = child
            .wait()
            .map_err(io_err("cannot wait for pg_waldump", pg_wal))?;
        let err_text = err_reader.join().unwrap_or_default();
        let err_text = tail_text(&err_text, b"");
        let is_last_step = step.end.is_none();
        if status.success() || (is_last_step && err_text.contains("could not find file")) {
            // Done, or the last record continues into a segment nobody has written yet.
            continue;
        }
        // Readable WAL ended at `stop`: fine in the last segment of the newest timeline
        // (that is where the stream ends), a defect anywhere before.
        let stop = stop_position(&err_text).ok_or_else(|| {
            BackupError::Failed(format!("pg_waldump failed ({status}): {err_text}"))
        })?;
        let stop_seg = stop.segno(seg_size);
        let is_clean_end =
            is_last_step && (stop_seg == last.name.segno || stop_seg == last.name.segno + 1);
        if !is_clean_end {
            checked.damage = Some((
                SegmentName {
                    tli: step.tli,
                    segno: stop_seg.max(mine[0].name.segno),
                },
                err_text
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("pg_waldump: error: ")
                    .to_owned(),
            ));
            break;
        }
    }
    checked.last_commit = checked.commits.last().copied();
    Ok(checked)
}

/// `... lsn: 0/03002F90, prev 0/03002F48, desc: COMMIT 2026-12-06 20:27:59.463243 UTC ...`
pub fn parse_commit(line: &str) -> Option<(Lsn, OffsetDateTime)> {
    let lsn = line.split("lsn: ").nth(1)?.split(',').next()?;
    let desc = line.split("desc: COMMIT ").nth(1)?;
    let mut parts = desc.split_whitespace();
    let (date, clock) = (parts.next()?, parts.next()?);
    Some((
        Lsn::parse(lsn)?,
        parse_pg_time(date, clock.trim_end_matches(';'))?,
    ))
}

/// `2026-12-06` + `20:27:59.463243` (UTC).
fn parse_pg_time(date: &str, clock: &str) -> Option<OffsetDateTime> {
    let mut d = date.split('-');
    let (y, m, day) = (
        d.next()?.parse().ok()?,
        d.next()?.parse::<u8>().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':');
    let (h, min, s) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let micros: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").get(..6)?.parse().ok()?
    };
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, day).ok()?;
    let time = time::Time::from_hms_micro(h, min, s, micros).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

/// A time as PostgreSQL reads it (microseconds, UTC): `2026-12-06 12:00:00.123456+00`.
pub fn pg_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Where `pg_waldump` stopped: the highest position its error mentions.
pub fn stop_position(stderr: &str) -> Option<Lsn> {
    stderr
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .filter(|w| w.contains('/'))
        .filter_map(Lsn::parse)
        .max()
}

/// The recovering server.
struct TempServer {
    child: Child,
    sock: PathBuf,
    log: PathBuf,
}

impl TempServer {
    fn start(
        tools: &Tools,
        pgdata: &Path,
        timeline: u32,
        stop: Stop,
    ) -> Result<TempServer, BackupError> {
        let sock = private_dir(tools.account())?;
        let hba = sock.join("pg_hba.conf");
        std::fs::write(&hba, "local all all trust\n").map_err(io_err("cannot write", &hba))?;
        let log = sock.join("server.log");
        let log_file = std::fs::File::create(&log).map_err(io_err("cannot create", &log))?;
        if let Some(a) = tools.account() {
            for p in [&hba, &log] {
                a.chown(p).map_err(io_err("cannot chown", p))?;
            }
        }
        let err_file = log_file.try_clone().map_err(io_err("cannot open", &log))?;
        let mut cmd = tools.command("postgres");
        cmd.arg("-D").arg(pgdata);
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), String::new()),
            ("unix_socket_directories".into(), sock.display().to_string()),
            ("port".into(), "5432".into()),
            ("hba_file".into(), hba.display().to_string()),
            ("synchronous_standby_names".into(), String::new()),
            ("archive_mode".into(), "off".into()),
            ("restore_command".into(), "false".into()),
            ("recovery_target_timeline".into(), timeline.to_string()),
            ("recovery_init_sync_method".into(), "syncfs".into()),
            ("logging_collector".into(), "off".into()),
            ("max_wal_senders".into(), "10".into()),
        ];
        let target = match stop {
            Stop::End => None,
            Stop::Time(t) => Some(("recovery_target_time", pg_time(t))),
            Stop::Lsn(l) => Some(("recovery_target_lsn", l.to_string())),
            Stop::Immediate => Some(("recovery_target", "immediate".to_owned())),
        };
        if let Some((k, v)) = target {
            settings.push((k.into(), v));
            settings.push(("recovery_target_inclusive".into(), "on".into()));
            settings.push(("recovery_target_action".into(), "promote".into()));
        }
        for (k, v) in settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        let child = cmd
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .spawn()
            .map_err(|source| super::tools::ToolError::Spawn {
                program: "postgres".into(),
                source,
            })?;
        Ok(TempServer { child, sock, log })
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// The exit status once the server is gone (`Err`: it could not be read).
    fn exited(&mut self) -> Option<Result<std::process::ExitStatus, String>> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(Ok(status)),
            Ok(None) => None,
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Waits until recovery finished and the server promoted; then runs `after`.
    fn await_promotion(
        &mut self,
        superuser: &str,
        after: &After,
    ) -> Result<(Option<i64>, Option<crate::ledger::Summary>), BackupError> {
        let rt = db::runtime().map_err(io_err("cannot start a runtime", &self.sock))?;
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host_path(&self.sock)
            .port(5432)
            .user(superuser)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        let client = loop {
            if let Some(status) = self.exited() {
                return Err(BackupError::Failed(format!(
                    "the recovery server exited ({}):\n{}",
                    describe_status(&status),
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(BackupError::Failed(format!(
                    "the recovery did not finish in {}:\n{}",
                    human(RECOVERY_DEADLINE.as_secs_f64()),
                    self.log_tail()
                )));
            }
            let ready = rt.block_on(async {
                let c = db::connect(&cfg).await.ok()?;
                let in_recovery: bool = c
                    .query_one("SELECT pg_is_in_recovery()", &[])
                    .await
                    .ok()?
                    .get(0);
                (!in_recovery).then_some(c)
            });
            if let Some(c) = ready {
                break c;
            }
            std::thread::sleep(POLL);
        };
        rt.block_on(async {
            let timeline: Option<i64> = client
                .query_one(
                    "SELECT timeline_id::bigint FROM pg_control_checkpoint()",
                    &[],
                )
                .await
                .ok()
                .map(|r| r.get(0));
            if after.create_slot {
                client
                    .execute(
                        "SELECT pg_create_physical_replication_slot($1, true) \
                         WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)",
                        &[&SLOT],
                    )
                    .await
                    .map_err(BackupError::sql("creating the replication slot"))?;
            }
            let ledger = match &after.ledger_db {
                None => None,
                Some(dbname) => {
                    let mut c = cfg.clone();
                    c.dbname(dbname);
                    let mut app = db::connect(&c).await.map_err(|e| {
                        BackupError::Failed(format!(
                            "cannot connect to the restored database {dbname:?}: {}",
                            describe_error(&e)
                        ))
                    })?;
                    Some(
                        crate::ledger::check(&mut app)
                            .await
                            .map_err(BackupError::sql("the ledger check"))?,
                    )
                }
            };
            Ok((timeline, ledger))
        })
    }

    /// Fast shutdown, waiting for the exit (a clean checkpoint); kills after a deadline.
    fn stop(mut self) -> Result<(), BackupError> {
        let result = (|| {
            if let Some(status) = self.exited() {
                return Err(BackupError::Failed(format!(
                    "the recovery server exited ({}):\n{}",
                    describe_status(&status),
                    self.log_tail()
                )));
            }
            // SAFETY: plain syscall on our own child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
            let deadline = Instant::now() + STOP_DEADLINE;
            while Instant::now() < deadline {
                match self.exited() {
                    Some(Ok(status)) if status.success() => return Ok(()),
                    Some(status) => {
                        return Err(BackupError::Failed(format!(
                            "the recovery server stopped badly ({}):\n{}",
                            describe_status(&status),
                            self.log_tail()
                        )));
                    }
                    None => {}
                }
                std::thread::sleep(POLL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            Err(BackupError::Failed(
                "the recovery server did not stop in time; killed".into(),
            ))
        })();
        let _ = std::fs::remove_dir_all(&self.sock);
        result
    }
}

impl Drop for TempServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn describe_status(status: &Result<std::process::ExitStatus, String>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => e.clone(),
    }
}

/// A fresh 0700 directory under /tmp for the temporary server's socket and log (short, so
/// the socket path stays under the 107-byte limit), owned by `account`.
fn private_dir(account: Option<&Account>) -> Result<PathBuf, BackupError> {
    use rand::RngCore;
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("wms-recover-{suffix}"));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io_err("cannot create", &dir))?;
    if let Some(a) = account {
        a.chown(&dir).map_err(io_err("cannot chown", &dir))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_zero_filled_partial_holds_no_wal_yet() {
        let dir = std::env::temp_dir().join(format!("wms-partial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (zeros, written, short) = (dir.join("zeros"), dir.join("written"), dir.join("short"));
        std::fs::write(&zeros, vec![0u8; 8192]).unwrap();
        // A page header as PostgreSQL writes it begins with its magic number (0xD110 in 15).
        let mut page = vec![0u8; 8192];
        page[..2].copy_from_slice(&0xD110u16.to_le_bytes());
        std::fs::write(&written, page).unwrap();
        std::fs::write(&short, [0u8]).unwrap();
        assert!(holds_no_wal_yet(&zeros));
        assert!(!holds_no_wal_yet(&written));
        assert!(!holds_no_wal_yet(&short), "unreadable: left to the check");
        assert!(!holds_no_wal_yet(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commits_are_parsed() {
        let line = "rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/03002F90, prev 0/03002F48, desc: COMMIT 2026-12-06 20:27:59.463243 UTC";
        assert_eq!(
            parse_commit(line),
            Some((Lsn(0x3002F90), datetime!(2026-12-06 20:27:59.463243 UTC)))
        );
        let line = "rmgr: Transaction len (rec/tot): 82/82, tx: 9, lsn: 1/0000A0, prev 1/000068, desc: COMMIT 2026-12-06 20:27:59.46 UTC; inval msgs: catcache 7";
        assert_eq!(
            parse_commit(line),
            Some((Lsn((1 << 32) + 0xA0), datetime!(2026-12-06 20:27:59.46 UTC)))
        );
        let line = "rmgr: Transaction len (rec/tot): 34/34, tx: 9, lsn: 0/1, prev 0/0, desc: COMMIT 2026-12-06 20:27:59 UTC";
        assert_eq!(
            parse_commit(line).map(|c| c.1),
            Some(datetime!(2026-12-06 20:27:59 UTC))
        );
        assert_eq!(
            parse_commit("rmgr: Transaction ... desc: ABORT 2026-12-06"),
            None
        );
    }

    #[test]
    fn stops() {
        let t = |s: i64| datetime!(2026-12-06 12:00 UTC) + time::Duration::seconds(s);
        let checked = Checked {
            commits: vec![(Lsn(100), t(1)), (Lsn(200), t(2)), (Lsn(300), t(3))],
            last_commit: Some((Lsn(300), t(3))),
            damage: None,
        };
        let end = Lsn(50);
        assert_eq!(
            decide_stop(Goal::Latest, None, &checked, end),
            Ok((Stop::End, Some(t(3))))
        );
        assert_eq!(
            decide_stop(Goal::Latest, Some("x"), &checked, end),
            Err(StopError::Damaged("x".into()))
        );
        // A later commit exists: PostgreSQL's own target time.
        assert_eq!(
            decide_stop(Goal::Time(t(2)), Some("x"), &checked, end),
            Ok((Stop::Time(t(2)), Some(t(2))))
        );
        // After the last commit, intact WAL: everything.
        assert_eq!(
            decide_stop(Goal::Time(t(9)), None, &checked, end),
            Ok((Stop::End, Some(t(3))))
        );
        // After the last readable commit, damaged WAL: up to that commit's record.
        assert_eq!(
            decide_stop(Goal::Time(t(9)), Some("x"), &checked, end),
            Ok((Stop::Lsn(Lsn(300)), Some(t(3))))
        );
        // Nothing readable after the copy's consistency point: the copy itself.
        assert_eq!(
            decide_stop(Goal::Time(t(9)), Some("x"), &checked, Lsn(400)),
            Ok((Stop::Immediate, None))
        );
    }

    #[test]
    fn times_for_postgres() {
        assert_eq!(
            pg_time(datetime!(2026-12-06 13:00:56.763785427 +01:00)),
            "2026-12-06 12:00:56.763785+00"
        );
    }

    #[test]
    fn stop_positions() {
        let e = "pg_waldump: error: error in WAL record at 0/3002FB8: invalid record length at 0/3002FF0: wanted 24, got 0";
        assert_eq!(stop_position(e), Some(Lsn(0x3002FF0)));
        assert_eq!(
            stop_position("pg_waldump: error: could not find file"),
            None
        );
    }

    fn base(name: &str, finished: OffsetDateTime) -> BaseInfo {
        BaseInfo {
            name: name.into(),
            start_lsn: "0/2000028".into(),
            end_lsn: "0/2000100".into(),
            timeline: 1,
            seg_size: wal::DEFAULT_SEG_SIZE,
            started_at: finished,
            finished_at: finished,
            bytes: 1,
        }
    }

    #[test]
    fn base_choice() {
        let bases = vec![
            base("a", datetime!(2026-12-05 03:00 UTC)),
            base("b", datetime!(2026-12-06 03:00 UTC)),
        ];
        let names = |v: Vec<&BaseInfo>| v.iter().map(|b| b.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(candidates(&bases, Goal::Latest).unwrap()), ["b"]);
        assert_eq!(
            names(candidates(&bases, Goal::Time(datetime!(2026-12-06 02:00 UTC))).unwrap()),
            ["a"]
        );
        assert_eq!(
            names(candidates(&bases, Goal::Time(datetime!(2026-12-07 00:00 UTC))).unwrap()),
            ["b", "a"]
        );
        let e = candidates(&bases, Goal::Time(datetime!(2026-12-04 00:00 UTC))).unwrap_err();
        assert_eq!(
            e,
            "no base backup started before 2026-12-04T00:00:00Z: the earliest time that can \
             be restored is 2026-12-05T03:00:00Z (base backup a)"
        );
        assert!(candidates(&[], Goal::Latest).is_err());
        // A commit after the target before the copy's consistency point: too late a copy.
        let t = datetime!(2026-12-06 03:00 UTC);
        let checked = Checked {
            commits: vec![(Lsn(10), t), (Lsn(20), t + time::Duration::SECOND)],
            last_commit: None,
            damage: None,
        };
        assert!(ends_after(&checked, Lsn(30), t));
        assert!(!ends_after(&checked, Lsn(15), t));
    }
}
