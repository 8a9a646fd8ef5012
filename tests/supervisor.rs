//! The supervisor, run for real: the `wms` binary as PID 1 of a new PID namespace and as a
//! plain child process, supervising shell and Python services.
//!
//! Services record what happens to them as `WHAT NAME EPOCH` lines in an events file, so
//! timings come from the services themselves, not from the supervisor's own log.
//! Latency assertions are deliberately generous (the machine is noisy); the real figures
//! are measured in `bench/`.

mod util;

use std::path::Path;
use std::time::{Duration, Instant};

use util::*;

/// `["sh", "-c", '''script''']` for a TOML config.
fn sh(script: &str) -> String {
    format!("[\"sh\", \"-c\", '''{script}''']")
}

/// Runs a test body once per mode, as separate tests so they run in parallel.
macro_rules! in_both_modes {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn as_pid1() {
                super::$body(super::Mode::Pid1);
            }
            #[test]
            fn as_child() {
                super::$body(super::Mode::Child);
            }
        }
    };
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `[supervisor]` with everything inside the test's directory.
fn header(d: &Path) -> String {
    util::supervisor_section(d, "off") + "shutdown_timeout = \"10s\"\n"
}

// ---- (1) orphans ------------------------------------------------------------------------

fn orphans_are_reaped(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.spawner]\ncommand = {}\n",
        sh(&format!(
            "i=0; while [ $i -lt 1000 ]; do (sleep 0.3 &); i=$((i+1)); done; {}; exec sleep 1000",
            emit(d, "spawned", "spawner")
        )),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, mode);
    wait_for(
        "1000 orphans to be spawned",
        Duration::from_secs(60),
        || (!events_of(d, "spawned", "spawner").is_empty()).then_some(()),
    );
    // Each orphan sleeps 0.3 s; all of them must be reaped by the supervisor, leaving no
    // zombie among its children one second later.
    let spawned = Instant::now();
    wait_for("all orphans reaped", Duration::from_secs(10), || {
        (sup.count_lines("reaped an orphan") >= 1000).then_some(())
    });
    wait_for("no zombies", Duration::from_secs(1), || {
        (sup.zombies() == 0).then_some(())
    });
    assert!(spawned.elapsed() < Duration::from_secs(10));
    assert_eq!(sup.zombies(), 0);
    assert!(
        sup.child_pid("sleep 1000").is_some(),
        "the service itself still runs"
    );
}
in_both_modes!(orphans, orphans_are_reaped);

// ---- (2) restarts -----------------------------------------------------------------------

fn restarts(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.stable]\ncommand = {}\n[services.crashy]\ncommand = {}\n",
        sh("exec sleep 1001"),
        sh(&format!("{}; exit 1", emit(d, "start", "crashy"))),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, mode);
    let first = wait_for("stable to run", Duration::from_secs(5), || {
        sup.child_pid("sleep 1001")
    });

    // A crash loop follows Docker's delays: 100, 200, 400, 800 ms between starts.
    let starts = wait_for("five crashy starts", Duration::from_secs(5), || {
        let s = events_of(d, "start", "crashy");
        (s.len() >= 5).then_some(s)
    });
    for (i, want_ms) in [100.0, 200.0, 400.0, 800.0].iter().enumerate() {
        let gap_ms = (starts[i + 1] - starts[i]) * 1000.0;
        assert!(
            gap_ms >= *want_ms && gap_ms < want_ms + 100.0,
            "gap {i} was {gap_ms:.1} ms, want {want_ms} ms (+ process start); starts {starts:?}"
        );
    }

    // A stable service (up 10 s or more) that dies is restarted at once.
    let up_since = Instant::now();
    std::thread::sleep(
        Duration::from_secs(10).saturating_sub(up_since.elapsed()) + Duration::from_millis(300),
    );
    kill(first, libc::SIGKILL);
    let killed = Instant::now();
    let second = wait_for("a new stable pid", Duration::from_secs(2), || {
        sup.child_pid("sleep 1001").filter(|p| *p != first)
    });
    let took = killed.elapsed();
    assert_ne!(first, second);
    assert!(took < Duration::from_millis(500), "restart took {took:?}");
    sup.wait_line("restart #1 in 0s", Duration::from_secs(1));
}
in_both_modes!(restart_timing, restarts);

// ---- (3) shutdown -----------------------------------------------------------------------

