//! Least privilege and hostile users against the real stack (`config.toml` under `wms
//! supervise` as PID 1), issue 14. Each test runs one attack or inspection and asserts the
//! refusal; docs/security.md maps every threat to its defence and to the test here.

mod proof;
mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use proof::api::Api;
use proof::http::Request;
use proof::sql::Sql;
use proof::stack::{Layout, health, service_host_pid, wait_healthy};
use util::{Supervisor, wms};

const BOOT: Duration = Duration::from_secs(120);

/// Fields of `/proc/PID/status`.
fn status_field(pid: u32, name: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// The variable names in `/proc/PID/environ`.
fn environ(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("/proc environ");
    raw.split(|b| *b == 0)
        .filter_map(|kv| kv.split(|b| *b == b'=').next())
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn uid_of(name: &str) -> String {
    let out = Command::new("id").args(["-u", name]).output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A stack, healthy.
fn healthy_stack(layout: &Layout, extra: &[(&str, &str)]) -> Supervisor {
    let sup = layout.start(extra);
    if wait_healthy(&layout.health, BOOT).is_none() {
        panic!(
            "the stack did not become healthy:\n{}",
            sup.output().join("\n")
        );
    }
    sup
}

#[test]
fn every_service_runs_as_its_own_account_without_capabilities() {
    let layout = Layout::new();
    let sup = healthy_stack(&layout, &[]);
    let (_, h) = health(&layout.health).expect("/health");
    assert_eq!(
        status_field(sup.pid, "Uid"),
        "0",
        "the supervisor keeps root"
    );
    for (service, account) in [
        ("postgres", "postgres"),
        ("backend", "wms"),
        ("web", "wms-web"),
    ] {
        let pid = service_host_pid(&sup, &h, service).expect("service pid");
        assert_eq!(
            status_field(pid, "Uid"),
            uid_of(account),
            "{service} does not run as {account}"
        );
        assert_eq!(
            status_field(pid, "NoNewPrivs"),
            "1",
            "{service}: no_new_privs"
        );
        assert_eq!(
            status_field(pid, "CapEff"),
            "0000000000000000",
            "{service}: effective capabilities"
        );
        assert_eq!(
            status_field(pid, "CapBnd"),
            "0000000000000000",
            "{service}: bounding set"
        );
    }
}

/// The descriptors a process holds, as `fd -> target`.
fn open_fds(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc fd")
        .flatten()
    {
        let target =
            std::fs::read_link(e.path()).map_or_else(|_| "?".into(), |t| t.display().to_string());
        out.push((e.file_name().to_string_lossy().into_owned(), target));
    }
    out.sort();
    out
}

#[test]
fn a_service_inherits_no_descriptor_of_another() {
    let layout = Layout::new();
    let sup = healthy_stack(&layout, &[]);
    let (_, h) = health(&layout.health).expect("/health");
    // web starts last: every other service's pipes existed when it was spawned.
    let web = service_host_pid(&sup, &h, "web").expect("web pid");
    let pipes: Vec<(String, String)> = open_fds(web)
        .into_iter()
        .filter(|(_, t)| t.starts_with("pipe:"))
        .collect();
    let stdio: Vec<&str> = pipes.iter().map(|(fd, _)| fd.as_str()).collect();
    assert_eq!(
        stdio,
        ["1", "2"],
        "web holds pipes beyond its own stdout/stderr: {pipes:?}"
    );
}

#[test]
fn web_sees_no_secret_and_the_backend_only_its_own() {
    let layout = Layout::new();
    let sup = healthy_stack(&layout, &[("SECRET_KEY", &"k".repeat(48))]);
    let (_, h) = health(&layout.health).expect("/health");
    let secrets = [
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "WMS_ADMIN_PASSWORD",
        "DATABASE_PASSWORD",
        "DATABASE_URL",
    ];
    let web = environ(service_host_pid(&sup, &h, "web").expect("web pid"));
    for s in secrets {
        assert!(
            !web.contains(&s.to_owned()),
            "web's environment holds {s}: {web:?}"
        );
    }
    let backend = environ(service_host_pid(&sup, &h, "backend").expect("backend pid"));
    assert!(
        backend.contains(&"DATABASE_PASSWORD".to_owned()),
        "{backend:?}"
    );
    assert!(backend.contains(&"SECRET_KEY".to_owned()), "{backend:?}");
    assert!(
        !backend.contains(&"POSTGRES_PASSWORD".to_owned()),
        "the backend sees the superuser's password: {backend:?}"
    );
}

#[test]
fn the_application_connects_as_a_role_that_is_not_a_superuser() {
    let layout = Layout::new();
    let _sup = healthy_stack(&layout, &[]);
    let api = Api::login(&layout.web(), Duration::from_secs(30)).expect("log in");
    api.create_product("SEC-ROLE").expect("a product");
    let db = Sql::superuser(&layout, "wms");
    let roles = db.query(
        "SELECT DISTINCT a.usename || ' super=' || r.rolsuper FROM pg_stat_activity a \
         JOIN pg_roles r ON r.rolname = a.usename \
         WHERE a.datname = 'wms' AND a.pid <> pg_backend_pid()",
    );
    assert_eq!(roles, ["wms super=false"], "the backend's connections");
    let owners = db.query(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S')",
    );
    assert_eq!(owners, ["wms"], "the schema's owner");
    let attrs = db.query(
        "SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text || rolreplication::text \
         FROM pg_roles WHERE rolname = 'wms'",
    );
    assert_eq!(attrs, ["falsefalsefalsefalse"]);
}

/// `psql` over the stack's socket as an OS account, without a password.
fn psql_as(account: &str, layout: &Layout, user: &str) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", account, "--", "psql", "-X", "-w", "-tA"])
        .arg("-h")
        .arg(layout.dir.join("run"))
        .args(["-p", &layout.pg_port.to_string(), "-U", user, "-d", "wms"])
        .args(["-c", "SELECT current_user"])
        .output()
        .expect("psql")
}

#[test]
fn the_socket_trusts_nobody_but_the_servers_own_account() {
    let layout = Layout::new();
    let _sup = healthy_stack(&layout, &[]);
    for (account, user) in [
        ("nobody", "postgres"),
        ("wms-web", "postgres"),
        ("nobody", "wms"),
    ] {
        let out = psql_as(account, &layout, user);
        assert!(
            !out.status.success(),
            "OS user {account} got in as {user} without a password"
        );
    }
    let out = psql_as("postgres", &layout, "postgres");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "postgres",
        "peer for the server's own account: {out:?}"
    );
    let hba = std::fs::read_to_string(layout.pgdata().join("pg_hba.conf")).expect("pg_hba.conf");
    assert!(
        !hba.lines()
            .any(|l| !l.starts_with('#') && l.contains("trust")),
        "{hba}"
    );
}

#[test]
fn the_published_health_shows_no_pids_probe_errors_or_output() {
    let layout = Layout::new();
    let _sup = healthy_stack(&layout, &[]);
    let public = Request::new("GET", "/health")
        .send(&layout.web())
        .expect("/health on the published port");
    assert_eq!(public.status, 200);
    let doc = public.json();
    for (name, s) in doc["services"].as_object().expect("services") {
        for hidden in ["pid", "last_output", "last_probe_error", "last_exit"] {
            assert!(s.get(hidden).is_none(), "{name}.{hidden} is public: {doc}");
        }
        assert!(
            s.get("state").is_some() && s.get("restarts").is_some(),
            "{doc}"
        );
    }
    // The loopback listener keeps the full document; an admin gets it through the port too.
    let (_, full) = health(&layout.health).expect("/health");
    assert!(full["services"]["backend"]["pid"].is_number(), "{full}");
    let api = Api::login(&layout.web(), Duration::from_secs(30)).expect("log in");
    let admin = Request::new("GET", "/health")
        .bearer(&api.token)
        .send(&layout.web())
        .expect("/health as admin");
    assert!(
        admin.json()["services"]["backend"]["pid"].is_number(),
        "{}",
        admin.text()
    );
}

/// The newest PostgreSQL server binaries, as the image finds them.
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("/usr/lib/postgresql")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    dirs.pop().expect("PostgreSQL server binaries")
}

