//! Wire formats shared by every resource: timestamps as the reference writes them (UTC, `Z`,
//! six fractional digits only when the microseconds are not zero), pages of the two
//! paginated lists, and LIKE patterns. Pure; no I/O.

use serde::{Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

use super::validation::{Problems, Query};

/// `page` and `page_size` of a paginated list (spec 6.6): 1-based, 1–100 items per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub page_size: i64,
}

impl PageRequest {
    /// Reads `page` (default 1, at least 1) and `page_size` (default 20, 1 to 100).
    pub fn parse(q: &Query, p: &mut Problems) -> PageRequest {
        PageRequest {
            page: q.int(p, "page", 1, 1, i64::from(i32::MAX)),
            page_size: q.int(p, "page_size", 20, 1, 100),
        }
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.page_size
    }

    /// Wraps one page of items with the totals.
    pub fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        let pages = if total <= 0 {
            1
        } else {
            (total + self.page_size - 1) / self.page_size
        };
        Page {
            items,
            total,
            page: self.page,
            page_size: self.page_size,
            pages,
        }
    }
}

/// A page: `{"items","total","page","page_size","pages"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub pages: i64,
}

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
    fn pages_count_up_and_never_drop_below_one() {
        let r = super::PageRequest {
            page: 3,
            page_size: 2,
        };
        let p = r.page(vec![1], 5);
        assert_eq!((p.total, p.pages, r.offset()), (5, 3, 4));
        assert_eq!(r.page::<u8>(vec![], 0).pages, 1);
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
