//! Issue 14, the backend's part: each attack against a real `wms backend` on a real
//! PostgreSQL, and its refusal. Secrets (the JWT key, the database and administrator
//! passwords), sessions ended by account changes, login throttling, the maintenance command,
//! and CSV exports that a spreadsheet cannot run. The import bombs are in `import.rs`.

use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::json;

use crate::http::{Resp, request, try_json_request};
use crate::pg;
use crate::server::{ADMIN, ADMIN_PASSWORD, Backend, SECRET, spawn, token_for};
use crate::util::wait_for;

fn login_from(b: &Backend, client: &str, email: &str, password: &str) -> Resp {
    try_json_request(
        b.addr,
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": email, "password": password})),
        &[("X-Forwarded-For", client)],
    )
    .expect("login request")
}

fn token_of(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().expect("token").to_owned()
}

/// Waits for a spawned `wms` to exit; its code and output.
fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let (mut child, lines) = spawn(args, env);
    let status = wait_for("wms to exit", Duration::from_secs(60), || {
        child.try_wait().ok().flatten()
    });
    // The output threads finish with the pipes.
    let output = wait_for("its output", Duration::from_secs(10), || {
        let l = lines.lock().ok()?;
        (!l.is_empty()).then(|| l.join("\n"))
    });
    (status.code(), output)
}

#[test]
fn short_secret_keys_are_refused_with_their_length_and_a_recipe() {
    let db = pg::shared().seeded_db();
    let url = pg::shared().conninfo(&db);
    let (code, output) = exit_of(
        &["backend", "--listen", "127.0.0.1:0"],
        &[("DATABASE_URL", &url), ("SECRET_KEY", "only-17-bytes-key")],
    );
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("SECRET_KEY is 17 bytes long; at least 32 are needed")
            && output.contains("openssl rand -hex 32"),
        "{output}"
    );
    // 32 bytes are enough; an unset key is generated (and stored) instead.
    let b = Backend::start_on(&db, &[], &[("SECRET_KEY", &"k".repeat(32))]);
    assert_eq!(request(b.addr, "GET", "/health", &[], b"").status, 200);
}

#[test]
fn the_database_password_comes_from_the_environment_or_a_file() {
    let pg = pg::shared();
    let db = pg.seeded_db();
    // A role that must give its password over TCP (the test server trusts everything else).
    let role = format!("pw_{db}");
    pg.sql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'right-password-1'"),
    );
    let hba = pg.dir.join("data/pg_hba.conf");
    let old = std::fs::read_to_string(&hba).expect("pg_hba.conf");
    std::fs::write(
        &hba,
        format!("host all {role} 127.0.0.1/32 scram-sha-256\n{old}"),
    )
    .expect("pg_hba.conf");
    pg.sql("postgres", "SELECT pg_reload_conf()");
    let url = format!("host=127.0.0.1 port={} user={role} dbname={db}", pg.port);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("db-password");
    std::fs::write(&file, "right-password-1\n").expect("password file");
    let file = file.to_string_lossy().into_owned();

    // Wrong password: a clear failure, exit 1.
    let (code, output) = exit_of(
        &["migrate", "--db-wait", "2s"],
        &[("DATABASE_URL", &url), ("DATABASE_PASSWORD", "wrong")],
    );
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("password authentication failed"),
        "{output}"
    );
    // Both ways of giving it: refused as ambiguous (exit 2).
    let (code, output) = exit_of(
        &["migrate"],
        &[
            ("DATABASE_URL", &url),
            ("DATABASE_PASSWORD", "right-password-1"),
            ("DATABASE_PASSWORD_FILE", &file),
        ],
    );
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("DATABASE_PASSWORD and DATABASE_PASSWORD_FILE are both set"));
    // From the environment, and from a file (trailing newline trimmed).
    let (code, output) = exit_of(
        &["migrate"],
        &[
            ("DATABASE_URL", &url),
            ("DATABASE_PASSWORD", "right-password-1"),
        ],
    );
    assert_eq!(code, Some(0), "{output}");
    let b = Backend::start_on(
        &db,
        &[],
        &[("DATABASE_URL", &url), ("DATABASE_PASSWORD_FILE", &file)],
    );
    assert_eq!(request(b.addr, "GET", "/health", &[], b"").status, 200);
    assert_eq!(b.get("/api/auth/me").status, 200);
}

