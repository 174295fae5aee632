//! Shifts: clock in with an opening float, clock out with the declared cash (a drawer off by
//! more than the location's threshold raises a cash alert); a manager closes a forgotten shift
//! with a note ([`manager_pages`]). The JSON API (`api`) and the pages call the operations here.

mod api;
mod manager_pages;
mod pages;

pub(crate) use api::Doc;
pub(crate) use manager_pages::{open_shifts, OpenShift};
pub use pages::{ClockInForm, ClockOutForm};

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::refusal::Refusal;
use crate::store::{now_ms, Shift, TokenFilter};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

/// Shift routes.
pub fn router() -> Router<AppState> {
    api::router()
        .merge(pages::router())
        .merge(manager_pages::router())
}

/// Body of a clock-in.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ClockIn {
    /// Cash in the drawer at the start, minor units.
    pub opening_float_minor: i64,
    /// Location; may be left out when the staff member belongs to exactly one.
    pub location_id: Option<Uuid>,
}

/// Body of a clock-out.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ClockOut {
    /// Cash in the drawer at the end, minor units.
    pub declared_cash_minor: i64,
}

/// The currency of the drawers: the one the packages are sold in (the first package on sale,
/// else any), or none before the first package exists.
pub async fn drawer_currency(state: &AppState) -> AppResult<String> {
    let packages = state.store.list_packages().await?;
    Ok(packages
        .iter()
        .find(|p| p.active)
        .or(packages.first())
        .map(|p| p.currency.clone())
        .unwrap_or_default())
}

/// An amount typed into a page form, in the drawers' currency and the page's language, as
/// minor units; a refusal reads as a form error naming the field (`field`: its label's key).
pub async fn typed_amount(state: &AppState, field: &'static str, text: &str) -> AppResult<i64> {
    let currency = drawer_currency(state).await?;
    crate::i18n::parse_money(crate::i18n::current(), text, &currency)
        .map_err(|e| AppError::Refused(e.refusal().in_field(field)))
}

pub(crate) async fn clock_in(
    state: &AppState,
    cur: &CurrentUser,
    req: &ClockIn,
) -> AppResult<Shift> {
    let location = match (req.location_id, cur.user.location_ids.as_slice()) {
        (Some(l), _) => l,
        (None, [only]) => *only,
        (None, []) => return Err(AppError::Refused(Refusal::new("err-no-location"))),
        (None, _) => return Err(AppError::Refused(Refusal::new("err-choose-location"))),
    };
    Ok(state
        .store
        .open_shift(
            cur.user.id,
            location,
            req.opening_float_minor,
            &cur.user.username,
        )
        .await?)
}

/// Cash variance beyond which clock-out raises an alert where a location has not set its own
/// (`PATCH /api/locations/{id}`): any difference is evidence worth a look.
pub const CASH_THRESHOLD_MINOR: i64 = 0;

/// Close the caller's shift and raise a cash short/over alert when the drawer does not match.
pub(crate) async fn close(state: &AppState, cur: &CurrentUser, declared: i64) -> AppResult<Shift> {
    let shift = state
        .store
        .close_shift(cur.user.id, declared, &cur.user.username)
        .await?;
    check_cash(state, &shift, declared, None).await?;
    Ok(shift)
}

/// Body of `POST /api/shifts/{id}/close`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CloseForStaff {
    /// Cash the manager counted in the drawer, minor units.
    pub declared_cash_minor: i64,
    /// Why the manager closes it (required, audited).
    pub note: String,
}

/// Close shift `id` for its staff member as manager `cur` (audited by the store) and check the
/// drawer; the JSON route and the manager page both come here.
pub(crate) async fn close_shift_for_staff(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    req: &CloseForStaff,
) -> AppResult<Shift> {
    let shift = state
        .store
        .close_shift_by_id(
            id,
            req.declared_cash_minor,
            &req.note,
            &cur.user.username,
            now_ms(),
        )
        .await?;
    check_cash(state, &shift, req.declared_cash_minor, Some(cur.user.id)).await?;
    Ok(shift)
}

