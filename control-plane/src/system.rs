//! System endpoints: health, readiness, metrics, system info, and the manager/admin overview.
//!
//! `/healthz`, `/readyz` and `/metrics` are public on purpose (probes and scrapers carry no
//! session); they reveal counts only. Everything else here names its roles.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth, ManagerUp};
use crate::store::{RouterStatus, Token, TokenFilter};
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

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(info, healthz, readyz, metrics))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/healthz",
    summary = "Liveness",
    responses(
        (status = 200, description = "Alive", body = String, content_type = "text/plain"),
    ),
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the broker client is connected and subscribed (without
/// both, agents' messages are not being received).
#[utoipa::path(
    get,
    path = "/readyz",
    summary = "Readiness (database reachable, broker connected and subscribed)",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if !state.dispatcher.link_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "broker not connected or not subscribed",
        )
            .into_response();
    }
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
    ),
)]
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
#[derive(Serialize, utoipa::ToSchema)]
pub struct SystemInfo {
    /// The control plane's public key, hex; agents pin it.
    pub control_plane_public_key: String,
    /// Where agents reach the broker.
    pub mqtt_addr: String,
    /// Server version.
    pub version: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/system/info",
    summary = "Control-plane public key and broker address",
    responses(
        (status = 200, description = "What agents need", body = SystemInfo),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
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
    let view = OverviewView {
        routers,
        tokens: tokens.items,
    };
    render("overview.html", &Page::of(&cur), view)
}

/// The plain overview: every router and the latest vouchers.
#[derive(Debug, Serialize)]
struct OverviewView {
    routers: Vec<RouterStatus>,
    tokens: Vec<Token>,
}

#[cfg(test)]
mod tests {
    use crate::testutil::test_app;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn every_documented_operation_exists_and_is_guarded_as_documented() {
        let app = test_app().await;
        let served = app.page("GET", "/api/openapi.json", None, None).await;
        assert_eq!(served.status, StatusCode::OK);
        let doc = served.json();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut checked = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
            for (method, op) in ops.as_object().unwrap() {
                let m = method.to_uppercase();
                let public = op["security"].as_array().unwrap().is_empty();
                let anon = app.json(&m, &concrete, None, None).await;
                assert_ne!(
                    anon.status,
                    StatusCode::NOT_FOUND,
                    "{m} {path} is not routed"
                );
                assert_ne!(anon.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
                if public {
                    assert_ne!(
                        anon.status,
                        StatusCode::UNAUTHORIZED,
                        "{m} {path} is public"
                    );
                } else {
                    assert_eq!(
                        anon.status,
                        StatusCode::UNAUTHORIZED,
                        "{m} {path} needs a session"
                    );
                    let roles = op["x-roles"].as_array().unwrap();
                    assert!(!roles.is_empty(), "{m} {path} names its roles");
                    // Agent routes take the agent's MQTT login, never a user's session.
                    if roles.iter().all(|r| r == "agent") {
                        let (admin, _) = app.login("admin").await;
                        let r = app.json(&m, &concrete, Some(&admin), None).await;
                        assert_eq!(
                            r.status,
                            StatusCode::UNAUTHORIZED,
                            "{m} {path} is for agents"
                        );
                        checked += 1;
                        continue;
                    }
                    let admin_allowed = roles.iter().any(|r| r == "super_admin");
                    // A fresh session each time: one of these operations is logout.
                    let (admin, _) = app.login("admin").await;
                    let r = app.json(&m, &concrete, Some(&admin), None).await;
                    if !admin_allowed {
                        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {path} denies admins");
                    } else {
                        assert_ne!(r.status, StatusCode::FORBIDDEN, "{m} {path} allows admins");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[tokio::test]
    async fn health_readiness_and_metrics() {
        let app = test_app().await;
        assert_eq!(app.page("GET", "/healthz", None, None).await.body, "ok");
        assert_eq!(
            app.page("GET", "/readyz", None, None).await.status,
            StatusCode::OK
        );
        app.state.metrics.reject("bad_signature");
        app.f
            .store
            .set_router_online("agent-1", true)
            .await
            .unwrap();
        app.f.issue().await;
        let m = app.page("GET", "/metrics", None, None).await;
        assert!(m.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        for line in [
            "mtm_ingest_rejects_total{reason=\"bad_signature\"} 1",
            "mtm_commands_pending 1",
            "mtm_agents_online 1",
            "mtm_ingest_applied_total 0",
        ] {
            assert!(m.body.contains(line), "{line} in {}", m.body);
        }
    }
}
