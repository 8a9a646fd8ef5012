//! The WMS API as the proof tests use it: log in, create products, read the whole journal,
//! balances and the ledger check. Reads retry through outages until a deadline (they are
//! used after chaos, while the stack may still be settling); errors say what was answered.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{Request, Response};

pub const ADMIN_EMAIL: &str = "admin@wms.example.com";
/// Set through `WMS_ADMIN_PASSWORD` by [`super::stack::Layout`]: nothing has a default.
pub const ADMIN_PASSWORD: &str = "proof-admin-password";

/// An authenticated client of one address (the web port, or the backend's).
#[derive(Clone, Debug)]
pub struct Api {
    pub addr: String,
    pub token: String,
}

/// Sends `req` until it gets any answer that is not a gateway/availability error
/// (502, 503, 504) or until `limit` passes.
pub fn send_retrying(addr: &str, req: &Request, limit: Duration) -> Result<Response, String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        match req.send(addr) {
            Ok(r) if !matches!(r.status, 502..=504) => return Ok(r),
            Ok(r) => last = format!("{} {}", r.status, r.text()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "{} {}: no usable answer in {limit:?}; last: {last}",
        req.method, req.path
    ))
}

/// Logs in as the seeded administrator.
pub fn login(addr: &str, limit: Duration) -> Result<String, String> {
    let req = Request::new("POST", "/api/auth/login")
        .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }));
    let r = send_retrying(addr, &req, limit)?;
    if r.status != 200 {
        return Err(format!("login: {} {}", r.status, r.text()));
    }
    r.json()["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login: no token in {}", r.text()))
}

impl Api {
    pub fn login(addr: &str, limit: Duration) -> Result<Api, String> {
        Ok(Api {
            addr: addr.to_owned(),
            token: login(addr, limit)?,
        })
    }

    /// `GET path` with the token, retried through outages; fails unless 200.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        let req = Request::new("GET", path).bearer(&self.token);
        let r = send_retrying(&self.addr, &req, Duration::from_secs(60))?;
        if r.status != 200 {
            return Err(format!("GET {path}: {} {}", r.status, r.text()));
        }
        Ok(r.json())
    }

    /// `POST path` with a JSON body, retried through outages; returns the answer.
    pub fn post(&self, path: &str, body: &Value) -> Result<Response, String> {
        let req = Request::new("POST", path).bearer(&self.token).json(body);
        send_retrying(&self.addr, &req, Duration::from_secs(60))
    }

    pub fn create_product(&self, barcode: &str) -> Result<String, String> {
        let r = self.post("/api/products/", &json!({ "barcode": barcode }))?;
        if r.status != 201 {
            return Err(format!("create product: {} {}", r.status, r.text()));
        }
        r.json()["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("create product: no id in {}", r.text()))
    }

    /// The id of the first item of a list endpoint (`/api/sources/`).
    pub fn first_id(&self, path: &str) -> Result<String, String> {
        let v = self.get(path)?;
        let items = v.get("items").unwrap_or(&v);
        items[0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{path}: no items in {v}"))
    }

    /// Every item of a paginated list (`page_size` 100).
    pub fn all_pages(&self, path: &str) -> Result<Vec<Value>, String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1.. {
            let v = self.get(&format!("{path}{sep}page={page}&page_size=100"))?;
            let items = v["items"]
                .as_array()
                .ok_or_else(|| format!("{path}: no items in {v}"))?;
            out.extend(items.iter().cloned());
            let pages = v["pages"].as_u64().unwrap_or(1);
            if page >= pages {
                break;
            }
        }
        Ok(out)
    }

    /// The whole movement journal.
    pub fn journal(&self) -> Result<Vec<Value>, String> {
        self.all_pages("/api/stock/movements")
    }

    /// Every product with its balances.
    pub fn products(&self) -> Result<Vec<Value>, String> {
        self.all_pages("/api/products/")
    }

    pub fn ledger_check(&self) -> Result<Value, String> {
        self.get("/api/admin/ledger-check")
    }
}
