//! The store over SQL: one implementation of [`Store`] for SQLite (one file, the embedded
//! default) and PostgreSQL (production, several replicas), chosen at run time by the database
//! URL through `sqlx::Any`. The schema is TEXT ids, BIGINT numbers and one BLOB, which both
//! databases store alike; where their SQL differs (row locks, the width of `SUM`, how a write
//! transaction begins, database figures) a [`Dialect`] says how.
//!
//! Within a process, writes go through one async mutex, so chained appends and read-then-write
//! transactions never race. Across PostgreSQL replicas, chained appends take a transaction
//! advisory lock per chain and ingest locks the agent's router row, so no two writers interleave;
//! the same locks let the ingest's writers and the deletes of finished checks skip the mutex on
//! PostgreSQL (`SqlStore::sqlite_writer`).

mod admin_store;
mod aftersales;
mod alerts;
mod alerts_store;
mod batch;
mod catalog_store;
mod chain;
mod deferred;
mod enrollment;
mod entities;
mod figures;
mod ingest;
mod ingest_store;
mod locked_routers;
mod login_limits;
mod notify;
mod packages;
mod pages;
mod pending_checks;
mod people_store;
mod reconcile;
mod reports;
mod rows;
mod sales_store;
mod token_usage;
mod tokens;
mod usage_rows;

use super::*;
use rows::*;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, FromRow, Row};
use std::time::Duration;
use tokio::sync::Mutex;

/// Which SQL the database speaks, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: one writer at a time, taken up front by `BEGIN IMMEDIATE`.
    Sqlite,
    /// PostgreSQL: row locks and advisory locks keep replicas from interleaving.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL, or why it names none.
    pub fn of_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::Invalid(format!(
                "unsupported database URL scheme: {}",
                url.split(':').next().unwrap_or("")
            )))
        }
    }

    /// The dialect of an open connection (for queries that are handed only a connection).
    pub(crate) fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// Suffix for a read that precedes a write to the same row: on PostgreSQL it locks the row so
    /// replicas never interleave on it; SQLite's write transaction already serialises.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Suffix for a read of a row that must not change until commit, though others may read
    /// it so too: on PostgreSQL a writer of the row (a shift being closed) waits for this
    /// transaction, and this one for a writer already there, then sees its commit. SQLite's
    /// write transaction already serialises.
    pub(crate) fn for_share(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR SHARE",
        }
    }

    /// Suffix for `SUM(...)`: PostgreSQL widens a BIGINT sum to NUMERIC, cast back (a sum past
    /// i64 is then an error, as SQLite's own "integer overflow" is, never a wrapped figure).
    pub(crate) fn sum_as_bigint(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "::BIGINT",
        }
    }

    /// A statement serialising login-limit reservations across replicas until commit;
    /// SQLite's `BEGIN IMMEDIATE` already does.
    pub(crate) fn limits_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(726001)"),
        }
    }

    /// Usage rows per INSERT statement (12 values each), and the rows or ids of the ingest's
    /// other multi-row statements. Small on SQLite, where binding numbered parameters cost the
    /// square of their number (5 % of the server's time at 256 rows in the ingest profile of
    /// docs/benchmarks.md); those statements now take anonymous marks ([`Self::value_rows`]),
    /// and 32 stays as measured. On PostgreSQL each statement is a round trip the writer waits
    /// for, so a few hundred rows go in one.
    pub(crate) fn usage_rows_per_insert(self) -> usize {
        match self {
            Dialect::Sqlite => 32,
            Dialect::Postgres => 256,
        }
    }

    /// `len` placeholders in parentheses, numbered from `first`, for a statement whose
    /// parameters are numbered and bound in the order they appear (anonymous on SQLite, as in
    /// [`Self::value_rows`]).
    pub(crate) fn marks(self, first: usize, len: usize) -> String {
        let marks: Vec<String> = (first..first + len)
            .map(|i| match self {
                Dialect::Sqlite => "?".to_owned(),
                Dialect::Postgres => format!("${i}"),
            })
            .collect();
        format!("({})", marks.join(", "))
    }

    /// `rows` parenthesised groups of `columns` placeholders, `($1, $2), ($3, $4)`, for a
    /// multi-row `VALUES` or `IN` list in a statement whose only parameters they are, bound in
    /// order. SQLite gets anonymous `?` marks: sqlx binds a numbered one by asking SQLite its
    /// name, which SQLite finds by a linear search, so binding a statement of n numbered
    /// parameters cost n² steps (a tenth of the server's time under ingest).
    pub(crate) fn value_rows(self, rows: usize, columns: usize) -> String {
        let groups: Vec<String> = (0..rows)
            .map(|r| self.marks(r * columns + 1, columns))
            .collect();
        groups.join(", ")
    }
}

/// The store in a SQLite file or a PostgreSQL database.
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    write: Mutex<()>,
    raised: alerts::RaisedKeys,
}

