//! The SQLite backend: one file, WAL, foreign keys on. Writes go through one async mutex so
//! chained appends and read-then-write transactions never race (SQLite has one writer anyway).

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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::Mutex;

/// What the shared backend code (`store/shared/`) calls this backend's store.
type Backend = SqliteStore;
/// This backend's database, for the shared code.
type Db = sqlx::Sqlite;
/// This backend's connection type, for the shared code.
type Conn = sqlx::SqliteConnection;
/// This backend's row type, for the shared code.
type DbRow = sqlx::sqlite::SqliteRow;
/// Row lock suffix for reads that precede a write: none needed, the write transaction serialises.
const FOR_UPDATE: &str = "";
/// Cast for `SUM` results: SQLite's are already 64-bit.
const SUM_AS_BIGINT: &str = "";
/// No extra lock for login-limit reservations: `BEGIN IMMEDIATE` already serialises writers.
const LIMITS_LOCK: &str = "";

/// A write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so concurrent
/// writers wait for it instead of failing on upgrade.
///
/// The `BEGIN` runs in a task of its own, to the end, whatever happens to the caller. sqlx
/// (0.8) checks the connection's state after the `BEGIN` has run and before it hands out the
/// transaction; a caller dropped in between (an HTTP client that disconnected, a timeout) left
/// no transaction to roll back, so the connection went back to the pool holding the write lock,
/// and every other writer then waited out its busy timeout and failed with `database is
/// locked`. Run to the end here, a transaction nobody takes is dropped and so rolled back.
async fn begin_write(pool: &SqlitePool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin_with("BEGIN IMMEDIATE").await })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("beginning a write transaction: {e}")))?
}

/// A store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    write: Mutex<()>,
}

impl SqliteStore {
    /// Open (creating if missing) and migrate the database at `url` (`sqlite://path`).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            write: Mutex::new(()),
        })
    }

    /// The pool, for tests that poke at tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn user_locations(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows = sqlx::query("SELECT location_id FROM user_locations WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| uuid_col(r, "location_id")).collect()
    }

    async fn user_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> StoreResult<User> {
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

crate::store::impl_store::impl_store!(SqliteStore);

/// The database view's figures: file size, pool connections, table row counts.
async fn table_stats(s: &SqliteStore) -> StoreResult<TableStats> {
    let size: i64 = sqlx::query_scalar(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    )
    .fetch_one(&s.pool)
    .await?;
    Ok(TableStats {
        size_bytes: size.max(0) as u64,
        connections: u64::from(s.pool.size()),
        tables: pages::count_tables(s).await?,
    })
}

#[cfg(test)]
mod abandoned_tests;
#[cfg(test)]
mod tests;
