//! Reference data: sources (suppliers, pickup points) and distribution centres (spec 6.4,
//! 6.5). Owns the SQL of `sources` and `distribution_centers`. The two tables behave alike,
//! so one set of operations serves both ([`Kind`]: list, get, create, partial update,
//! delete, the first-start seed); each kind supplies its SQL, row mapping, messages and the
//! constraint names that map to "already exists" (400) and "still referenced" (409), so a
//! race answers the same as a pre-check would.

use deadpool_postgres::{GenericClient, Pool};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use utoipa::ToSchema;
use uuid::Uuid;

use super::db::{self, DbError, from_columns};
use super::errors::{ApiError, msg};
use super::validation::{Body, ParseBody, Problems, RawBody, Text};
use super::wire::Ts;

/// The statements of one kind, each with the same column list in its answer.
pub struct Statements {
    list: &'static str,
    get: &'static str,
    /// `$1` is the new id, then [`Kind::insert_params`].
    insert: &'static str,
    /// `$1` is the id, then [`Kind::update_params`].
    update: &'static str,
    delete: &'static str,
    count: &'static str,
}

/// Parameters of a statement, owned (some are computed from the request).
pub type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// One kind of reference data.
pub trait Kind: Serialize + ToSchema + Send + Sync + Sized + 'static {
    /// The validated create body.
    type New: ParseBody + ToSchema + Send + Sync + 'static;
    /// The validated partial-update body.
    type Change: ParseBody + ToSchema + Send + Sync + 'static;

    const SQL: Statements;
    /// 404 message.
    const NOT_FOUND: &'static str;
    /// 409 message when journal rows still refer to the row.
    const REFERENCED: &'static str;
    /// The unique constraint whose violation means "already exists".
    const UNIQUE_KEY: &'static str;
    /// The journal's foreign key to this table.
    const MOVEMENT_FK: &'static str;

    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error>;
    fn insert_params(new: &Self::New) -> Params;
    fn update_params(change: &Self::Change) -> Params;
    /// The 400 answer when the unique value (`None`: not part of the change) is taken.
    fn duplicate(value: Option<&str>) -> ApiError;
    fn new_unique(new: &Self::New) -> &str;
    fn change_unique(change: &Self::Change) -> Option<&str>;
}

// ---- sources -----------------------------------------------------------------------------

macro_rules! source_columns {
    () => {
        "name, description, id, created_at, updated_at"
    };
}

/// A source, fields in the reference's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Source {
    pub name: String,
    pub description: Option<String>,
    pub id: Uuid,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A validated `POST /api/sources/` body.
#[derive(Debug, ToSchema)]
#[schema(as = SourceCreate)]
pub struct NewSource {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    pub description: Option<String>,
}

/// A validated `PUT /api/sources/{id}` body: `None` = leave unchanged.
#[derive(Debug, Default, ToSchema)]
#[schema(as = SourceUpdate)]
pub struct SourceChange {
    #[schema(min_length = 1, max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

const NAME: Text = Text::name(255);
const CODE: Text = Text::name(50);
const MARKETPLACE: Text = Text::name(50);

impl ParseBody for NewSource {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewSource> {
        let b = Body::of(raw, p)?;
        let name = b.string(p, "name", NAME);
        let description = b.patch_string(p, "description", Text::FREE, true);
        Some(NewSource {
            name: name?,
            description: description.into_option(),
        })
    }
}

impl ParseBody for SourceChange {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<SourceChange> {
        let b = Body::of(raw, p)?;
        let name = b.patch_string(p, "name", NAME, false);
        let description = b.patch_string(p, "description", Text::FREE, true);
        Some(SourceChange {
            name: name.into_option(),
            description: description.into_update(),
        })
    }
}

impl Kind for Source {
    type New = NewSource;
    type Change = SourceChange;

