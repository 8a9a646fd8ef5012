//! One private PostgreSQL for the whole test binary, in a temp dir, on a unix socket and a
//! free port, run as the `postgres` OS user; each test gets its own database.
//!
//! The server is spawned from a thread that lives as long as the test process and carries
//! `PR_SET_PDEATHSIG(SIGINT)`: when the test binary exits, PostgreSQL gets a fast shutdown.
//! Data directories of earlier runs whose test process is gone are deleted at start.

#![allow(dead_code)] // each test file uses a different subset of the helpers

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::util::{free_port, wait_for};

/// The shared server.
pub struct Postgres {
    pub dir: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    pub bin: PathBuf,
}

static SHARED: OnceLock<Postgres> = OnceLock::new();
/// A migrated and seeded database that [`Postgres::seeded_db`] copies.
static TEMPLATE: OnceLock<String> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL binaries: `PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PG_BIN") {
        return PathBuf::from(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (install postgresql)")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

/// The uid and gid of the `postgres` OS user.
fn postgres_ids() -> (u32, u32) {
    let user = nix::unistd::User::from_name("postgres")
        .expect("user lookup")
        .expect("an OS user named postgres (PostgreSQL refuses to run as root)");
    (user.uid.as_raw(), user.gid.as_raw())
}

/// Deletes data dirs of test processes that no longer exist.
fn sweep(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("pg-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
}

/// The shared server, started on first use.
pub fn shared() -> &'static Postgres {
    SHARED.get_or_init(start)
}

fn start() -> Postgres {
    let bin = bin_dir();
    let (uid, gid) = postgres_ids();
    let base = std::env::temp_dir().join("wms-backend-tests");
    std::fs::create_dir_all(&base).expect("test base dir");
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sweep(&base);
    let dir = base.join(format!("pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let socket_dir = dir.join("run");
    for d in [&dir, &socket_dir] {
        std::fs::create_dir_all(d).expect("pg dirs");
        chown(d, uid, gid);
    }
    let out = Command::new(bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .uid(uid)
        .gid(gid)
        .current_dir(&dir)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(dir.join("postgres.log")).expect("log file");
    chown(&dir.join("postgres.log"), uid, gid);
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&socket_dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=64MB",
        ])
        .uid(uid)
        .gid(gid)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec, after
    // the uid change (which would otherwise clear the setting).
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The death signal follows the spawning *thread*: spawn from one that never ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = cmd.spawn();
        let ok = child.is_ok();
        let _ = tx.send(child.map(|c| c.id()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv()
        .expect("the spawner thread answers")
        .expect("spawn postgres");
    janitor(&dir);
    let pg = Postgres {
        dir,
        socket_dir,
        port,
        bin,
    };
    wait_for(
        "PostgreSQL to accept connections",
        Duration::from_secs(60),
        || pg.try_sql("postgres", "SELECT 1").ok(),
    );
    pg
}

/// Deletes `dir` after this test process has exited and PostgreSQL with it: a shell that
/// blocks reading a pipe only this process holds open, then waits for the server's pid file
/// to go, then removes the directory. The write end lives in a static, so it closes exactly
/// when the process ends.
fn janitor(dir: &Path) {
    static PIPE: OnceLock<std::process::ChildStdin> = OnceLock::new();
    let script =
        r#"cat >/dev/null; while [ -e "$1/data/postmaster.pid" ]; do sleep 0.1; done; rm -rf "$1""#;
    let spawned = Command::new("sh")
        .args(["-c", script, "janitor"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    // Without a janitor the next run's sweep removes the directory instead.
    if let Ok(mut child) = spawned {
        if let Some(stdin) = child.stdin.take() {
            let _ = PIPE.set(stdin);
        }
    }
}

impl Postgres {
    /// A libpq connection string for `db`.
    pub fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// Runs `query` (simple protocol, may hold several statements); returns the first
    /// column of every row as text.
    pub fn try_sql(&self, db: &str, query: &str) -> Result<Vec<Option<String>>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&self.conninfo(db), tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
            let conn_task = tokio::spawn(connection);
            let rows = client.simple_query(query).await.map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            });
            drop(client);
            let _ = conn_task.await;
            Ok(rows?
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
                    _ => None,
                })
                .collect())
        })
    }

    /// Like [`Postgres::try_sql`], panicking on errors.
    pub fn sql(&self, db: &str, query: &str) -> Vec<Option<String>> {
        self.try_sql(db, query)
            .unwrap_or_else(|e| panic!("SQL failed on {db}: {e}\n{query}"))
    }

    /// A fresh, empty database.
    pub fn create_db(&self) -> String {
        let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        self.sql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE template0"),
        );
        name
    }

    /// A fresh database that is already migrated and seeded (a copy of a template made once
    /// per test binary by a real `wms backend --migrate`), so tests do not each pay for
    /// migrations and the administrator's password hash.
    pub fn seeded_db(&self) -> String {
        let template = TEMPLATE.get_or_init(|| {
            let name = self.create_db();
            let mut b = crate::server::Backend::start_on(&name, &["--migrate"], &[]);
            b.stop();
            // CREATE DATABASE ... TEMPLATE needs the template to have no sessions.
            wait_for(
                "the template's sessions to end",
                Duration::from_secs(30),
                || {
                    let n = self.sql(
                        "postgres",
                        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"),
                    );
                    (n.first().cloned().flatten().as_deref() == Some("0")).then_some(())
                },
            );
            name
        });
        let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        self.sql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        name
    }
}

/// Holds `FOR UPDATE` row locks in an open transaction until dropped (or [`Locker::release`]):
/// makes a request wait inside the database, deterministically.
pub struct Locker {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl Locker {
    /// Opens a transaction on `db` and runs `lock_sql` (e.g. `SELECT ... FOR UPDATE`).
    pub fn hold(pg: &Postgres, db: &str, lock_sql: &str) -> Locker {
        let conninfo = pg.conninfo(db);
        let lock_sql = lock_sql.to_owned();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let done = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let (client, connection) =
                    match tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                tokio::spawn(connection);
                let locked = client
                    .batch_execute(&format!("BEGIN; {lock_sql}"))
                    .await
                    .map_err(|e| e.to_string());
                let ok = locked.is_ok();
                let _ = ready_tx.send(locked);
                if ok {
                    let _ = release_rx.await;
                    let _ = client.batch_execute("COMMIT").await;
                }
            });
        });
        ready_rx
            .recv()
            .expect("the locker answers")
            .expect("take the lock");
        Locker {
            release: Some(release_tx),
            done: Some(done),
        }
    }

    /// Commits the transaction, releasing the locks.
    pub fn release(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.done.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        self.finish();
    }
}
