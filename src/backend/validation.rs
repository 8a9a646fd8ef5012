//! Request input → typed values, collecting every problem as a pydantic-shaped 422 item
//! (`type`, `loc`, `msg`, `input`, optional `ctx`), the way the reference reports them
//! (spec 3.3). Pure: no I/O, no clock.
//!
//! Readers never stop at the first problem: each pushes onto a [`Problems`] list and returns
//! `None`/[`Patch::Invalid`], so one answer lists path and query problems first, then body
//! problems in field order. Model-level rules run only when [`Problems::is_empty`].

use serde_json::{Map, Value, json};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

use super::errors::ApiError;
pub use super::errors::ErrorItem;

/// The location of a value: `["body", field]`, `["query", name]`, ...
pub fn loc(place: &str, name: &str) -> Vec<Value> {
    vec![Value::from(place), Value::from(name)]
}

/// Problems found so far in one request.
#[derive(Debug, Default)]
pub struct Problems(Vec<ErrorItem>);

impl Problems {
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    pub fn push(&mut self, item: ErrorItem) {
        self.0.push(item);
    }

    /// True if and only if nothing was wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when there were no problems (and `value` is complete), else 422.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ if self.0.is_empty() => Err(ApiError::Internal(
                "validation produced no value and no problem".to_owned(),
            )),
            _ => Err(ApiError::Validation(self.0)),
        }
    }

    /// `Ok(())` when there were no problems, else 422.
    pub fn check(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

// ---- input types -------------------------------------------------------------------------

/// A JSON request body that reads itself field by field, reporting every problem on `p`;
/// `None` when something was wrong (the problems say what).
pub trait ParseBody: Sized {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<Self>;
}

/// Query parameters that read themselves (names they do not know are ignored); problems go
/// on `p`, the value is always built (with defaults where a parameter was wrong).
pub trait ParseQuery: Sized {
    fn parse(q: &Query, p: &mut Problems) -> Self;
}

// ---- request bodies ----------------------------------------------------------------------

/// A request body after the syntax check, before any field is read.
#[derive(Debug, Clone, PartialEq)]
pub enum RawBody {
    /// No bytes at all.
    Absent,
    /// Parsed JSON (of any shape).
    Json(Value),
    /// Bytes sent with a content type that is not JSON (kept as lossy text for `input`).
    Other(String),
}

/// True if `content_type` is `application/json` or `application/*+json`.
pub fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// Parses a body: JSON when the content type says so. A JSON syntax error is the one
/// validation error reported before authentication (spec 3.2), so it is returned here.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<RawBody, ApiError> {
    if bytes.is_empty() {
        return Ok(RawBody::Absent);
    }
    if !content_type.is_some_and(is_json_content_type) {
        return Ok(RawBody::Other(String::from_utf8_lossy(bytes).into_owned()));
    }
    serde_json::from_slice::<Value>(bytes)
        .map(RawBody::Json)
        .map_err(|e| {
            let offset = char_offset(bytes, e.line(), e.column());
            let reason = match e.classify() {
                serde_json::error::Category::Eof => "Expecting value".to_owned(),
                _ => e.to_string(),
            };
            ApiError::invalid(
                ErrorItem::new(
                    "json_invalid",
                    vec![Value::from("body"), Value::from(offset)],
                    "JSON decode error",
                    json!({}),
                )
                .with_ctx(json!({ "error": reason })),
            )
        })
}

/// The character offset of a 1-based (line, column) position in `bytes`.
fn char_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + l.chars().take(column.saturating_sub(1)).count();
        }
        offset += l.chars().count() + 1;
    }
    offset
}

/// A field of a partial update: absent, explicitly null, a value, or invalid (reported).
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    Absent,
    Null,
    Set(T),
    Invalid,
}

