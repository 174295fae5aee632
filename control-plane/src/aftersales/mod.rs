//! Voucher after-sales: void (with a refund recorded against the till that pays it), replace,
//! extend, reprint, disable and enable, each with a reason, audited, and carried to the router
//! through signed commands. Refunds above a location's threshold asked by staff wait for a
//! manager. The pages (`pages.rs`) and the JSON API (`api.rs`) both call the operations here.

mod api;
pub(crate) use api::Doc;
mod pages;

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::store::{
    AfterSale, AfterSaleDecision, AfterSaleFilter, AfterSaleKind, AfterSaleOutcome,
    AfterSaleRequest, ReplacementCode, Role, StoreError, StoredCommand, Token,
};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

/// After-sales routes (pages and API).
pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}

/// What someone asks to do to a sold voucher.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Ask {
    /// What to do.
    pub kind: AfterSaleKind,
    /// Why (required).
    pub reason: String,
    /// Cash handed back, minor units (void only).
    #[serde(default)]
    pub refund_minor: i64,
    /// Seconds of connection time to add (extend).
    #[serde(default)]
    pub extra_uptime_s: u64,
    /// Bytes to add (extend).
    #[serde(default)]
    pub extra_bytes_total: u64,
}

/// A token the caller may act on: staff only the ones they sold.
pub async fn token_for(state: &AppState, cur: &CurrentUser, id: Uuid) -> AppResult<Token> {
    let token = state.store.token(id).await?.ok_or(AppError::NotFound)?;
    if cur.user.role == Role::Staff && token.staff_id != cur.user.id {
        return Err(AppError::NotFound);
    }
    Ok(token)
}

/// Record and carry out `ask` on token `id` for `cur`, and send its router commands at once.
/// A staff member's refund above the location's threshold is only recorded, as a request.
pub async fn perform(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    ask: &Ask,
) -> AppResult<AfterSaleOutcome> {
    let token = token_for(state, cur, id).await?;
    crate::freeze::refuse_frozen(state, cur.user.id).await?;
    let mut last = None;
    // A new code for a replacement may collide; a fresh one settles it.
    for _ in 0..3 {
        let replacement = (ask.kind == AfterSaleKind::Replace).then(|| ReplacementCode {
            id: Uuid::new_v4(),
            code: mtm_common::token_code::generate(state.settings.token_code_len),
            password: Some(mtm_common::token_code::generate_password(6)),
        });
        let req = AfterSaleRequest {
            id: Uuid::new_v4(),
            token_id: token.id,
            kind: ask.kind,
            reason: ask.reason.clone(),
            refund_minor: ask.refund_minor,
            extra_uptime_s: ask.extra_uptime_s,
            extra_bytes_total: ask.extra_bytes_total,
            actor_id: cur.user.id,
            actor_name: cur.user.username.clone(),
            approver: cur.user.role != Role::Staff,
            replacement,
        };
        match state.store.after_sale(req).await {
            Ok(out) => {
                send(state, &out.commands).await;
                return Ok(out);
            }
            Err(StoreError::Conflict(m)) if m.contains("code already used") => last = Some(m),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(last.unwrap_or_default()))
}

/// A manager approves (carries out) or refuses a requested refund.
pub async fn decide(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    approve: bool,
    note: &str,
) -> AppResult<AfterSaleOutcome> {
    if cur.user.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let out = state
        .store
        .decide_after_sale(AfterSaleDecision {
            id,
            approve,
            note: note.trim().to_owned(),
            actor_name: cur.user.username.clone(),
        })
        .await?;
    send(state, &out.commands).await;
    Ok(out)
}

/// After-sales the caller may see: staff only those on the vouchers they sold.
pub async fn list(
    state: &AppState,
    cur: &CurrentUser,
    filter: &AfterSaleFilter,
) -> AppResult<Vec<AfterSale>> {
    let all = state.store.list_after_sales(filter).await?;
    if cur.user.role != Role::Staff {
        return Ok(all);
    }
    let mut mine = Vec::with_capacity(all.len());
    for a in all {
        if a.requested_by == cur.user.id || token_for(state, cur, a.token_id).await.is_ok() {
            mine.push(a);
        }
    }
    Ok(mine)
}

async fn send(state: &AppState, commands: &[StoredCommand]) {
    for cmd in commands {
        if let Err(e) = state.dispatcher.send(cmd).await {
            tracing::warn!(error = %e, command = %cmd.id, "after-sale command stored; send failed, will resend");
        }
    }
}

#[cfg(test)]
mod tests;
