//! Locations and routers: admins enroll a router (and its agent) at a location and get the
//! agent's MQTT credentials once.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth, ManagerUp};
use crate::store::{
    now_ms, AuditEntry, Location, NewLocation, NewRouter, Router as RouterRow, RouterStatus,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Location and router routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/locations", get(list_locations).post(create_location))
        .route("/api/routers", get(list_routers).post(create_router))
}

async fn list_locations(
    State(state): State<AppState>,
    _: Auth<AnyRole>,
) -> AppResult<Json<Vec<Location>>> {
    Ok(Json(state.store.list_locations().await?))
}

async fn create_location(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewLocation>,
) -> AppResult<(StatusCode, Json<Location>)> {
    let l = state.store.create_location(req).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "location.create".into(),
        target: l.id.to_string(),
        detail: serde_json::json!({"name": l.name, "timezone": l.timezone}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(l)))
}

async fn list_routers(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
) -> AppResult<Json<Vec<RouterStatus>>> {
    Ok(Json(state.store.list_routers().await?))
}

/// Body of `POST /api/routers`.
#[derive(Deserialize)]
pub struct EnrollRouter {
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id (its MQTT username).
    pub agent_id: String,
    /// The agent's ed25519 public key, hex.
    pub public_key_hex: String,
}

/// Reply to an enrollment; the password is shown this once and stored only hashed.
#[derive(Serialize)]
pub struct Enrolled {
    /// The router.
    pub router: RouterRow,
    /// MQTT username for the agent.
    pub mqtt_username: String,
    /// MQTT password for the agent.
    pub mqtt_password: String,
    /// The control plane's public key, hex, for the agent to pin.
    pub control_plane_public_key: String,
}

async fn create_router(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<EnrollRouter>,
) -> AppResult<(StatusCode, Json<Enrolled>)> {
    let password = hex::encode(rand::random::<[u8; 24]>());
    let router = state
        .store
        .create_router(NewRouter {
            location_id: req.location_id,
            name: req.name,
            agent_id: req.agent_id.clone(),
            public_key_hex: req.public_key_hex,
            mqtt_password: password.clone(),
        })
        .await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "router.enroll".into(),
        target: router.id.to_string(),
        detail: serde_json::json!({"agent_id": router.agent_id, "location_id": router.location_id, "public_key_hex": router.public_key_hex}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(Enrolled {
            router,
            mqtt_username: req.agent_id,
            mqtt_password: password,
            control_plane_public_key: state.settings.control_plane_public_key.clone(),
        }),
    ))
}
