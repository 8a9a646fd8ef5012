//! `wms::supervisor::config::parse` on arbitrary text: never panics; errors render with a
//! position inside the text; a valid plan renders too.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wms::supervisor::config::{Host, parse};
use wms::supervisor::plan::Credentials;

/// A host with a user for every plain name and one env file.
struct FakeHost;

impl Host for FakeHost {
    fn user(&self, name: &str) -> Result<Option<Credentials>, String> {
        if name == "error" {
            return Err("passwd database unavailable".into());
        }
        Ok(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
            .then(|| Credentials {
                name: name.into(),
                uid: 1000,
                gid: 1000,
                groups: vec![1000],
                home: "/home/u".into(),
            }))
    }
    fn group(&self, name: &str) -> Result<Option<u32>, String> {
        Ok(name.parse().ok().or((name == "staff").then_some(50)))
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.ends_with("app.env") {
            Ok("A=1\nexport B='two words'\n# c\nC=\"${A}\"\n".into())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        "EMPTY" => Some(String::new()),
        "PORT" => Some("8080".into()),
        "NESTED" => Some("${PORT}".into()),
        _ if name.len() == 1 => Some(format!("value-of-{name}")),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(Path::new("/etc/wms/config.toml"), text, &env, &FakeHost) {
        Ok(plan) => {
            let _ = format!("{plan:?}");
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error without a problem");
            let _ = e.to_string();
        }
    }
});
