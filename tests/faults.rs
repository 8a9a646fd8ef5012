//! Startup faults of the real stack (`config.toml` under `wms supervise` as PID 1), issue 9:
//! a port already taken, a read-only data volume, a missing binary, a PostgreSQL that cannot
//! start. Each must give a clear message in the log and a truthful /health, back off the
//! way Docker does (100 ms doubling; no hot crash loop), delete nothing, and — where the
//! cause can go away — recover on its own once it does.

mod proof;
mod util;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use proof::stack::{Layout, health, restarts, service, tree, wait_healthy};
use util::{Mode, Supervisor, wait_for};

const BOOT: Duration = Duration::from_secs(120);

/// The delays of the supervisor's `restart #N in DELAY service=NAME` lines, in order.
fn restart_delays(sup: &Supervisor, name: &str) -> Vec<Duration> {
    let tag = format!("service={name}");
    sup.output()
        .iter()
        .filter(|l| l.contains(&tag) && !l.contains(" | "))
        .filter_map(|l| {
            let rest = &l[l.find("restart #")?..];
            let delay = rest.split_once(" in ")?.1.split(" service=").next()?;
            humantime::parse_duration(delay.trim()).ok()
        })
        .collect()
}

/// Docker's backoff exactly: 100 ms, then doubling (the cap of 60 s is not reached here).
/// /health may count a restart a moment before its log line has been read from the pipe,
/// so the lines are awaited (briefly) rather than read once.
fn assert_backoff(sup: &Supervisor, name: &str, at_least: usize) {
    let settle = Instant::now() + Duration::from_secs(5);
    let mut delays = restart_delays(sup, name);
    while delays.len() < at_least && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(20));
        delays = restart_delays(sup, name);
    }
    assert!(
        delays.len() >= at_least,
        "{name}: {} restarts, expected {at_least}: {delays:?}",
        delays.len()
    );
    let expected: Vec<Duration> = (0..delays.len())
        .map(|i| Duration::from_millis(100 << i).min(Duration::from_secs(60)))
        .collect();
    assert_eq!(delays, expected, "{name}: not Docker's backoff");
}

/// Waits until /health shows `name` in backoff after at least `n` restarts.
fn wait_backoff(layout: &Layout, name: &str, n: u64) -> Value {
    wait_for(
        &format!("{name} in backoff after {n} restarts"),
        Duration::from_secs(60) + BOOT,
        || {
            health(&layout.health).and_then(|(code, h)| {
                (code == 503 && restarts(&h, name) >= n && service(&h, name)["state"] == "backoff")
                    .then_some(h)
            })
        },
    )
}

/// The supervisor holds web's and backend's listening sockets (issue 16) and binds them
/// before anything starts: a taken port is a configuration error that names the service and
/// the address, at once, and nothing was started. Once the port is free, the stack starts.
fn port_in_use(name: &str, bind: &str, port: impl Fn(&Layout) -> u16) {
    let layout = Layout::new();
    let port = port(&layout);
    let squatter = TcpListener::bind((bind, port)).expect("take the port first");
    let mut sup = layout.start(&[]);
    let status = sup.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{}", sup.output().join("\n"));
    let out = sup.output().join("\n");
    assert!(
        out.contains(name) && out.contains(&format!("{bind}:{port}")) && out.contains("in use"),
        "the refusal names the service, the address and the cause: {out}"
    );
    assert!(
        !out.contains("starting postgres") && sup.count_lines("database system is ready") == 0,
        "nothing started: {out}"
    );
    drop(squatter);
    let _sup = layout.start(&[]);
    wait_healthy(&layout.health, BOOT)
        .unwrap_or_else(|| panic!("{name}: the stack did not start once the port was free"));
}

#[test]
fn web_port_in_use_is_refused_at_start_naming_web() {
    port_in_use("web", "0.0.0.0", |l| l.web_port);
}

#[test]
fn backend_port_in_use_is_refused_at_start_naming_backend() {
    port_in_use("backend", "127.0.0.1", |l| l.backend_port);
}

