//! `env_file` contents: `KEY=VALUE` lines (pure).

pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a `KEY=VALUE` env file: `#` comments, blank lines, optional `export `, and
/// single or double quotes around the value. Returns `(line, message)` on error.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err((n + 1, "expected KEY=VALUE".to_owned()));
        };
        let k = k.trim();
        if !is_env_name(k) {
            return Err((n + 1, format!("{k:?} is not a valid variable name")));
        }
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(open, close)| {
                v.strip_prefix(open)
                    .and_then(|s| s.strip_suffix(close))
                    .filter(|_| v.len() >= 2)
            })
            .unwrap_or(v);
        vars.retain(|(existing, _): &(String, String)| existing != k);
        vars.push((k.to_owned(), v.to_owned()));
    }
    Ok(vars)
}
