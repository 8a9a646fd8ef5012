//! `wms::supervisor::config::parse_env_file`: never panics; an error names a line that
//! exists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wms::supervisor::config::parse_env_file;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_env_file(text) {
        Ok(pairs) => {
            for (k, _) in pairs {
                assert!(!k.is_empty(), "an empty key was accepted");
            }
        }
        Err((line, _)) => assert!(line >= 1 && line <= text.lines().count().max(1)),
    }
});
