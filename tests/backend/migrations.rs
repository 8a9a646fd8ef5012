//! `wms migrate` and start-up: exit codes, concurrent migrators under the advisory lock,
//! adopting a database created by the reference (Alembic revision 003, bcrypt hashes), and
//! two replicas sharing one database (issue 10).

use std::time::Duration;

use serde_json::json;

use crate::http::request;
use crate::pg;
use crate::server::{ADMIN, Backend, SECRET, spawn, token_for};
use crate::util::wait_for;

/// Runs `wms <args>` to completion; returns the exit code and output.
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let (mut child, lines) = spawn(args, env);
    let status = wait_for("wms to exit", Duration::from_secs(60), || {
        child.try_wait().ok().flatten()
    });
    // Output threads end with the pipes; wait until they have drained.
    wait_for("the output to drain", Duration::from_secs(10), || {
        (std::sync::Arc::strong_count(&lines) == 1).then_some(())
    });
    let out = lines.lock().map(|l| l.join("\n")).unwrap_or_default();
    (status.code().unwrap_or(-1), out)
}

fn migrate(db: &str) -> (i32, String) {
    let url = pg::shared().conninfo(db);
    run(&["migrate"], &[("DATABASE_URL", &url)])
}

fn history(db: &str) -> Vec<Option<String>> {
    pg::shared().sql(
        db,
        "SELECT version::text FROM refinery_schema_history ORDER BY version",
    )
}

/// Every migration of this build: `["1", "2", ...]` (as embedded: numbers may be reserved).
fn all_versions() -> Vec<Option<String>> {
    let mut versions: Vec<i32> = wms::backend::migrate::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version())
        .collect();
    versions.sort_unstable();
    versions.into_iter().map(|v| Some(v.to_string())).collect()
}

#[test]
fn migrate_applies_once_and_concurrent_migrators_queue_on_the_lock() {
    let pg = pg::shared();
    let db = pg.create_db();
    let dbs = [db.clone(), db.clone(), db.clone()];
    let handles: Vec<_> = dbs
        .into_iter()
        .map(|d| std::thread::spawn(move || migrate(&d)))
        .collect();
    for h in handles {
        let (code, out) = h.join().expect("migrator");
        assert_eq!(code, 0, "{out}");
    }
    assert_eq!(history(&db), all_versions());
    let (code, out) = migrate(&db);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");
    // The schema of spec 11.2.
    let checks = pg.sql(
        &db,
        "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint \
         WHERE conname IN ('stocks_quantity_check', 'defect_stocks_quantity_check', \
         'stock_movements_operation_type_check', 'stock_movements_quantity_check')",
    );
    assert_eq!(
        checks,
        [Some("defect_stocks_quantity_check,stock_movements_operation_type_check,stock_movements_quantity_check,stocks_quantity_check".to_owned())]
    );
    let r = pg.try_sql(
        &db,
        "INSERT INTO products (barcode) VALUES ('x'); UPDATE stocks SET quantity = -1",
    );
    assert!(r.is_ok(), "defaults fill id and is_deleted: {r:?}");
    let r = pg.try_sql(
        &db,
        "INSERT INTO stocks (product_id, quantity) SELECT id, -1 FROM products",
    );
    assert!(r.is_err(), "CHECK (quantity >= 0)");
}

