//! Service output: drained continuously and written as `NAME | line`.
//!
//! Every service's stdout and stderr are pipes read by their own task until EOF, so a child
//! never blocks on a full pipe. [`LineSplitter`] (pure) cuts the byte stream into lines:
//! complete lines only, over-long lines split at a UTF-8 boundary, invalid UTF-8 replaced,
//! never a panic. Each line is written to our stdout/stderr with a single `write_all` under
//! the stream's lock, so lines from different services never interleave or tear.
//!
//! Writing is synchronous: if whoever reads our stdout stops reading, we stop too. In a
//! container the runtime's log collector always reads; this is the same contract every
//! process has with its stdout.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// Bytes read from a service's pipe at a time (a few log lines; a longer burst takes more
/// reads). Small because one buffer lives per stream of every running service.
const READ_CHUNK: usize = 2048;

/// Longest line written as one; longer input is split into several lines.
pub const MAX_LINE: usize = 16 * 1024;

/// Which of our streams a service stream is copied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Copied to our stdout.
    Stdout,
    /// Copied to our stderr.
    Stderr,
}

/// Cuts a byte stream into lines of at most `max` bytes.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    max: usize,
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes (`max` ≥ 4).
    pub fn new(max: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max: max.max(4),
        }
    }

    /// Adds bytes; calls `emit` for every line now complete (without its `\n`).
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i <= self.max => {
                    emit_chunk(&rest[..i], emit);
                    start += i + 1;
                }
                _ if rest.len() > self.max => {
                    let cut = utf8_boundary(rest, self.max);
                    emit_chunk(&rest[..cut], emit);
                    start += cut;
                }
                _ => break,
            }
        }
        self.buf.drain(..start);
    }

    /// End of stream: emits what is left as a last line.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.buf.is_empty() {
            emit_chunk(&self.buf, emit);
            self.buf.clear();
        }
    }
}

fn emit_chunk(bytes: &[u8], emit: &mut dyn FnMut(&str)) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    emit(&String::from_utf8_lossy(bytes));
}

/// The largest cut ≤ `max` that does not split a UTF-8 sequence (falls back to `max` for
/// bytes that are not valid UTF-8 anyway).
fn utf8_boundary(bytes: &[u8], max: usize) -> usize {
    (max.saturating_sub(3)..=max)
        .rev()
        .find(|&i| i == 0 || i >= bytes.len() || (bytes[i] & 0xC0) != 0x80)
        .filter(|&i| i > 0)
        .unwrap_or(max)
}

/// Longest `last_output` kept per service.
const TAIL_MAX: usize = 300;

/// The last non-empty line each service printed, for `/health`'s `last_output`: when a
/// service keeps exiting, this is usually why ("Address already in use").
///
/// A std `Mutex`: held only to copy one short string in or out, never across an `.await`.
#[derive(Debug, Default)]
pub struct Tails {
    lines: Mutex<HashMap<String, String>>,
}

impl Tails {
    /// Remembers `line` as `service`'s latest output (blank lines are skipped).
    pub fn record(&self, service: &str, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let mut cut = line.len().min(TAIL_MAX);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Ok(mut lines) = self.lines.lock() {
            lines.insert(service.to_owned(), line[..cut].to_owned());
        }
    }

    /// `service`'s latest output line.
    pub fn get(&self, service: &str) -> Option<String> {
        self.lines.lock().ok()?.get(service).cloned()
    }
}

/// Formats one output line: the name padded to `width`, a bar, the text.
pub fn format_line(name: &str, width: usize, text: &str) -> String {
    format!("{name:<width$} | {text}\n")
}

/// Reads `fd` until EOF on a task of its own, writing each line prefixed with `name` and
/// remembering the latest in `tails`.
pub fn drain(name: String, width: usize, stream: Stream, fd: OwnedFd, tails: Arc<Tails>) {
    let mut pipe = match pipe::Receiver::from_owned_fd(fd) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(service = %name, "cannot read the service's output: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        let mut splitter = LineSplitter::new(MAX_LINE);
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut write = |text: &str| {
            tails.record(&name, text);
            let line = format_line(&name, width, text);
            // A failed write to our own stdout/stderr has nowhere to be reported.
            let _ = match stream {
                Stream::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
                Stream::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
            };
        };
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => splitter.push(&chunk[..n], &mut write),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        splitter.finish(&mut write);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, pieces: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut |l| out.push(l.to_owned()));
        }
        s.finish(&mut |l| out.push(l.to_owned()));
        out
    }

    #[test]
    fn lines_across_reads_are_joined_not_torn() {
        assert_eq!(
            split(100, &[b"hel", b"lo\nwor", b"ld\n"]),
            ["hello", "world"]
        );
        assert_eq!(split(100, &[b"a\r\nb"]), ["a", "b"]);
        assert_eq!(split(100, &[b"\n\n"]), ["", ""]);
    }

    #[test]
    fn long_lines_are_split_at_char_boundaries() {
        let out = split(8, &[b"0123456789abcdef01\n"]);
        assert_eq!(out, ["01234567", "89abcdef", "01"]);
        // Four 2-byte characters are 8 bytes; "жжжжж" is 10: cut after 4 characters.
        let out = split(9, &["жжжжж\n".as_bytes()]);
        assert_eq!(out, ["жжжж", "ж"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let out = split(100, &[b"ok \xff\xfe end\n"]);
        assert_eq!(out, ["ok \u{fffd}\u{fffd} end"]);
        let out = split(4, &[b"\xff\xff\xff\xff\xff\xff"]);
        assert_eq!(out.concat().chars().filter(|c| *c == '\u{fffd}').count(), 6);
    }

    #[test]
    fn tails_keep_the_last_non_blank_line_cut_at_a_char_boundary() {
        let t = Tails::default();
        t.record("web", "first");
        t.record("web", "   ");
        assert_eq!(t.get("web").as_deref(), Some("first"));
        t.record("web", &"ж".repeat(200));
        assert_eq!(t.get("web").map(|l| l.len()), Some(300));
        assert_eq!(t.get("db"), None);
    }

    #[test]
    fn format_pads_names() {
        assert_eq!(format_line("web", 8, "up"), "web      | up\n");
        assert_eq!(format_line("postgres", 3, "x"), "postgres | x\n");
    }
}
