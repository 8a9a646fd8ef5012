//! The `.xls` guard: walks a legacy workbook's compound-file structure and BIFF records the
//! way calamine will, and refuses — before calamine runs — anything that would make it
//! allocate or loop without bound. Pure; no I/O.
//!
//! What calamine 0.30 does with an `.xls`, and the check made here first:
//!
//! * compound file (sector size from the header): vectors reserved from header counts, and
//!   sectors fetched by id, growing a buffer to `id × size` → every count is checked against
//!   the file's size, every sector id followed must lie inside the file, every chain must
//!   end (no loops), and the FAT may not list more sectors than the file has;
//! * the `Workbook` stream: read whole, its size taken from the directory → checked;
//! * the workbook globals: the shared-string table is decoded (count checked; each string's
//!   length noted), continuation records are gathered per record (their number bounded: the
//!   reader removes them from the front one by one);
//! * each sheet: a `Vec` reserved from the DIMENSIONS record, then a dense grid over the
//!   cells' bounding box, with every shared-string cell copying its string → the areas (of
//!   DIMENSIONS and of the cells), the cell records and the copied text are summed over
//!   every sheet entry and held to the limits;
//! * formulas (their text can be many times the record's size) and VBA projects are
//!   refused; save such a file as `.xlsx`.

use std::collections::HashSet;

use super::{Limits, Problem, too_large, unreadable};

/// The compound-file signature.
pub const SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

const RESERVED: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// The most DIFAT entries calamine may reserve room for (64 MiB of address space, never
/// touched; usual files ask for 65,535 to a few million).
const MAX_DIFAT_RESERVE: usize = 1 << 24;
/// Continuation records allowed after one record.
const MAX_CONTINUES: usize = 4096;

fn corrupt(what: &str) -> Problem {
    unreadable(format!("the .xls file is damaged ({what})"))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Checks an `.xls` file (see the module doc).
pub fn check(bytes: &[u8], limits: &Limits) -> Result<(), Problem> {
    if bytes.len() > limits.xls_bytes {
        return Err(too_large(format!(
            "at most {} MiB for a legacy .xls file (save it as .xlsx)",
            limits.xls_bytes >> 20
        )));
    }
    let cfb = Cfb::read(bytes)?;
    if cfb.has("_VBA_PROJECT_CUR") {
        return Err(Problem::Refused(
            "Workbooks with macros are not accepted; save the file as .xlsx without macros"
                .to_owned(),
        ));
    }
    let stream = match cfb.stream("Workbook") {
        Some(s) => s?,
        None => match cfb.stream("Book") {
            Some(s) => s?,
            None => return Err(corrupt("no Workbook stream")),
        },
    };
    check_biff(&stream, limits)
}

// ---- the compound file -------------------------------------------------------------------

struct Dir {
    name: String,
    start: u32,
    len: usize,
}

struct Cfb<'a> {
    /// The file after its header: sector `n` is `data[n * size..(n + 1) * size]`.
    data: &'a [u8],
    size: usize,
    fats: Vec<u32>,
    dirs: Vec<Dir>,
    ministream: Vec<u8>,
    mini_fats: Vec<u32>,
}

