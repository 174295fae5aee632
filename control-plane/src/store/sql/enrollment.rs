//! Enrollment codes, redeeming them, and revoking a router's agent.

use crate::store::*;
use sqlx::Row;

pub(super) async fn create_code(
    s: &super::SqlStore,
    router_id: Uuid,
    code_hash: &str,
    expires_at: i64,
    actor: &str,
    now: i64,
) -> StoreResult<()> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let agent_id: Option<String> = sqlx::query_scalar(&format!(
        "SELECT agent_id FROM routers WHERE id = $1{}",
        s.dialect.for_update()
    ))
    .bind(router_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let agent_id = agent_id.ok_or_else(|| StoreError::NotFound(format!("router {router_id}")))?;
    // One live code per router: an older unused one stops working.
    sqlx::query(
        "UPDATE enrollment_codes SET replaced_at = $1
         WHERE router_id = $2 AND used_at IS NULL AND replaced_at IS NULL",
    )
    .bind(now)
    .bind(router_id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO enrollment_codes (id, router_id, code_hash, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(router_id.to_string())
    .bind(code_hash)
    .bind(actor)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_on_unique(e, "enrollment code"))?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "router.enrollment_code".into(),
        target: router_id.to_string(),
        detail: serde_json::json!({ "agent_id": agent_id, "expires_at": expires_at }),
    };
    super::chain::append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn redeem(
    s: &super::SqlStore,
    code_hash: &str,
    public_key_hex: &str,
    mqtt_password: &str,
    agent_version: &str,
    now: i64,
) -> StoreResult<Redeemed> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let row = sqlx::query(
        &format!("SELECT id, router_id, expires_at, used_at, replaced_at FROM enrollment_codes WHERE code_hash = $1{}", s.dialect.for_update()),
    )
    .bind(code_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Redeemed::Unknown);
    };
    if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
        return Ok(Redeemed::Used);
    }
    if row.try_get::<Option<i64>, _>("replaced_at")?.is_some() {
        return Ok(Redeemed::Replaced);
    }
    if row.try_get::<i64, _>("expires_at")? <= now {
        return Ok(Redeemed::Expired);
    }
    let code_id: String = row.try_get("id")?;
    let router_id: String = row.try_get("router_id")?;
    let key = public_key_hex.trim().to_lowercase();
    sqlx::query("UPDATE enrollment_codes SET used_at = $1, public_key_hex = $2 WHERE id = $3")
        .bind(now)
        .bind(&key)
        .bind(&code_id)
        .execute(&mut *tx)
        .await?;
    // A new key is a new device, which starts its seq at 1: forget the old device's high-water
    // mark and window. The same key (a re-enrollment, even after a revocation) keeps them, so
    // every message that key signed before is still a duplicate if replayed.
    let seq_key: String = sqlx::query_scalar("SELECT seq_key_hex FROM routers WHERE id = $1")
        .bind(&router_id)
        .fetch_one(&mut *tx)
        .await?;
    let same_key = seq_key == key;
    sqlx::query(
        "UPDATE routers SET public_key_hex = $1, mqtt_password_hash = $2, enrolled_at = $3,
           revoked_at = NULL, catalog_version = NULL, online = 0, seq_key_hex = $1,
           last_seq = CASE WHEN $4 = 1 THEN last_seq ELSE 0 END,
           up_floor = CASE WHEN $4 = 1 THEN up_floor ELSE 0 END
         WHERE id = $5",
    )
    .bind(&key)
    .bind(mqtt_password_hash(mqtt_password))
    .bind(now)
    .bind(same_key as i64)
    .bind(&router_id)
    .execute(&mut *tx)
    .await?;
    if !same_key {
        sqlx::query("DELETE FROM up_seen WHERE router_id = $1")
            .bind(&router_id)
            .execute(&mut *tx)
            .await?;
        // Its seqs start again too, so its first usage report is the latest.
        sqlx::query("UPDATE tokens SET usage_seq = NULL WHERE router_id = $1")
            .bind(&router_id)
            .execute(&mut *tx)
            .await?;
    }
    let router_row = sqlx::query("SELECT * FROM routers WHERE id = $1")
        .bind(&router_id)
        .fetch_one(&mut *tx)
        .await?;
    let router = super::rows::router_from_row(&router_row)?;
    // Even the same key may come back with an empty store (a reinstall that kept its key);
    // windows it already tracks are kept as they are.
    let windows = queue_validity_windows(&mut tx, &router, now).await?;
    let entry = AuditEntry {
        actor: router.agent_id.clone(),
        action: "router.enrolled".into(),
        target: router.id.to_string(),
        detail: serde_json::json!({
            "agent_id": router.agent_id,
            "public_key_hex": key,
            "agent_version": agent_version,
            "validity_windows": windows,
        }),
    };
    super::chain::append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(Redeemed::Enrolled(router))
}

