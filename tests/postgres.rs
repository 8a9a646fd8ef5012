//! Embedded PostgreSQL under `wms supervise` as PID 1, for real: first boot, persistence,
//! clean stop, crash recovery, bad data directories, password sources, init scripts.
//!
//! Uses the PostgreSQL found like the image does (`PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin`): 15 on the dev machine, 17 in the image.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use util::*;

/// A temp dir the `postgres` user can traverse.
fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

struct Pg {
    health: String,
    port: u16,
}

fn config(d: &Path, pg: &Pg) -> String {
    format!(
        r#"[supervisor]
health_listen = "{health}"
control_socket = "{d}/control.sock"
state_dir = "{d}/state"

[services.pg-init]
command = ["wms", "pg-init"]
oneshot = true
capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"]
inherit_env = ["PGDATA", "PGPORT", "PG_*", "POSTGRES_*", "WMS_INITDB_DIR", "WMS_DB_*"]

[services.postgres]
command = ["wms", "postgres", "-D", "{d}/data", "-c", "listen_addresses=127.0.0.1", "-c", "port={port}", "-c", "unix_socket_directories={d}/run"]
user = "postgres"
depends_on = {{ pg-init = "completed" }}
ready = {{ postgres = "host={d}/run port={port} user=wmsadmin dbname=postgres", start_interval = "20ms", interval = "1s" }}
stop_signal = "SIGINT"
stop_timeout = "20s"
"#,
        d = d.display(),
        health = pg.health,
        port = pg.port,
    )
}

fn env(d: &Path, pg: &Pg, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PGDATA", d.join("data").display().to_string()),
        ("PGPORT", pg.port.to_string()),
        ("PG_SOCKET_DIR", d.join("run").display().to_string()),
        ("POSTGRES_USER", "wmsadmin".to_owned()),
        ("POSTGRES_DB", "stock".to_owned()),
        ("WMS_INITDB_DIR", d.join("initdb.d").display().to_string()),
    ];
    env.extend(extra.iter().cloned());
    env
}

fn start(d: &Path, pg: &Pg, extra: &[(&'static str, String)]) -> Supervisor {
    let env = env(d, pg, extra);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Supervisor::start_with_env(d, &config(d, pg), Mode::Pid1, &pairs)
}

fn new_pg() -> Pg {
    Pg {
        health: format!("127.0.0.1:{}", free_port()),
        port: free_port(),
    }
}

fn wait_healthy(pg: &Pg) -> serde_json::Value {
    wait_for("a healthy stack", Duration::from_secs(60), || {
        get_json(&pg.health, "/health")
            .filter(|(c, _)| *c == 200)
            .map(|(_, j)| j)
    })
}

/// Runs SQL over TCP with a password (so role, password and scram are all exercised).
fn sql(pg: &Pg, password: &str, query: &str) -> Result<Vec<String>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let conn = format!(
            "host=127.0.0.1 port={} user=wmsadmin password={password} dbname=stock connect_timeout=5",
            pg.port
        );
        let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned()))?;
        tokio::spawn(connection);
        let rows = client.simple_query(query).await.map_err(|e| e.to_string())?;
        Ok(rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect())
    })
}

