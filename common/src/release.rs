//! The signed description of one agent build. The release key that signs it is kept apart from
//! the control-plane key: `mtm-server release sign` (on an admin's machine) makes signatures, the
//! agent checks them before installing a byte.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain tag in front of every signed release, so no other mtm signature can pass for one.
pub const DOMAIN: &[u8] = b"mtm/v1/release\0";

/// A release or version string could not be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    /// The release is not signed by the release key.
    #[error("release signature does not verify")]
    Signature,
    /// A field is malformed.
    #[error("malformed release: {0}")]
    Malformed(String),
}

/// One agent build, as the release key signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Target, e.g. `aarch64-linux`.
    pub target: String,
    /// Binary size, bytes.
    pub size: u64,
    /// SHA-256 of the binary, hex.
    pub sha256_hex: String,
}

impl Release {
    /// Describe `binary` as `version` for `target`.
    pub fn describe(version: &str, target: &str, binary: &[u8]) -> Release {
        Release {
            version: version.to_owned(),
            target: target.to_owned(),
            size: binary.len() as u64,
            sha256_hex: hex::encode(Sha256::digest(binary)),
        }
    }

    /// The exact bytes signed: the domain tag, then each field length-prefixed.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut out = DOMAIN.to_vec();
        for field in [
            self.version.as_bytes(),
            self.target.as_bytes(),
            &self.size.to_be_bytes(),
            self.sha256_hex.as_bytes(),
        ] {
            // Version, target and hash fields: far below 4 GiB, and these bytes are what
            // release signatures already cover, so the length prefix stays as it was.
            #[allow(clippy::cast_possible_truncation)]
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// Sign with the release key; the signature as hex.
    pub fn sign(&self, release_key: &SigningKey) -> String {
        hex::encode(release_key.sign(&self.signed_bytes()).to_bytes())
    }

    /// Check the signature against the release public key.
    pub fn verify_signature(
        &self,
        sig_hex: &str,
        release_key: &VerifyingKey,
    ) -> Result<(), ReleaseError> {
        let bytes: [u8; 64] = hex::decode(sig_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ReleaseError::Signature)?;
        release_key
            .verify(&self.signed_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| ReleaseError::Signature)
    }
}

/// `a` is a newer `MAJOR.MINOR.PATCH` than `b` (pre-release suffixes are ignored).
pub fn is_newer(a: &str, b: &str) -> Result<bool, ReleaseError> {
    fn parts(v: &str) -> Result<[u64; 3], ReleaseError> {
        let core = v.trim().split(['-', '+']).next().unwrap_or_default();
        let p: Vec<u64> = core
            .split('.')
            .map(|n| n.parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| ReleaseError::Malformed(format!("version {v:?}")))?;
        match p.as_slice() {
            [a, b, c] => Ok([*a, *b, *c]),
            _ => Err(ReleaseError::Malformed(format!("version {v:?}"))),
        }
    }
    Ok(parts(a)? > parts(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_release_verifies_and_any_change_does_not() {
        let key = crate::keys::generate_signing_key();
        let r = Release::describe("1.2.3", "aarch64-linux", b"binary");
        let sig = r.sign(&key);
        assert_eq!(r.verify_signature(&sig, &key.verifying_key()), Ok(()));
        let mut other = r.clone();
        other.version = "1.2.4".into();
        assert_eq!(
            other.verify_signature(&sig, &key.verifying_key()),
            Err(ReleaseError::Signature)
        );
        let stranger = crate::keys::generate_signing_key();
        assert!(r.verify_signature(&sig, &stranger.verifying_key()).is_err());
        assert!(r.verify_signature("zz", &key.verifying_key()).is_err());
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(is_newer("0.10.0", "0.9.9"), Ok(true));
        assert_eq!(is_newer("1.0.0", "1.0.0"), Ok(false));
        assert_eq!(is_newer("1.0.0-rc1", "0.9.0"), Ok(true));
        assert!(is_newer("1.0", "0.9.0").is_err());
    }
}
