//! CSV exports streamed from a query: the owner module supplies the SQL, its parameters and
//! a [`Table`] (header, number columns, row renderer); rows go out in chunks as PostgreSQL
//! produces them, so memory stays flat for any number of rows. The file starts with a UTF-8
//! BOM so that spreadsheet programs read Cyrillic text correctly.
//!
//! Text cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return) are prefixed with `'`, which spreadsheets show as text (OWASP's
//! CSV injection advice); number columns (signed quantities) are left as numbers.

use std::pin::Pin;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use tokio_postgres::{Row, RowStream};

use super::db::{self, Conn, Filters};
use super::errors::ApiError;

/// Renders one row as CSV fields.
pub type RenderRow = fn(&Row) -> Result<Vec<String>, tokio_postgres::Error>;

/// An export of an owner module.
pub struct Table {
    pub header: &'static [&'static str],
    /// Header names of the columns that hold numbers (never neutralised).
    pub numbers: &'static [&'static str],
    pub render: RenderRow,
    pub filename: &'static str,
}

/// The first characters that make a spreadsheet evaluate a cell.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet shows it, never runs it: `'` before a formula start.
pub fn neutralise(text: &mut String) {
    if text.starts_with(FORMULA_STARTS) {
        text.insert(0, '\'');
    }
}

/// Bytes collected before a chunk is sent.
const CHUNK: usize = 32 * 1024;

/// State of a running export: the connection must outlive the row stream.
struct Export {
    /// Keeps the pooled connection checked out until the stream ends (dropping it returns
    /// the connection to the pool).
    _conn: Conn,
    rows: Pin<Box<RowStream>>,
    writer: csv::Writer<Vec<u8>>,
    render: RenderRow,
    /// Per column: true for text (neutralised), false for numbers.
    is_text: Vec<bool>,
    done: bool,
}

/// A streaming `text/csv` response of `table`.
pub async fn csv_response(
    pool: &Pool,
    sql: &str,
    filters: &Filters,
    table: &Table,
) -> Result<Response, ApiError> {
    let conn = db::conn(pool).await?;
    let stmt = conn.prepare_cached(sql).await?;
    let rows = conn.query_raw(&stmt, filters.params()).await?;
    let mut start = Vec::with_capacity(CHUNK * 2);
    start.extend_from_slice("\u{feff}".as_bytes());
    let mut writer = csv::Writer::from_writer(start);
    writer
        .write_record(table.header)
        .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let state = Export {
        _conn: conn,
        rows: Box::pin(rows),
        writer,
        render: table.render,
        is_text: table
            .header
            .iter()
            .map(|h| !table.numbers.contains(h))
            .collect(),
        done: false,
    };
    let stream = futures_util::stream::unfold(state, next_chunk);
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let filename = table.filename;
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The export failed part-way; the response is cut off (the client sees a broken
/// transfer, never a silently short file).
#[derive(Debug, thiserror::Error)]
#[error("export failed: {0}")]
struct ExportError(String);

async fn next_chunk(mut s: Export) -> Option<(Result<Bytes, ExportError>, Export)> {
    if s.done {
        return None;
    }
    loop {
        match s.rows.next().await {
            Some(Ok(row)) => {
                let mut fields = match (s.render)(&row) {
                    Ok(f) => f,
                    Err(e) => return Some(fail(s, e.to_string())),
                };
                for (field, is_text) in fields.iter_mut().zip(&s.is_text) {
                    if *is_text {
                        neutralise(field);
                    }
                }
                if let Err(e) = s.writer.write_record(&fields) {
                    return Some(fail(s, e.to_string()));
                }
                if s.writer.get_ref().len() >= CHUNK {
                    // `get_ref` sees only flushed bytes; the writer flushes its own buffer
                    // as it fills, so this triggers roughly every CHUNK bytes.
                    return take(s);
                }
            }
            Some(Err(e)) => return Some(fail(s, e.to_string())),
            None => {
                s.done = true;
                return take(s);
            }
        }
    }
}

/// Sends what the writer holds and starts a fresh one.
fn take(mut s: Export) -> Option<(Result<Bytes, ExportError>, Export)> {
    let full = std::mem::replace(
        &mut s.writer,
        csv::Writer::from_writer(Vec::with_capacity(CHUNK * 2)),
    );
    match full.into_inner() {
        Ok(bytes) => Some((Ok(Bytes::from(bytes)), s)),
        Err(e) => Some(fail(s, e.to_string())),
    }
}

fn fail(mut s: Export, what: String) -> (Result<Bytes, ExportError>, Export) {
    tracing::error!("CSV export failed: {what}");
    s.done = true;
    (Err(ExportError(what)), s)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_starts_are_neutralised() {
        for (raw, shown) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("plain", "plain"),
            ("", ""),
            ("4601234567890", "4601234567890"),
        ] {
            let mut s = raw.to_owned();
            neutralise(&mut s);
            assert_eq!(s, shown);
        }
    }
}
