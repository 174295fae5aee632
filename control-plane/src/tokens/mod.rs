//! Tokens: selling a voucher (staff with an open shift, a till's sale key making a repeat
//! harmless), what a caller may see of one, and the routes: the JSON API ([`api`]) and the staff
//! counter with the voucher page and its live status ([`pages`]), with its QR codes and print
//! view ([`print`]). They call the operations here.

mod api;
mod pages;
mod print;

pub(crate) use api::Doc;
pub use api::{GenerateRequest, MyTokensQuery, IDEMPOTENCY_KEY};
pub use pages::{dispense_page, dispense_page_with, DispenseForm};
pub use print::check_url;
pub(crate) use print::{package_names, paper, PrintedVoucher};

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::refusal::Refusal;
use crate::store::{now_ms, IssueToken, Role, Token, TokenState};
use axum::Router;
use serde::Serialize;
use uuid::Uuid;

/// Token routes.
pub fn router() -> Router<AppState> {
    api::router().merge(pages::router()).merge(print::router())
}

/// A token as the API and pages show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// The token, including usage totals.
    #[serde(flatten)]
    pub token: Token,
    /// Words for staff: "sent to router", "active on router", ...
    pub state_label: &'static str,
    /// The message key of those words, for pages in the reader's language.
    pub state_key: &'static str,
    /// The router carrying it is online now.
    pub router_online: bool,
    /// Not yet on the router because the router is offline.
    pub waiting_offline: bool,
}

pub(crate) async fn view(state: &AppState, token: Token) -> AppResult<TokenView> {
    let online = state
        .store
        .router(token.router_id)
        .await?
        .is_some_and(|r| r.online);
    let waiting_offline = token.state == TokenState::Issued && !online;
    let (state_label, state_key) = match token.state {
        TokenState::Issued if online => ("sent to router", "token-sent"),
        TokenState::Issued => ("waiting for router", "token-waiting"),
        TokenState::Applied => ("active on router", "token-active"),
        TokenState::InUse => ("in use", "state-in_use"),
        TokenState::UsedUp => ("used up", "state-used_up"),
        TokenState::Expired => ("expired", "state-expired"),
        TokenState::Disabled => ("disabled", "state-disabled"),
        TokenState::Removed => ("removed", "state-removed"),
    };
    Ok(TokenView {
        token,
        state_label,
        state_key,
        router_online: online,
        waiting_offline,
    })
}

/// Longest sale key a till may send (a UUID is 36 characters).
pub const MAX_SALE_KEY: usize = 64;

/// Issue a token for the caller's open shift and send it to the location's router at once.
/// A router that is offline gets it when it comes back. With a `sale_key`, a sale repeated by
/// a till that never got the first answer is handed the voucher already sold under that key.
pub async fn dispense(
    state: &AppState,
    cur: &CurrentUser,
    package_id: Uuid,
    sale_key: Option<&str>,
) -> AppResult<Token> {
    let sale_key = sale_key.map(check_sale_key).transpose()?;
    if let Some(sold) = sold_under(state, cur, package_id, sale_key).await? {
        return Ok(sold);
    }
    refuse_outside_shift(state, cur, package_id).await?;
    crate::freeze::refuse_frozen(state, cur.user.id).await?;
    let mut last = None;
    // A code collision is astronomically rare; a fresh code settles it.
    for _ in 0..3 {
        let req = IssueToken {
            id: Uuid::new_v4(),
            code: mtm_common::token_code::generate(state.settings.token_code_len),
            password: Some(mtm_common::token_code::generate_password(6)),
            package_id,
            staff_id: cur.user.id,
            staff_username: cur.user.username.clone(),
            command_id: Uuid::new_v4(),
            sale_key: sale_key.map(str::to_owned),
        };
        match state.store.issue_token(req).await {
            Ok((token, cmd)) => {
                if let Err(e) = state.dispatcher.send(&cmd).await {
                    tracing::warn!(error = %e, token = %token.id, "command stored; send failed, will resend");
                }
                return Ok(token);
            }
            Err(crate::store::StoreError::Conflict(m)) => {
                // A repeat racing its first attempt loses on the key's unique index: sold now.
                if let Some(sold) = sold_under(state, cur, package_id, sale_key).await? {
                    return Ok(sold);
                }
                last = Some(m);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(last.unwrap_or_default()))
}

/// A sale key is the till's own: printable ASCII, at most [`MAX_SALE_KEY`] characters.
fn check_sale_key(key: &str) -> AppResult<&str> {
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_SALE_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "a sale key is 1 to {MAX_SALE_KEY} printable ASCII characters"
        )));
    }
    Ok(key)
}

/// The voucher already sold under `sale_key`; a key reused for another package is refused
/// rather than answered with a voucher the customer did not pay for.
async fn sold_under(
    state: &AppState,
    cur: &CurrentUser,
    package_id: Uuid,
    sale_key: Option<&str>,
) -> AppResult<Option<Token>> {
    let Some(key) = sale_key else {
        return Ok(None);
    };
    match state.store.token_by_sale_key(cur.user.id, key).await? {
        Some(t) if t.package_id != package_id => Err(AppError::Conflict(
            "this sale key was already used for another package".into(),
        )),
        sold => Ok(sold),
    }
}

/// Refuse (and alert on) a dispense without an open shift at one of the caller's locations.
pub(crate) async fn refuse_outside_shift(
    state: &AppState,
    cur: &CurrentUser,
    package_id: Uuid,
) -> AppResult<()> {
    use crate::reconcile::{check_dispense, DispenseAttempt, OpenShift};
    let shift = state.store.open_shift_of(cur.user.id).await?;
    // Without a shift the page does not say where the staff member stands; their first
    // location is the best evidence there is.
    let Some(location_id) = shift
        .as_ref()
        .map(|s| s.location_id)
        .or_else(|| cur.user.location_ids.first().copied())
    else {
        return Err(AppError::Refused(Refusal::new("err-no-location")));
    };
    let package_slug = state
        .store
        .list_packages()
        .await?
        .into_iter()
        .find(|p| p.id == package_id)
        .map(|p| p.slug)
        .unwrap_or_default();
    let attempt = DispenseAttempt {
        staff_id: cur.user.id,
        location_id,
        at: now_ms(),
        package_slug,
        open_shift: shift.map(|s| OpenShift {
            shift_id: s.id,
            location_id: s.location_id,
        }),
        staff_location_ids: cur.user.location_ids.clone(),
    };
    if let Err(finding) = check_dispense(&attempt) {
        if let Err(e) = crate::checks::raise(&*state.store, &[*finding], now_ms()).await {
            tracing::error!(error = %e, "could not store the dispense alert");
        }
        return Err(AppError::Refused(Refusal::new("err-clock-in-first")));
    }
    Ok(())
}

/// A token the caller may see: staff only their own.
pub(crate) async fn visible_token(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
) -> AppResult<Token> {
    let token = state.store.token(id).await?.ok_or(AppError::NotFound)?;
    if cur.user.role == Role::Staff && token.staff_id != cur.user.id {
        return Err(AppError::NotFound);
    }
    Ok(token)
}

pub(crate) fn start_of_today() -> i64 {
    let now = now_ms();
    now - now.rem_euclid(86_400_000)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_print;
