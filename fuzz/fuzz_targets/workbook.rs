//! The Excel import's reader (`parse_workbook`: format by content, the limit checks of
//! `workbook`, then calamine and row validation), with the limits `POST /api/import/excel`
//! uses. Never panics and stays within libFuzzer's memory limit whatever the bytes; a
//! refusal names a limit; accepted rows never outnumber the row limit.
//!
//! `parse_workbook` catches a panic of the reader itself (calamine 0.30 indexes out of
//! bounds on some malformed files) and calls the file unreadable. libFuzzer's panic hook
//! aborts at any panic, caught or not, so this target lets panics raised inside calamine
//! unwind to that catch; every other panic still aborts and is a crash.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use wms::backend::import::parse_workbook;
use wms::backend::workbook::{LIMITS, Problem};

/// Wraps libFuzzer's hook (set before the first input): panics located in calamine's
/// source unwind; the rest go to libFuzzer's hook, which aborts.
fn let_reader_panics_unwind() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_reader = info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"));
            if !in_reader {
                abort(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_reader_panics_unwind();
    match parse_workbook(data.to_vec(), &LIMITS) {
        Ok(sheet) => {
            assert!(sheet.rows.len() < LIMITS.rows as usize, "more rows than the limit");
            assert!(
                sheet.total_rows >= sheet.rows.len(),
                "{} rows counted, {} kept",
                sheet.total_rows,
                sheet.rows.len()
            );
        }
        Err(Problem::TooLarge(why) | Problem::Refused(why) | Problem::Unreadable(why)) => {
            assert!(!why.trim().is_empty(), "a refusal that does not say why");
        }
    }
});
