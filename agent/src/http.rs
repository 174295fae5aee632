//! The agent's HTTP/1.1 client: one request per connection, over TLS ([`crate::tls`]: the
//! system's CA store or a given CA) or plain TCP for `http://` URLs. Enrollment posts one
//! request in a device's life and an update downloads one release, so this small client (the
//! response head read by `httparse`) keeps hyper and reqwest out of the agent binary. The
//! configuration check uses [`Url`] too.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::{self, Trust};

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
    /// No TLS client could be set up (CA file, system store).
    #[error(transparent)]
    TlsSetup(#[from] tls::TlsError),
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
        crate::version::VERSION,
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
        crate::version::VERSION,
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
        Some(tls::client_config(Trust::ca_file_or_system(ca_file))?)
    } else {
        None
    };
    let run = async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        match tls {
            Some(cfg) => {
                let tls_err = |message: String| HttpError::Tls {
                    host: url.host.clone(),
                    message,
                };
                let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                    .map_err(|e| tls_err(e.to_string()))?;
                let stream = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| tls_err(e.to_string()))?;
                exchange(stream, request, max).await
            }
            None => exchange(tcp, request, max).await,
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", timeout.as_secs())))?
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
    max: usize,
) -> Result<Response, HttpError> {
    let io = |e: std::io::Error| HttpError::Protocol(e.to_string());
    s.write_all(request).await.map_err(io)?;
    s.flush().await.map_err(io)?;
    let mut reader = ResponseReader::new(max);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            // Stop as soon as the reply is complete: some servers keep the socket open.
            Ok(n) => {
                if let Some(r) = reader.feed(&chunk[..n])? {
                    return Ok(r);
                }
            }
            // A TLS peer closing without close_notify: whatever arrived is checked below.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io(e)),
        }
    }
    reader.finish()
}

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Longest chunk-size line accepted (hex digits and extensions).
const MAX_CHUNK_LINE: usize = 1024;

/// How the body's end is known.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs to the end of the connection.
    ToEof,
}

#[derive(Debug)]
struct Head {
    status: u16,
    location: Option<String>,
    framing: Framing,
}

/// A response read as its bytes arrive. The head is parsed once; after it, `pending` holds only
/// body bytes not yet decoded (for a chunked body: at most the chunk still arriving), so a
/// download is read in time and memory linear in its size.
struct ResponseReader {
    max: usize,
    received: usize,
    pending: Vec<u8>,
    head: Option<Head>,
    body: Vec<u8>,
}

impl ResponseReader {
    fn new(max: usize) -> Self {
        ResponseReader {
            max,
            received: 0,
            pending: Vec::new(),
            head: None,
            body: Vec::new(),
        }
    }

    /// Take the next bytes; the response once it is complete.
    fn feed(&mut self, bytes: &[u8]) -> Result<Option<Response>, HttpError> {
        self.received = self.received.saturating_add(bytes.len());
        if self.received > self.max {
            return Err(HttpError::Protocol("reply too large".into()));
        }
        self.pending.extend_from_slice(bytes);
        if self.head.is_none() {
            let Some((head, len)) = parse_head(&self.pending)? else {
                if self.pending.len() > MAX_HEAD {
                    return Err(HttpError::Protocol("reply head too large".into()));
                }
                return Ok(None);
            };
            if let Framing::Length(n) = head.framing {
                if n > self.max {
                    return Err(HttpError::Protocol("reply too large".into()));
                }
            }
            self.pending.drain(..len);
            self.head = Some(head);
        }
        let Some(head) = &self.head else {
            return Ok(None);
        };
        let complete = match head.framing {
            Framing::Length(n) if self.pending.len() >= n => {
                self.pending.truncate(n);
                self.body = std::mem::take(&mut self.pending);
                true
            }
            Framing::Length(_) | Framing::ToEof => false,
            Framing::Chunked => dechunk(&mut self.pending, &mut self.body)?,
        };
        Ok(complete.then(|| self.response()))
    }

    /// The connection ended: the response if it is complete.
    fn finish(mut self) -> Result<Response, HttpError> {
        match self.head.as_ref().map(|h| h.framing) {
            Some(Framing::ToEof) => {
                self.body = std::mem::take(&mut self.pending);
                Ok(self.response())
            }
            _ => Err(HttpError::Protocol("reply ended early".into())),
        }
    }

