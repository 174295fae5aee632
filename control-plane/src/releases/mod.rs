//! Signed agent releases: an admin uploads a release signed offline with the release
//! key (the server never holds it), the server keeps it in `DATA/releases/`, serves it to
//! agents (HTTP basic auth with the agent's MQTT credentials), and rolls it out as an
//! `UpdateAgent` command to a percentage or a list of routers (commands are resent until
//! answered). Releases live as files (`{id}.bin` and `{id}.json`), not in the database: the
//! binary is the bulk, and the signature makes the metadata self-checking.
//!
//! The JSON API (`api`) and the console page (`pages`) both go through
//! [`store_release`] and [`start_rollout`], so a release is checked and audited the same way
//! whichever door it comes through.

mod api;
mod pages;
pub(crate) use api::Doc;
#[cfg(test)]
mod tests;

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Extension, Router};
use ed25519_dalek::VerifyingKey;
use mtm_common::release::Release;
use mtm_common::{AgentUpdate, CommandKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::refusal::Refusal;
use crate::store::{now_ms, AuditEntry};

/// Largest release upload (base64 JSON of a binary, or a multipart form).
pub const MAX_UPLOAD: usize = 200 * 1024 * 1024;

/// Optional file in the releases folder holding the release public key (hex, as `mtm-server
/// release keygen` prints it). When present, uploads whose signature does not verify are
/// refused; agents check the signature either way.
pub const RELEASE_KEY_FILE: &str = "release.pub";

/// Where releases are kept.
#[derive(Clone, Debug)]
pub struct ReleasesDir(pub Arc<PathBuf>);

/// A stored release.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseInfo {
    /// Id.
    pub id: Uuid,
    /// Version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Target, e.g. `aarch64-linux`.
    pub target: String,
    /// Binary size, bytes.
    pub size: u64,
    /// SHA-256 of the binary, hex.
    pub sha256_hex: String,
    /// Release-key signature, hex.
    pub signature_hex: String,
    /// Uploaded at, unix ms.
    pub created_at: i64,
    /// Uploaded by.
    pub uploaded_by: String,
}

/// A release upload: the signature from `mtm-server release sign` and the binary, base64.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRelease {
    /// Version.
    pub version: String,
    /// Target.
    pub target: String,
    /// Signature, hex.
    pub signature_hex: String,
    /// The binary, standard base64.
    pub binary_base64: String,
}

/// Who gets a release: a percentage of enrolled routers, or a list of agent ids.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Rollout {
    /// Percent of routers (1-100), chosen by a stable hash of agent id and release id.
    pub percent: Option<u8>,
    /// These agents.
    pub agent_ids: Option<Vec<String>>,
}

/// The commands one rollout queued.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RolloutResult {
    /// The release.
    pub release_id: Uuid,
    /// One command per chosen router.
    pub commands: Vec<RolloutCommand>,
}

/// One router's update command.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RolloutCommand {
    /// The router's agent.
    pub agent_id: String,
    /// The queued command.
    pub command_id: Uuid,
}

/// The signature file `mtm-server release sign` writes (and the upload's fields but the binary).
#[derive(Debug, Serialize, Deserialize)]
pub struct SignedRelease {
    /// The signed fields.
    #[serde(flatten)]
    pub release: Release,
    /// Signature, hex.
    pub signature_hex: String,
}

/// Release routes (the JSON API and the console page), with their own body limit (a binary is
/// larger than the app's 64 KiB), the session layer and the security headers; merged after the
/// app's limit layer.
pub fn router(state: AppState, dir: PathBuf) -> Router {
    Router::new()
        .merge(api::router())
        .merge(pages::router())
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(Extension(ReleasesDir(Arc::new(dir))))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::session_layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::web::security_headers,
        ))
        .with_state(state)
}

fn meta_path(dir: &FsPath, id: Uuid) -> PathBuf {
    dir.join(format!("{id}.json"))
}

fn bin_path(dir: &FsPath, id: Uuid) -> PathBuf {
    dir.join(format!("{id}.bin"))
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// Read one release's metadata.
pub fn load(dir: &FsPath, id: Uuid) -> AppResult<ReleaseInfo> {
    let text = match std::fs::read_to_string(meta_path(dir, id)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(internal(e)),
    };
    serde_json::from_str(&text).map_err(internal)
}

/// Every stored release, newest first.
pub fn list(dir: &FsPath) -> AppResult<Vec<ReleaseInfo>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(internal(e)),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = name
            .strip_suffix(".json")
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            out.push(load(dir, id)?);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    Ok(out)
}

