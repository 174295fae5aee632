//! Signed agent updates (issue #8), the device's half: check a release against the release key
//! (kept apart from the control-plane key), swap the binary atomically, and roll back when the
//! new binary does not prove healthy in time.
//!
//! The pieces: a domain-separated ed25519 signature over target, version, size and SHA-256 (the
//! one definition; `mtm-server release sign` uses [`Release::sign`]); downgrade and wrong-target
//! refusal; atomic install with a `.prev` backup; trial marker, rollback at the next start after a
//! missed deadline, commit on health. [`crate::upgrade`] wires them to `CommandKind::UpdateAgent`;
//! [`crate::agent`] calls [`on_start`], [`crate::mqtt`] calls [`healthy`] once the new version's
//! Hello is acknowledged.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use mtm_common::release::{is_newer, Release, ReleaseError, DOMAIN};

/// File in the data directory recording an update on trial.
pub const PENDING_FILE: &str = "update-pending.json";

/// Why an update was refused or could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UpdateError {
    /// The download is not the announced size.
    #[error("size {got} differs from the release's {want}")]
    Size {
        /// Announced.
        want: u64,
        /// Downloaded.
        got: u64,
    },
    /// The download's SHA-256 differs from the release's.
    #[error("SHA-256 differs from the release's")]
    Hash,
    /// The release is not signed by the release key.
    #[error("release signature does not verify")]
    Signature,
    /// Built for another target.
    #[error("release is for {0}, this agent is {1}")]
    Target(String, String),
    /// Not newer than the running version.
    #[error("release {0} is not newer than the running {1}")]
    NotNewer(String, String),
    /// A field is malformed.
    #[error("malformed release: {0}")]
    Malformed(String),
    /// File system.
    #[error("{0}")]
    Io(String),
}

impl From<ReleaseError> for UpdateError {
    fn from(e: ReleaseError) -> Self {
        match e {
            ReleaseError::Signature => UpdateError::Signature,
            ReleaseError::Malformed(m) => UpdateError::Malformed(m),
        }
    }
}

fn io(e: std::io::Error) -> UpdateError {
    UpdateError::Io(e.to_string())
}

/// The target this binary was built for, e.g. `aarch64-linux`.
pub fn this_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// Everything checked before a byte is installed, cheapest first: target, version, size, hash,
/// signature.
pub fn verify(
    release: &Release,
    sig_hex: &str,
    release_key: &VerifyingKey,
    running_version: &str,
    binary: &[u8],
) -> Result<(), UpdateError> {
    if release.target != this_target() {
        return Err(UpdateError::Target(release.target.clone(), this_target()));
    }
    if !is_newer(&release.version, running_version)? {
        return Err(UpdateError::NotNewer(
            release.version.clone(),
            running_version.to_owned(),
        ));
    }
    if binary.len() as u64 != release.size {
        return Err(UpdateError::Size {
            want: release.size,
            got: binary.len() as u64,
        });
    }
    if hex::encode(Sha256::digest(binary)) != release.sha256_hex.to_lowercase() {
        return Err(UpdateError::Hash);
    }
    Ok(release.verify_signature(sig_hex, release_key)?)
}

fn sibling(exe: &Path, suffix: &str) -> PathBuf {
    let mut name = exe.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    exe.with_file_name(name)
}

/// Install a verified `binary` in place of `exe`: written beside it (mode 0755, synced), the
/// running one kept as `exe.prev`, then renamed over `exe` in one step, so a power cut leaves the
/// old binary or the new one, never half of either.
pub fn install(exe: &Path, binary: &[u8]) -> Result<(), UpdateError> {
    use std::io::Write;
    let new = sibling(exe, ".new");
    let prev = sibling(exe, ".prev");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o755);
    }
    let mut f = opts.open(&new).map_err(io)?;
    f.write_all(binary).and_then(|_| f.sync_all()).map_err(io)?;
    drop(f);
    let _ = std::fs::remove_file(&prev);
    std::fs::hard_link(exe, &prev)
        .or_else(|_| std::fs::copy(exe, &prev).map(|_| ()))
        .map_err(io)?;
    std::fs::rename(&new, exe).map_err(io)?;
    sync_dir(exe);
    Ok(())
}

