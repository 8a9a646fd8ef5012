//! WAL naming and the decisions about which WAL a recovery reads (pure: no I/O, no clock).
//!
//! * [`Lsn`]: a position in the WAL (`0/3000148`).
//! * [`SegmentName`]: `TTTTTTTTXXXXXXXXYYYYYYYY` (timeline, segment number), with or without
//!   the `.partial` suffix `pg_receivewal` keeps on the segment it is writing.
//! * [`parse_history`]: a timeline history file (`00000002.history`).
//! * [`plan_chain`]: for a base backup, the file to read for each segment from its start
//!   onwards, following timeline switches the way PostgreSQL does, stopping at the first
//!   missing segment (and naming it).
//!
//! Everything here is unit-tested; the callers own the directories and the files.

use std::collections::BTreeMap;
use std::fmt;

/// A WAL position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's `HI/LO` hex form.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u32::from_str_radix(hi, 16).ok()?;
        let lo = u32::from_str_radix(lo, 16).ok()?;
        Some(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }

    /// The segment number this position falls in.
    pub fn segno(self, seg_size: u64) -> u64 {
        self.0 / seg_size
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The default WAL segment size (initdb's default; others are read from the backup).
pub const DEFAULT_SEG_SIZE: u64 = 16 * 1024 * 1024;

/// A WAL segment file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentName {
    /// Timeline.
    pub tli: u32,
    /// Segment number (position / segment size).
    pub segno: u64,
}

impl SegmentName {
    /// Parses `000000010000000000000003` (24 hex digits) for `seg_size`.
    pub fn parse(name: &str, seg_size: u64) -> Option<SegmentName> {
        if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let tli = u32::from_str_radix(&name[0..8], 16).ok()?;
        let log = u64::from_str_radix(&name[8..16], 16).ok()?;
        let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
        let per_log = segments_per_xlogid(seg_size);
        if tli == 0 || seg >= per_log {
            return None;
        }
        Some(SegmentName {
            tli,
            segno: log * per_log + seg,
        })
    }

    /// The file name for `seg_size`.
    pub fn file_name(&self, seg_size: u64) -> String {
        let per_log = segments_per_xlogid(seg_size);
        format!(
            "{:08X}{:08X}{:08X}",
            self.tli,
            self.segno / per_log,
            self.segno % per_log
        )
    }

    /// The first position in this segment.
    pub fn start(&self, seg_size: u64) -> Lsn {
        Lsn(self.segno * seg_size)
    }
}

fn segments_per_xlogid(seg_size: u64) -> u64 {
    0x1_0000_0000 / seg_size.max(1)
}

/// What a file in a WAL directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalFile {
    /// A complete segment.
    Segment(SegmentName),
    /// The segment `pg_receivewal` is still writing (or the last one of a timeline).
    Partial(SegmentName),
    /// `0000000N.history`.
    History(u32),
}

/// Classifies a file name; `None` for anything else (temporary files, status files).
pub fn classify(name: &str, seg_size: u64) -> Option<WalFile> {
    if let Some(seg) = name.strip_suffix(".partial") {
        return SegmentName::parse(seg, seg_size).map(WalFile::Partial);
    }
    if let Some(tli) = name.strip_suffix(".history") {
        if tli.len() == 8 && tli.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(tli, 16).ok().map(WalFile::History);
        }
        return None;
    }
    SegmentName::parse(name, seg_size).map(WalFile::Segment)
}

/// The history file name of timeline `tli`.
pub fn history_name(tli: u32) -> String {
    format!("{tli:08X}.history")
}

/// One ancestor in a timeline history: `tli` ran until `switch` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The ancestor timeline.
    pub tli: u32,
    /// Where its successor branched off.
    pub switch: Lsn,
}

/// Parses a history file: `parentTLI <tab> switchpoint <tab> reason` per line, oldest
/// first; comments and blank lines are skipped. `None` if a line is malformed.
pub fn parse_history(text: &str) -> Option<Vec<HistoryEntry>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let tli = fields.next()?.parse().ok()?;
        let switch = Lsn::parse(fields.next()?)?;
        out.push(HistoryEntry { tli, switch });
    }
    Some(out)
}

/// One timeline on the path from a base backup to the recovery's target timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    /// The timeline.
    pub tli: u32,
    /// Where it begins (`None`: before the base backup, i.e. from the start).
    pub begin: Option<Lsn>,
    /// Where its successor on the path begins (`None`: the target, open-ended).
    pub end: Option<Lsn>,
}

/// The timelines a recovery from a base backup on `base_tli` follows to reach `target`:
/// the target's history (from `histories`, keyed by timeline) must contain `base_tli`.
/// Oldest first. `None` if `target` does not descend from `base_tli`.
pub fn timeline_path(
    base_tli: u32,
    target: u32,
    histories: &BTreeMap<u32, Vec<HistoryEntry>>,
) -> Option<Vec<PathStep>> {
    if target == base_tli {
        return Some(vec![PathStep {
            tli: target,
            begin: None,
            end: None,
        }]);
    }
    let history = histories.get(&target)?;
    let from = history.iter().position(|h| h.tli == base_tli)?;
    let mut steps = Vec::new();
    let mut begin = None;
    for h in &history[from..] {
        steps.push(PathStep {
            tli: h.tli,
            begin,
            end: Some(h.switch),
        });
        begin = Some(h.switch);
    }
    steps.push(PathStep {
        tli: target,
        begin,
        end: None,
    });
    Some(steps)
}

