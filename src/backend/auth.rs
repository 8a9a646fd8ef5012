//! Authentication (spec section 4): HS256 access tokens with the reference's claims
//! (`sub` = e-mail, integer `exp`; tokens without `exp` are refused, B-21), the bearer
//! header, password hashing (argon2id for new hashes; the reference's bcrypt hashes still
//! verify), login, changing one's own password, and the JWT secret shared by every replica
//! (the `app_settings` table's SQL).
//!
//! Hashing is CPU-bound and runs on the blocking pool, never on a runtime worker.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, header};
use deadpool_postgres::Pool;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::DbError;
use super::errors::{ApiError, msg};
use super::users::{self, User};
use super::validation::{Body, ParseBody, Problems, RawBody, Text};

/// The setting that holds the generated secret.
const SECRET_SETTING: &str = "jwt_secret";
/// Stores a freshly generated secret unless another replica stored one first.
const INSERT_SETTING: &str =
    "INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
const GET_SETTING: &str = "SELECT value FROM app_settings WHERE name = $1";

/// The message of every failed login (unknown e-mail, inactive user, wrong password).
pub const LOGIN_FAILED: &str = "Invalid email or password";

/// A validated `POST /api/auth/login` body.
#[derive(Debug, ToSchema)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 255)]
    pub email: String,
    pub password: String,
}

impl ParseBody for LoginRequest {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<LoginRequest> {
        let b = Body::of(raw, p)?;
        let email = users::email_field(&b, p, "email");
        let password = b.string(p, "password", Text::FREE);
        Some(LoginRequest {
            email: email?,
            password: password?,
        })
    }
}

/// A validated `POST /api/auth/change-password` body.
#[derive(Debug, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

impl ParseBody for PasswordChange {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<PasswordChange> {
        let b = Body::of(raw, p)?;
        let current = b.string(p, "current_password", Text::FREE);
        let new = users::new_password(&b, p, "new_password");
        Some(PasswordChange {
            current_password: current?,
            new_password: new?,
        })
    }
}

// ---- tokens ------------------------------------------------------------------------------

/// Signing and verification keys derived from the secret.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct IssuedClaims<'a> {
    sub: &'a str,
    exp: u64,
}

#[derive(Deserialize)]
struct ReceivedClaims {
    sub: String,
    #[serde(default)]
    iat: Option<serde_json::Value>,
}

impl Keys {
    /// Keys for `secret` (the bytes of `SECRET_KEY`, as the reference uses them); tokens
    /// live for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // A token carrying `aud` is refused: no audience is configured (spec 4.2).
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `email`, expiring after the configured lifetime.
    pub fn issue(&self, email: &str) -> Result<String, ApiError> {
        let exp = now_secs() + self.ttl.as_secs();
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &IssuedClaims { sub: email, exp },
            &self.encoding,
        )
        .map_err(|e| ApiError::Internal(format!("cannot sign a token: {e}")))
    }

    /// The `sub` of a valid token: HS256 signature, `exp` in the future, `nbf`/`iat` (when
    /// present) not in the future, no `aud`.
    pub fn verify(&self, token: &str) -> Option<String> {
        let data =
            jsonwebtoken::decode::<ReceivedClaims>(token, &self.decoding, &self.validation).ok()?;
        match data.claims.iat {
            None => {}
            Some(serde_json::Value::Number(n))
                if n.as_f64().is_some_and(|t| t <= now_secs() as f64) => {}
            Some(_) => return None,
        }
        Some(data.claims.sub)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(token)
        }
        _ => Err(ApiError::Unauthorized(msg::NOT_AUTHENTICATED)),
    }
}

/// The e-mail a request's bearer token names (no database access), or 401.
pub fn token_subject(keys: &Keys, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer_token(headers)?;
    keys.verify(token)
        .ok_or(ApiError::Unauthorized(msg::BAD_CREDENTIALS))
}

/// The active user with e-mail `email` (a token's subject), or 401.
pub async fn active_user(
    conn: &impl deadpool_postgres::GenericClient,
    email: &str,
) -> Result<User, ApiError> {
    match users::find_by_email(conn, email).await? {
        Some(user) if user.is_active => Ok(user),
        _ => Err(ApiError::Unauthorized(msg::BAD_CREDENTIALS)),
    }
}