/// A new device starts with an empty store: send it the validity windows of every voucher on
/// its router that still has one to enforce, so a voucher sold before the swap still ends on
/// time. Returns how many windows were queued.
async fn queue_validity_windows(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    now: i64,
) -> StoreResult<usize> {
    let rows = sqlx::query(
        "SELECT t.id, t.code, t.first_login_at, p.validity_s
         FROM tokens t JOIN packages p ON p.id = t.package_id
         WHERE t.router_id = $1 AND p.validity_s IS NOT NULL
           AND t.state IN ('issued', 'applied', 'in_use', 'used_up', 'disabled')
         ORDER BY t.created_at, t.id",
    )
    .bind(router.id.to_string())
    .fetch_all(&mut *tx)
    .await?;
    let mut windows = Vec::with_capacity(rows.len());
    for r in &rows {
        let validity_s: i64 = r.try_get("validity_s")?;
        windows.push(mtm_common::ValidityWindow {
            token_id: super::rows::uuid_col(r, "id")?,
            code: r.try_get("code")?,
            validity_s: u64::try_from(validity_s)
                .map_err(|_| StoreError::Corrupt(format!("validity_s {validity_s}")))?,
            first_login_at: r.try_get("first_login_at")?,
        });
    }
    let rid = router.id.to_string();
    for (i, chunk) in windows
        .chunks(mtm_common::MAX_TOKENS_PER_COMMAND)
        .enumerate()
    {
        let kind = mtm_common::CommandKind::TrackValidity(mtm_common::TrackValidity {
            windows: chunk.to_vec(),
        });
        // Only the first supersedes: windows queued for an earlier device are replaced, the
        // later chunks of this one are not.
        super::entities::insert_command(tx, &rid, &router.agent_id, kind, i == 0, now).await?;
    }
    Ok(windows.len())
}

pub(super) async fn revoke(
    s: &super::SqlStore,
    router_id: Uuid,
    actor: &str,
    now: i64,
) -> StoreResult<Router> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let old_key: Option<String> = sqlx::query_scalar(&format!(
        "SELECT public_key_hex FROM routers WHERE id = $1{}",
        s.dialect.for_update()
    ))
    .bind(router_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let old_key = old_key.ok_or_else(|| StoreError::NotFound(format!("router {router_id}")))?;
    // '' verifies no signature and matches no password hash.
    sqlx::query(
        "UPDATE routers SET public_key_hex = '', mqtt_password_hash = '', revoked_at = $1, online = 0
         WHERE id = $2",
    )
    .bind(now)
    .bind(router_id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE enrollment_codes SET replaced_at = $1
         WHERE router_id = $2 AND used_at IS NULL AND replaced_at IS NULL",
    )
    .bind(now)
    .bind(router_id.to_string())
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query("SELECT * FROM routers WHERE id = $1")
        .bind(router_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    let router = super::rows::router_from_row(&row)?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "router.revoke".into(),
        target: router_id.to_string(),
        detail: serde_json::json!({ "agent_id": router.agent_id, "revoked_public_key_hex": old_key }),
    };
    super::chain::append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(router)
}

pub(super) async fn state(
    s: &super::SqlStore,
    router_id: Uuid,
) -> StoreResult<Option<EnrollmentState>> {
    let row = sqlx::query(
        "SELECT r.enrolled_at, r.revoked_at,
           (SELECT MAX(expires_at) FROM enrollment_codes c
             WHERE c.router_id = r.id AND c.used_at IS NULL AND c.replaced_at IS NULL) AS code_expires_at
         FROM routers r WHERE r.id = $1",
    )
    .bind(router_id.to_string())
    .fetch_optional(&s.pool)
    .await?;
    row.map(|r| {
        Ok(EnrollmentState {
            enrolled_at: r.try_get("enrolled_at")?,
            revoked_at: r.try_get("revoked_at")?,
            open_code_expires_at: r.try_get("code_expires_at")?,
        })
    })
    .transpose()
}
