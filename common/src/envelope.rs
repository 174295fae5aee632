//! The signed envelope every MQTT payload travels in.
//!
//! The signature covers the exact body bytes sent (plus a domain tag and the header fields), so no
//! canonical CBOR is needed and a broker that is taken over cannot forge or alter a message.
//! The header names the recipient as well as the sender, so a message sealed for one agent (a
//! command, an acknowledgement) cannot be moved to another: [`Envelope::open`] refuses anything
//! not addressed to the one opening it.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Version of the envelope format; a receiver refuses any other. Version 2 added `to`: a
/// version-1 envelope names no recipient and could be replayed to any agent.
pub const PROTOCOL_VERSION: u8 = 2;

/// The largest envelope either side accepts. A full inventory of a busy router (a few thousand
/// hotspot users) fits comfortably; anything larger is refused before it is decoded.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// Separates mtm signatures from any other use of the same key.
const DOMAIN_TAG: &[u8] = b"mtm/v1/envelope\0";

/// Why an envelope was refused. Each variant is a distinct reject reason for metrics.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The payload is larger than [`MAX_ENVELOPE_BYTES`].
    #[error("payload of {0} bytes is over the limit")]
    Oversized(usize),
    /// The payload is not a CBOR envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The envelope's protocol version is not ours.
    #[error("unsupported protocol version {0}")]
    Version(u8),
    /// The signature does not verify against the sender's key.
    #[error("bad signature")]
    BadSignature,
    /// Correctly signed, but sealed for another recipient (a replay aimed at the wrong agent).
    #[error("envelope addressed to {0:?}, not to us")]
    WrongRecipient(String),
    /// The signature verified but the body is not the expected message type.
    #[error("malformed body: {0}")]
    MalformedBody(String),
    /// Encoding failed (should not happen for our own types).
    #[error("encode: {0}")]
    Encode(String),
}

impl WireError {
    /// A short, stable label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Oversized(_) => "oversized",
            WireError::Malformed(_) => "malformed",
            WireError::Version(_) => "version",
            WireError::BadSignature => "bad_signature",
            WireError::WrongRecipient(_) => "wrong_recipient",
            WireError::MalformedBody(_) => "malformed_body",
            WireError::Encode(_) => "encode",
        }
    }
}

/// One signed message from one sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub v: u8,
    /// Sender id: an agent id, or [`crate::CONTROL_PLANE_ID`].
    pub from: String,
    /// Recipient id: the agent id for down-messages, [`crate::CONTROL_PLANE_ID`] for up-messages.
    /// Absent in version-1 envelopes, which therefore still decode and are refused by version.
    #[serde(default)]
    pub to: String,
    /// Per-sender counter, strictly increasing, persisted before use.
    pub seq: u64,
    /// Sender's clock, unix milliseconds.
    pub at: i64,
    /// CBOR bytes of one typed message.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// ed25519 signature over the domain tag, `v`, `from`, `to`, `seq`, `at` and `body`.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

/// Encode any serde value as CBOR.
pub fn to_cbor<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| WireError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decode a CBOR value, mapping failures to [`WireError::MalformedBody`].
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    ciborium::from_reader(bytes).map_err(|e| WireError::MalformedBody(e.to_string()))
}