impl<T> Patch<T> {
    /// Absent and null both mean "no value".
    pub fn into_option(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// `None` if absent (leave unchanged); `Some(None)` for null; `Some(Some(v))` for a value.
    pub fn into_update(self) -> Option<Option<T>> {
        match self {
            Patch::Absent | Patch::Invalid => None,
            Patch::Null => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }
}

/// Rules for a string field.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// Maximum length in characters (the database column's limit).
    pub max: Option<usize>,
    /// Trim leading and trailing whitespace before the other checks.
    pub trim: bool,
    /// Refuse the empty string (after trimming, when trimming).
    pub non_empty: bool,
}

impl Text {
    /// Any string up to `max` characters, stored as sent.
    pub const fn max(max: usize) -> Text {
        Text {
            max: Some(max),
            trim: false,
            non_empty: false,
        }
    }

    /// A trimmed, non-empty name of at most `max` characters.
    pub const fn name(max: usize) -> Text {
        Text {
            max: Some(max),
            trim: true,
            non_empty: true,
        }
    }

    /// Free text without a length limit (the body limit bounds it).
    pub const FREE: Text = Text {
        max: None,
        trim: false,
        non_empty: false,
    };
}

/// Checks a string against `rule`; returns the (possibly trimmed) value or the problem.
pub fn check_text(loc: Vec<Value>, raw: &str, rule: Text) -> Result<String, ErrorItem> {
    let input = Value::from(raw);
    if raw.contains('\0') {
        return Err(ErrorItem::value_error(
            loc,
            "Text must not contain NUL characters",
            input,
        ));
    }
    let value = if rule.trim { raw.trim() } else { raw };
    if rule.non_empty && value.is_empty() {
        return Err(ErrorItem::new(
            "string_too_short",
            loc,
            "String should have at least 1 character",
            input,
        )
        .with_ctx(json!({"min_length": 1})));
    }
    if let Some(max) = rule.max {
        if value.chars().count() > max {
            return Err(ErrorItem::new(
                "string_too_long",
                loc,
                format!("String should have at most {max} characters"),
                input,
            )
            .with_ctx(json!({ "max_length": max })));
        }
    }
    Ok(value.to_owned())
}

/// Parses a UUID in any usual textual form.
pub fn check_uuid(loc: Vec<Value>, raw: &str) -> Result<Uuid, ErrorItem> {
    Uuid::try_parse(raw).map_err(|e| {
        let reason = e.to_string();
        ErrorItem::new(
            "uuid_parsing",
            loc,
            format!("Input should be a valid UUID, {reason}"),
            Value::from(raw),
        )
        .with_ctx(json!({ "error": reason }))
    })
}

/// The fields of a JSON object body.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    map: &'a Map<String, Value>,
    whole: &'a Value,
}

impl<'a> Body<'a> {
    /// The body as an object, or the problem: no body at all (`missing`), or not an object
    /// (`model_attributes_type`).
    pub fn of(raw: &'a RawBody, p: &mut Problems) -> Option<Body<'a>> {
        match raw {
            RawBody::Absent => {
                p.push(ErrorItem::missing(vec![Value::from("body")], Value::Null));
                None
            }
            RawBody::Json(whole @ Value::Object(map)) => Some(Body { map, whole }),
            RawBody::Json(other) => {
                p.push(not_an_object(other.clone()));
                None
            }
            RawBody::Other(text) => {
                p.push(not_an_object(Value::from(text.as_str())));
                None
            }
        }
    }

    /// True if the body has the key `name` (with any value, null included).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn missing(&self, p: &mut Problems, name: &str) {
        p.push(ErrorItem::missing(loc("body", name), self.whole.clone()));
    }

    /// A required string (null is a `string_type` problem).
    pub fn string(&self, p: &mut Problems, name: &str, rule: Text) -> Option<String> {
        let value = self.patch_string(p, name, rule, false);
        self.required(p, name, value)
    }

    /// An optional string; `nullable` says whether null is allowed (else `string_type`).
    pub fn patch_string(
        &self,
        p: &mut Problems,
        name: &str,
        rule: Text,
        nullable: bool,
    ) -> Patch<String> {
        let wrong = ("string_type", "Input should be a valid string");
        self.patch_text(p, name, nullable, wrong, |loc, s| check_text(loc, s, rule))
    }

