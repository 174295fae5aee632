//! A tiny HTTP/1.1 GET responder for technicians: `/status` (JSON) and `/healthz` (`ok`, or 503
//! naming the store failure while the store does not work). No web framework, so the binary
//! stays small.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a technician (or a test) sees of a running agent.
#[derive(Serialize, Clone, Debug)]
pub struct AgentStatus {
    /// This agent's id.
    pub agent_id: String,
    /// The broker connection is up.
    pub mqtt_connected: bool,
    /// The router answered last time.
    pub router_reachable: bool,
    /// Messages waiting for the control plane's ack.
    pub outbox_len: u64,
    /// Highest `seq` the control plane acknowledged.
    pub last_acked_seq: u64,
    /// The next `seq` to be used.
    pub next_seq: u64,
    /// Commands carried out (not failed) since the store was made.
    pub commands_applied: u64,
    /// Package catalog version on the router.
    pub catalog_version: Option<u64>,
    /// Whether the store works. While `store.ok` is false the counters above could not be
    /// read and show 0; `/healthz` answers 503 then.
    pub store: crate::store::StoreHealth,
    /// Down-messages refused since start (forged, stale, sealed for another agent, old version).
    pub down_refused: u64,
    /// Signing time (unix ms) of the newest chain checkpoint this agent keeps as a witness of
    /// the control plane's ledger and audit log; `None` before the first.
    pub newest_checkpoint_at: Option<i64>,
}

/// Something that can report the agent's status.
pub type StatusFn = Arc<dyn Fn() -> AgentStatus + Send + Sync>;

/// Serve until `shutdown` turns true.
pub async fn serve(listener: TcpListener, status: StatusFn, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            acc = listener.accept() => match acc {
                Ok((sock, _)) => {
                    let status = status.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(5), answer(sock, status)).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "status endpoint accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn answer(mut sock: TcpStream, status: StatusFn) -> std::io::Result<()> {
    let mut buf = vec![0u8; 2048];
    let mut n = 0;
    // Read until the end of the request head (or the buffer is full: then it is not ours).
    while n < buf.len() {
        let m = sock.read(&mut buf[n..]).await?;
        if m == 0 {
            break;
        }
        n += m;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (code, ctype, body) = match (method, path) {
        ("GET", "/status") => match serde_json::to_string(&status()) {
            Ok(j) => ("200 OK", "application/json", j),
            Err(e) => ("500 Internal Server Error", "text/plain", e.to_string()),
        },
        ("GET", "/healthz") => {
            let st = status();
            if st.store.ok {
                ("200 OK", "text/plain", "ok".to_owned())
            } else {
                let why = st.store.last_error.unwrap_or_else(|| "closed".into());
                (
                    "503 Service Unavailable",
                    "text/plain",
                    format!("store: {why}"),
                )
            }
        }
        ("GET", _) => ("404 Not Found", "text/plain", "not found".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only".to_owned(),
        ),
    };
    let resp = format!(
        "HTTP/1.1 {code}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(resp.as_bytes()).await?;
    sock.shutdown().await
}

/// GET `path` from `addr` and return the body (used by `mtm-agent status`).
pub async fn get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    sock.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_owned()))
}
