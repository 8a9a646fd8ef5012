//! Users: the `users` table's SQL, the user object of `/api/auth/me` and `/api/users/`, roles,
//! e-mail syntax, and user management (admins list, create, update and deactivate users).
//! Passwords are hashed by [`super::auth`]; nothing here knows about tokens.

use std::fmt;

use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::db::{self, DbError};
use super::errors::ApiError;
use super::validation::{Body, ErrorItem, ParseBody, Patch, Problems, RawBody, Text, loc};
use super::wire::Ts;

/// The user a token names (exact e-mail, as stored; spec 4.2).
const FIND_BY_EMAIL: &str =
    "SELECT id, email, is_active, role, created_at FROM users WHERE email = $1";
/// Login: case-insensitive (B-24); an exact match wins if case variants exist.
const FIND_FOR_LOGIN: &str = "SELECT id, email, is_active, role, created_at, hashed_password \
     FROM users WHERE lower(email) = lower($1) ORDER BY (email = $1) DESC LIMIT 1";
const FIND_BY_ID: &str = "SELECT id, email, is_active, role, created_at FROM users WHERE id = $1";
const FIND_HASH_BY_ID: &str = "SELECT hashed_password FROM users WHERE id = $1";
const LIST: &str = "SELECT id, email, is_active, role, created_at FROM users \
     ORDER BY lower(email), email";
const COUNT: &str = "SELECT count(*) FROM users";
const INSERT: &str = "INSERT INTO users (id, email, hashed_password, is_active, role) \
     VALUES ($1, $2, $3, $4, $5) RETURNING id, email, is_active, role, created_at";
/// Locks the active admins, so "at least one active admin remains" holds under concurrency.
const LOCK_ACTIVE_ADMINS: &str =
    "SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR NO KEY UPDATE";
const UPDATE: &str = "UPDATE users SET \
     role = COALESCE($2, role), \
     is_active = COALESCE($3, is_active), \
     hashed_password = COALESCE($4, hashed_password), \
     updated_at = now() \
     WHERE id = $1 RETURNING id, email, is_active, role, created_at";
const SET_PASSWORD: &str =
    "UPDATE users SET hashed_password = $2, updated_at = now() WHERE id = $1";

/// The unique index on `lower(email)`.
const EMAIL_LOWER_KEY: &str = "users_email_lower_key";
/// The reference's exact-match unique constraint.
const EMAIL_KEY: &str = "users_email_key";

/// Maximum length of an e-mail address (the column's limit).
pub const EMAIL_MAX: usize = 255;
/// Minimum length of a new password.
pub const PASSWORD_MIN: usize = 8;
/// Maximum length of a new password (bounds hashing work).
pub const PASSWORD_MAX: usize = 1024;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including user management and deleting reference data.
    Admin,
    /// Everything else: stock operations, products, imports, reading.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The user object: the reference's four fields of `/api/auth/me` in order, plus `role`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub email: String,
    pub id: Uuid,
    pub is_active: bool,
    pub created_at: Ts,
    pub role: Role,
}

impl User {
    /// True if and only if the user is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// `Ok` for admins, 403 for everyone else.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn from_row(row: &Row) -> Result<User, ApiError> {
        let role: String = row.try_get("role")?;
        Ok(User {
            email: row.try_get("email")?,
            id: row.try_get("id")?,
            is_active: row.try_get("is_active")?,
            created_at: Ts(row.try_get::<_, OffsetDateTime>("created_at")?),
            role: Role::parse(&role)
                .ok_or_else(|| ApiError::Internal(format!("unknown role {role:?} in users")))?,
        })
    }
}

/// The user a token names, by exact e-mail.
pub async fn find_by_email(
    conn: &impl deadpool_postgres::GenericClient,
    email: &str,
) -> Result<Option<User>, ApiError> {
    let stmt = conn.prepare_cached(FIND_BY_EMAIL).await?;
    let row = conn.query_opt(&stmt, &[&email]).await?;
    row.as_ref().map(User::from_row).transpose()
}

/// The user and password hash for a login attempt (case-insensitive e-mail).
pub async fn find_for_login(pool: &Pool, email: &str) -> Result<Option<(User, String)>, ApiError> {
    let conn = db::conn(pool).await?;
    let stmt = conn.prepare_cached(FIND_FOR_LOGIN).await?;
    match conn.query_opt(&stmt, &[&email]).await? {
        Some(row) => Ok(Some((
            User::from_row(&row)?,
            row.try_get("hashed_password")?,
        ))),
        None => Ok(None),
    }
}

