//! Enrollment and revocation of agents.
//!
//! An admin asks for a one-time code for a router record; the technician runs
//! `mtm-agent enroll --server URL --code CODE` on the device, which sends only the public key
//! it made there. Redeeming the code gives the router that key and a fresh MQTT password, so a
//! replaced device's old key and password stop working the moment the new one enrolls.
//! Revoking clears both at once: ingest can no longer verify the agent's envelopes (the key does
//! not parse) and the broker's login check matches no password. Logins on the broker itself
//! (Mosquitto dynsec) go through [`crate::broker::BrokerAccounts`].

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, ManagerUp, Refusal};
use crate::store::{enrollment_code_hash, now_ms, EnrollmentState, Redeemed, Router as RouterRow};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mtm_common::enrollment::EnrollRefusal;
pub use mtm_common::enrollment::{EnrollRequest, EnrollResponse};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use uuid::Uuid;

pub mod convergence;
mod pages;

/// Length of an enrollment code (without the dashes shown every four characters): 16 characters
/// of a 31-letter alphabet, about 79 bits.
pub const CODE_LEN: usize = 16;

/// Default lifetime of an enrollment code: a day, time enough for a site visit.
pub const DEFAULT_CODE_TTL_S: u64 = 24 * 3600;

/// Enrollment settings (server config keys `mqtt_public_addr` and `enrollment_code_ttl_s`).
#[derive(Clone)]
pub struct EnrollmentSettings {
    /// `host:port` agents should dial for the broker; `None`: the address the broker is bound to.
    pub mqtt_public_addr: Option<String>,
    /// SHA-256 (hex) of the embedded broker's TLS certificate, which agents pin; `None`: plain
    /// MQTT or an external broker.
    pub mqtt_tls_pin_sha256: Option<String>,
    /// Default lifetime of a new code, seconds.
    pub code_ttl_s: u64,
    /// Where agents' broker logins live besides the store (embedded broker, dynsec, or nowhere
    /// else); enrollment and revocation update them through it.
    pub broker: crate::broker::BrokerAccounts,
    /// The releases folder, whose `release.pub` (when the admin put one there) is handed to
    /// enrolling agents that have no release key of their own.
    pub releases_dir: Option<std::path::PathBuf>,
}

impl Default for EnrollmentSettings {
    fn default() -> Self {
        EnrollmentSettings {
            mqtt_public_addr: None,
            mqtt_tls_pin_sha256: None,
            code_ttl_s: DEFAULT_CODE_TTL_S,
            broker: crate::broker::BrokerAccounts::default(),
            releases_dir: None,
        }
    }
}

// BrokerAccounts prints only its kind, never the server's broker password.
impl std::fmt::Debug for EnrollmentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentSettings")
            .field("mqtt_public_addr", &self.mqtt_public_addr)
            .field("mqtt_tls_pin_sha256", &self.mqtt_tls_pin_sha256)
            .field("code_ttl_s", &self.code_ttl_s)
            .field("broker", &self.broker)
            .field("releases_dir", &self.releases_dir)
            .finish()
    }
}

/// Enrollment routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/routers/{id}/enrollment-code", post(create_code))
        .route("/api/routers/{id}/enrollment", get(state))
        .route("/api/routers/{id}/revoke", post(revoke))
        .route("/api/enroll", post(enroll))
        .route("/api/catalog/convergence", get(convergence::convergence))
        .merge(pages::router())
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_code, state, revoke, enroll, convergence::convergence))]
pub(crate) struct Doc;

/// Body of `POST /api/routers/{id}/enrollment-code` (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Lifetime in seconds (60 s to 30 days); the server's default when absent.
    pub ttl_s: Option<u64>,
}

/// A new enrollment code, shown this once (only its hash is stored).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnrollmentCode {
    /// The router it enrolls.
    pub router_id: Uuid,
    /// That router's agent id.
    pub agent_id: String,
    /// The code, in groups of four (dashes and case do not matter when typed).
    pub code: String,
    /// Unix ms after which the code is refused.
    pub expires_at: i64,
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

