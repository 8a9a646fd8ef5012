//! The bounded workbook reader: an uploaded `.xlsx` or `.xls` is checked against [`Limits`]
//! before the spreadsheet library (calamine) allocates anything in proportion to what the
//! file claims, and the sheet is then read cell by cell, never as a dense grid. Pure: bytes
//! in, cells out; no I/O. The import ([`super::import`]) decides what the cells mean.
//!
//! Why: calamine allocates a dense grid from a sheet's far cells (a 4.9 KB `.xlsx` with one
//! cell at `XFD1048576` asks for ~1.7·10¹⁰ cells and aborts the process), trusts sizes and
//! counts written in a file's headers, and keeps every decompressed part it reads in memory.
//!
//! * `.xlsx` (zip): the end-of-central-directory records are read first (entry count); then
//!   every entry is decompressed once into nothing, counting bytes (per part, in total, and
//!   against its compressed size: zip bombs); `xl/sharedStrings.xml` is counted item by
//!   item. Only then does calamine open the workbook (it keeps shared strings and styles in
//!   memory, now bounded), and the sheet is streamed with its cell reader, each cell
//!   checked against the row, column and cell limits as it arrives.
//! * `.xls` (OLE compound file, BIFF): calamine reads every sheet into dense grids at open,
//!   after reserving what the file's DIMENSIONS records claim and following sector chains
//!   the file describes. [`xls::check`] walks the same structures first (sector chains
//!   bounded and acyclic, stream sizes, sheet areas, shared-string text a cell would copy)
//!   and refuses what would not fit; macros and formulas are refused outright.
//!
//! A file over a limit is a [`Problem::TooLarge`] naming the limit (413); a file that cannot
//! be read is [`Problem::Unreadable`] (a row error, as before).

pub mod xls;

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xls, Xlsx};
use quick_xml::events::Event;
use zip::ZipArchive;

/// What a workbook may hold. The defaults ([`LIMITS`]) keep any accepted file's extra
/// memory under 64 MiB (measured by `bench/import_memory.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sheets in the workbook.
    pub sheets: usize,
    /// Rows of the imported sheet: the highest row number used (header included).
    pub rows: u32,
    /// Columns of the imported sheet: the highest column number used (256 = `IV`).
    pub columns: u32,
    /// Cells written in the imported sheet (empty ones included).
    pub cells: u64,
    /// Items of `xl/sharedStrings.xml`.
    pub shared_strings: u64,
    /// Decompressed bytes of `xl/sharedStrings.xml` (calamine keeps the whole table).
    pub shared_strings_bytes: u64,
    /// Bytes of one piece of text or one tag in a worksheet or the shared strings (the XML
    /// reader buffers each whole; Excel's own limit for a cell is 32,767 characters).
    pub run_bytes: u64,
    /// Entries of the zip archive.
    pub entries: usize,
    /// Decompressed bytes of each other part calamine reads whole into memory (styles, the
    /// workbook, relationships); images and other parts it never opens are only counted.
    pub part_bytes: u64,
    /// Decompressed bytes of all parts together.
    pub uncompressed_bytes: u64,
    /// Decompressed ÷ compressed size of a part larger than [`RATIO_FLOOR`].
    pub ratio: u64,
    /// Size of an `.xls` file.
    pub xls_bytes: usize,
    /// Cells an `.xls` file's sheets span (rows × columns of each sheet's used area,
    /// summed over sheets): calamine builds a dense grid of this many cells.
    pub xls_area: u64,
    /// Bytes of text an `.xls` file's cells copy out of its shared-string table.
    pub xls_text_bytes: u64,
}

/// The limits of `POST /api/import/excel`.
pub const LIMITS: Limits = Limits {
    sheets: 64,
    rows: 30_000,
    columns: 256,
    cells: 1_000_000,
    shared_strings: 120_000,
    shared_strings_bytes: 8 << 20,
    run_bytes: 128 << 10,
    entries: 1_000,
    part_bytes: 2 << 20,
    uncompressed_bytes: 256 << 20,
    ratio: 100,
    xls_bytes: 4 << 20,
    xls_area: 250_000,
    xls_text_bytes: 8 << 20,
};

/// Parts smaller than this are not held to the compression ratio (small XML parts compress
/// very well and cannot hurt).
pub const RATIO_FLOOR: u64 = 1 << 20;

/// Why a workbook is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Over a limit; the message names it.
    TooLarge(String),
    /// A kind of content that is not accepted (macros, legacy formulas); the message says
    /// what to do instead.
    Refused(String),
    /// Not a workbook that can be read (the message says why).
    Unreadable(String),
}

fn too_large(what: impl Into<String>) -> Problem {
    Problem::TooLarge(what.into())
}

fn unreadable(what: impl std::fmt::Display) -> Problem {
    Problem::Unreadable(what.to_string())
}

