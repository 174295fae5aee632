//! Carrying out an `UpdateAgent` command: download the release from the control plane, check
//! it with [`super::verify`], install it atomically, record the trial, and ask the process to
//! restart into it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use mtm_common::{AgentUpdate, Command, CommandDone, CommandFailed, UpMessage};

use super::{Pending, Release, TRIAL_S};
use crate::config::AgentConfig;
use crate::http;
use crate::update;
use crate::version::running_version;

/// Largest release accepted (an agent binary is a few MiB; debug builds are larger).
pub const MAX_RELEASE: usize = 256 * 1024 * 1024;

static EXE: OnceLock<PathBuf> = OnceLock::new();

/// The path this process was started from, read once at start (after an install the kernel
/// calls the old inode "deleted", so it must not be read again later).
pub fn exe_path() -> &'static Path {
    EXE.get_or_init(|| std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mtm-agent")))
}

/// Download, verify and install `u`; the message to report. `Ok` means installed: the caller
/// records the result, then restarts.
pub async fn apply(
    cfg: &AgentConfig,
    cmd: &Command,
    u: &AgentUpdate,
) -> Result<UpMessage, UpMessage> {
    let fail = |reason: String| {
        tracing::warn!(command_id = %cmd.id, %reason, "update refused");
        UpMessage::CommandFailed(CommandFailed {
            command_id: cmd.id,
            reason,
            retryable: false,
        })
    };
    let Some(key_hex) = &cfg.release_key else {
        return Err(fail(
            "update refused: no release_key configured on this agent".into(),
        ));
    };
    let key = mtm_common::keys::parse_public_key(key_hex)
        .map_err(|e| fail(format!("release_key: {e}")))?;
    let Some(server) = &cfg.update_server else {
        return Err(fail(
            "update refused: no update_server configured on this agent".into(),
        ));
    };
    let release = Release {
        version: u.version.clone(),
        target: u.target.clone(),
        size: u.size,
        sha256_hex: u.sha256_hex.clone(),
    };
    let running = running_version();
    // Cheap checks before the download: a wrong target or an old version costs no traffic.
    if release.target != update::this_target() {
        return Err(fail(format!(
            "release is for {}, this agent is {}",
            release.target,
            update::this_target()
        )));
    }
    match update::is_newer(&release.version, running) {
        Ok(true) => {}
        Ok(false) => {
            return Err(fail(format!(
                "release {} is not newer than the running {running}",
                release.version
            )))
        }
        Err(e) => return Err(fail(e.to_string())),
    }
    // Checked, not `as`: on a 32-bit device a size above 4 GiB would wrap under the limit.
    if usize::try_from(u.size).map_or(true, |s| s > MAX_RELEASE) {
        return Err(fail(format!(
            "release of {} bytes is larger than allowed",
            u.size
        )));
    }
    let binary = download(cfg, server, &u.url_path, u.size)
        .await
        .map_err(|e| fail(format!("download failed: {e}")))?;
    update::verify(&release, &u.signature_hex, &key, running, &binary)
        .map_err(|e| fail(format!("update refused: {e}")))?;
    let exe = exe_path();
    update::install(exe, &binary).map_err(|e| fail(format!("install failed: {e}")))?;
    let pending = Pending {
        from_version: running.to_owned(),
        to_version: release.version.clone(),
        deadline_ms: crate::store::now_ms() + TRIAL_S * 1000,
    };
    update::write_pending(&cfg.data_dir, &pending)
        .map_err(|e| fail(format!("recording the trial failed: {e}")))?;
    tracing::info!(from = running, to = %release.version, "update installed; restarting");
    Ok(UpMessage::CommandDone(CommandDone {
        command_id: cmd.id,
        detail: format!(
            "installed {} ({}), restarting",
            release.version, release.target
        ),
    }))
}

async fn download(
    cfg: &AgentConfig,
    server: &str,
    path: &str,
    size: u64,
) -> Result<Vec<u8>, String> {
    let url = http::Url::parse(server).map_err(|e| e.to_string())?;
    if !url.tls && !url.is_loopback() {
        return Err("update_server must be https:// (http:// only to loopback)".into());
    }
    if !path.starts_with('/') || path.contains(['\r', '\n', ' ']) {
        return Err("malformed download path".into());
    }
    let basic = match (&cfg.mqtt.username, &cfg.mqtt.password) {
        (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
        _ => None,
    };
    let r = http::get(
        &url,
        path,
        basic,
        cfg.update_ca_file.as_deref(),
        Duration::from_secs(600),
        usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_add(64 * 1024),
    )
    .await
    .map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("server answered {}", r.status));
    }
    Ok(r.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtm_common::CommandKind;

    fn cmd(u: &AgentUpdate) -> Command {
        Command {
            id: uuid::Uuid::new_v4(),
            issued_at: 0,
            kind: CommandKind::UpdateAgent(u.clone()),
        }
    }

    fn update(target: &str, version: &str) -> AgentUpdate {
        AgentUpdate {
            version: version.into(),
            target: target.into(),
            url_path: "/api/releases/x/download".into(),
            size: 3,
            sha256_hex: "00".into(),
            signature_hex: "00".into(),
        }
    }

    fn reason(r: Result<UpMessage, UpMessage>) -> String {
        match r {
            Err(UpMessage::CommandFailed(f)) => {
                assert!(!f.retryable);
                f.reason
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn refused_before_any_download() {
        let mut cfg = AgentConfig::default();
        let u = update(&update::this_target(), "99.0.0");
        let r = reason(apply(&cfg, &cmd(&u), &u).await);
        assert!(r.contains("no release_key"), "{r}");

        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        cfg.release_key = Some(mtm_common::keys::public_key_hex(&key.verifying_key()));
        let r = reason(apply(&cfg, &cmd(&u), &u).await);
        assert!(r.contains("no update_server"), "{r}");

        // Plain http to another host would let anyone on the path feed us bytes to check.
        cfg.update_server = Some("http://192.0.2.1:1".into());
        let r = reason(apply(&cfg, &cmd(&u), &u).await);
        assert!(r.contains("https"), "{r}");

        let u = update("sparc-plan9", "99.0.0");
        let r = reason(apply(&cfg, &cmd(&u), &u).await);
        assert!(r.contains("sparc-plan9"), "{r}");

        let u = update(&update::this_target(), "0.0.1");
        let r = reason(apply(&cfg, &cmd(&u), &u).await);
        assert!(r.contains("not newer"), "{r}");
    }
}