    /// A required UUID.
    pub fn uuid(&self, p: &mut Problems, name: &str) -> Option<Uuid> {
        let value = self.patch_uuid(p, name, false);
        self.required(p, name, value)
    }

    /// An optional UUID; `nullable` says whether null is allowed (else `uuid_type`).
    pub fn patch_uuid(&self, p: &mut Problems, name: &str, nullable: bool) -> Patch<Uuid> {
        let wrong = (
            "uuid_type",
            "UUID input should be a string, bytes or UUID object",
        );
        self.patch_text(p, name, nullable, wrong, check_uuid)
    }

    /// A field sent as a JSON string and checked by `read`; any other JSON type is the
    /// `wrong` (type, message) problem, null too unless `nullable`.
    fn patch_text<T>(
        &self,
        p: &mut Problems,
        name: &str,
        nullable: bool,
        wrong: (&'static str, &'static str),
        read: impl FnOnce(Vec<Value>, &str) -> Result<T, ErrorItem>,
    ) -> Patch<T> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) if nullable => Patch::Null,
            Some(Value::String(s)) => match read(loc("body", name), s) {
                Ok(v) => Patch::Set(v),
                Err(item) => {
                    p.push(item);
                    Patch::Invalid
                }
            },
            Some(other) => {
                p.push(ErrorItem::new(
                    wrong.0,
                    loc("body", name),
                    wrong.1,
                    other.clone(),
                ));
                Patch::Invalid
            }
        }
    }

    /// The value of a required field; absent is a `missing` problem.
    fn required<T>(&self, p: &mut Problems, name: &str, value: Patch<T>) -> Option<T> {
        match value {
            Patch::Set(v) => Some(v),
            Patch::Absent => {
                self.missing(p, name);
                None
            }
            Patch::Null | Patch::Invalid => None,
        }
    }

    /// A required integer, read leniently like the reference: `2`, `2.0` and `"3"` are 2, 2
    /// and 3; `1.5` is `int_from_float`. Magnitudes beyond `i64` saturate (the caller's
    /// bounds then report them). Booleans are refused (`int_type`).
    pub fn int(&self, p: &mut Problems, name: &str) -> Option<i64> {
        let Some(v) = self.map.get(name) else {
            self.missing(p, name);
            return None;
        };
        match lenient_int(v) {
            Ok(n) => Some(n),
            Err((kind, msg)) => {
                p.push(ErrorItem::new(kind, loc("body", name), msg, v.clone()));
                None
            }
        }
    }

    /// An optional boolean (null refused).
    pub fn patch_bool(&self, p: &mut Problems, name: &str) -> Patch<bool> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Bool(b)) => Patch::Set(*b),
            Some(other) => {
                p.push(ErrorItem::new(
                    "bool_type",
                    loc("body", name),
                    "Input should be a valid boolean",
                    other.clone(),
                ));
                Patch::Invalid
            }
        }
    }

    /// The raw value of a field, for `input` of model-level problems.
    pub fn raw(&self, name: &str) -> Value {
        self.map.get(name).cloned().unwrap_or(Value::Null)
    }

    /// The whole body, for `input` of model-level problems.
    pub fn whole(&self) -> Value {
        self.whole.clone()
    }
}

fn not_an_object(input: Value) -> ErrorItem {
    ErrorItem::new(
        "model_attributes_type",
        vec![Value::from("body")],
        "Input should be a valid dictionary or object to extract fields from",
        input,
    )
}

/// The lenient integer reading of [`Body::int`]: `Ok(n)` or `Err((type, msg))`.
fn lenient_int(v: &Value) -> Result<i64, (&'static str, &'static str)> {
    const NOT_INT: (&str, &str) = ("int_type", "Input should be a valid integer");
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.as_u64().is_some() {
                Ok(i64::MAX)
            } else {
                let f = n.as_f64().ok_or(NOT_INT)?;
                if f.fract() != 0.0 {
                    Err((
                        "int_from_float",
                        "Input should be a valid integer, got a number with a fractional part",
                    ))
                } else {
                    // `as` saturates at the i64 bounds, which the caller's range check reports.
                    Ok(f as i64)
                }
            }
        }
        Value::String(s) => parse_int_text(s).ok_or((
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        )),
        _ => Err(NOT_INT),
    }
}