/// The active user a request's bearer token names, or 401.
pub async fn current_user(pool: &Pool, keys: &Keys, headers: &HeaderMap) -> Result<User, ApiError> {
    let email = token_subject(keys, headers)?;
    let conn = super::db::conn(pool).await?;
    active_user(&conn, &email).await
}

/// Checks credentials and issues a token; one message for every failure.
pub async fn login(
    pool: &Pool,
    keys: &Keys,
    email: &str,
    password: String,
) -> Result<String, ApiError> {
    match users::find_for_login(pool, email).await? {
        Some((user, hash)) if user.is_active => {
            if verify_password(password, hash).await? {
                keys.issue(&user.email)
            } else {
                Err(ApiError::Unauthorized(LOGIN_FAILED))
            }
        }
        _ => {
            // Spend the same time as a real check, so response times do not reveal which
            // e-mail addresses exist.
            let dummy = dummy_hash().await?;
            let _ = verify_password(password, dummy).await?;
            Err(ApiError::Unauthorized(LOGIN_FAILED))
        }
    }
}

/// Changes the caller's own password after checking the current one.
pub async fn change_own_password(
    pool: &Pool,
    user: &User,
    current: String,
    new: String,
) -> Result<(), ApiError> {
    let Some(hash) = users::password_hash(pool, user.id).await? else {
        return Err(ApiError::Unauthorized(msg::BAD_CREDENTIALS));
    };
    if !verify_password(current, hash).await? {
        return Err(ApiError::bad_request("Current password is incorrect"));
    }
    let new_hash = hash_password(new).await?;
    users::set_password(pool, user.id, &new_hash).await
}

// ---- passwords ---------------------------------------------------------------------------

/// At most this many password hashes are computed at once. Each argon2 run holds
/// [`ARGON2_MEMORY_KIB`] and a core; a burst of logins queues here instead of multiplying the
/// process's memory. The one piece of global state in the backend: hashing is also reached
/// from seeding, outside any request state.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// argon2id cost for new hashes: OWASP's "m = 7 MiB, t = 5, p = 1" row, equivalent in
/// strength to the crate default (19 MiB, t = 2) with a third of the memory.
const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
const ARGON2_ITERATIONS: u32 = 5;

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, 1, None)
        .map_err(|e| ApiError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

async fn hashing_permit() -> Result<tokio::sync::SemaphorePermit<'static>, ApiError> {
    HASHING
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("hashing semaphore: {e}")))
}

/// An argon2id hash (PHC string) of `password`, computed on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || hash_password_now(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
}

fn hash_password_now(password: &str) -> Result<String, ApiError> {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let salt = SaltString::encode_b64(&random)
        .map_err(|e| ApiError::Internal(format!("cannot make a salt: {e}")))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("cannot hash a password: {e}")))
}

/// True if `password` matches `hash`: argon2 PHC strings (their own parameters), or the
/// reference's bcrypt
/// (`$2a$`/`$2b$`/`$2y$`, first 72 bytes significant). Unknown formats never match.
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || verify_password_now(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))
}

fn verify_password_now(password: &str, hash: &str) -> bool {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        bcrypt::verify(password, hash).unwrap_or(false)
    } else if hash.starts_with("$argon2") {
        PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    } else {
        false
    }
}

/// A hash of a random password, made once, to check failed logins against.
async fn dummy_hash() -> Result<String, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let made = hash_password(base64_url(&random)).await?;
    Ok(DUMMY.get_or_init(|| made).clone())
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---- the shared secret -------------------------------------------------------------------

