//! Socket setup and the reader/writer tasks behind a [`super::Client`].

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{tls, ClientConfig, CloseReason, Shared, Tls};
use crate::error::Error;
use crate::proto::Decoder;

/// Any bidirectional byte stream (TCP or TLS over TCP).
pub trait AsyncIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncIo for T {}

/// A boxed connection the client can run over.
pub type BoxedIo = Box<dyn AsyncIo>;

/// Connects TCP and, if configured, performs the TLS handshake.
pub(crate) async fn open(cfg: &ClientConfig) -> Result<BoxedIo, Error> {
    let tcp = TcpStream::connect(&cfg.addr).await?;
    let _ = tcp.set_nodelay(true);
    match &cfg.tls {
        Tls::Plain => Ok(Box::new(tcp)),
        other => {
            let (connector, name) = tls::connector(other, &cfg.addr)?;
            let s = connector
                .connect(name, tcp)
                .await
                .map_err(|e| Error::Tls(e.to_string()))?;
            Ok(Box::new(s))
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A poisoned lock only means another task panicked mid-update; the map is still usable.
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Decodes reply sentences and routes them; fails everything when the stream ends.
pub(crate) async fn reader_task(mut rd: ReadHalf<BoxedIo>, shared: Arc<Mutex<Shared>>) {
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let reason = 'outer: loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => break CloseReason::Closed,
            Ok(n) => n,
            Err(e) => break CloseReason::Io(e.to_string()),
        };
        dec.extend(&buf[..n]);
        let mut s = lock(&shared);
        loop {
            match dec.next_sentence() {
                Ok(Some(sentence)) => {
                    if sentence.first() == b"!fatal" {
                        let msg = sentence
                            .words
                            .get(1)
                            .map(|w| String::from_utf8_lossy(w).into_owned())
                            .unwrap_or_default();
                        break 'outer CloseReason::Fatal(msg);
                    }
                    // Replies for commands nobody waits for any more (timed out, dropped
                    // streams) are discarded.
                    s.dispatch(sentence);
                }
                Ok(None) => break,
                Err(e) => break 'outer CloseReason::Protocol(e.to_string()),
            }
        }
    };
    lock(&shared).close(reason);
}

/// Writes queued sentences, coalescing whatever is queued into one write.
pub(crate) async fn writer_task(
    mut wr: WriteHalf<BoxedIo>,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<Mutex<Shared>>,
) {
    // One reused buffer: a fresh large allocation per batch costs more than the write.
    let mut buf = Vec::with_capacity(64 * 1024);
    while let Some(first) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(&first);
        while buf.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        let res = async {
            wr.write_all(&buf).await?;
            wr.flush().await
        }
        .await;
        if let Err(e) = res {
            lock(&shared).close(CloseReason::Io(e.to_string()));
            return;
        }
    }
    let _ = wr.shutdown().await;
}
