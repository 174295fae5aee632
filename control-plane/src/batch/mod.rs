//! Batch dispensing: up to [`MAX_BATCH`] vouchers of one package issued at once at a staff
//! member's open shift (pre-printed stock). The whole batch is stored in one transaction, each
//! voucher exactly as a counter sale (ledger entry, revenue record, audit row), and goes to the
//! router as a few `CreateTokens` commands that the agent carries out pipelined. The page
//! (`pages.rs`) and the JSON API (`api.rs`) both call [`dispense_batch`].

mod api;
pub(crate) use api::Doc;
mod pages;

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::bounds::MAX_BATCH;
use crate::refusal::Refusal;
use crate::store::{BatchProgress, IssueBatch, IssuedBatch, NewVoucher, Role, StoreError};
use axum::Router;
use std::collections::HashSet;
use uuid::Uuid;

/// Batch routes (pages and API).
pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(pages::router())
}

/// Issue `count` vouchers of `package_id` for `cur`'s open shift and send their commands to the
/// location's router at once (an offline router gets them when it is back).
pub async fn dispense_batch(
    state: &AppState,
    cur: &CurrentUser,
    package_id: Uuid,
    count: u32,
) -> AppResult<IssuedBatch> {
    if count == 0 || count > MAX_BATCH {
        return Err(AppError::Refused(
            Refusal::new("err-batch-count").arg("max", MAX_BATCH),
        ));
    }
    crate::tokens::refuse_outside_shift(state, cur, package_id).await?;
    crate::freeze::refuse_frozen(state, cur.user.id).await?;
    let mut last = None;
    // A code already sold is astronomically rare; a fresh set of codes settles it.
    for _ in 0..3 {
        let req = IssueBatch {
            batch_id: Uuid::new_v4(),
            package_id,
            staff_id: cur.user.id,
            staff_username: cur.user.username.clone(),
            vouchers: vouchers(state.settings.token_code_len, count),
        };
        match state.store.issue_batch(req).await {
            Ok(batch) => {
                for cmd in &batch.commands {
                    if let Err(e) = state.dispatcher.send(cmd).await {
                        tracing::warn!(error = %e, command = %cmd.id,
                            "batch command stored; send failed, will resend");
                    }
                }
                return Ok(batch);
            }
            Err(StoreError::Conflict(m)) => last = Some(m),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(last.unwrap_or_default()))
}

/// `count` vouchers with distinct codes.
fn vouchers(code_len: usize, count: u32) -> Vec<NewVoucher> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count as usize);
    while out.len() < count as usize {
        let code = mtm_common::token_code::generate(code_len);
        if seen.insert(code.clone()) {
            out.push(NewVoucher {
                id: Uuid::new_v4(),
                code,
                password: Some(mtm_common::token_code::generate_password(6)),
            });
        }
    }
    out
}

/// A batch's progress, if the caller may see it: staff only their own.
pub async fn progress(
    state: &AppState,
    cur: &CurrentUser,
    batch_id: Uuid,
) -> AppResult<BatchProgress> {
    let p = state
        .store
        .batch_progress(batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if cur.user.role == Role::Staff && p.staff_id != cur.user.id {
        return Err(AppError::NotFound);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_never_repeats_a_code() {
        // Short codes collide often: the batch still comes out distinct and complete.
        let v = vouchers(3, 2000);
        let codes: HashSet<_> = v.iter().map(|v| v.code.as_str()).collect();
        assert_eq!((v.len(), codes.len()), (2000, 2000));
    }
}

#[cfg(test)]
mod tests_pages;
