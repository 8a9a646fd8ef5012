//! Request path → what to serve, as a pure function.
//!
//! [`normalize`] turns the raw request path into a clean `/a/b.js` or refuses it: `..` and
//! `.` segments, encoded or double-encoded dots and slashes, backslashes, NUL and other
//! control characters are all refused, and dotfiles are never served. [`route`] then decides
//! between a file, the SPA's `index.html` (client routes like `/movements`) and a real 404
//! (anything under `/assets/` or with an extension that does not exist).
//!
//! The server only ever serves files it loaded from the root at start-up (symlinks leading
//! outside the root are not loaded), so even a path that slipped through here could not
//! reach outside it: two independent locks on the same door.

use percent_encoding::percent_decode_str;

/// Why a path is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed or an escape attempt: 400.
    BadPath,
    /// A hidden file (`.env`, `.git/…`): 404, as if it did not exist.
    Hidden,
}

/// Normalises a request path (no query string). Returns `/`-separated segments joined with
/// a leading `/`, with empty segments (`//`) collapsed.
pub fn normalize(raw: &str) -> Result<String, Refusal> {
    if !raw.starts_with('/') {
        return Err(Refusal::BadPath);
    }
    let lower = raw.to_ascii_lowercase();
    // Encoded separators would change the meaning of the path after decoding.
    if lower.contains("%2f") || lower.contains("%5c") || raw.contains('\\') {
        return Err(Refusal::BadPath);
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Refusal::BadPath)?;
    // A '%' left after one decoding is a double-encoding attempt (`%252e`).
    if decoded.contains('%') || decoded.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Refusal::BadPath);
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return Err(Refusal::BadPath);
        }
        if segment.starts_with('.') {
            return Err(Refusal::Hidden);
        }
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// The interactive API documentation page (Swagger UI, built by the frontend).
pub const API_DOCS_PAGE: &str = "/api-docs/index.html";

/// Paths `wms web` answers itself with a built page although they look like something else:
/// `/api/docs` (under the proxied prefix, so the docs are reachable on the public port) and
/// the reference system's `/docs`.
pub fn page_alias(path: &str) -> Option<&'static str> {
    match path {
        "/api/docs" | "/api/docs/" | "/docs" | "/docs/" => Some(API_DOCS_PAGE),
        _ => None,
    }
}

/// What to answer for a normalised path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A file that exists.
    File(String),
    /// A client-side route: serve `index.html`.
    Fallback,
    /// A missing asset (or a file-like path): a real 404.
    NotFound,
}

/// Decides, given whether a file exists at the normalised `path`.
pub fn route(path: &str, exists: impl Fn(&str) -> bool) -> Route {
    if path == "/" {
        return Route::Fallback;
    }
    if exists(path) {
        return Route::File(path.to_owned());
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if path.starts_with("/assets/") || path == "/assets" || last.contains('.') {
        Route::NotFound
    } else {
        Route::Fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_aliases_name_the_built_page_and_nothing_else() {
        for p in ["/api/docs", "/api/docs/", "/docs", "/docs/"] {
            assert_eq!(page_alias(p), Some(API_DOCS_PAGE), "{p}");
        }
        for p in [
            "/api/docsx",
            "/api/docs/x",
            "/api/openapi.json",
            "/doc",
            "/",
        ] {
            assert_eq!(page_alias(p), None, "{p}");
        }
    }

    #[test]
    fn clean_paths() {
        for (raw, want) in [
            ("/", "/"),
            ("/index.html", "/index.html"),
            ("//assets//app.js", "/assets/app.js"),
            ("/movements/", "/movements"),
            ("/%D0%B6.txt", "/ж.txt"),
            ("/a%20b", "/a b"),
        ] {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn every_traversal_trick_is_refused() {
        for raw in [
            "/../etc/passwd",
            "/assets/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/etc/passwd",
            "/%252e%252e/etc/passwd",
            "/assets%2f..%2f..%2fetc%2fpasswd",
            "/assets%2F..",
            "/..%5c..%5cetc",
            "/..\\..\\etc",
            "/a\\b",
            "/%00",
            "/index.html%00.js",
            "/%0a",
            "/%ff%fe",
            "/./index.html",
            "relative",
            "",
        ] {
            assert_eq!(normalize(raw), Err(Refusal::BadPath), "{raw:?}");
        }
        for raw in ["/.env", "/.git/config", "/assets/.hidden", "/%2eenv"] {
            assert_eq!(normalize(raw), Err(Refusal::Hidden), "{raw:?}");
        }
    }

    #[test]
    fn spa_fallback_versus_real_404() {
        let exists = |p: &str| p == "/assets/app-1a2b.js" || p == "/favicon.ico";
        assert_eq!(route("/", exists), Route::Fallback);
        assert_eq!(route("/movements", exists), Route::Fallback);
        assert_eq!(route("/products/42/edit", exists), Route::Fallback);
        assert_eq!(
            route("/assets/app-1a2b.js", exists),
            Route::File("/assets/app-1a2b.js".into())
        );
        assert_eq!(
            route("/favicon.ico", exists),
            Route::File("/favicon.ico".into())
        );
        assert_eq!(route("/assets/missing.js", exists), Route::NotFound);
        assert_eq!(route("/assets/no-extension", exists), Route::NotFound);
        assert_eq!(route("/assets", exists), Route::NotFound);
        assert_eq!(route("/robots.txt", exists), Route::NotFound);
        assert_eq!(route("/deep/path/file.png", exists), Route::NotFound);
    }
}
