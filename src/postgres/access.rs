//! Who may connect to the embedded PostgreSQL, and as what (pure: file contents and SQL
//! text; `init.rs` writes and runs them).
//!
//! * The OS account the server runs as reaches the superuser over the unix socket with
//!   `peer` (mapped in `pg_ident.conf`, so `POSTGRES_USER` may be any name), for normal and
//!   `replication` connections; nothing else is trusted.
//! * Everything else, socket or TCP, authenticates with `scram-sha-256`.
//! * The application connects as its own role (`WMS_DB_USER`, default `wms`): not a
//!   superuser, cannot create roles or databases, owns the application's database and every
//!   object in its `public` schema (so migrations run as it).
//!
//! `pg_hba.conf` carries a marker line; pg-init rewrites a file with the marker (or the old
//! `trust` default of earlier versions) at every boot, and leaves one without either alone
//! (the administrator's own), unless told to keep it regardless (`WMS_PG_HBA=keep`).

/// The first line of the files pg-init manages.
pub const MARKER: &str = "# Managed by wms pg-init";
/// The ident map's name.
pub const MAP: &str = "wms";

/// `pg_hba.conf`.
pub fn hba(superuser: &str) -> String {
    let su = quote_hba(superuser);
    format!(
        "{MARKER}: rewritten at every boot; to manage this file yourself remove this line \
         (or set WMS_PG_HBA=keep).\n\
         # TYPE  DATABASE     USER  ADDRESS  METHOD\n\
         local   all          {su}           peer map={MAP}\n\
         local   replication  {su}           peer map={MAP}\n\
         local   all          all            scram-sha-256\n\
         host    all          all   all      scram-sha-256\n"
    )
}

/// `pg_ident.conf`: the server's OS account is the superuser.
pub fn ident(os_account: &str, superuser: &str) -> String {
    format!(
        "{MARKER}: rewritten at every boot.\n\
         # MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n\
         {MAP}  {}  {}\n",
        quote_hba(os_account),
        quote_hba(superuser)
    )
}

/// What to do with an existing `pg_hba.conf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HbaAction {
    /// Missing, or ours: write it.
    Write,
    /// The old default with `trust`: replace it (and say so).
    Upgrade,
    /// The administrator's own: leave it.
    Keep,
}

/// Decides from the current contents (`None`: no file) and `WMS_PG_HBA=keep`.
pub fn hba_action(existing: Option<&str>, is_keep_requested: bool) -> HbaAction {
    let Some(text) = existing else {
        return HbaAction::Write;
    };
    if is_keep_requested {
        return HbaAction::Keep;
    }
    if text.lines().any(|l| l.starts_with(MARKER)) {
        return HbaAction::Write;
    }
    let trusts = text.lines().any(|l| {
        let l = l.split('#').next().unwrap_or("");
        l.split_whitespace().last() == Some("trust")
    });
    if trusts {
        HbaAction::Upgrade
    } else {
        HbaAction::Keep
    }
}

/// A name for pg_hba.conf / pg_ident.conf: double-quoted (a quote inside doubled).
fn quote_hba(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Creates the application role or brings an existing one to the rules above, with this
/// password (sent as a SCRAM verifier: the plain text never reaches the server or its log).
/// Run in the `postgres` database.
pub fn app_role_sql(app: &str, password: &str) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let role = quote_ident(app);
    format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN \
             CREATE ROLE {role}; \
           END IF; \
         END $$; \
         ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
           NOBYPASSRLS PASSWORD {verifier};",
        name = quote_literal(app),
        verifier = quote_literal(&verifier),
    )
}

/// Hands the database and everything in its `public` schema to the application role (a
/// volume made when the application connected as the superuser). Run in that database.
pub fn ownership_sql(database: &str, app: &str) -> String {
    let role = quote_ident(app);
    format!(
        "ALTER DATABASE {db} OWNER TO {role}; \
         ALTER SCHEMA public OWNER TO {role}; \
         DO $$ DECLARE r record; BEGIN \
           FOR r IN SELECT c.oid::regclass AS name FROM pg_class c \
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP \
             EXECUTE format('ALTER TABLE %s OWNER TO %I', r.name, {app}); \
           END LOOP; \
           FOR r IN SELECT c.oid::regclass AS name FROM pg_class c \
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' \
               AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP \
             EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', r.name, {app}); \
           END LOOP; \
           FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p \
               WHERE p.pronamespace = 'public'::regnamespace LOOP \
             EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.name, {app}); \
           END LOOP; \
         END $$;",
        db = quote_ident(database),
        app = quote_literal(app),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hba_trusts_nothing_and_maps_the_os_account() {
        let text = hba("postgres");
        assert!(text.starts_with(MARKER));
        let rules: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(rules.len(), 4);
        assert!(!text.contains("trust"));
        assert!(rules[0].contains("\"postgres\"") && rules[0].ends_with("peer map=wms"));
        assert!(rules[1].starts_with("local   replication"));
        assert!(rules.iter().skip(2).all(|r| r.ends_with("scram-sha-256")));
        assert_eq!(
            ident("postgres", "admin").lines().last(),
            Some("wms  \"postgres\"  \"admin\"")
        );
        assert!(hba("we\"ird").contains("\"we\"\"ird\""));
    }

    #[test]
    fn hba_action_rows() {
        let old_default = "local all all trust\nhost all all all scram-sha-256\n";
        let custom = "local all all md5\nhost all all 10.0.0.0/8 scram-sha-256\n";
        let commented_trust = "# local all all trust\nlocal all all md5\n";
        let rows = [
            (None, false, HbaAction::Write),
            (Some(hba("postgres")), false, HbaAction::Write),
            (Some(old_default.to_owned()), false, HbaAction::Upgrade),
            (Some(custom.to_owned()), false, HbaAction::Keep),
            (Some(commented_trust.to_owned()), false, HbaAction::Keep),
            (Some(old_default.to_owned()), true, HbaAction::Keep),
            (Some(hba("postgres")), true, HbaAction::Keep),
            (None, true, HbaAction::Write),
        ];
        for (text, keep, want) in rows {
            assert_eq!(
                hba_action(text.as_deref(), keep),
                want,
                "{text:?} keep={keep}"
            );
        }
    }

    #[test]
    fn sql_quotes_names_and_hides_the_password() {
        let sql = app_role_sql("w'ms", "secret-pw");
        assert!(
            !sql.contains("secret-pw"),
            "the plain password is never sent"
        );
        assert!(sql.contains("SCRAM-SHA-256$4096:"));
        assert!(sql.contains("rolname = 'w''ms'"));
        assert!(sql.contains("CREATE ROLE \"w'ms\""));
        assert!(sql.contains("NOSUPERUSER NOCREATEDB NOCREATEROLE"));
        let own = ownership_sql("wms", "wms");
        assert!(own.starts_with("ALTER DATABASE \"wms\" OWNER TO \"wms\";"));
        assert!(own.contains("ALTER ROUTINE %s OWNER TO %I', r.name, 'wms')"));
    }
}