    const SQL: Statements = Statements {
        list: concat!(
            "SELECT ",
            source_columns!(),
            " FROM sources ORDER BY name, id"
        ),
        get: concat!("SELECT ", source_columns!(), " FROM sources WHERE id = $1"),
        insert: concat!(
            "INSERT INTO sources (id, name, description) VALUES ($1, $2, $3) RETURNING ",
            source_columns!()
        ),
        // `$2`/`$4` say whether `name`/`description` were sent; `updated_at` moves only when
        // a value really changes.
        update: concat!(
            "UPDATE sources SET \
             name = CASE WHEN $2 THEN $3 ELSE name END, \
             description = CASE WHEN $4 THEN $5 ELSE description END, \
             updated_at = CASE WHEN ($2 AND name IS DISTINCT FROM $3) \
                                OR ($4 AND description IS DISTINCT FROM $5) \
                           THEN now() ELSE updated_at END \
             WHERE id = $1 RETURNING ",
            source_columns!()
        ),
        delete: "DELETE FROM sources WHERE id = $1",
        count: "SELECT count(*) FROM sources",
    };
    const NOT_FOUND: &'static str = msg::SOURCE_NOT_FOUND;
    const REFERENCED: &'static str =
        "Source is referenced by stock movements and cannot be deleted";
    const UNIQUE_KEY: &'static str = "sources_name_key";
    const MOVEMENT_FK: &'static str = "stock_movements_source_id_fkey";

    fn from_row(row: &Row) -> Result<Source, tokio_postgres::Error> {
        Ok(from_columns! { row, Source {
            name, description, id, created_at, updated_at
        } })
    }

    fn insert_params(new: &NewSource) -> Params {
        vec![
            Box::new(new.name.clone()),
            Box::new(new.description.clone()),
        ]
    }

    fn update_params(change: &SourceChange) -> Params {
        vec![
            Box::new(change.name.is_some()),
            Box::new(change.name.clone()),
            Box::new(change.description.is_some()),
            Box::new(change.description.clone().flatten()),
        ]
    }

    fn duplicate(name: Option<&str>) -> ApiError {
        ApiError::bad_request(format!(
            "Source with name '{}' already exists",
            name.unwrap_or_default()
        ))
    }

    fn new_unique(new: &NewSource) -> &str {
        &new.name
    }

    fn change_unique(change: &SourceChange) -> Option<&str> {
        change.name.as_deref()
    }
}

// ---- distribution centres ----------------------------------------------------------------

macro_rules! dc_columns {
    () => {
        "code, name, marketplace, id, created_at, updated_at"
    };
}

/// A distribution centre, fields in the reference's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DistributionCenter {
    pub code: String,
    pub name: String,
    pub marketplace: String,
    pub id: Uuid,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A validated `POST /api/distribution-centers/` body.
#[derive(Debug, ToSchema)]
#[schema(as = DistributionCenterCreate)]
pub struct NewDistributionCenter {
    #[schema(min_length = 1, max_length = 50)]
    pub code: String,
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[schema(min_length = 1, max_length = 50)]
    pub marketplace: String,
}

/// A validated `PUT /api/distribution-centers/{id}` body: `None` = leave unchanged.
#[derive(Debug, Default, ToSchema)]
#[schema(as = DistributionCenterUpdate)]
pub struct DistributionCenterChange {
    #[schema(min_length = 1, max_length = 50, nullable = false)]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 50, nullable = false)]
    pub marketplace: Option<String>,
}

impl ParseBody for NewDistributionCenter {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewDistributionCenter> {
        let b = Body::of(raw, p)?;
        let code = b.string(p, "code", CODE);
        let name = b.string(p, "name", NAME);
        let marketplace = b.string(p, "marketplace", MARKETPLACE);
        Some(NewDistributionCenter {
            code: code?,
            name: name?,
            marketplace: marketplace?,
        })
    }
}

impl ParseBody for DistributionCenterChange {
    fn parse(raw: &RawBody, p: &mut Problems) -> Option<DistributionCenterChange> {
        let b = Body::of(raw, p)?;
        let code = b.patch_string(p, "code", CODE, false);
        let name = b.patch_string(p, "name", NAME, false);
        let marketplace = b.patch_string(p, "marketplace", MARKETPLACE, false);
        Some(DistributionCenterChange {
            code: code.into_option(),
            name: name.into_option(),
            marketplace: marketplace.into_option(),
        })
    }
}

impl Kind for DistributionCenter {
    type New = NewDistributionCenter;
    type Change = DistributionCenterChange;

