//! Applying verified agent messages: one transaction per batch (of one agent, or of all the
//! agents an ingest batch carries), duplicates skipped by seq exactly (see `store::applied`: no
//! window, so a message however late is applied once).

use super::chain::append_ledger;
use super::deferred::Deferred;
use super::locked_routers::{lock_routers, LockedRouter};
use super::rows::*;
use super::token_usage::{apply_token_usage, named_tokens};
use crate::store::applied::AppliedSet;
use crate::store::*;
use mtm_common::UpMessage;
use serde_json::json;
use sqlx::Row;
use std::collections::BTreeMap;

pub(super) async fn apply_up(
    s: &super::SqlStore,
    agent_id: &str,
    signed_by: Option<&str>,
    items: &[UpItem],
    now: i64,
) -> StoreResult<ApplyOutcome> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let mut deferred = Deferred::new(s.dialect);
    let locked = lock_routers(&mut tx, s.dialect, &[agent_id]).await?;
    let router = locked.into_values().next();
    let out = apply_agent(
        &mut tx,
        &mut deferred,
        router,
        agent_id,
        signed_by,
        items,
        now,
    )
    .await?;
    deferred.write(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Several agents' batches in one transaction: on PostgreSQL a commit waits for its WAL flush,
/// so one per agent made a batch of 256 reports wait for 256 flushes. Router rows are locked in
/// the order given (the ingest sorts by agent), so two replicas never wait on each other in a
/// cycle. Usage rows, voucher counters, check evidence and router progress are written for
/// all of them at the end ([`Deferred`]).
///
/// On PostgreSQL it does not wait for the process's writer: the router row locks and chain
/// locks that let replicas apply side by side serialise it against every other writer, so the
/// ingest may run several at once (`IngestStore::ingest_writers`).
pub(super) async fn apply_up_many(
    s: &super::SqlStore,
    batches: &[SignedBatch<'_>],
    now: i64,
) -> StoreResult<Vec<StoreResult<ApplyOutcome>>> {
    let _w = s.sqlite_writer().await;
    let mut tx = s.begin_write().await?;
    let mut deferred = Deferred::new(s.dialect);
    let agents: Vec<&str> = batches.iter().map(|b| b.agent_id).collect();
    let mut locked = lock_routers(&mut tx, s.dialect, &agents).await?;
    let mut outcomes = Vec::with_capacity(batches.len());
    for b in batches {
        let router = if deferred.agent_again(&mut tx, b.agent_id).await? {
            // Its first share moved the router on: read it as it is now.
            lock_routers(&mut tx, s.dialect, &[b.agent_id])
                .await?
                .remove(b.agent_id)
        } else {
            locked.remove(b.agent_id)
        };
        let applied = apply_agent(
            &mut tx,
            &mut deferred,
            router,
            b.agent_id,
            Some(b.signed_by),
            b.items,
            now,
        );
        match applied.await {
            // Refused before it wrote anything, so the others' work stands.
            Err(StoreError::KeyReplaced) => outcomes.push(Err(StoreError::KeyReplaced)),
            Err(e) => return Err(e),
            Ok(o) => outcomes.push(Ok(o)),
        }
    }
    deferred.write(&mut tx).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// One agent's messages inside the caller's write transaction, its router locked by the caller
/// (`None`: no router has this agent); some of their writes are held in `deferred` for the
/// caller to write out.
async fn apply_agent<'a>(
    tx: &mut sqlx::AnyConnection,
    deferred: &mut Deferred<'a>,
    locked: Option<LockedRouter>,
    agent_id: &str,
    signed_by: Option<&str>,
    items: &'a [UpItem],
    now: i64,
) -> StoreResult<ApplyOutcome> {
    // On PostgreSQL a row lock keeps two replicas from applying one agent's messages at once.
    let LockedRouter {
        router,
        floor,
        ranges,
    } = locked.ok_or_else(|| StoreError::NotFound(format!("agent {agent_id}")))?;
    // Verified before a re-enrollment with a new key committed: the old device's seqs would
    // mark the new device's own as duplicates, and its usage would outrank the new reports.
    if signed_by.is_some_and(|k| k != router.public_key_hex) {
        return Err(StoreError::KeyReplaced);
    }
    let rid = router.id.to_string();
    let mut applied = AppliedSet::new(floor.max(0) as u64, ranges);
    let ranges_before = applied.ranges().to_vec();
    let mut sorted: Vec<&UpItem> = items.iter().collect();
    sorted.sort_by_key(|i| i.seq);
    let mut out = ApplyOutcome {
        last_seq: router.last_seq,
        ..Default::default()
    };
    for item in sorted {
        if applied.contains(item.seq) {
            out.duplicates += 1;
            continue;
        }
        deferred.before_item(&mut *tx, &item.message).await?;
        let before = match &item.message {
            UpMessage::Usage(report) => {
                Some(apply_usage(tx, deferred, &router, item, &report.entries).await?)
            }
            _ => {
                apply_one(&mut *tx, &router, item).await?;
                None
            }
        };
        // The evidence its alert checks need, in the same transaction, so a crash before
        // they run loses nothing (`checks::run_pending`).
        if let Some(evidence) = super::pending_checks::evidence(item, before) {
            let json = super::pending_checks::stored_json(&evidence)?;
            deferred.check(&rid, db_int(item.seq), item.at, json, now);
            out.checks.push(PendingCheck {
                agent_id: router.agent_id.clone(),
                router_id: router.id,
                seq: item.seq,
                at: item.at,
                evidence,
            });
        }
        applied.insert(item.seq);
        if let UpMessage::Health(h) = &item.message {
            // Below its lowest outbox seq the agent will send nothing more: gaps it left by
            // merging unsent reports are settled, so the floor can pass them.
            if h.outbox_low_seq > 0 && h.outbox_low_seq <= item.seq {
                applied.settle_below(h.outbox_low_seq);
            }
        }
        out.last_seq = out.last_seq.max(item.seq);
        out.applied += 1;
        out.saw_hello |= matches!(item.message, UpMessage::Hello(_));
    }
    if out.applied > 0 {
        // Usually no gap opened or closed: the ranges stay as stored and are not rewritten.
        if applied.ranges() != ranges_before.as_slice() {
            store_applied_set(&mut *tx, &rid, &applied).await?;
        }
        deferred.progress(&rid, db_int(out.last_seq), db_int(applied.floor()), now);
    }
    Ok(out)
}

/// Write the ranges above the floor back (few: one per gap that has not filled).
async fn store_applied_set(
    tx: &mut sqlx::AnyConnection,
    router_id: &str,
    applied: &AppliedSet,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM up_seen WHERE router_id = $1")
        .bind(router_id)
        .execute(&mut *tx)
        .await?;
    for &(lo, hi) in applied.ranges() {
        sqlx::query("INSERT INTO up_seen (router_id, seq, hi) VALUES ($1, $2, $3)")
            .bind(router_id)
            .bind(lo as i64)
            .bind(hi as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Apply a message other than a usage report ([`apply_usage`]).
async fn apply_one(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    item: &UpItem,
) -> StoreResult<()> {
    let rid = router.id.to_string();
    let actor = router.agent_id.as_str();
    match &item.message {
        UpMessage::Hello(h) => {
            sqlx::query(
                "UPDATE routers SET agent_version = $1, catalog_version = $2 WHERE id = $3",
            )
            .bind(&h.agent_version)
            .bind(h.catalog_version.map(|v| v as i64))
            .bind(&rid)
            .execute(&mut *tx)
            .await?;
        }
        UpMessage::Health(h) => {
            sqlx::query(
                "INSERT INTO router_health (router_id, at, router_reachable, cpu_load, free_memory,
                   total_memory, uptime_s, routeros_version, board_name, outbox_len, active_sessions)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&rid)
            .bind(item.at)
            .bind(h.router_reachable as i64)
            .bind(h.cpu_load.map(i64::from))
            .bind(h.free_memory.map(|v| v as i64))
            .bind(h.total_memory.map(|v| v as i64))
            .bind(h.uptime_s.map(|v| v as i64))
            .bind(&h.routeros_version)
            .bind(&h.board_name)
            .bind(h.outbox_len as i64)
            .bind(i64::from(h.active_sessions))
            .execute(&mut *tx)
            .await?;
        }
        // Applied by `apply_usage`, which holds some of its writes back.
        UpMessage::Usage(_) => {}
        UpMessage::Inventory(inv) => {
            let snapshot = serde_json::to_string(inv)
                .map_err(|e| StoreError::Invalid(format!("inventory: {e}")))?;
            sqlx::query(
                "INSERT INTO router_inventory (router_id, at, snapshot) VALUES ($1, $2, $3)
                 ON CONFLICT (router_id) DO UPDATE
                 SET prev_at = router_inventory.at, at = excluded.at, snapshot = excluded.snapshot",
            )
            .bind(&rid)
            .bind(item.at)
            .bind(snapshot)
            .execute(&mut *tx)
            .await?;
            expire_seen_disabled(tx, router, inv, item.at).await?;
        }
        UpMessage::TokenApplied(t) => {
            let changed = sqlx::query(
                "UPDATE tokens SET state = CASE WHEN state = 'issued' THEN 'applied' ELSE state END,
                   applied_at = $1, router_user_id = $2, updated_at = $1
                 WHERE id = $3 AND router_id = $4 AND applied_at IS NULL",
            )
            .bind(item.at)
            .bind(&t.router_user_id)
            .bind(t.token_id.to_string())
            .bind(&rid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                let detail = json!({"router_user_id": t.router_user_id, "already_present": t.already_present, "command_id": t.command_id});
                append_ledger(tx, t.token_id, "applied", &detail, actor, item.at).await?;
            }
            close_command(tx, router, t.command_id, "done", "applied", item.at).await?;
        }
        UpMessage::TokensApplied(t) => {
            super::batch::apply_tokens_applied(tx, router, t, item.at).await?;
        }
        UpMessage::CommandDone(d) => {
            close_command(tx, router, d.command_id, "done", &d.detail, item.at).await?;
            note_catalog_applied(tx, router, d.command_id).await?;
            note_after_sale_applied(tx, router, d.command_id, item.at).await?;
        }
        UpMessage::CommandFailed(f) => {
            if f.retryable {
                sqlx::query(
                    "UPDATE agent_commands SET result = $1 WHERE id = $2 AND agent_id = $3",
                )
                .bind(&f.reason)
                .bind(f.command_id.to_string())
                .bind(&router.agent_id)
                .execute(&mut *tx)
                .await?;
            } else {
                close_command(tx, router, f.command_id, "failed", &f.reason, item.at).await?;
                let token: Option<String> = sqlx::query_scalar(
                    "SELECT token_id FROM agent_commands WHERE id = $1 AND agent_id = $2",
                )
                .bind(f.command_id.to_string())
                .bind(&router.agent_id)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
                let mut tokens: Vec<Uuid> = token
                    .and_then(|t| Uuid::parse_str(&t).ok())
                    .into_iter()
                    .collect();
                // A whole batch command refused: every voucher it carried.
                tokens.extend(super::batch::command_token_ids(tx, router, f.command_id).await?);
                for tid in tokens {
                    let detail = json!({"command_id": f.command_id, "reason": f.reason});
                    append_ledger(tx, tid, "command_failed", &detail, actor, item.at).await?;
                }
            }
        }
        UpMessage::Checkpoints(c) => {
            super::chain::replace_witnessed(tx, &router.agent_id, &c.checkpoints, item.at).await?;
        }
        UpMessage::MacBound(b) => {
            // A value that is no MAC address binds nothing (the checks then expect nothing).
            let Some(mac) = mtm_common::normalize_mac(&b.mac_address) else {
                tracing::warn!(agent = %router.agent_id, token = %b.token_id,
                    "binding report without a valid MAC address ignored");
                return Ok(());
            };
            // Only the first binding of a locked token counts: the agent binds once, so a
            // second report is a repeat, and a token sold unlocked is never bound.
            let changed = sqlx::query(
                "UPDATE tokens SET bound_mac = $1, mac_bound_at = $2, updated_at = $2
                 WHERE id = $3 AND router_id = $4 AND lock_to_mac = 1 AND bound_mac IS NULL",
            )
            .bind(&mac)
            .bind(item.at)
            .bind(b.token_id.to_string())
            .bind(&rid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                let detail = json!({"mac_address": mac, "bound_at": b.bound_at});
                append_ledger(tx, b.token_id, "mac_bound", &detail, actor, item.at).await?;
            }
        }
        UpMessage::TokenExpired(e) => {
            let changed = sqlx::query(
                "UPDATE tokens SET state = 'expired', expired_at = $1, updated_at = $1
                 WHERE id = $2 AND router_id = $3 AND state NOT IN ('expired', 'removed')",
            )
            .bind(e.expired_at)
            .bind(e.token_id.to_string())
            .bind(&rid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                let detail = json!({"expired_at": e.expired_at});
                append_ledger(tx, e.token_id, "expired", &detail, actor, item.at).await?;
            }
        }
    }
    Ok(())
}

/// What a finished after-sale command changes in what the checks expect of the router: a
/// disabled token must show disabled from now on, an extended one may carry its new limits.
async fn note_after_sale_applied(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    command_id: Uuid,
    at: i64,
) -> StoreResult<()> {
    let payload: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM agent_commands WHERE id = $1 AND agent_id = $2
           AND kind IN ('disable_token', 'extend_token')",
    )
    .bind(command_id.to_string())
    .bind(&router.agent_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payload) = payload else {
        return Ok(());
    };
    match mtm_common::envelope::from_cbor(&payload) {
        Ok(mtm_common::CommandKind::DisableToken { token_id }) => {
            sqlx::query(
                "UPDATE tokens SET ended_at = $1 WHERE id = $2 AND state = 'disabled' AND ended_at IS NULL",
            )
            .bind(at)
            .bind(token_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        Ok(mtm_common::CommandKind::ExtendToken(e)) => {
            sqlx::query(
                "UPDATE tokens SET confirmed_limit_uptime_s = COALESCE($1, confirmed_limit_uptime_s),
                   confirmed_limit_bytes_total = COALESCE($2, confirmed_limit_bytes_total)
                 WHERE id = $3",
            )
            .bind(e.limit_uptime_s.map(|v| v as i64))
            .bind(e.limit_bytes_total.map(|v| v as i64))
            .bind(e.token_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// A finished `ApplyCatalog` means the router now carries that catalog version.
async fn note_catalog_applied(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    command_id: Uuid,
) -> StoreResult<()> {
    let payload: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM agent_commands WHERE id = $1 AND agent_id = $2 AND kind = 'apply_catalog'",
    )
    .bind(command_id.to_string())
    .bind(&router.agent_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payload) = payload else {
        return Ok(());
    };
    if let Ok(mtm_common::CommandKind::ApplyCatalog(cat)) =
        mtm_common::envelope::from_cbor(&payload)
    {
        sqlx::query("UPDATE routers SET catalog_version = $1 WHERE id = $2")
            .bind(cat.version as i64)
            .bind(router.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn close_command(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    id: Uuid,
    state: &str,
    result: &str,
    at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE agent_commands SET state = $1, result = $2, closed_at = $3
         WHERE id = $4 AND agent_id = $5 AND state IN ('pending', 'sent')",
    )
    .bind(state)
    .bind(result)
    .bind(at)
    .bind(id.to_string())
    .bind(&router.agent_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Apply the usage report `item`, whose entries are `entries`: its rows are held in
/// `deferred` for one multi-row INSERT with the rest of the run's, and the vouchers they name
/// read in one query, since a report carries a router's whole hotspot (one statement per row
/// was most of ingest's time). Deltas are always kept (their sum does not depend on order); a
/// token's cumulative counters only move to a report later than the one that set them, so a
/// late, older report never overwrites a newer one. Returns the usage each named voucher had
/// counted before the report, for its checks (an id no voucher has counts as no usage).
async fn apply_usage<'a>(
    tx: &mut sqlx::AnyConnection,
    deferred: &mut Deferred<'a>,
    router: &Router,
    item: &UpItem,
    entries: &'a [mtm_common::Usage],
) -> StoreResult<BTreeMap<Uuid, (u64, u64)>> {
    let rid = router.id.to_string();
    let mut named = named_tokens(tx, &rid, entries, deferred.dialect()).await?;
    let before = entries
        .iter()
        .filter_map(|u| u.token_id)
        .map(|id| {
            let (up, bytes) = named.totals.get(&id).copied().unwrap_or_default();
            let (held_up, held_bytes) = deferred.held_totals(&id);
            let up = up.saturating_add(held_up.max(0) as u64);
            (id, (up, bytes.saturating_add(held_bytes.max(0) as u64)))
        })
        .collect();
    deferred.usage(&rid, item.at, db_int(item.seq), entries);
    deferred.counters().add_deltas(entries);
    for u in entries {
        let Some(token_id) = u.token_id else {
            continue;
        };
        // Only the router that carries a token may report on it.
        let Some(token) = named.carried.get_mut(&token_id) else {
            continue;
        };
        apply_token_usage(tx, router, item.at, item.seq, u, token_id, token, deferred).await?;
    }
    Ok(before)
}

/// A counter from a signed report as the database's signed 64-bit integer. One beyond it
/// (no router counts 2^63 bytes) is held at the largest, never wrapped into a negative
/// figure; refusing it would stall every later report of the agent behind this one.
pub(super) fn db_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Vouchers whose validity window is over and that the router shows disabled have expired,
/// whether or not the agent's `TokenExpired` came: a replaced device never sends what the old
/// one had not, and holds no windows for the vouchers sold before it came. They are recorded as
/// expired (ledger `expired`, `seen` `inventory`), with no alert: the window explains the
/// disabling. The window is judged on the agent's clock, like its first use. The expiry is
/// dated when the router was seen disabled, not when the window ended: the agent disables at
/// its first poll past the end, and use in between is not use after expiry.
async fn expire_seen_disabled(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    inv: &mtm_common::Inventory,
    at: i64,
) -> StoreResult<()> {
    let disabled: std::collections::HashSet<&str> = inv
        .users
        .iter()
        .filter(|u| u.disabled)
        .map(|u| u.name.as_str())
        .collect();
    if disabled.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT t.id, t.code, t.first_login_at, p.validity_s
         FROM tokens t JOIN packages p ON p.id = t.package_id
         WHERE t.router_id = $1 AND t.state IN ('applied', 'in_use', 'used_up')
           AND p.validity_s IS NOT NULL AND t.first_login_at IS NOT NULL",
    )
    .bind(router.id.to_string())
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let code: String = r.try_get("code")?;
        if !disabled.contains(code.as_str()) {
            continue;
        }
        let first: i64 = r.try_get("first_login_at")?;
        let validity_s: i64 = r.try_get("validity_s")?;
        let end = first.saturating_add(validity_s.saturating_mul(1000));
        if end > at {
            continue;
        }
        let id = uuid_col(&r, "id")?;
        let changed = sqlx::query(
            "UPDATE tokens SET state = 'expired', expired_at = $1, updated_at = $2
             WHERE id = $3 AND state IN ('applied', 'in_use', 'used_up')",
        )
        .bind(at)
        .bind(at)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            let detail = json!({"expired_at": at, "window_ended_at": end, "seen": "inventory"});
            append_ledger(tx, id, "expired", &detail, &router.agent_id, at).await?;
        }
    }
    Ok(())
}
