//! Authentication (spec 4, B-21, B-24, B-33, B-39) and user management (roles, passwords,
//! deactivation).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::http::request;
use crate::server::{ADMIN, Backend, SECRET, token_for};

fn login(b: &Backend, email: &str, password: &str) -> crate::http::Resp {
    b.call_as(
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": email, "password": password})),
    )
}

/// A JWT signed with `secret` over arbitrary claims.
fn forge(claims: &Value, secret: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let msg = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(msg.as_bytes());
    format!("{msg}.{}", b64(&mac.finalize().into_bytes()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn login_issues_a_working_token_and_refuses_bad_credentials_alike() {
    let b = Backend::start();
    let r = login(&b, ADMIN, "admin123");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["token_type"], "bearer");
    let token = j["access_token"].as_str().expect("token").to_owned();
    // Claims: sub = e-mail, integer exp about 30 minutes ahead; nothing else.
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64"),
    )
    .expect("claims JSON");
    assert_eq!(claims["sub"], ADMIN);
    let exp = claims["exp"].as_u64().expect("integer exp");
    assert!((now() + 29 * 60..=now() + 31 * 60).contains(&exp));
    assert_eq!(claims.as_object().map(|o| o.len()), Some(2));
    let me = b.call_as(&token, "GET", "/api/auth/me", None);
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["email"], ADMIN);
    assert_eq!(me["is_active"], true);
    assert_eq!(me["role"], "admin");
    assert!(me["id"].as_str().is_some_and(|s| s.len() == 36));

    // B-24: case-insensitive e-mail; the domain and the local part.
    assert_eq!(login(&b, "ADMIN@WMS.EXAMPLE.COM", "admin123").status, 200);
    assert_eq!(
        login(&b, "Admin <admin@wms.example.com>", "admin123").status,
        200
    );

    for (email, password) in [(ADMIN, "wrong"), ("nobody@wms.example.com", "admin123")] {
        let r = login(&b, email, password);
        assert_eq!(r.status, 401);
        assert_eq!(r.json(), json!({"detail": "Invalid email or password"}));
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
}

#[test]
fn login_validation_errors() {
    let b = Backend::start();
    let r = b.call_as("", "POST", "/api/auth/login", Some(&json!({})));
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({"detail": [
            {"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": {}},
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": {}},
        ]})
    );
    let r = login(&b, "admin", "x");
    assert_eq!(r.status, 422);
    let item = &r.detail()[0];
    assert_eq!(item["type"], "value_error");
    assert_eq!(
        item["msg"],
        "value is not a valid email address: An email address must have an @-sign."
    );
    assert_eq!(
        item["ctx"]["reason"],
        "An email address must have an @-sign."
    );
    // No body at all.
    let r = request(b.addr, "POST", "/api/auth/login", &[], b"");
    assert_eq!(
        r.json(),
        json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
    );
    // An OAuth2 form body is not supported.
    let r = request(
        b.addr,
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"username=a&password=b",
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "model_attributes_type");
    assert_eq!(r.detail()[0]["input"], "username=a&password=b");
    // Malformed JSON: json_invalid at a character offset.
    let r = request(
        b.addr,
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/json")],
        b"{\"email\": }",
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "json_invalid");
    assert_eq!(r.detail()[0]["loc"][0], "body");
    assert!(r.detail()[0]["loc"][1].is_u64());
    // Wrong types.
    let r = login(&b, "a@b.c", "x");
    assert_eq!(r.status, 401, "a valid address that does not exist");
    let r = b.call_as(
        "",
        "POST",
        "/api/auth/login",
        Some(&json!({"email": 5, "password": null})),
    );
    let detail = r.detail();
    let kinds: Vec<&str> = detail
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["string_type", "string_type"]);
}

