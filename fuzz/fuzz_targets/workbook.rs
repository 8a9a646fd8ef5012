//! The Excel import's reader (`parse_workbook`: format by content, the limit checks of
//! `workbook`, then calamine and row validation), with the limits `POST /api/import/excel`
//! uses. Never panics and stays within libFuzzer's memory limit whatever the bytes; a
//! refusal names a limit; accepted rows never outnumber the row limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wms::backend::import::parse_workbook;
use wms::backend::workbook::{LIMITS, Problem};

fuzz_target!(|data: &[u8]| {
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
