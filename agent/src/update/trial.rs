//! An installed update on trial: the marker written before the restart, the decision at the
//! next start (keep trying, or roll back), the commit once healthy, and the supervisor's check
//! after the service ended.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{commit, io, rollback, UpdateError};
use crate::private_file::write_private;

/// File in the data directory recording an update on trial.
pub const PENDING_FILE: &str = "update-pending.json";

/// How long a new version has to prove healthy (its Hello acknowledged) before the next start
/// rolls it back.
pub const TRIAL_S: i64 = 120;

/// Exit status asking the supervisor (systemd `Restart=always`, a container restart policy)
/// to start the binary again.
pub const EXIT_RESTART: u8 = 75;

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
    write_private(&data_dir.join(PENDING_FILE), text.as_bytes()).map_err(io)
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
/// agent asking to be restarted into a new binary ([`EXIT_RESTART`]). It covers
/// what the agent's own trial cannot: a new binary that does not start at all (systemd reports
/// `203/EXEC` for a wrong architecture), crashes before its trial begins (`dumped`, `ABRT`), or
/// refuses its config.
pub fn failed_on_trial(exit: &ServiceExit) -> bool {
    let restart = EXIT_RESTART.to_string();
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