/// The stored password hash of a user.
pub async fn password_hash(pool: &Pool, id: Uuid) -> Result<Option<String>, ApiError> {
    let conn = db::conn(pool).await?;
    let row = conn.query_opt(FIND_HASH_BY_ID, &[&id]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Replaces a user's password hash.
pub async fn set_password(pool: &Pool, id: Uuid, hash: &str) -> Result<(), ApiError> {
    let conn = db::conn(pool).await?;
    conn.execute(SET_PASSWORD, &[&id, &hash]).await?;
    Ok(())
}

/// Every user, by e-mail.
pub async fn list(pool: &Pool) -> Result<Vec<User>, ApiError> {
    let conn = db::conn(pool).await?;
    let rows = conn.query(LIST, &[]).await?;
    rows.iter().map(User::from_row).collect()
}

/// One user.
pub async fn get(pool: &Pool, id: Uuid) -> Result<User, ApiError> {
    let conn = db::conn(pool).await?;
    match conn.query_opt(FIND_BY_ID, &[&id]).await? {
        Some(row) => User::from_row(&row),
        None => Err(ApiError::not_found(USER_NOT_FOUND)),
    }
}

/// True if the users table is empty (the first start seeds an admin then).
pub async fn is_empty(client: &impl deadpool_postgres::GenericClient) -> Result<bool, DbError> {
    let row = client.query_one(COUNT, &[]).await?;
    Ok(row.try_get::<_, i64>(0)? == 0)
}

const USER_NOT_FOUND: &str = "User not found";

/// A validated `POST /api/users/` body (the password not yet hashed).
#[derive(Debug, ToSchema)]
#[schema(as = UserCreate)]
pub struct NewUser {
    #[schema(format = Email, max_length = 255)]
    pub email: String,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(required = false, default = "operator")]
    pub role: Role,
    #[schema(required = false, default = true)]
    pub is_active: bool,
}

/// A validated `PUT /api/users/{id}` body (the password not yet hashed).
#[derive(Debug, Default, ToSchema)]
#[schema(as = UserUpdate)]
pub struct UserChange {
    #[schema(nullable = false)]
    pub role: Option<Role>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(min_length = 8, max_length = 1024, nullable = false)]
    pub password: Option<String>,
}

impl ParseBody for NewUser {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewUser> {
        let body = Body::of(raw, p)?;
        let email = email_field(&body, p, "email");
        let password = new_password(&body, p, "password");
        let role = role_field(&body, p).into_option().unwrap_or(Role::Operator);
        let is_active = body
            .patch_bool(p, "is_active")
            .into_option()
            .unwrap_or(true);
        Some(NewUser {
            email: email?,
            password: password?,
            role,
            is_active,
        })
    }
}

impl ParseBody for UserChange {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<UserChange> {
        let body = Body::of(raw, p)?;
        let role = role_field(&body, p).into_option();
        let is_active = body.patch_bool(p, "is_active").into_option();
        let password = if body.has("password") {
            new_password(&body, p, "password")
        } else {
            None
        };
        Some(UserChange {
            role,
            is_active,
            password,
        })
    }
}

/// A required e-mail field: basic syntax only (B-39), domain lower-cased.
pub fn email_field(body: &Body<'_>, p: &mut Problems, name: &str) -> Option<String> {
    let raw = body.string(p, name, Text::max(EMAIL_MAX))?;
    match check_email_syntax(&raw) {
        Ok(address) => Some(address),
        Err(reason) => {
            p.push(email_problem(loc("body", name), &raw, reason));
            None
        }
    }
}

/// The reference's e-mail problem: `value_error` with a `reason` context.
pub fn email_problem(loc: Vec<Value>, raw: &str, reason: &str) -> ErrorItem {
    ErrorItem::new(
        "value_error",
        loc,
        format!("value is not a valid email address: {reason}"),
        Value::from(raw),
    )
    .with_ctx(json!({ "reason": reason }))
}

/// A new password: 8 to 1024 characters.
pub fn new_password(body: &Body<'_>, p: &mut Problems, name: &str) -> Option<String> {
    let value = body.string(p, name, Text::max(PASSWORD_MAX))?;
    if value.chars().count() < PASSWORD_MIN {
        p.push(
            ErrorItem::new(
                "string_too_short",
                loc("body", name),
                format!("String should have at least {PASSWORD_MIN} characters"),
                Value::from(value.as_str()),
            )
            .with_ctx(json!({ "min_length": PASSWORD_MIN })),
        );
        return None;
    }
    Some(value)
}