impl SqlStore {
    /// Open (creating a SQLite file if missing) and migrate the database at `url`
    /// (`sqlite://path` or `postgres://...`).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, None).await
    }

    /// Open a PostgreSQL database with `search_path` set to `schema` (created if missing) and
    /// migrate there; tests use a fresh schema each so they never collide.
    pub async fn open_in_schema(url: &str, schema: &str) -> StoreResult<Self> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Invalid(
                "schema name: a-z, 0-9 and _ only".into(),
            ));
        }
        if Dialect::of_url(url)? != Dialect::Postgres {
            return Err(StoreError::Invalid("schemas are PostgreSQL's".into()));
        }
        sqlx::any::install_default_drivers();
        let admin = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        Self::open_with(url, Some(schema.to_owned())).await
    }

    async fn open_with(url: &str, schema: Option<String>) -> StoreResult<Self> {
        let dialect = Dialect::of_url(url)?;
        sqlx::any::install_default_drivers();
        let options = AnyPoolOptions::new().max_connections(8);
        let pool = match dialect {
            Dialect::Sqlite => {
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // Every connection: wait for the writer rather than fail, and keep
                            // the foreign keys the schema declares.
                            sqlx::query("PRAGMA busy_timeout = 10000")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&sqlite_url(url))
                    .await?
            }
            Dialect::Postgres => {
                options
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(move |conn, _| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            if let Some(schema) = schema {
                                // Checked to be [a-z0-9_] by `open_in_schema`.
                                sqlx::query(&format!("SET search_path TO {schema}"))
                                    .execute(&mut *conn)
                                    .await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
        };
        match dialect {
            Dialect::Sqlite => {
                // The journal mode is the file's, not the connection's: set once.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            }
            Dialect::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        Ok(SqlStore {
            pool,
            dialect,
            write: Mutex::new(()),
            raised: alerts::RaisedKeys::default(),
        })
    }

    /// The pool, for tests that poke at tables directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this store is in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A write transaction. On SQLite `BEGIN IMMEDIATE` takes the write lock up front, so
    /// concurrent writers wait for it instead of failing on upgrade.
    ///
    /// The `BEGIN` runs in a task of its own, to the end, whatever happens to the caller. sqlx
    /// (0.8) checks the connection's state after the `BEGIN` has run and before it hands out the
    /// transaction; a caller dropped in between (an HTTP client that disconnected, a timeout)
    /// left no transaction to roll back, so the connection went back to the pool holding the
    /// write lock, and every other writer then waited out its busy timeout and failed with
    /// `database is locked`. Run to the end here, a transaction nobody takes is dropped and so
    /// rolled back.
    /// The process's writer where the database has one writer (SQLite), held until dropped;
    /// `None` on PostgreSQL, for the writes whose row and chain locks already order them
    /// against every other writer, as they order replicas.
    async fn sqlite_writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.dialect {
            Dialect::Sqlite => Some(self.write.lock().await),
            Dialect::Postgres => None,
        }
    }

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        let pool = self.pool.clone();
        let dialect = self.dialect;
        tokio::spawn(async move {
            match dialect {
                Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
                Dialect::Postgres => pool.begin().await,
            }
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("beginning a write transaction: {e}")))?
    }

    async fn user_locations(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows = sqlx::query("SELECT location_id FROM user_locations WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| uuid_col(r, "location_id")).collect()
    }

    async fn user_from_row(&self, row: &AnyRow) -> StoreResult<User> {
        let r = UserRow::from_row(row)?;
        let id = id("user id", r.id)?;
        Ok(User {
            id,
            username: r.username,
            role: named("role", &r.role, Role::parse)?,
            disabled: r.disabled != 0,
            location_ids: self.user_locations(id).await?,
            language: r.language,
            created_at: r.created_at,
        })
    }

    /// The database view's figures: size on disk, connections, table row counts.
    async fn database_figures(&self) -> StoreResult<TableStats> {
        let (size, connections): (i64, i64) = match self.dialect {
            Dialect::Sqlite => {
                let size = sqlx::query_scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(&self.pool)
                .await?;
                (size, i64::from(self.pool.size()))
            }
            Dialect::Postgres => {
                let size = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&self.pool)
                    .await?;
                let connections = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
                )
                .fetch_one(&self.pool)
                .await?;
                (size, connections)
            }
        };
        Ok(TableStats {
            size_bytes: stored_u64("database size", size)?,
            connections: stored_u64("connections", connections)?,
            tables: pages::count_tables(self).await?,
        })
    }
}

/// A SQLite URL that creates the file if it is missing (`mode=rwc`), unless it says otherwise.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests_abandoned;
#[cfg(test)]
mod tests_database;
#[cfg(test)]
mod tests_held_counters;
#[cfg(test)]
mod tests_pending_usage;
#[cfg(test)]
mod tests_raised_keys;
#[cfg(test)]
mod tests_replicas;
#[cfg(test)]
mod tests_shift_races;