/// Parses `[+-]digits` (surrounding whitespace allowed), saturating beyond `i64`.
pub fn parse_int_text(s: &str) -> Option<i64> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits
        .bytes()
        .try_fold(0i64, |acc, b| {
            acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        })
        .unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// Reports `value > le` as `less_than_equal`.
pub fn check_le(p: &mut Problems, loc: Vec<Value>, input: Value, value: i64, le: i64) -> bool {
    if value > le {
        p.push(
            ErrorItem::new(
                "less_than_equal",
                loc,
                format!("Input should be less than or equal to {le}"),
                input,
            )
            .with_ctx(json!({ "le": le })),
        );
        false
    } else {
        true
    }
}

// ---- query strings -----------------------------------------------------------------------

/// A decoded query string. For repeated names the last value wins.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer with a default and inclusive bounds.
    pub fn int(&self, p: &mut Problems, name: &str, default: i64, ge: i64, le: i64) -> i64 {
        let Some(raw) = self.get(name) else {
            return default;
        };
        let input = Value::from(raw);
        let Some(n) = parse_int_text(raw) else {
            p.push(ErrorItem::new(
                "int_parsing",
                loc("query", name),
                "Input should be a valid integer, unable to parse string as an integer",
                input,
            ));
            return default;
        };
        if n < ge {
            p.push(
                ErrorItem::new(
                    "greater_than_equal",
                    loc("query", name),
                    format!("Input should be greater than or equal to {ge}"),
                    input,
                )
                .with_ctx(json!({ "ge": ge })),
            );
            return default;
        }
        if !check_le(p, loc("query", name), input, n, le) {
            return default;
        }
        n
    }

    /// An optional UUID filter; present but invalid (even empty) is a problem.
    pub fn uuid(&self, p: &mut Problems, name: &str) -> Option<Uuid> {
        let raw = self.get(name)?;
        match check_uuid(loc("query", name), raw) {
            Ok(u) => Some(u),
            Err(item) => {
                p.push(item);
                None
            }
        }
    }

    /// An optional text filter; empty means no filter.
    pub fn text(&self, p: &mut Problems, name: &str) -> Option<String> {
        let raw = self.get(name)?;
        if raw.is_empty() {
            return None;
        }
        match check_text(loc("query", name), raw, Text::FREE) {
            Ok(v) => Some(v),
            Err(item) => {
                p.push(item);
                None
            }
        }
    }

    /// An optional date or date-time filter.
    pub fn datetime(&self, p: &mut Problems, name: &str) -> Option<DateOrTime> {
        let raw = self.get(name)?;
        match parse_date_or_time(raw) {
            Ok(v) => Some(v),
            Err(reason) => {
                p.push(
                    ErrorItem::new(
                        "datetime_from_date_parsing",
                        loc("query", name),
                        format!("Input should be a valid datetime or date, {reason}"),
                        Value::from(raw),
                    )
                    .with_ctx(json!({ "error": reason })),
                );
                None
            }
        }
    }
}

/// A path parameter that must be a UUID.
pub fn path_uuid(p: &mut Problems, name: &str, raw: &str) -> Option<Uuid> {
    match check_uuid(loc("path", name), raw) {
        Ok(u) => Some(u),
        Err(item) => {
            p.push(item);
            None
        }
    }
}

// ---- dates -------------------------------------------------------------------------------

/// A journal date filter: a calendar day (interpreted in the business time zone by the
/// query) or an exact instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrTime {
    Day(Date),
    At(OffsetDateTime),
}

impl utoipa::PartialSchema for DateOrTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
        };
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        AnyOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .into()
    }
}

impl utoipa::ToSchema for DateOrTime {}

