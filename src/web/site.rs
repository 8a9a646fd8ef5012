//! The built SPA, loaded into memory once at start-up.
//!
//! [`Site::load`] walks the root (symlinks are followed only while they stay inside it),
//! reads every file, and prepares what each response needs: MIME type, strong ETag,
//! `Last-Modified`, `Cache-Control`, and compressed variants. A precompressed `.br`/`.gz`
//! sibling from the build is used as is; otherwise compressible files are compressed here
//! (gzip level 6, brotli quality 5: fast enough to keep start-up short). A variant is kept
//! only if it is smaller than the original. The image is immutable, so the site is too;
//! a new build means a restart.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

/// Files larger than this are not served (an SPA has no business with them).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// One representation of a file.
#[derive(Clone, Debug)]
pub struct Variant {
    /// The bytes sent.
    pub body: Bytes,
    /// Its strong ETag, quotes included.
    pub etag: String,
}

/// A servable file.
#[derive(Clone, Debug)]
pub struct Entry {
    /// `Content-Type`.
    pub mime: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
    /// `Last-Modified` (HTTP date).
    pub last_modified: String,
    /// Modification time, for `If-Modified-Since`.
    pub modified: SystemTime,
    /// The file as is.
    pub identity: Variant,
    /// Gzip variant, if worth it.
    pub gzip: Option<Variant>,
    /// Brotli variant, if worth it.
    pub brotli: Option<Variant>,
}

impl Entry {
    /// True if and only if the response depends on `Accept-Encoding`.
    pub fn has_variants(&self) -> bool {
        self.gzip.is_some() || self.brotli.is_some()
    }
}

/// Why the site could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The root is missing or unreadable.
    #[error("cannot read the web root {path}: {source}")]
    Root {
        /// The root.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No `index.html` at the root.
    #[error("the web root {0} has no index.html (is the frontend built?)")]
    NoIndex(PathBuf),
}

/// Every file of the site, by URL path (`/assets/app.js`).
#[derive(Debug, Default)]
pub struct Site {
    files: HashMap<String, Entry>,
}

impl Site {
    /// Looks up a normalised path.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// True if a file exists at the normalised path.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The SPA's entry point.
    pub fn index(&self) -> Option<&Entry> {
        self.files.get("/index.html")
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True if and only if there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads `root` into memory.
    pub fn load(root: &Path) -> Result<Site, LoadError> {
        let canonical = root.canonicalize().map_err(|source| LoadError::Root {
            path: root.to_owned(),
            source,
        })?;
        let mut raw: HashMap<String, Loaded> = HashMap::new();
        walk(&canonical, &canonical, "", &mut raw, 0);
        let mut files = HashMap::new();
        for (url, loaded) in &raw {
            // Precompressed siblings are variants of their original, not files of their own.
            if let Some(base) = url.strip_suffix(".br").or_else(|| url.strip_suffix(".gz")) {
                if raw.contains_key(base) {
                    continue;
                }
            }
            let sibling = |ext: &str| raw.get(&format!("{url}{ext}")).cloned();
            files.insert(
                url.clone(),
                entry(url, loaded.clone(), sibling(".gz"), sibling(".br")),
            );
        }
        let site = Site { files };
        if site.index().is_none() {
            return Err(LoadError::NoIndex(root.to_owned()));
        }
        Ok(site)
    }
}

/// A file as read at start-up; a large one keeps its descriptor, to be mapped and sent by
/// `sendfile`.
#[derive(Clone)]
struct Loaded {
    bytes: Vec<u8>,
    modified: SystemTime,
    file: Option<Arc<std::fs::File>>,
}

/// Collects files under `dir` (depth-limited; symlinks must resolve inside `root`).
fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut HashMap<String, Loaded>, depth: usize) {
    if depth > 32 {
        tracing::warn!("{}: too deep, skipped", dir.display());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!("{}: unreadable, skipped", dir.display());
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!("{}: a file name that is not UTF-8, skipped", dir.display());
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(real) = path.canonicalize() else {
            tracing::warn!("{}: dangling symlink, skipped", path.display());
            continue;
        };
        if !real.starts_with(root) {
            tracing::warn!("{}: points outside the web root, skipped", path.display());
            continue;
        }
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        let url = format!("{prefix}/{name}");
        if meta.is_dir() {
            walk(root, &real, &url, out, depth + 1);
        } else if meta.is_file() {
            if meta.len() > MAX_FILE {
                tracing::warn!(
                    "{}: larger than {MAX_FILE} bytes, not served",
                    path.display()
                );
                continue;
            }
            match read_file(&real) {
                Ok((bytes, file)) => {
                    out.insert(
                        url,
                        Loaded {
                            bytes,
                            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                            file,
                        },
                    );
                }
                Err(e) => tracing::warn!("{}: {e}, skipped", path.display()),
            }
        }
    }
}

/// Reads a file; large ones keep their descriptor (their bytes are then mapped from it and
/// go out by `sendfile`).
fn read_file(path: &Path) -> std::io::Result<(Vec<u8>, Option<Arc<std::fs::File>>)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let keep = bytes.len() >= crate::http::zerocopy::MIN_SENDFILE;
    Ok((bytes, keep.then(|| Arc::new(file))))
}

