//! Usage rows: every entry of every usage report, written by the ingest a few hundred rows per
//! statement and read back as the report's entries when an alert check left pending names the
//! report instead of holding a copy of it (`super::pending_checks`). Writing and reading sit
//! together so the two agree on every field.

use super::ingest::db_int;
use super::rows::{opt_id, stored_u64};
use super::Dialect;
use crate::store::*;
use mtm_common::Usage;
use sqlx::FromRow;

/// One row to write: router id, the report's time and seq, and the entry.
pub(super) type UsageRow<'a> = (&'a str, i64, i64, &'a Usage);

/// One multi-row INSERT of usage rows, its statement kept prepared if `persistent`.
pub(super) async fn insert_usage_rows(
    tx: &mut sqlx::AnyConnection,
    dialect: Dialect,
    rows: &[UsageRow<'_>],
    persistent: bool,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO usage (router_id, token_id, username, at, active, uptime_s, bytes_in,
           bytes_out, delta_uptime_s, delta_bytes_in, delta_bytes_out, counters_reset, seq,
           first_login_at)
         VALUES {}",
        dialect.value_rows(rows.len(), 14)
    );
    let mut q = sqlx::query(&sql).persistent(persistent);
    for (router_id, at, seq, u) in rows {
        q = q
            .bind(*router_id)
            .bind(u.token_id.map(|t| t.to_string()))
            .bind(&u.username)
            .bind(*at)
            .bind(u.active as i64)
            .bind(db_int(u.uptime_s))
            .bind(db_int(u.bytes_in))
            .bind(db_int(u.bytes_out))
            .bind(db_int(u.delta_uptime_s))
            .bind(db_int(u.delta_bytes_in))
            .bind(db_int(u.delta_bytes_out))
            .bind(u.counters_reset as i64)
            .bind(*seq)
            .bind(u.first_login_at);
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// A `usage` row as stored (booleans are 0/1 integers).
#[derive(FromRow)]
struct StoredUsage {
    token_id: Option<String>,
    username: String,
    active: i64,
    first_login_at: Option<i64>,
    uptime_s: i64,
    bytes_in: i64,
    bytes_out: i64,
    delta_uptime_s: i64,
    delta_bytes_in: i64,
    delta_bytes_out: i64,
    counters_reset: i64,
}

impl TryFrom<StoredUsage> for Usage {
    type Error = StoreError;

    fn try_from(r: StoredUsage) -> StoreResult<Usage> {
        Ok(Usage {
            token_id: opt_id("usage token_id", r.token_id)?,
            username: r.username,
            active: r.active != 0,
            first_login_at: r.first_login_at,
            uptime_s: stored_u64("usage uptime_s", r.uptime_s)?,
            bytes_in: stored_u64("usage bytes_in", r.bytes_in)?,
            bytes_out: stored_u64("usage bytes_out", r.bytes_out)?,
            delta_uptime_s: stored_u64("usage delta_uptime_s", r.delta_uptime_s)?,
            delta_bytes_in: stored_u64("usage delta_bytes_in", r.delta_bytes_in)?,
            delta_bytes_out: stored_u64("usage delta_bytes_out", r.delta_bytes_out)?,
            counters_reset: r.counters_reset != 0,
        })
    }
}

/// The entries of the usage report `seq` of `router_id`, taken at `at`, in the order they
/// were written. The time narrows the read to the report's own rows by the router's index; the
/// seq tells it from another report taken in the same millisecond.
pub(super) async fn report_entries(
    s: &super::SqlStore,
    router_id: &str,
    at: i64,
    seq: i64,
) -> StoreResult<Vec<Usage>> {
    let rows: Vec<StoredUsage> = sqlx::query_as(
        "SELECT token_id, username, active, first_login_at, uptime_s, bytes_in, bytes_out,
           delta_uptime_s, delta_bytes_in, delta_bytes_out, counters_reset
         FROM usage WHERE router_id = $1 AND at = $2 AND seq = $3 ORDER BY id",
    )
    .bind(router_id)
    .bind(at)
    .bind(seq)
    .fetch_all(&s.pool)
    .await?;
    rows.into_iter().map(Usage::try_from).collect()
}
