//! Editing packages, audited in the same transaction; one shift by id (for the manager's
//! close form).

use super::chain::append_audit;
use super::rows::*;
use crate::store::*;
use serde_json::json;

pub(super) async fn list_all_packages(s: &super::SqlStore) -> StoreResult<Vec<Package>> {
    let rows = sqlx::query("SELECT * FROM packages ORDER BY active DESC, price_minor, slug")
        .fetch_all(&s.pool)
        .await?;
    rows.iter().map(package_from_row).collect()
}

pub(super) async fn update_package(
    s: &super::SqlStore,
    id: Uuid,
    change: &PackageChange,
    actor: &str,
    now: i64,
) -> StoreResult<Package> {
    change.validate().map_err(StoreError::Refused)?;
    let pid = id.to_string();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let before = sqlx::query("SELECT * FROM packages WHERE id = $1")
        .bind(&pid)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("package {id}")))?;
    let before = package_from_row(&before)?;
    // Strictly newer than any version handed out, so routers see a new catalog even when two
    // changes fall in the same millisecond.
    sqlx::query(
        "UPDATE packages SET name = $1, price_minor = $2, limit_uptime_s = $3,
           limit_bytes_total = $4, rate_limit = $5, shared_users = $6, validity_s = $7,
           active = $8, lock_to_mac = $11,
           updated_at = (SELECT CASE WHEN MAX(updated_at) >= $9 THEN MAX(updated_at) + 1
                                     ELSE $9 END FROM packages)
         WHERE id = $10",
    )
    .bind(change.name.trim())
    .bind(change.price_minor)
    .bind(change.limit_uptime_s.map(|v| v as i64))
    .bind(change.limit_bytes_total.map(|v| v as i64))
    .bind(
        change
            .rate_limit
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty()),
    )
    .bind(i64::from(change.shared_users))
    .bind(change.validity_s.map(|v| v as i64))
    .bind(change.active as i64)
    .bind(now)
    .bind(&pid)
    .bind(change.lock_to_mac as i64)
    .execute(&mut *tx)
    .await?;
    let after = sqlx::query("SELECT * FROM packages WHERE id = $1")
        .bind(&pid)
        .fetch_one(&mut *tx)
        .await?;
    let after = package_from_row(&after)?;
    let audit = AuditEntry {
        actor: actor.into(),
        action: "package.update".into(),
        target: pid,
        detail: json!({"slug": after.slug, "before": {"name": before.name,
            "price_minor": before.price_minor, "active": before.active,
            "lock_to_mac": before.lock_to_mac}, "change": change}),
    };
    append_audit(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn shift(s: &super::SqlStore, id: Uuid) -> StoreResult<Option<Shift>> {
    let row = sqlx::query("SELECT * FROM shifts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(shift_from_row).transpose()
}
