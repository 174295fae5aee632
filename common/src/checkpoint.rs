//! Signed checkpoints of the control plane's hash chains (the token ledger and the audit log).
//!
//! A hash chain shows an edited row but not a missing tail, nor a database restored from an
//! older backup. So the control plane signs, now and then, how long each chain is and the hash
//! of its newest row, and hands the signed checkpoint to witnesses the database owner does not
//! control (every agent, the daily report, an export directory). `mtm-server audit verify`
//! then compares the database with what was witnessed.
//!
//! The signature is the control plane's own (the key agents pin), over its own domain tag, so a
//! checkpoint can never pass for an envelope or a release, and it stays checkable long after
//! the envelope that carried it has expired.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Version of the checkpoint format; a verifier refuses any other.
pub const CHECKPOINT_VERSION: u8 = 1;

/// The token ledger's chain.
pub const LEDGER_CHAIN: &str = "token_ledger";

/// The audit log's chain.
pub const AUDIT_CHAIN: &str = "audit_log";

/// Every chain that is checkpointed.
pub const CHAINS: [&str; 2] = [LEDGER_CHAIN, AUDIT_CHAIN];

/// The most checkpoints one message may carry either way (an agent keeps fewer than this).
pub const MAX_CHECKPOINTS_PER_MESSAGE: usize = 2048;

/// Separates checkpoint signatures from any other use of the control-plane key.
const DOMAIN_TAG: &[u8] = b"mtm/v1/checkpoint\0";

/// Why a checkpoint is not believed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// Another format version.
    #[error("unsupported checkpoint version {0}")]
    Version(u8),
    /// A chain name other than [`CHAINS`], or a head hash that is not 64 hex characters.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// The signature does not hold for the control-plane key.
    #[error("bad checkpoint signature")]
    BadSignature,
}

/// One chain's length and head at one time, signed by the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub v: u8,
    /// Which chain: [`LEDGER_CHAIN`] or [`AUDIT_CHAIN`].
    pub chain: String,
    /// Rows in the chain, i.e. the id of its newest row (ids run 1, 2, 3, ... without gaps).
    pub rows: u64,
    /// Hash of row `rows` (64 hex characters); all zeros for an empty chain.
    pub head_hash: String,
    /// When it was signed, unix milliseconds.
    pub at: i64,
    /// ed25519 signature (hex) over the domain tag and the fields above.
    pub sig: String,
}

fn signed_bytes(v: u8, chain: &str, rows: u64, head_hash: &str, at: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN_TAG.len() + 1 + 8 + chain.len() + 8 + 4 + 64 + 8);
    m.extend_from_slice(DOMAIN_TAG);
    m.push(v);
    // Lengths are explicit so no two different checkpoints produce the same signed bytes.
    // A chain name, agent id or hash: far below 4 GiB, and these bytes are what signatures
    // already cover, so the length prefix stays exactly as it was.
    #[allow(clippy::cast_possible_truncation)]
    m.extend_from_slice(&(chain.len() as u32).to_be_bytes());
    m.extend_from_slice(chain.as_bytes());
    m.extend_from_slice(&rows.to_be_bytes());
    // A chain name, agent id or hash: far below 4 GiB, and these bytes are what signatures
    // already cover, so the length prefix stays exactly as it was.
    #[allow(clippy::cast_possible_truncation)]
    m.extend_from_slice(&(head_hash.len() as u32).to_be_bytes());
    m.extend_from_slice(head_hash.as_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m
}

impl Checkpoint {
    /// Sign `chain`'s length `rows` and head `head_hash` at `at_ms`.
    pub fn sign(key: &SigningKey, chain: &str, rows: u64, head_hash: &str, at_ms: i64) -> Self {
        let sig = key.sign(&signed_bytes(
            CHECKPOINT_VERSION,
            chain,
            rows,
            head_hash,
            at_ms,
        ));
        Checkpoint {
            v: CHECKPOINT_VERSION,
            chain: chain.to_owned(),
            rows,
            head_hash: head_hash.to_owned(),
            at: at_ms,
            sig: hex::encode(sig.to_bytes()),
        }
    }

    /// Check the format and the control plane's signature.
    pub fn verify(&self, cp_key: &VerifyingKey) -> Result<(), CheckpointError> {
        if self.v != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version(self.v));
        }
        if !CHAINS.contains(&self.chain.as_str()) {
            return Err(CheckpointError::Malformed(format!(
                "unknown chain {:?}",
                self.chain.chars().take(64).collect::<String>()
            )));
        }
        if self.head_hash.len() != 64 || !self.head_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CheckpointError::Malformed(
                "head hash is not 64 hex characters".into(),
            ));
        }
        let sig = hex::decode(&self.sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(CheckpointError::BadSignature)?;
        cp_key
            .verify(
                &signed_bytes(self.v, &self.chain, self.rows, &self.head_hash, self.at),
                &sig,
            )
            .map_err(|_| CheckpointError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_signing_key;

    const HEAD: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

    #[test]
    fn a_signed_checkpoint_verifies_and_any_change_is_refused() {
        let cp = generate_signing_key();
        let c = Checkpoint::sign(&cp, LEDGER_CHAIN, 100, HEAD, 1_800_000_000_000);
        assert_eq!(c.verify(&cp.verifying_key()), Ok(()));

        let other = generate_signing_key();
        assert_eq!(
            c.verify(&other.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut shorter = c.clone();
        shorter.rows = 95;
        assert_eq!(
            shorter.verify(&cp.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut moved = c.clone();
        moved.chain = AUDIT_CHAIN.into();
        assert_eq!(
            moved.verify(&cp.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut unknown = c.clone();
        unknown.chain = "users".into();
        assert!(matches!(
            unknown.verify(&cp.verifying_key()),
            Err(CheckpointError::Malformed(_))
        ));
        let mut later = c.clone();
        later.v = 2;
        assert_eq!(
            later.verify(&cp.verifying_key()),
            Err(CheckpointError::Version(2))
        );
    }

    #[test]
    fn checkpoints_travel_as_cbor() {
        let cp = generate_signing_key();
        let c = Checkpoint::sign(&cp, AUDIT_CHAIN, 3, HEAD, 1_800_000_000_000);
        let cbor = crate::envelope::to_cbor(&c).unwrap();
        let back: Checkpoint = crate::envelope::from_cbor(&cbor).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.verify(&cp.verifying_key()), Ok(()));
    }
}