/// The newest timeline that descends from `base_tli` (itself if none does): PostgreSQL's
/// `recovery_target_timeline = 'latest'`.
pub fn latest_timeline(base_tli: u32, histories: &BTreeMap<u32, Vec<HistoryEntry>>) -> u32 {
    histories
        .iter()
        .rev()
        .find(|(_, h)| h.iter().any(|e| e.tli == base_tli))
        .map_or(base_tli, |(tli, _)| *tli)
}

/// A segment file available to a recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Available<P> {
    /// Where the bytes are.
    pub source: P,
    /// Written completely (`false`: a `.partial`).
    pub is_complete: bool,
}

/// The file to read for one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned<P> {
    /// The name the recovery asks for.
    pub name: SegmentName,
    /// Where to get it.
    pub source: P,
    /// The newest data may end inside it (a `.partial`).
    pub is_partial: bool,
}

/// What a recovery can read from a base backup onwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain<P> {
    /// Consecutive segments, the base backup's first one first.
    pub segments: Vec<Planned<P>>,
    /// The first segment that is missing although later WAL exists (a hole in the archive).
    pub gap: Option<SegmentName>,
    /// The timelines followed.
    pub path: Vec<PathStep>,
}

/// Plans the segments to read from `start` (the base backup's start position) on the
/// timeline `path`: for each segment number the newest timeline of the path that has begun
/// by then (PostgreSQL reads a switch segment from the newer timeline's file). Stops at the
/// last available segment, or at the first missing one when something later exists. A
/// `.partial` ends the chain on its timeline unless a later timeline takes over after it.
pub fn plan_chain<P: Clone>(
    start: Lsn,
    seg_size: u64,
    path: &[PathStep],
    available: &BTreeMap<SegmentName, Available<P>>,
) -> Chain<P> {
    let first = start.segno(seg_size);
    let owner = |segno: u64| -> Option<u32> {
        path.iter()
            .rev()
            .find(|step| step.begin.is_none_or(|b| b.segno(seg_size) <= segno))
            .map(|step| step.tli)
    };
    let tlis: Vec<u32> = path.iter().map(|s| s.tli).collect();
    // The last segment number anything on the path has.
    let last = available
        .keys()
        .filter(|name| tlis.contains(&name.tli) && name.segno >= first)
        .filter(|name| owner(name.segno) == Some(name.tli))
        .map(|name| name.segno)
        .max();
    let mut chain = Chain {
        segments: Vec::new(),
        gap: None,
        path: path.to_vec(),
    };
    let Some(last) = last else {
        return chain;
    };
    for segno in first..=last {
        let Some(tli) = owner(segno) else {
            break;
        };
        let name = SegmentName { tli, segno };
        match available.get(&name) {
            Some(a) => {
                chain.segments.push(Planned {
                    name,
                    source: a.source.clone(),
                    is_partial: !a.is_complete,
                });
                if !a.is_complete && segno < last {
                    // The stream of this timeline ended here, yet later segments exist: the
                    // rest of this one is missing.
                    chain.gap = Some(SegmentName { tli, segno });
                    break;
                }
            }
            None => {
                chain.gap = Some(name);
                break;
            }
        }
    }
    chain
}

