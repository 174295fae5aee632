//! System endpoints: health, readiness, metrics, system info, and the manager/admin overview.
//!
//! `/healthz`, `/readyz` and `/metrics` are public on purpose (probes and scrapers carry no
//! session); they reveal counts only. Everything else here names its roles.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth, ManagerUp};
use crate::store::TokenFilter;
use crate::web::{render, Page};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// System routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/system/info", get(info))
        .route("/overview", get(overview))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> AppResult<Response> {
    let c = state.store.counts().await?;
    let body = state
        .metrics
        .render(c.commands_open, c.agents_online, c.routers);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// What an admin needs to enroll agents.
#[derive(Serialize)]
pub struct SystemInfo {
    /// The control plane's public key, hex; agents pin it.
    pub control_plane_public_key: String,
    /// Where agents reach the broker.
    pub mqtt_addr: String,
    /// Server version.
    pub version: &'static str,
}

async fn info(State(state): State<AppState>, _: Auth<AdminOnly>) -> Json<SystemInfo> {
    Json(SystemInfo {
        control_plane_public_key: state.settings.control_plane_public_key.clone(),
        mqtt_addr: state.settings.mqtt_addr.to_string(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn overview(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
) -> AppResult<Html<String>> {
    let routers = state.store.list_routers().await?;
    let tokens = state
        .store
        .list_tokens(&TokenFilter {
            limit: Some(50),
            ..Default::default()
        })
        .await?;
    render(
        &state,
        "overview.html",
        &Page::of(&cur),
        serde_json::json!({ "routers": routers, "tokens": tokens.items }),
    )
}