impl<'a> Cfb<'a> {
    fn read(bytes: &'a [u8]) -> Result<Cfb<'a>, Problem> {
        let header = bytes.get(..512).ok_or_else(|| corrupt("short header"))?;
        let version = u16_at(header, 26).unwrap_or(0);
        let (size, header_len) = match u16_at(header, 30) {
            Some(9) => (512, 512),
            Some(12) => (4096, 4096),
            // calamine refuses other sector sizes itself.
            _ => return Err(corrupt("sector size")),
        };
        let data = bytes
            .get(header_len..)
            .ok_or_else(|| corrupt("short header"))?;
        let sectors = data.len() / size;
        let field = |at| u32_at(header, at).map_or(0, |v| v as usize);
        let (dir_len, fat_len) = (field(40), field(44));
        let dir_start = u32_at(header, 48).unwrap_or(ENDOFCHAIN);
        let mini_fat_start = u32_at(header, 60).unwrap_or(ENDOFCHAIN);
        let mini_fat_len = field(64);
        let difat_start = u32_at(header, 68).unwrap_or(ENDOFCHAIN);
        // calamine reads this count at offset 62 (sic: the high half of the mini FAT start
        // and the low half of its length, 0x0000FFFF in a usual file) and reserves that
        // many entries; untouched, but an impossible reservation aborts the process.
        let difat_reserve = field(62);
        if fat_len > sectors || difat_reserve > MAX_DIFAT_RESERVE {
            return Err(corrupt("sector counts"));
        }
        for len in [dir_len, mini_fat_len] {
            if len.saturating_mul(size) > data.len() {
                return Err(corrupt("sector counts"));
            }
        }
        let mut cfb = Cfb {
            data,
            size,
            fats: Vec::new(),
            dirs: Vec::new(),
            ministream: Vec::new(),
            mini_fats: Vec::new(),
        };

        // The DIFAT: the header's 109 entries, then a chain of DIFAT sectors whose last
        // entry names the next one.
        let mut difat: Vec<u32> = header[76..512]
            .chunks(4)
            .filter_map(|c| u32_at(c, 0))
            .collect();
        let mut seen = HashSet::new();
        let mut id = difat_start;
        while id < RESERVED {
            if !seen.insert(id) {
                return Err(corrupt("a sector chain loops"));
            }
            difat.extend(cfb.sector_words(id)?);
            id = difat.pop().unwrap_or(ENDOFCHAIN);
        }
        let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
        if fat_sectors.len() > sectors {
            return Err(corrupt("more FAT sectors than the file has"));
        }
        let mut fats = Vec::with_capacity(fat_sectors.len() * size / 4);
        for id in fat_sectors {
            fats.extend(cfb.sector_words(id)?);
        }
        cfb.fats = fats;

        let dirs = cfb.chain(dir_start, dir_len * size, false)?;
        cfb.dirs = dirs
            .chunks(128)
            .filter(|c| c.len() == 128)
            .map(|c| Dir::parse(c, size))
            .collect();
        let Some(root) = cfb.dirs.first() else {
            return Err(corrupt("empty root directory"));
        };
        if version != 3 && root.start == ENDOFCHAIN {
            return Err(corrupt("empty root directory"));
        }
        if mini_fat_len > 0 {
            let (start, len) = (root.start, root.len);
            if len > data.len() {
                return Err(corrupt("mini stream size"));
            }
            cfb.ministream = cfb.chain(start, len, false)?;
            let minifat = cfb.chain(mini_fat_start, mini_fat_len * size, false)?;
            cfb.mini_fats = minifat.chunks(4).filter_map(|c| u32_at(c, 0)).collect();
        }
        Ok(cfb)
    }

    /// The words of sector `id`, which must lie inside the file.
    fn sector_words(&self, id: u32) -> Result<impl Iterator<Item = u32> + '_, Problem> {
        let sector = self.sector(id, false)?;
        Ok(sector.chunks(4).filter_map(|c| u32_at(c, 0)))
    }

    /// Sector `id` of the file (or of the mini stream: 64-byte sectors).
    fn sector(&self, id: u32, mini: bool) -> Result<&[u8], Problem> {
        let (data, size) = if mini {
            (&self.ministream[..], 64)
        } else {
            (self.data, self.size)
        };
        let start = (id as usize)
            .checked_mul(size)
            .ok_or_else(|| corrupt("sector id"))?;
        data.get(start..start + size)
            .ok_or_else(|| corrupt("a sector outside the file"))
    }

    /// The bytes of the chain starting at `start` (truncated to `len` when `len > 0`, as
    /// calamine does); every id inside the file, no loops.
    fn chain(&self, start: u32, len: usize, mini: bool) -> Result<Vec<u8>, Problem> {
        let fats = if mini { &self.mini_fats } else { &self.fats };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut id = start;
        while id != ENDOFCHAIN {
            if !seen.insert(id) {
                return Err(corrupt("a sector chain loops"));
            }
            out.extend_from_slice(self.sector(id, mini)?);
            id = *fats
                .get(id as usize)
                .ok_or_else(|| corrupt("a sector outside the table"))?;
        }
        if len > 0 {
            out.truncate(len);
        }
        Ok(out)
    }

    fn has(&self, name: &str) -> bool {
        self.dirs.iter().any(|d| d.name == name)
    }

    /// A stream by name (the first directory entry with it).
    fn stream(&self, name: &str) -> Option<Result<Vec<u8>, Problem>> {
        let d = self.dirs.iter().find(|d| d.name == name)?;
        Some(if d.len > self.data.len() {
            Err(corrupt("stream size"))
        } else {
            self.chain(d.start, d.len, d.len < 4096)
        })
    }
}