/// Regression (a gap this suite found): /health reported only `last_exit.code = 1` for a
/// service that keeps exiting, the reason being in the log alone. Now `last_output` carries
/// the service's last line (here: the backend refusing a short SECRET_KEY).
#[test]
fn health_says_why_a_service_keeps_exiting() {
    let layout = Layout::new();
    let sup = layout.start(&[("SECRET_KEY", "too-short")]);
    let h = wait_backoff(&layout, "backend", 2);
    assert_eq!(h["status"], "degraded", "{h}");
    let s = service(&h, "backend");
    assert_eq!(s["last_exit"]["code"], 2, "{s}");
    assert!(
        s["last_output"]
            .as_str()
            .is_some_and(|l| l.contains("SECRET_KEY is 9 bytes long")),
        "{s}"
    );
    assert_eq!(service(&h, "postgres")["state"], "ready", "{h}");
    assert_backoff(&sup, "backend", 2);
}

/// Mounts `vol` read-only in the namespace only (the test's view stays writable).
fn read_only(vol: &std::path::Path) -> String {
    let v = vol.display();
    format!("mount --bind '{v}' '{v}' && mount -o remount,bind,ro '{v}' || exit 97")
}

fn start_read_only(layout: &Layout, vol: &std::path::Path) -> Supervisor {
    let env = layout.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pgdata = vol.join("pgdata").display().to_string();
    pairs.push(("PGDATA", &pgdata));
    Supervisor::start_pid1_after(
        &layout.dir,
        &proof::stack::config_text(),
        &pairs,
        &read_only(vol),
    )
}

#[test]
fn read_only_data_volume_fails_clearly_without_a_crash_loop_and_deletes_nothing() {
    let layout = Layout::new();
    let vol = layout.dir.join("vol");
    std::fs::create_dir(&vol).expect("vol");

    // First boot on a read-only volume: pg-init cannot create the cluster; a oneshot that
    // failed is not retried, and everything after it waits.
    let sup = start_read_only(&layout, &vol);
    let h = wait_for("pg-init failed", BOOT, || {
        health(&layout.health)
            .and_then(|(_, h)| (service(&h, "pg-init")["state"] == "failed").then_some(h))
    });
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(service(&h, "pg-init")["last_exit"]["code"], 1, "{h}");
    assert_eq!(
        service(&h, "postgres")["waiting_for"][0]["service"],
        "pg-init",
        "{h}"
    );
    let line = sup.wait_line("Read-only file system", Duration::from_secs(5));
    assert!(
        line.starts_with("pg-init") && line.contains("pgdata"),
        "{line}"
    );
    assert_eq!(restarts(&h, "pg-init"), 0, "{h}");
    drop(sup);

    // An existing cluster on a volume that became read-only.
    let pgdata = vol.join("pgdata").display().to_string();
    let mut sup = layout.start(&[("PGDATA", &pgdata)]);
    wait_healthy(&layout.health, BOOT).expect("first boot on the writable volume");
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(Duration::from_secs(30)).success());
    let before = tree(&vol);

    let sup = start_read_only(&layout, &vol);
    let started = Instant::now();
    let h = wait_for(
        "postgres or pg-init refusing the read-only volume",
        BOOT,
        || {
            health(&layout.health).and_then(|(_, h)| {
                let pg = service(&h, "postgres");
                let init = service(&h, "pg-init");
                (init["state"] == "failed"
                    || (restarts(&h, "postgres") >= 3 && pg["state"] == "backoff"))
                    .then_some(h)
            })
        },
    );
    assert_eq!(h["status"], "degraded", "{h}");
    let out = sup.output().join("\n");
    assert!(
        out.contains("Read-only file system"),
        "no clear reason:\n{out}"
    );
    let reason = sup.wait_line("Read-only file system", Duration::from_secs(1));
    println!("read-only volume with a cluster: {reason}");
    if service(&h, "pg-init")["state"] != "failed" {
        assert_backoff(&sup, "postgres", 3);
    }
    // No hot loop: at most one start per backoff step.
    let starts = sup.count_lines("started: wms postgres");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        (starts as f64) <= 2.0 + (elapsed / 0.1).log2().max(0.0),
        "{starts} starts in {elapsed:.1} s"
    );
    for name in ["migrate", "backend", "web"] {
        assert_eq!(service(&h, name)["state"], "waiting", "{h}");
    }
    drop(sup);
    assert_eq!(tree(&vol), before, "files changed on the read-only volume");
}

