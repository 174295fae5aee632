//! Failed login and enrollment attempts, counted in the database so every replica enforces the
//! same limit (see `auth::RateLimiter`).

use crate::store::*;

/// Record one failure at `at` under each key, in one transaction so the account and address
/// counts never disagree.
pub(super) async fn record(s: &super::SqlStore, keys: &[&str], at: i64) -> StoreResult<()> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    for key in keys {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(*key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Failures under `key` at or after `since`.
pub(super) async fn count(s: &super::SqlStore, key: &str, since: i64) -> StoreResult<u64> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(since)
            .fetch_one(&s.pool)
            .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Forget every failure under `key`: one DELETE, so a successful login stays cheap.
pub(super) async fn clear(s: &super::SqlStore, key: &str) -> StoreResult<()> {
    let _w = s.write.lock().await;
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(&s.pool)
        .await?;
    Ok(())
}

/// Delete failures older than `before`, which no window counts any more.
pub(super) async fn prune(s: &super::SqlStore, before: i64) -> StoreResult<u64> {
    let _w = s.write.lock().await;
    let r = sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(before)
        .execute(&s.pool)
        .await?;
    Ok(r.rows_affected())
}

/// Check and reserve in one transaction: concurrent attempts queue on the write lock (and, on
/// PostgreSQL, on an advisory lock shared by every replica), so each sees the ones before it.
pub(super) async fn reserve<D>(
    s: &super::SqlStore,
    keys: &[(&str, i64)],
    attempt: &str,
    now: i64,
    decide: &D,
) -> StoreResult<bool>
where
    D: Fn(&[AttemptStats]) -> bool + Send + Sync + ?Sized,
{
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    if let Some(lock) = s.dialect.limits_lock() {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    let mut stats = Vec::with_capacity(keys.len());
    for (key, since) in keys {
        let (n, last): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(at) FROM login_failures WHERE key = $1 AND at >= $2",
        )
        .bind(*key)
        .bind(*since)
        .fetch_one(&mut *tx)
        .await?;
        stats.push(AttemptStats {
            count: u64::try_from(n).unwrap_or(0),
            last_at: last,
        });
    }
    if !decide(&stats) {
        tx.rollback().await?;
        return Ok(false);
    }
    for (key, _) in keys {
        sqlx::query("INSERT INTO login_failures (key, at, attempt) VALUES ($1, $2, $3)")
            .bind(*key)
            .bind(now)
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Take back `attempt`'s rows and clear the keys in `clear`.
pub(super) async fn release(s: &super::SqlStore, attempt: &str, clear: &[&str]) -> StoreResult<()> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    sqlx::query("DELETE FROM login_failures WHERE attempt = $1")
        .bind(attempt)
        .execute(&mut *tx)
        .await?;
    for key in clear {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(*key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