#[test]
fn malformed_json_is_reported_before_authentication() {
    let b = Backend::start();
    let r = request(
        b.addr,
        "POST",
        "/api/products/",
        &[("Content-Type", "application/json")],
        b"{oops",
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "json_invalid");
    // Everything else waits for authentication.
    let r = request(
        b.addr,
        "POST",
        "/api/products/",
        &[("Content-Type", "text/plain")],
        b"{oops",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn bad_tokens_get_401_with_the_reference_messages() {
    let b = Backend::start();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "Not authenticated"),
        (
            vec![("Authorization", "Basic abc".to_owned())],
            "Not authenticated",
        ),
        (
            vec![("Authorization", "Bearer".to_owned())],
            "Not authenticated",
        ),
        (
            vec![("Authorization", "Bearer not-a-jwt".to_owned())],
            "Could not validate credentials",
        ),
        (
            vec![(
                "Authorization",
                format!("Bearer {}", forge(&json!({"sub": ADMIN}), SECRET)),
            )],
            "Could not validate credentials",
        ),
        (
            vec![(
                "Authorization",
                format!(
                    "Bearer {}",
                    forge(&json!({"sub": ADMIN, "exp": now() - 5}), SECRET)
                ),
            )],
            "Could not validate credentials",
        ),
        (
            vec![(
                "Authorization",
                format!(
                    "Bearer {}",
                    forge(&json!({"sub": ADMIN, "exp": now() + 60}), "other")
                ),
            )],
            "Could not validate credentials",
        ),
        (
            vec![(
                "Authorization",
                format!(
                    "Bearer {}",
                    forge(
                        &json!({"sub": ADMIN, "exp": now() + 60, "aud": "x"}),
                        SECRET
                    )
                ),
            )],
            "Could not validate credentials",
        ),
        (
            vec![(
                "Authorization",
                format!(
                    "Bearer {}",
                    forge(
                        &json!({"sub": "ghost@wms.example.com", "exp": now() + 60}),
                        SECRET
                    )
                ),
            )],
            "Could not validate credentials",
        ),
    ];
    for (headers, message) in cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = request(b.addr, "GET", "/api/auth/me", &h, b"");
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json(), json!({"detail": message}), "{headers:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    // Authentication comes before validation, also where the user lookup is pipelined.
    let ghost = forge(
        &json!({"sub": "ghost@wms.example.com", "exp": now() + 60}),
        SECRET,
    );
    for path in [
        "/api/products/?page=0",
        "/api/stock/movements?date_from=x",
        "/api/products/abc",
    ] {
        let r = b.call_as(&ghost, "GET", path, None);
        assert_eq!(r.status, 401, "{path}");
    }
    // A token the reference would issue (same claims, same secret) works; so does `bearer`.
    let reference = forge(&json!({"sub": ADMIN, "exp": now() + 60}), SECRET);
    let auth = format!("bearer {reference}");
    let r = request(
        b.addr,
        "GET",
        "/api/auth/me",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn users_roles_passwords_and_deactivation() {
    let b = Backend::start();
    // B-39: a special-use domain is fine.
    let r = b.post(
        "/api/users/",
        &json!({"email": "Op@Warehouse.Local", "password": "operator-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let op = r.json();
    assert_eq!(op["email"], "Op@warehouse.local");
    assert_eq!(op["role"], "operator");
    let op_id = op["id"].as_str().expect("id").to_owned();
    let r = b.post(
        "/api/users/",
        &json!({"email": "op@warehouse.local", "password": "operator-1"}),
    );
    assert_eq!(r.status, 400, "e-mails are unique case-insensitively");
    assert_eq!(
        r.json(),
        json!({"detail": "User with email 'op@warehouse.local' already exists"})
    );
    let r = b.post(
        "/api/users/",
        &json!({"email": "x@y.z", "password": "short"}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "string_too_short");
    let r = b.post(
        "/api/users/",
        &json!({"email": "x@y.z", "password": "long enough", "role": "boss"}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body", "role"]));

    let r = login(&b, "op@warehouse.local", "operator-1");
    assert_eq!(r.status, 200, "{}", r.text());
    let op_token = r.json()["access_token"].as_str().expect("token").to_owned();

    // Operators work with stock but manage no users and delete no reference data.
    let p = b.product("OP-1");
    assert_eq!(
        b.call_as(
            &op_token,
            "POST",
            "/api/stock/movements",
            Some(&json!({
                "product_id": p, "operation_type": "receipt", "quantity": 1
            }))
        )
        .status,
        201
    );
    for (method, path) in [
        ("GET", "/api/users/".to_owned()),
        ("DELETE", format!("/api/products/{p}")),
        (
            "DELETE",
            format!("/api/sources/{}", b.first_id("/api/sources/")),
        ),
        (
            "DELETE",
            format!(
                "/api/distribution-centers/{}",
                b.first_id("/api/distribution-centers/")
            ),
        ),
        ("GET", "/api/admin/ledger-check".to_owned()),
    ] {
        let r = b.call_as(&op_token, method, &path, None);
        assert_eq!(r.status, 403, "{method} {path}");
        assert_eq!(r.json(), json!({"detail": "Not enough permissions"}));
    }

    // Own password change.
    let r = b.call_as(
        &op_token,
        "POST",
        "/api/auth/change-password",
        Some(&json!({"current_password": "wrong", "new_password": "operator-2"})),
    );
    assert_eq!(r.status, 400);
    let r = b.call_as(
        &op_token,
        "POST",
        "/api/auth/change-password",
        Some(&json!({"current_password": "operator-1", "new_password": "operator-2"})),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(login(&b, "op@warehouse.local", "operator-1").status, 401);
    assert_eq!(login(&b, "op@warehouse.local", "operator-2").status, 200);

    // The admin lists, resets the password, promotes, deactivates.
    let list = b.get("/api/users/").json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let r = b.put(
        &format!("/api/users/{op_id}"),
        &json!({"password": "operator-3"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(login(&b, "op@warehouse.local", "operator-3").status, 200);
    let r = b.put(&format!("/api/users/{op_id}"), &json!({"is_active": false}));
    assert_eq!(r.json()["is_active"], false);
    let r = b.call_as(&op_token, "GET", "/api/auth/me", None);
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"detail": "Could not validate credentials"}))
    );
    assert_eq!(login(&b, "op@warehouse.local", "operator-3").status, 401);

    // The last active admin stays an admin.
    let admin_id = b.get("/api/auth/me").json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = b.put(
        &format!("/api/users/{admin_id}"),
        &json!({"role": "operator"}),
    );
    assert_eq!(r.status, 400);
    let r = b.put(
        &format!("/api/users/{admin_id}"),
        &json!({"is_active": false}),
    );
    assert_eq!(r.status, 400);
    let r = b.get("/api/users/6c7d2d5e-8d1f-4b0e-9c7a-2f5e1d3c4b5a");
    assert_eq!(r.status, 404);
}

#[test]
fn login_takes_as_long_for_unknown_users_as_for_wrong_passwords() {
    let b = Backend::start();
    // Warm up (the dummy hash is made on first use).
    login(&b, "nobody@x.org", "x");
    let time = |email: &str| {
        let t = Instant::now();
        assert_eq!(login(&b, email, "wrong-password").status, 401);
        t.elapsed()
    };
    let known = time(ADMIN);
    let unknown = time("nobody@x.org");
    // Both run one password hash check; allow generous noise.
    assert!(
        unknown * 4 > known && known * 4 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
    assert!(unknown > Duration::from_millis(1));
    // A token minted for the admin is an admin token.
    assert_eq!(
        b.call_as(&token_for(SECRET, ADMIN), "GET", "/api/users/", None)
            .status,
        200
    );
}
