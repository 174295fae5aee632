//! The staff counter (`/dispense`: clock in, or package buttons and today's vouchers), the
//! voucher page and its live status fragment.

use super::{dispense, start_of_today, view, visible_token, TokenView};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, CurrentUser, StaffOnly};
use crate::store::{Location, Package, Shift, Token, TokenFilter, TokenState};
use crate::web::{render, Page};
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The counter and voucher pages' routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/dispense", get(dispense_page).post(dispense_form))
        .route("/tokens/{id}", get(voucher_page))
        .route("/tokens/{id}/status", get(status_fragment))
}

/// The staff counter: clock in, or package buttons and today's vouchers.
pub async fn dispense_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
) -> AppResult<Html<String>> {
    dispense_page_with(&state, &cur, None).await
}

/// The counter page with an error message on top.
pub async fn dispense_page_with(
    state: &AppState,
    cur: &CurrentUser,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let shift = state.store.open_shift_of(cur.user.id).await?;
    let locations: Vec<_> = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .filter(|l| cur.user.location_ids.contains(&l.id))
        .collect();
    let packages = state.store.list_packages().await?;
    let page = state
        .store
        .list_tokens(&TokenFilter {
            staff_id: Some(cur.user.id),
            from: Some(start_of_today()),
            limit: Some(200),
            ..Default::default()
        })
        .await?;
    let mut tokens = Vec::with_capacity(page.items.len());
    for t in page.items {
        tokens.push(view(state, t).await?);
    }
    // The day's count and takings are the database's, not the shown list's: exact however many.
    let mut today_count = 0u64;
    let mut today_revenue = 0i64;
    let figures = crate::store::FigureFilter {
        staff_id: Some(cur.user.id),
        from: start_of_today(),
        ..Default::default()
    };
    for f in state.store.token_figures(&figures).await? {
        today_count = today_count.saturating_add(f.issued);
        today_revenue = today_revenue
            .checked_add(f.expected_minor)
            .ok_or_else(|| AppError::Internal("today's takings do not fit 64 bits".into()))?;
    }
    let currency = packages
        .first()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let view = DispenseView {
        shift,
        locations,
        packages,
        today_count,
        tokens,
        today_revenue,
        currency,
        error,
        // Fresh on every drawing of the page (pages are never cached), one per package.
        sale_key: Uuid::new_v4(),
    };
    render("dispense.html", &Page::of(cur), view)
}

/// The staff counter: the open shift (or the locations to clock in at), the packages, and
/// today's vouchers with the day's count and takings.
#[derive(Debug, Serialize)]
struct DispenseView {
    shift: Option<Shift>,
    locations: Vec<Location>,
    packages: Vec<Package>,
    today_count: u64,
    tokens: Vec<TokenView>,
    today_revenue: i64,
    currency: String,
    error: Option<String>,
    sale_key: Uuid,
}

/// The voucher page and its status fragment.
#[derive(Debug, Serialize)]
struct VoucherView {
    token: Token,
    state_label: &'static str,
    state_key: &'static str,
    waiting_offline: bool,
    polling: bool,
    package_name: String,
    login_url: Option<String>,
}

/// Form of `POST /dispense`.
#[derive(Deserialize)]
pub struct DispenseForm {
    /// Package to sell.
    pub package_id: Uuid,
    /// Made when the counter page was drawn: a form sent twice (a double click, a reload
    /// after a lost answer) sells one voucher.
    pub sale_key: Option<String>,
}

async fn dispense_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(form): Form<DispenseForm>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    match dispense(&state, &cur, form.package_id, form.sale_key.as_deref()).await {
        Ok(token) => Ok(Redirect::to(&format!("/tokens/{}", token.id)).into_response()),
        Err(e) => Ok(dispense_page_with(&state, &cur, Some(e.page_message()?))
            .await?
            .into_response()),
    }
}

async fn status_ctx(state: &AppState, token: Token) -> AppResult<VoucherView> {
    let package_name = state
        .store
        .list_packages()
        .await?
        .into_iter()
        .find(|p| p.id == token.package_id)
        .map(|p| p.name)
        .unwrap_or_else(|| token.package_slug.clone());
    let v = view(state, token).await?;
    Ok(VoucherView {
        // Poll until the router has confirmed; after that the state changes only slowly.
        polling: v.token.state == TokenState::Issued,
        token: v.token,
        state_label: v.state_label,
        state_key: v.state_key,
        waiting_offline: v.waiting_offline,
        package_name,
        login_url: state.settings.public_url.clone(),
    })
}

async fn voucher_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    let token = visible_token(&state, &cur, id).await?;
    let ctx = status_ctx(&state, token).await?;
    render("voucher.html", &Page::of(&cur), ctx)
}

async fn status_fragment(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    let token = visible_token(&state, &cur, id).await?;
    let ctx = status_ctx(&state, token).await?;
    render("token_status.html", &Page::of(&cur), ctx)
}
