//! Manual stops remembered across supervisor restarts (`unless-stopped`).
//!
//! After every `wms ctl start/stop/restart` the runtime writes the engine's
//! `remembered_stops()` to `STATE_DIR/stopped.json` (write to a temporary file, then
//! rename, so a crash never leaves half a file). At start-up it is read back. A missing
//! file means nothing was stopped; an unreadable one is reported and ignored.

use std::path::{Path, PathBuf};

use super::plan::ServiceName;

const FILE: &str = "stopped.json";

fn file(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

/// Reads the remembered stops. Names that are not valid service names are skipped.
pub fn load(state_dir: &Path) -> Vec<ServiceName> {
    let path = file(state_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(
                "cannot read {}: {e}; starting every service",
                path.display()
            );
            return Vec::new();
        }
    };
    match serde_json::from_str::<Vec<String>>(&text) {
        Ok(names) => names
            .iter()
            .filter_map(|n| ServiceName::parse(n).ok())
            .collect(),
        Err(e) => {
            tracing::warn!(
                "{} is not a JSON list of names ({e}); ignoring it",
                path.display()
            );
            Vec::new()
        }
    }
}

/// Writes the remembered stops atomically.
pub fn save(state_dir: &Path, stopped: &[ServiceName]) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let names: Vec<&str> = stopped.iter().map(ServiceName::as_str).collect();
    let tmp = state_dir.join(format!("{FILE}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()),
    )?;
    std::fs::rename(&tmp, file(state_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("state");
        assert!(load(&d).is_empty());
        let names = vec![
            ServiceName::parse("backend").unwrap(),
            ServiceName::parse("web").unwrap(),
        ];
        save(&d, &names).unwrap();
        assert_eq!(load(&d), names);
        std::fs::write(d.join(FILE), "not json").unwrap();
        assert!(load(&d).is_empty());
        std::fs::write(d.join(FILE), r#"["ok", "bad name"]"#).unwrap();
        assert_eq!(load(&d), [ServiceName::parse("ok").unwrap()]);
    }
}
