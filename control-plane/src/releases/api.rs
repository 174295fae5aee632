//! The JSON API of releases: upload and list (admins), rollout (admins), download (agents).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use uuid::Uuid;

use super::{
    bin_path, internal, load, store_release, NewRelease, ReleaseInfo, ReleasesDir, Rollout,
    RolloutResult,
};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth};

/// The API routes (layers are added by `releases::router`).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/releases", post(upload).get(list))
        .route("/api/releases/{id}/download", get(download))
        .route("/api/releases/{id}/rollout", post(rollout))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, upload, download, rollout))]
pub(crate) struct Doc;

#[utoipa::path(
    post,
    path = "/api/releases",
    summary = "Upload an agent release signed offline with `mtm-server release sign`",
    description = "Body limit 200 MiB. The server never signs; when DATA/releases/release.pub holds the release public key it refuses a signature that does not verify. Audited. The console's /admin/releases page uploads through the same checks.",
    request_body = NewRelease,
    responses(
        (status = 201, description = "Stored", body = ReleaseInfo),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn upload(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewRelease>,
) -> AppResult<(StatusCode, Json<ReleaseInfo>)> {
    let binary = base64::engine::general_purpose::STANDARD
        .decode(req.binary_base64.trim())
        .map_err(|_| AppError::BadRequest("binary_base64 is not base64".into()))?;
    let info = store_release(
        &state,
        &dir,
        &cur,
        &req.version,
        &req.target,
        &req.signature_hex,
        &binary,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

#[utoipa::path(
    get,
    path = "/api/releases",
    summary = "Stored agent releases, newest first",
    responses(
        (status = 200, description = "Stored releases", body = Vec<ReleaseInfo>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn list(
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    _: Auth<AdminOnly>,
) -> AppResult<Json<Vec<ReleaseInfo>>> {
    Ok(Json(super::list(&dir)?))
}

// Agents have no session: they prove themselves with their MQTT credentials.
#[utoipa::path(
    get,
    path = "/api/releases/{id}/download",
    summary = "The release binary, for agents",
    description = "HTTP basic auth with the agent id and its MQTT password (sessions and JWTs are not accepted).",
    params(("id" = Uuid, Path, description = "Release id")),
    responses(
        (status = 200, description = "The binary", content_type = "application/octet-stream"),
    ),
    extensions(("x-roles" = json!(["agent"]))),
)]
async fn download(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some((user, pass)) = basic_auth(&headers) else {
        return Ok(unauthorized());
    };
    if !state.store.check_mqtt_password(&user, &pass).await? {
        return Ok(unauthorized());
    }
    let info = load(&dir, id)?;
    let bytes = std::fs::read(bin_path(&dir, id)).map_err(internal)?;
    tracing::info!(agent = %user, release = %id, version = %info.version, "release downloaded");
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"mtm releases\"")],
        Json(serde_json::json!({"error": "agent credentials required"})),
    )
        .into_response()
}

pub(super) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

#[utoipa::path(
    post,
    path = "/api/releases/{id}/rollout",
    summary = "Roll a release out",
    description = "An UpdateAgent command to a stable percentage of routers or to listed agents, superseding an unanswered older one and resent until answered. Audited.",
    params(("id" = Uuid, Path, description = "Release id")),
    request_body = Rollout,
    responses(
        (status = 200, description = "The commands queued", body = RolloutResult),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn rollout(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Json(req): Json<Rollout>,
) -> AppResult<Json<RolloutResult>> {
    Ok(Json(
        super::start_rollout(&state, &dir, &cur, id, &req).await?,
    ))
}