/// A service that takes 0.2 s to stop on SIGTERM, recording when it is done.
fn graceful(d: &Path, name: &str) -> String {
    sh(&format!(
        "trap 'sleep 0.2; {}; exit 0' TERM; {}; while true; do sleep 0.05; done",
        emit(d, "stop", name),
        emit(d, "start", name)
    ))
}

fn shutdown_in_reverse_order(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        r#"{header}
[services.db]
command = {db}
[services.api]
command = {api}
depends_on = {{ db = "started" }}
[services.web]
command = {web}
depends_on = {{ api = "started" }}
[services.stubborn]
command = {stubborn}
stop_timeout = "1s"
"#,
        db = graceful(d, "db"),
        api = graceful(d, "api"),
        web = graceful(d, "web"),
        stubborn = sh(&format!(
            "trap '' TERM; {}; while true; do sleep 0.05; done",
            emit(d, "start", "stubborn")
        )),
        header = header(d)
    );
    let mut sup = Supervisor::start(d, &config, mode);
    wait_for("all four running", Duration::from_secs(5), || {
        (events(d).iter().filter(|e| e.what == "start").count() == 4).then_some(())
    });
    let asked = Instant::now();
    sup.signal(libc::SIGTERM);
    let status = sup.wait_exit(Duration::from_secs(8));
    let took = asked.elapsed();
    assert!(status.success(), "exit status {status:?}");

    let stop = |n: &str| {
        let s = events_of(d, "stop", n);
        assert_eq!(s.len(), 1, "{n} stopped once: {:?}", events(d));
        s[0]
    };
    let (web, api, db) = (stop("web"), stop("api"), stop("db"));
    // Each takes 0.2 s to stop, and the next is asked only once the previous is gone.
    assert!(
        api - web >= 0.19,
        "api stopped {:.3} s after web",
        api - web
    );
    assert!(db - api >= 0.19, "db stopped {:.3} s after api", db - api);
    assert!(events_of(d, "stop", "stubborn").is_empty());
    let out = sup.output().join("\n");
    assert!(
        out.contains("did not stop within stop_timeout; sent SIGKILL"),
        "{out}"
    );
    // The stubborn one holds shutdown for its 1 s stop_timeout; then the supervisor exits
    // as soon as everything is gone.
    assert!(took >= Duration::from_secs(1), "exited after {took:?}");
    assert!(took < Duration::from_millis(1800), "exited after {took:?}");
}
in_both_modes!(shutdown, shutdown_in_reverse_order);

fn second_signal_escalates(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.stubborn]\ncommand = {}\nstop_timeout = \"60s\"\n",
        sh(&format!(
            "trap '' TERM INT; {}; while true; do sleep 0.05; done",
            emit(d, "start", "stubborn")
        )),
        header = header(d)
    );
    let mut sup = Supervisor::start(d, &config, mode);
    wait_for("start", Duration::from_secs(5), || {
        (!events(d).is_empty()).then_some(())
    });
    sup.signal(libc::SIGTERM);
    sup.wait_line("shutting down", Duration::from_secs(2));
    let asked = Instant::now();
    sup.signal(libc::SIGINT);
    let status = sup.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    sup.wait_line("second stop request", Duration::from_secs(1));
}
in_both_modes!(escalation, second_signal_escalates);

// ---- (4) readiness gating -----------------------------------------------------------------

/// A Python server that waits 0.5 s, records "ready" just before it binds, then serves HTTP.
fn slow_server(d: &Path, name: &str, port: u16) -> String {
    let script = format!(
        "import http.server, time\n\
         time.sleep(0.5)\n\
         t = time.time()\n\
         s = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n\
         open('{events}', 'a').write('ready {name} %.6f\\n' % t)\n\
         s.serve_forever()\n",
        events = d.join("events").display()
    );
    let path = d.join(format!("{name}.py"));
    std::fs::write(&path, script).expect("write server script");
    format!("[\"python3\", \"{}\"]", path.display())
}

