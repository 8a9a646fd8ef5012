//! The real stack of the repository's `config.toml` (pg-init → postgres → migrate → backend
//! → web) under `wms supervise` as PID 1 of its own PID namespace, in a temp dir, with every
//! path and port overridden through the environment the way `tests/e2e.sh` does it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Mode, Supervisor, free_port, get_json};

/// The services a chaos driver may kill (the oneshots are not running).
pub const KILLABLE: [&str; 3] = ["postgres", "backend", "web"];

/// Where one stack lives: a temp dir (the data survives restarts of the stack) and its ports.
pub struct Layout {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub pg_port: u16,
    pub backend_port: u16,
    pub web_port: u16,
    /// The supervisor's health listener, `127.0.0.1:PORT`.
    pub health: String,
    pub password: String,
}

impl Layout {
    /// A fresh temp dir (mode 0755 so the `postgres` user can traverse it) with a one-page
    /// site to serve, and free ports.
    pub fn new() -> Layout {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_owned();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::create_dir_all(dir.join("www")).expect("www dir");
        std::fs::write(
            dir.join("www/index.html"),
            "<!doctype html><title>wms</title><div id=root></div>",
        )
        .expect("index.html");
        Layout {
            _tmp: tmp,
            dir,
            pg_port: free_port(),
            backend_port: free_port(),
            web_port: free_port(),
            health: format!("127.0.0.1:{}", free_port()),
            password: format!("proof-{}", std::process::id()),
        }
    }

    pub fn pgdata(&self) -> PathBuf {
        self.dir.join("pgdata")
    }

    pub fn web(&self) -> String {
        format!("127.0.0.1:{}", self.web_port)
    }

    pub fn backend(&self) -> String {
        format!("127.0.0.1:{}", self.backend_port)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("run/control.sock")
    }

    /// The environment overrides of `config.toml`, as `tests/e2e.sh` sets them.
    pub fn env(&self) -> Vec<(String, String)> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec![
            ("PGDATA".into(), d("pgdata")),
            ("PG_SOCKET_DIR".into(), d("run")),
            ("PGPORT".into(), self.pg_port.to_string()),
            ("WMS_RUN_DIR".into(), d("run")),
            ("WMS_STATE_DIR".into(), d("state")),
            ("WMS_HEALTH_LISTEN".into(), self.health.clone()),
            ("WMS_BACKEND_PORT".into(), self.backend_port.to_string()),
            ("WMS_WEB_PORT".into(), self.web_port.to_string()),
            ("WMS_WEB_ROOT".into(), d("www")),
            ("POSTGRES_PASSWORD".into(), self.password.clone()),
            (
                "WMS_ADMIN_PASSWORD".into(),
                super::api::ADMIN_PASSWORD.to_owned(),
            ),
            // No WAL archiving unless a test asks for it (tests/backup.rs does).
            ("WMS_BACKUP_DIR".into(), "off".into()),
            // Long soaks outlive the default 30 min token.
            ("ACCESS_TOKEN_EXPIRE_MINUTES".into(), "1440".into()),
        ]
    }

    /// Starts `wms supervise --config <repo>/config.toml` as PID 1 on this layout; `extra`
    /// overrides or adds environment variables.
    pub fn start(&self, extra: &[(&str, &str)]) -> Supervisor {
        let mut env = self.env();
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Supervisor::start_with_env(&self.dir, &config_text(), Mode::Pid1, &pairs)
    }
}

/// The repository's `config.toml`, the stack the image runs.
pub fn config_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    std::fs::read_to_string(&path).expect("read the repository's config.toml")
}

/// `GET /health` of the supervisor: status code and JSON.
pub fn health(addr: &str) -> Option<(u16, Value)> {
    get_json(addr, "/health")
}

/// Polls `/health` until it answers 200; returns how long that took, or `None` after `limit`.
pub fn wait_healthy(addr: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(health(addr), Some((200, _))) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// One service's entry of the /health JSON.
pub fn service<'a>(health: &'a Value, name: &str) -> &'a Value {
    &health["services"][name]
}

/// The service's restart counter in a /health document.
pub fn restarts(health: &Value, name: &str) -> u64 {
    service(health, name)["restarts"].as_u64().unwrap_or(0)
}

/// The pid of `pid` inside its innermost PID namespace (`NSpid`'s last field).
pub fn ns_pid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// The host pid of the supervisor's child whose pid inside the namespace is `inner`.
pub fn host_pid(supervisor: u32, inner: u32) -> Option<u32> {
    crate::util::children(supervisor)
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| ns_pid(*p) == Some(inner))
}

/// The host pid of a running service, from the pid /health reports for it.
pub fn service_host_pid(sup: &Supervisor, health: &Value, name: &str) -> Option<u32> {
    let inner = service(health, name)["pid"].as_u64()? as u32;
    host_pid(sup.pid, inner)
}

/// Every file under `dir` (relative paths), for "nothing was deleted" checks.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
        }
    }
    out.sort();
    out
}
