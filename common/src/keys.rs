//! Text forms of ed25519 keys, as they appear in config files, enrollment replies and the store.

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;

/// A key in text form could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not 64 hex characters.
    #[error("a key must be 64 hex characters")]
    Format,
    /// Hex of the right length but not a valid curve point.
    #[error("not a valid ed25519 public key")]
    Invalid,
}

/// Make a fresh signing key from the operating system's CSPRNG.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate(&mut OsRng)
}

/// Lowercase hex of a public key.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// Parse a public key from hex.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| KeyError::Format)?
        .try_into()
        .map_err(|_| KeyError::Format)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid)
}

/// Lowercase hex of a secret key's 32 seed bytes (for key files only; never log it).
pub fn secret_key_hex(key: &SigningKey) -> String {
    hex::encode(key.to_bytes())
}

/// Parse a secret key from hex.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| KeyError::Format)?
        .try_into()
        .map_err(|_| KeyError::Format)?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex() {
        let sk = generate_signing_key();
        let pk = sk.verifying_key();
        assert_eq!(parse_public_key(&public_key_hex(&pk)).unwrap(), pk);
        assert_eq!(
            parse_secret_key(&secret_key_hex(&sk)).unwrap().to_bytes(),
            sk.to_bytes()
        );
        assert_eq!(parse_public_key("abc"), Err(KeyError::Format));
        assert_eq!(parse_public_key(&"zz".repeat(32)), Err(KeyError::Format));
    }
}