/// The JWT secret: `configured` when given; otherwise the one stored in the database,
/// generated (32 random bytes) and stored first if there is none. Replicas starting at the
/// same time race on the insert; the loser reads the winner's secret.
pub async fn shared_secret(
    client: &impl deadpool_postgres::GenericClient,
    configured: Option<&str>,
) -> Result<Vec<u8>, DbError> {
    if let Some(s) = configured {
        return Ok(s.as_bytes().to_vec());
    }
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let candidate = base64_url(&random);
    let inserted = client
        .execute(INSERT_SETTING, &[&SECRET_SETTING, &candidate])
        .await?;
    if inserted == 1 {
        tracing::info!("SECRET_KEY is not set: generated a secret and stored it in the database");
    }
    let row = client.query_one(GET_SETTING, &[&SECRET_SETTING]).await?;
    let value: String = row.try_get(0)?;
    Ok(value.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> Keys {
        Keys::new(b"test-secret", Duration::from_secs(60))
    }

    /// A token with exactly these header and claims, signed with `secret` by the header's
    /// algorithm (`none`: no signature).
    fn forge(header: &str, claims: &str, secret: &[u8]) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let header: serde_json::Value = serde_json::from_str(header).unwrap();
        let claims: serde_json::Value = serde_json::from_str(claims).unwrap();
        match header["alg"].as_str().unwrap() {
            "none" => format!("{}.{}.", b64(&header.to_string()), b64(&claims.to_string())),
            alg => jsonwebtoken::encode(
                &Header::new(alg.parse().unwrap()),
                &claims,
                &EncodingKey::from_secret(secret),
            )
            .unwrap(),
        }
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn issued_tokens_verify_and_carry_sub_and_exp_only() {
        let k = keys();
        let token = k.issue("admin@wms.example.com").unwrap();
        assert_eq!(k.verify(&token).as_deref(), Some("admin@wms.example.com"));
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let obj = claims.as_object().unwrap();
        assert_eq!(obj.len(), 2);
        assert!(obj["exp"].is_u64());
    }

    #[test]
    fn a_reference_token_with_the_same_secret_verifies() {
        let exp = now_secs() + 60;
        let t = forge(
            HS256,
            &format!(r#"{{"sub":"a@b.c","exp":{exp}}}"#),
            b"test-secret",
        );
        assert_eq!(keys().verify(&t).as_deref(), Some("a@b.c"));
        // Made by Python's hmac/hashlib as PyJWT makes them (exp in 2100), independent of
        // the library under test.
        let pyjwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
            eyJzdWIiOiJhZG1pbkB3bXMuZXhhbXBsZS5jb20iLCJleHAiOjQxMDI0NDQ4MDB9.\
            pINPv7EytOjG5ORf5X3h9a3IB1o0e2Tl2ogFh84BAYE";
        assert_eq!(
            keys().verify(pyjwt).as_deref(),
            Some("admin@wms.example.com")
        );
    }

    #[test]
    fn bad_tokens_are_refused() {
        let k = keys();
        let exp = now_secs() + 60;
        let past = now_secs() - 1;
        let cases = [
            forge(HS256, r#"{"sub":"a@b.c"}"#, b"test-secret"),
            forge(
                HS256,
                &format!(r#"{{"sub":"a@b.c","exp":{past}}}"#),
                b"test-secret",
            ),
            forge(
                HS256,
                &format!(r#"{{"sub":"a@b.c","exp":{exp}}}"#),
                b"other",
            ),
            forge(HS256, &format!(r#"{{"exp":{exp}}}"#), b"test-secret"),
            forge(
                HS256,
                &format!(r#"{{"sub":5,"exp":{exp}}}"#),
                b"test-secret",
            ),
            forge(
                HS256,
                &format!(r#"{{"sub":"a","exp":{exp},"aud":"x"}}"#),
                b"test-secret",
            ),
            forge(
                HS256,
                &format!(r#"{{"sub":"a","exp":{exp},"nbf":{exp}}}"#),
                b"test-secret",
            ),
            forge(
                HS256,
                &format!(r#"{{"sub":"a","exp":{exp},"iat":{exp}}}"#),
                b"test-secret",
            ),
            forge(
                r#"{"alg":"none"}"#,
                &format!(r#"{{"sub":"a","exp":{exp}}}"#),
                b"",
            ),
            forge(
                r#"{"alg":"HS512"}"#,
                &format!(r#"{{"sub":"a","exp":{exp}}}"#),
                b"test-secret",
            ),
            "garbage".to_owned(),
        ];
        for t in cases {
            assert_eq!(k.verify(&t), None, "{t}");
        }
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert!(bearer_token(&h).is_err());
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h).unwrap(), "abc");
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(bearer_token(&h).is_err());
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(bearer_token(&h).is_err());
    }

    #[test]
    fn new_hashes_are_argon2id_with_bounded_memory() {
        let hash = hash_password_now("secret-1").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        assert!(verify_password_now("secret-1", &hash));
        assert!(!verify_password_now("secret-2", &hash));
    }

    #[test]
    fn bcrypt_hashes_of_the_reference_verify() {
        let hash = bcrypt::hash("admin123", 4).unwrap();
        assert!(verify_password_now("admin123", &hash));
        assert!(!verify_password_now("admin124", &hash));
        assert!(!verify_password_now("admin123", "plain"));
    }
}