/// Put `exe.prev` back; `false` if there is none.
pub fn rollback(exe: &Path) -> Result<bool, UpdateError> {
    let prev = sibling(exe, ".prev");
    if !prev.exists() {
        return Ok(false);
    }
    std::fs::rename(&prev, exe).map_err(io)?;
    sync_dir(exe);
    Ok(true)
}

/// The new binary proved healthy: drop the backup.
pub fn commit(exe: &Path) -> Result<(), UpdateError> {
    match std::fs::remove_file(sibling(exe, ".prev")) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// An update on trial, recorded before the restart into the new binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Version that was running.
    pub from_version: String,
    /// Version installed.
    pub to_version: String,
    /// Unix ms by which the new version must have proved healthy.
    pub deadline_ms: i64,
}

/// Record an update on trial in `data_dir`.
pub fn write_pending(data_dir: &Path, p: &Pending) -> Result<(), UpdateError> {
    let text = serde_json::to_string(p).map_err(|e| UpdateError::Malformed(e.to_string()))?;
    crate::enroll::write_private(&data_dir.join(PENDING_FILE), &text).map_err(io)
}

/// What a starting agent should do about an update on trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnStart {
    /// Nothing on trial.
    Normal,
    /// This is the new version on trial: call [`healthy`] once connected and acknowledged
    /// before the deadline, else restart (the next start rolls back).
    Trial(Pending),
    /// The trial failed: the old binary is back in place; restart into it.
    RolledBack(Pending),
}

/// Decide at start: the trial passed its deadline, or this is not the version installed (the
/// new one never started properly and something ran the old one), means roll back.
pub fn on_start(
    data_dir: &Path,
    exe: &Path,
    running_version: &str,
    now_ms: i64,
) -> Result<OnStart, UpdateError> {
    let path = data_dir.join(PENDING_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnStart::Normal),
        Err(e) => return Err(io(e)),
    };
    let p: Pending =
        serde_json::from_str(&text).map_err(|e| UpdateError::Malformed(e.to_string()))?;
    if running_version == p.to_version && now_ms < p.deadline_ms {
        return Ok(OnStart::Trial(p));
    }
    if running_version == p.from_version {
        // Already the old binary (rolled back before, or the swap never happened).
        let _ = std::fs::remove_file(&path);
        return Ok(OnStart::Normal);
    }
    rollback(exe)?;
    std::fs::remove_file(&path).map_err(io)?;
    Ok(OnStart::RolledBack(p))
}

/// The new version reported healthy: keep it.
pub fn healthy(data_dir: &Path, exe: &Path) -> Result<(), UpdateError> {
    commit(exe)?;
    match std::fs::remove_file(data_dir.join(PENDING_FILE)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// How the supervisor saw the service end: systemd's `SERVICE_RESULT`, `EXIT_CODE` and
/// `EXIT_STATUS` in `ExecStopPost=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceExit {
    /// `success`, `exit-code`, `signal`, `core-dump`, `timeout`, ...
    pub result: String,
    /// `exited`, `killed` or `dumped`.
    pub code: String,
    /// The exit status or the signal's name.
    pub status: String,
}

/// Whether a service end means the binary on trial failed: anything but a clean stop or the
/// agent asking to be restarted into a new binary ([`crate::upgrade::EXIT_RESTART`]). It covers
/// what the agent's own trial cannot: a new binary that does not start at all (systemd reports
/// `203/EXEC` for a wrong architecture), crashes before its trial begins (`dumped`, `ABRT`), or
/// refuses its config.
pub fn failed_on_trial(exit: &ServiceExit) -> bool {
    let restart = crate::upgrade::EXIT_RESTART.to_string();
    let clean = exit.result == "success"
        || (exit.code == "exited" && (exit.status == "0" || exit.status == restart));
    !clean
}

/// For the supervisor (`mtm-agent rollback-if-failed`, run by systemd after the service ended,
/// from a binary other than the one on trial): when an update is on trial in `data_dir` and
/// the service ended as [`failed_on_trial`] says, put the previous binary back in place of
/// `exe`. The trial marker stays: the old binary, started next, finds it names its own version
/// and carries on. Returns whether it rolled back.
pub fn rollback_if_failed(
    data_dir: &Path,
    exe: &Path,
    exit: &ServiceExit,
) -> Result<bool, UpdateError> {
    if !data_dir.join(PENDING_FILE).exists() || !failed_on_trial(exit) {
        return Ok(false);
    }
    rollback(exe)
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
