//! Enrollment's JSON API: admins make codes, read a router's enrollment and revoke it; agents
//! redeem a code (`mtm-agent enroll`) with no session, rate-limited per address.

use super::{
    broker_address, broker_failed, issue_code, release_public_key, revoke_router, EnrollmentCode,
};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, ManagerUp, Refusal};
use crate::store::{enrollment_code_hash, now_ms, EnrollmentState, Redeemed, Router as RouterRow};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mtm_common::enrollment::EnrollRefusal;
use mtm_common::enrollment::{EnrollRequest, EnrollResponse};
use serde::Deserialize;
use std::net::SocketAddr;
use uuid::Uuid;

/// The JSON routes: codes and revocation for admins, redeeming a code for agents.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/routers/{id}/enrollment-code", post(create_code))
        .route("/api/routers/{id}/enrollment", get(state))
        .route("/api/routers/{id}/revoke", post(revoke))
        .route("/api/enroll", post(enroll))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_code, state, revoke, enroll))]
pub(crate) struct Doc;

/// Body of `POST /api/routers/{id}/enrollment-code` (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Lifetime in seconds (60 s to 30 days); the server's default when absent.
    pub ttl_s: Option<u64>,
}

#[utoipa::path(
    post,
    path = "/api/routers/{id}/enrollment-code",
    summary = "A one-time enrollment code for this router",
    description = "Shown once, stored hashed, single use, expires; replaces the router's unused code. Audited.",
    params(("id" = Uuid, Path, description = "Router id")),
    request_body = Option<CodeRequest>,
    responses(
        (status = 201, description = "The code, shown once", body = EnrollmentCode),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn create_code(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    body: Option<Json<CodeRequest>>,
) -> AppResult<(StatusCode, Json<EnrollmentCode>)> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let code = issue_code(&state, &cur, id, req.ttl_s).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

#[utoipa::path(
    get,
    path = "/api/routers/{id}/enrollment",
    summary = "Enrollment state of a router",
    description = "Last enrollment, revocation, expiry of its live code.",
    params(("id" = Uuid, Path, description = "Router id")),
    responses(
        (status = 200, description = "Its enrollment state", body = EnrollmentState),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn state(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<EnrollmentState>> {
    Ok(Json(
        state
            .store
            .enrollment_state(id)
            .await?
            .ok_or(AppError::NotFound)?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/routers/{id}/revoke",
    summary = "Revoke the router's agent",
    description = "For a lost device: its key and MQTT password stop working at once, its unused code too. Audited. Enroll a replacement with a new code.",
    params(("id" = Uuid, Path, description = "Router id")),
    responses(
        (status = 200, description = "The router now", body = crate::store::Router),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn revoke(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<RouterRow>> {
    Ok(Json(revoke_router(&state, &cur, id).await?))
}

/// Why `POST /api/enroll` refused: a stable `reason` for the agent and a sentence for people.
#[derive(Debug)]
pub struct EnrollError {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl EnrollError {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        EnrollError {
            status,
            reason,
            message: message.into(),
        }
    }
}

impl From<AppError> for EnrollError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        // AppError's own response logs internal errors; only its status is kept.
        let status = e.into_response().status();
        EnrollError::new(status, "error", message)
    }
}

impl IntoResponse for EnrollError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(EnrollRefusal {
                error: self.message,
                reason: self.reason.to_owned(),
            }),
        )
            .into_response()
    }
}

#[utoipa::path(
    post,
    path = "/api/enroll",
    summary = "Redeem an enrollment code",
    description = "Used by `mtm-agent enroll`, with no session: stores the agent's public key on the code's router, makes fresh MQTT credentials and returns them once with the broker address and the control plane's key. Failed attempts are rate-limited per address.",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled", body = EnrollResponse),
        (status = 400, description = "Malformed request", body = EnrollRefusal),
        (status = 404, description = "Unknown code", body = EnrollRefusal),
        (status = 409, description = "Code used or router revoked", body = EnrollRefusal),
        (status = 410, description = "Code expired", body = EnrollRefusal),
        (status = 429, description = "Too many attempts from this address", body = EnrollRefusal),
    ),
)]
async fn enroll(
    State(state): State<AppState>,
    ext: Extensions,
    headers: axum::http::HeaderMap,
    Json(req): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, EnrollError> {
    let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let addr = state.limiter.client(peer, &headers);
    // Counted per address in enrollment's own bucket: codes cannot be guessed, but a flood can
    // be slowed, and it must not spend the logins' budget (nor they its).
    let store = state.store.as_ref();
    let attempt = match state.limiter.reserve_enrollment(store, &addr).await {
        Ok(a) => a,
        Err(Refusal::Limited) => {
            return Err(EnrollError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many failed enrollments from this address; try again later",
            ))
        }
        Err(_) => {
            // Fail closed: without the shared counts a flood cannot be told from an installer.
            return Err(EnrollError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "limits_unavailable",
                "enrollment is unavailable for a moment (attempt limits cannot be read); try again later",
            ));
        }
    };
    if mtm_common::keys::parse_public_key(&req.public_key_hex).is_err() {
        // Malformed requests count as failures too: they are what a flood sends.
        attempt.failed(store, &state.limiter).await;
        return Err(EnrollError::new(
            StatusCode::BAD_REQUEST,
            "bad_key",
            "public_key_hex must be an ed25519 public key, 64 hex characters",
        ));
    }
    if req.agent_version.len() > 64 || req.code.len() > 64 {
        attempt.failed(store, &state.limiter).await;
        return Err(EnrollError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "code or agent_version too long",
        ));
    }
    let password = hex::encode(rand::random::<[u8; 32]>());
    let now = now_ms();
    let outcome = match state
        .store
        .redeem_enrollment_code(
            &enrollment_code_hash(&req.code),
            &req.public_key_hex,
            &password,
            &req.agent_version,
            now,
        )
        .await
    {
        Ok(o) => o,
        Err(e) => {
            attempt.abandoned(store).await;
            return Err(AppError::from(e).into());
        }
    };
    let refusal = match outcome {
        Redeemed::Enrolled(r) => Ok(r),
        Redeemed::Unknown => Err((
            StatusCode::NOT_FOUND,
            "unknown_code",
            "unknown enrollment code (check what you typed)",
        )),
        Redeemed::Used => Err((
            StatusCode::CONFLICT,
            "used",
            "this enrollment code was used already; ask an admin for a new one",
        )),
        Redeemed::Replaced => Err((
            StatusCode::GONE,
            "replaced",
            "this enrollment code was replaced by a newer one or the router was revoked",
        )),
        Redeemed::Expired => Err((
            StatusCode::GONE,
            "expired",
            "this enrollment code has expired; ask an admin for a new one",
        )),
    };
    let router = match refusal {
        Ok(r) => r,
        Err((status, reason, message)) => {
            attempt.failed(store, &state.limiter).await;
            tracing::info!(addr, reason, "enrollment refused");
            return Err(EnrollError::new(status, reason, message));
        }
    };
    attempt.succeeded(store).await;
    if let Err(e) = state
        .settings
        .enrollment
        .broker
        .issue(&router.agent_id, &password)
        .await
    {
        broker_failed(&state, &router.agent_id, &router, "issue", &e).await;
        return Err(EnrollError::new(
            StatusCode::BAD_GATEWAY,
            "broker",
            format!(
                "the code was accepted, but the MQTT broker did not take the new login: {e}; \
                 ask an admin for a new code once the broker answers"
            ),
        ));
    }
    tracing::info!(agent = %router.agent_id, addr, "agent enrolled");
    let (mqtt_host, mqtt_port) = broker_address(&state);
    Ok(Json(EnrollResponse {
        agent_id: router.agent_id.clone(),
        mqtt_host,
        mqtt_port,
        mqtt_username: router.agent_id,
        mqtt_password: password,
        control_plane_public_key: state.settings.control_plane_public_key.clone(),
        release_public_key: release_public_key(&state),
        mqtt_tls_pin_sha256: state.settings.enrollment.mqtt_tls_pin_sha256.clone(),
    }))
}