impl Dir {
    fn parse(entry: &[u8], sector_size: usize) -> Dir {
        let units: Vec<u16> = entry[..64].chunks(2).filter_map(|c| u16_at(c, 0)).collect();
        let mut name = String::from_utf16_lossy(&units);
        if let Some(nul) = name.find('\0') {
            name.truncate(nul);
        }
        let start = u32_at(entry, 116).unwrap_or(ENDOFCHAIN);
        let len = if sector_size == 512 {
            u32_at(entry, 120).map_or(0, |v| v as usize)
        } else {
            u64_at(entry, 120).map_or(usize::MAX, |v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        Dir { name, start, len }
    }
}

// ---- BIFF records ------------------------------------------------------------------------

/// A record and its continuation records.
struct Record<'a> {
    typ: u16,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
}

/// Records from `stream`, as calamine splits them (continuations folded in).
fn records(stream: &[u8]) -> impl Iterator<Item = Result<Record<'_>, Problem>> {
    let mut rest = stream;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return (!rest.is_empty()).then(|| Err(corrupt("a truncated record")));
        }
        let typ = u16_at(rest, 0)?;
        let len = usize::from(u16_at(rest, 2)?);
        let Some(data) = rest.get(4..4 + len) else {
            return Some(Err(corrupt("a truncated record")));
        };
        rest = &rest[4 + len..];
        let mut cont = Vec::new();
        while rest.len() > 4 && u16_at(rest, 0) == Some(0x003C) {
            let len = usize::from(u16_at(rest, 2).unwrap_or(0));
            let Some(chunk) = rest.get(4..4 + len) else {
                return Some(Err(corrupt("a truncated record")));
            };
            if cont.len() == MAX_CONTINUES {
                return Some(Err(corrupt("too many continuation records")));
            }
            cont.push(chunk);
            rest = &rest[4 + len..];
        }
        Some(Ok(Record { typ, data, cont }))
    })
}

/// A reader over a record's data and its continuations (calamine's `Record`).
struct Cursor<'a> {
    data: &'a [u8],
    cont: std::vec::IntoIter<&'a [u8]>,
}

impl<'a> Cursor<'a> {
    fn next_chunk(&mut self) -> bool {
        match self.cont.next() {
            Some(chunk) => {
                self.data = chunk;
                true
            }
            None => false,
        }
    }

    fn skip(&mut self, mut len: usize) -> Result<(), Problem> {
        while len > 0 {
            if self.data.is_empty() && !self.next_chunk() {
                return Err(corrupt("a string runs past its record"));
            }
            let n = len.min(self.data.len());
            self.data = &self.data[n..];
            len -= n;
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Problem> {
        let (head, rest) = self
            .data
            .split_at_checked(n)
            .ok_or_else(|| corrupt("a short field"))?;
        self.data = rest;
        Ok(head)
    }
}

/// The UTF-8 length bound (3 bytes per character) of every string of an SST record.
fn shared_string_bounds(r: Record<'_>, limits: &Limits) -> Result<Vec<u64>, Problem> {
    let data = r
        .data
        .get(8..)
        .ok_or_else(|| corrupt("a short string table"))?;
    let mut c = Cursor {
        data,
        cont: r.cont.into_iter(),
    };
    let mut out = Vec::new();
    while !c.data.is_empty() || c.next_chunk() {
        if out.len() as u64 == limits.shared_strings {
            return Err(too_large(format!(
                "at most {} shared strings",
                limits.shared_strings
            )));
        }
        let head = c.take(3)?;
        let cch = usize::from(u16_at(head, 0).unwrap_or(0));
        let flags = head[2];
        let mut high = flags & 1 != 0;
        let runs = if flags & 0x8 != 0 {
            usize::from(u16_at(c.take(2)?, 0).unwrap_or(0))
        } else {
            0
        };
        let ext = if flags & 0x4 != 0 {
            // calamine reads it as i32 and casts: a negative length skips "forever" (and
            // fails at the end of the record), as here.
            u32_at(c.take(4)?, 0).map_or(0, |v| v as i32 as usize)
        } else {
            0
        };
        let mut left = cch;
        while left > 0 {
            let available = if high { c.data.len() / 2 } else { c.data.len() };
            let n = available.min(left);
            c.data = &c.data[if high { 2 * n } else { n }..];
            left -= n;
            if left > 0 {
                if !c.next_chunk() {
                    return Err(corrupt("a string runs past its record"));
                }
                high = c.take(1)?[0] & 1 != 0;
            }
        }
        c.skip(runs * 4)?;
        c.skip(ext)?;
        out.push(cch as u64 * 3);
    }
    Ok(out)
}

/// Bounding box of the cells of one sheet.
#[derive(Default)]
struct Area {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl Area {
    fn add(&mut self, row: u32, col: u32) {
        let widen = |r: &mut Option<(u32, u32)>, v: u32| {
            *r = Some(match *r {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            });
        };
        widen(&mut self.rows, row);
        widen(&mut self.cols, col);
    }

    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => {
                (u64::from(r1 - r0) + 1).saturating_mul(u64::from(c1 - c0) + 1)
            }
            _ => 0,
        }
    }
}

/// What calamine would build, summed over every sheet entry.
struct Totals<'a> {
    limits: &'a Limits,
    area: u64,
    records: u64,
    text: u64,
}

