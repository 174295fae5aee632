//! The PostgreSQL backend, for production and several replicas. Within a process writes go
//! through one async mutex (as on SQLite); across replicas, chained appends take a transaction
//! advisory lock per chain and ingest locks the agent's router row, so no two writers interleave.

// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/aftersales.rs"]
mod aftersales;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/alerts.rs"]
mod alerts;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/batch.rs"]
mod batch;
mod chain;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/enrollment.rs"]
mod enrollment;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/entities.rs"]
mod entities;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/figures.rs"]
mod figures;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/ingest.rs"]
mod ingest;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/login_limits.rs"]
mod login_limits;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/packages.rs"]
mod packages;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/notify.rs"]
mod notify;
#[allow(clippy::duplicate_mod)]
#[path = "../shared/pages.rs"]
mod pages;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/pending_checks.rs"]
mod pending_checks;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/reconcile.rs"]
mod reconcile;
#[allow(clippy::duplicate_mod)]
#[path = "../shared/reports.rs"]
mod reports;
mod rows;
// Deliberately compiled once per backend (see store/shared/).
#[allow(clippy::duplicate_mod)]
#[path = "../shared/tokens.rs"]
mod tokens;

use super::*;
use rows::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::Mutex;

/// What the shared backend code (`store/shared/`) calls this backend's store.
type Backend = PgStore;
/// This backend's database, for the shared code.
type Db = sqlx::Postgres;
/// This backend's connection type, for the shared code.
type Conn = sqlx::PgConnection;
/// This backend's row type, for the shared code.
type DbRow = sqlx::postgres::PgRow;
/// Row lock suffix for reads that precede a write, so replicas never interleave on one row.
const FOR_UPDATE: &str = " FOR UPDATE";
/// Cast for `SUM` results, which PostgreSQL widens to NUMERIC.
const SUM_AS_BIGINT: &str = "::BIGINT";
/// Serialises login-limit reservations across replicas (held to the end of the transaction).
const LIMITS_LOCK: &str = "SELECT pg_advisory_xact_lock(726001)";

/// A write transaction.
async fn begin_write(pool: &PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin().await
}

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    write: Mutex<()>,
}

impl PgStore {
    /// Connect to `url` (`postgres://...`) and migrate.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connect with `search_path` set to `schema` (created if missing) and migrate there; tests
    /// use a fresh schema each so they never collide.
    pub async fn open_in_schema(url: &str, schema: &str) -> StoreResult<Self> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Invalid(
                "schema name: a-z, 0-9 and _ only".into(),
            ));
        }
        let base = PgConnectOptions::from_str(url)?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        Self::open_with(base.options([("search_path", schema)])).await
    }

    async fn open_with(opts: PgConnectOptions) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            write: Mutex::new(()),
        })
    }

    /// The pool, for tests that poke at tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn user_locations(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows = sqlx::query("SELECT location_id FROM user_locations WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| uuid_col(r, "location_id")).collect()
    }

    async fn user_from_row(&self, row: &sqlx::postgres::PgRow) -> StoreResult<User> {
        let id = uuid_col(row, "id")?;
        let role: String = row.try_get("role")?;
        Ok(User {
            id,
            username: row.try_get("username")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            location_ids: self.user_locations(id).await?,
            language: row.try_get("language")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

crate::store::impl_store::impl_store!(PgStore);

/// The database view's figures: database size, server connections, table row counts.
async fn table_stats(s: &PgStore) -> StoreResult<TableStats> {
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&s.pool)
        .await?;
    let connections: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
    )
    .fetch_one(&s.pool)
    .await?;
    Ok(TableStats {
        size_bytes: size.max(0) as u64,
        connections: connections.max(0) as u64,
        tables: pages::count_tables(s).await?,
    })
}

#[cfg(test)]
mod tests;
