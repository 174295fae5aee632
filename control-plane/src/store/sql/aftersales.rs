//! After-sales on a sold token: one transaction records the request and, when it may go ahead,
//! changes the token, moves or refunds its revenue, appends to the ledger and audit log and
//! stores the router commands.

use super::chain::{append_audit, append_ledger};
use super::rows::*;
use crate::refusal::Refusal;
use crate::store::*;
use mtm_common::{CommandKind, CreateToken, ExtendToken};
use serde_json::json;
use sqlx::{FromRow, Row};

/// Longest reason or note kept.
const MAX_REASON: usize = 500;
/// Most time one extension may add (a year), and most data (a petabyte): typed numbers bounded.
const MAX_EXTRA_UPTIME_S: u64 = 366 * 86_400;
const MAX_EXTRA_BYTES: u64 = 1_000_000_000_000_000;

fn check_request(req: &AfterSaleRequest) -> StoreResult<()> {
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(StoreError::Refused(Refusal::new("err-as-reason")));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(StoreError::Refused(
            Refusal::new("err-as-reason-long").arg("max", MAX_REASON),
        ));
    }
    // Negative refunds are refused here too (the bounds start at 0).
    crate::bounds::money("col-refund", req.refund_minor).map_err(StoreError::Refused)?;
    if req.refund_minor > 0 && req.kind != AfterSaleKind::Void {
        return Err(StoreError::Refused(Refusal::new("err-as-refund-only-void")));
    }
    if req.extra_uptime_s > MAX_EXTRA_UPTIME_S || req.extra_bytes_total > MAX_EXTRA_BYTES {
        return Err(StoreError::Refused(Refusal::new(
            "err-as-extension-too-large",
        )));
    }
    if req.kind == AfterSaleKind::Extend && req.extra_uptime_s == 0 && req.extra_bytes_total == 0 {
        return Err(StoreError::Refused(Refusal::new("err-as-extend-nothing")));
    }
    if req.kind == AfterSaleKind::Replace && req.replacement.is_none() {
        return Err(StoreError::Refused(Refusal::new("err-as-replace-code")));
    }
    Ok(())
}

