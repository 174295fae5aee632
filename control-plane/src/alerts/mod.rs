//! Alerts: managers list them and acknowledge or resolve them with a note (audited), over the
//! API (`api`) or on their page (`pages`), both through the operations here; the staff pages
//! show the alerts pointing at one staff member the same way ([`AlertRow`]).

mod api;
mod pages;

pub(crate) use api::Doc;
pub(crate) use pages::AlertRow;

use crate::app::{AppError, AppResult, AppState};
use crate::store::{every_alert, now_ms, Alert, AlertFilter, AlertState, Store};
use axum::Router;
use uuid::Uuid;

/// Alert routes: the JSON API and the managers' alerts page.
pub fn router() -> Router<AppState> {
    api::router().merge(pages::router())
}

/// Move alert `id` to `to` as `actor` with `note` (audited by the store); resolving needs a note.
pub(crate) async fn change_state(
    store: &dyn Store,
    actor: &str,
    id: Uuid,
    to: AlertState,
    note: &str,
) -> AppResult<Alert> {
    let note = note.trim();
    if to == AlertState::Resolved && note.is_empty() {
        return Err(AppError::Refused(crate::refusal::Refusal::new(
            "err-alert-note-required",
        )));
    }
    Ok(store.set_alert_state(id, to, note, actor, now_ms()).await?)
}

/// Whether an alert points at `staff_id`: it names them, or they were on duty when the rogue
/// voucher it reports could have been sold (also when others were, so no one is cleared).
fn points_at(a: &Alert, staff_id: Uuid) -> bool {
    let id = staff_id.to_string();
    a.staff_id == Some(staff_id)
        || a.evidence["on_duty"].as_array().is_some_and(|d| {
            d.iter()
                .any(|s| s["staff_id"].as_str() == Some(id.as_str()))
        })
}

/// Every alert pointing at staff member `staff_id`, newest first.
pub(crate) async fn pointing_at(store: &dyn Store, staff_id: Uuid) -> AppResult<Vec<Alert>> {
    let list = every_alert(store, &AlertFilter::default()).await?;
    Ok(list
        .into_iter()
        .filter(|a| points_at(a, staff_id))
        .collect())
}

#[cfg(test)]
mod tests;