/// Parses `YYYY-MM-DD`, an ISO 8601 date-time (`T` or space; optional seconds, fraction,
/// `Z` or `±HH:MM`/`±HHMM`; no offset means UTC), or a Unix timestamp (seconds; values
/// beyond 2×10¹⁰ are milliseconds, as pydantic reads them).
pub fn parse_date_or_time(raw: &str) -> Result<DateOrTime, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("input is too short");
    }
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || !s.bytes().any(|b| b.is_ascii_digit()) {
            return Err("invalid character in year");
        }
        let seconds = if f.abs() > 2e10 { f / 1000.0 } else { f };
        let nanos = (seconds * 1e9).round();
        // Range check before the conversion: `time` supports years -9999..=9999.
        if nanos.abs() > 2.5e20 {
            return Err("timestamp out of range");
        }
        return OffsetDateTime::from_unix_timestamp_nanos(nanos as i128)
            .map(DateOrTime::At)
            .map_err(|_| "timestamp out of range");
    }
    let b = s.as_bytes();
    let date = parse_date(b)?;
    if b.len() == 10 {
        return Ok(DateOrTime::Day(date));
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return Err("unexpected extra characters at the end of the input");
    }
    let rest = &b[11..];
    let (time, used) = parse_time(rest)?;
    let tz = &rest[used..];
    let offset = parse_offset(tz)?;
    let at = PrimitiveDateTime::new(date, time).assume_offset(offset);
    Ok(DateOrTime::At(at))
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
    let part = b.get(from..from + n)?;
    part.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn parse_date(b: &[u8]) -> Result<Date, &'static str> {
    if b.len() < 10 {
        return Err("input is too short");
    }
    let year = digits(b, 0, 4).ok_or("invalid character in year")?;
    if b[4] != b'-' {
        return Err("invalid date separator, expected `-`");
    }
    let month = digits(b, 5, 2).ok_or("invalid character in month")?;
    if b[7] != b'-' {
        return Err("invalid date separator, expected `-`");
    }
    let day = digits(b, 8, 2).ok_or("invalid character in day")?;
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or("month value is outside expected range of 1-12")?;
    let year = i32::try_from(year).map_err(|_| "invalid character in year")?;
    let day = u8::try_from(day).map_err(|_| "day value is outside expected range")?;
    Date::from_calendar_date(year, month, day).map_err(|_| "day value is outside expected range")
}

