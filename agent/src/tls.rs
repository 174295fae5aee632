//! The one way the agent sets up a TLS client (enrollment and update downloads over HTTPS, the
//! broker link): rustls with ring, and one CA strategy. A PEM file when the configuration names
//! one, else the system's store (`rustls-native-certs`, which honours `SSL_CERT_FILE`, as the
//! container image sets it): no root list carried in the binary, and updated with the OS. The
//! embedded broker's self-signed certificate is pinned by its SHA-256 instead.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Whom the client trusts.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// The CA certificates in this PEM file.
    CaFile(&'a Path),
    /// The system's CA store.
    System,
    /// Exactly the certificate with this SHA-256 (the name is not checked).
    Pinned([u8; 32]),
}

impl<'a> Trust<'a> {
    /// A CA file if one is named, else the system's store.
    pub fn ca_file_or_system(ca_file: Option<&'a Path>) -> Self {
        ca_file.map_or(Trust::System, Trust::CaFile)
    }
}

/// Why a TLS client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file is unusable.
    #[error("CA file {path}: {message}")]
    Ca {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The system's store has no CA certificate.
    #[error(
        "no CA certificates found in the system store; install ca-certificates or name a CA file"
    )]
    NoSystemRoots,
    /// A pin is not 64 hex characters.
    #[error("a certificate pin must be 64 hex characters")]
    Pin,
    /// rustls refused the settings.
    #[error("TLS set-up: {0}")]
    Setup(String),
}

/// The ring provider, used for every TLS client of the agent.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parse a certificate pin: SHA-256, hex.
pub fn parse_pin(hex_text: &str) -> Result<[u8; 32], TlsError> {
    hex::decode(hex_text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(TlsError::Pin)
}

/// A rustls client configuration trusting `trust`.
pub fn client_config(trust: Trust<'_>) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let config = match trust {
        Trust::Pinned(sha256) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert { sha256, provider }))
            .with_no_client_auth(),
        Trust::CaFile(path) => builder
            .with_root_certificates(file_roots(path)?)
            .with_no_client_auth(),
        Trust::System => builder
            .with_root_certificates(system_roots()?)
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn file_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let err = |message: String| TlsError::Ca {
        path: path.display().to_string(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| err(e.to_string()))?;
        roots.add(cert).map_err(|e| err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err(TlsError::NoSystemRoots);
    }
    Ok(roots)
}

/// Accepts exactly one certificate, by its SHA-256, instead of a chain to a CA and a name: the
/// embedded broker's self-signed certificate, pinned at enrollment. The handshake signature is
/// still checked, so only the holder of that certificate's key passes.
#[derive(Debug)]
struct PinnedCert {
    sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        let seen: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
        if seen == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_and_pins_are_checked_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["broker".into()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.cert.pem()).unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        assert!(client_config(Trust::CaFile(&good)).is_ok());
        let e = client_config(Trust::CaFile(&bad)).unwrap_err().to_string();
        assert!(e.contains("bad.pem"), "{e}");
        assert!(parse_pin("abc").is_err());
        let pin = parse_pin(&"ab".repeat(32)).unwrap();
        assert!(client_config(Trust::Pinned(pin)).is_ok());
    }
}
