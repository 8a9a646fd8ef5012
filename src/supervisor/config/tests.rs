//! Config parsing and validation: one test per promised message, plus the resolved plan.

use super::*;
use std::time::Duration;

use super::schema::line_col;
use crate::supervisor::plan::{
    Condition, Credentials, Dependency, ProbeKind, RestartPolicy, ServiceId, Signal,
};

/// A host with one known user and group and one env file.
struct FakeHost;

impl Host for FakeHost {
    fn user(&self, name: &str) -> Result<Option<Credentials>, String> {
        Ok((name == "postgres").then(|| Credentials {
            name: "postgres".into(),
            uid: 101,
            gid: 102,
            groups: vec![102, 110],
            home: "/var/lib/postgresql".into(),
        }))
    }
    fn group(&self, name: &str) -> Result<Option<u32>, String> {
        Ok((name == "ssl-cert").then_some(110))
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == Path::new("/etc/wms/app.env") {
            Ok("# comment\nA=1\nexport B='two words'\nC=\"3\"\n".into())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        "PORT" => Some("9000".into()),
        "EMBEDDED" => Some("false".into()),
        _ => None,
    }
}

fn check(text: &str) -> Result<Plan, ConfigError> {
    parse(Path::new("/etc/wms/config.toml"), text, &env, &FakeHost)
}

/// The rendered error text, one problem per line.
fn errors(text: &str) -> String {
    match check(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn full_plan_is_resolved_in_start_order() {
    let plan = check(
        r#"
[supervisor]
health_listen = "127.0.0.1:${PORT}"
shutdown_timeout = "25s"

[services.web]
command = ["wms", "web"]
depends_on = { backend = "ready" }
ready = { http = "http://127.0.0.1:${PORT:-8080}/health" }

[services.backend]
command = ["wms", "backend"]
depends_on = { migrate = "completed" }
env_file = "app.env"
env = { B = "override", SECRET = "${SECRET_KEY:-}" }

[services.migrate]
command = ["wms", "migrate"]
oneshot = true
depends_on = { postgres = "ready" }

[services.postgres]
command = ["postgres", "-D", "/data"]
user = "postgres"
group = "ssl-cert"
stop_signal = "INT"
stop_timeout = "20s"
ready = { tcp = "127.0.0.1:5432", start_interval = "20ms", retries = 5 }
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["postgres", "migrate", "backend", "web"]);
    assert_eq!(
        plan.supervisor.health_listen,
        Some("127.0.0.1:9000".parse().unwrap())
    );
    assert_eq!(plan.supervisor.shutdown_timeout, Duration::from_secs(25));

    let pg = &plan.services[0];
    assert_eq!(pg.stop_signal, Signal::INT);
    assert_eq!(pg.stop_timeout, Duration::from_secs(20));
    assert_eq!(pg.restart, RestartPolicy::UnlessStopped);
    let user = pg.user.as_ref().unwrap();
    assert_eq!((user.uid, user.gid), (101, 110));
    let probe = pg.ready.as_ref().unwrap();
    assert_eq!(probe.kind, Some(ProbeKind::Tcp("127.0.0.1:5432".into())));
    assert_eq!(probe.start_interval, Duration::from_millis(20));
    assert_eq!(probe.retries, 5);
    assert_eq!(probe.interval, defaults::PROBE_INTERVAL);

    let migrate = &plan.services[1];
    assert!(migrate.is_oneshot);
    assert_eq!(
        migrate.restart,
        RestartPolicy::No,
        "oneshots default to no restart"
    );
    assert_eq!(
        migrate.depends_on,
        [Dependency {
            on: ServiceId(0),
            condition: Condition::Ready
        }]
    );

    let backend = &plan.services[2];
    assert_eq!(
        backend.env,
        [
            ("A".into(), "1".into()),
            ("C".into(), "3".into()),
            ("B".into(), "override".into()),
            ("SECRET".into(), String::new()),
        ]
    );
    let web = &plan.services[3];
    match &web.ready.as_ref().unwrap().kind {
        Some(ProbeKind::Http(t)) => assert_eq!(t.to_string(), "http://127.0.0.1:9000/health"),
        other => panic!("{other:?}"),
    }
    let summary = plan.to_string();
    assert!(summary.contains("1. postgres (service)"), "{summary}");
    assert!(summary.contains("after:   migrate completed"), "{summary}");
    assert!(
        summary.contains("stop:    SIGINT then SIGKILL after 20s"),
        "{summary}"
    );
}

#[test]
fn independent_services_keep_declaration_order() {
    let plan = check(
        "[services.b]\ncommand=[\"b\"]\n[services.a]\ncommand=[\"a\"]\n[services.c]\ncommand=[\"c\"]\ndepends_on={a=\"started\"}\n",
    )
    .unwrap();
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"]);
}

#[test]
fn disabled_services_are_left_out_with_their_edges() {
    let plan = check(
        r#"
[services.postgres]
command = ["postgres"]
enabled = "${EMBEDDED:-true}"
[services.backend]
command = ["wms", "backend"]
depends_on = { postgres = "ready" }
"#,
    )
    .unwrap();
    assert_eq!(plan.services.len(), 1);
    assert!(plan.services[0].depends_on.is_empty());
    assert_eq!(plan.disabled[0].as_str(), "postgres");
}

#[test]
fn unknown_key_names_file_position_and_path() {
    let e = errors("[services.web]\ncommand = [\"x\"]\ncomand = [\"y\"]\n");
    assert!(
        e.starts_with("/etc/wms/config.toml:3:1: services.web.comand: unknown field `comand`"),
        "{e}"
    );
    let e = errors("[supervisor]\nhealth = \"x\"\n");
    assert!(
        e.starts_with("/etc/wms/config.toml:2:1: supervisor.health: unknown field `health`"),
        "{e}"
    );
    let e = errors("[services.web]\ncommand = [\"x\"]\nready = { htp = \"x\" }\n");
    assert!(
        e.contains(":3:11: services.web.ready.htp: unknown field `htp`"),
        "{e}"
    );
}

#[test]
fn syntax_and_type_errors_have_positions() {
    let e = errors("[services.web\ncommand = 1\n");
    assert!(e.starts_with("/etc/wms/config.toml:1:"), "{e}");
    let e = errors("[services.web]\ncommand = \"wms web\"\n");
    assert!(
        e.starts_with("/etc/wms/config.toml:2:11: services.web.command:"),
        "{e}"
    );
    let e = errors("[services.web]\ncommand = [\"x\"]\nmax_restarts = -1\n");
    assert!(e.contains(":3:16: services.web.max_restarts:"), "{e}");
}

#[test]
fn missing_command() {
    let e = errors("[services.web]\nrestart = \"always\"\n");
    assert_eq!(
        e,
        "/etc/wms/config.toml:1:1: services.web: missing `command` (the program to run, e.g. command = [\"wms\", \"backend\"])"
    );
    let e = errors("[services.web]\ncommand = []\n");
    assert!(
        e.contains("2:11: services.web.command: must name a program"),
        "{e}"
    );
}

#[test]
fn unknown_dependency_and_self_dependency() {
    let e = errors(
        "[services.web]\ncommand = [\"x\"]\ndepends_on = { bakend = \"ready\", web = \"started\" }\n",
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "/etc/wms/config.toml:3:16: services.web.depends_on.bakend: unknown service \"bakend\"",
            "/etc/wms/config.toml:3:34: services.web.depends_on.web: a service cannot depend on itself",
        ]
    );
}

#[test]
fn dependency_cycle_is_printed() {
    let e = errors(
        "[services.a]\ncommand=[\"a\"]\ndepends_on={c=\"ready\"}\n[services.b]\ncommand=[\"b\"]\ndepends_on={a=\"ready\"}\n[services.c]\ncommand=[\"c\"]\ndepends_on={b=\"started\"}\n",
    );
    assert!(e.contains("dependency cycle: a -> c -> b -> a"), "{e}");
    assert!(
        e.starts_with("/etc/wms/config.toml:1:1: services.a.depends_on:"),
        "{e}"
    );
}

#[test]
fn completed_needs_a_oneshot() {
    let e = errors(
        "[services.a]\ncommand=[\"a\"]\n[services.b]\ncommand=[\"b\"]\ndepends_on={a=\"completed\"}\n",
    );
    assert!(
        e.contains("services.b.depends_on.a: \"a\" is not a oneshot"),
        "{e}"
    );
}

#[test]
fn bad_values_are_all_reported_together() {
    let e = errors(
        r#"[services.web]
command = ["x"]
stop_timeout = "10 parsecs"
stop_signal = "SIGNOPE"
restart = "sometimes"
user = "nobody-here"
depends_on = { db = "soon" }
[services.db]
command = ["y"]
ready = { http = "https://db/health", interval = "0s" }
backoff_max = "${MISSING:?set backoff}"
"#,
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 7, "{e}");
    assert!(
        lines[0].starts_with(
            "/etc/wms/config.toml:3:16: services.web.stop_timeout: invalid duration \"10 parsecs\""
        ),
        "{e}"
    );
    assert!(
        lines[1].starts_with(
            "/etc/wms/config.toml:4:15: services.web.stop_signal: unknown signal name \"SIGNOPE\""
        ),
        "{e}"
    );
    assert!(
        lines[2].starts_with(
            "/etc/wms/config.toml:5:11: services.web.restart: unknown restart policy \"sometimes\""
        ),
        "{e}"
    );
    assert_eq!(
        lines[3],
        "/etc/wms/config.toml:6:8: services.web.user: unknown user \"nobody-here\""
    );
    assert!(
        lines[4].starts_with(
            "/etc/wms/config.toml:7:21: services.web.depends_on.db: unknown condition \"soon\""
        ),
        "{e}"
    );
    assert!(
        lines[5]
            .contains("10:18: services.db.ready.http: \"https://db/health\" is not an http:// URL"),
        "{e}"
    );
    assert!(
        lines[6]
            .contains("services.db.backoff_max: required variable MISSING is not set: set backoff"),
        "{e}"
    );
}

#[test]
fn probe_needs_exactly_one_kind() {
    let e =
        errors("[services.a]\ncommand=[\"a\"]\nready={ tcp = \"h:1\", http = \"http://h/\" }\n");
    assert!(
        e.contains("services.a.ready: give exactly one probe kind"),
        "{e}"
    );
    let e = errors("[services.a]\ncommand=[\"a\"]\nready={ tcp = \"nohostport\" }\n");
    assert!(
        e.contains("services.a.ready.tcp: \"nohostport\" is not HOST:PORT"),
        "{e}"
    );
}

#[test]
fn env_file_problems() {
    let e = errors("[services.a]\ncommand=[\"a\"]\nenv_file=\"missing.env\"\n");
    assert!(
        e.contains("services.a.env_file: cannot read /etc/wms/missing.env"),
        "{e}"
    );
    assert_eq!(
        parse_env_file("A=1\nnot a pair\n"),
        Err((2, "expected KEY=VALUE".into()))
    );
    assert_eq!(
        parse_env_file("1A=x"),
        Err((1, "\"1A\" is not a valid variable name".into()))
    );
}

#[test]
fn bad_service_names() {
    let e = errors("[services.\"a b\"]\ncommand=[\"a\"]\n");
    assert!(
        e.contains("services.a b: a service name may only hold"),
        "{e}"
    );
}

#[test]
fn health_listen_can_be_switched_off_or_rejected() {
    let plan = check("[supervisor]\nhealth_listen = \"off\"\n").unwrap();
    assert_eq!(plan.supervisor.health_listen, None);
    let e = errors("[supervisor]\nhealth_listen = \"localhost\"\n");
    assert!(
        e.contains("supervisor.health_listen: \"localhost\" is not an address"),
        "{e}"
    );
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\ncd", 0), (1, 1));
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(line_col("жж\nx", "жж".len()), (1, 3));
    assert_eq!(line_col("x", 99), (1, 2));
}

#[test]
fn empty_user_keeps_the_supervisors_identity() {
    let plan = check("[services.a]\ncommand=[\"a\"]\nuser=\"${NOT_SET-}\"\n").unwrap();
    assert_eq!(plan.services[0].user, None);
}

#[test]
fn schedules_are_parsed_and_only_for_oneshots() {
    let plan = check(
        r#"
[services.backup]
command = ["backup"]
oneshot = true
schedule = "every ${HOURS:-24}h"
[services.drill]
command = ["drill"]
oneshot = true
schedule = "daily 03:30"
"#,
    )
    .unwrap();
    assert_eq!(plan.services[0].schedule.unwrap().to_string(), "every 1day");
    assert_eq!(
        plan.services[1].schedule.unwrap().to_string(),
        "daily 03:30 UTC"
    );
    let e = errors(
        r#"
[services.web]
command = ["web"]
schedule = "every 1h"
[services.job]
command = ["job"]
oneshot = true
schedule = "hourly"
"#,
    );
    assert!(
        e.contains(
            "config.toml:4:12: services.web.schedule: only a oneshot (oneshot = true) can run on a schedule"
        ),
        "{e}"
    );
    assert!(
        e.contains("config.toml:8:12: services.job.schedule: unknown schedule \"hourly\""),
        "{e}"
    );
}

#[test]
fn readiness_by_notification_with_or_without_a_liveness_probe() {
    let plan = check(
        r#"
[services.a]
command = ["a"]
ready = { notify = true }
[services.b]
command = ["b"]
ready = { notify = true, http = "http://127.0.0.1:1/live", start_period = "2m" }
"#,
    )
    .unwrap();
    let a = plan.services[0].ready.as_ref().unwrap();
    assert!(a.is_notify && a.kind.is_none());
    let b = plan.services[1].ready.as_ref().unwrap();
    assert!(b.is_notify && b.kind.is_some());
    assert_eq!(b.start_period, Duration::from_secs(120));
    let e = errors("[services.c]\ncommand = [\"c\"]\nready = { interval = \"1s\" }\n");
    assert!(
        e.contains("services.c.ready: give exactly one probe kind"),
        "{e}"
    );
}