fn run_as_postgres(program: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .expect("run as postgres");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A data directory as the previous version left it: `trust` on the socket, the
/// application's tables owned by the superuser, one product in them.
fn make_old_volume(layout: &Layout) {
    let bin = pg_bin();
    let pgdata = layout.pgdata();
    let sock = layout.dir.join("old-sock");
    std::fs::create_dir_all(&sock).expect("socket dir");
    let pwfile = layout.dir.join("old-pw");
    std::fs::write(&pwfile, &layout.password).expect("pwfile");
    std::fs::create_dir_all(&pgdata).expect("PGDATA");
    for p in [&sock, &pwfile, &pgdata] {
        Command::new("chown")
            .arg("postgres")
            .arg(p)
            .status()
            .expect("chown");
    }
    let pgdata_s = pgdata.display().to_string();
    run_as_postgres(
        &bin.join("initdb"),
        &[
            "-D",
            &pgdata_s,
            "-U",
            "postgres",
            &format!("--pwfile={}", pwfile.display()),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--locale=C.UTF-8",
        ],
    );
    let opts = format!(
        "-c listen_addresses= -c unix_socket_directories={} -p {}",
        sock.display(),
        layout.pg_port
    );
    // -l: the server's output goes to a file, not to pipes `output()` would wait on.
    let log = layout.dir.join("old-server.log");
    std::fs::write(&log, "").expect("log file");
    Command::new("chown")
        .arg("postgres")
        .arg(&log)
        .status()
        .expect("chown");
    run_as_postgres(
        &bin.join("pg_ctl"),
        &[
            "-D",
            &pgdata_s,
            "-o",
            &opts,
            "-l",
            &log.display().to_string(),
            "-w",
            "start",
        ],
    );
    let conn = format!(
        "host={} port={} user=postgres dbname=postgres",
        sock.display(),
        layout.pg_port
    );
    Sql::try_connect(&conn)
        .expect("trust on the old socket")
        .query("CREATE DATABASE wms");
    let url = format!(
        "host={} port={} user=postgres dbname=wms",
        sock.display(),
        layout.pg_port
    );
    let out = Command::new(wms())
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .expect("wms migrate");
    assert!(out.status.success(), "{out:?}");
    Sql::try_connect(&url).expect("old wms").query(
        "INSERT INTO products (id, barcode, gtin, is_deleted, created_at, updated_at) \
         VALUES (gen_random_uuid(), 'OLD-VOLUME-1', '00000000000001', false, now(), now())",
    );
    run_as_postgres(
        &bin.join("pg_ctl"),
        &["-D", &pgdata_s, "-m", "fast", "-w", "stop"],
    );
}

#[test]
fn a_volume_of_the_previous_version_is_upgraded_in_place() {
    let layout = Layout::new();
    make_old_volume(&layout);
    let sup = healthy_stack(&layout, &[]);
    assert!(
        sup.output()
            .iter()
            .any(|l| l.contains("trusted local connections (an earlier version's default)")),
        "the upgrade was not reported"
    );
    let hba = std::fs::read_to_string(layout.pgdata().join("pg_hba.conf")).expect("pg_hba.conf");
    assert!(!hba.contains("trust"), "{hba}");
    let db = Sql::superuser(&layout, "wms");
    assert_eq!(
        db.query(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        ),
        ["wms"],
        "tables handed to the application role"
    );
    assert_eq!(
        db.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'wms'"),
        ["wms"]
    );
    // The data is there and the application works on it as its own role.
    let api = Api::login(&layout.web(), Duration::from_secs(30)).expect("log in");
    let products = api.products().expect("products");
    assert!(
        products.iter().any(|p| p["barcode"] == "OLD-VOLUME-1"),
        "{products:?}"
    );
    let id = api
        .create_product("NEW-AFTER-UPGRADE")
        .expect("write after the upgrade");
    assert!(!id.is_empty());
}

/// A `multipart/form-data` body with one file part.
fn multipart_file(filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "wms-security-boundary-51c2";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A 5 KB workbook whose one far cell (XFD1048576) once made the reader allocate ~10^10 cells.
fn far_cell_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("sheet name");
    ws.write_string(0, 0, "Баркод").expect("write");
    ws.write_string(1, 0, "4600000000017").expect("write");
    ws.write_string(1_048_575, 16_383, "x").expect("write");
    wb.save_to_buffer().expect("xlsx bytes")
}

#[test]
fn no_default_password_and_an_import_bomb_through_the_port_restarts_nothing() {
    let layout = Layout::new();
    // As a user runs it: no WMS_ADMIN_PASSWORD (empty counts as unset).
    let sup = healthy_stack(&layout, &[("WMS_ADMIN_PASSWORD", "")]);
    let login = |password: &str| {
        Request::new("POST", "/api/auth/login")
            .json(&serde_json::json!({ "email": proof::api::ADMIN_EMAIL, "password": password }))
            .send(&layout.web())
            .expect("login")
    };
    for known in ["admin123", proof::api::ADMIN_PASSWORD] {
        assert_eq!(login(known).status, 401, "{known:?} logs in");
    }
    // The generated one is in the log once, and in a 0600 file.
    let line = sup
        .output()
        .into_iter()
        .find(|l| l.contains("with the generated password"))
        .expect("the generated password is logged");
    let password = line
        .split("with the generated password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password in the line")
        .to_owned();
    assert!(password.len() >= 20, "{password:?}");
    let r = login(&password);
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["access_token"].as_str().expect("token").to_owned();

    // The far-cell workbook through :8080: refused, and the backend is the same process.
    let (_, before) = health(&layout.health).expect("health");
    let pid = service_host_pid(&sup, &before, "backend").expect("backend pid");
    let (content_type, body) = multipart_file("far.xlsx", &far_cell_workbook());
    for _ in 0..3 {
        let mut req = Request::new("POST", "/api/import/excel")
            .bearer(&token)
            .header("Content-Type", content_type.clone())
            .timeout(Duration::from_secs(30));
        req.body = Some(body.clone());
        let r = req.send(&layout.web()).expect("upload");
        assert_eq!(r.status, 413, "{}", r.text());
        assert!(
            r.text().contains("rows"),
            "the limit is named: {}",
            r.text()
        );
    }
    let (_, after) = health(&layout.health).expect("health");
    assert_eq!(after["services"]["backend"]["restarts"], 0, "{after}");
    assert_eq!(
        service_host_pid(&sup, &after, "backend"),
        Some(pid),
        "the backend is the same process"
    );
}
