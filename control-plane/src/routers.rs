//! Locations and routers: admins enroll a router (and its agent) at a location and get the
//! agent's MQTT credentials once.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth, ManagerUp};
use crate::store::{
    now_ms, AuditEntry, Location, LocationSettings, LocationSettingsChange, NewLocation, NewRouter,
    Router as RouterRow, RouterStatus,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Location and router routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/locations", get(list_locations).post(create_location))
        .route(
            "/api/locations/{id}",
            get(location_settings).patch(update_location_settings),
        )
        .route("/api/routers", get(list_routers).post(create_router))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_locations,
    create_location,
    location_settings,
    update_location_settings,
    list_routers,
    create_router
))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/api/locations",
    summary = "All locations",
    responses(
        (status = 200, description = "Every location", body = Vec<Location>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn list_locations(
    State(state): State<AppState>,
    _: Auth<AnyRole>,
) -> AppResult<Json<Vec<Location>>> {
    Ok(Json(state.store.list_locations().await?))
}

#[utoipa::path(
    post,
    path = "/api/locations",
    summary = "Create a location",
    request_body = NewLocation,
    responses(
        (status = 201, description = "Created", body = Location),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
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

/// A location's reconciliation settings (time zone, cash threshold, close time).
#[utoipa::path(
    get,
    path = "/api/locations/{id}",
    summary = "A location's reconciliation settings",
    description = "Time zone, cash variance threshold, daily close time.",
    params(("id" = Uuid, Path, description = "Location id")),
    responses(
        (status = 200, description = "The settings", body = LocationSettings),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn location_settings(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<LocationSettings>> {
    let found = state.store.location_settings(id).await?;
    Ok(Json(found.ok_or(crate::app::AppError::NotFound)?))
}

/// Change a location's settings; the time zone must be one the server can load.
#[utoipa::path(
    patch,
    path = "/api/locations/{id}",
    summary = "Change a location's reconciliation settings",
    description = "Its time zone (IANA name, UTC or +HH:MM), cash variance threshold (minor units) or close time (HH:MM); audited.",
    params(("id" = Uuid, Path, description = "Location id")),
    request_body = LocationSettingsChange,
    responses(
        (status = 200, description = "The settings now", body = LocationSettings),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn update_location_settings(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Json(change): Json<LocationSettingsChange>,
) -> AppResult<Json<LocationSettings>> {
    Ok(Json(
        change_location_settings(&state, &cur, id, &change).await?,
    ))
}

/// Apply a change to a location's settings as `cur` (audited by the store); the JSON route and
/// the admin page both come here.
pub(crate) async fn change_location_settings(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    id: Uuid,
    change: &LocationSettingsChange,
) -> AppResult<LocationSettings> {
    if let Some(z) = &change.timezone {
        crate::zones::load_zone(z).map_err(|e| crate::app::AppError::Refused(e.refusal()))?;
    }
    // Checked here too (the store checks it again) so that a page says it in its language.
    if let Some(c) = &change.close_time {
        crate::reconcile::parse_close_time(c).map_err(|_| {
            crate::app::AppError::Refused(
                crate::refusal::Refusal::new("err-close-time").arg("time", c),
            )
        })?;
    }
    Ok(state
        .store
        .update_location_settings(id, change, &cur.user.username, now_ms())
        .await?)
}

#[utoipa::path(
    get,
    path = "/api/routers",
    summary = "Routers with online state, last seen, latest health and usage",
    responses(
        (status = 200, description = "Every router", body = Vec<RouterStatus>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn list_routers(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
) -> AppResult<Json<Vec<RouterStatus>>> {
    Ok(Json(state.store.list_routers().await?))
}

/// Body of `POST /api/routers`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct EnrollRouter {
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id (its MQTT username).
    pub agent_id: String,
    /// The agent's ed25519 public key, hex. Leave it out to enroll the agent on the device with
    /// a one-time code instead (`POST /api/routers/{id}/enrollment-code`); until then the router
    /// has no MQTT login.
    #[serde(default)]
    pub public_key_hex: String,
}

/// Reply to an enrollment; the password is shown this once and stored only hashed.
#[derive(Serialize, utoipa::ToSchema)]
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

#[utoipa::path(
    post,
    path = "/api/routers",
    summary = "Create a router record",
    description = "With public_key_hex the agent is enrolled by hand (MQTT password shown once), without it the router waits for an enrollment code.",
    request_body = EnrollRouter,
    responses(
        (status = 201, description = "Created", body = Enrolled),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn create_router(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<EnrollRouter>,
) -> AppResult<(StatusCode, Json<Enrolled>)> {
    let password = if req.public_key_hex.trim().is_empty() {
        String::new()
    } else {
        hex::encode(rand::random::<[u8; 24]>())
    };
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
    if !password.is_empty() {
        issue_broker_login(&state, &cur.user.username, &router, &password).await?;
    }
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

/// Give a router made with a public key its MQTT `password` on the broker too (dynsec); a
/// failure is audited and explained: the router exists, its login does not yet. The JSON route
/// comes here, and so should every other place that makes a router with credentials.
pub(crate) async fn issue_broker_login(
    state: &AppState,
    actor: &str,
    router: &RouterRow,
    password: &str,
) -> AppResult<()> {
    let Err(e) = state
        .settings
        .enrollment
        .broker
        .issue(&router.agent_id, password)
        .await
    else {
        return Ok(());
    };
    crate::enrollment::broker_failed(state, actor, router, "issue", &e).await;
    Err(crate::app::AppError::RefusedConflict(
        crate::refusal::Refusal::new("err-router-broker-login")
            .arg("router", router.id)
            .arg("reason", &e),
    ))
}