fn signed_bytes(v: u8, from: &str, to: &str, seq: u64, at: i64, body: &[u8]) -> Vec<u8> {
    let mut m =
        Vec::with_capacity(DOMAIN_TAG.len() + 1 + 8 + from.len() + to.len() + 16 + 8 + body.len());
    m.extend_from_slice(DOMAIN_TAG);
    m.push(v);
    // Lengths are explicit so no two different headers produce the same signed bytes.
    // A chain name, agent id or hash: far below 4 GiB, and these bytes are what signatures
    // already cover, so the length prefix stays exactly as it was.
    #[allow(clippy::cast_possible_truncation)]
    m.extend_from_slice(&(from.len() as u32).to_be_bytes());
    m.extend_from_slice(from.as_bytes());
    // A chain name, agent id or hash: far below 4 GiB, and these bytes are what signatures
    // already cover, so the length prefix stays exactly as it was.
    #[allow(clippy::cast_possible_truncation)]
    m.extend_from_slice(&(to.len() as u32).to_be_bytes());
    m.extend_from_slice(to.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m.extend_from_slice(&(body.len() as u64).to_be_bytes());
    m.extend_from_slice(body);
    m
}

impl Envelope {
    /// Encode `message` and sign it as `from`, for `to`, with sequence number `seq` at time
    /// `at_ms`.
    pub fn seal<T: Serialize>(
        key: &SigningKey,
        from: &str,
        to: &str,
        seq: u64,
        at_ms: i64,
        message: &T,
    ) -> Result<Self, WireError> {
        let body = to_cbor(message)?;
        let sig = key
            .sign(&signed_bytes(PROTOCOL_VERSION, from, to, seq, at_ms, &body))
            .to_bytes()
            .to_vec();
        Ok(Envelope {
            v: PROTOCOL_VERSION,
            from: from.to_owned(),
            to: to.to_owned(),
            seq,
            at: at_ms,
            body,
            sig,
        })
    }

    /// The bytes to publish.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        to_cbor(self)
    }

    /// Parse a received payload, refusing oversized ones before decoding anything.
    /// The result is not yet trusted: call [`Envelope::verify`] with the sender's key.
    pub fn from_bytes(payload: &[u8]) -> Result<Self, WireError> {
        if payload.len() > MAX_ENVELOPE_BYTES {
            return Err(WireError::Oversized(payload.len()));
        }
        let env: Envelope =
            ciborium::from_reader(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
        if env.v != PROTOCOL_VERSION {
            return Err(WireError::Version(env.v));
        }
        Ok(env)
    }

    /// Check the signature against the sender's public key, and that the envelope is addressed
    /// to `me`. The signature is checked first, so [`WireError::WrongRecipient`] always means a
    /// genuine message moved to the wrong receiver (a replay), never line noise.
    pub fn verify(&self, key: &VerifyingKey, me: &str) -> Result<(), WireError> {
        let sig = Signature::from_slice(&self.sig).map_err(|_| WireError::BadSignature)?;
        key.verify(
            &signed_bytes(self.v, &self.from, &self.to, self.seq, self.at, &self.body),
            &sig,
        )
        .map_err(|_| WireError::BadSignature)?;
        if self.to != me {
            return Err(WireError::WrongRecipient(self.to.clone()));
        }
        Ok(())
    }

    /// Verify (signature and recipient `me`), then decode the body as `T`. The body is never
    /// decoded before the signature holds.
    pub fn open<T: DeserializeOwned>(&self, key: &VerifyingKey, me: &str) -> Result<T, WireError> {
        self.verify(key, me)?;
        from_cbor(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{UpMessage, Usage, UsageReport};
    use rand::rngs::OsRng;

    fn sample() -> (SigningKey, Envelope) {
        let key = SigningKey::generate(&mut OsRng);
        let msg = UpMessage::Usage(UsageReport {
            entries: vec![Usage {
                token_id: Some(uuid::Uuid::new_v4()),
                username: "ABCD2345".into(),
                active: true,
                first_login_at: Some(1_700_000_000_000),
                uptime_s: 60,
                bytes_in: 1024,
                bytes_out: 4096,
                delta_uptime_s: 60,
                delta_bytes_in: 1024,
                delta_bytes_out: 4096,
                counters_reset: false,
            }],
            issued_here: Vec::new(),
        });
        let env = Envelope::seal(&key, "agent-1", "cp", 7, 1_700_000_000_123, &msg).unwrap();
        (key, env)
    }

    #[test]
    fn round_trip_verifies_and_decodes() {
        let (key, env) = sample();
        let bytes = env.to_bytes().unwrap();
        let back = Envelope::from_bytes(&bytes).unwrap();
        assert_eq!(back, env);
        let msg: UpMessage = back.open(&key.verifying_key(), "cp").unwrap();
        assert!(matches!(msg, UpMessage::Usage(ref r) if r.entries[0].bytes_out == 4096));
    }

    #[test]
    fn any_changed_field_fails_verification() {
        let (key, env) = sample();
        let vk = key.verifying_key();
        let mut cases = Vec::new();
        let mut e = env.clone();
        e.from = "agent-2".into();
        cases.push(e);
        let mut e = env.clone();
        e.to = "agent-2".into();
        cases.push(e);
        let mut e = env.clone();
        e.seq += 1;
        cases.push(e);
        let mut e = env.clone();
        e.at -= 1;
        cases.push(e);
        let mut e = env.clone();
        e.v = PROTOCOL_VERSION + 1;
        cases.push(e);
        for bit in 0..env.body.len() * 8 {
            let mut e = env.clone();
            e.body[bit / 8] ^= 1 << (bit % 8);
            cases.push(e);
        }
        for bit in 0..env.sig.len() * 8 {
            let mut e = env.clone();
            e.sig[bit / 8] ^= 1 << (bit % 8);
            cases.push(e);
        }
        for (i, e) in cases.iter().enumerate() {
            assert_eq!(
                e.verify(&vk, "cp"),
                Err(WireError::BadSignature),
                "case {i}"
            );
        }
    }

    #[test]
    fn flipped_bit_in_encoded_payload_never_verifies() {
        let (key, env) = sample();
        let vk = key.verifying_key();
        let bytes = env.to_bytes().unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            // A flip may only re-spell the same content (a text key as a byte-string key);
            // any flip that changes a decoded field must fail verification.
            if let Ok(e) = Envelope::from_bytes(&b) {
                if e != env {
                    assert!(
                        e.verify(&vk, "cp").is_err(),
                        "bit {bit} flipped yet verified"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_key_is_refused() {
        let (_, env) = sample();
        let other = SigningKey::generate(&mut OsRng);
        assert_eq!(
            env.open::<UpMessage>(&other.verifying_key(), "cp")
                .unwrap_err(),
            WireError::BadSignature
        );
    }

    #[test]
    fn oversized_and_garbage_are_clear_errors() {
        let big = vec![0u8; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(
            Envelope::from_bytes(&big),
            Err(WireError::Oversized(_))
        ));
        assert!(matches!(
            Envelope::from_bytes(b"\xff\x00garbage"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::from_bytes(&[]),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn signed_body_of_wrong_type_is_malformed_body() {
        let key = SigningKey::generate(&mut OsRng);
        let env = Envelope::seal(&key, "a", "cp", 1, 0, &"just a string").unwrap();
        assert!(matches!(
            env.open::<UpMessage>(&key.verifying_key(), "cp"),
            Err(WireError::MalformedBody(_))
        ));
    }

    #[test]
    fn sealed_for_another_recipient_is_refused() {
        let (key, env) = sample();
        let vk = key.verifying_key();
        assert_eq!(
            env.open::<UpMessage>(&vk, "agent-1"),
            Err(WireError::WrongRecipient("cp".into()))
        );
        let down = Envelope::seal(&key, "cp", "agent-a", 1, 0, &"ack").unwrap();
        assert!(down.verify(&vk, "agent-a").is_ok());
        assert_eq!(
            down.verify(&vk, "agent-b"),
            Err(WireError::WrongRecipient("agent-a".into()))
        );
        assert_eq!(
            WireError::WrongRecipient(String::new()).reason(),
            "wrong_recipient"
        );
    }

    /// A version-1 envelope (no `to`) from an agent or control plane not yet updated decodes far
    /// enough to be refused by version, with its own reason, instead of as garbage.
    #[test]
    fn version_one_envelope_is_refused_by_version() {
        #[derive(Serialize)]
        struct V1 {
            v: u8,
            from: String,
            seq: u64,
            at: i64,
            #[serde(with = "serde_bytes")]
            body: Vec<u8>,
            #[serde(with = "serde_bytes")]
            sig: Vec<u8>,
        }
        let old = to_cbor(&V1 {
            v: 1,
            from: "agent-1".into(),
            seq: 1,
            at: 0,
            body: to_cbor(&"hello").unwrap(),
            sig: vec![0; 64],
        })
        .unwrap();
        let err = Envelope::from_bytes(&old).unwrap_err();
        assert_eq!(err, WireError::Version(1));
        assert_eq!(err.reason(), "version");
    }
}
