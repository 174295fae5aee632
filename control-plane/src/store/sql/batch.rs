//! Batch dispensing: a whole batch (thousands of vouchers) stored in one transaction, each
//! voucher exactly as a single sale stores it (token, ledger entry, revenue record, audit row),
//! with the `CreateTokens` commands that carry them, at most
//! [`mtm_common::MAX_TOKENS_PER_COMMAND`] vouchers each.

use super::chain::append_ledger;
use super::rows::*;
use crate::store::*;
use mtm_common::{CommandKind, CreateTokens, MAX_TOKENS_PER_COMMAND};
use serde_json::json;
use sqlx::Row;

pub(super) async fn issue_batch(s: &super::SqlStore, req: IssueBatch) -> StoreResult<IssuedBatch> {
    let n = req.vouchers.len();
    if n == 0 || n > crate::bounds::MAX_BATCH as usize {
        return Err(StoreError::Invalid(format!(
            "a batch holds between 1 and {} vouchers",
            crate::bounds::MAX_BATCH
        )));
    }
    let now = now_ms();
    // Ordered against other writers as a single sale is (`super::tokens::issue_token`).
    let _w = s.sqlite_writer().await;
    let mut tx = s.begin_write().await?;
    let ctx = super::tokens::sale_context(&mut tx, req.staff_id, req.package_id).await?;
    let mut chains = super::tokens::SaleChains::default();
    let mut tokens = Vec::with_capacity(n);
    let mut creates = Vec::with_capacity(n);
    let spec = ctx.pkg.spec();
    for v in &req.vouchers {
        // Each voucher exactly as a single sale stores it; the batch adds its own audit row.
        let sale = super::tokens::Sale {
            id: v.id,
            code: &v.code,
            password: v.password.clone(),
            staff_id: req.staff_id,
            staff_username: &req.staff_username,
            batch_id: Some(req.batch_id),
            sale_key: None,
            now,
        };
        let token = super::tokens::record_sale(&mut tx, &ctx, sale, &mut chains).await?;
        creates.push(super::tokens::create_command(&token, &ctx.pkg));
        tokens.push(token);
    }
    let (shift, pkg, router) = (&ctx.shift, &ctx.pkg, &ctx.router);
    chains.audit(AuditEntry {
        actor: req.staff_username.clone(),
        action: "token.batch".into(),
        target: req.batch_id.to_string(),
        detail: json!({"count": n, "package": pkg.slug, "router": router.agent_id,
            "shift_id": shift.id}),
    });
    let mut commands = Vec::new();
    for chunk in creates.chunks(MAX_TOKENS_PER_COMMAND) {
        let mut tokens = chunk.to_vec();
        // The first voucher describes the package, so a router that lacks its profile (a sale
        // racing the catalog) makes it instead of waiting; once per command is enough.
        if let Some(first) = tokens.first_mut() {
            first.profile = Some(Box::new(spec.clone()));
        }
        let batch = CreateTokens { tokens };
        batch.check().map_err(StoreError::Invalid)?;
        let kind = CommandKind::CreateTokens(batch);
        let router_id = router.id.to_string();
        let cmd = super::entities::insert_command(
            &mut tx,
            &router_id,
            &router.agent_id,
            kind,
            false,
            now,
        )
        .await?;
        commands.push(cmd);
    }
    chains.append(&mut tx, now).await?;
    tx.commit().await?;
    Ok(IssuedBatch {
        batch_id: req.batch_id,
        tokens,
        commands,
    })
}

pub(super) async fn batch_progress(
    s: &super::SqlStore,
    batch_id: Uuid,
) -> StoreResult<Option<BatchProgress>> {
    let row = sqlx::query(
        "SELECT MIN(staff_id) AS staff_id, COUNT(*) AS total,
           COUNT(applied_at) AS on_router
         FROM tokens WHERE batch_id = $1",
    )
    .bind(batch_id.to_string())
    .fetch_one(&s.pool)
    .await?;
    let total: i64 = row.try_get("total")?;
    if total == 0 {
        return Ok(None);
    }
    let on_router: i64 = row.try_get("on_router")?;
    let staff: Option<String> = row.try_get("staff_id")?;
    let staff_id = staff
        .and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("batch {batch_id} without staff")))?;
    Ok(Some(BatchProgress {
        batch_id,
        staff_id,
        total: total.max(0) as u64,
        on_router: on_router.max(0) as u64,
    }))
}

pub(super) async fn batch_tokens(
    s: &super::SqlStore,
    batch_id: Uuid,
    offset: u64,
    limit: u64,
) -> StoreResult<Vec<Token>> {
    let rows = sqlx::query(&format!(
        "{TOKEN_SELECT} WHERE t.batch_id = $1 ORDER BY t.created_at, t.code LIMIT $2 OFFSET $3"
    ))
    .bind(batch_id.to_string())
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(token_from_row).collect()
}

/// Store what a `CreateTokens` came to, voucher by voucher, as `TokenApplied` stores one: each
/// voucher on the router is marked applied with its ledger entry (once, however often the
/// answer comes), each refused one gets a `command_failed` entry; then the command is closed.
pub(super) async fn apply_tokens_applied(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    t: &mtm_common::TokensApplied,
    at: i64,
) -> StoreResult<()> {
    let rid = router.id.to_string();
    let actor = router.agent_id.as_str();
    for a in &t.applied {
        let changed = sqlx::query(
            "UPDATE tokens SET state = CASE WHEN state = 'issued' THEN 'applied' ELSE state END,
               applied_at = $1, router_user_id = $2, updated_at = $1
             WHERE id = $3 AND router_id = $4 AND applied_at IS NULL",
        )
        .bind(at)
        .bind(&a.router_user_id)
        .bind(a.token_id.to_string())
        .bind(&rid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            let detail = json!({"router_user_id": a.router_user_id,
                "already_present": a.already_present, "command_id": t.command_id});
            append_ledger(tx, a.token_id, "applied", &detail, actor, at).await?;
        }
    }
    // A repeated answer finds the command closed and records no failure twice.
    let open = sqlx::query(
        "UPDATE agent_commands SET state = $1, result = $2, closed_at = $3
         WHERE id = $4 AND agent_id = $5 AND state IN ('pending', 'sent')",
    )
    .bind(if t.failed.is_empty() {
        "done"
    } else {
        "failed"
    })
    .bind(format!(
        "{} applied, {} failed",
        t.applied.len(),
        t.failed.len()
    ))
    .bind(at)
    .bind(t.command_id.to_string())
    .bind(&router.agent_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if open > 0 {
        for f in &t.failed {
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(1 AS BIGINT) FROM tokens WHERE id = $1 AND router_id = $2",
            )
            .bind(f.token_id.to_string())
            .bind(&rid)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_some() {
                let detail = json!({"command_id": t.command_id, "reason": f.reason});
                append_ledger(tx, f.token_id, "command_failed", &detail, actor, at).await?;
            }
        }
    }
    Ok(())
}

/// The vouchers of a stored `CreateTokens` command, for a failure of the whole command.
pub(super) async fn command_token_ids(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    command_id: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let payload: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM agent_commands WHERE id = $1 AND agent_id = $2 AND kind = 'create_tokens'",
    )
    .bind(command_id.to_string())
    .bind(&router.agent_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payload) = payload else {
        return Ok(Vec::new());
    };
    match mtm_common::envelope::from_cbor(&payload) {
        Ok(CommandKind::CreateTokens(b)) => Ok(b.tokens.iter().map(|t| t.token_id).collect()),
        _ => Ok(Vec::new()),
    }
}