fn parse_time(b: &[u8]) -> Result<(Time, usize), &'static str> {
    let hour = digits(b, 0, 2).ok_or("invalid character in hour")?;
    if b.get(2) != Some(&b':') {
        return Err("invalid time separator, expected `:`");
    }
    let minute = digits(b, 3, 2).ok_or("invalid character in minute")?;
    let mut used = 5;
    let mut second = 0;
    let mut nanos = 0u32;
    if b.get(5) == Some(&b':') {
        second = digits(b, 6, 2).ok_or("invalid character in second")?;
        used = 8;
        if matches!(b.get(8), Some(b'.') | Some(b',')) {
            let frac: Vec<u8> = b[9..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .copied()
                .collect();
            if frac.is_empty() {
                return Err("invalid character in second fraction");
            }
            used = 9 + frac.len();
            for (i, c) in frac.iter().take(9).enumerate() {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
        }
    }
    let hour = u8::try_from(hour).map_err(|_| "hour value is outside expected range of 0-23")?;
    let minute =
        u8::try_from(minute).map_err(|_| "minute value is outside expected range of 0-59")?;
    let second =
        u8::try_from(second).map_err(|_| "second value is outside expected range of 0-59")?;
    let time = Time::from_hms_nano(hour, minute, second, nanos)
        .map_err(|_| "time value is outside expected range")?;
    Ok((time, used))
}

fn parse_offset(b: &[u8]) -> Result<UtcOffset, &'static str> {
    match b {
        [] => Ok(UtcOffset::UTC),
        [b'Z'] | [b'z'] => Ok(UtcOffset::UTC),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                5 if rest[2] == b':' => (digits(rest, 0, 2), digits(rest, 3, 2)),
                4 => (digits(rest, 0, 2), digits(rest, 2, 2)),
                2 => (digits(rest, 0, 2), Some(0)),
                _ => (None, None),
            };
            let (Some(h), Some(m)) = (h, m) else {
                return Err("invalid timezone sign");
            };
            let secs = i32::try_from(h * 3600 + m * 60).map_err(|_| "invalid timezone")?;
            let secs = if *sign == b'-' { -secs } else { secs };
            UtcOffset::from_whole_seconds(secs).map_err(|_| "timezone offset out of range")
        }
        _ => Err("unexpected extra characters at the end of the input"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn body(json: &str) -> RawBody {
        parse_body(Some("application/json"), json.as_bytes()).unwrap()
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/vnd.api+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn malformed_json_is_json_invalid_at_the_offset() {
        let Err(ApiError::Validation(items)) =
            parse_body(Some("application/json"), b"{\"email\": }")
        else {
            panic!("expected a validation error");
        };
        assert_eq!(items[0].kind, "json_invalid");
        assert_eq!(items[0].loc, vec![json!("body"), json!(10)]);
        assert_eq!(items[0].msg, "JSON decode error");
    }

    #[test]
    fn non_json_bodies_and_missing_bodies() {
        assert_eq!(parse_body(None, b"").unwrap(), RawBody::Absent);
        let raw = parse_body(Some("text/plain"), b"a=b").unwrap();
        let mut p = Problems::new();
        assert!(Body::of(&raw, &mut p).is_none());
        let Err(ApiError::Validation(items)) = p.check() else {
            panic!()
        };
        assert_eq!(items[0].kind, "model_attributes_type");
        assert_eq!(*items[0].input, json!("a=b"));

        let mut p = Problems::new();
        assert!(Body::of(&RawBody::Absent, &mut p).is_none());
        let Err(ApiError::Validation(items)) = p.check() else {
            panic!()
        };
        assert_eq!(
            serde_json::to_string(&items[0]).unwrap(),
            r#"{"type":"missing","loc":["body"],"msg":"Field required","input":null}"#
        );
    }

    #[test]
    fn strings_are_checked_in_field_order() {
        let raw = body(r#"{"name": 5, "code": "  ", "long": "abcdef"}"#);
        let mut p = Problems::new();
        let b = Body::of(&raw, &mut p).unwrap();
        assert_eq!(b.string(&mut p, "name", Text::name(10)), None);
        assert_eq!(b.string(&mut p, "code", Text::name(10)), None);
        assert_eq!(b.string(&mut p, "long", Text::max(3)), None);
        assert_eq!(b.string(&mut p, "absent", Text::max(3)), None);
        let Err(ApiError::Validation(items)) = p.check() else {
            panic!()
        };
        let kinds: Vec<_> = items.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                "string_type",
                "string_too_short",
                "string_too_long",
                "missing"
            ]
        );
        assert_eq!(items[2].msg, "String should have at most 3 characters");
        assert_eq!(items[2].ctx.as_deref(), Some(&json!({"max_length": 3})));
    }

    #[test]
    fn nul_characters_are_refused() {
        let raw = body(r#"{"name": "a\u0000b"}"#);
        let mut p = Problems::new();
        let b = Body::of(&raw, &mut p).unwrap();
        assert_eq!(b.string(&mut p, "name", Text::FREE), None);
        assert!(!p.is_empty());
    }

    #[test]
    fn integers_are_read_leniently() {
        let raw = body(
            r#"{"a": 2, "b": 2.0, "c": "3", "d": 1.5, "e": "x", "f": true, "g": 1e30, "h": "99999999999999999999999"}"#,
        );
        let mut p = Problems::new();
        let b = Body::of(&raw, &mut p).unwrap();
        assert_eq!(b.int(&mut p, "a"), Some(2));
        assert_eq!(b.int(&mut p, "b"), Some(2));
        assert_eq!(b.int(&mut p, "c"), Some(3));
        assert_eq!(b.int(&mut p, "g"), Some(i64::MAX));
        assert_eq!(b.int(&mut p, "h"), Some(i64::MAX));
        assert!(p.is_empty());
        assert_eq!(b.int(&mut p, "d"), None);
        assert_eq!(b.int(&mut p, "e"), None);
        assert_eq!(b.int(&mut p, "f"), None);
        let Err(ApiError::Validation(items)) = p.check() else {
            panic!()
        };
        let kinds: Vec<_> = items.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["int_from_float", "int_parsing", "int_type"]);
    }

    #[test]
    fn query_integers_report_bounds_with_the_raw_input() {
        let q = Query::parse(Some("page=0&page_size=101&x=abc"));
        let mut p = Problems::new();
        q.int(&mut p, "page", 1, 1, i64::from(i32::MAX));
        q.int(&mut p, "page_size", 20, 1, 100);
        q.int(&mut p, "x", 1, 1, 10);
        let Err(ApiError::Validation(items)) = p.check() else {
            panic!()
        };
        assert_eq!(
            serde_json::to_string(&items[0]).unwrap(),
            r#"{"type":"greater_than_equal","loc":["query","page"],"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}"#
        );
        assert_eq!(items[1].kind, "less_than_equal");
        assert_eq!(items[1].ctx.as_deref(), Some(&json!({"le": 100})));
        assert_eq!(items[2].kind, "int_parsing");
    }

    #[test]
    fn uuids_in_usual_forms() {
        let a = check_uuid(vec![], "F6CD00E3-8A82-4EFF-AF6D-F9F0B6382504").unwrap();
        let b = check_uuid(vec![], "f6cd00e38a824effaf6df9f0b6382504").unwrap();
        assert_eq!(a, b);
        let e = check_uuid(loc("path", "source_id"), "abc").unwrap_err();
        assert_eq!(e.kind, "uuid_parsing");
        assert!(e.msg.starts_with("Input should be a valid UUID, "));
    }

    #[test]
    fn dates_times_and_timestamps() {
        assert_eq!(
            parse_date_or_time("2026-02-20"),
            Ok(DateOrTime::Day(date!(2026 - 02 - 20)))
        );
        assert_eq!(
            parse_date_or_time("2026-02-20T10:11:12"),
            Ok(DateOrTime::At(datetime!(2026-02-20 10:11:12 UTC)))
        );
        assert_eq!(
            parse_date_or_time("2026-02-20 10:11:12.5+03:00"),
            Ok(DateOrTime::At(datetime!(2026-02-20 10:11:12.5 +03:00)))
        );
        assert_eq!(
            parse_date_or_time("2026-02-20T10:11Z"),
            Ok(DateOrTime::At(datetime!(2026-02-20 10:11 UTC)))
        );
        assert_eq!(
            parse_date_or_time("1771582293"),
            Ok(DateOrTime::At(datetime!(2026-02-20 10:11:33 UTC)))
        );
        assert_eq!(
            parse_date_or_time("1771582293000"),
            Ok(DateOrTime::At(datetime!(2026-02-20 10:11:33 UTC)))
        );
        assert_eq!(
            parse_date_or_time("26.11.2026"),
            Err("invalid character in year")
        );
        assert!(parse_date_or_time("2026-13-01").is_err());
        assert!(parse_date_or_time("2026-02-30").is_err());
        assert!(parse_date_or_time("2026-02-20T25:00").is_err());
        assert!(parse_date_or_time("2026-02-20Tx").is_err());
        assert!(parse_date_or_time("1e400").is_err());
        assert!(parse_date_or_time("NaN").is_err());
        assert!(parse_date_or_time("").is_err());
    }

    #[test]
    fn patches_distinguish_absent_null_and_value() {
        let raw = body(r#"{"a": null, "b": "x", "c": null}"#);
        let mut p = Problems::new();
        let b = Body::of(&raw, &mut p).unwrap();
        assert_eq!(b.patch_string(&mut p, "a", Text::FREE, true), Patch::Null);
        assert_eq!(
            b.patch_string(&mut p, "b", Text::FREE, true),
            Patch::Set("x".to_owned())
        );
        assert_eq!(b.patch_string(&mut p, "z", Text::FREE, true), Patch::Absent);
        assert!(p.is_empty());
        assert_eq!(
            b.patch_string(&mut p, "c", Text::FREE, false),
            Patch::Invalid
        );
        assert!(!p.is_empty());
    }
}