/// The release public key from [`RELEASE_KEY_FILE`], if the admin put one there. A file that
/// does not hold a key is a conflict the admin must fix, not a reason to skip the check.
pub fn release_key(dir: &FsPath) -> AppResult<Option<VerifyingKey>> {
    let text = match std::fs::read_to_string(dir.join(RELEASE_KEY_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(internal(e)),
    };
    mtm_common::keys::parse_public_key(text.trim())
        .map(Some)
        .map_err(|_| {
            AppError::RefusedConflict(
                Refusal::new("err-release-key-file").arg("file", RELEASE_KEY_FILE),
            )
        })
}

/// Check an upload, store it and audit it: the one path for the API and the console.
pub async fn store_release(
    state: &AppState,
    dir: &FsPath,
    cur: &CurrentUser,
    version: &str,
    target: &str,
    signature_hex: &str,
    binary: &[u8],
) -> AppResult<ReleaseInfo> {
    let (version, target, signature_hex) = (version.trim(), target.trim(), signature_hex.trim());
    if binary.is_empty() {
        return Err(AppError::Refused(Refusal::new("err-release-empty")));
    }
    mtm_common::release::is_newer(version, "0.0.0").map_err(|_| {
        AppError::Refused(Refusal::new("err-release-version").arg("version", version))
    })?;
    let target_ok = !target.is_empty()
        && target.len() <= 64
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !target_ok {
        return Err(AppError::Refused(Refusal::new("err-release-target")));
    }
    let sig_ok = signature_hex.len() == 128 && hex::decode(signature_hex).is_ok();
    if !sig_ok {
        return Err(AppError::Refused(Refusal::new("err-release-signature-hex")));
    }
    let r = Release::describe(version, target, binary);
    // Without the public key the server cannot check the signature; every agent checks it
    // against its pinned key before installing anyway.
    if let Some(key) = release_key(dir)? {
        r.verify_signature(signature_hex, &key)
            .map_err(|_| AppError::Refused(Refusal::new("err-release-bad-signature")))?;
    }
    let info = ReleaseInfo {
        id: Uuid::new_v4(),
        version: r.version,
        target: r.target,
        size: r.size,
        sha256_hex: r.sha256_hex,
        signature_hex: signature_hex.to_lowercase(),
        created_at: now_ms(),
        uploaded_by: cur.user.username.clone(),
    };
    std::fs::create_dir_all(dir).map_err(internal)?;
    let tmp = dir.join(format!("{}.tmp", info.id));
    std::fs::write(&tmp, binary).map_err(internal)?;
    std::fs::rename(&tmp, bin_path(dir, info.id)).map_err(internal)?;
    let meta = serde_json::to_string_pretty(&info).map_err(internal)?;
    std::fs::write(meta_path(dir, info.id), meta).map_err(internal)?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "release.upload".into(),
        target: info.id.to_string(),
        detail: serde_json::json!({"version": info.version, "target": info.target,
            "size": info.size, "sha256": info.sha256_hex}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(info)
}

/// Whether `agent_id` falls in the first `percent` of a rollout, by a hash stable per release.
pub fn in_percent(release: Uuid, agent_id: &str, percent: u8) -> bool {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{release}/{agent_id}"));
    (u16::from_be_bytes([d[0], d[1]]) % 100) < u16::from(percent.min(100))
}

/// The agent ids a rollout reaches, checked against the enrolled routers.
pub async fn rollout_agents(state: &AppState, id: Uuid, req: &Rollout) -> AppResult<Vec<String>> {
    let routers = state.store.list_routers().await?;
    match (&req.percent, &req.agent_ids) {
        (Some(p), None) if (1..=100).contains(p) => Ok(routers
            .iter()
            .map(|r| r.router.agent_id.clone())
            .filter(|a| in_percent(id, a, *p))
            .collect()),
        (None, Some(list)) if !list.is_empty() => {
            for a in list {
                if !routers.iter().any(|r| &r.router.agent_id == a) {
                    return Err(AppError::Refused(
                        Refusal::new("err-release-no-agent").arg("agent", a),
                    ));
                }
            }
            Ok(list.clone())
        }
        _ => Err(AppError::Refused(Refusal::new(
            "err-release-percent-or-agents",
        ))),
    }
}

/// The download path agents are sent for a release.
pub fn download_path(id: Uuid) -> String {
    format!("/api/releases/{id}/download")
}

/// Queue an `UpdateAgent` command for each router a rollout reaches, send it, and audit the
/// rollout: the one path for the API and the console.
pub async fn start_rollout(
    state: &AppState,
    dir: &FsPath,
    cur: &CurrentUser,
    id: Uuid,
    req: &Rollout,
) -> AppResult<RolloutResult> {
    let info = load(dir, id)?;
    let chosen = rollout_agents(state, id, req).await?;
    let update = AgentUpdate {
        version: info.version.clone(),
        target: info.target.clone(),
        url_path: download_path(id),
        size: info.size,
        sha256_hex: info.sha256_hex.clone(),
        signature_hex: info.signature_hex.clone(),
    };
    let mut commands = Vec::new();
    for agent in &chosen {
        // A newer rollout supersedes an unanswered older one for the same router.
        let cmd = state
            .store
            .enqueue_command(agent, CommandKind::UpdateAgent(update.clone()), true)
            .await?;
        if let Err(e) = state.dispatcher.send(&cmd).await {
            tracing::warn!(error = %e, %agent, "update stored; send failed, will resend");
        }
        commands.push(RolloutCommand {
            agent_id: agent.clone(),
            command_id: cmd.id,
        });
    }
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "release.rollout".into(),
        target: id.to_string(),
        detail: serde_json::json!({"version": info.version, "target": info.target,
            "percent": req.percent, "agents": chosen}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(RolloutResult {
        release_id: id,
        commands,
    })
}
