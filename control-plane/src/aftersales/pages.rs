//! After-sales pages: a voucher's after-sales page (staff and managers) and the manager's list
//! of refunds waiting for approval. Forms carry the CSRF token; both call the operations in
//! the parent module, as the API does.

use super::{decide, list, perform, token_for, Ask};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, CurrentUser, ManagerUp};
use crate::store::{AfterSale, AfterSaleFilter, AfterSaleKind, AfterSaleState, Token};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens/{id}/after-sales", get(token_page).post(token_form))
        .route("/manager/after-sales", get(manager_page))
        .route("/manager/after-sales/{id}/decide", post(decide_form))
}

/// `?done=` after a form: what to tell the person.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    /// `done` or `requested`.
    pub done: Option<String>,
}

async fn token_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    // Message keys: the page says them in the reader's language.
    let notice = match q.done.as_deref() {
        Some("requested") => Some("as-notice-requested"),
        Some("done") => Some("as-notice-done"),
        _ => None,
    };
    show(&state, &cur, id, None, notice).await
}

async fn show(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
    notice: Option<&str>,
) -> AppResult<Response> {
    let token = token_for(state, cur, id).await?;
    let filter = AfterSaleFilter {
        token_id: Some(id),
        ..Default::default()
    };
    let history = list(state, cur, &filter).await?;
    let package = state
        .store
        .list_all_packages()
        .await?
        .into_iter()
        .find(|p| p.id == token.package_id);
    let view = AfterSalesView {
        token,
        history,
        error,
        notice,
        package_name: package.as_ref().map(|p| p.name.clone()),
        has_time_limit: package
            .as_ref()
            .is_some_and(|p| p.limit_uptime_s.is_some_and(|l| l > 0)),
        has_data_limit: package
            .as_ref()
            .is_some_and(|p| p.limit_bytes_total.is_some_and(|l| l > 0)),
        staff: cur.user.role == crate::store::Role::Staff,
    };
    Ok(render("aftersales.html", &Page::of(cur), view)?.into_response())
}

/// One voucher's after-sales: what was asked before, and the forms (those its package allows).
#[derive(Debug, Serialize)]
struct AfterSalesView<'a> {
    token: Token,
    history: Vec<AfterSale>,
    error: Option<String>,
    notice: Option<&'a str>,
    package_name: Option<String>,
    has_time_limit: bool,
    has_data_limit: bool,
    staff: bool,
}

/// An after-sale on the manager's list, with its location's name.
#[derive(Debug, Serialize)]
struct AfterSaleLine {
    request: AfterSale,
    location: Option<String>,
}

/// The manager's after-sales: those waiting for a decision, and the latest.
#[derive(Debug, Serialize)]
struct DecisionsView {
    waiting: Vec<AfterSaleLine>,
    recent: Vec<AfterSaleLine>,
    error: Option<String>,
}

/// Form of `POST /tokens/{id}/after-sales`.
#[derive(Debug, Deserialize)]
pub struct AfterSaleForm {
    /// `void`, `replace`, `extend`, `reprint`, `disable` or `enable`.
    pub kind: AfterSaleKind,
    /// Why (required).
    #[serde(default)]
    pub reason: String,
    /// Refund in currency units (`2.50`), void only; empty for none.
    #[serde(default)]
    pub refund: String,
    /// Minutes to add, extend only.
    #[serde(default)]
    pub extra_minutes: String,
    /// Megabytes to add, extend only.
    #[serde(default)]
    pub extra_mb: String,
}

/// Longest minute and megabyte counts a form takes (a year; a petabyte).
const MAX_MINUTES: u64 = 366 * 24 * 60;
const MAX_MB: u64 = 1_000_000_000;

/// A count typed into the field labelled `field` (its message key), refused in the page's
/// language.
fn count(text: &str, field: &'static str, max: u64) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    match t.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(crate::refusal::Refusal::new("err-whole-number-up-to")
            .arg("max", max)
            .in_field(field)
            .text(crate::i18n::current())),
    }
}

