//! Batch pages for staff: the form, the batch page that follows the vouchers onto the router
//! (an htmx fragment polled until all are there) and the print views (A4 sheets, 58 mm and
//! 80 mm thermal strips), in parts small enough for a browser to lay out and print.

use super::{dispense_batch, progress};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, CurrentUser, StaffOnly};
use crate::bounds::MAX_BATCH;
use crate::store::{BatchProgress, Package, Shift};
use crate::tokens::{package_names, paper, PrintedVoucher};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The batch pages' routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/dispense/batch", get(form_page).post(form_post))
        .route("/dispense/batch/{id}", get(batch_page))
        .route("/dispense/batch/{id}/progress", get(progress_fragment))
        .route("/dispense/batch/{id}/print", get(print))
}

/// Vouchers on one print page: a few dozen A4 sheets, laid out by a browser in a moment.
pub const PRINT_PART: usize = 500;

async fn form_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
) -> AppResult<Html<String>> {
    form_with(&state, &cur, None).await
}

async fn form_with(
    state: &AppState,
    cur: &CurrentUser,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let packages = state.store.list_packages().await?;
    let shift = state.store.open_shift_of(cur.user.id).await?;
    let view = FormView {
        packages,
        shift,
        max: MAX_BATCH,
        error,
    };
    render("print_batch_form.html", &Page::of(cur), view)
}

/// The batch form: the packages, the open shift (none: clock in first), the largest batch.
#[derive(Debug, Serialize)]
struct FormView {
    packages: Vec<Package>,
    shift: Option<Shift>,
    max: u32,
    error: Option<String>,
}

/// One print part of a batch: vouchers `from` to `to`, counted from 1.
#[derive(Debug, Serialize, PartialEq)]
struct PrintPart {
    part: usize,
    from: usize,
    to: usize,
}

/// A batch's progress onto the router; its page also lists the print parts.
#[derive(Debug, Serialize)]
struct ProgressView<'a> {
    batch: &'a BatchProgress,
    done: bool,
    percent: u64,
    parts: Vec<PrintPart>,
}

/// Which part of a batch a print view holds.
#[derive(Debug, Serialize)]
struct PrintedPart {
    id: Uuid,
    part: usize,
    from: usize,
    to: usize,
    total: u64,
}

/// A part of a batch laid out for printing.
#[derive(Debug, Serialize)]
struct BatchPrintView<'a> {
    size: &'static str,
    login_url: Option<&'a str>,
    self_check: bool,
    single: bool,
    batch: PrintedPart,
    vouchers: Vec<PrintedVoucher<'a>>,
}

/// Form of `POST /dispense/batch`.
#[derive(Debug, Deserialize)]
pub struct BatchForm {
    /// Package to sell.
    pub package_id: Uuid,
    /// How many vouchers.
    pub count: u32,
}

/// Issue the batch (the same operation as the API), then follow it on its page.
async fn form_post(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Form(form): Form<BatchForm>,
) -> AppResult<Response> {
    match dispense_batch(&state, &cur, form.package_id, form.count).await {
        Ok(batch) => {
            Ok(Redirect::to(&format!("/dispense/batch/{}", batch.batch_id)).into_response())
        }
        Err(e) => Ok(form_with(&state, &cur, Some(e.page_message()?))
            .await?
            .into_response()),
    }
}

/// The print parts of a batch of `total`: `(part, first, last)`, counted from 1.
fn parts(total: u64) -> Vec<PrintPart> {
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    (0..total.div_ceil(PRINT_PART))
        .map(|i| {
            let from = i * PRINT_PART + 1;
            let to = ((i + 1) * PRINT_PART).min(total);
            PrintPart {
                part: i + 1,
                from,
                to,
            }
        })
        .collect()
}

/// The progress of `p`, with its print parts when `with_parts` (the page, not the fragment).
fn progress_ctx(p: &BatchProgress, with_parts: bool) -> ProgressView<'_> {
    ProgressView {
        batch: p,
        done: p.on_router >= p.total,
        percent: p
            .on_router
            .saturating_mul(100)
            .checked_div(p.total)
            .unwrap_or(100),
        parts: if with_parts {
            parts(p.total)
        } else {
            Vec::new()
        },
    }
}

async fn batch_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    let p = progress(&state, &cur, id).await?;
    render("batch.html", &Page::of(&cur), progress_ctx(&p, true))
}

async fn progress_fragment(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    let p = progress(&state, &cur, id).await?;
    render(
        "batch_progress.html",
        &Page::of(&cur),
        progress_ctx(&p, false),
    )
}

/// `?size=` and `?part=` (from 1; default 1).
#[derive(Debug, Deserialize, Default)]
pub struct BatchPrintQuery {
    /// Paper: `58`, `80` or `a4` (default here: `a4`).
    pub size: Option<String>,
    /// Which [`PRINT_PART`] vouchers.
    pub part: Option<usize>,
}

async fn print(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Query(q): Query<BatchPrintQuery>,
) -> AppResult<Html<String>> {
    let p = progress(&state, &cur, id).await?;
    let part = q.part.unwrap_or(1).max(1);
    let from = (part - 1).saturating_mul(PRINT_PART);
    let tokens = state
        .store
        .batch_tokens(id, from as u64, PRINT_PART as u64)
        .await?;
    if tokens.is_empty() {
        return Err(AppError::NotFound);
    }
    let names = package_names(&state).await?;
    let vouchers: Vec<_> = tokens
        .iter()
        .map(|t| PrintedVoucher::of(t, &names))
        .collect();
    let size = paper(Some(q.size.as_deref().unwrap_or("a4")));
    let view = BatchPrintView {
        size,
        login_url: state.settings.public_url.as_deref(),
        self_check: state
            .settings
            .external_url
            .as_ref()
            .is_some_and(|u| !u.is_empty()),
        single: false,
        batch: PrintedPart {
            id,
            part,
            from: from + 1,
            to: from + vouchers.len(),
            total: p.total,
        },
        vouchers,
    };
    render("print_voucher.html", &Page::of(&cur), view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_prints_in_parts() {
        let p = parts(1201);
        assert_eq!(p.len(), 3);
        let part = |part, from, to| PrintPart { part, from, to };
        assert_eq!(p[0], part(1, 1, 500));
        assert_eq!(p[2], part(3, 1001, 1201));
        assert!(parts(0).is_empty());
    }
}
