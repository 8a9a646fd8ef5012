//! Reference data: sources (suppliers, pickup points) and distribution centres (spec 6.4,
//! 6.5). Owns the SQL of `sources` and `distribution_centers`: listing, CRUD, the uniqueness
//! and "still referenced" answers (mapped from constraint names, so races answer the same as
//! pre-checks would), and the first-start seed rows.

use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::db::{self, DbError};
use super::errors::{ApiError, msg};
use super::validation::{Body, Problems, RawBody, Text};
use super::wire::Ts;

const LIST_SOURCES: &str =
    "SELECT name, description, id, created_at, updated_at FROM sources ORDER BY name, id";
const GET_SOURCE: &str =
    "SELECT name, description, id, created_at, updated_at FROM sources WHERE id = $1";
const INSERT_SOURCE: &str = "INSERT INTO sources (id, name, description) VALUES ($1, $2, $3) \
     RETURNING name, description, id, created_at, updated_at";
/// Partial update: `$2`/`$4` say whether `name`/`description` were sent; `updated_at` moves
/// only when a value really changes.
const UPDATE_SOURCE: &str = "UPDATE sources SET \
     name = CASE WHEN $2 THEN $3 ELSE name END, \
     description = CASE WHEN $4 THEN $5 ELSE description END, \
     updated_at = CASE WHEN ($2 AND name IS DISTINCT FROM $3) \
                        OR ($4 AND description IS DISTINCT FROM $5) \
                   THEN now() ELSE updated_at END \
     WHERE id = $1 RETURNING name, description, id, created_at, updated_at";
const DELETE_SOURCE: &str = "DELETE FROM sources WHERE id = $1";
const COUNT_SOURCES: &str = "SELECT count(*) FROM sources";

const LIST_DCS: &str = "SELECT code, name, marketplace, id, created_at, updated_at \
     FROM distribution_centers ORDER BY marketplace, code, id";
const GET_DC: &str = "SELECT code, name, marketplace, id, created_at, updated_at \
     FROM distribution_centers WHERE id = $1";
const INSERT_DC: &str = "INSERT INTO distribution_centers (id, code, name, marketplace) \
     VALUES ($1, $2, $3, $4) RETURNING code, name, marketplace, id, created_at, updated_at";
const UPDATE_DC: &str = "UPDATE distribution_centers SET \
     code = COALESCE($2, code), name = COALESCE($3, name), \
     marketplace = COALESCE($4, marketplace), \
     updated_at = CASE WHEN code IS DISTINCT FROM COALESCE($2, code) \
                        OR name IS DISTINCT FROM COALESCE($3, name) \
                        OR marketplace IS DISTINCT FROM COALESCE($4, marketplace) \
                   THEN now() ELSE updated_at END \
     WHERE id = $1 RETURNING code, name, marketplace, id, created_at, updated_at";
const DELETE_DC: &str = "DELETE FROM distribution_centers WHERE id = $1";
const COUNT_DCS: &str = "SELECT count(*) FROM distribution_centers";

const SOURCE_NAME_KEY: &str = "sources_name_key";
const DC_CODE_KEY: &str = "distribution_centers_code_key";
const MOVEMENT_SOURCE_FK: &str = "stock_movements_source_id_fkey";
const MOVEMENT_DC_FK: &str = "stock_movements_distribution_center_id_fkey";

const SOURCE_REFERENCED: &str = "Source is referenced by stock movements and cannot be deleted";
const DC_REFERENCED: &str =
    "Distribution center is referenced by stock movements and cannot be deleted";

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

/// A source, fields in the reference's order.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub name: String,
    pub description: Option<String>,
    pub id: Uuid,
    pub created_at: Ts,
    pub updated_at: Ts,
}

/// A distribution centre, fields in the reference's order.
#[derive(Debug, Clone, Serialize)]
pub struct DistributionCenter {
    pub code: String,
    pub name: String,
    pub marketplace: String,
    pub id: Uuid,
    pub created_at: Ts,
    pub updated_at: Ts,
}

fn source_from_row(row: &Row) -> Result<Source, tokio_postgres::Error> {
    Ok(Source {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        id: row.try_get("id")?,
        created_at: Ts(row.try_get::<_, OffsetDateTime>("created_at")?),
        updated_at: Ts(row.try_get::<_, OffsetDateTime>("updated_at")?),
    })
}