fn dependents_start_right_after_probes_pass(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let (http_port, tcp_port) = (free_port(), free_port());
    let flag = d.join("flag");
    let config = format!(
        r#"{header}
[services.httpdb]
command = {httpdb}
ready = {{ http = "http://127.0.0.1:{http_port}/", start_interval = "20ms" }}
[services.tcpdb]
command = {tcpdb}
ready = {{ tcp = "127.0.0.1:{tcp_port}", start_interval = "20ms" }}
[services.execdb]
command = {execdb}
ready = {{ exec = ["test", "-f", "{flag}"], start_interval = "20ms" }}
[services.app_http]
command = {app_http}
depends_on = {{ httpdb = "ready" }}
[services.app_tcp]
command = {app_tcp}
depends_on = {{ tcpdb = "ready" }}
[services.app_exec]
command = {app_exec}
depends_on = {{ execdb = "ready" }}
"#,
        httpdb = slow_server(d, "httpdb", http_port),
        tcpdb = slow_server(d, "tcpdb", tcp_port),
        execdb = sh(&format!(
            "sleep 0.5; {}; touch {}; exec sleep 1000",
            emit(d, "ready", "execdb"),
            flag.display()
        )),
        flag = flag.display(),
        app_http = sh(&format!(
            "{}; exec sleep 1000",
            emit(d, "start", "app_http")
        )),
        app_tcp = sh(&format!("{}; exec sleep 1000", emit(d, "start", "app_tcp"))),
        app_exec = sh(&format!(
            "{}; exec sleep 1000",
            emit(d, "start", "app_exec")
        )),
        header = header(d)
    );
    let _sup = Supervisor::start(d, &config, mode);
    for (db, app) in [
        ("httpdb", "app_http"),
        ("tcpdb", "app_tcp"),
        ("execdb", "app_exec"),
    ] {
        let (ready, start) = wait_for(&format!("{app} to start"), Duration::from_secs(10), || {
            let r = events_of(d, "ready", db);
            let s = events_of(d, "start", app);
            (!r.is_empty() && !s.is_empty()).then(|| (r[0], s[0]))
        });
        let after_ms = (start - ready) * 1000.0;
        assert!(
            after_ms >= 0.0,
            "{app} started {after_ms:.1} ms before {db} was ready"
        );
        assert!(
            after_ms < 250.0,
            "{app} started {after_ms:.1} ms after {db} was ready"
        );
    }
}
in_both_modes!(probe_gating, dependents_start_right_after_probes_pass);

// ---- (5) oneshots -------------------------------------------------------------------------

fn oneshots_gate_dependents(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        r#"{header}
[services.init]
command = {init}
oneshot = true
[services.app]
command = {app}
depends_on = {{ init = "completed" }}
[services.badinit]
command = ["sh", "-c", "exit 3"]
oneshot = true
[services.blocked]
command = {blocked}
depends_on = {{ badinit = "completed" }}
"#,
        init = sh(&format!("sleep 0.3; {}", emit(d, "done", "init"))),
        app = sh(&format!("{}; exec sleep 1000", emit(d, "start", "app"))),
        blocked = sh(&format!("{}; exec sleep 1000", emit(d, "start", "blocked"))),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, mode);
    let (done, start) = wait_for("app to start", Duration::from_secs(5), || {
        let a = events_of(d, "done", "init");
        let b = events_of(d, "start", "app");
        (!a.is_empty() && !b.is_empty()).then(|| (a[0], b[0]))
    });
    assert!(start >= done, "app started before init completed");
    sup.wait_line("starting -> failed service=badinit", Duration::from_secs(5));
    // Observation window: the blocked dependent must stay down.
    std::thread::sleep(Duration::from_millis(500));
    assert!(events_of(d, "start", "blocked").is_empty());
    assert_eq!(
        sup.count_lines("started: sh -c exit 3"),
        1,
        "a failed oneshot with restart=no runs once"
    );
}
in_both_modes!(oneshot, oneshots_gate_dependents);

// ---- (6) bad configs ------------------------------------------------------------------------