#[test]
fn start_up_failures_have_their_exit_codes() {
    let pg = pg::shared();
    let fresh = pg.create_db();
    let url = pg.conninfo(&fresh);
    let (code, out) = run(
        &["backend", "--listen", "127.0.0.1:0"],
        &[("DATABASE_URL", &url)],
    );
    assert_eq!(code, 3, "schema not migrated: {out}");
    assert!(out.contains("wms migrate"), "{out}");
    let (code, _) = run(&["backend"], &[]);
    assert_eq!(code, 2, "DATABASE_URL missing");
    let (code, out) = run(&["migrate"], &[("DATABASE_URL", "mysql://x/y")]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = run(&["backend"], &[("DATABASE_URL", "mysql://x/y")]);
    assert_eq!(code, 2, "{out}");
    let seeded = pg.seeded_db();
    let url = pg.conninfo(&seeded);
    let (code, out) = run(
        &["backend", "--listen", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", &url),
            ("WMS_BUSINESS_TZ", "Mars/Olympus_Mons"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    let nowhere = format!(
        "host={}/nowhere port=1 user=postgres dbname=x",
        pg.dir.display()
    );
    let (code, out) = run(
        &["migrate", "--db-wait", "300ms"],
        &[("DATABASE_URL", &nowhere)],
    );
    assert_eq!(code, 1, "{out}");
    let (code, _) = run(
        &["backend", "--listen", "127.0.0.1:0", "--db-wait", "300ms"],
        &[("DATABASE_URL", &nowhere)],
    );
    assert_eq!(code, 1);
    // A URL with a driver suffix and a unix socket host works.
    let url = format!(
        "postgresql+asyncpg://postgres@{}:{}/{fresh}",
        pg.socket_dir.display().to_string().replace('/', "%2F"),
        pg.port
    );
    let (code, out) = run(&["migrate"], &[("DATABASE_URL", &url)]);
    assert_eq!(code, 0, "{url}: {out}");
}

/// The reference's schema as its Alembic revisions leave it, plus data it would hold.
const REFERENCE_DB: &str = r#"
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version VALUES ('003');
CREATE TABLE users (id uuid NOT NULL, email varchar(255) NOT NULL, hashed_password varchar(255) NOT NULL,
  is_active boolean NOT NULL, created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (email));
CREATE INDEX ix_users_email ON users (email);
CREATE TABLE sources (id uuid NOT NULL, name varchar(255) NOT NULL, description text,
  created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL, PRIMARY KEY (id), UNIQUE (name));
CREATE TABLE distribution_centers (id uuid NOT NULL, code varchar(50) NOT NULL, name varchar(255) NOT NULL,
  marketplace varchar(50) NOT NULL, created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (code));
CREATE TABLE products (id uuid NOT NULL, barcode varchar(100) NOT NULL, gtin varchar(14) NOT NULL, seller_sku varchar(100),
  size varchar(50), brand varchar(255), color varchar(100), is_deleted boolean NOT NULL,
  created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (barcode), UNIQUE (gtin));
CREATE INDEX ix_products_barcode ON products (barcode);
CREATE INDEX ix_products_gtin ON products (gtin);
CREATE INDEX ix_products_is_deleted ON products (is_deleted);
CREATE TABLE stocks (id uuid NOT NULL, product_id uuid NOT NULL, quantity integer NOT NULL,
  created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (product_id), FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE);
CREATE TABLE defect_stocks (id uuid NOT NULL, product_id uuid NOT NULL, quantity integer NOT NULL,
  created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (product_id), FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE);
CREATE TABLE stock_movements (id uuid NOT NULL, operation_type varchar(50) NOT NULL, product_id uuid NOT NULL,
  quantity integer NOT NULL, source_id uuid, distribution_center_id uuid, user_id uuid NOT NULL, notes text,
  created_at timestamptz DEFAULT now() NOT NULL, updated_at timestamptz DEFAULT now() NOT NULL, PRIMARY KEY (id),
  FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
  FOREIGN KEY (source_id) REFERENCES sources (id) ON DELETE SET NULL,
  FOREIGN KEY (distribution_center_id) REFERENCES distribution_centers (id) ON DELETE SET NULL,
  FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX ix_stock_movements_operation_type ON stock_movements (operation_type);
CREATE INDEX ix_stock_movements_product_id ON stock_movements (product_id);
CREATE INDEX ix_stock_movements_user_id ON stock_movements (user_id);
CREATE INDEX ix_stock_movements_created_at ON stock_movements (created_at);
INSERT INTO sources VALUES ('11111111-1111-4111-8111-111111111111', 'Поставщик РФ', 'Основной российский поставщик', now(), now());
INSERT INTO products VALUES
  ('22222222-2222-4222-8222-222222222222', '4600000000001', '04600000000001', 'SKU-1', 'M', 'Brand', NULL, false, now(), now()),
  ('33333333-3333-4333-8333-333333333333', 'ABC-1', 'IMPABC-1000000', NULL, NULL, NULL, NULL, false, now(), now());
INSERT INTO stocks VALUES
  (gen_random_uuid(), '22222222-2222-4222-8222-222222222222', 7, now(), now()),
  (gen_random_uuid(), '33333333-3333-4333-8333-333333333333', 4, now(), now());
INSERT INTO defect_stocks VALUES
  (gen_random_uuid(), '22222222-2222-4222-8222-222222222222', 0, now(), now()),
  (gen_random_uuid(), '33333333-3333-4333-8333-333333333333', 0, now(), now());
"#;

#[test]
fn a_reference_database_is_adopted_with_its_bcrypt_hashes() {
    let pg = pg::shared();
    let db = pg.create_db();
    pg.sql(&db, REFERENCE_DB);
    // The reference's bcrypt ($2b$, cost 12 there; cost 4 here to keep the test fast).
    let hash = bcrypt::hash("admin123", 4).expect("bcrypt");
    pg.sql(
        &db,
        &format!(
            "INSERT INTO users VALUES ('44444444-4444-4444-8444-444444444444', '{ADMIN}', '{hash}', true, now(), now());
             INSERT INTO stock_movements VALUES (gen_random_uuid(), 'receipt', '22222222-2222-4222-8222-222222222222', 7,
               '11111111-1111-4111-8111-111111111111', NULL, '44444444-4444-4444-8444-444444444444', 'ref', now(), now())"
        ),
    );
    let (code, out) = migrate(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("adopting a reference database"), "{out}");
    assert_eq!(history(&db), all_versions());
    assert_eq!(
        pg.sql(&db, "SELECT version_num FROM alembic_version"),
        [Some("003".to_owned())]
    );

    let b = Backend::start_on(&db, &[], &[]);
    // The reference admin logs in with the bcrypt hash; nothing was reseeded.
    let r = b.call_as(
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": ADMIN, "password": "admin123"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        b.get("/api/users/").json().as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        b.get("/api/sources/").json().as_array().map(Vec::len),
        Some(1)
    );
    // Seeding checks each table on the first start: the empty DC table gets the defaults.
    assert_eq!(
        b.get("/api/distribution-centers/")
            .json()
            .as_array()
            .map(Vec::len),
        Some(9)
    );
    // The reference's data, through our API.
    let list = b.get("/api/products/").json();
    assert_eq!(list["total"], 2);
    let imp = b
        .get("/api/products/33333333-3333-4333-8333-333333333333")
        .json();
    assert_eq!(
        (imp["gtin"].clone(), imp["stock_quantity"].clone()),
        (json!("IMPABC-1000000"), json!(4))
    );
    let j = b.get("/api/stock/movements").json();
    assert_eq!(
        (j["total"].clone(), j["items"][0]["source_name"].clone()),
        (json!(1), json!("Поставщик РФ"))
    );
    // The reference's import left a balance no journal explains: the ledger check says so.
    let check = b.get("/api/admin/ledger-check").json();
    assert_eq!(check["consistent"], false);
    assert_eq!(check["mismatches"][0]["barcode"], "ABC-1");
    assert_eq!(check["mismatches"][0]["stock_ledger"], 0);
    // History keeps its source (B-19).
    let r = b.delete("/api/sources/11111111-1111-4111-8111-111111111111");
    assert_eq!(r.status, 409);
    // GTIN may now be cleared (B-02).
    let r = b.put(
        "/api/products/33333333-3333-4333-8333-333333333333",
        &json!({"gtin": null}),
    );
    assert_eq!((r.status, r.json()["gtin"].clone()), (200, json!(null)));
    // The bcrypt hash stays (the reference can still verify it if rolled back).
    let stored = pg.sql(&db, "SELECT left(hashed_password, 4) FROM users");
    assert_eq!(stored, [Some("$2b$".to_owned())]);
}

#[test]
fn other_alembic_revisions_are_refused() {
    let pg = pg::shared();
    let db = pg.create_db();
    pg.sql(&db, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('002')");
    let (code, out) = migrate(&db);
    assert_eq!(code, 1);
    assert!(out.contains("Alembic revision \"002\""), "{out}");
}

#[test]
fn two_replicas_share_one_database_one_secret_and_one_ledger() {
    let pg = pg::shared();
    let db = pg.create_db();
    // Both migrate and seed at the same moment, without SECRET_KEY.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                Backend::start_on(&db, &["--migrate"], &[("SECRET_KEY", "")])
            })
        })
        .collect();
    let replicas: Vec<Backend> = handles
        .into_iter()
        .map(|h| h.join().expect("replica"))
        .collect();
    assert_eq!(
        pg.sql(
            &db,
            "SELECT count(*) FROM app_settings WHERE name = 'jwt_secret'"
        ),
        [Some("1".to_owned())]
    );
    assert_eq!(
        pg.sql(&db, "SELECT count(*) FROM users"),
        [Some("1".to_owned())]
    );
    assert_eq!(
        pg.sql(&db, "SELECT count(*) FROM sources"),
        [Some("4".to_owned())]
    );
    // A token from one replica works on the other; the test's own secret does not.
    let r = replicas[0].call_as(
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": ADMIN, "password": "admin123"})),
    );
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        replicas[1]
            .call_as(&token, "GET", "/api/auth/me", None)
            .status,
        200
    );
    assert_eq!(
        replicas[1]
            .call_as(&token_for(SECRET, ADMIN), "GET", "/api/auth/me", None)
            .status,
        401
    );

    let r = replicas[0].call_as(
        &token,
        "POST",
        "/api/products/",
        Some(&json!({"barcode": "REP-1"})),
    );
    let p = r.json()["id"].as_str().expect("id").to_owned();
    let addrs: Vec<_> = replicas.iter().map(|b| b.addr).collect();
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let (addr, token, p) = (addrs[i % 2], token.clone(), p.clone());
            std::thread::spawn(move || {
                let op = ["receipt", "write_off", "restoration", "receipt"][i % 4];
                let body = json!({"product_id": p, "operation_type": op, "quantity": 1});
                let auth = format!("Bearer {token}");
                request(
                    addr,
                    "POST",
                    "/api/stock/movements",
                    &[
                        ("Authorization", &auth),
                        ("Content-Type", "application/json"),
                    ],
                    body.to_string().as_bytes(),
                )
                .status
            })
        })
        .collect();
    for t in threads {
        let status = t.join().expect("request");
        assert!(status == 201 || status == 400, "{status}");
    }
    let check = replicas[1]
        .call_as(&token, "GET", "/api/admin/ledger-check", None)
        .json();
    assert_eq!(check["consistent"], true, "{check}");
}