fn dc_from_row(row: &Row) -> Result<DistributionCenter, tokio_postgres::Error> {
    Ok(DistributionCenter {
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        marketplace: row.try_get("marketplace")?,
        id: row.try_get("id")?,
        created_at: Ts(row.try_get::<_, OffsetDateTime>("created_at")?),
        updated_at: Ts(row.try_get::<_, OffsetDateTime>("updated_at")?),
    })
}

// ---- input -------------------------------------------------------------------------------

const NAME: Text = Text::name(255);
const CODE: Text = Text::name(50);
const MARKETPLACE: Text = Text::name(50);

/// A validated `POST /api/sources/` body.
#[derive(Debug)]
pub struct NewSource {
    pub name: String,
    pub description: Option<String>,
}

/// A validated `PUT /api/sources/{id}` body: `None` = leave unchanged.
#[derive(Debug, Default)]
pub struct SourceChange {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

/// A validated `POST /api/distribution-centers/` body.
#[derive(Debug)]
pub struct NewDistributionCenter {
    pub code: String,
    pub name: String,
    pub marketplace: String,
}

/// A validated `PUT /api/distribution-centers/{id}` body: `None` = leave unchanged.
#[derive(Debug, Default)]
pub struct DistributionCenterChange {
    pub code: Option<String>,
    pub name: Option<String>,
    pub marketplace: Option<String>,
}

impl NewSource {
    pub fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewSource> {
        let b = Body::of(raw, p)?;
        let name = b.string(p, "name", NAME);
        let description = b.patch_string(p, "description", Text::FREE, true);
        Some(NewSource {
            name: name?,
            description: description.into_option(),
        })
    }
}

impl SourceChange {
    pub fn parse(raw: &RawBody, p: &mut Problems) -> Option<SourceChange> {
        let b = Body::of(raw, p)?;
        let name = b.patch_string(p, "name", NAME, false);
        let description = b.patch_string(p, "description", Text::FREE, true);
        Some(SourceChange {
            name: name.into_option(),
            description: description.into_update(),
        })
    }
}

impl NewDistributionCenter {
    pub fn parse(raw: &RawBody, p: &mut Problems) -> Option<NewDistributionCenter> {
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

impl DistributionCenterChange {
    pub fn parse(raw: &RawBody, p: &mut Problems) -> Option<DistributionCenterChange> {
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

fn duplicate_source(name: &str) -> ApiError {
    ApiError::bad_request(format!("Source with name '{name}' already exists"))
}

fn duplicate_dc(code: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Distribution center with code '{code}' already exists"
    ))
}

// ---- sources -----------------------------------------------------------------------------

pub async fn list_sources(conn: &impl GenericClient) -> Result<Vec<Source>, ApiError> {
    let stmt = conn.prepare_cached(LIST_SOURCES).await?;
    let rows = conn.query(&stmt, &[]).await?;
    Ok(rows.iter().map(source_from_row).collect::<Result<_, _>>()?)
}

pub async fn get_source(pool: &Pool, id: Uuid) -> Result<Source, ApiError> {
    let conn = db::conn(pool).await?;
    let stmt = conn.prepare_cached(GET_SOURCE).await?;
    match conn.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(source_from_row(&row)?),
        None => Err(ApiError::not_found(msg::SOURCE_NOT_FOUND)),
    }
}

pub async fn create_source(pool: &Pool, new: &NewSource) -> Result<Source, ApiError> {
    let conn = db::conn(pool).await?;
    let result = conn
        .query_one(
            INSERT_SOURCE,
            &[&Uuid::new_v4(), &new.name, &new.description],
        )
        .await
        .map_err(DbError::from);
    match result {
        Ok(row) => Ok(source_from_row(&row)?),
        Err(e) if e.is_unique_violation(SOURCE_NAME_KEY) => Err(duplicate_source(&new.name)),
        Err(e) => Err(e.into()),
    }
}

pub async fn update_source(
    pool: &Pool,
    id: Uuid,
    change: &SourceChange,
) -> Result<Source, ApiError> {
    let conn = db::conn(pool).await?;
    let description = change.description.clone().flatten();
    let result = conn
        .query_opt(
            UPDATE_SOURCE,
            &[
                &id,
                &change.name.is_some(),
                &change.name,
                &change.description.is_some(),
                &description,
            ],
        )
        .await
        .map_err(DbError::from);
    match result {
        Ok(Some(row)) => Ok(source_from_row(&row)?),
        Ok(None) => Err(ApiError::not_found(msg::SOURCE_NOT_FOUND)),
        Err(e) if e.is_unique_violation(SOURCE_NAME_KEY) => {
            Err(duplicate_source(change.name.as_deref().unwrap_or_default()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_source(pool: &Pool, id: Uuid) -> Result<(), ApiError> {
    let conn = db::conn(pool).await?;
    match conn
        .execute(DELETE_SOURCE, &[&id])
        .await
        .map_err(DbError::from)
    {
        Ok(0) => Err(ApiError::not_found(msg::SOURCE_NOT_FOUND)),
        Ok(_) => Ok(()),
        Err(e) if e.is_fk_violation(MOVEMENT_SOURCE_FK) => {
            Err(ApiError::conflict(SOURCE_REFERENCED))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- distribution centres ----------------------------------------------------------------

pub async fn list_dcs(conn: &impl GenericClient) -> Result<Vec<DistributionCenter>, ApiError> {
    let stmt = conn.prepare_cached(LIST_DCS).await?;
    let rows = conn.query(&stmt, &[]).await?;
    Ok(rows.iter().map(dc_from_row).collect::<Result<_, _>>()?)
}

pub async fn get_dc(pool: &Pool, id: Uuid) -> Result<DistributionCenter, ApiError> {
    let conn = db::conn(pool).await?;
    let stmt = conn.prepare_cached(GET_DC).await?;
    match conn.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(dc_from_row(&row)?),
        None => Err(ApiError::not_found(msg::DC_NOT_FOUND)),
    }
}

pub async fn create_dc(
    pool: &Pool,
    new: &NewDistributionCenter,
) -> Result<DistributionCenter, ApiError> {
    let conn = db::conn(pool).await?;
    let result = conn
        .query_one(
            INSERT_DC,
            &[&Uuid::new_v4(), &new.code, &new.name, &new.marketplace],
        )
        .await
        .map_err(DbError::from);
    match result {
        Ok(row) => Ok(dc_from_row(&row)?),
        Err(e) if e.is_unique_violation(DC_CODE_KEY) => Err(duplicate_dc(&new.code)),
        Err(e) => Err(e.into()),
    }
}

pub async fn update_dc(
    pool: &Pool,
    id: Uuid,
    change: &DistributionCenterChange,
) -> Result<DistributionCenter, ApiError> {
    let conn = db::conn(pool).await?;
    let result = conn
        .query_opt(
            UPDATE_DC,
            &[&id, &change.code, &change.name, &change.marketplace],
        )
        .await
        .map_err(DbError::from);
    match result {
        Ok(Some(row)) => Ok(dc_from_row(&row)?),
        Ok(None) => Err(ApiError::not_found(msg::DC_NOT_FOUND)),
        Err(e) if e.is_unique_violation(DC_CODE_KEY) => {
            Err(duplicate_dc(change.code.as_deref().unwrap_or_default()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_dc(pool: &Pool, id: Uuid) -> Result<(), ApiError> {
    let conn = db::conn(pool).await?;
    match conn.execute(DELETE_DC, &[&id]).await.map_err(DbError::from) {
        Ok(0) => Err(ApiError::not_found(msg::DC_NOT_FOUND)),
        Ok(_) => Ok(()),
        Err(e) if e.is_fk_violation(MOVEMENT_DC_FK) => Err(ApiError::conflict(DC_REFERENCED)),
        Err(e) => Err(e.into()),
    }
}

// ---- seed --------------------------------------------------------------------------------

/// Inserts the default sources and DCs into whichever of the two tables is empty. Returns
/// how many of each were inserted.
pub async fn seed_defaults(client: &impl GenericClient) -> Result<(usize, usize), DbError> {
    let mut sources = 0;
    if count(client, COUNT_SOURCES).await? == 0 {
        for (name, description) in SEED_SOURCES {
            client
                .execute(INSERT_SOURCE, &[&Uuid::new_v4(), &name, &description])
                .await?;
            sources += 1;
        }
    }
    let mut dcs = 0;
    if count(client, COUNT_DCS).await? == 0 {
        for (code, name, marketplace) in SEED_DCS {
            client
                .execute(INSERT_DC, &[&Uuid::new_v4(), &code, &name, &marketplace])
                .await?;
            dcs += 1;
        }
    }
    Ok((sources, dcs))
}

async fn count(client: &impl GenericClient, sql: &str) -> Result<i64, DbError> {
    Ok(client.query_one(sql, &[]).await?.try_get(0)?)
}
