//! `wms::supervisor::interpolate::interpolate`: never panics; text without `$` is returned
//! unchanged; `$$` is a literal `$`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wms::supervisor::interpolate::interpolate;

fn env(name: &str) -> Option<String> {
    match name.len() {
        0 => None,
        1 => Some(String::new()),
        2 => Some(format!("<{name}>")),
        // A value that looks like a reference: it must be inserted, not expanded again.
        3 => Some("${A}".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let out = interpolate(text, &env);
    if !text.contains('$') {
        assert_eq!(out.as_deref(), Ok(text), "text without $ changed");
    }
    if let Ok(once) = &out {
        // Escaping every '$' and expanding gives the text back.
        let escaped = once.replace('$', "$$");
        assert_eq!(interpolate(&escaped, &env).as_deref(), Ok(once.as_str()));
    }
});