fn entry(url: &str, loaded: Loaded, gz: Option<Loaded>, br: Option<Loaded>) -> Entry {
    let Loaded {
        bytes,
        modified,
        file,
    } = loaded;
    let mime = mime_type(url);
    let hash = format!("{:016x}", fnv1a(&bytes));
    let is_compressible = is_compressible(mime) && bytes.len() >= 256;
    let worth = |v: (Vec<u8>, Option<Arc<std::fs::File>>)| (v.0.len() < bytes.len()).then_some(v);
    let from_disk = |l: Loaded| (l.bytes, l.file);
    let made = |b: Vec<u8>| (b, None);
    let gzip = gz
        .map(from_disk)
        .or_else(|| is_compressible.then(|| gzip(&bytes).map(made)).flatten())
        .and_then(worth)
        .map(|(b, f)| Variant {
            body: body(b, f),
            etag: format!("\"{hash}-gz\""),
        });
    let brotli = br
        .map(from_disk)
        .or_else(|| is_compressible.then(|| brotli(&bytes).map(made)).flatten())
        .and_then(worth)
        .map(|(b, f)| Variant {
            body: body(b, f),
            etag: format!("\"{hash}-br\""),
        });
    Entry {
        mime,
        cache_control: cache_control(url),
        last_modified: httpdate::fmt_http_date(modified),
        modified,
        identity: Variant {
            body: body(bytes, file),
            etag: format!("\"{hash}\""),
        },
        gzip,
        brotli,
    }
}

/// A variant's bytes. Large ones reach the socket by `sendfile` without a copy
/// ([`crate::http::zerocopy`]): from the file they were read from when there is one (the
/// page cache, as nginx), else (variants compressed here) from a sealed memfd holding them.
/// Small ones, or all where that is refused, are ordinary memory.
fn body(bytes: Vec<u8>, file: Option<Arc<std::fs::File>>) -> Bytes {
    use crate::http::zerocopy;
    if bytes.len() < zerocopy::MIN_SENDFILE {
        return Bytes::from(bytes);
    }
    let sent = match file {
        Some(file) => zerocopy::backed_by_file(&file, bytes.len()),
        None => zerocopy::seal(&bytes),
    };
    match sent {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!("a {} byte body is served from memory: {e}", bytes.len());
            Bytes::from(bytes)
        }
    }
}

/// Hashed build output never changes under its name; everything else must revalidate.
pub fn cache_control(url: &str) -> &'static str {
    if url.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(bytes).ok()?;
    enc.finish().ok()
}

fn brotli(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(bytes).ok()?;
        w.flush().ok()?;
    }
    Some(out)
}

/// FNV-1a, 64 bit: a stable content hash for ETags (same bytes, same tag, on every replica).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `Content-Type` by extension.
pub fn mime_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

fn is_compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.starts_with("application/json")
        || mime.starts_with("application/manifest+json")
        || mime.starts_with("application/xml")
        || mime == "application/wasm"
        || mime == "image/svg+xml"
        || mime == "image/x-icon"
        || mime == "font/ttf"
        || mime == "font/otf"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_variants_and_skips_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir_all(root.join("assets")).unwrap();
        let js = "console.log('hello');\n".repeat(100);
        std::fs::write(root.join("index.html"), "<!doctype html><title>t</title>").unwrap();
        std::fs::write(root.join("assets/app-1a.js"), &js).unwrap();
        std::fs::write(root.join("assets/app-1a.js.br"), b"prebuilt-br").unwrap();
        std::fs::write(root.join("logo.png"), [0u8; 1000]).unwrap();
        std::fs::write(root.join(".env"), "SECRET=1").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("escape.txt"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("index.html"), root.join("inside.html")).unwrap();

        let site = Site::load(&root).unwrap();
        let js_entry = site.get("/assets/app-1a.js").unwrap();
        assert_eq!(js_entry.mime, "text/javascript; charset=utf-8");
        assert_eq!(
            js_entry.cache_control,
            "public, max-age=31536000, immutable"
        );
        assert_eq!(&js_entry.brotli.as_ref().unwrap().body[..], b"prebuilt-br");
        let gz = js_entry.gzip.as_ref().unwrap();
        assert!(gz.body.len() < js.len());
        assert!(gz.etag.ends_with("-gz\""));
        assert!(
            site.get("/assets/app-1a.js.br").is_none(),
            "siblings are variants, not files"
        );
        assert!(
            site.get("/logo.png").unwrap().gzip.is_none(),
            "png is not compressed"
        );
        assert_eq!(site.index().unwrap().cache_control, "no-cache");
        assert!(site.get("/.env").is_none());
        assert!(
            site.get("/escape.txt").is_none(),
            "symlink outside the root"
        );
        assert!(
            site.get("/inside.html").is_some(),
            "symlink inside the root"
        );
        assert_eq!(site.len(), 4);
    }

    #[test]
    fn a_root_without_index_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Site::load(dir.path()), Err(LoadError::NoIndex(_))));
        assert!(matches!(
            Site::load(&dir.path().join("nope")),
            Err(LoadError::Root { .. })
        ));
    }

    #[test]
    fn etags_are_stable_content_hashes() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
