//! `wms::web::resolve::normalize` and `route`: never panic; an accepted path is clean (one
//! leading `/`, no empty, `.` or `..` segment, no dotfile, no `%`, `\`, NUL or control
//! character) and normalising it again changes nothing; `route` serves only the path asked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wms::web::resolve::{Route, normalize, route};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = normalize(raw) else {
        return;
    };
    assert!(path.starts_with('/'), "{raw:?} -> {path:?}");
    if path != "/" {
        for seg in path[1..].split('/') {
            assert!(!seg.is_empty(), "{raw:?} -> {path:?}: empty segment");
            assert!(!seg.starts_with('.'), "{raw:?} -> {path:?}: dot segment");
        }
    }
    assert!(
        !path
            .chars()
            .any(|c| c == '%' || c == '\\' || c.is_control()),
        "{raw:?} -> {path:?}"
    );
    assert_eq!(
        normalize(&path).as_deref(),
        Ok(path.as_str()),
        "not idempotent"
    );
    let exists = |p: &str| p.len().is_multiple_of(3);
    match route(&path, exists) {
        Route::File(f) => assert_eq!(f, path),
        Route::Fallback | Route::NotFound => {}
    }
});