    const SQL: Statements = Statements {
        list: concat!(
            "SELECT ",
            dc_columns!(),
            " FROM distribution_centers ORDER BY marketplace, code, id"
        ),
        get: concat!(
            "SELECT ",
            dc_columns!(),
            " FROM distribution_centers WHERE id = $1"
        ),
        insert: concat!(
            "INSERT INTO distribution_centers (id, code, name, marketplace) \
             VALUES ($1, $2, $3, $4) RETURNING ",
            dc_columns!()
        ),
        update: concat!(
            "UPDATE distribution_centers SET \
             code = COALESCE($2, code), name = COALESCE($3, name), \
             marketplace = COALESCE($4, marketplace), \
             updated_at = CASE WHEN code IS DISTINCT FROM COALESCE($2, code) \
                                OR name IS DISTINCT FROM COALESCE($3, name) \
                                OR marketplace IS DISTINCT FROM COALESCE($4, marketplace) \
                           THEN now() ELSE updated_at END \
             WHERE id = $1 RETURNING ",
            dc_columns!()
        ),
        delete: "DELETE FROM distribution_centers WHERE id = $1",
        count: "SELECT count(*) FROM distribution_centers",
    };
    const NOT_FOUND: &'static str = msg::DC_NOT_FOUND;
    const REFERENCED: &'static str =
        "Distribution center is referenced by stock movements and cannot be deleted";
    const UNIQUE_KEY: &'static str = "distribution_centers_code_key";
    const MOVEMENT_FK: &'static str = "stock_movements_distribution_center_id_fkey";

    fn from_row(row: &Row) -> Result<DistributionCenter, tokio_postgres::Error> {
        Ok(from_columns! { row, DistributionCenter {
            code, name, marketplace, id, created_at, updated_at
        } })
    }

    fn insert_params(new: &NewDistributionCenter) -> Params {
        vec![
            Box::new(new.code.clone()),
            Box::new(new.name.clone()),
            Box::new(new.marketplace.clone()),
        ]
    }

    fn update_params(change: &DistributionCenterChange) -> Params {
        vec![
            Box::new(change.code.clone()),
            Box::new(change.name.clone()),
            Box::new(change.marketplace.clone()),
        ]
    }

    fn duplicate(code: Option<&str>) -> ApiError {
        ApiError::bad_request(format!(
            "Distribution center with code '{}' already exists",
            code.unwrap_or_default()
        ))
    }

    fn new_unique(new: &NewDistributionCenter) -> &str {
        &new.code
    }

    fn change_unique(change: &DistributionCenterChange) -> Option<&str> {
        change.code.as_deref()
    }
}

// ---- the operations ----------------------------------------------------------------------

/// `$1` followed by `rest`, as the driver wants them.
fn with_id<'a>(id: &'a Uuid, rest: &'a Params) -> Vec<&'a (dyn ToSql + Sync)> {
    std::iter::once(id as &(dyn ToSql + Sync))
        .chain(rest.iter().map(|p| &**p as &(dyn ToSql + Sync)))
        .collect()
}

/// Every row, in the kind's order.
pub async fn list<K: Kind>(conn: &impl GenericClient) -> Result<Vec<K>, ApiError> {
    let stmt = conn.prepare_cached(K::SQL.list).await?;
    let rows = conn.query(&stmt, &[]).await?;
    Ok(rows.iter().map(K::from_row).collect::<Result<_, _>>()?)
}

/// One row, or 404.
pub async fn get<K: Kind>(pool: &Pool, id: Uuid) -> Result<K, ApiError> {
    let conn = db::conn(pool).await?;
    let stmt = conn.prepare_cached(K::SQL.get).await?;
    match conn.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(K::from_row(&row)?),
        None => Err(ApiError::not_found(K::NOT_FOUND)),
    }
}

/// Inserts a row inside the caller's transaction or on its connection.
async fn insert<K: Kind>(client: &impl GenericClient, new: &K::New) -> Result<K, DbError> {
    let params = K::insert_params(new);
    let row = client
        .query_one(K::SQL.insert, &with_id(&Uuid::new_v4(), &params))
        .await?;
    Ok(K::from_row(&row)?)
}