fn role_field(body: &Body<'_>, p: &mut Problems) -> Patch<Role> {
    match body.patch_string(p, "role", Text::FREE, false) {
        Patch::Set(s) => match Role::parse(&s) {
            Some(r) => Patch::Set(r),
            None => {
                p.push(
                    ErrorItem::new(
                        "enum",
                        loc("body", "role"),
                        "Input should be 'admin' or 'operator'",
                        Value::from(s),
                    )
                    .with_ctx(json!({"expected": "'admin' or 'operator'"})),
                );
                Patch::Invalid
            }
        },
        Patch::Absent => Patch::Absent,
        Patch::Null | Patch::Invalid => Patch::Invalid,
    }
}

/// Checks e-mail syntax the basic way (B-39: no special-use domain rejection) and returns
/// the address with its domain lower-cased; a display-name form `Name <addr>` is reduced to
/// the address. The error is the reason text of the reference's message.
pub fn check_email_syntax(raw: &str) -> Result<String, &'static str> {
    let mut s = raw.trim();
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        s = s[open + 1..s.len() - 1].trim();
    }
    let Some(at) = s.rfind('@') else {
        return Err("An email address must have an @-sign.");
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() {
        return Err("There must be something before the @-sign.");
    }
    if domain.is_empty() {
        return Err("There must be something after the @-sign.");
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return Err("The email address contains invalid characters.");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err("The part after the @-sign is not valid.");
    }
    if s.chars().count() > EMAIL_MAX {
        return Err("The email address is too long.");
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Creates a user (`hash` already computed). 400 if the e-mail is taken in any case.
pub async fn create(pool: &Pool, new: &NewUser, hash: &str) -> Result<User, ApiError> {
    let conn = db::conn(pool).await?;
    insert(&conn, &new.email, hash, new.is_active, new.role)
        .await
        .map_err(|e| {
            if e.is_unique_violation(EMAIL_LOWER_KEY) || e.is_unique_violation(EMAIL_KEY) {
                ApiError::bad_request(format!("User with email '{}' already exists", new.email))
            } else {
                e.into()
            }
        })
}

/// Inserts a user row.
pub async fn insert(
    client: &impl deadpool_postgres::GenericClient,
    email: &str,
    hash: &str,
    is_active: bool,
    role: Role,
) -> Result<User, DbError> {
    let row = client
        .query_one(
            INSERT,
            &[&Uuid::new_v4(), &email, &hash, &is_active, &role.as_str()],
        )
        .await?;
    User::from_row(&row).map_err(|e| DbError::Setup(format!("{e:?}")))
}

/// Applies a change (`hash` already computed). An admin cannot demote or deactivate the last
/// active admin, themselves included.
pub async fn update(
    pool: &Pool,
    id: Uuid,
    change: &UserChange,
    hash: Option<&str>,
) -> Result<User, ApiError> {
    let mut conn = db::conn(pool).await?;
    let tx = conn.transaction().await?;
    let admins: Vec<Uuid> = tx
        .query(LOCK_ACTIVE_ADMINS, &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let Some(row) = tx
        .query_opt(
            UPDATE,
            &[
                &id,
                &change.role.map(Role::as_str),
                &change.is_active,
                &hash,
            ],
        )
        .await?
    else {
        return Err(ApiError::not_found(USER_NOT_FOUND));
    };
    let user = User::from_row(&row)?;
    let was_admin = admins.contains(&id);
    let still_admin = user.is_admin() && user.is_active;
    if was_admin && !still_admin && admins.len() <= 1 {
        return Err(ApiError::bad_request(
            "The last active administrator cannot be demoted or deactivated",
        ));
    }
    tx.commit().await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::check_email_syntax;

    #[test]
    fn email_syntax_is_basic_and_lowercases_the_domain() {
        assert_eq!(
            check_email_syntax("admin@WMS.EXAMPLE.COM"),
            Ok("admin@wms.example.com".to_owned())
        );
        assert_eq!(
            check_email_syntax("ADMIN@wms.example.com"),
            Ok("ADMIN@wms.example.com".to_owned())
        );
        assert_eq!(
            check_email_syntax("Admin <admin@wms.example.com>"),
            Ok("admin@wms.example.com".to_owned())
        );
        // B-39: special-use domains are fine.
        assert_eq!(
            check_email_syntax("admin@wms.local"),
            Ok("admin@wms.local".to_owned())
        );
        assert_eq!(
            check_email_syntax("admin"),
            Err("An email address must have an @-sign.")
        );
        assert!(check_email_syntax("@x.org").is_err());
        assert!(check_email_syntax("a@").is_err());
        assert!(check_email_syntax("a b@x.org").is_err());
        assert!(check_email_syntax("a@x..org").is_err());
    }
}