/// A workbook whose size checks passed, ready to be read sheet by sheet.
pub enum Workbook<'a> {
    Xlsx(Box<Xlsx<Cursor<&'a [u8]>>>),
    Xls(Box<Xls<Cursor<&'a [u8]>>>),
}

/// Kind by content: zip → xlsx, OLE → xls.
pub fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Workbook<'a>, Problem> {
    if bytes.starts_with(xls::SIGNATURE) {
        xls::check(bytes, limits)?;
        let wb = Xls::new(Cursor::new(bytes)).map_err(unreadable)?;
        Ok(Workbook::Xls(Box::new(wb)))
    } else if bytes.starts_with(b"PK") {
        check_zip(bytes, limits)?;
        let wb = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
        if wb.sheet_names().len() > limits.sheets {
            return Err(too_large(format!(
                "at most {} sheets (the workbook has {})",
                limits.sheets,
                wb.sheet_names().len()
            )));
        }
        Ok(Workbook::Xlsx(Box::new(wb)))
    } else {
        Err(unreadable("File is not a zip file"))
    }
}

impl Workbook<'_> {
    /// True if the workbook has a sheet called `name`.
    pub fn has_sheet(&self, name: &str) -> bool {
        let names = match self {
            Workbook::Xlsx(wb) => wb.sheet_names(),
            Workbook::Xls(wb) => wb.sheet_names(),
        };
        names.iter().any(|n| n == name)
    }

    /// Calls `visit(row, column, value)` for every cell of sheet `name` (0-based positions,
    /// file order), refusing the sheet at the first cell past a limit. May be called again
    /// for another pass.
    pub fn cells(
        &mut self,
        name: &str,
        limits: &Limits,
        mut visit: impl FnMut(u32, u32, &Data),
    ) -> Result<(), Problem> {
        let mut counter = CellCounter::new(limits);
        match self {
            Workbook::Xlsx(wb) => {
                let mut reader = wb.worksheet_cells_reader(name).map_err(unreadable)?;
                while let Some(cell) = reader.next_cell().map_err(unreadable)? {
                    let (row, col) = cell.get_position();
                    counter.admit(row, col)?;
                    visit(row, col, &Data::from(cell.get_value().clone()));
                }
            }
            Workbook::Xls(wb) => {
                let range = wb.worksheet_range(name).map_err(unreadable)?;
                for (row, col, value) in range.used_cells() {
                    let (row, col) = (row as u32, col as u32);
                    let (row, col) = match range.start() {
                        Some((r0, c0)) => (row + r0, col + c0),
                        None => (row, col),
                    };
                    counter.admit(row, col)?;
                    visit(row, col, value);
                }
            }
        }
        Ok(())
    }
}

/// The row, column and cell limits of one pass over a sheet.
struct CellCounter<'a> {
    limits: &'a Limits,
    cells: u64,
}

impl<'a> CellCounter<'a> {
    fn new(limits: &'a Limits) -> Self {
        CellCounter { limits, cells: 0 }
    }

    fn admit(&mut self, row: u32, col: u32) -> Result<(), Problem> {
        self.cells += 1;
        if row >= self.limits.rows {
            return Err(too_large(format!(
                "at most {} rows (the sheet uses row {})",
                self.limits.rows,
                u64::from(row) + 1
            )));
        }
        if col >= self.limits.columns {
            return Err(too_large(format!(
                "at most {} columns (the sheet uses column {})",
                self.limits.columns,
                column_name(col)
            )));
        }
        if self.cells > self.limits.cells {
            return Err(too_large(format!(
                "at most {} cells in the sheet",
                self.limits.cells
            )));
        }
        Ok(())
    }
}

/// `A`, `Z`, `AA`, ... `XFD` for 0-based column numbers.
pub fn column_name(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

// ---- .xlsx: the zip container ------------------------------------------------------------

/// Checks the archive's declared entry count, then every entry's decompressed size, then
/// the shared strings' count.
fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), Problem> {
    check_entry_counts(bytes, limits)?;
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    if archive.len() > limits.entries {
        return Err(too_large(format!(
            "at most {} parts in the file (it has {})",
            limits.entries,
            archive.len()
        )));
    }
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(unreadable)?;
        let name = part.name().to_owned();
        let compressed = part.compressed_size().max(1);
        let is_sheet = name.starts_with("xl/worksheets/");
        let is_strings = name == "xl/sharedStrings.xml";
        // Parts calamine reads whole into memory; others (images, themes) it never opens.
        let is_read_whole =
            name == "xl/styles.xml" || name == "xl/workbook.xml" || name.ends_with(".rels");
        let cap = if is_strings {
            limits.shared_strings_bytes
        } else if is_read_whole {
            limits.part_bytes
        } else {
            limits.uncompressed_bytes
        };
        let mut size = 0u64;
        let mut run = RunMeter::default();
        loop {
            let n = part.read(&mut buf).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            if (is_sheet || is_strings) && run.longest_after(&buf[..n]) > limits.run_bytes {
                return Err(too_large(format!(
                    "at most {} KiB in one cell or tag ({name} has more)",
                    limits.run_bytes >> 10
                )));
            }
            let n = n as u64;
            size += n;
            total += n;
            if size > cap {
                return Err(too_large(format!(
                    "at most {} MiB uncompressed for {name}",
                    cap >> 20
                )));
            }
            if total > limits.uncompressed_bytes {
                return Err(too_large(format!(
                    "at most {} MiB uncompressed in all",
                    limits.uncompressed_bytes >> 20
                )));
            }
            if size > RATIO_FLOOR && size / compressed > limits.ratio {
                return Err(too_large(format!(
                    "a compression ratio of at most {}:1 ({name} expands more: a zip bomb?)",
                    limits.ratio
                )));
            }
        }
    }
    count_shared_strings(&mut archive, limits)
}

