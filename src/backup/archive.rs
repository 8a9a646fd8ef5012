//! The backup volume's layout, and reading what it holds.
//!
//! ```text
//! $WMS_BACKUP_DIR/
//!   wal/                          the WAL stream pg_receivewal writes (the current one)
//!   wal.until-<TIME>/             a stream retired by a restore or a lost slot (kept)
//!   base/<TIME>/                  a complete base backup (pg_basebackup, plain format,
//!                                 with backup_manifest) + wms-backup.json
//!   base/<TIME>.partial/          a base backup being taken (or one that failed)
//!   base/.lock                    held while a base backup or its retention runs
//!   status/*.json                 the status document (status.rs)
//!   cluster-id                    the system identifier of the cluster archived here
//!   verify/                       scratch space of a restore drill, removed afterwards
//! ```
//!
//! `<TIME>` is the UTC start time `20261206T120000Z`, so names sort by age. A base backup
//! becomes visible only by the rename from `.partial`, after its files are synced: a
//! directory without the suffix is always complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::wal::{self, Available, HistoryEntry, Lsn, SegmentName, WalFile};

/// The current WAL stream.
pub const WAL_DIR: &str = "wal";
/// Prefix of retired WAL streams.
pub const RETIRED_PREFIX: &str = "wal.until-";
/// Base backups.
pub const BASE_DIR: &str = "base";
/// What a base backup directory carries besides PostgreSQL's files.
pub const INFO_FILE: &str = "wms-backup.json";
/// Suffix of a base backup in progress.
pub const PARTIAL_SUFFIX: &str = ".partial";
/// The base backup lock.
pub const LOCK_FILE: &str = ".lock";
/// Scratch space of drills.
pub const VERIFY_DIR: &str = "verify";
/// Largest history file read.
const MAX_HISTORY: u64 = 1024 * 1024;

/// What we record about a complete base backup (`wms-backup.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaseInfo {
    /// Directory name under `base/`.
    pub name: String,
    /// Where its WAL starts (the checkpoint's redo position).
    pub start_lsn: String,
    /// The first position at which the copy is consistent.
    pub end_lsn: String,
    /// Its timeline.
    pub timeline: u32,
    /// WAL segment size of the cluster.
    pub seg_size: u64,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it finished: a restore to any time after this can start from it.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// Size on disk.
    pub bytes: u64,
}

impl BaseInfo {
    /// The start position.
    pub fn start(&self) -> Option<Lsn> {
        Lsn::parse(&self.start_lsn)
    }

    /// The consistency position.
    pub fn end(&self) -> Option<Lsn> {
        Lsn::parse(&self.end_lsn)
    }
}

/// The paths of one backup volume.
#[derive(Clone, Debug)]
pub struct Archive {
    root: PathBuf,
}

impl Archive {
    /// The volume at `root`.
    pub fn new(root: &Path) -> Archive {
        Archive {
            root: root.to_owned(),
        }
    }

    /// The volume.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The current WAL stream.
    pub fn wal_dir(&self) -> PathBuf {
        self.root.join(WAL_DIR)
    }

    /// The base backups.
    pub fn base_dir(&self) -> PathBuf {
        self.root.join(BASE_DIR)
    }

    /// Drill scratch space.
    pub fn verify_dir(&self) -> PathBuf {
        self.root.join(VERIFY_DIR)
    }

    /// Moves the current stream aside to `wal.until-<now>` (when it holds anything) so a
    /// new stream starts in an empty `wal/`; returns the new name. Nothing is deleted.
    pub fn retire_wal(&self, now: OffsetDateTime) -> std::io::Result<Option<PathBuf>> {
        let wal = self.wal_dir();
        let is_empty = match std::fs::read_dir(&wal) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if is_empty {
            return Ok(None);
        }
        let mut to = self
            .root
            .join(format!("{RETIRED_PREFIX}{}", base_name(now)));
        let mut n = 1;
        while to.exists() {
            n += 1;
            to = self
                .root
                .join(format!("{RETIRED_PREFIX}{}-{n}", base_name(now)));
        }
        std::fs::rename(&wal, &to)?;
        std::fs::File::open(&self.root)?.sync_all()?;
        Ok(Some(to))
    }

