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
use crate::store::{enrollment_code_hash, now_ms, Router as RouterRow};
use axum::Router;
pub use mtm_common::enrollment::{EnrollRequest, EnrollResponse};
use serde::Serialize;
use uuid::Uuid;

mod api;
mod pages;

pub use api::{CodeRequest, EnrollError};

/// Enrollment routes: the JSON API and the admin's code and revoke pages.
pub fn router() -> Router<AppState> {
    api::router().merge(pages::router())
}

/// The JSON routes in the API document (merged by `api_doc::document`).
pub(crate) use api::Doc;

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

/// The release public key to hand out, if the admin put one in the releases folder. A broken
/// file does not stop an enrollment (the device can get its key from its kit); it is logged,
/// and uploads refuse until it is fixed.
pub(crate) fn release_public_key(state: &AppState) -> Option<String> {
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
pub(crate) fn broker_address(state: &AppState) -> (String, u16) {
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
