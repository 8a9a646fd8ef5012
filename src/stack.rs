//! What joins the roles into one stack beyond `config.toml`: the sections `/health` shows
//! beside the services. The supervisor knows sections only as [`health::Section`]; the
//! backup module knows nothing of the supervisor; this module is the one place that knows
//! both (as `main` knows every role).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;

use crate::backup::status::{self, BackupStatus};
use crate::supervisor::health::{Section, SectionReport, Sections};
use crate::supervisor::plan::Plan;

/// The sections of the stack a plan describes: `backup` when a service of it runs the WAL
/// receiver (`wms backup receive-wal`), read from that service's `WMS_BACKUP_DIR`.
pub fn sections(plan: &Plan) -> Sections {
    let mut out: Vec<Box<dyn Section>> = Vec::new();
    let receiver = plan.services.iter().find(|s| {
        let args: Vec<&str> = s.command.iter().skip(1).map(String::as_str).collect();
        args == ["backup", "receive-wal"]
    });
    if let Some(service) = receiver {
        let dir = service
            .env
            .iter()
            .find(|(k, _)| k == "WMS_BACKUP_DIR")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| crate::backup::settings::DEFAULT_BACKUP_DIR.to_owned());
        out.push(Box::new(BackupSection {
            dir: (dir != "off").then(|| PathBuf::from(dir)),
        }));
    }
    Arc::new(out)
}

/// `/health`'s `backup` section: the status files on the backup volume, judged now.
#[derive(Debug)]
struct BackupSection {
    /// The backup volume; `None` when archiving is off.
    dir: Option<PathBuf>,
}

impl Section for BackupSection {
    fn name(&self) -> &str {
        "backup"
    }

    fn report(&self) -> SectionReport {
        match &self.dir {
            None => SectionReport {
                is_ok: true,
                detail: json!({ "status": "off" }),
                public: json!({ "status": "off" }),
                metrics: String::new(),
            },
            Some(dir) => report(&status::read_status(dir, OffsetDateTime::now_utc())),
        }
    }
}

/// The report of a judged backup status. The public view has the verdict and the times,
/// not the problems and errors (they name paths and whatever a tool printed).
/// The full section is the status document plus the public fields, so that one reader
/// (the status page) finds them under the same names in both.
fn report(s: &BackupStatus) -> SectionReport {
    let public = json!({
        "status": s.status,
        "last_base_backup_at": s.last_base_backup.as_ref().map(|b| status::rfc3339(b.at)),
        "wal_lag_seconds": s.wal_lag_seconds,
        "last_drill_ok": s.last_drill.as_ref().map(|d| d.is_ok),
    });
    let mut detail = serde_json::to_value(s).unwrap_or_default();
    if let (Some(d), Some(p)) = (detail.as_object_mut(), public.as_object()) {
        for (k, v) in p {
            d.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    SectionReport {
        is_ok: s.is_ok(),
        detail,
        public,
        metrics: s.metrics(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_backup_is_public_only_as_its_verdict_and_times() {
        let now = OffsetDateTime::now_utc();
        let judged = status::judge(None, None, None, Vec::new(), now);
        assert!(!judged.is_ok());
        let r = report(&judged);
        assert!(!r.is_ok);
        assert_eq!(r.public["status"], "failing");
        assert!(r.public.get("problems").is_none());
        assert!(
            r.detail["problems"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        );
        assert!(r.metrics.contains("wms_backup_ok 0"), "{}", r.metrics);
        for key in [
            "status",
            "last_base_backup_at",
            "wal_lag_seconds",
            "last_drill_ok",
        ] {
            assert_eq!(r.detail[key], r.public[key], "{key} in both views");
        }
    }
}
