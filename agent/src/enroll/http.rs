//! One HTTP/1.1 POST, over TLS (rustls with ring, verified against the system's CA store or a
//! given CA) or plain TCP for `http://` URLs. Enrollment is one request in a device's life, so a few
//! dozen lines here keep hyper and reqwest out of the agent binary.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response read (the enrollment reply is a few hundred bytes).
const MAX_RESPONSE: usize = 256 * 1024;

/// Why the request failed before a usable response arrived.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL cannot be used.
    #[error("bad server URL {url:?}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// DNS, TCP connect or timeout.
    #[error("cannot reach {host}:{port}: {message}")]
    Unreachable {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Cause.
        message: String,
    },
    /// The TLS handshake failed (certificate not trusted, wrong name, ...).
    #[error("TLS with {host}: {message}")]
    Tls {
        /// Host.
        host: String,
        /// Cause.
        message: String,
    },
    /// The CA file is unusable.
    #[error("CA file {path}: {message}")]
    Ca {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The reply is not HTTP as expected.
    #[error("bad HTTP reply: {0}")]
    Protocol(String),
}

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// TLS or not.
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix without a trailing `/` (often empty).
    pub base_path: String,
}

impl Url {
    /// Parse `scheme://host[:port][/path]`; no user info, query or fragment.
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let bad = |m: &str| HttpError::Url {
            url: url.to_owned(),
            message: m.to_owned(),
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("must start with https:// (or http:// for tests)"));
        };
        if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("no user, query, fragment or spaces allowed"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("bad port")),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(bad("no host"));
        }
        Ok(Url {
            tls,
            host,
            port,
            base_path: path.to_owned(),
        })
    }

    /// The host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Location`, for redirects.
    pub location: Option<String>,
    /// Body bytes (de-chunked).
    pub body: Vec<u8>,
}

/// POST `body` as JSON to `url.base_path + path`, within `timeout` for the whole exchange.
pub async fn post_json(
    url: &Url,
    path: &str,
    body: &[u8],
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let request = format!(
        "POST {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mtm-agent/{}\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.base_path,
        path,
        url.host_header(),
        crate::upgrade::VERSION,
        body.len()
    );
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send(url, &bytes, ca_file, timeout, MAX_RESPONSE).await
}

/// GET `url.base_path + path` with HTTP basic auth, reading at most `max` bytes (an agent
/// release download), within `timeout` for the whole exchange.
pub async fn get(
    url: &Url,
    path: &str,
    basic: Option<(&str, &str)>,
    ca_file: Option<&Path>,
    timeout: Duration,
    max: usize,
) -> Result<Response, HttpError> {
    use base64::Engine as _;
    let auth = match basic {
        Some((u, p)) => format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        ),
        None => String::new(),
    };
    let request = format!(
        "GET {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mtm-agent/{}\r\n{auth}Connection: close\r\n\r\n",
        url.base_path,
        path,
        url.host_header(),
        crate::upgrade::VERSION,
    );
    send(url, request.as_bytes(), ca_file, timeout, max).await
}

/// Send `request` (head and body) to `url`'s host, over TLS when the URL says so, and read a
/// response of at most `max` bytes, within `timeout` for the whole exchange.
async fn send(
    url: &Url,
    request: &[u8],
    ca_file: Option<&Path>,
    timeout: Duration,
    max: usize,
) -> Result<Response, HttpError> {
    let unreachable = |message: String| HttpError::Unreachable {
        host: url.host.clone(),
        port: url.port,
        message,
    };
    let tls = if url.tls {
        Some(tls_config(ca_file)?)
    } else {
        None
    };
    let run = async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        match tls {
            Some(cfg) => {
                let name =
                    rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(|e| {
                        HttpError::Tls {
                            host: url.host.clone(),
                            message: e.to_string(),
                        }
                    })?;
                let stream = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| HttpError::Tls {
                        host: url.host.clone(),
                        message: e.to_string(),
                    })?;
                exchange(stream, request, max).await
            }
            None => exchange(tcp, request, max).await,
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", timeout.as_secs())))?
}

fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, HttpError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let err = |message: String| HttpError::Ca {
                path: path.display().to_string(),
                message,
            };
            let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| err(e.to_string()))?;
                roots.add(cert).map_err(|e| err(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(err("no certificate in the file".into()));
            }
        }
        None => {
            // The system store (honours SSL_CERT_FILE, which the container image sets): no
            // built-in root list to carry in the binary, and updated with the OS.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(HttpError::Ca {
                    path: "(system store)".into(),
                    message: "no CA certificates found; install ca-certificates or pass --ca FILE"
                        .into(),
                });
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Protocol(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
    max: usize,
) -> Result<Response, HttpError> {
    let io = |e: std::io::Error| HttpError::Protocol(e.to_string());
    s.write_all(request).await.map_err(io)?;
    s.flush().await.map_err(io)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > max {
                    return Err(HttpError::Protocol("reply too large".into()));
                }
                // Stop as soon as the reply is complete: some servers keep the socket open.
                if let Ok(Some(r)) = parse(&buf, false) {
                    return Ok(r);
                }
            }
            // A TLS peer closing without close_notify: whatever arrived is checked below.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io(e)),
        }
    }
    parse(&buf, true)?.ok_or_else(|| HttpError::Protocol("reply ended early".into()))
}

/// Parse a complete response; `Ok(None)` if more bytes are needed (`at_eof`: no more will come).
pub fn parse(buf: &[u8], at_eof: bool) -> Result<Option<Response>, HttpError> {
    let bad = |m: &str| HttpError::Protocol(m.to_owned());
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("header is not UTF-8"))?;
    let rest = &buf[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().unwrap_or_default().starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1.x reply"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let (mut length, mut chunked, mut location) = (None, false, None);
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = Some(v.parse::<usize>().map_err(|_| bad("bad length"))?),
            "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
            "location" => location = Some(v.to_owned()),
            _ => {}
        }
    }
    let body = if chunked {
        match dechunk(rest)? {
            Some(b) => b,
            None => return Ok(None),
        }
    } else if let Some(n) = length {
        if rest.len() < n {
            return Ok(None);
        }
        rest[..n].to_vec()
    } else {
        // Neither: the body runs to the end of the connection.
        if !at_eof {
            return Ok(None);
        }
        rest.to_vec()
    };
    Ok(Some(Response {
        status,
        location,
        body,
    }))
}

/// Decode a chunked body; `Ok(None)` if it is not complete yet.
fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&b[..eol])
            .map_err(|_| HttpError::Protocol("bad chunk size".into()))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Protocol("bad chunk size".into()))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}
