//! Tokens: dispensing (staff with an open shift), the voucher page and its live status, and the
//! token API.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, CurrentUser, ManagerUp, StaffOnly};
use crate::refusal::Refusal;
use crate::store::{now_ms, IssueToken, Role, Token, TokenFilter, TokenPage, TokenState};
use crate::web::{render, Page};
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Token routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens/generate", post(generate_json))
        .route("/api/tokens/my-tokens", get(my_tokens))
        .route("/api/tokens/all", get(all_tokens))
        .route("/api/tokens/{id}", get(token_json))
        .route("/dispense", get(dispense_page).post(dispense_form))
        .route("/tokens/{id}", get(voucher_page))
        .route("/tokens/{id}/status", get(status_fragment))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(generate_json, my_tokens, all_tokens, token_json))]
pub(crate) struct Doc;

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

async fn view(state: &AppState, token: Token) -> AppResult<TokenView> {
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
        if let Err(e) = state.store.raise_alert(&finding, now_ms()).await {
            tracing::error!(error = %e, "could not store the dispense alert");
        }
        return Err(AppError::Refused(Refusal::new("err-clock-in-first")));
    }
    Ok(())
}

/// The header a till sends its sale key in (the IETF `Idempotency-Key` draft's name).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Body of `POST /api/tokens/generate`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct GenerateRequest {
    /// Package to sell.
    pub package_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/api/tokens/generate",
    summary = "Dispense a token (open shift required)",
    description = "Queued to the location's router. A till that may retry sends an \
        `Idempotency-Key` header (1 to 64 printable ASCII characters, its own for each sale): a \
        repeat with the same key answers the voucher already sold under it instead of selling \
        another; the same key with another package is refused (409).",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The till's key for this sale")),
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The voucher", body = TokenView),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn generate_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    headers: axum::http::HeaderMap,
    Json(req): Json<GenerateRequest>,
) -> AppResult<Json<TokenView>> {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        Some(v) => Some(v.to_str().map_err(|_| {
            AppError::BadRequest("the Idempotency-Key header is not printable ASCII".into())
        })?),
        None => None,
    };
    let token = dispense(&state, &cur, req.package_id, key).await?;
    Ok(Json(view(&state, token).await?))
}

/// A token the caller may see: staff only their own.
async fn visible_token(state: &AppState, cur: &CurrentUser, id: Uuid) -> AppResult<Token> {
    let token = state.store.token(id).await?.ok_or(AppError::NotFound)?;
    if cur.user.role == Role::Staff && token.staff_id != cur.user.id {
        return Err(AppError::NotFound);
    }
    Ok(token)
}

#[utoipa::path(
    get,
    path = "/api/tokens/{id}",
    summary = "One token with state and usage totals (staff: own only)",
    params(("id" = Uuid, Path, description = "Voucher id")),
    responses(
        (status = 200, description = "The voucher", body = TokenView),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn token_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<TokenView>> {
    let token = visible_token(&state, &cur, id).await?;
    Ok(Json(view(&state, token).await?))
}

/// Query of `GET /api/tokens/my-tokens`: a time window, paged.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyTokensQuery {
    /// From (unix ms); default: start of today (UTC).
    pub from: Option<i64>,
    /// To (unix ms).
    pub to: Option<i64>,
    /// Page size.
    pub limit: Option<u32>,
    /// Offset.
    pub offset: Option<u32>,
}

fn start_of_today() -> i64 {
    let now = now_ms();
    now - now.rem_euclid(86_400_000)
}

#[utoipa::path(
    get,
    path = "/api/tokens/my-tokens",
    summary = "The caller's tokens (default: today)",
    params(MyTokensQuery),
    responses(
        (status = 200, description = "A page of vouchers", body = TokenPage),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn my_tokens(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Query(q): Query<MyTokensQuery>,
) -> AppResult<Json<TokenPage>> {
    let filter = TokenFilter {
        staff_id: Some(cur.user.id),
        from: Some(q.from.unwrap_or_else(start_of_today)),
        to: q.to,
        limit: q.limit,
        offset: q.offset,
        ..Default::default()
    };
    Ok(Json(state.store.list_tokens(&filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/tokens/all",
    summary = "All tokens, paged and filtered",
    params(TokenFilter),
    responses(
        (status = 200, description = "A page of vouchers", body = TokenPage),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn all_tokens(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Query(filter): Query<TokenFilter>,
) -> AppResult<Json<TokenPage>> {
    Ok(Json(state.store.list_tokens(&filter).await?))
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
    render(
        "dispense.html",
        &Page::of(cur),
        serde_json::json!({
            "shift": shift, "locations": locations, "packages": packages,
            "today_count": today_count, "tokens": tokens, "today_revenue": today_revenue,
            "currency": currency, "error": error,
            // Fresh on every drawing of the page (pages are never cached), one per package.
            "sale_key": Uuid::new_v4(),
        }),
    )
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

async fn status_ctx(state: &AppState, token: Token) -> AppResult<serde_json::Value> {
    let package_name = state
        .store
        .list_packages()
        .await?
        .into_iter()
        .find(|p| p.id == token.package_id)
        .map(|p| p.name)
        .unwrap_or_else(|| token.package_slug.clone());
    let v = view(state, token).await?;
    Ok(serde_json::json!({
        "token": v.token, "state_label": v.state_label, "state_key": v.state_key, "waiting_offline": v.waiting_offline,
        // Poll until the router has confirmed; after that the state changes only slowly.
        "polling": v.token.state == TokenState::Issued,
        "package_name": package_name, "login_url": state.settings.public_url,
    }))
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

#[cfg(test)]
mod tests;
