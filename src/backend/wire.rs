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
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.render())
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
    }
}