fn run_wms(args: &[&str], dir: &Path) -> (i32, String) {
    let out = std::process::Command::new(wms())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run wms");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn bad_configs_are_rejected_with_file_position_and_key() {
    let dir = tempdir();
    let d = dir.path();
    let cases: &[(&str, &str)] = &[
        (
            "[services.web]\ncommand = [\"x\"]\ncomand = [\"y\"]\n",
            "config.toml:3:1: services.web.comand: unknown field `comand`",
        ),
        (
            "[services.web]\nrestart = \"always\"\n",
            "config.toml:1:1: services.web: missing `command`",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\ndepends_on = { bakend = \"ready\" }\n",
            "config.toml:3:16: services.web.depends_on.bakend: unknown service \"bakend\"",
        ),
        (
            "[services.a]\ncommand = [\"a\"]\ndepends_on = { b = \"ready\" }\n[services.b]\ncommand = [\"b\"]\ndepends_on = { a = \"ready\" }\n",
            "services.a.depends_on: dependency cycle: a -> b -> a",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstop_timeout = \"soon\"\n",
            "config.toml:3:16: services.web.stop_timeout: invalid duration \"soon\"",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstop_signal = \"SIGFOO\"\n",
            "config.toml:3:15: services.web.stop_signal: unknown signal name \"SIGFOO\"",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nuser = \"no-such-user-here\"\n",
            "config.toml:3:8: services.web.user: unknown user \"no-such-user-here\"",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(d.join("config.toml"), text).unwrap();
        for sub in ["check", "supervise"] {
            let (code, out) = run_wms(&[sub, "--config", "config.toml"], d);
            assert_eq!(code, 2, "wms {sub} on {text:?}: {out}");
            assert!(out.contains(want), "wms {sub}: want {want:?} in:\n{out}");
        }
    }
    let (code, out) = run_wms(&["check", "--config", "missing.toml"], d);
    assert_eq!(code, 2);
    assert!(
        out.contains("missing.toml: cannot read the config file"),
        "{out}"
    );
}

#[test]
fn check_prints_the_plan_in_start_order() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        "[services.web]\ncommand=[\"w\"]\ndepends_on={api=\"ready\"}\n[services.api]\ncommand=[\"a\"]\nstop_signal=\"INT\"\nready={tcp=\"127.0.0.1:1\"}\n",
    )
    .unwrap();
    let (code, out) = run_wms(&["check"], d);
    assert_eq!(code, 0, "{out}");
    let api = out.find("1. api (service)").expect("api first");
    let web = out.find("2. web (service)").expect("web second");
    assert!(api < web);
    assert!(out.contains("ready:   tcp 127.0.0.1:1"), "{out}");
    assert!(
        out.contains("stop:    SIGINT then SIGKILL after 10s"),
        "{out}"
    );
    assert!(out.contains("restart: unless-stopped"), "{out}");
}

// ---- signals, output, identity ----------------------------------------------------------------

fn other_signals_are_forwarded(mode: Mode) {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.listener]\ncommand = {}\n",
        sh(&format!(
            "trap '{}' USR1; {}; while true; do sleep 0.05; done",
            emit(d, "usr1", "listener"),
            emit(d, "start", "listener")
        )),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, mode);
    wait_for("start", Duration::from_secs(5), || {
        (!events(d).is_empty()).then_some(())
    });
    sup.signal(libc::SIGUSR1);
    wait_for("USR1 to arrive", Duration::from_secs(2), || {
        (!events_of(d, "usr1", "listener").is_empty()).then_some(())
    });
}
in_both_modes!(forwarding, other_signals_are_forwarded);

#[test]
fn output_is_drained_prefixed_and_split() {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.noisy]\ncommand = {}\n[services.n2]\ncommand = {}\n",
        sh(&format!(
            "head -c 40000 /dev/zero | tr '\\0' x; echo; printf 'bad \\377\\376 bytes\\n'; \
             head -c 5000000 /dev/zero | tr '\\0' '\\n' | sed 's/^/line/' >&2; {}; exec sleep 1000",
            emit(d, "done", "noisy")
        )),
        sh("echo from n2; exec sleep 1000"),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, Mode::Child);
    wait_for(
        "5 MB written without blocking",
        Duration::from_secs(30),
        || (!events_of(d, "done", "noisy").is_empty()).then_some(()),
    );
    sup.wait_line("n2    | from n2", Duration::from_secs(5));
    sup.wait_line("noisy | bad \u{fffd}\u{fffd} bytes", Duration::from_secs(5));
    let out = sup.output();
    let xs: Vec<&String> = out
        .iter()
        .filter(|l| l.starts_with("noisy | xxx"))
        .collect();
    assert_eq!(xs.len(), 3, "40000 bytes in lines of at most 16 KiB");
    assert_eq!(
        xs.iter().map(|l| l.len() - "noisy | ".len()).sum::<usize>(),
        40000
    );
    wait_for("all stderr lines", Duration::from_secs(20), || {
        (sup.count_lines("noisy | line") >= 5_000_000).then_some(())
    });
}

#[test]
fn privileges_env_and_workdir_are_applied() {
    let dir = tempdir();
    let d = dir.path();
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    let config = format!(
        "{header}[services.who]\ncommand = {}\nuser = \"nobody\"\nworkdir = \"work\"\nenv = {{ GREETING = \"hi ${{MISSING_VAR:-there}}\" }}\n",
        sh(
            "echo \"uid=$(id -u) gid=$(id -g) home=$HOME user=$USER pwd=$(pwd) greeting=$GREETING\"; exec sleep 1000"
        ),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, Mode::Pid1);
    let line = sup.wait_line("who | uid=", Duration::from_secs(5));
    assert!(line.contains("uid=65534 gid=65534"), "{line}");
    assert!(line.contains("user=nobody"), "{line}");
    assert!(line.contains(&format!("pwd={}", work.display())), "{line}");
    assert!(line.contains("greeting=hi there"), "{line}");
}