#[test]
fn without_a_configured_password_the_administrator_gets_a_generated_one() {
    let pg = pg::shared();
    let db = pg.create_db();
    let secrets = tempfile::tempdir().expect("temp dir");
    let dir = secrets.path().join("secrets");
    let dir_s = dir.to_string_lossy().into_owned();
    let b = Backend::start_on(
        &db,
        &["--migrate"],
        &[("WMS_ADMIN_PASSWORD", ""), ("WMS_SECRETS_DIR", &dir_s)],
    );
    // One log line names the e-mail, the password and where it is kept.
    let line = wait_for("the password line", Duration::from_secs(10), || {
        b.output()
            .into_iter()
            .find(|l| l.contains("generated password"))
    });
    let path = dir.join("admin-password");
    assert!(
        line.contains(ADMIN) && line.contains(&path.to_string_lossy().into_owned()),
        "{line}"
    );
    let password = line
        .split("generated password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password in the line")
        .to_owned();
    assert!(password.len() >= 20, "{password}");
    assert_eq!(
        b.output().iter().filter(|l| l.contains(&password)).count(),
        1,
        "logged once"
    );
    let kept = std::fs::read_to_string(&path).expect("the kept password");
    assert_eq!(kept, format!("{password}\n"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode();
    assert_eq!(mode(&path) & 0o777, 0o600);
    assert_eq!(mode(&dir) & 0o777, 0o700);
    // It works; the reference's default does not.
    let ok = login_from(&b, "192.0.2.10", ADMIN, &password);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let r = login_from(&b, "192.0.2.10", ADMIN, "admin123");
    assert_eq!(r.status, 401);
}

#[test]
fn the_administrator_password_can_come_from_a_file() {
    let pg = pg::shared();
    let db = pg.create_db();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("admin");
    std::fs::write(&file, "from-a-file-1\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let b = Backend::start_on(
        &db,
        &["--migrate"],
        &[
            ("WMS_ADMIN_PASSWORD", ""),
            ("WMS_ADMIN_PASSWORD_FILE", &file),
        ],
    );
    assert_eq!(
        login_from(&b, "192.0.2.11", ADMIN, "from-a-file-1").status,
        200
    );
    assert!(
        !b.output().iter().any(|l| l.contains("generated password")),
        "nothing generated"
    );
}

/// Runs `wms admin reset-password` in this process (main.rs only dispatches to it and maps
/// the outcome to the exit code, as here).
fn reset_password(db: &str, email: &str, stdin: Option<&str>) -> (u8, String) {
    use wms::backend::admin::{ResetPasswordArgs, reset_password};
    use wms::backend::config::DatabaseArgs;
    let args = ResetPasswordArgs {
        email: email.to_owned(),
        password_stdin: stdin.is_some(),
        database: DatabaseArgs {
            database_url: Some(pg::shared().conninfo(db)),
            database_password: None,
            database_password_file: None,
            db_wait: Duration::from_secs(10),
        },
    };
    let mut input = Cursor::new(stdin.unwrap_or_default().as_bytes().to_vec());
    let mut output = Vec::new();
    let code =
        reset_password(args, &mut input, &mut output).map_or_else(|f| f.exit().code(), |()| 0);
    (code, String::from_utf8_lossy(&output).into_owned())
}

#[test]
fn admin_reset_password_sets_a_new_password_and_ends_sessions() {
    let b = Backend::start();
    let old = token_of(&login_from(&b, "192.0.2.20", ADMIN, ADMIN_PASSWORD));
    assert_eq!(b.call_as(&old, "GET", "/api/auth/me", None).status, 200);
    // A random password, printed alone on standard output; e-mails match as at login.
    let (code, printed) = reset_password(&b.db, "ADMIN@wms.example.com", None);
    assert_eq!(code, 0);
    let password = printed.trim();
    assert!(
        password.len() >= 20 && !printed.contains(' '),
        "{printed:?}"
    );
    assert_eq!(b.call_as(&old, "GET", "/api/auth/me", None).status, 401);
    assert_eq!(
        login_from(&b, "192.0.2.20", ADMIN, ADMIN_PASSWORD).status,
        401
    );
    let new = token_of(&login_from(&b, "192.0.2.20", ADMIN, password));
    // From standard input: not printed.
    let (code, printed) = reset_password(&b.db, ADMIN, Some("chosen-password-1\n"));
    assert_eq!((code, printed.as_str()), (0, ""));
    assert_eq!(b.call_as(&new, "GET", "/api/auth/me", None).status, 401);
    assert_eq!(
        login_from(&b, "192.0.2.20", ADMIN, "chosen-password-1").status,
        200
    );
    // Exit codes: unknown user 1, a password too short 2, no database 1.
    assert_eq!(reset_password(&b.db, "nobody@wms.example.com", None).0, 1);
    assert_eq!(reset_password(&b.db, ADMIN, Some("short\n")).0, 2);
    assert_eq!(reset_password("no_such_database", ADMIN, None).0, 1);
}

#[test]
fn tokens_end_with_a_password_change_a_reset_a_role_change_and_deactivation() {
    let b = Backend::start();
    let email = "sessions@wms.example.com";
    let r = b.post(
        "/api/users/",
        &json!({"email": email, "password": "password-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let client = "192.0.2.30";
    let me = |token: &str| b.call_as(token, "GET", "/api/auth/me", None).status;

    // A reference-style token (no version claim) works until the first change.
    let reference = token_for(SECRET, email);
    let t1 = token_of(&login_from(&b, client, email, "password-1"));
    assert_eq!((me(&reference), me(&t1)), (200, 200));

    // 1. One's own password change ends one's sessions (the caller logs in again).
    let r = b.call_as(
        &t1,
        "POST",
        "/api/auth/change-password",
        Some(&json!({"current_password": "password-1", "new_password": "password-2"})),
    );
    assert_eq!(r.status, 204);
    assert_eq!((me(&reference), me(&t1)), (401, 401));
    let t2 = token_of(&login_from(&b, client, email, "password-2"));
    assert_eq!(me(&t2), 200);
    // The read path (user lookup pipelined with the query) checks it too.
    assert_eq!(b.call_as(&t2, "GET", "/api/products/", None).status, 200);

    // 2. A reset by an administrator.
    let r = b.put(
        &format!("/api/users/{id}"),
        &json!({"password": "password-3"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(me(&t2), 401);
    assert_eq!(b.call_as(&t2, "GET", "/api/products/", None).status, 401);
    let t3 = token_of(&login_from(&b, client, email, "password-3"));

    // A change that is no change (same role, still active) keeps sessions.
    let r = b.put(
        &format!("/api/users/{id}"),
        &json!({"role": "operator", "is_active": true}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(me(&t3), 200);

    // 3. A role change.
    let r = b.put(&format!("/api/users/{id}"), &json!({"role": "admin"}));
    assert_eq!(r.status, 200);
    assert_eq!(me(&t3), 401);
    let t4 = token_of(&login_from(&b, client, email, "password-3"));
    assert_eq!(b.call_as(&t4, "GET", "/api/users/", None).status, 200);

    // 4. Deactivation: ended, and reactivation does not bring the old token back.
    let r = b.put(&format!("/api/users/{id}"), &json!({"is_active": false}));
    assert_eq!(r.status, 200);
    assert_eq!(me(&t4), 401);
    let r = b.put(&format!("/api/users/{id}"), &json!({"is_active": true}));
    assert_eq!(r.status, 200);
    assert_eq!(me(&t4), 401);
    assert_eq!(
        me(&token_of(&login_from(&b, client, email, "password-3"))),
        200
    );
}

#[test]
fn thirty_wrong_passwords_get_429_yet_the_real_user_logs_in() {
    let b = Backend::start();
    let attacker = "203.0.113.7";
    let user = "198.51.100.2";
    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for _ in 0..30 {
        let r = login_from(&b, attacker, ADMIN, "guess-guess");
        if r.status == 429 {
            retry_after = r
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .expect("Retry-After in seconds");
            assert!(
                r.json()["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("Too many failed login attempts")),
                "{}",
                r.text()
            );
        }
        statuses.push(r.status);
    }
    // Five guesses, then refusals (without a password check) for the rest.
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    // Even the right password waits on the attacker's address...
    assert_eq!(login_from(&b, attacker, ADMIN, ADMIN_PASSWORD).status, 429);
    // ...but the real user, elsewhere, logs in at once.
    assert_eq!(login_from(&b, user, ADMIN, ADMIN_PASSWORD).status, 200);
    // A forged X-Forwarded-For from an untrusted peer would not help: the proxy's own entry
    // (the right-most) is the client; the attacker's prefix is ignored.
    let spoofed = format!("{user}, {attacker}");
    assert_eq!(
        login_from(&b, &spoofed, ADMIN, ADMIN_PASSWORD).status,
        429,
        "the address the trusted proxy saw counts"
    );
    // After the window, the attacker's address may try again (and the right password works).
    let r = wait_for(
        "the attacker's window to pass",
        Duration::from_secs(retry_after + 10),
        || {
            let r = login_from(&b, attacker, ADMIN, ADMIN_PASSWORD);
            (r.status != 429).then_some(r)
        },
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// `(headers, rows)` of a CSV export (BOM stripped).
fn csv_of(r: &Resp) -> Vec<Vec<String>> {
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let text = text.trim_start_matches('\u{feff}');
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|rec| rec.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn csv_exports_neutralise_cells_a_spreadsheet_would_run() {
    let b = Backend::start();
    let r = b.post(
        "/api/products/",
        &json!({"barcode": "=HYPERLINK(\"http://x\")", "seller_sku": "+SUM(1)",
                "size": "-2", "brand": "@cmd", "color": "\tTAB"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = b.move_stock(&id, "receipt", 5, json!({"notes": "=1+1"}));
    assert_eq!(r.status, 201);
    let r = b.move_stock(
        &id,
        "shipment_rc",
        2,
        json!({
            "distribution_center_id": b.first_id("/api/distribution-centers/"),
            "notes": "\rcarriage"
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let rows = csv_of(&b.get("/api/export/products.csv"));
    let row = rows.iter().find(|r| r[0] == id).expect("the product's row");
    let expected = [
        "'=HYPERLINK(\"http://x\")",
        "",
        "'+SUM(1)",
        "'-2",
        "'@cmd",
        "'\tTAB",
    ];
    assert_eq!(&row[1..7], &expected[..]);
    // Numbers stay numbers.
    assert_eq!(row[7], "3");

    let rows = csv_of(&b.get(&format!("/api/export/movements.csv?product_id={id}")));
    let notes: Vec<&str> = rows.iter().map(|r| r[12].as_str()).collect();
    assert_eq!(notes, ["'\rcarriage", "'=1+1"]);
    assert_eq!(rows[0][4], "'=HYPERLINK(\"http://x\")");
    // A negative (signed) quantity is a number, not a formula: an import lowering stock.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Сводная").expect("sheet");
    ws.write_string(0, 0, "Баркод").expect("write");
    ws.write_string(0, 1, "АКТУАЛЬНЫЙ ОСТАТОК").expect("write");
    ws.write_string(1, 0, "=HYPERLINK(\"http://x\")")
        .expect("write");
    ws.write_number(1, 1, 1.0).expect("write");
    let file = wb.save_to_buffer().expect("xlsx");
    let boundary = "csv-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let r = b.raw("POST", "/api/import/excel", &[("Content-Type", &ct)], &body);
    assert_eq!(r.json()["result"]["success"], true, "{}", r.text());
    let rows = csv_of(&b.get("/api/export/movements.csv?operation_type=import_stock"));
    assert_eq!(rows[0][3], "-2");
}
