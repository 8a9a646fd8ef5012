//! The supervisor's outside interfaces, for real: `/health`, `/metrics`, the control socket
//! and `wms ctl`, remembered stops, sd_notify, and `wms probe`.

mod util;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A stack of three: `db` (ready 0.3 s after start, via an exec probe), `api` after it,
/// and a oneshot `init` before both.
fn stack(d: &Path, port: u16, api_restart: &str) -> String {
    format!(
        r#"[supervisor]
health_listen = "127.0.0.1:{port}"
control_socket = "{d}/control.sock"
state_dir = "{d}/state"
shutdown_timeout = "10s"

[services.init]
command = ["true"]
oneshot = true

[services.db]
command = ["sh", "-c", "rm -f {d}/db.ready; sleep 0.3; touch {d}/db.ready; exec sleep 1000"]
depends_on = {{ init = "completed" }}
ready = {{ exec = ["test", "-f", "{d}/db.ready"], start_interval = "20ms", interval = "200ms" }}

[services.api]
command = ["sleep", "1001"]
restart = "{api_restart}"
depends_on = {{ db = "ready" }}
"#,
        d = d.display()
    )
}

fn health(addr: &str) -> (u16, Value) {
    wait_for("a /health answer", Duration::from_secs(5), || {
        get_json(addr, "/health")
    })
}

fn wait_status(addr: &str, want: &str) -> Value {
    wait_for(
        &format!("/health status {want}"),
        Duration::from_secs(10),
        || {
            get_json(addr, "/health")
                .filter(|(_, j)| j["status"] == want)
                .map(|(_, j)| j)
        },
    )
}