/// The supervisor runs without glibc's per-thread cache (it re-executed itself once, same
/// pid), and its services do not inherit the setting.
#[test]
fn the_supervisor_alone_runs_without_the_thread_cache() {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.env]\ncommand = {}\n",
        sh("echo \"tunables=[$GLIBC_TUNABLES]\"; exec sleep 1000"),
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, Mode::Pid1);
    let line = sup.wait_line("env | tunables=", Duration::from_secs(5));
    assert!(line.ends_with("tunables=[]"), "{line}");
    let environ = std::fs::read(format!("/proc/{}/environ", sup.pid)).unwrap();
    let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
    assert!(
        vars.contains(&&b"GLIBC_TUNABLES=glibc.malloc.tcache_count=0"[..]),
        "{}",
        String::from_utf8_lossy(&environ)
    );
    // Still the process the test started (unshare's child, PID 1 inside).
    assert!(
        cmdline(sup.pid).contains("supervise"),
        "{}",
        cmdline(sup.pid)
    );
}

#[test]
fn missing_binary_backs_off_with_a_clear_message() {
    let dir = tempdir();
    let d = dir.path();
    let config = format!(
        "{header}[services.ghost]\ncommand = [\"/no/such/program\"]\n",
        header = header(d)
    );
    let sup = Supervisor::start(d, &config, Mode::Child);
    sup.wait_line(
        "cannot start: /no/such/program: No such file or directory",
        Duration::from_secs(2),
    );
    sup.wait_line("restart #3 in 400ms", Duration::from_secs(3));
}

/// A scheduled oneshot that never ran runs at start; its success is remembered in
/// `state_dir`, so a supervisor started again an instant later does not run it again but
/// shows it completed with the next run an hour away. `wms ctl start` runs it at once.
#[test]
fn scheduled_oneshot_runs_at_start_and_its_last_run_is_remembered() {
    let dir = tempdir();
    let d = dir.path();
    let health = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "{header}[services.app]\ncommand = [\"sleep\", \"1000\"]\n\
         [services.backup]\ncommand = {}\noneshot = true\nschedule = \"every 1h\"\n",
        sh(&emit(d, "ran", "backup")),
        header = util::supervisor_section(d, &health) + "shutdown_timeout = \"10s\"\n"
    );
    let mut sup = Supervisor::start(d, &config, Mode::Child);
    wait_for("the first run", Duration::from_secs(10), || {
        (events_of(d, "ran", "backup").len() == 1).then_some(())
    });
    let doc = wait_for(
        "healthy with the run completed",
        Duration::from_secs(10),
        || {
            get_json(&health, "/health")
                .filter(|(c, j)| *c == 200 && j["services"]["backup"]["state"] == "completed")
        },
    )
    .1;
    let next = doc["services"]["backup"]["next_run_in_s"]
        .as_u64()
        .unwrap_or(0);
    assert!((3500..=3600).contains(&next), "next run in {next} s");
    let runs = std::fs::read_to_string(d.join("state/runs.json")).expect("runs.json");
    assert!(runs.contains("\"backup\":"), "{runs}");
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(Duration::from_secs(10)).success());

    let sup = Supervisor::start(d, &config, Mode::Child);
    wait_for("healthy again", Duration::from_secs(10), || {
        get_json(&health, "/health").filter(|(c, _)| *c == 200)
    });
    let doc = get_json(&health, "/health").expect("/health").1;
    assert_eq!(doc["services"]["backup"]["state"], "completed");
    assert_eq!(
        events_of(d, "ran", "backup").len(),
        1,
        "a run an instant ago is not repeated at start"
    );
    let out = std::process::Command::new(wms())
        .args(["ctl", "--socket"])
        .arg(d.join("control.sock"))
        .args(["start", "backup"])
        .output()
        .expect("wms ctl");
    assert!(out.status.success(), "{out:?}");
    wait_for("the run on request", Duration::from_secs(10), || {
        (events_of(d, "ran", "backup").len() == 2).then_some(())
    });
    drop(sup);
}
