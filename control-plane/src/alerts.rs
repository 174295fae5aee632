//! Alerts: managers list them and acknowledge or resolve them with a note (audited).

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use crate::store::{now_ms, Alert, AlertFilter, AlertState};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Alert routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(list))
        .route("/api/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/alerts/{id}/resolve", post(resolve))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, acknowledge, resolve))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/api/alerts",
    summary = "Alerts, newest first",
    params(AlertFilter),
    responses(
        (status = 200, description = "Alerts", body = Vec<Alert>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn list(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Query(filter): Query<AlertFilter>,
) -> AppResult<Json<Vec<Alert>>> {
    Ok(Json(state.store.list_alerts(&filter).await?))
}

/// Body of acknowledge and resolve.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertNote {
    /// What was found or done; required to resolve.
    #[serde(default)]
    pub note: String,
}

async fn change(
    state: &AppState,
    actor: &str,
    id: Uuid,
    to: AlertState,
    note: &str,
) -> AppResult<Json<Alert>> {
    let note = note.trim();
    if to == AlertState::Resolved && note.is_empty() {
        return Err(AppError::Refused(crate::refusal::Refusal::new(
            "err-alert-note-required",
        )));
    }
    Ok(Json(
        state
            .store
            .set_alert_state(id, to, note, actor, now_ms())
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/alerts/{id}/acknowledge",
    summary = "Acknowledge an alert with a note",
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertNote,
    responses(
        (status = 200, description = "The alert now", body = Alert),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn acknowledge(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Json(body): Json<AlertNote>,
) -> AppResult<Json<Alert>> {
    change(
        &state,
        &cur.user.username,
        id,
        AlertState::Acknowledged,
        &body.note,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/alerts/{id}/resolve",
    summary = "Resolve an alert (a note is required)",
    params(("id" = Uuid, Path, description = "Alert id")),
    request_body = AlertNote,
    responses(
        (status = 200, description = "The alert now", body = Alert),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn resolve(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    Json(body): Json<AlertNote>,
) -> AppResult<Json<Alert>> {
    change(
        &state,
        &cur.user.username,
        id,
        AlertState::Resolved,
        &body.note,
    )
    .await
}

#[cfg(test)]
mod tests {
    use crate::testutil::test_app;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn dispensing_without_a_shift_is_refused_and_alerted_once_then_resolved() {
        let app = test_app().await;
        let (staff, _) = app.login("staff").await;
        let body = json!({"package_id": app.f.package.id});
        for _ in 0..2 {
            let r = app
                .json(
                    "POST",
                    "/api/tokens/generate",
                    Some(&staff),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        }
        let (manager, _) = app.login("manager").await;
        let denied = app.json("GET", "/api/alerts", Some(&staff), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let alerts = app
            .json("GET", "/api/alerts?state=open", Some(&manager), None)
            .await
            .json();
        let list = alerts.as_array().unwrap();
        assert_eq!(
            list.len(),
            1,
            "two presses in a minute are one attempt: {alerts}"
        );
        assert_eq!(list[0]["kind"], "dispense_outside_shift");
        assert_eq!(list[0]["staff_id"], app.f.staff.id.to_string());
        let id = list[0]["id"].as_str().unwrap();
        let no_note = app
            .json(
                "POST",
                &format!("/api/alerts/{id}/resolve"),
                Some(&manager),
                Some(json!({})),
            )
            .await;
        assert_eq!(no_note.status, StatusCode::BAD_REQUEST);
        let ack = app
            .json(
                "POST",
                &format!("/api/alerts/{id}/acknowledge"),
                Some(&manager),
                Some(json!({"note": "asking"})),
            )
            .await;
        assert_eq!(ack.json()["state"], "acknowledged");
        let done = app
            .json(
                "POST",
                &format!("/api/alerts/{id}/resolve"),
                Some(&manager),
                Some(json!({"note": "forgot to clock in"})),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK);
        assert_eq!(done.json()["state"], "resolved");
        assert_eq!(done.json()["resolved_by"], "manager");
        let open = app
            .json("GET", "/api/alerts?state=open", Some(&manager), None)
            .await
            .json();
        assert!(open.as_array().unwrap().is_empty());
    }
}