/// The longest stretch of XML between two `<`/`>` seen so far, over consecutive chunks.
#[derive(Default)]
struct RunMeter {
    current: u64,
    longest: u64,
}

impl RunMeter {
    fn longest_after(&mut self, chunk: &[u8]) -> u64 {
        let mut rest = chunk;
        while let Some(i) = memchr::memchr2(b'<', b'>', rest) {
            self.longest = self.longest.max(self.current + i as u64);
            self.current = 0;
            rest = &rest[i + 1..];
        }
        self.current += rest.len() as u64;
        self.longest = self.longest.max(self.current);
        self.longest
    }
}

/// End-of-central-directory records (all candidates in the file's tail, zip64 included):
/// the zip reader trusts their entry counts, so they are checked first.
fn check_entry_counts(bytes: &[u8], limits: &Limits) -> Result<(), Problem> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const LOCATOR: &[u8] = b"PK\x06\x07";
    const EOCD64: &[u8] = b"PK\x06\x06";
    let u16_at = |p: usize| {
        bytes
            .get(p..p + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |p: usize| {
        bytes
            .get(p..p + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let tail = bytes.len().saturating_sub(22 + 65_535);
    let too_many = |n: u64| {
        too_large(format!(
            "at most {} parts in the file (it declares {n})",
            limits.entries
        ))
    };
    for pos in (tail..bytes.len().saturating_sub(21)).rev() {
        if &bytes[pos..pos + 4] != EOCD {
            continue;
        }
        let mut declared = u64::from(u16_at(pos + 10).unwrap_or(0));
        // A zip64 locator right before it points at the zip64 record with a 64-bit count,
        // which the reader prefers.
        if pos >= 20 && &bytes[pos - 20..pos - 16] == LOCATOR {
            let zip64 = u64_at(pos - 12)
                .and_then(|v| usize::try_from(v).ok())
                .filter(|at| bytes.get(*at..at.saturating_add(4)) == Some(EOCD64))
                .map(|at| u64_at(at + 32).unwrap_or(u64::MAX));
            if let Some(n) = zip64 {
                declared = declared.max(n);
            }
        }
        if declared > limits.entries as u64 {
            return Err(too_many(declared));
        }
    }
    Ok(())
}

/// Counts the items of `xl/sharedStrings.xml` (calamine keeps each one as a `String`).
fn count_shared_strings(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    limits: &Limits,
) -> Result<(), Problem> {
    let part = match archive.by_name("xl/sharedStrings.xml") {
        Ok(p) => p,
        Err(zip::result::ZipError::FileNotFound) => return Ok(()),
        Err(e) => return Err(unreadable(e)),
    };
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(part));
    let mut buf = Vec::new();
    let mut count = 0u64;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == b"si" => {
                count += 1;
                if count > limits.shared_strings {
                    return Err(too_large(format!(
                        "at most {} shared strings",
                        limits.shared_strings
                    )));
                }
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            // Malformed XML: calamine will say so when it reads the part.
            Err(_) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(255), "IV");
        assert_eq!(column_name(16383), "XFD");
    }

    #[test]
    fn declared_entry_counts_are_checked_before_the_archive_is_read() {
        // An end-of-central-directory record declaring 65,000 entries.
        let mut bytes = b"PK\x03\x04 not really a zip ".to_vec();
        bytes.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        bytes.extend_from_slice(&65_000u16.to_le_bytes());
        bytes.extend_from_slice(&65_000u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 10]);
        let Err(Problem::TooLarge(m)) = check_entry_counts(&bytes, &LIMITS) else {
            panic!("not refused");
        };
        assert!(m.contains("at most 1000 parts"), "{m}");
    }

    #[test]
    fn cells_past_a_limit_are_refused_as_they_arrive() {
        let limits = Limits {
            rows: 10,
            columns: 3,
            cells: 4,
            ..LIMITS
        };
        let mut c = CellCounter::new(&limits);
        assert!(c.admit(9, 2).is_ok());
        assert_eq!(
            c.admit(10, 0),
            Err(too_large("at most 10 rows (the sheet uses row 11)"))
        );
        assert_eq!(
            c.admit(0, 16383),
            Err(too_large("at most 3 columns (the sheet uses column XFD)"))
        );
        assert!(c.admit(0, 0).is_ok());
        assert_eq!(
            c.admit(0, 0),
            Err(too_large("at most 4 cells in the sheet"))
        );
    }
}