#[test]
fn missing_postgres_binaries_fail_clearly_once() {
    let layout = Layout::new();
    let sup = layout.start(&[("PG_BIN", "/nonexistent/postgresql/bin")]);
    let h = wait_for("pg-init failed", BOOT, || {
        health(&layout.health)
            .and_then(|(_, h)| (service(&h, "pg-init")["state"] == "failed").then_some(h))
    });
    let line = sup.wait_line("/nonexistent/postgresql/bin", Duration::from_secs(5));
    assert!(
        line.starts_with("pg-init") && line.contains("no postgres binary"),
        "{line}"
    );
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(service(&h, "pg-init")["last_exit"]["code"], 1, "{h}");
    assert_eq!(restarts(&h, "pg-init"), 0, "{h}");
    assert!(!layout.pgdata().exists(), "something was created in PGDATA");
}

#[test]
fn a_missing_command_is_reported_in_health_and_backs_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let health_addr = format!("127.0.0.1:{}", util::free_port());
    let config = format!(
        r#"{}
[services.ghost]
command = ["/nonexistent/bin/ghost", "--serve"]
"#,
        util::supervisor_section(dir.path(), &health_addr)
    );
    let sup = Supervisor::start(dir.path(), &config, Mode::Pid1);
    let h = wait_for(
        "ghost in backoff after 4 tries",
        Duration::from_secs(10),
        || {
            util::get_json(&health_addr, "/health").and_then(|(_, h)| {
                (restarts(&h, "ghost") >= 4 && service(&h, "ghost")["state"] == "backoff")
                    .then_some(h)
            })
        },
    );
    let error = service(&h, "ghost")["last_exit"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("/nonexistent/bin/ghost") && error.contains("No such file"),
        "{h}"
    );
    assert_backoff(&sup, "ghost", 4);
}

#[test]
fn postgres_that_cannot_start_backs_off_says_why_and_recovers_when_fixed() {
    let layout = Layout::new();
    let mut sup = layout.start(&[]);
    wait_healthy(&layout.health, BOOT).expect("first boot");
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(Duration::from_secs(30)).success());

    // An operator's typo in postgresql.conf.
    let conf = layout.pgdata().join("postgresql.conf");
    let good = std::fs::read_to_string(&conf).expect("postgresql.conf");
    std::fs::write(&conf, format!("{good}\nshared_buffers = 'plenty'\n")).expect("break the conf");
    let before = tree(&layout.pgdata());

    let sup = layout.start(&[]);
    let h = wait_backoff(&layout, "postgres", 4);
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(service(&h, "postgres")["last_exit"]["code"], 1, "{h}");
    assert_eq!(service(&h, "migrate")["state"], "waiting", "{h}");
    let line = sup.wait_line(
        "invalid value for parameter \"shared_buffers\"",
        Duration::from_secs(5),
    );
    assert!(line.starts_with("postgres"), "{line}");
    assert_backoff(&sup, "postgres", 4);
    let after: Vec<String> = tree(&layout.pgdata());
    let missing: Vec<&String> = before.iter().filter(|f| !after.contains(f)).collect();
    assert!(missing.is_empty(), "deleted: {missing:?}");

    // Fixed while it waits: the next scheduled start succeeds on its own.
    std::fs::write(&conf, good).expect("fix the conf");
    let next = Duration::from_millis(
        service(&h, "postgres")["next_restart_in_ms"]
            .as_u64()
            .unwrap_or(0),
    );
    wait_healthy(&layout.health, next + Duration::from_secs(60))
        .unwrap_or_else(|| panic!("not healthy after the fix:\n{}", sup.output().join("\n")));
}

/// A supervisor started from a copy of the binary, killed on drop (its services get
/// `PR_SET_PDEATHSIG`).
struct Copied {
    child: std::process::Child,
}

