//! The agent's own ed25519 key, made on the device and never sent anywhere.

use std::path::Path;

use ed25519_dalek::SigningKey;
use mtm_common::keys;

use crate::error::AgentError;
use crate::private_file::write_private;

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "agent.key";

/// Load `data_dir/agent.key`, or make a new key and write it there (hex, mode 0600).
pub fn load_or_create_key(data_dir: &Path) -> Result<SigningKey, AgentError> {
    let path = data_dir.join(KEY_FILE);
    let err = |message: String| AgentError::Key {
        path: path.clone(),
        message,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => return keys::parse_secret_key(&text).map_err(|e| err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e.to_string())),
    }
    let key = keys::generate_signing_key();
    write_private(&path, keys::secret_key_hex(&key).as_bytes()).map_err(|e| err(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path()).unwrap();
        let b = load_or_create_key(dir.path()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn garbage_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "xyz").unwrap();
        let e = load_or_create_key(dir.path()).unwrap_err();
        assert!(e.to_string().contains("agent.key"));
    }
}