impl Totals<'_> {
    fn add_area(&mut self, cells: u64) -> Result<(), Problem> {
        self.area = self.area.saturating_add(cells);
        if self.area > self.limits.xls_area {
            return Err(too_large(format!(
                "at most {} cells spanned by the sheets of a legacy .xls file (save it as .xlsx)",
                self.limits.xls_area
            )));
        }
        Ok(())
    }

    fn add_records(&mut self, n: u64) -> Result<(), Problem> {
        self.records += n;
        if self.records > self.limits.xls_area {
            return Err(too_large(format!(
                "at most {} cells in a legacy .xls file",
                self.limits.xls_area
            )));
        }
        Ok(())
    }

    fn add_text(&mut self, bytes: u64) -> Result<(), Problem> {
        self.text += bytes;
        if self.text > self.limits.xls_text_bytes {
            return Err(too_large(format!(
                "at most {} MiB of cell text in a legacy .xls file",
                self.limits.xls_text_bytes >> 20
            )));
        }
        Ok(())
    }
}

/// Checks the workbook globals, then every sheet entry.
fn check_biff(stream: &[u8], limits: &Limits) -> Result<(), Problem> {
    let mut sheets = Vec::new();
    let mut strings = Vec::new();
    for record in records(stream) {
        let r = record?;
        match r.typ {
            0x0085 => {
                let pos = u32_at(r.data, 0).ok_or_else(|| corrupt("a sheet entry"))?;
                sheets.push(pos as usize);
                if sheets.len() > limits.sheets {
                    return Err(too_large(format!("at most {} sheets", limits.sheets)));
                }
            }
            0x00FC => strings = shared_string_bounds(r, limits)?,
            0x000A => break,
            _ => {}
        }
    }
    let mut totals = Totals {
        limits,
        area: 0,
        records: 0,
        text: 0,
    };
    for pos in sheets {
        let sheet = stream
            .get(pos..)
            .ok_or_else(|| corrupt("a sheet outside the stream"))?;
        let mut area = Area::default();
        for record in records(sheet) {
            let r = record?;
            let d = r.data;
            let at = |i| u16_at(d, i).map(u32::from);
            match r.typ {
                0x000A => break,
                0x0006 => {
                    return Err(Problem::Refused(
                        "Legacy .xls files with formulas are not accepted; save the file as .xlsx"
                            .to_owned(),
                    ));
                }
                // A reservation (untouched memory), but one that must be possible: held to
                // the same limit on its own.
                0x0200 if dimensions_area(d)? > limits.xls_area => {
                    return Err(too_large(format!(
                        "at most {} cells spanned by a sheet of a legacy .xls file (its \
                         DIMENSIONS record claims more; save it as .xlsx)",
                        limits.xls_area
                    )));
                }
                0x0203 | 0x0204 | 0x0205 | 0x027E | 0x0207 => {
                    // 0x0207 (a formula's string) would land on the last formula's cell;
                    // formulas are refused, so it is the first cell.
                    let (row, col) = if r.typ == 0x0207 {
                        (0, 0)
                    } else {
                        (at(0), at(2))
                            .zip_both()
                            .ok_or_else(|| corrupt("a short cell"))?
                    };
                    if r.typ == 0x0204 || r.typ == 0x0207 {
                        totals.add_text(d.len() as u64 * 3)?;
                    }
                    totals.add_records(1)?;
                    area.add(row, col);
                }
                0x00FD => {
                    let (row, col) = (at(0), at(2))
                        .zip_both()
                        .ok_or_else(|| corrupt("a short cell"))?;
                    let index = u32_at(d, 6).ok_or_else(|| corrupt("a short cell"))?;
                    // Empty or unknown strings make no cell.
                    if let Some(&bytes) = strings.get(index as usize) {
                        if bytes > 0 {
                            totals.add_text(bytes)?;
                            totals.add_records(1)?;
                            area.add(row, col);
                        }
                    }
                }
                0x00BD => {
                    let (row, first) = (at(0), at(2))
                        .zip_both()
                        .ok_or_else(|| corrupt("a short cell"))?;
                    let last = d
                        .len()
                        .checked_sub(2)
                        .and_then(|i| u16_at(d, i))
                        .map(u32::from)
                        .ok_or_else(|| corrupt("a short cell"))?;
                    if last < first || d.len() != 6 + 6 * (last - first + 1) as usize {
                        return Err(corrupt("a multiple-number record"));
                    }
                    totals.add_records(u64::from(last - first + 1))?;
                    area.add(row, first);
                    area.add(row, last);
                }
                _ => {}
            }
        }
        totals.add_area(area.cells())?;
    }
    Ok(())
}