/// Creates a row; 400 if its unique value is taken.
pub async fn create<K: Kind>(pool: &Pool, new: &K::New) -> Result<K, ApiError> {
    let conn = db::conn(pool).await?;
    insert::<K>(&conn, new).await.map_err(|e| {
        if e.is_unique_violation(K::UNIQUE_KEY) {
            K::duplicate(Some(K::new_unique(new)))
        } else {
            e.into()
        }
    })
}

/// Applies a partial update; 404 for an unknown id, 400 if the unique value is taken.
pub async fn update<K: Kind>(pool: &Pool, id: Uuid, change: &K::Change) -> Result<K, ApiError> {
    let conn = db::conn(pool).await?;
    let params = K::update_params(change);
    match conn
        .query_opt(K::SQL.update, &with_id(&id, &params))
        .await
        .map_err(DbError::from)
    {
        Ok(Some(row)) => Ok(K::from_row(&row)?),
        Ok(None) => Err(ApiError::not_found(K::NOT_FOUND)),
        Err(e) if e.is_unique_violation(K::UNIQUE_KEY) => {
            Err(K::duplicate(K::change_unique(change)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes a row; 404 for an unknown id, 409 while journal rows refer to it.
pub async fn delete<K: Kind>(pool: &Pool, id: Uuid) -> Result<(), ApiError> {
    let conn = db::conn(pool).await?;
    match conn
        .execute(K::SQL.delete, &[&id])
        .await
        .map_err(DbError::from)
    {
        Ok(0) => Err(ApiError::not_found(K::NOT_FOUND)),
        Ok(_) => Ok(()),
        Err(e) if e.is_fk_violation(K::MOVEMENT_FK) => Err(ApiError::conflict(K::REFERENCED)),
        Err(e) => Err(e.into()),
    }
}

// ---- seed --------------------------------------------------------------------------------

/// The seeded sources (spec 10.2): name, description.
const SEED_SOURCES: [(&str, &str); 4] = [
    ("Поставщик РФ", "Основной российский поставщик"),
    ("ПВЗ Казань", "Пункт выдачи заказов Казань"),
    ("ПВЗ Москва", "Пункт выдачи заказов Москва"),
    ("Прямой поставщик", "Прямые поставки от производителя"),
];

/// The seeded distribution centres (spec 10.3): code, name, marketplace.
const SEED_DCS: [(&str, &str, &str); 9] = [
    ("WB-KAZAN", "Казань WB", "WB"),
    ("WB-MOSCOW", "Москва WB", "WB"),
    ("WB-STPETERSBURG", "Санкт-Петербург WB", "WB"),
    ("WB-KRASNODAR", "Краснодар WB", "WB"),
    ("OZON-KAZAN", "Казань Ozon", "Ozon"),
    ("OZON-MOSCOW", "Москва Ozon", "Ozon"),
    ("OZON-STPETERSBURG", "Санкт-Петербург Ozon", "Ozon"),
    ("OZON-KRASNODAR", "Краснодар Ozon", "Ozon"),
    ("OZON-NOVOSIBIRSK", "Новосибирск Ozon", "Ozon"),
];

/// Inserts `rows` into the kind's table if it is empty; returns how many were inserted.
async fn seed_table<K: Kind>(
    client: &impl GenericClient,
    rows: impl IntoIterator<Item = K::New>,
) -> Result<usize, DbError> {
    let existing: i64 = client.query_one(K::SQL.count, &[]).await?.try_get(0)?;
    if existing > 0 {
        return Ok(0);
    }
    let mut inserted = 0;
    for new in rows {
        insert::<K>(client, &new).await?;
        inserted += 1;
    }
    Ok(inserted)
}

/// Inserts the default sources and DCs into whichever of the two tables is empty. Returns
/// how many of each were inserted.
pub async fn seed_defaults(client: &impl GenericClient) -> Result<(usize, usize), DbError> {
    let sources = SEED_SOURCES.map(|(name, description)| NewSource {
        name: name.to_owned(),
        description: Some(description.to_owned()),
    });
    let dcs = SEED_DCS.map(|(code, name, marketplace)| NewDistributionCenter {
        code: code.to_owned(),
        name: name.to_owned(),
        marketplace: marketplace.to_owned(),
    });
    Ok((
        seed_table::<Source>(client, sources).await?,
        seed_table::<DistributionCenter>(client, dcs).await?,
    ))
}
