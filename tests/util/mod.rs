//! Shared helpers for integration tests: run the real `wms` binary (as PID 1 of a fresh PID
//! namespace, or as a plain child), read its output, find its children in `/proc`, and wait
//! for conditions with hard deadlines. Nothing here sleeps for a fixed time to "let things
//! settle": every wait polls a condition and fails loudly when the deadline passes.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub fn wms() -> &'static str {
    env!("CARGO_BIN_EXE_wms")
}

/// How the supervisor is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), as in a container.
    Pid1,
    /// An ordinary child process (it makes itself a child subreaper).
    Child,
}

/// Both modes, for tests that must hold in each.
pub const MODES: [Mode; 2] = [Mode::Pid1, Mode::Child];

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Seconds since the epoch, as `date +%s.%N` prints them.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Polls `check` every millisecond until it returns `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A running `wms supervise`, killed (with its whole namespace or process tree) on drop.
pub struct Supervisor {
    child: Option<Child>,
    /// The supervisor's own pid on the host (inside the namespace it is 1).
    pub pid: u32,
    pub mode: Mode,
    /// Every line of stdout and stderr, in arrival order.
    lines: Arc<Mutex<Vec<String>>>,
    pub dir: PathBuf,
}

impl Supervisor {
    /// Writes `config` to `dir/config.toml` and starts `wms supervise` on it.
    pub fn start(dir: &Path, config: &str, mode: Mode) -> Supervisor {
        Self::start_with_env(dir, config, mode, &[])
    }

    pub fn start_with_env(
        dir: &Path,
        config: &str,
        mode: Mode,
        env: &[(&str, &str)],
    ) -> Supervisor {
        let path = dir.join("config.toml");
        std::fs::write(&path, config).expect("write config");
        let mut cmd = match mode {
            Mode::Pid1 => {
                let mut c = Command::new("unshare");
                c.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
                    .arg(wms());
                c
            }
            Mode::Child => Command::new(wms()),
        };
        cmd.arg("supervise")
            .arg("--config")
            .arg(&path)
            .env("WMS_LOG", "debug")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn wms supervise");
        let lines = collect_output(&mut child);
        let pid = match mode {
            Mode::Child => child.id(),
            Mode::Pid1 => {
                let unshare = child.id();
                wait_for("the namespace's PID 1", Duration::from_secs(5), || {
                    children(unshare).first().map(|(p, _)| *p)
                })
            }
        };
        Supervisor {
            child: Some(child),
            pid,
            mode,
            lines,
            dir: dir.to_owned(),
        }
    }

    /// Like [`Supervisor::start_with_env`] in [`Mode::Pid1`], but runs the shell snippet
    /// `prelude` inside the new namespaces first (as root, e.g. a read-only bind mount that
    /// only this namespace sees); the supervisor then replaces the shell as PID 1.
    pub fn start_pid1_after(
        dir: &Path,
        config: &str,
        env: &[(&str, &str)],
        prelude: &str,
    ) -> Supervisor {
        let path = dir.join("config.toml");
        std::fs::write(&path, config).expect("write config");
        let mut child = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", &format!("{prelude}\nexec \"$@\""), "sh"])
            .arg(wms())
            .arg("supervise")
            .arg("--config")
            .arg(&path)
            .env("WMS_LOG", "debug")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let lines = collect_output(&mut child);
        let unshare = child.id();
        let pid = wait_for("the namespace's PID 1", Duration::from_secs(5), || {
            children(unshare).first().map(|(p, _)| *p)
        });
        Supervisor {
            child: Some(child),
            pid,
            mode: Mode::Pid1,
            lines,
            dir: dir.to_owned(),
        }
    }

    /// All output so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().expect("lines lock").clone()
    }

    /// Waits for an output line containing `needle`; returns it.
    pub fn wait_line(&self, needle: &str, limit: Duration) -> String {
        wait_for(&format!("a line containing {needle:?}"), limit, || {
            self.output().into_iter().find(|l| l.contains(needle))
        })
    }

    /// Number of output lines containing `needle`.
    pub fn count_lines(&self, needle: &str) -> usize {
        self.output().iter().filter(|l| l.contains(needle)).count()
    }

    /// Sends a signal to the supervisor itself.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain syscall on a pid we own.
        let rc = unsafe { libc::kill(self.pid as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid);
    }

    /// Waits for the supervisor (and, in PID-1 mode, its namespace) to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("still owned");
        let status = wait_for("the supervisor to exit", limit, || {
            child.try_wait().ok().flatten()
        });
        self.child = None;
        status
    }

    /// The supervisor's children: `(host pid, command line)`.
    pub fn children(&self) -> Vec<(u32, String)> {
        children(self.pid)
    }

    /// The host pid of the child whose command line contains `needle`.
    pub fn child_pid(&self, needle: &str) -> Option<u32> {
        self.children()
            .into_iter()
            .find(|(_, cmd)| cmd.contains(needle))
            .map(|(p, _)| p)
    }

    /// Children of the supervisor that are zombies (exited, not reaped).
    pub fn zombies(&self) -> usize {
        self.children()
            .iter()
            .filter(|(p, _)| process_state(*p) == Some('Z'))
            .count()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Kill the supervisor and everything under it. In PID-1 mode killing unshare
            // kills the namespace's init (--kill-child), and with it the namespace.
            for (p, _) in descendants(self.pid) {
                // SAFETY: plain syscall.
                unsafe { libc::kill(p as libc::pid_t, libc::SIGKILL) };
            }
            // SAFETY: plain syscall.
            unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Direct children of `pid`, with their command lines.
pub fn children(pid: u32) -> Vec<(u32, String)> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .map(|p| (p, cmdline(p)))
        .collect()
}

/// All descendants of `pid`.
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (c, cmd) in children(p) {
            if seen.insert(c) {
                todo.push(c);
                out.push((c, cmd));
            }
        }
    }
    out
}

/// `/proc/PID/cmdline` with spaces between arguments.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The state letter from `/proc/PID/stat` (R, S, Z, ...).
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; the state follows it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Kills a process with a signal.
pub fn kill(pid: u32, sig: i32) {
    // SAFETY: plain syscall.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// Lines of an events file written by test services as `WHAT NAME EPOCH`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub what: String,
    pub name: String,
    pub at: f64,
}

/// Reads `dir/events`.
pub fn events(dir: &Path) -> Vec<Ev> {
    std::fs::read_to_string(dir.join("events"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some(Ev {
                what: it.next()?.to_owned(),
                name: it.next()?.to_owned(),
                at: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// Events of one kind for one service.
pub fn events_of(dir: &Path, what: &str, name: &str) -> Vec<f64> {
    events(dir)
        .into_iter()
        .filter(|e| e.what == what && e.name == name)
        .map(|e| e.at)
        .collect()
}

/// A shell snippet appending `WHAT NAME EPOCH` to the events file.
pub fn emit(dir: &Path, what: &str, name: &str) -> String {
    format!("date +\"{what} {name} %s.%N\" >> {}/events", dir.display())
}

/// A plain HTTP/1.1 request (`Connection: close`); returns the status and the body.
pub fn http(method: &str, addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {head:?}")))?;
    Ok((status, body.to_owned()))
}

/// `GET` and parse the body as JSON.
pub fn get_json(addr: &str, path: &str) -> Option<(u16, serde_json::Value)> {
    let (status, body) = http("GET", addr, path).ok()?;
    Some((status, serde_json::from_str(&body).ok()?))
}

/// Collects a child's stdout and stderr, line by line, into one shared list (echoed to
/// stderr as well when `WMS_TEST_ECHO` is set).
pub fn collect_output(child: &mut std::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let streams: [Option<Box<dyn std::io::Read + Send>>; 2] = [
        child.stdout.take().map(|s| Box::new(s) as _),
        child.stderr.take().map(|s| Box::new(s) as _),
    ];
    for stream in streams.into_iter().flatten() {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("WMS_TEST_ECHO").is_some() {
                    eprintln!("{line}");
                }
                lines.lock().expect("lines lock").push(line);
            }
        });
    }
    lines
}

/// The `[supervisor]` section of a test config: health on `health_listen`, control socket
/// and state inside `dir`.
pub fn supervisor_section(dir: &Path, health_listen: &str) -> String {
    let d = dir.display();
    format!(
        "[supervisor]\nhealth_listen = \"{health_listen}\"\n\
         control_socket = \"{d}/control.sock\"\nstate_dir = \"{d}/state\"\n"
    )
}
