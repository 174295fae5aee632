//! Reconciliation queries: location settings, a manager closing a forgotten shift,
//! and the shifts on duty in a time window (who a rogue voucher points at).

use super::chain::append_audit;
use super::rows::*;
use crate::store::*;
use serde_json::json;
use sqlx::Row;

pub(super) async fn location_settings(
    s: &super::SqlStore,
    location_id: Uuid,
) -> StoreResult<Option<LocationSettings>> {
    let row = sqlx::query(
        "SELECT l.timezone, ls.cash_threshold_minor, ls.close_time, ls.updated_at,
           ls.refund_approval_minor
         FROM locations l LEFT JOIN location_settings ls ON ls.location_id = l.id
         WHERE l.id = $1",
    )
    .bind(location_id.to_string())
    .fetch_optional(&s.pool)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    Ok(Some(LocationSettings {
        location_id,
        timezone: r.try_get("timezone")?,
        cash_threshold_minor: r
            .try_get::<Option<i64>, _>("cash_threshold_minor")?
            .unwrap_or(0),
        close_time: r
            .try_get::<Option<String>, _>("close_time")?
            .unwrap_or_else(|| DEFAULT_CLOSE_TIME.to_string()),
        refund_approval_minor: r
            .try_get::<Option<i64>, _>("refund_approval_minor")?
            .unwrap_or(0),
        updated_at: r.try_get("updated_at")?,
    }))
}

pub(super) async fn update_location_settings(
    s: &super::SqlStore,
    location_id: Uuid,
    change: &LocationSettingsChange,
    actor: &str,
    now: i64,
) -> StoreResult<LocationSettings> {
    change.validate().map_err(StoreError::Refused)?;
    let current = location_settings(s, location_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("location {location_id}")))?;
    let next = LocationSettings {
        location_id,
        timezone: change.timezone.clone().unwrap_or(current.timezone),
        cash_threshold_minor: change
            .cash_threshold_minor
            .unwrap_or(current.cash_threshold_minor),
        close_time: change.close_time.clone().unwrap_or(current.close_time),
        refund_approval_minor: change
            .refund_approval_minor
            .unwrap_or(current.refund_approval_minor),
        updated_at: Some(now),
    };
    let lid = location_id.to_string();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    sqlx::query("UPDATE locations SET timezone = $1 WHERE id = $2")
        .bind(&next.timezone)
        .bind(&lid)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO location_settings (location_id, cash_threshold_minor, close_time, updated_at,
           refund_approval_minor)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (location_id) DO UPDATE SET cash_threshold_minor = excluded.cash_threshold_minor,
           close_time = excluded.close_time, updated_at = excluded.updated_at,
           refund_approval_minor = excluded.refund_approval_minor",
    )
    .bind(&lid)
    .bind(next.cash_threshold_minor)
    .bind(&next.close_time)
    .bind(now)
    .bind(next.refund_approval_minor)
    .execute(&mut *tx)
    .await?;
    let audit = AuditEntry {
        actor: actor.into(),
        action: "location.settings".into(),
        target: lid,
        detail: json!({"change": change, "now": {"timezone": next.timezone,
            "cash_threshold_minor": next.cash_threshold_minor, "close_time": next.close_time,
            "refund_approval_minor": next.refund_approval_minor}}),
    };
    append_audit(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(next)
}

pub(super) async fn close_shift_by_id(
    s: &super::SqlStore,
    shift_id: Uuid,
    declared: i64,
    note: &str,
    actor: &str,
    now: i64,
) -> StoreResult<Shift> {
    crate::bounds::money("cs-cash-counted", declared).map_err(StoreError::Refused)?;
    if note.trim().is_empty() {
        return Err(StoreError::Refused(crate::refusal::Refusal::new(
            "err-close-shift-why",
        )));
    }
    let sid = shift_id.to_string();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    // Locked as a clock-out locks it (`super::tokens::close_shift`): a sale in flight is
    // counted or refused, never lost.
    let row = sqlx::query(&format!(
        "SELECT * FROM shifts WHERE id = $1{}",
        s.dialect.for_update()
    ))
    .bind(&sid)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("shift {shift_id}")))?;
    let mut shift = shift_from_row(&row)?;
    if shift.closed_at.is_some() {
        return Err(StoreError::RefusedConflict(crate::refusal::Refusal::new(
            "err-shift-closed",
        )));
    }
    // The staff member left without clocking out: whatever session they left open ends too.
    super::tokens::settle_shift(&mut tx, &mut shift, declared, Some(note), now).await?;
    let audit = AuditEntry {
        actor: actor.into(),
        action: "shift.close_for_staff".into(),
        target: sid,
        detail: json!({"staff_id": shift.staff_id, "declared_cash_minor": declared,
            "expected_cash_minor": shift.expected_cash_minor, "variance_minor": shift.variance_minor,
            "note": note}),
    };
    append_audit(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(shift)
}

/// See `Store::shifts_overlapping`.
pub(super) async fn shifts_overlapping(
    s: &super::SqlStore,
    location_id: Uuid,
    from: i64,
    to: i64,
) -> StoreResult<Vec<Shift>> {
    let rows = sqlx::query(
        "SELECT * FROM shifts
         WHERE location_id = $1 AND opened_at <= $2 AND (closed_at IS NULL OR closed_at >= $3)
         ORDER BY opened_at, id",
    )
    .bind(location_id.to_string())
    .bind(to)
    .bind(from)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(shift_from_row).collect()
}

/// See `Store::inventory_times`.
pub(super) async fn inventory_times(
    s: &super::SqlStore,
    router_id: Uuid,
) -> StoreResult<Option<(i64, Option<i64>)>> {
    let row = sqlx::query("SELECT at, prev_at FROM router_inventory WHERE router_id = $1")
        .bind(router_id.to_string())
        .fetch_optional(&s.pool)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("at")?, r.try_get("prev_at")?)),
        None => None,
    })
}