/// Raise a cash short/over alert for a closed shift whose drawer is off by more than its
/// location's threshold. A failure to store the alert is logged: the shift is closed already.
async fn check_cash(
    state: &AppState,
    shift: &Shift,
    declared: i64,
    closed_by: Option<Uuid>,
) -> AppResult<()> {
    use crate::reconcile::{check_shift_close, ShiftClose};
    let threshold = state
        .store
        .location_settings(shift.location_id)
        .await?
        .map_or(CASH_THRESHOLD_MINOR, |s| s.cash_threshold_minor);
    let expected = shift
        .expected_cash_minor
        .unwrap_or(shift.opening_float_minor);
    let closed_at = shift.closed_at.unwrap_or_else(now_ms);
    let sold = state
        .store
        .list_tokens(&TokenFilter {
            staff_id: Some(shift.staff_id),
            from: Some(shift.opened_at),
            to: Some(closed_at + 1),
            // Only the count (`total`, counted by the database) and one row's currency.
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    let currency = match sold.items.first() {
        Some(t) => t.currency.clone(),
        None => drawer_currency(state).await?,
    };
    let outcome = check_shift_close(&ShiftClose {
        shift_id: shift.id,
        staff_id: shift.staff_id,
        location_id: shift.location_id,
        opened_at: shift.opened_at,
        closed_at,
        opening_float_minor: shift.opening_float_minor,
        expected_revenue_minor: expected.saturating_sub(shift.opening_float_minor),
        tokens_sold: sold.total,
        declared_cash_minor: declared,
        threshold_minor: threshold,
        currency,
        closed_by,
    });
    if let Some(finding) = outcome.finding {
        if let Err(e) = crate::checks::raise(&*state.store, &[finding], now_ms()).await {
            tracing::error!(error = %e, shift = %shift.id, "could not store the cash alert");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testutil::test_app;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn a_short_drawer_at_clock_out_raises_a_cash_alert_and_an_exact_one_does_not() {
        let app = test_app().await;
        let (staff, _) = app.login("staff").await;
        let r = app
            .json(
                "POST",
                "/api/shifts/clock-in",
                Some(&staff),
                Some(json!({"opening_float_minor": 1000})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app
            .json(
                "POST",
                "/api/tokens/generate",
                Some(&staff),
                Some(json!({"package_id": app.f.package.id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let out = app
            .json(
                "POST",
                "/api/shifts/clock-out",
                Some(&staff),
                Some(json!({"declared_cash_minor": 1200})),
            )
            .await;
        assert_eq!(out.json()["variance_minor"], -300);
        let (manager, _) = app.login("manager").await;
        let alerts = app
            .json("GET", "/api/alerts", Some(&manager), None)
            .await
            .json();
        let list = alerts.as_array().unwrap();
        assert_eq!(list.len(), 1, "{alerts}");
        assert_eq!(list[0]["kind"], "cash_short");
        assert_eq!(list[0]["evidence"]["expected_cash_minor"], 1500);
        assert_eq!(list[0]["evidence"]["tokens_sold"], 1);

        let (staff, _) = app.login("staff").await;
        app.json(
            "POST",
            "/api/shifts/clock-in",
            Some(&staff),
            Some(json!({"opening_float_minor": 0})),
        )
        .await;
        let out = app
            .json(
                "POST",
                "/api/shifts/clock-out",
                Some(&staff),
                Some(json!({"declared_cash_minor": 0})),
            )
            .await;
        assert_eq!(out.json()["variance_minor"], 0);
        let alerts = app
            .json("GET", "/api/alerts", Some(&manager), None)
            .await
            .json();
        assert_eq!(
            alerts.as_array().unwrap().len(),
            1,
            "an exact drawer raises nothing"
        );
    }
}

#[cfg(test)]
mod tests_manager;

#[cfg(test)]
mod tests_cash;