pub(super) async fn after_sale(
    s: &super::SqlStore,
    req: AfterSaleRequest,
) -> StoreResult<AfterSaleOutcome> {
    check_request(&req)?;
    let now = now_ms();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let token = load_token(&mut tx, req.token_id).await?;
    allowed(req.kind, token.state)?;
    if req.refund_minor > token.price_minor {
        return Err(StoreError::Refused(Refusal::new(
            "err-as-refund-above-price",
        )));
    }
    let threshold: Option<i64> = sqlx::query_scalar(
        "SELECT refund_approval_minor FROM location_settings WHERE location_id = $1",
    )
    .bind(token.location_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let needs_approval = req.refund_minor > threshold.unwrap_or(0) && !req.approver;
    let state = if needs_approval {
        AfterSaleState::Requested
    } else {
        AfterSaleState::Done
    };
    let shift_id = if needs_approval {
        None
    } else {
        refund_shift(&mut tx, &token, req.actor_id).await?
    };
    sqlx::query(
        "INSERT INTO token_aftersales (id, token_id, location_id, kind, reason, state, refund_minor,
           currency, shift_id, extra_uptime_s, extra_bytes_total, requested_by, requested_by_name,
           created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(req.id.to_string())
    .bind(token.id.to_string())
    .bind(token.location_id.to_string())
    .bind(req.kind.as_str())
    .bind(req.reason.trim())
    .bind(state.as_str())
    .bind(req.refund_minor)
    .bind(&token.currency)
    .bind(shift_id.map(|s| s.to_string()))
    .bind(req.extra_uptime_s as i64)
    .bind(req.extra_bytes_total as i64)
    .bind(req.actor_id.to_string())
    .bind(&req.actor_name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let commands = if needs_approval {
        let audit = AuditEntry {
            actor: req.actor_name.clone(),
            action: "token.refund_requested".into(),
            target: token.id.to_string(),
            detail: json!({"after_sale": req.id, "kind": req.kind, "refund_minor": req.refund_minor,
                "currency": token.currency, "reason": req.reason.trim()}),
        };
        append_audit(&mut tx, &audit, now).await?;
        Vec::new()
    } else {
        carry_out(&mut tx, &token, &req, shift_id, &req.actor_name, now).await?
    };
    tx.commit().await?;
    let sale = load(s, req.id).await?;
    Ok(AfterSaleOutcome { sale, commands })
}

pub(super) async fn decide(
    s: &super::SqlStore,
    d: AfterSaleDecision,
) -> StoreResult<AfterSaleOutcome> {
    if d.note.chars().count() > MAX_REASON {
        return Err(StoreError::Refused(
            Refusal::new("err-as-note-long").arg("max", MAX_REASON),
        ));
    }
    let now = now_ms();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let sale = load_in(&mut tx, d.id).await?;
    if sale.state != AfterSaleState::Requested {
        return Err(StoreError::RefusedConflict(Refusal::new("err-as-decided")));
    }
    let next = if d.approve {
        AfterSaleState::Done
    } else {
        AfterSaleState::Rejected
    };
    let mut commands = Vec::new();
    let mut shift_id = None;
    if d.approve {
        let token = load_token(&mut tx, sale.token_id).await?;
        allowed(sale.kind, token.state)?;
        // The till that pays is the one of whoever asked, if still open.
        shift_id = refund_shift(&mut tx, &token, sale.requested_by).await?;
        let req = AfterSaleRequest {
            id: sale.id,
            token_id: sale.token_id,
            kind: sale.kind,
            reason: sale.reason.clone(),
            refund_minor: sale.refund_minor,
            extra_uptime_s: sale.extra_uptime_s,
            extra_bytes_total: sale.extra_bytes_total,
            actor_id: sale.requested_by,
            actor_name: sale.requested_by_name.clone(),
            approver: true,
            replacement: None,
        };
        commands = carry_out(&mut tx, &token, &req, shift_id, &d.actor_name, now).await?;
    } else {
        let audit = AuditEntry {
            actor: d.actor_name.clone(),
            action: "token.refund_rejected".into(),
            target: sale.token_id.to_string(),
            detail: json!({"after_sale": sale.id, "note": d.note}),
        };
        append_audit(&mut tx, &audit, now).await?;
    }
    sqlx::query(
        "UPDATE token_aftersales SET state = $1, decided_by_name = $2, decision_note = $3,
           decided_at = $4, shift_id = $5 WHERE id = $6",
    )
    .bind(next.as_str())
    .bind(&d.actor_name)
    .bind(d.note.trim())
    .bind(now)
    .bind(shift_id.map(|s| s.to_string()))
    .bind(d.id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let sale = load(s, d.id).await?;
    Ok(AfterSaleOutcome { sale, commands })
}

/// Which token states each after-sale applies to.
fn allowed(kind: AfterSaleKind, state: TokenState) -> StoreResult<()> {
    use TokenState as T;
    let ok = match kind {
        AfterSaleKind::Void | AfterSaleKind::Replace => state != T::Removed,
        AfterSaleKind::Extend => {
            matches!(state, T::Issued | T::Applied | T::InUse | T::UsedUp)
        }
        AfterSaleKind::Reprint => matches!(state, T::Issued | T::Applied | T::InUse),
        AfterSaleKind::Disable => {
            matches!(state, T::Issued | T::Applied | T::InUse | T::UsedUp)
        }
        AfterSaleKind::Enable => state == T::Disabled,
    };
    if ok {
        Ok(())
    } else {
        // The state is written as the pages write it; the kind picks the verb.
        let state_key = match state {
            T::Issued => "state-issued",
            T::Applied => "state-applied",
            T::InUse => "state-in_use",
            T::UsedUp => "state-used_up",
            T::Expired => "state-expired",
            T::Disabled => "state-disabled",
            T::Removed => "state-removed",
        };
        Err(StoreError::RefusedConflict(
            Refusal::new("err-as-not-allowed")
                .arg("kind", kind.as_str())
                .arg_message("state", Refusal::new(state_key)),
        ))
    }
}

async fn load_token(tx: &mut sqlx::AnyConnection, id: Uuid) -> StoreResult<Token> {
    let row = sqlx::query(&format!(
        "{TOKEN_SELECT} WHERE t.id = $1{}",
        super::Dialect::of(tx).for_update()
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound("token".into()))?;
    token_from_row(&row)
}

/// The open shift at the token's location of the person handing cash back, else the token's
/// own shift while it is open, else none (a refund outside any till).
async fn refund_shift(
    tx: &mut sqlx::AnyConnection,
    token: &Token,
    person: Uuid,
) -> StoreResult<Option<Uuid>> {
    // Held to commit, as a sale holds its shift: the refund is in the shift's close or finds
    // it closed.
    let share = super::Dialect::of(tx).for_share();
    let own: Option<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM shifts WHERE staff_id = $1 AND location_id = $2 AND closed_at IS NULL{share}"
    ))
    .bind(person.to_string())
    .bind(token.location_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let sold_in: Option<String> = match token.shift_id {
        Some(sid) => {
            sqlx::query_scalar(&format!(
                "SELECT id FROM shifts WHERE id = $1 AND closed_at IS NULL{share}"
            ))
            .bind(sid.to_string())
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    Ok(own.or(sold_in).and_then(|s| Uuid::parse_str(&s).ok()))
}

async fn router_of(tx: &mut sqlx::AnyConnection, router_id: Uuid) -> StoreResult<Router> {
    let row = sqlx::query("SELECT * FROM routers WHERE id = $1")
        .bind(router_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("router".into()))?;
    router_from_row(&row)
}

async fn queue(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    kind: CommandKind,
    token_id: Uuid,
    now: i64,
) -> StoreResult<StoredCommand> {
    let id = Uuid::new_v4();
    let payload = mtm_common::envelope::to_cbor(&kind)
        .map_err(|e| StoreError::Invalid(format!("encode command: {e}")))?;
    sqlx::query(
        "INSERT INTO agent_commands (id, router_id, agent_id, kind, payload, token_id, state, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
    )
    .bind(id.to_string())
    .bind(router.id.to_string())
    .bind(&router.agent_id)
    .bind(command_kind_name(&kind))
    .bind(payload)
    .bind(token_id.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(StoredCommand {
        id,
        agent_id: router.agent_id.clone(),
        issued_at: now,
        kind,
        state: "pending".into(),
        attempts: 0,
    })
}

async fn revenue(
    tx: &mut sqlx::AnyConnection,
    token: &Token,
    token_id: Uuid,
    shift_id: Option<Uuid>,
    staff_id: Uuid,
    amount: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO revenue_records (id, token_id, shift_id, staff_id, location_id, expected_minor, currency, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(token_id.to_string())
    .bind(shift_id.map(|s| s.to_string()))
    .bind(staff_id.to_string())
    .bind(token.location_id.to_string())
    .bind(amount)
    .bind(&token.currency)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn set_state(
    tx: &mut sqlx::AnyConnection,
    id: Uuid,
    state: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE tokens SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(state)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Do what `req` asks to `token`: returns the commands stored for its router.
async fn carry_out(
    tx: &mut sqlx::AnyConnection,
    token: &Token,
    req: &AfterSaleRequest,
    shift_id: Option<Uuid>,
    approved_by: &str,
    now: i64,
) -> StoreResult<Vec<StoredCommand>> {
    let router = router_of(tx, token.router_id).await?;
    let reason = req.reason.trim();
    let mut detail = json!({"after_sale": req.id, "reason": reason});
    if approved_by != req.actor_name {
        detail["approved_by"] = json!(approved_by);
    }
    let mut commands = Vec::new();
    let event = match req.kind {
        AfterSaleKind::Void => {
            set_state(tx, token.id, "removed", now).await?;
            sqlx::query("UPDATE tokens SET ended_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id.to_string())
                .execute(&mut *tx)
                .await?;
            if req.refund_minor > 0 {
                revenue(
                    tx,
                    token,
                    token.id,
                    shift_id,
                    req.actor_id,
                    -req.refund_minor,
                    now,
                )
                .await?;
            }
            detail["refund_minor"] = json!(req.refund_minor);
            detail["currency"] = json!(token.currency);
            detail["refund_shift_id"] = json!(shift_id);
            let kind = CommandKind::RemoveToken { token_id: token.id };
            commands.push(queue(tx, &router, kind, token.id, now).await?);
            "voided"
        }
        AfterSaleKind::Replace => {
            let new = replace(tx, token, req, &router, now).await?;
            commands.push(new.0);
            commands.push(new.1);
            detail["new_token_id"] = json!(new.2);
            sqlx::query("UPDATE token_aftersales SET new_token_id = $1 WHERE id = $2")
                .bind(new.2.to_string())
                .bind(req.id.to_string())
                .execute(&mut *tx)
                .await?;
            "replaced"
        }
        AfterSaleKind::Extend => {
            let pkg =
                sqlx::query("SELECT limit_uptime_s, limit_bytes_total FROM packages WHERE id = $1")
                    .bind(token.package_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            let base_up: Option<i64> = pkg.try_get("limit_uptime_s")?;
            let base_bytes: Option<i64> = pkg.try_get("limit_bytes_total")?;
            let limited = |v: Option<i64>| v.filter(|&n| n > 0).map(|n| n as u64);
            if req.extra_uptime_s > 0 && limited(base_up).is_none() {
                return Err(StoreError::Refused(Refusal::new("err-as-no-time-limit")));
            }
            if req.extra_bytes_total > 0 && limited(base_bytes).is_none() {
                return Err(StoreError::Refused(Refusal::new("err-as-no-data-limit")));
            }
            let extra_up = token.extra_uptime_s.saturating_add(req.extra_uptime_s);
            let extra_bytes = token
                .extra_bytes_total
                .saturating_add(req.extra_bytes_total);
            let new_up = limited(base_up).map(|b| b.saturating_add(extra_up));
            let new_bytes = limited(base_bytes).map(|b| b.saturating_add(extra_bytes));
            // A used-up voucher with more to use is in use again.
            let state = match token.state {
                TokenState::UsedUp => "in_use",
                s => s.as_str(),
            };
            // Until the router confirms, it still carries the limits it had.
            let old_up = limited(base_up).map(|b| b.saturating_add(token.extra_uptime_s) as i64);
            let old_bytes =
                limited(base_bytes).map(|b| b.saturating_add(token.extra_bytes_total) as i64);
            sqlx::query(
                "UPDATE tokens SET extra_uptime_s = $1, extra_bytes_total = $2, state = $3,
                   updated_at = $4,
                   confirmed_limit_uptime_s = COALESCE(confirmed_limit_uptime_s, $6),
                   confirmed_limit_bytes_total = COALESCE(confirmed_limit_bytes_total, $7)
                 WHERE id = $5",
            )
            .bind(extra_up as i64)
            .bind(extra_bytes as i64)
            .bind(state)
            .bind(now)
            .bind(token.id.to_string())
            .bind(old_up)
            .bind(old_bytes)
            .execute(&mut *tx)
            .await?;
            detail["extra_uptime_s"] = json!(req.extra_uptime_s);
            detail["extra_bytes_total"] = json!(req.extra_bytes_total);
            detail["limit_uptime_s"] = json!(new_up);
            detail["limit_bytes_total"] = json!(new_bytes);
            let kind = CommandKind::ExtendToken(ExtendToken {
                token_id: token.id,
                limit_uptime_s: new_up.filter(|_| req.extra_uptime_s > 0),
                limit_bytes_total: new_bytes.filter(|_| req.extra_bytes_total > 0),
            });
            commands.push(queue(tx, &router, kind, token.id, now).await?);
            "extended"
        }
        AfterSaleKind::Reprint => {
            sqlx::query("UPDATE tokens SET reprints = reprints + 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id.to_string())
                .execute(&mut *tx)
                .await?;
            detail["reprint"] = json!(token.reprints.saturating_add(1));
            "reprinted"
        }
        AfterSaleKind::Disable => {
            set_state(tx, token.id, "disabled", now).await?;
            // Until the router confirms, the checks do not yet expect it disabled there.
            sqlx::query("UPDATE tokens SET ended_at = NULL WHERE id = $1")
                .bind(token.id.to_string())
                .execute(&mut *tx)
                .await?;
            let kind = CommandKind::DisableToken { token_id: token.id };
            commands.push(queue(tx, &router, kind, token.id, now).await?);
            "disabled"
        }
        AfterSaleKind::Enable => {
            let back = if token.first_login_at.is_some() {
                "in_use"
            } else if token.applied_at.is_some() {
                "applied"
            } else {
                "issued"
            };
            set_state(tx, token.id, back, now).await?;
            sqlx::query("UPDATE tokens SET ended_at = NULL WHERE id = $1")
                .bind(token.id.to_string())
                .execute(&mut *tx)
                .await?;
            let kind = CommandKind::EnableToken { token_id: token.id };
            commands.push(queue(tx, &router, kind, token.id, now).await?);
            "enabled"
        }
    };
    append_ledger(tx, token.id, event, &detail, &req.actor_name, now).await?;
    let audit = AuditEntry {
        actor: approved_by.to_string(),
        action: format!("token.{}", req.kind.as_str()),
        target: token.id.to_string(),
        detail,
    };
    append_audit(tx, &audit, now).await?;
    Ok(commands)
}

/// Void `old` and make its replacement: same package, price, shift and seller, on the same
/// router; the sale's revenue moves from the old token to the new one.
async fn replace(
    tx: &mut sqlx::AnyConnection,
    old: &Token,
    req: &AfterSaleRequest,
    router: &Router,
    now: i64,
) -> StoreResult<(StoredCommand, StoredCommand, Uuid)> {
    let new = req
        .replacement
        .as_ref()
        .ok_or_else(|| StoreError::Refused(Refusal::new("err-as-replace-code")))?;
    if router.public_key_hex.is_empty() {
        return Err(StoreError::Refused(Refusal::new(
            "err-as-router-not-enrolled",
        )));
    }
    let pkg = sqlx::query("SELECT * FROM packages WHERE id = $1")
        .bind(old.package_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    let pkg = package_from_row(&pkg)?;
    let password = if pkg.uses_password {
        new.password.clone()
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO tokens (id, code, password, package_id, staff_id, location_id, router_id, shift_id,
           price_minor, currency, state, created_at, updated_at, replaces, lock_to_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'issued', $11, $11, $12, $13)",
    )
    .bind(new.id.to_string())
    .bind(&new.code)
    .bind(&password)
    .bind(pkg.id.to_string())
    .bind(old.staff_id.to_string())
    .bind(old.location_id.to_string())
    .bind(router.id.to_string())
    .bind(old.shift_id.map(|s| s.to_string()))
    .bind(old.price_minor)
    .bind(&old.currency)
    .bind(now)
    .bind(old.id.to_string())
    .bind(pkg.lock_to_mac as i64)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("token code already used".into())
        }
        _ => StoreError::Db(e),
    })?;
    set_state(tx, old.id, "removed", now).await?;
    sqlx::query("UPDATE tokens SET ended_at = $1 WHERE id = $2")
        .bind(now)
        .bind(old.id.to_string())
        .execute(&mut *tx)
        .await?;
    // The sale moves: out of the old token, into the new one, in the shift that sold it.
    revenue(
        tx,
        old,
        old.id,
        old.shift_id,
        old.staff_id,
        -old.price_minor,
        now,
    )
    .await?;
    revenue(
        tx,
        old,
        new.id,
        old.shift_id,
        old.staff_id,
        old.price_minor,
        now,
    )
    .await?;
    let issued = json!({
        "code": new.code, "package": pkg.slug, "price_minor": old.price_minor,
        "currency": old.currency, "location_id": old.location_id, "router_id": router.id,
        "shift_id": old.shift_id, "staff_id": old.staff_id, "replaces": old.id,
        "password_sha256": password.as_deref().map(mqtt_password_hash),
    });
    append_ledger(tx, new.id, "issued", &issued, &req.actor_name, now).await?;
    let remove = queue(
        tx,
        router,
        CommandKind::RemoveToken { token_id: old.id },
        old.id,
        now,
    )
    .await?;
    let create = CommandKind::CreateToken(CreateToken {
        token_id: new.id,
        code: new.code.clone(),
        password,
        package_slug: pkg.slug.clone(),
        limit_uptime_s: pkg.limit_uptime_s,
        limit_bytes_total: pkg.limit_bytes_total,
        validity_s: pkg.validity_s,
        profile: Some(Box::new(pkg.spec())),
        lock_to_mac: pkg.lock_to_mac,
    });
    let create = queue(tx, router, create, new.id, now).await?;
    Ok((remove, create, new.id))
}

const SELECT: &str =
    "SELECT a.*, t.code FROM token_aftersales a JOIN tokens t ON t.id = a.token_id";

/// A `token_aftersales` row as stored, with its voucher's code ([`SELECT`]).
#[derive(sqlx::FromRow)]
struct AfterSaleRow {
    id: String,
    token_id: String,
    code: String,
    location_id: String,
    kind: String,
    reason: String,
    state: String,
    refund_minor: i64,
    currency: String,
    shift_id: Option<String>,
    extra_uptime_s: i64,
    extra_bytes_total: i64,
    new_token_id: Option<String>,
    requested_by: String,
    requested_by_name: String,
    decided_by_name: Option<String>,
    decision_note: Option<String>,
    created_at: i64,
    decided_at: Option<i64>,
}

impl TryFrom<AfterSaleRow> for AfterSale {
    type Error = StoreError;

    fn try_from(r: AfterSaleRow) -> StoreResult<AfterSale> {
        Ok(AfterSale {
            id: id("after-sale id", r.id)?,
            token_id: id("after-sale token_id", r.token_id)?,
            code: r.code,
            location_id: id("after-sale location_id", r.location_id)?,
            kind: named("after-sale kind", &r.kind, AfterSaleKind::parse)?,
            reason: r.reason,
            state: named("after-sale state", &r.state, AfterSaleState::parse)?,
            refund_minor: r.refund_minor,
            currency: r.currency,
            shift_id: opt_id("after-sale shift_id", r.shift_id)?,
            extra_uptime_s: stored_u64("extra_uptime_s", r.extra_uptime_s)?,
            extra_bytes_total: stored_u64("extra_bytes_total", r.extra_bytes_total)?,
            new_token_id: opt_id("after-sale new_token_id", r.new_token_id)?,
            requested_by: id("after-sale requested_by", r.requested_by)?,
            requested_by_name: r.requested_by_name,
            decided_by_name: r.decided_by_name,
            decision_note: r.decision_note,
            created_at: r.created_at,
            decided_at: r.decided_at,
        })
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<AfterSale> {
    AfterSaleRow::from_row(r)?.try_into()
}

async fn load_in(tx: &mut sqlx::AnyConnection, id: Uuid) -> StoreResult<AfterSale> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("after-sale".into()))?;
    from_row(&row)
}

async fn load(s: &super::SqlStore, id: Uuid) -> StoreResult<AfterSale> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("after-sale".into()))?;
    from_row(&row)
}

pub(super) async fn list(s: &super::SqlStore, f: &AfterSaleFilter) -> StoreResult<Vec<AfterSale>> {
    let mut conds: Vec<String> = Vec::new();
    let mut texts: Vec<(usize, String)> = Vec::new();
    let mut ints: Vec<(usize, i64)> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if let Some(l) = f.location_id {
        let i = next();
        conds.push(format!("a.location_id = ${i}"));
        texts.push((i, l.to_string()));
    }
    if let Some(t) = f.token_id {
        let i = next();
        conds.push(format!("a.token_id = ${i}"));
        texts.push((i, t.to_string()));
    }
    if let Some(st) = f.state {
        let i = next();
        conds.push(format!("a.state = ${i}"));
        texts.push((i, st.as_str().into()));
    }
    if let Some(from) = f.from {
        let i = next();
        conds.push(format!("a.created_at >= ${i}"));
        ints.push((i, from));
    }
    if let Some(to) = f.to {
        let i = next();
        conds.push(format!("a.created_at < ${i}"));
        ints.push((i, to));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    let offset = f.offset.unwrap_or(0);
    let sql =
        format!("{SELECT}{filter} ORDER BY a.created_at DESC, a.id LIMIT {limit} OFFSET {offset}");
    // Binds go in placeholder order.
    let mut all: Vec<(usize, Result<String, i64>)> = texts
        .into_iter()
        .map(|(i, t)| (i, Ok(t)))
        .chain(ints.into_iter().map(|(i, v)| (i, Err(v))))
        .collect();
    all.sort_by_key(|(i, _)| *i);
    let mut q = sqlx::query(&sql);
    for (_, b) in all {
        q = match b {
            Ok(t) => q.bind(t),
            Err(v) => q.bind(v),
        };
    }
    let rows = q.fetch_all(&s.pool).await?;
    rows.iter().map(from_row).collect()
}