/// Make a one-time enrollment code for router `id` as admin `cur` (audited by the store),
/// replacing its unused ones; `ttl_s` defaults to the server's setting. The JSON route and the
/// admin page both come here.
pub(crate) async fn issue_code(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    id: Uuid,
    ttl_s: Option<u64>,
) -> AppResult<EnrollmentCode> {
    let ttl_s = ttl_s.unwrap_or(state.settings.enrollment.code_ttl_s);
    if !(60..=30 * 86_400).contains(&ttl_s) {
        return Err(AppError::Refused(
            crate::refusal::Refusal::new("err-enroll-ttl")
                .arg("min", 60)
                .arg("max", 30 * 86_400),
        ));
    }
    let router = state.store.router(id).await?.ok_or(AppError::NotFound)?;
    let raw = mtm_common::token_code::generate(CODE_LEN);
    let code = group(&raw);
    let now = now_ms();
    let expires_at = now + (ttl_s as i64) * 1000;
    state
        .store
        .create_enrollment_code(
            id,
            &enrollment_code_hash(&raw),
            expires_at,
            &cur.user.username,
            now,
        )
        .await?;
    Ok(EnrollmentCode {
        router_id: id,
        agent_id: router.agent_id,
        code,
        expires_at,
    })
}

/// `ABCD-EFGH-...`: easier to read out and type.
fn group(raw: &str) -> String {
    raw.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
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

/// Revoke router `id`'s agent as admin `cur` (audited by the store), then remove its broker
/// login and end its open session; the JSON route and the admin page both come here. Revoking
/// again is harmless, so a broker that failed the first time can be retried.
pub(crate) async fn revoke_router(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    id: Uuid,
) -> AppResult<RouterRow> {
    let router = state
        .store
        .revoke_router(id, &cur.user.username, now_ms())
        .await?;
    tracing::warn!(agent = %router.agent_id, by = %cur.user.username, "agent revoked");
    if let Err(e) = state
        .settings
        .enrollment
        .broker
        .revoke(&router.agent_id)
        .await
    {
        let refusal = crate::refusal::Refusal::new("err-revoke-broker").arg("reason", &e);
        broker_failed(state, &cur.user.username, &router, "revoke", &e).await;
        return Err(AppError::RefusedConflict(refusal));
    }
    Ok(router)
}

/// Audit and log a broker account change that failed (the error names the command and the
/// broker's reason, never a password).
pub(crate) async fn broker_failed(
    state: &AppState,
    actor: &str,
    router: &RouterRow,
    operation: &str,
    e: &crate::broker::BrokerError,
) {
    tracing::error!(agent = %router.agent_id, operation, error = %e, "broker account change failed");
    let entry = crate::store::AuditEntry {
        actor: actor.to_owned(),
        action: "router.broker_account_failed".into(),
        target: router.id.to_string(),
        detail: serde_json::json!({
            "agent_id": router.agent_id,
            "operation": operation,
            "broker": state.settings.enrollment.broker.kind(),
            "error": e.to_string(),
        }),
    };
    if let Err(audit) = state.store.audit(entry, now_ms()).await {
        tracing::error!(error = %audit, "auditing the broker failure failed");
    }
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

/// The release public key to hand out, if the admin put one in the releases folder. A broken
/// file does not stop an enrollment (the device can get its key from its kit); it is logged,
/// and uploads refuse until it is fixed.
fn release_public_key(state: &AppState) -> Option<String> {
    let dir = state.settings.enrollment.releases_dir.as_deref()?;
    match crate::releases::release_key(dir) {
        Ok(key) => key.map(|k| mtm_common::keys::public_key_hex(&k)),
        Err(e) => {
            tracing::warn!(error = %e, "release.pub not handed to the enrolling agent");
            None
        }
    }
}

/// The configured public broker address, or the one the broker is bound to.
fn broker_address(state: &AppState) -> (String, u16) {
    let bound = state.settings.mqtt_addr;
    match &state.settings.enrollment.mqtt_public_addr {
        Some(a) => split_host_port(a).unwrap_or((bound.ip().to_string(), bound.port())),
        None => (bound.ip().to_string(), bound.port()),
    }
}

/// `host:port` (or `[v6]:port`) into its parts.
pub fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port != 0).then(|| (host.to_owned(), port))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_pages;
