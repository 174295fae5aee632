//! The location and router API: locations listed, created and their settings changed; routers
//! listed and made.

use super::{
    change_location_settings, create_location as make_location, create_router as make_router,
    EnrollRouter,
};
use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth, ManagerUp};
use crate::store::{
    Location, LocationSettings, LocationSettingsChange, NewLocation, Router as RouterRow,
    RouterStatus,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use uuid::Uuid;

/// The location and router API's routes.
pub(super) fn router() -> Router<AppState> {
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
    let l = make_location(&state, &cur.user.username, req).await?;
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
    let agent_id = req.agent_id.clone();
    let (router, password) = make_router(&state, &cur.user.username, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(Enrolled {
            router,
            mqtt_username: agent_id,
            mqtt_password: password,
            control_plane_public_key: state.settings.control_plane_public_key.clone(),
        }),
    ))
}