#[test]
fn first_boot_creates_role_password_and_database_then_data_survives_a_clean_restart() {
    let dir = tempdir();
    let d = dir.path();
    let pg = new_pg();
    std::fs::create_dir(d.join("initdb.d")).unwrap();
    std::fs::write(
        d.join("initdb.d/01-schema.sql"),
        "CREATE TABLE seeded (n int); INSERT INTO seeded VALUES (42);",
    )
    .unwrap();
    std::fs::write(
        d.join("initdb.d/02-note.sh"),
        format!(
            "echo \"ran as $(id -un) for $PGDATABASE\" >> {}/init-runs\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();

    let mut sup = start(d, &pg, &[("POSTGRES_PASSWORD", "s3cret-pw".to_owned())]);
    wait_healthy(&pg);
    assert_eq!(
        sql(
            &pg,
            "s3cret-pw",
            "SELECT current_user || '@' || current_database()"
        )
        .unwrap(),
        ["wmsadmin@stock"]
    );
    let wrong = sql(&pg, "wrong", "SELECT 1").unwrap_err();
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    assert_eq!(
        sql(&pg, "s3cret-pw", "SELECT n FROM seeded").unwrap(),
        ["42"]
    );
    assert_eq!(
        std::fs::read_to_string(d.join("init-runs")).unwrap(),
        "ran as postgres for stock\n"
    );
    sql(
        &pg,
        "s3cret-pw",
        "CREATE TABLE movements (id int); INSERT INTO movements VALUES (7)",
    )
    .unwrap();
    assert!(
        !d.join("data/wms-postgres-password").exists(),
        "a given password is not stored"
    );

    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(Duration::from_secs(30)).success());
    let out = sup.output().join("\n");
    assert!(
        out.contains("postgres | ") && out.contains("database system is shut down"),
        "{out}"
    );

    // Second boot: the same data, no recovery needed, init scripts not run again.
    let sup = start(d, &pg, &[]);
    wait_healthy(&pg);
    assert_eq!(
        sql(&pg, "s3cret-pw", "SELECT id FROM movements").unwrap(),
        ["7"]
    );
    let out = sup.output().join("\n");
    assert!(out.contains("using the existing PostgreSQL"), "{out}");
    assert!(out.contains("database system was shut down at"), "{out}");
    assert!(!out.contains("automatic recovery in progress"), "{out}");
    assert_eq!(
        std::fs::read_to_string(d.join("init-runs"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[test]
fn killed_postmaster_is_restarted_with_crash_recovery_and_password_from_a_file() {
    let dir = tempdir();
    let d = dir.path();
    let pg = new_pg();
    std::fs::write(d.join("pw"), "from-a-file\n").unwrap();
    let sup = start(
        d,
        &pg,
        &[("POSTGRES_PASSWORD_FILE", d.join("pw").display().to_string())],
    );
    wait_healthy(&pg);
    sql(
        &pg,
        "from-a-file",
        "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000)",
    )
    .unwrap();

    let postmaster = sup.child_pid(" -D ").expect("postmaster");
    kill(postmaster, libc::SIGKILL);
    wait_for("degraded", Duration::from_secs(10), || {
        get_json(&pg.health, "/health").filter(|(c, j)| *c == 503 && j["status"] == "degraded")
    });
    let health = wait_healthy(&pg);
    assert_eq!(health["services"]["postgres"]["restarts"], 1);
    assert_eq!(
        health["services"]["postgres"]["last_exit"]["signal"],
        "SIGKILL"
    );
    assert_eq!(
        sql(&pg, "from-a-file", "SELECT count(*) FROM t").unwrap(),
        ["1000"]
    );
    let out = sup.output().join("\n");
    assert!(out.contains("database system was interrupted"), "{out}");
    assert!(
        out.contains("redo done") || out.contains("automatic recovery in progress"),
        "{out}"
    );
}

#[test]
fn without_a_password_one_is_generated_and_kept_private() {
    let dir = tempdir();
    let d = dir.path();
    let pg = new_pg();
    let _sup = start(d, &pg, &[]);
    wait_healthy(&pg);
    let file = d.join("data/wms-postgres-password");
    let meta = std::fs::metadata(&file).expect("generated password file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let password = std::fs::read_to_string(&file).unwrap();
    let password = password.trim();
    assert!(password.len() >= 24, "{password:?}");
    assert_eq!(sql(&pg, password, "SELECT 1").unwrap(), ["1"]);
}

/// Runs `wms pg-init` alone with the test's environment.
fn pg_init(d: &Path, pg: &Pg) -> (i32, String) {
    let out = std::process::Command::new(wms())
        .arg("pg-init")
        .envs(env(d, pg, &[]))
        .output()
        .expect("run wms pg-init");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bad_data_directories_are_refused_clearly_and_nothing_is_deleted() {
    let dir = tempdir();
    let d = dir.path();
    let pg = new_pg();
    let data = d.join("data");

    // A cluster of another major version.
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("PG_VERSION"), "9\n").unwrap();
    std::fs::write(data.join("precious"), "rows").unwrap();
    let before = listing(&data);
    let (code, out) = pg_init(d, &pg);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("holds a PostgreSQL 9 cluster, but this server is PostgreSQL"),
        "{out}"
    );
    assert!(out.contains("pg_upgrade"), "{out}");
    assert_eq!(listing(&data), before);

    // Something that is not a cluster at all.
    std::fs::remove_file(data.join("PG_VERSION")).unwrap();
    let (code, out) = pg_init(d, &pg);
    assert_eq!(code, 1);
    assert!(
        out.contains("not empty but holds no PostgreSQL cluster (it contains: precious)"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("precious")).unwrap(),
        "rows"
    );
    std::fs::remove_dir_all(&data).unwrap();

    // A real cluster, owned by the wrong user: the supervisor shows it in /health too.
    assert_eq!(pg_init(d, &pg).0, 0, "first boot");
    std::os::unix::fs::chown(&data, Some(0), Some(0)).unwrap();
    let before = listing(&data);
    let sup = start(d, &pg, &[]);
    let health = wait_for("pg-init to fail", Duration::from_secs(20), || {
        get_json(&pg.health, "/health")
            .filter(|(_, j)| j["services"]["pg-init"]["state"] == "failed")
    })
    .1;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["services"]["pg-init"]["last_exit"]["code"], 1);
    assert_eq!(health["services"]["postgres"]["state"], "waiting");
    let line = sup.wait_line(
        "owned by uid 0, but PostgreSQL runs as uid",
        Duration::from_secs(5),
    );
    assert!(line.contains("fix with: chown -R"), "{line}");
    assert_eq!(listing(&data), before);
}
