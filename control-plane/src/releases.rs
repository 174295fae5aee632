//! Signed agent releases (issue #8): an admin uploads a release signed offline with the release
//! key (the server never holds it), the server keeps it in `DATA/releases/`, serves it to
//! agents (HTTP basic auth with the agent's MQTT credentials), and rolls it out as an
//! `UpdateAgent` command to a percentage or a list of routers (commands are resent until
//! answered). Releases live as files (`{id}.bin` and `{id}.json`), not in the database: the
//! binary is the bulk, and the signature makes the metadata self-checking.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Json, Router};
use base64::Engine as _;
use mtm_common::release::Release;
use mtm_common::{AgentUpdate, CommandKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{now_ms, AuditEntry};

/// Largest release upload (base64 JSON of a binary).
pub const MAX_UPLOAD: usize = 200 * 1024 * 1024;

/// Where releases are kept.
#[derive(Clone, Debug)]
pub struct ReleasesDir(pub Arc<PathBuf>);

/// A stored release.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
pub struct Rollout {
    /// Percent of routers (1-100), chosen by a stable hash of agent id and release id.
    pub percent: Option<u8>,
    /// These agents.
    pub agent_ids: Option<Vec<String>>,
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

/// Release routes, with their own body limit (a binary is larger than the app's 64 KiB), the
/// session layer and the security headers; merged after the app's limit layer.
pub fn router(state: AppState, dir: PathBuf) -> Router {
    Router::new()
        .route("/api/releases", post(upload).get(list))
        .route("/api/releases/{id}/download", get(download))
        .route("/api/releases/{id}/rollout", post(rollout))
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

async fn upload(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewRelease>,
) -> AppResult<(StatusCode, Json<ReleaseInfo>)> {
    let binary = base64::engine::general_purpose::STANDARD
        .decode(req.binary_base64.trim())
        .map_err(|_| AppError::BadRequest("binary_base64 is not base64".into()))?;
    if binary.is_empty() {
        return Err(AppError::BadRequest("empty binary".into()));
    }
    mtm_common::release::is_newer(&req.version, "0.0.0")
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let target_ok = !req.target.is_empty()
        && req.target.len() <= 64
        && req
            .target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !target_ok {
        return Err(AppError::BadRequest(
            "target must be like aarch64-linux".into(),
        ));
    }
    let sig_ok = req.signature_hex.len() == 128 && hex::decode(&req.signature_hex).is_ok();
    if !sig_ok {
        return Err(AppError::BadRequest(
            "signature_hex must be 64 bytes of hex".into(),
        ));
    }
    // The server cannot check the signature without the release public key, which it need not
    // have: every agent checks it against its pinned key before installing.
    let r = Release::describe(&req.version, &req.target, &binary);
    let info = ReleaseInfo {
        id: Uuid::new_v4(),
        version: r.version,
        target: r.target,
        size: r.size,
        sha256_hex: r.sha256_hex,
        signature_hex: req.signature_hex.to_lowercase(),
        created_at: now_ms(),
        uploaded_by: cur.user.username.clone(),
    };
    std::fs::create_dir_all(dir.as_ref()).map_err(internal)?;
    let tmp = dir.join(format!("{}.tmp", info.id));
    std::fs::write(&tmp, &binary).map_err(internal)?;
    std::fs::rename(&tmp, bin_path(&dir, info.id)).map_err(internal)?;
    let meta = serde_json::to_string_pretty(&info).map_err(internal)?;
    std::fs::write(meta_path(&dir, info.id), meta).map_err(internal)?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "release.upload".into(),
        target: info.id.to_string(),
        detail: serde_json::json!({"version": info.version, "target": info.target,
            "size": info.size, "sha256": info.sha256_hex}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn list(
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    _: Auth<AdminOnly>,
) -> AppResult<Json<Vec<ReleaseInfo>>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir.as_ref()) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Json(out)),
        Err(e) => return Err(internal(e)),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = name
            .strip_suffix(".json")
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            out.push(load(&dir, id)?);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    Ok(Json(out))
}

// Agents have no session: they prove themselves with their MQTT credentials.
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

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// Whether `agent_id` falls in the first `percent` of a rollout, by a hash stable per release.
pub fn in_percent(release: Uuid, agent_id: &str, percent: u8) -> bool {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{release}/{agent_id}"));
    (u16::from_be_bytes([d[0], d[1]]) % 100) < u16::from(percent.min(100))
}

async fn rollout(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Json(req): Json<Rollout>,
) -> AppResult<Json<serde_json::Value>> {
    let info = load(&dir, id)?;
    let routers = state.store.list_routers().await?;
    let chosen: Vec<String> = match (&req.percent, &req.agent_ids) {
        (Some(p), None) if (1..=100).contains(p) => routers
            .iter()
            .map(|r| r.router.agent_id.clone())
            .filter(|a| in_percent(id, a, *p))
            .collect(),
        (None, Some(list)) if !list.is_empty() => {
            for a in list {
                if !routers.iter().any(|r| &r.router.agent_id == a) {
                    return Err(AppError::BadRequest(format!(
                        "no router with agent id {a:?}"
                    )));
                }
            }
            list.clone()
        }
        _ => {
            return Err(AppError::BadRequest(
                "give either percent (1-100) or a non-empty agent_ids".into(),
            ))
        }
    };
    let update = AgentUpdate {
        version: info.version.clone(),
        target: info.target.clone(),
        url_path: format!("/api/releases/{id}/download"),
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
        commands.push(serde_json::json!({"agent_id": agent, "command_id": cmd.id}));
    }
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "release.rollout".into(),
        target: id.to_string(),
        detail: serde_json::json!({"version": info.version, "target": info.target,
            "percent": req.percent, "agents": chosen}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(Json(
        serde_json::json!({"release_id": id, "commands": commands}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rollout_is_stable_and_grows() {
        let release = Uuid::new_v4();
        let agents: Vec<String> = (0..400).map(|i| format!("agent-{i}")).collect();
        let pick = |p: u8| -> Vec<&String> {
            agents
                .iter()
                .filter(|a| in_percent(release, a, p))
                .collect()
        };
        let (ten, fifty, all) = (pick(10), pick(50), pick(100));
        assert_eq!(all.len(), agents.len());
        assert!(ten.iter().all(|a| fifty.contains(a)), "10% is within 50%");
        assert!((10..=80).contains(&ten.len()), "about 10%: {}", ten.len());
        assert_eq!(pick(10), ten, "same routers every time");
    }

    #[test]
    fn basic_auth_is_parsed_and_garbage_is_none() {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode("r1:pa:ss");
        h.insert(header::AUTHORIZATION, format!("Basic {v}").parse().unwrap());
        assert_eq!(basic_auth(&h), Some(("r1".into(), "pa:ss".into())));
        h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic_auth(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic_auth(&h), None);
    }
}