impl Drop for Copied {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Regression (a bug the long chaos soak found): after the supervisor's own executable was replaced on
/// disk (a rebuild, an in-place upgrade), every restart of a `wms ...` service fails with
/// "cannot start: wms: No such file or directory": `resolve_program` asks
/// `std::env::current_exe()` at each spawn, which then names the unlinked file
/// ("/path/wms (deleted)").
#[test]
fn wms_services_restart_after_the_binary_is_replaced_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("bin")).expect("bin");
    std::fs::create_dir_all(d.join("www")).expect("www");
    std::fs::write(d.join("www/index.html"), "hi").expect("index");
    let bin = d.join("bin/wms");
    std::fs::copy(util::wms(), &bin).expect("copy the binary");
    let (health_addr, port) = (
        format!("127.0.0.1:{}", util::free_port()),
        util::free_port(),
    );
    let config = format!(
        r#"{}
[services.web]
command = ["wms", "web", "--root", "{d}/www", "--listen", "127.0.0.1:{port}", "--api", "http://127.0.0.1:9"]
ready = {{ http = "http://127.0.0.1:{port}/health/live", start_interval = "20ms" }}
"#,
        util::supervisor_section(d, &health_addr),
        d = d.display()
    );
    std::fs::write(d.join("config.toml"), config).expect("config");
    let sup = Copied {
        child: std::process::Command::new(&bin)
            .args(["supervise", "--config"])
            .arg(d.join("config.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the copied supervisor"),
    };
    wait_healthy(&health_addr, Duration::from_secs(30)).expect("healthy");

    // Replace the binary the way cargo or a package upgrade does: a new file at the path.
    std::fs::remove_file(&bin).expect("remove");
    std::fs::copy(util::wms(), &bin).expect("copy again");
    let web = util::children(sup.child.id())
        .into_iter()
        .find(|(_, cmd)| cmd.contains(" web "))
        .map(|(p, _)| p)
        .expect("web's pid");
    util::kill(web, libc::SIGKILL);
    let h = wait_for("web restarted", Duration::from_secs(10), || {
        util::get_json(&health_addr, "/health").and_then(|(code, h)| {
            (restarts(&h, "web") >= 1
                && (code == 200 || service(&h, "web")["last_exit"]["error"].is_string()))
            .then_some((code, h))
        })
    });
    assert_eq!(h.0, 200, "web was not restarted: {}", h.1);
}

/// Regression (a bug the long chaos soak found): a service that ran for 10 s or more and then cannot
/// be started again (its binary is gone, fork fails, ...) is restarted in a hot loop: the
/// uptime of the failed attempt is measured from the last *successful* start, so every
/// failure counts as "a stable run ended" (restart at once, backoff reset), and because the
/// spawn error is fed back synchronously the runtime never leaves its action loop: 113,000
/// restarts in 85 s, /health frozen at "healthy", signals unanswered.
#[test]
fn a_service_that_cannot_be_started_again_backs_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("bin")).expect("bin");
    let victim = d.join("bin/victim");
    std::fs::copy("/bin/sleep", &victim).expect("copy sleep");
    let health_addr = format!("127.0.0.1:{}", util::free_port());
    let config = format!(
        r#"{}
[services.victim]
command = ["{victim}", "100000"]
"#,
        util::supervisor_section(d, &health_addr),
        victim = victim.display()
    );
    let sup = Supervisor::start(d, &config, Mode::Pid1);
    // A stable run (the engine's STABLE_AFTER is 10 s).
    wait_for("victim up for 10 s", Duration::from_secs(30), || {
        util::get_json(&health_addr, "/health")
            .filter(|(_, h)| service(h, "victim")["uptime_s"].as_u64() >= Some(11))
    });
    std::fs::remove_file(&victim).expect("remove the binary");
    let pid = sup.child_pid("victim").expect("victim's pid");
    util::kill(pid, libc::SIGKILL);

    let h = wait_for(
        "/health showing victim in backoff",
        Duration::from_secs(5),
        || {
            util::get_json(&health_addr, "/health").and_then(|(_, h)| {
                (service(&h, "victim")["state"] == "backoff" && restarts(&h, "victim") >= 2)
                    .then_some(h)
            })
        },
    );
    let attempts = sup.count_lines("cannot start:");
    assert!(
        attempts < 20,
        "{attempts} start attempts in a few seconds: a hot loop ({h})"
    );
}