    /// Every WAL directory: the current stream first, then retired ones, newest first.
    pub fn wal_dirs(&self) -> Vec<PathBuf> {
        let mut retired: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(RETIRED_PREFIX))
                    && e.path().is_dir()
            })
            .map(|e| e.path())
            .collect();
        retired.sort();
        retired.reverse();
        let mut dirs = vec![self.wal_dir()];
        dirs.extend(retired);
        dirs
    }

    /// Complete base backups, oldest first. Directories whose info file is missing or
    /// unreadable are skipped (and reported through `skipped`).
    pub fn bases(&self, skipped: &mut Vec<String>) -> Vec<BaseInfo> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.base_dir()) else {
            return out;
        };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(PARTIAL_SUFFIX) || !e.path().is_dir() {
                continue;
            }
            match read_info(&e.path()) {
                Ok(info) => out.push(info),
                Err(why) => skipped.push(format!("base/{name}: {why}")),
            }
        }
        out.sort_by(|a, b| (a.finished_at, &a.name).cmp(&(b.finished_at, &b.name)));
        out
    }

    /// The directory of a base backup.
    pub fn base_path(&self, name: &str) -> PathBuf {
        self.base_dir().join(name)
    }

    /// Every segment in the WAL directories (and `extra`, e.g. a base backup's own
    /// `pg_wal`, consulted last), and the timeline histories. For a name found in several
    /// places a complete file wins over a `.partial`, then the earlier directory.
    pub fn scan_wal(&self, seg_size: u64, extra: &[PathBuf]) -> WalScan {
        let mut scan = WalScan::default();
        let mut dirs = self.wal_dirs();
        dirs.extend(extra.iter().cloned());
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for name in names {
                let path = dir.join(&name);
                match wal::classify(&name, seg_size) {
                    Some(WalFile::Segment(s)) => scan.add(s, path, true),
                    Some(WalFile::Partial(s)) => scan.add(s, path, false),
                    Some(WalFile::History(tli)) => {
                        scan.history_files.entry(tli).or_insert(path);
                    }
                    None => {}
                }
            }
        }
        for (tli, path) in &scan.history_files {
            match read_small(path, MAX_HISTORY).map(|t| wal::parse_history(&t)) {
                Ok(Some(h)) => {
                    scan.histories.insert(*tli, h);
                }
                Ok(None) => scan
                    .problems
                    .push(format!("{} is not a timeline history", path.display())),
                Err(e) => scan
                    .problems
                    .push(format!("cannot read {}: {e}", path.display())),
            }
        }
        scan
    }
}

/// What the WAL directories hold.
#[derive(Clone, Debug, Default)]
pub struct WalScan {
    /// Segment → where to read it.
    pub segments: BTreeMap<SegmentName, Available<PathBuf>>,
    /// Timeline → its history file.
    pub history_files: BTreeMap<u32, PathBuf>,
    /// Timeline → its parsed history.
    pub histories: BTreeMap<u32, Vec<HistoryEntry>>,
    /// Files that could not be read.
    pub problems: Vec<String>,
}

impl WalScan {
    fn add(&mut self, name: SegmentName, path: PathBuf, is_complete: bool) {
        match self.segments.get(&name) {
            Some(existing) if existing.is_complete || !is_complete => {}
            _ => {
                self.segments.insert(
                    name,
                    Available {
                        source: path,
                        is_complete,
                    },
                );
            }
        }
    }

    /// The newest segment of the current stream's timeline chain, if any.
    pub fn newest(&self) -> Option<SegmentName> {
        self.segments
            .keys()
            .max_by_key(|s| (s.segno, s.tli))
            .copied()
    }
}