/// The cells calamine reserves for a DIMENSIONS record (with its u32 wrap-around).
fn dimensions_area(d: &[u8]) -> Result<u64, Problem> {
    let (rf, rl, mut cf, cl) = match d.len() {
        10 => (
            u32::from(u16_at(d, 0).unwrap_or(0)),
            u32::from(u16_at(d, 2).unwrap_or(0)),
            u32::from(u16_at(d, 4).unwrap_or(0)),
            u32::from(u16_at(d, 6).unwrap_or(0)),
        ),
        14 => (
            u32_at(d, 0).unwrap_or(0),
            u32_at(d, 4).unwrap_or(0),
            u32::from(u16_at(d, 8).unwrap_or(0)),
            u32::from(u16_at(d, 10).unwrap_or(0)),
        ),
        _ => return Err(corrupt("a DIMENSIONS record")),
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    let ((r0, c0), (r1, c1)) = if rl >= 1 && cl >= 1 {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let rows = r1.wrapping_sub(r0).wrapping_add(1) as u64;
    let cols = c1.wrapping_sub(c0).wrapping_add(1) as u64;
    Ok(rows.saturating_mul(cols))
}

/// `(Some(a), Some(b))` → `Some((a, b))`.
trait ZipBoth<T> {
    fn zip_both(self) -> Option<(T, T)>;
}

impl<T> ZipBoth<T> for (Option<T>, Option<T>) {
    fn zip_both(self) -> Option<(T, T)> {
        self.0.zip(self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::workbook::LIMITS;

    #[test]
    fn dimensions_wrap_like_calamine() {
        let mut d = Vec::new();
        for v in [0u32, 65_536] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&256u16.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        assert_eq!(dimensions_area(&d), Ok(65_536 * 256));
        // First row after the last: u32 wrap-around, i.e. billions of rows.
        let mut d = Vec::new();
        for v in [10u32, 5] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
        assert!(dimensions_area(&d).unwrap() > 4_000_000_000);
    }

    #[test]
    fn garbage_and_tiny_files_are_unreadable_not_fatal() {
        for bytes in [
            SIGNATURE.to_vec(),
            [SIGNATURE, &[0u8; 600]].concat(),
            [SIGNATURE, &[0xffu8; 4000]].concat(),
        ] {
            assert!(matches!(
                check(&bytes, &LIMITS),
                Err(Problem::Unreadable(_))
            ));
        }
    }

    #[test]
    fn shared_strings_are_walked_across_continuations() {
        // Two strings: "ab" (8-bit), then 3 UTF-16 characters split over a continuation.
        let mut data = vec![0u8; 8];
        data.extend_from_slice(&[2, 0, 0, b'a', b'b']);
        data.extend_from_slice(&[3, 0, 1, b'x', 0]);
        let cont: &[u8] = &[1, b'y', 0, b'z', 0];
        let r = Record {
            typ: 0x00FC,
            data: &data,
            cont: vec![cont],
        };
        assert_eq!(shared_string_bounds(r, &LIMITS), Ok(vec![6, 9]));
    }
}
