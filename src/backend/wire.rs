//! Wire formats shared by every resource: timestamps as the reference writes them (UTC, `Z`,
//! six fractional digits only when the microseconds are not zero), and LIKE patterns. Pure;
//! no I/O.

use serde::{Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

/// A case-insensitive substring pattern for `ILIKE`, with `%`, `_` and `\` escaped (B-15).
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A timestamp that serialises in the reference's format, e.g. `2026-02-20T12:17:33.402449Z`
/// or `2026-02-20T12:17:33Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub OffsetDateTime);

impl Ts {
    /// The wire text.
    pub fn render(&self) -> String {
        let mut buf = [0u8; TS_MAX];
        match self.render_into(&mut buf) {
            Some(text) => text.to_owned(),
            None => self.render_slowly(),
        }
    }

    /// Any year (the fast path takes 0 to 9999).
    fn render_slowly(&self) -> String {
        let t = self.0.to_offset(UtcOffset::UTC);
        let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
        let (h, mi, s) = (t.hour(), t.minute(), t.second());
        let micros = t.microsecond();
        if micros == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
        }
    }

    /// The wire text written into `buf` (no allocation: timestamps are in every row of
    /// every list, on the hot path of the API); `None` for a year outside 0 to 9999.
    fn render_into<'b>(&self, buf: &'b mut [u8; TS_MAX]) -> Option<&'b str> {
        let t = self.0.to_offset(UtcOffset::UTC);
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let micros = t.microsecond();
        let digits = |dst: &mut [u8], mut v: u32| {
            for d in dst.iter_mut().rev() {
                *d = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        digits(&mut buf[0..4], year);
        buf[4] = b'-';
        digits(&mut buf[5..7], u32::from(u8::from(t.month())));
        buf[7] = b'-';
        digits(&mut buf[8..10], u32::from(t.day()));
        buf[10] = b'T';
        digits(&mut buf[11..13], u32::from(t.hour()));
        buf[13] = b':';
        digits(&mut buf[14..16], u32::from(t.minute()));
        buf[16] = b':';
        digits(&mut buf[17..19], u32::from(t.second()));
        let len = if micros == 0 {
            buf[19] = b'Z';
            20
        } else {
            buf[19] = b'.';
            digits(&mut buf[20..26], micros);
            buf[26] = b'Z';
            TS_MAX
        };
        // Only ASCII digits and separators were written.
        std::str::from_utf8(&buf[..len]).ok()
    }
}

/// The longest wire text of a timestamp: `2024-01-02T03:04:05.123456Z`.
const TS_MAX: usize = 27;

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TS_MAX];
        match self.render_into(&mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&self.render_slowly()),
        }
    }
}

impl utoipa::PartialSchema for Ts {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl utoipa::ToSchema for Ts {
    fn name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
}

impl<'a> tokio_postgres::types::FromSql<'a> for Ts {
    fn from_sql(
        ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Ts, Box<dyn std::error::Error + Sync + Send>> {
        OffsetDateTime::from_sql(ty, raw).map(Ts)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <OffsetDateTime as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

impl From<OffsetDateTime> for Ts {
    fn from(t: OffsetDateTime) -> Self {
        Ts(t)
    }
}

#[cfg(test)]
mod tests {
    use super::Ts;
    use time::macros::datetime;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn fraction_only_when_microseconds_are_not_zero() {
        assert_eq!(
            Ts(datetime!(2026-02-20 12:17:33.402449 UTC)).render(),
            "2026-02-20T12:17:33.402449Z"
        );
        assert_eq!(
            Ts(datetime!(2026-02-20 12:17:33 UTC)).render(),
            "2026-02-20T12:17:33Z"
        );
        assert_eq!(
            Ts(datetime!(2026-02-20 15:17:33.000010 +03:00)).render(),
            "2026-02-20T12:17:33.000010Z"
        );
        assert_eq!(
            Ts(datetime!(0007-01-02 03:04:05.5 UTC)).render(),
            "0007-01-02T03:04:05.500000Z"
        );
        assert_eq!(
            Ts(datetime!(-0044-03-15 12:00:00 UTC)).render(),
            "-044-03-15T12:00:00Z",
            "outside 0..=9999: as before"
        );
        let json = serde_json::to_string(&Ts(datetime!(2026-02-20 12:17:33.402449 UTC))).unwrap();
        assert_eq!(json, "\"2026-02-20T12:17:33.402449Z\"");
    }
}