    fn response(&mut self) -> Response {
        let (status, location) = match self.head.take() {
            Some(h) => (h.status, h.location),
            None => (0, None),
        };
        Response {
            status,
            location,
            body: std::mem::take(&mut self.body),
        }
    }
}

/// The response head and its length, or `None` if it has not all arrived.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let bad = |m: String| HttpError::Protocol(m);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let len = match r.parse(buf).map_err(|e| bad(e.to_string()))? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = r.code.ok_or_else(|| bad("no status code".into()))?;
    let (mut length, mut chunked, mut location) = (None, false, None);
    for h in r.headers.iter() {
        let value = || std::str::from_utf8(h.value).map(str::trim);
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = value().ok().and_then(|v| v.parse::<usize>().ok());
            length = Some(v.ok_or_else(|| bad("bad length".into()))?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value().is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"));
        } else if h.name.eq_ignore_ascii_case("location") {
            location = value().ok().map(str::to_owned);
        }
    }
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::ToEof,
    };
    let head = Head {
        status,
        location,
        framing,
    };
    Ok(Some((head, len)))
}

/// Move every complete chunk at the front of `pending` into `body`; whether the last (empty)
/// chunk was reached. What is left in `pending` is the start of a chunk still arriving.
fn dechunk(pending: &mut Vec<u8>, body: &mut Vec<u8>) -> Result<bool, HttpError> {
    let bad = || HttpError::Protocol("bad chunk size".into());
    let mut at = 0;
    let done = loop {
        let rest = &pending[at..];
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            if rest.len() > MAX_CHUNK_LINE {
                return Err(bad());
            }
            break false;
        };
        let line = std::str::from_utf8(&rest[..eol]).map_err(|_| bad())?;
        let digits = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(digits, 16).map_err(|_| bad())?;
        if size == 0 {
            break true;
        }
        let data = eol + 2;
        let Some(end) = data.checked_add(size).filter(|e| e + 2 <= rest.len()) else {
            break false;
        };
        body.extend_from_slice(&rest[data..end]);
        at += end + 2;
    };
    pending.drain(..at);
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_in_pieces(reply: &[u8], piece: usize) -> Result<Response, HttpError> {
        let mut r = ResponseReader::new(1 << 20);
        for p in reply.chunks(piece) {
            if let Some(done) = r.feed(p)? {
                return Ok(done);
            }
        }
        r.finish()
    }

    #[test]
    fn chunked_bodies_decode_however_the_bytes_arrive() {
        let mut reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut want = Vec::new();
        for i in 0..200u32 {
            let data = vec![(i % 251) as u8; (i as usize * 37) % 3000 + 1];
            reply.extend_from_slice(format!("{:x};ext=1\r\n", data.len()).as_bytes());
            reply.extend_from_slice(&data);
            reply.extend_from_slice(b"\r\n");
            want.extend_from_slice(&data);
        }
        reply.extend_from_slice(b"0\r\n\r\n");
        for piece in [1, 7, 4096, reply.len()] {
            let r = read_in_pieces(&reply, piece).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.body, want, "pieces of {piece}");
        }
    }

    #[test]
    fn length_eof_and_redirect_replies() {
        let r = read_in_pieces(
            b"HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nabcdef",
            2,
        );
        assert_eq!((r.unwrap().status, &b"abc"[..]), (201, &b"abc"[..]));
        let r = read_in_pieces(b"HTTP/1.0 200 OK\r\n\r\nto the end", 3).unwrap();
        assert_eq!(r.body, b"to the end");
        let r = read_in_pieces(b"HTTP/1.1 302 Found\r\nLocation: https://x/\r\n\r\n", 5).unwrap();
        assert_eq!(r.location.as_deref(), Some("https://x/"));
    }

    #[test]
    fn truncated_oversized_and_garbled_replies_are_errors() {
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_in_pieces(cut, 4).is_err());
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
        assert!(read_in_pieces(cut, 4).is_err());
        let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n";
        assert!(read_in_pieces(huge, 64).is_err());
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(read_in_pieces(bad, 64).is_err());
        assert!(read_in_pieces(b"SSH-2.0-OpenSSH\r\n\r\n", 64).is_err());
    }
}
