//! `${VAR}` interpolation of config strings, compose-style.
//!
//! Pure: the environment is passed in as a lookup function, so tests need no process
//! environment. Supported forms:
//!
//! | form | result |
//! |---|---|
//! | `${VAR}` | the value, or an empty string when unset |
//! | `${VAR:-default}` | `default` when VAR is unset **or empty** |
//! | `${VAR-default}` | `default` when VAR is unset |
//! | `${VAR:?message}` | an error carrying `message` when VAR is unset or empty |
//! | `${VAR?message}` | an error when VAR is unset |
//! | `$$` | a literal `$` |
//!
//! Defaults and messages may themselves contain `${...}`. A `$` not followed by `{` or `$`
//! is kept as is, so shell snippets like `sh -c 'echo $HOME'` need no escaping.

use thiserror::Error;

/// Why a string could not be interpolated.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR:?message}` with VAR missing.
    #[error("required variable {name} is not set: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message from the config (or a default one).
        message: String,
    },
    /// A `${` without its `}`.
    #[error("unterminated \"${{\" (missing '}}')")]
    Unterminated,
    /// `${}` or a name with characters other than letters, digits and `_`.
    #[error("invalid variable name {0:?}")]
    BadName(String),
}

/// Expands every `${...}` in `input`, looking variables up with `env`.
pub fn interpolate(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = matching_brace(body_start).ok_or(InterpolateError::Unterminated)?;
            out.push_str(&expand(&body_start[..end], env)?);
            rest = &body_start[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the `}` closing an expression whose `${` was just consumed, honouring nesting.
fn matching_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Expands the inside of one `${...}`.
fn expand(body: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, InterpolateError> {
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(name_len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(InterpolateError::BadName(body.to_owned()));
    }
    let value = env(name);
    let is_empty_or_unset = value.as_deref().is_none_or(str::is_empty);
    let required = |message: &str| -> Result<String, InterpolateError> {
        let message = interpolate(message, env)?;
        Err(InterpolateError::Required {
            name: name.to_owned(),
            message: if message.is_empty() {
                "set it in the environment".to_owned()
            } else {
                message
            },
        })
    };
    if op.is_empty() {
        return Ok(value.unwrap_or_default());
    }
    if let Some(default) = op.strip_prefix(":-") {
        return if is_empty_or_unset {
            interpolate(default, env)
        } else {
            Ok(value.unwrap_or_default())
        };
    }
    if let Some(default) = op.strip_prefix('-') {
        return match value {
            Some(v) => Ok(v),
            None => interpolate(default, env),
        };
    }
    if let Some(message) = op.strip_prefix(":?") {
        return if is_empty_or_unset {
            required(message)
        } else {
            Ok(value.unwrap_or_default())
        };
    }
    if let Some(message) = op.strip_prefix('?') {
        return match value {
            Some(v) => Ok(v),
            None => required(message),
        };
    }
    Err(InterpolateError::BadName(body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/root".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8000".into()),
            _ => None,
        }
    }

    fn run(s: &str) -> Result<String, InterpolateError> {
        interpolate(s, &env)
    }

    #[test]
    fn table() {
        let rows: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("${HOME}/x", "/root/x"),
            ("${MISSING}", ""),
            ("${MISSING:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${MISSING-def}", "def"),
            ("${HOME:-def}", "/root"),
            ("a$$b", "a$b"),
            ("$${HOME}", "${HOME}"),
            ("echo $HOME", "echo $HOME"),
            ("cost 5$", "cost 5$"),
            ("${MISSING:-${PORT}}", "8000"),
            ("${MISSING:-${ALSO:-x}y}z", "xyz"),
            ("${HOME:?need}", "/root"),
            ("${EMPTY?need}", ""),
            (
                "http://127.0.0.1:${PORT:-1}/health",
                "http://127.0.0.1:8000/health",
            ),
            ("привет ${PORT}", "привет 8000"),
        ];
        for (input, want) in rows {
            assert_eq!(run(input).as_deref(), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            run("${MISSING:?set the port}"),
            Err(InterpolateError::Required {
                name: "MISSING".into(),
                message: "set the port".into()
            })
        );
        assert!(matches!(
            run("${EMPTY:?}"),
            Err(InterpolateError::Required { .. })
        ));
        assert_eq!(run("${HOME"), Err(InterpolateError::Unterminated));
        assert_eq!(run("${}"), Err(InterpolateError::BadName(String::new())));
        assert_eq!(run("${1X}"), Err(InterpolateError::BadName("1X".into())));
        assert_eq!(run("${A B}"), Err(InterpolateError::BadName("A B".into())));
    }
}
