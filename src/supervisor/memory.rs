//! What the supervisor remembers across its own restarts, in `state_dir`:
//!
//! * `stopped.json`: services stopped with `wms ctl stop` whose policy remembers it
//!   (`unless-stopped`), as a list of names;
//! * `runs.json`: for each scheduled oneshot, when its last successful run started (Unix
//!   seconds), so missed runs are made up once at start and nothing runs twice.
//!
//! Files are written to a temporary name, then renamed, so a crash never leaves half a
//! file. A missing file means nothing to remember; an unreadable one is reported and
//! ignored (every service starts; every schedule counts as never run).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::plan::ServiceName;

const STOPPED: &str = "stopped.json";
const RUNS: &str = "runs.json";

/// Everything remembered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Services kept stopped.
    pub stopped: Vec<ServiceName>,
    /// Scheduled oneshots: the start of their last successful run.
    pub last_runs: Vec<(ServiceName, SystemTime)>,
}

/// Reads both files.
pub fn load(state_dir: &Path) -> Memory {
    let stopped = read::<Vec<String>>(state_dir, STOPPED, "starting every service")
        .unwrap_or_default()
        .iter()
        .filter_map(|n| ServiceName::parse(n).ok())
        .collect();
    let last_runs = read::<BTreeMap<String, u64>>(state_dir, RUNS, "every schedule starts over")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(n, s)| {
            Some((
                ServiceName::parse(&n).ok()?,
                UNIX_EPOCH + Duration::from_secs(s),
            ))
        })
        .collect();
    Memory { stopped, last_runs }
}

fn read<T: serde::de::DeserializeOwned>(
    state_dir: &Path,
    name: &str,
    consequence: &str,
) -> Option<T> {
    let path = state_dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("cannot read {}: {e}; {consequence}", path.display());
            return None;
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| tracing::warn!("{} is unreadable ({e}); {consequence}", path.display()))
        .ok()
}

fn write(state_dir: &Path, name: &str, json: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let tmp = state_dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, state_dir.join(name))
}

/// Writes the remembered stops.
pub fn save_stopped(state_dir: &Path, stopped: &[ServiceName]) -> std::io::Result<()> {
    let names: Vec<&str> = stopped.iter().map(ServiceName::as_str).collect();
    write(
        state_dir,
        STOPPED,
        &serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()),
    )
}

/// Writes the last successful runs.
pub fn save_runs(state_dir: &Path, runs: &[(ServiceName, SystemTime)]) -> std::io::Result<()> {
    let map: BTreeMap<&str, u64> = runs
        .iter()
        .map(|(n, t)| {
            let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            (n.as_str(), secs)
        })
        .collect();
    write(
        state_dir,
        RUNS,
        &serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("state");
        assert_eq!(load(&d), Memory::default());
        let names = vec![
            ServiceName::parse("backend").unwrap(),
            ServiceName::parse("web").unwrap(),
        ];
        save_stopped(&d, &names).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let runs = vec![(ServiceName::parse("base-backup").unwrap(), t)];
        save_runs(&d, &runs).unwrap();
        assert_eq!(
            load(&d),
            Memory {
                stopped: names,
                last_runs: runs.clone()
            }
        );
        std::fs::write(d.join(STOPPED), "not json").unwrap();
        assert!(load(&d).stopped.is_empty());
        assert_eq!(load(&d).last_runs, runs, "one bad file spoils nothing else");
        std::fs::write(d.join(STOPPED), r#"["ok", "bad name"]"#).unwrap();
        assert_eq!(load(&d).stopped, [ServiceName::parse("ok").unwrap()]);
        std::fs::write(d.join(RUNS), r#"{"x": "yesterday"}"#).unwrap();
        assert!(load(&d).last_runs.is_empty());
    }
}
