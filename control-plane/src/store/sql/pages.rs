//! The admin console's queries: users, account changes (audited), logs, database figures.

use super::chain;
use super::rows::{shift_from_row, USER_SELECT};
use crate::store::*;
use sqlx::Row;

pub(super) async fn list_users(s: &super::SqlStore) -> StoreResult<Vec<User>> {
    let rows = sqlx::query(&format!("{USER_SELECT} ORDER BY username"))
        .fetch_all(&s.pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(s.user_from_row(r).await?);
    }
    Ok(out)
}

pub(super) async fn update_user(
    s: &super::SqlStore,
    id: Uuid,
    change: UserChange,
    actor: &str,
    now: i64,
) -> StoreResult<User> {
    let uid = id.to_string();
    let hash = match change.password.as_deref() {
        Some(pw) => {
            let name: Option<String> =
                sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                    .bind(&uid)
                    .fetch_optional(&s.pool)
                    .await?;
            let name = name.ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
            credentials::check_password(pw, &name).map_err(StoreError::Refused)?;
            let pw = pw.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&pw))
                    .await
                    .map_err(|e| StoreError::Hash(e.to_string()))??,
            )
        }
        None => None,
    };
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let found = sqlx::query("SELECT id FROM users WHERE id = $1")
        .bind(&uid)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    if let Some(d) = change.disabled {
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(d))
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
        if d {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&uid)
                .execute(&mut *tx)
                .await?;
        }
    }
    if let Some(h) = &hash {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(h)
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(lang) = &change.language {
        sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
            .bind(lang.as_deref())
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(locs) = &change.location_ids {
        sqlx::query("DELETE FROM user_locations WHERE user_id = $1")
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
        for l in locs {
            sqlx::query("INSERT INTO user_locations (user_id, location_id) VALUES ($1, $2)")
                .bind(&uid)
                .bind(l.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict_on_unique(e, "user location"))?;
        }
    }
    // A new password or new locations end every session in this same transaction: a session
    // opened under the old password (or for the old locations) must not outlive the change.
    let mut sessions_ended = 0;
    if hash.is_some() || change.location_ids.is_some() {
        sessions_ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&uid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    let mut flagged_shift = None;
    if let Some(locs) = &change.location_ids {
        flagged_shift = flag_shift_outside(&mut tx, &uid, locs, actor, now).await?;
    }
    let entry = AuditEntry {
        actor: actor.into(),
        action: "user.update".into(),
        target: uid.clone(),
        detail: serde_json::json!({
            "disabled": change.disabled, "password_reset": hash.is_some(),
            "location_ids": change.location_ids, "sessions_ended": sessions_ended,
            "flagged_shift": flagged_shift, "language": change.language,
        }),
    };
    chain::append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    drop(_w);
    let row = sqlx::query(&format!("{USER_SELECT} WHERE id = $1"))
        .bind(&uid)
        .fetch_one(&s.pool)
        .await?;
    s.user_from_row(&row).await
}

/// When the user's open shift is at a location no longer theirs, raise an alert on it (the
/// shift stays open: the money in the till is still to be counted, but dispensing there is now
/// refused and a manager should close it). Returns the shift flagged.
async fn flag_shift_outside(
    c: &mut sqlx::AnyConnection,
    uid: &str,
    locs: &[Uuid],
    actor: &str,
    now: i64,
) -> StoreResult<Option<String>> {
    let open: Option<(String, String)> = sqlx::query_as(
        "SELECT id, location_id FROM shifts WHERE staff_id = $1 AND closed_at IS NULL",
    )
    .bind(uid)
    .fetch_optional(&mut *c)
    .await?;
    let Some((shift_id, location_id)) = open else {
        return Ok(None);
    };
    if locs.iter().any(|l| l.to_string() == location_id) {
        return Ok(None);
    }
    let evidence = serde_json::json!({
        "reason": "location_removed_during_shift",
        "removed_by": actor,
        "location_id": location_id,
        "staff_location_ids": locs,
    });
    sqlx::query(
        "INSERT INTO alerts (id, kind, severity, location_id, staff_id, shift_id, dedup_key,
           summary, evidence, created_at, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open')
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(crate::reconcile::AlertKind::DispenseWrongLocation.as_str())
    .bind(crate::reconcile::Severity::Warning.as_str())
    .bind(&location_id)
    .bind(uid)
    .bind(&shift_id)
    .bind(format!("location_removed:{shift_id}"))
    .bind("A staff member's location was removed while their shift there was open")
    .bind(evidence.to_string())
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(Some(shift_id))
}

pub(super) async fn list_log(
    s: &super::SqlStore,
    table: LogTable,
    limit: u32,
    offset: u32,
) -> StoreResult<Vec<LogRow>> {
    let sql = match table {
        LogTable::Audit => {
            "SELECT id, at, actor, action, target, detail FROM audit_log
             ORDER BY id DESC LIMIT $1 OFFSET $2"
        }
        LogTable::Ledger => {
            "SELECT id, at, actor, event AS action, token_id AS target, detail FROM token_ledger
             ORDER BY id DESC LIMIT $1 OFFSET $2"
        }
    };
    let rows = sqlx::query(sql)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&s.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LogRow {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// Row counts of the tables the database view shows.
pub(super) async fn count_tables(s: &super::SqlStore) -> StoreResult<Vec<TableCount>> {
    let mut tables = Vec::with_capacity(COUNTED_TABLES.len());
    for name in COUNTED_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {name}"))
            .fetch_one(&s.pool)
            .await?;
        tables.push(TableCount {
            name: (*name).into(),
            rows: n.max(0) as u64,
        });
    }
    Ok(tables)
}

pub(super) async fn list_shifts(s: &super::SqlStore, f: &ShiftFilter) -> StoreResult<Vec<Shift>> {
    let rows = sqlx::query(
        "SELECT * FROM shifts
         WHERE ($1 IS NULL OR location_id = $1) AND ($2 IS NULL OR staff_id = $2)
           AND opened_at >= $3
         ORDER BY opened_at DESC, id LIMIT $4 OFFSET $5",
    )
    .bind(f.location_id.map(|u| u.to_string()))
    .bind(f.staff_id.map(|u| u.to_string()))
    .bind(f.from.unwrap_or(i64::MIN))
    .bind(i64::from(f.limit.unwrap_or(200)))
    .bind(i64::from(f.offset.unwrap_or(0)))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(shift_from_row).collect()
}

pub(super) async fn set_location_frozen(
    s: &super::SqlStore,
    location_id: Uuid,
    frozen: bool,
    reason: &str,
    actor: &str,
    now: i64,
) -> StoreResult<()> {
    let lid = location_id.to_string();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let found = sqlx::query("SELECT id FROM locations WHERE id = $1")
        .bind(&lid)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("location {location_id}")));
    }
    if frozen {
        sqlx::query(
            "INSERT INTO location_freezes (location_id, frozen_at, frozen_by, reason)
             VALUES ($1, $2, $3, $4) ON CONFLICT (location_id) DO NOTHING",
        )
        .bind(&lid)
        .bind(now)
        .bind(actor)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("DELETE FROM location_freezes WHERE location_id = $1")
            .bind(&lid)
            .execute(&mut *tx)
            .await?;
    }
    let entry = AuditEntry {
        actor: actor.into(),
        action: if frozen {
            "location.freeze"
        } else {
            "location.thaw"
        }
        .into(),
        target: lid,
        detail: serde_json::json!({ "reason": reason }),
    };
    chain::append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn frozen_locations(s: &super::SqlStore) -> StoreResult<Vec<LocationFreeze>> {
    let rows = sqlx::query("SELECT * FROM location_freezes ORDER BY frozen_at")
        .fetch_all(&s.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("location_id")?;
            Ok(LocationFreeze {
                location_id: Uuid::parse_str(&id)
                    .map_err(|_| StoreError::Corrupt(format!("location id {id}")))?,
                frozen_at: r.try_get("frozen_at")?,
                frozen_by: r.try_get("frozen_by")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}
