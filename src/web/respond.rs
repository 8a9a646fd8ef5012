//! Building static responses: content negotiation, conditional requests, headers. Pure.

use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};

use super::site::{Entry, Variant};

/// Headers every response from the static side carries. The camera is allowed for our own
/// origin only (camera scanning in the SPA); microphone and location for nobody.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(self), microphone=(), geolocation=()",
    ),
];

/// The SPA's policy: everything from our origin; inline styles for the component library's
/// CSS-in-JS; no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// A content coding we can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// Brotli.
    Br,
    /// Gzip.
    Gzip,
    /// As is.
    Identity,
}

/// The best coding the client accepts among those available: br, then gzip, then identity.
/// Honours `q=0` (including `identity;q=0` and `*`).
pub fn negotiate(accept_encoding: Option<&str>, has_br: bool, has_gzip: bool) -> Coding {
    let Some(header) = accept_encoding else {
        return Coding::Identity;
    };
    let q_of = |name: &str| -> Option<f32> {
        let mut star = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let token = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .map(|v| v.trim().parse::<f32>().unwrap_or(0.0))
                })
                .unwrap_or(1.0);
            if token == name {
                return Some(q);
            }
            if token == "*" {
                star = Some(q);
            }
        }
        star
    };
    let br = q_of("br").unwrap_or(0.0);
    let gz = q_of("gzip").unwrap_or(0.0);
    if has_br && br > 0.0 && br >= gz {
        Coding::Br
    } else if has_gzip && gz > 0.0 {
        Coding::Gzip
    } else if has_br && br > 0.0 {
        Coding::Br
    } else {
        Coding::Identity
    }
}

/// True if an `If-None-Match` value matches `etag` (weak comparison, `*` matches).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let target = opaque(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == target)
}

/// A static response, ready to send (body empty for HEAD and 304).
#[derive(Debug)]
pub struct Static {
    /// Status: 200 or 304.
    pub status: StatusCode,
    /// All headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// The response for `entry`, given the request's method and headers.
pub fn file_response(entry: &Entry, method: &Method, req: &HeaderMap) -> Static {
    let accept = req
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let coding = negotiate(accept, entry.brotli.is_some(), entry.gzip.is_some());
    let variant: &Variant = match coding {
        Coding::Br => entry.brotli.as_ref().unwrap_or(&entry.identity),
        Coding::Gzip => entry.gzip.as_ref().unwrap_or(&entry.identity),
        Coding::Identity => &entry.identity,
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_TYPE, entry.mime);
    set(header::CACHE_CONTROL, entry.cache_control);
    set(header::ETAG, &variant.etag);
    set(header::LAST_MODIFIED, &entry.last_modified);
    set(header::ACCEPT_RANGES, "none");
    if entry.has_variants() {
        set(header::VARY, "Accept-Encoding");
    }
    match coding {
        Coding::Br if entry.brotli.is_some() => set(header::CONTENT_ENCODING, "br"),
        Coding::Gzip if entry.gzip.is_some() => set(header::CONTENT_ENCODING, "gzip"),
        _ => {}
    }
    if entry.mime.starts_with("text/html") {
        set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    }
    add_security_headers(&mut headers);

    let is_fresh = match req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(inm) => etag_matches(inm, &variant.etag),
        None => req
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| not_modified_since(entry.modified, since)),
    };
    if is_fresh {
        return Static {
            status: StatusCode::NOT_MODIFIED,
            headers,
            body: Bytes::new(),
        };
    }
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(variant.body.len()),
    );
    Static {
        status: StatusCode::OK,
        headers,
        body: if method == Method::HEAD {
            Bytes::new()
        } else {
            variant.body.clone()
        },
    }
}

/// HTTP dates have whole seconds: compare at that precision.
fn not_modified_since(modified: SystemTime, since: SystemTime) -> bool {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    secs(modified) <= secs(since)
}

/// Adds the security headers that are not set yet.
pub fn add_security_headers(headers: &mut HeaderMap) {
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        use Coding::*;
        let rows: &[(Option<&str>, bool, bool, Coding)] = &[
            (None, true, true, Identity),
            (Some("gzip, deflate, br"), true, true, Br),
            (Some("gzip"), true, true, Gzip),
            (Some("br;q=0.5, gzip"), true, true, Gzip),
            (Some("br, gzip;q=0"), false, true, Identity),
            (Some("*"), true, true, Br),
            (Some("*;q=0, gzip"), true, true, Gzip),
            (Some("br"), false, true, Identity),
            (Some("identity"), true, true, Identity),
            (Some("GZIP"), false, true, Gzip),
            (Some("br;q=garbage, gzip"), true, true, Gzip),
        ];
        for (header, br, gz, want) in rows {
            assert_eq!(
                negotiate(*header, *br, *gz),
                *want,
                "{header:?} br={br} gz={gz}"
            );
        }
    }

    #[test]
    fn etag_matching() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abc-gz\"", "\"abc\""));
    }
}
