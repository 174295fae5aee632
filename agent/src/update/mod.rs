//! Signed agent updates, the device's half: check a release against the release key (kept
//! apart from the control-plane key), swap the binary atomically, and roll back when the new
//! binary does not prove healthy in time.
//!
//! The pieces, one file each: the release check here (a domain-separated ed25519 signature over
//! target, version, size and SHA-256, the one definition `mtm-server release sign` also uses
//! through [`Release::sign`]; downgrade and wrong-target refusal); [`apply`] carries out an
//! `UpdateAgent` command (download, check, install, record the trial); `install` swaps the
//! binary with a `.prev` backup; `trial` keeps the trial marker, rolls back at the next start
//! after a missed deadline and commits on health. [`crate::agent`] calls [`on_start`],
//! [`crate::mqtt`] calls [`healthy`] once the new version's Hello is acknowledged.

mod apply;
mod install;
mod trial;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

pub use apply::{apply, exe_path, MAX_RELEASE};
pub use install::{commit, install, rollback};
pub use mtm_common::release::{is_newer, Release, ReleaseError, DOMAIN};
pub use trial::{
    failed_on_trial, healthy, on_start, rollback_if_failed, write_pending, OnStart, Pending,
    ServiceExit, EXIT_RESTART, PENDING_FILE, TRIAL_S,
};

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

pub(crate) fn io(e: std::io::Error) -> UpdateError {
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

#[cfg(test)]
mod tests;
