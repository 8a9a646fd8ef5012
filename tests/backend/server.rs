//! A real `wms backend` process for a test: its own database on the shared PostgreSQL,
//! `--listen 127.0.0.1:0` (the address is read from its log), a known `SECRET_KEY` so tests
//! can mint tokens, killed on drop. Requests go through [`super::http`].

#![allow(dead_code)] // each test file uses a different subset of the helpers

use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::http::{Resp, request, try_json_request};
use super::pg;
use crate::util::{collect_output, wait_for, wms};

/// The secret every test backend uses unless told otherwise (32 bytes at least, as the
/// backend requires).
pub const SECRET: &str = "test-secret-key-of-thirty-two-bytes";
/// The seeded administrator.
pub const ADMIN: &str = "admin@wms.example.com";
/// The administrator's password in tests: set explicitly (`WMS_ADMIN_PASSWORD`); the backend
/// itself has no default password.
pub const ADMIN_PASSWORD: &str = "admin123";

/// Where test backends keep generated secrets (`WMS_SECRETS_DIR`), never the host's
/// `/var/lib/wms`.
pub fn secrets_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("wms-backend-tests-secrets-{}", std::process::id()))
}

/// A running backend.
pub struct Backend {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub db: String,
    lines: Arc<Mutex<Vec<String>>>,
    /// An admin token, minted with [`SECRET`].
    pub token: String,
}

/// Spawns `wms <args>` with `env`, collecting its output lines.
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(wms())
        .args(args)
        .env("WMS_LOG", "info")
        .env_remove("SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env_remove("WMS_ADMIN_PASSWORD_FILE")
        .env("WMS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("WMS_SECRETS_DIR", secrets_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wms");
    let lines = collect_output(&mut child);
    (child, lines)
}

/// Mints a token for `email` with `secret`, valid for a minute.
pub fn token_for(secret: &str, email: &str) -> String {
    wms::backend::auth::Keys::new(secret.as_bytes(), Duration::from_secs(60))
        .issue(email)
        .expect("sign a token")
}

impl Backend {
    /// A backend on a fresh copy of the migrated, seeded template database.
    pub fn start() -> Backend {
        Backend::start_with(&[], &[])
    }

    /// A backend on a fresh copy of the template, with extra arguments and environment.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Backend {
        let db = pg::shared().seeded_db();
        Backend::start_on(&db, args, env)
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A backend on database `db` with extra arguments and environment.
    pub fn start_on(db: &str, args: &[&str], env: &[(&str, &str)]) -> Backend {
        let pg = pg::shared();
        let url = pg.conninfo(db);
        let mut all_args = vec!["backend", "--listen", "127.0.0.1:0"];
        all_args.extend_from_slice(args);
        let mut all_env = vec![("DATABASE_URL", url.as_str()), ("SECRET_KEY", SECRET)];
        all_env.extend_from_slice(env);
        let (child, lines) = spawn(&all_args, &all_env);
        let mut b = Backend {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.to_owned(),
            lines,
            token: String::new(),
        };
        let addr = wait_for("the backend to listen", Duration::from_secs(60), || {
            if let Some(status) = b.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "the backend exited with {status} before listening:\n{}",
                    b.output().join("\n")
                );
            }
            b.output().iter().find_map(|l| {
                l.split("listening on http://")
                    .nth(1)
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            })
        });
        b.addr = addr;
        let secret = env
            .iter()
            .find(|(k, _)| *k == "SECRET_KEY")
            .map_or(SECRET, |(_, v)| *v);
        b.token = token_for(secret, ADMIN);
        b
    }

    /// All output so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let status = wait_for("the backend to exit", limit, || {
            child.try_wait().ok().flatten()
        });
        self.child = None;
        status
    }

    /// SQL on this backend's database.
    pub fn sql(&self, query: &str) -> Vec<Option<String>> {
        pg::shared().sql(&self.db, query)
    }

    /// A request with the admin token.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.call_as(&self.token, method, path, body)
    }

    /// A request with `token` (empty: no Authorization header).
    pub fn call_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
        try_json_request(self.addr, token, method, path, body, &[])
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request with raw headers and body (plus the admin token).
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        request(self.addr, method, path, &all, body)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.call("PUT", path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None)
    }

    /// Creates a product; returns its id.
    pub fn product(&self, barcode: &str) -> String {
        let r = self.post("/api/products/", &serde_json::json!({"barcode": barcode}));
        assert_eq!(r.status, 201, "create product: {}", r.text());
        r.json()["id"].as_str().expect("id").to_owned()
    }

    /// Executes a movement; returns the response.
    pub fn move_stock(&self, product: &str, op: &str, quantity: i64, extra: Value) -> Resp {
        let mut body = serde_json::json!({
            "product_id": product, "operation_type": op, "quantity": quantity
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("/api/stock/movements", &body)
    }

    /// `(stock, defect)` of a product, read through the API.
    pub fn balances(&self, product: &str) -> (i64, i64) {
        let r = self.get(&format!("/api/products/{product}"));
        assert_eq!(r.status, 200, "{}", r.text());
        let j = r.json();
        (
            j["stock_quantity"].as_i64().expect("stock"),
            j["defect_quantity"].as_i64().expect("defect"),
        )
    }

    /// The id of the first source / DC in the list.
    pub fn first_id(&self, path: &str) -> String {
        let r = self.get(path);
        r.json()[0]["id"].as_str().expect("an id").to_owned()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}