/// Reads a base backup's `wms-backup.json`.
pub fn read_info(dir: &Path) -> Result<BaseInfo, String> {
    let text = read_small(&dir.join(INFO_FILE), 64 * 1024).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{INFO_FILE}: {e}"))
}

/// Reads a file of at most `limit` bytes.
pub fn read_small(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// What `backup_label` says: the start position, timeline and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// `START WAL LOCATION`.
    pub start: Lsn,
    /// `START TIMELINE`.
    pub timeline: u32,
}

/// Parses `backup_label` (pure).
pub fn parse_label(text: &str) -> Option<Label> {
    let mut start = None;
    let mut timeline = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("START WAL LOCATION:") {
            start = Lsn::parse(rest.split_whitespace().next()?);
        } else if let Some(rest) = line.strip_prefix("START TIMELINE:") {
            timeline = rest.trim().parse().ok();
        }
    }
    Some(Label {
        start: start?,
        timeline: timeline?,
    })
}

/// The end of the WAL range in a `backup_manifest` (pure): the position from which the
/// copy is consistent.
pub fn parse_manifest_end(text: &str) -> Option<(u32, Lsn)> {
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(rename = "WAL-Ranges")]
        wal_ranges: Vec<Range>,
    }
    #[derive(Deserialize)]
    struct Range {
        #[serde(rename = "Timeline")]
        timeline: u32,
        #[serde(rename = "End-LSN")]
        end: String,
    }
    let m: Manifest = serde_json::from_str(text).ok()?;
    let last = m.wal_ranges.last()?;
    Some((last.timeline, Lsn::parse(&last.end)?))
}

/// The name of a base backup started at `t`.
pub fn base_name(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Bytes under `path` (files only; symlinks not followed).
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![path.to_owned()];
    while let Some(p) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn labels_and_manifests() {
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                     CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\n\
                     START TIME: 2026-12-06 20:27:58 UTC\nSTART TIMELINE: 1\n";
        assert_eq!(
            parse_label(label),
            Some(Label {
                start: Lsn(0x2000028),
                timeline: 1
            })
        );
        assert_eq!(parse_label("garbage"), None);
        let manifest = r#"{ "PostgreSQL-Backup-Manifest-Version": 1, "Files": [],
            "WAL-Ranges": [ { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" } ],
            "Manifest-Checksum": "x"}"#;
        assert_eq!(parse_manifest_end(manifest), Some((1, Lsn(0x2000100))));
        assert_eq!(parse_manifest_end("{}"), None);
    }

    #[test]
    fn names_sort_by_time() {
        assert_eq!(
            base_name(datetime!(2026-12-06 09:05:03 UTC)),
            "20261206T090503Z"
        );
        assert_eq!(
            base_name(datetime!(2026-12-06 10:05:03 +01:00)),
            "20261206T090503Z"
        );
    }

    #[test]
    fn scans_prefer_complete_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = Archive::new(dir.path());
        let wal = a.wal_dir();
        let retired = dir.path().join(format!("{RETIRED_PREFIX}20261206T000000Z"));
        std::fs::create_dir_all(&wal).unwrap();
        std::fs::create_dir_all(&retired).unwrap();
        std::fs::write(wal.join("000000010000000000000003.partial"), "p").unwrap();
        std::fs::write(retired.join("000000010000000000000003"), "c").unwrap();
        std::fs::write(retired.join("000000010000000000000002"), "c").unwrap();
        std::fs::write(wal.join("00000002.history"), "1\t0/3003378\tx\n").unwrap();
        std::fs::write(wal.join("junk"), "").unwrap();
        let scan = a.scan_wal(wal::DEFAULT_SEG_SIZE, &[]);
        let s3 = &scan.segments[&SegmentName { tli: 1, segno: 3 }];
        assert!(s3.is_complete);
        assert!(s3.source.starts_with(&retired));
        assert_eq!(scan.segments.len(), 2);
        assert_eq!(scan.histories[&2][0].switch, Lsn(0x3003378));
        assert_eq!(a.wal_dirs(), vec![wal, retired]);
    }
}
