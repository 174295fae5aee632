//! TLS for the embedded broker's public listener: a self-signed certificate made at the first
//! start and kept in the data folder. Agents do not trust it through a CA: enrollment hands them
//! its SHA-256, which they pin, so only this server's listener passes.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The certificate's file in the data folder (PEM).
pub const CERT_FILE: &str = "mqtt-tls.crt";
/// Its private key's file (PEM, mode 0600).
pub const KEY_FILE: &str = "mqtt-tls.key";

/// Why the broker's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Making the certificate or the TLS configuration failed.
    #[error("broker TLS: {0}")]
    Setup(String),
}

/// The listener's TLS: the acceptor and the pin agents get at enrollment.
#[derive(Clone)]
pub struct BrokerTls {
    /// Server side TLS for the filter's listener.
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the certificate (DER), hex: what agents pin.
    pub pin_sha256: String,
}

/// SHA-256 of a certificate's DER bytes, hex (the pin format).
pub fn pin_of(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Load the certificate and key from `data_dir`, or make them (naming `names`, which only
/// clients that check names rather than the pin need) when neither exists yet.
pub fn load_or_create(data_dir: &Path, names: Vec<String>) -> Result<BrokerTls, TlsError> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    if !cert_path.exists() && !key_path.exists() {
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        // The key first: a crash in between leaves a key without a certificate, which the next
        // start refuses rather than silently replacing a certificate agents have pinned.
        write_new(&key_path, &made.key_pair.serialize_pem(), true)?;
        write_new(&cert_path, &made.cert.pem(), false)?;
        tracing::info!(path = %cert_path.display(), "made the broker's TLS certificate");
    }
    let cert_pem = std::fs::read(&cert_path).map_err(|e| file_err(&cert_path, e))?;
    let cert = CertificateDer::from_pem_slice(&cert_pem).map_err(|e| file_err(&cert_path, e))?;
    let key_pem = std::fs::read(&key_path).map_err(|e| file_err(&key_path, e))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| file_err(&key_path, e))?;
    let pin_sha256 = pin_of(&cert);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(BrokerTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        pin_sha256,
    })
}

/// Create `path` (which must not exist) holding `text`; `private` files are readable by their
/// owner only.
fn write_new(path: &Path, text: &str, private: bool) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(|e| file_err(path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| file_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), vec!["localhost".into()]).unwrap();
        let again = load_or_create(dir.path(), vec!["other".into()]).unwrap();
        assert_eq!(first.pin_sha256, again.pin_sha256);
        assert_eq!(first.pin_sha256.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A key without its certificate is refused, not replaced.
        std::fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        assert!(load_or_create(dir.path(), vec![]).is_err());
    }
}