/// A segment the retention may delete: its number is below `keep_from` (the first segment
/// of the oldest base backup kept).
pub fn is_prunable(file: WalFile, keep_from: u64) -> bool {
    match file {
        WalFile::Segment(s) | WalFile::Partial(s) => s.segno < keep_from,
        WalFile::History(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: u64 = DEFAULT_SEG_SIZE;

    fn seg(tli: u32, segno: u64) -> SegmentName {
        SegmentName { tli, segno }
    }

    #[test]
    fn lsn_round_trip() {
        let l = Lsn::parse("0/3002FB8").unwrap();
        assert_eq!(l.0, 0x3002FB8);
        assert_eq!(l.to_string(), "0/3002FB8");
        assert_eq!(Lsn::parse("1/0").unwrap().0, 1 << 32);
        assert_eq!(Lsn::parse("zz"), None);
        assert_eq!(Lsn::parse("0/3002FB8").unwrap().segno(SEG), 3);
    }

    #[test]
    fn segment_names() {
        let s = SegmentName::parse("000000010000000100000002", SEG).unwrap();
        assert_eq!(s, seg(1, 256 + 2));
        assert_eq!(s.file_name(SEG), "000000010000000100000002");
        assert_eq!(s.start(SEG), Lsn::parse("1/2000000").unwrap());
        // 64 MB segments: 64 per xlogid.
        let big = 64 * 1024 * 1024;
        let s = SegmentName::parse("00000002000000010000003F", big).unwrap();
        assert_eq!(s, seg(2, 64 + 63));
        assert_eq!(s.file_name(big), "00000002000000010000003F");
        assert_eq!(SegmentName::parse("000000010000000100000040", big), None);
        assert_eq!(SegmentName::parse("00000000000000010000000", SEG), None);
        assert_eq!(SegmentName::parse("000000000000000100000002", SEG), None);
    }

    #[test]
    fn classify_files() {
        assert_eq!(
            classify("000000010000000000000003.partial", SEG),
            Some(WalFile::Partial(seg(1, 3)))
        );
        assert_eq!(
            classify("000000010000000000000003", SEG),
            Some(WalFile::Segment(seg(1, 3)))
        );
        assert_eq!(
            classify("0000000A.history", SEG),
            Some(WalFile::History(10))
        );
        assert_eq!(classify("000000010000000000000003.tmp", SEG), None);
        assert_eq!(classify("archive_status", SEG), None);
    }

    #[test]
    fn history_files() {
        let h = parse_history("1\t0/3003378\tbefore 2026-12-06 20:28:12+00\n\n2\t0/5000000\tno recovery target specified\n").unwrap();
        assert_eq!(
            h,
            vec![
                HistoryEntry {
                    tli: 1,
                    switch: Lsn(0x3003378)
                },
                HistoryEntry {
                    tli: 2,
                    switch: Lsn(0x5000000)
                }
            ]
        );
        assert_eq!(parse_history("x y"), None);
    }

    fn avail(files: &[(u32, u64, bool)]) -> BTreeMap<SegmentName, Available<String>> {
        files
            .iter()
            .map(|&(t, n, complete)| {
                (
                    seg(t, n),
                    Available {
                        source: format!("{t}/{n}"),
                        is_complete: complete,
                    },
                )
            })
            .collect()
    }

    fn one(tli: u32) -> Vec<PathStep> {
        vec![PathStep {
            tli,
            begin: None,
            end: None,
        }]
    }

    #[test]
    fn a_complete_chain_ends_in_the_partial() {
        let a = avail(&[(1, 1, true), (1, 2, true), (1, 3, true), (1, 4, false)]);
        let c = plan_chain(Lsn(2 * SEG + 40), SEG, &one(1), &a);
        assert_eq!(c.gap, None);
        let names: Vec<_> = c.segments.iter().map(|p| (p.name, p.is_partial)).collect();
        assert_eq!(
            names,
            vec![(seg(1, 2), false), (seg(1, 3), false), (seg(1, 4), true)]
        );
    }

    #[test]
    fn a_hole_is_named() {
        let a = avail(&[(1, 2, true), (1, 4, true), (1, 5, false)]);
        let c = plan_chain(Lsn(2 * SEG), SEG, &one(1), &a);
        assert_eq!(c.gap, Some(seg(1, 3)));
        assert_eq!(c.segments.len(), 1);
    }

    #[test]
    fn a_partial_followed_by_more_is_a_hole() {
        let a = avail(&[(1, 2, true), (1, 3, false), (1, 4, true)]);
        let c = plan_chain(Lsn(2 * SEG), SEG, &one(1), &a);
        assert_eq!(c.gap, Some(seg(1, 3)));
    }

    #[test]
    fn nothing_after_the_start() {
        let a = avail(&[(1, 1, true)]);
        let c = plan_chain(Lsn(2 * SEG), SEG, &one(1), &a);
        assert!(c.segments.is_empty());
        assert_eq!(c.gap, None);
    }

    #[test]
    fn timeline_switches_are_followed() {
        // TL1 until 0/3003378, then TL2; TL1's own segment 3 is a .partial, and TL1 has an
        // abandoned future (segment 4) that must not be read.
        let mut histories = BTreeMap::new();
        histories.insert(
            2,
            vec![HistoryEntry {
                tli: 1,
                switch: Lsn(0x3003378),
            }],
        );
        assert_eq!(latest_timeline(1, &histories), 2);
        assert_eq!(latest_timeline(2, &histories), 2);
        let path = timeline_path(1, 2, &histories).unwrap();
        assert_eq!(
            path,
            vec![
                PathStep {
                    tli: 1,
                    begin: None,
                    end: Some(Lsn(0x3003378))
                },
                PathStep {
                    tli: 2,
                    begin: Some(Lsn(0x3003378)),
                    end: None
                }
            ]
        );
        assert_eq!(timeline_path(3, 2, &histories), None);
        let a = avail(&[
            (1, 2, true),
            (1, 3, false),
            (1, 4, true),
            (2, 3, true),
            (2, 4, false),
        ]);
        let c = plan_chain(Lsn(2 * SEG), SEG, &path, &a);
        assert_eq!(c.gap, None);
        let names: Vec<_> = c.segments.iter().map(|p| p.name).collect();
        assert_eq!(names, vec![seg(1, 2), seg(2, 3), seg(2, 4)]);
    }

    #[test]
    fn retention() {
        assert!(is_prunable(WalFile::Segment(seg(1, 3)), 4));
        assert!(is_prunable(WalFile::Partial(seg(1, 3)), 4));
        assert!(!is_prunable(WalFile::Segment(seg(1, 4)), 4));
        assert!(!is_prunable(WalFile::History(2), 100));
    }
}
