//! SQL against a stack's PostgreSQL from a test: one blocking client on its own small
//! runtime (simple queries, rows as their first column's text). For holding locks, reading
//! roles and owners, and checking what the application connects as.

/// A connection, open until dropped.
pub struct Sql {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Sql {
    /// Connects, or says why not (the server's message when it refused).
    pub fn try_connect(conninfo: &str) -> Result<Sql, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
                .await
                .map_err(|e| match e.as_db_error() {
                    Some(db) => format!("{}: {}", db.code().code(), db.message()),
                    None => e.to_string(),
                })?;
            tokio::spawn(connection);
            Ok::<_, String>(client)
        })?;
        Ok(Sql { rt, client })
    }

    /// Connects as the stack's superuser over TCP with the layout's password.
    pub fn superuser(layout: &super::stack::Layout, dbname: &str) -> Sql {
        Sql::try_connect(&format!(
            "host=127.0.0.1 port={} user=postgres password={} dbname={dbname} connect_timeout=5",
            layout.pg_port, layout.password
        ))
        .expect("connect to the stack's PostgreSQL as the superuser")
    }

    /// Runs `sql` (any number of statements); the first column of every row, as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// As [`Sql::query`], with the error instead of a panic.
    pub fn try_query(&self, sql: &str) -> Result<Vec<String>, String> {
        self.rt.block_on(async {
            let rows = self
                .client
                .simple_query(sql)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                    _ => None,
                })
                .collect())
        })
    }
}
