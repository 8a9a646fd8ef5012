//! The two paginated lists (products, the journal): `page` and `page_size` (spec 6.6), the
//! page object, and the one query helper both use — the count and the page's rows sent
//! together on one connection (pipelined: one round trip). The SQL itself comes from the
//! owner module; nothing here knows a table.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};

use super::db::Filters;
use super::errors::ApiError;
use super::validation::{ParseQuery, Problems, Query};

/// `page` and `page_size` of a paginated list: 1-based, 1–100 items per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// Page number, from 1.
    #[param(required = false, minimum = 1, maximum = 2147483647, default = 1)]
    pub page: i64,
    /// Items per page.
    #[param(required = false, minimum = 1, maximum = 100, default = 20)]
    pub page_size: i64,
}

impl ParseQuery for PageRequest {
    /// Reads `page` (default 1, at least 1) and `page_size` (default 20, 1 to 100).
    fn parse(q: &Query, p: &mut Problems) -> PageRequest {
        PageRequest {
            page: q.int(p, "page", 1, 1, i64::from(i32::MAX)),
            page_size: q.int(p, "page_size", 20, 1, 100),
        }
    }
}

impl PageRequest {
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
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub pages: i64,
}

/// The SQL of one paginated list, from its owner module.
pub struct PagedSql<'a> {
    /// `SELECT count(*) ... WHERE ...` to which the filters' conditions are appended.
    pub count: &'a str,
    /// `SELECT columns ... WHERE ...` to which the conditions are appended.
    pub list: &'a str,
    /// `ORDER BY ...` (stable: ties broken by id).
    pub order: &'a str,
}

/// The page sizes the UI offers. The first page at one of these sizes (the page every list
/// view opens on) has its limit written into the statement instead of passed as a parameter:
/// PostgreSQL then plans it once per connection, for its real limit. With `LIMIT $n` it made
/// a new plan at every request (a generic plan costed for an unknown limit never looks
/// cheaper than a custom one), which was most of the database's work for an unfiltered
/// products page (docs/backend.md). Other pages keep the parameters, so the statements
/// cached per connection stay a handful per list.
const PLANNED_ONCE_SIZES: [i64; 4] = [10, 20, 50, 100];

/// One page of rows matching `filters`, with the total: both statements are prepared (cached
/// per connection) and sent together.
pub async fn fetch<T>(
    conn: &impl GenericClient,
    sql: PagedSql<'_>,
    mut filters: Filters,
    page: PageRequest,
    from_row: impl Fn(&Row) -> Result<T, tokio_postgres::Error>,
) -> Result<Page<T>, ApiError> {
    let count_sql = format!("{}{}", sql.count, filters.sql());
    let filter_params = filters.param_count();
    let window = if page.page == 1 && PLANNED_ONCE_SIZES.contains(&page.page_size) {
        // A constant from the list above, not input.
        format!(" LIMIT {}", page.page_size)
    } else {
        let limit = filters.param(page.page_size);
        let offset = filters.param(page.offset());
        format!(" LIMIT {limit} OFFSET {offset}")
    };
    let list_sql = format!("{}{}{}{window}", sql.list, filters.sql(), sql.order);
    let (count_stmt, list_stmt) = tokio::try_join!(
        conn.prepare_cached(&count_sql),
        conn.prepare_cached(&list_sql)
    )?;
    let params = filters.params();
    // The count takes the filters' parameters, not the page's.
    let count_params = &params[..filter_params];
    let (count_row, rows) = tokio::try_join!(
        conn.query_one(&count_stmt, count_params),
        conn.query(&list_stmt, &params)
    )?;
    let total: i64 = count_row.try_get(0)?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(items, total))
}

#[cfg(test)]
mod tests {
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
}