fn ask_of(f: &AfterSaleForm, currency: &str) -> Result<Ask, String> {
    let refund_minor = if f.kind == AfterSaleKind::Void && !f.refund.trim().is_empty() {
        let lang = crate::i18n::current();
        crate::i18n::parse_money(lang, f.refund.trim(), currency)
            .map_err(|e| e.refusal().in_field("col-refund").text(lang))?
    } else {
        0
    };
    Ok(Ask {
        kind: f.kind,
        reason: f.reason.clone(),
        refund_minor,
        extra_uptime_s: count(&f.extra_minutes, "as-minutes-to-add", MAX_MINUTES)?
            .saturating_mul(60),
        extra_bytes_total: count(&f.extra_mb, "as-mb-to-add", MAX_MB)?.saturating_mul(1_000_000),
    })
}

async fn token_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Form(f): Form<AfterSaleForm>,
) -> AppResult<Response> {
    let token = token_for(&state, &cur, id).await?;
    if f.reason.trim().is_empty() {
        let m = crate::i18n::tr(crate::web::lang_for(&cur), "as-give-reason");
        return show(&state, &cur, id, Some(m), None).await;
    }
    let ask = match ask_of(&f, &token.currency) {
        Ok(a) => a,
        Err(m) => return show(&state, &cur, id, Some(m), None).await,
    };
    match perform(&state, &cur, id, &ask).await {
        Ok(out) if out.sale.state == AfterSaleState::Requested => {
            Ok(Redirect::to(&format!("/tokens/{id}/after-sales?done=requested")).into_response())
        }
        Ok(out) => {
            let to = match (ask.kind, out.sale.new_token_id) {
                (AfterSaleKind::Replace, Some(new)) => format!("/tokens/{new}"),
                (AfterSaleKind::Reprint, _) => format!("/tokens/{id}/print"),
                _ => format!("/tokens/{id}/after-sales?done=done"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let m = e.page_message()?;
            show(&state, &cur, id, Some(m), None).await
        }
    }
}

async fn manager_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
) -> AppResult<Response> {
    manager_with(&state, &cur, None).await
}

async fn manager_with(
    state: &AppState,
    cur: &CurrentUser,
    error: Option<String>,
) -> AppResult<Response> {
    // Every request waiting for a decision (the page is for managers, who see them all): one
    // left off a capped list would never be decided.
    let waiting = crate::store::every_after_sale(
        &*state.store,
        &AfterSaleFilter {
            state: Some(AfterSaleState::Requested),
            ..Default::default()
        },
    )
    .await?;
    let recent = list(
        state,
        cur,
        &AfterSaleFilter {
            limit: Some(50),
            ..Default::default()
        },
    )
    .await?;
    let locations: std::collections::HashMap<Uuid, String> = state
        .store
        .list_locations()
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let named = |v: Vec<AfterSale>| -> Vec<AfterSaleLine> {
        v.into_iter()
            .map(|request| AfterSaleLine {
                location: locations.get(&request.location_id).cloned(),
                request,
            })
            .collect()
    };
    let view = DecisionsView {
        waiting: named(waiting),
        recent: named(recent),
        error,
    };
    Ok(render("manager_aftersales.html", &Page::of(cur), view)?.into_response())
}

/// Form of `POST /manager/after-sales/{id}/decide`.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why (optional).
    #[serde(default)]
    pub note: String,
}

async fn decide_form(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Form(f): Form<DecideForm>,
) -> AppResult<Response> {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(AppError::Refused(crate::refusal::Refusal::new(
                "err-approve-or-reject",
            )))
        }
    };
    match decide(&state, &cur, id, approve, &f.note).await {
        Ok(_) => Ok(Redirect::to("/manager/after-sales").into_response()),
        Err(e) => {
            let m = e.page_message()?;
            manager_with(&state, &cur, Some(m)).await
        }
    }
}