fn ctl(d: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(wms())
        .arg("ctl")
        .args(args)
        .arg("--socket")
        .arg(d.join("control.sock"))
        .output()
        .expect("run wms ctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn health_walks_starting_healthy_degraded_healthy() {
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let sup = Supervisor::start(d, &stack(d, port, "unless-stopped"), Mode::Pid1);

    let (code, first) = health(&addr);
    assert_eq!(code, 503);
    assert_eq!(first["status"], "starting", "{first}");

    let healthy = wait_status(&addr, "healthy");
    let (_, body) = http("GET", &addr, "/health").unwrap();
    let doc: wms::supervisor::health::HealthJson = serde_json::from_str(&body).unwrap();
    let names: Vec<&String> = doc.services.keys().collect();
    assert_eq!(names, ["init", "db", "api"], "start order");
    assert_eq!(healthy["services"]["init"]["state"], "completed");
    assert_eq!(healthy["services"]["init"]["last_exit"]["code"], 0);
    assert_eq!(healthy["services"]["init"]["oneshot"], true);
    let db = &healthy["services"]["db"];
    assert_eq!(db["state"], "ready");
    assert!(db["pid"].as_i64().unwrap() > 1);
    assert_eq!(db["restarts"], 0);
    assert!(db["uptime_s"].is_u64());
    assert_eq!(db["last_exit"], Value::Null);
    assert_eq!(db["next_restart_in_ms"], Value::Null);
    assert_eq!(db["waiting_for"], serde_json::json!([]));
    assert!(db.get("last_probe_error").is_some());
    assert_eq!(get_json(&addr, "/health").unwrap().0, 200);
    assert_eq!(http("GET", &addr, "/health/ready").unwrap().0, 200);
    assert_eq!(http("HEAD", &addr, "/health").unwrap().0, 200);

    // Kill db: degraded (db backoff or starting, its probe failing), then healthy again.
    let pid = sup.child_pid("sleep 1000").expect("db runs");
    kill(pid, libc::SIGKILL);
    let degraded = wait_status(&addr, "degraded");
    assert_eq!(http("GET", &addr, "/health/ready").unwrap().0, 503);
    assert_ne!(degraded["services"]["db"]["state"], "ready");
    let again = wait_status(&addr, "healthy");
    assert_eq!(again["services"]["db"]["restarts"], 1);
    assert_eq!(again["services"]["db"]["last_exit"]["signal"], "SIGKILL");
    assert_eq!(
        http("GET", &addr, "/health/live").unwrap(),
        (200, "ok\n".into())
    );
}

#[test]
fn metrics_parse_as_prometheus_text_and_counters_move() {
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let sup = Supervisor::start(d, &stack(d, port, "always"), Mode::Child);
    wait_status(&addr, "healthy");

    // A real parser: the Prometheus project's own Python client.
    let parse = |text: &str| -> Value {
        let script = "import sys, json\n\
            from prometheus_client.parser import text_string_to_metric_families\n\
            out = {}\n\
            for fam in text_string_to_metric_families(sys.stdin.read()):\n\
            \x20   for s in fam.samples:\n\
            \x20       key = s.name + ''.join(',%s=%s' % kv for kv in sorted(s.labels.items()))\n\
            \x20       out[key] = s.value\n\
            print(json.dumps(out))\n";
        let mut child =
            Command::new(std::env::var("WMS_TEST_PYTHON").unwrap_or_else(|_| "python3".into()))
                .args(["-c", script])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("python3");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "prometheus_client failed to parse:\n{text}"
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (code, text) = http("GET", &addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    let m = parse(&text);
    assert_eq!(m["wms_service_up,service=api"], 1.0);
    assert_eq!(m["wms_service_ready,service=db"], 1.0);
    assert_eq!(m["wms_service_restarts_total,service=api"], 0.0);
    assert_eq!(m["wms_service_state,service=init,state=completed"], 1.0);
    assert!(m["wms_supervisor_uptime_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(m["wms_build_info,version=0.1.0"], 1.0);

    let pid = sup.child_pid("sleep 1001").expect("api runs");
    kill(pid, libc::SIGKILL);
    let m = wait_for("restarts_total to move", Duration::from_secs(5), || {
        let m = parse(&http("GET", &addr, "/metrics").ok()?.1);
        (m["wms_service_restarts_total,service=api"] == 1.0).then_some(m)
    });
    assert_eq!(m["wms_service_last_exit_code,service=api"], 137.0);
}

#[test]
fn ctl_stop_start_restart_and_errors() {
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let sup = Supervisor::start(d, &stack(d, port, "unless-stopped"), Mode::Pid1);
    wait_status(&addr, "healthy");

    let (code, out, _) = ctl(d, &["status"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME  STATE"), "{out}");
    assert!(lines[1].starts_with("init  completed"), "{out}");
    assert!(lines[3].starts_with("api   ready"), "{out}");
    assert!(out.contains("status: healthy"), "{out}");
    let (code, json, _) = ctl(d, &["status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap()["status"],
        "healthy"
    );

    let (code, out, err) = ctl(d, &["stop", "api"]);
    // The answer shows the state after the stop was carried out; `sleep` may already be
    // reaped by the time the control task reads it (the loop runs in between).
    assert!(
        code == 0 && ["api: stopping", "api: stopped"].contains(&out.trim()),
        "{code} {out} {err}"
    );
    wait_for("api gone", Duration::from_secs(5), || {
        sup.child_pid("sleep 1001").is_none().then_some(())
    });
    // The stack turns degraded as soon as api leaves `ready` (at `stopping`); the child is
    // reaped, so `stopped` follows within the loop's next turn.
    wait_for(
        "api stopped, stack degraded",
        Duration::from_secs(10),
        || {
            get_json(&addr, "/health").filter(|(_, j)| {
                j["status"] == "degraded" && j["services"]["api"]["state"] == "stopped"
            })
        },
    );

    let (code, _, _) = ctl(d, &["start", "api"]);
    assert_eq!(code, 0);
    wait_status(&addr, "healthy");
    let first = sup.child_pid("sleep 1001").expect("api runs again");

    let (code, _, _) = ctl(d, &["restart", "api"]);
    assert_eq!(code, 0);
    let second = wait_for("a new api pid", Duration::from_secs(5), || {
        sup.child_pid("sleep 1001").filter(|p| *p != first)
    });
    assert_ne!(first, second);

    let (code, _, err) = ctl(d, &["stop"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("needs a service name") && err.contains("podman stop"),
        "{err}"
    );
    let (code, _, err) = ctl(d, &["stop", "bakend"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown service \"bakend\" (services: init, db, api)"),
        "{err}"
    );
    let meta = std::fs::metadata(d.join("control.sock")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );

    let (code, _, err) = ctl(Path::new("/nonexistent-dir"), &["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("is the supervisor running?"), "{err}");
}

#[test]
fn unless_stopped_is_remembered_across_restarts_but_always_is_not() {
    for (policy, stays_stopped) in [("unless-stopped", true), ("always", false)] {
        let dir = tempdir();
        let d = dir.path();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let config = stack(d, port, policy);
        let mut sup = Supervisor::start(d, &config, Mode::Child);
        wait_status(&addr, "healthy");
        assert_eq!(ctl(d, &["stop", "api"]).0, 0);
        wait_status(&addr, "degraded");
        sup.signal(libc::SIGTERM);
        assert!(sup.wait_exit(Duration::from_secs(10)).success());

        let sup = Supervisor::start(d, &config, Mode::Child);
        let j = wait_for(
            "db ready after the restart",
            Duration::from_secs(10),
            || {
                get_json(&addr, "/health").map(|(_, j)| j).filter(|j| {
                    j["services"]["db"]["state"] == "ready"
                        && j["services"]["api"]["state"] != "waiting"
                })
            },
        );
        let state = j["services"]["api"]["state"].as_str().unwrap().to_owned();
        if stays_stopped {
            assert_eq!(state, "stopped", "{policy}: {j}");
            assert!(sup.child_pid("sleep 1001").is_none());
        } else {
            assert_ne!(state, "stopped", "{policy}: {j}");
            wait_status(&addr, "healthy");
        }
    }
}

/// Notification messages with their arrival times.
type Received = Vec<(Instant, String)>;

fn notify_messages(socket_name: &str, bind: impl FnOnce(&Path) -> UnixDatagram) {
    let dir = tempdir();
    let d = dir.path();
    let listener = bind(d);
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let notify_socket = socket_name.replace("DIR", &d.display().to_string());
    // A service that would speak sd_notify itself if it could (as PostgreSQL does).
    let config = format!(
        "{}\n[services.talker]\ncommand = [\"sh\", \"-c\", \"echo notify=[$NOTIFY_SOCKET] watchdog=[$WATCHDOG_USEC]; exec sleep 1000\"]\n",
        stack(d, port, "unless-stopped")
    );
    let mut sup = Supervisor::start_with_env(
        d,
        &config,
        Mode::Pid1,
        &[
            ("NOTIFY_SOCKET", &notify_socket),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut got: Received = Vec::new();
    let receive_until = |got: &mut Received, done: &dyn Fn(&Received) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while !done(got) {
            assert!(Instant::now() < deadline, "messages so far: {got:?}");
            if let Ok(n) = listener.recv(&mut buf) {
                got.push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
    };
    receive_until(&mut got, &|g| {
        g.iter().filter(|(_, m)| m == "WATCHDOG=1").count() >= 3
            && g.iter().any(|(_, m)| m.starts_with("STATUS=healthy"))
    });
    // Regression (container test): services must not inherit the manager's channel.
    let talker = sup.wait_line("talker | notify=", Duration::from_secs(5));
    assert!(talker.ends_with("notify=[] watchdog=[]"), "{talker}");
    let ready_at = got
        .iter()
        .find(|(_, m)| m.starts_with("READY=1"))
        .unwrap()
        .0;
    // READY only once everything is healthy: /health agrees right after.
    assert_eq!(get_json(&addr, "/health").unwrap().1["status"], "healthy");
    let ready = &got
        .iter()
        .find(|(_, m)| m.starts_with("READY=1"))
        .unwrap()
        .1;
    assert!(
        ready.contains("MAINPID=") && ready.contains("STATUS=healthy: all 4 services ready"),
        "{ready}"
    );
    let statuses: Vec<&String> = got
        .iter()
        .map(|(_, m)| m)
        .filter(|m| m.starts_with("STATUS="))
        .collect();
    assert!(
        statuses[0].starts_with("STATUS=starting") || statuses[0].starts_with("STATUS=healthy"),
        "{statuses:?}"
    );
    assert!(
        got.iter()
            .filter(|(t, m)| m.starts_with("READY=1") && *t >= ready_at)
            .count()
            == 1
    );

    sup.signal(libc::SIGTERM);
    receive_until(&mut got, &|g| {
        g.iter().any(|(_, m)| m.starts_with("STOPPING=1"))
    });
    assert!(sup.wait_exit(Duration::from_secs(10)).success());
    let order: Vec<&str> = got
        .iter()
        .filter_map(|(_, m)| {
            ["READY=1", "STOPPING=1"]
                .into_iter()
                .find(|p| m.starts_with(p))
        })
        .collect();
    assert_eq!(order, ["READY=1", "STOPPING=1"]);
    assert_eq!(
        got.iter().filter(|(_, m)| m.starts_with("READY=1")).count(),
        1,
        "READY=1 exactly once"
    );
}

#[test]
fn sd_notify_to_a_path_socket() {
    notify_messages("DIR/notify.sock", |d| {
        UnixDatagram::bind(d.join("notify.sock")).unwrap()
    });
}

#[test]
fn sd_notify_to_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("wms-test-notify-{}", std::process::id());
    let at = format!("@{name}");
    notify_messages(&at, move |_| {
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixDatagram::bind_addr(&addr).unwrap()
    });
}

#[test]
fn probe_exit_codes_and_reasons() {
    let run = |args: &[&str]| {
        let out = Command::new(wms())
            .arg("probe")
            .args(args)
            .output()
            .expect("wms probe");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _sup = Supervisor::start(d, &stack(d, port, "always"), Mode::Child);
    wait_for("health listener", Duration::from_secs(5), || {
        get_json(&addr, "/health")
    });

    assert_eq!(run(&[&format!("http://{addr}/health/live")]).0, 0);
    let (code, err) = run(&[&format!("http://{addr}/nope")]);
    assert_eq!(code, 1);
    assert!(err.contains("answered status 404"), "{err}");
    let closed = free_port();
    let (code, err) = run(&[&format!("http://127.0.0.1:{closed}/")]);
    assert_eq!(code, 1);
    assert!(err.contains("Connection refused"), "{err}");
    // A listener that never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    let (code, err) = run(&[
        &format!("http://{}/", silent.local_addr().unwrap()),
        "--timeout",
        "300ms",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("timed out after 300ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let (code, err) = run(&["https://example.invalid/"]);
    assert_eq!(code, 2);
    assert!(err.contains("not an http:// URL"), "{err}");
}
