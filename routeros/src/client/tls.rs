//! rustls configuration for API-SSL (ring provider).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::Tls;
use crate::error::Error;

/// The ring provider used on both sides.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a connector and the server name to present for `tls` and `addr`.
pub(crate) fn connector(
    tls: &Tls,
    addr: &str,
) -> Result<(TlsConnector, ServerName<'static>), Error> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let (config, name) = match tls {
        Tls::Plain => return Err(Error::Tls("plain transport has no TLS connector".into())),
        Tls::Verified {
            ca_pem,
            server_name,
        } => {
            let roots = roots(ca_pem.as_deref())?;
            let name = ServerName::try_from(server_name.clone())
                .map_err(|e| Error::Tls(format!("bad server name {server_name:?}: {e}")))?;
            (
                builder.with_root_certificates(roots).with_no_client_auth(),
                name,
            )
        }
        Tls::InsecureSelfSigned => {
            let host = host_of(addr);
            let name = ServerName::try_from(host.to_string())
                .or_else(|_| ServerName::try_from("router"))
                .map_err(|e| Error::Tls(e.to_string()))?;
            (
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
                    .with_no_client_auth(),
                name,
            )
        }
    };
    Ok((TlsConnector::from(Arc::new(config)), name))
}

fn host_of(addr: &str) -> &str {
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h,
        None => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

fn roots(ca_pem: Option<&[u8]>) -> Result<RootCertStore, Error> {
    let owned;
    let pem = match ca_pem {
        Some(p) => p,
        None => {
            let path = std::env::var("SSL_CERT_FILE")
                .unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".into());
            owned = std::fs::read(&path)
                .map_err(|e| Error::Tls(format!("cannot read CA bundle {path}: {e}")))?;
            &owned
        }
    };
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("bad CA PEM: {e}")))?;
        store
            .add(cert)
            .map_err(|e| Error::Tls(format!("bad CA certificate: {e}")))?;
    }
    if store.is_empty() {
        return Err(Error::Tls("no CA certificates in PEM".into()));
    }
    Ok(store)
}

/// Accepts any server certificate but still checks handshake signatures, so the session is
/// at least bound to the key the router presented.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
