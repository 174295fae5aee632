//! Token packages: what a voucher is sold as.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth};
use crate::store::{now_ms, AuditEntry, NewPackage, Package};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

/// Package routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/packages", get(list).post(create))
}

async fn list(State(state): State<AppState>, _: Auth<AnyRole>) -> AppResult<Json<Vec<Package>>> {
    Ok(Json(state.store.list_packages().await?))
}

async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewPackage>,
) -> AppResult<(StatusCode, Json<Package>)> {
    let p = state.store.create_package(req).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "package.create".into(),
        target: p.id.to_string(),
        detail: serde_json::json!({"slug": p.slug, "price_minor": p.price_minor, "currency": p.currency}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}
