//! Streaming commands (`listen`, `print =follow=`) that run until cancelled.

use tokio::sync::mpsc;

use super::{trap_error, Client, Event, PendingGuard};
use crate::error::Error;
use crate::Row;

/// A running streaming command. Dropping it without [`Stream::cancel`] still sends `/cancel`.
pub struct Stream {
    client: Client,
    tag: u64,
    rx: mpsc::UnboundedReceiver<Event>,
    finished: bool,
    _guard: PendingGuard,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("tag", &self.tag)
            .field("finished", &self.finished)
            .finish()
    }
}

impl Stream {
    pub(crate) fn new(
        client: Client,
        tag: u64,
        rx: mpsc::UnboundedReceiver<Event>,
        guard: PendingGuard,
    ) -> Self {
        Stream {
            client,
            tag,
            rx,
            finished: false,
            _guard: guard,
        }
    }

    /// The `.tag` this command runs under.
    pub fn tag(&self) -> String {
        self.tag.to_string()
    }

    /// The next row. `None` once the command has ended (`!done`, or the `interrupted` trap of
    /// a cancel); other traps and connection loss come out as `Some(Err(..))` once.
    pub async fn next(&mut self) -> Option<Result<Row, Error>> {
        if self.finished {
            return None;
        }
        loop {
            let s = match self.rx.recv().await {
                Some(Ok(s)) => s,
                Some(Err(reason)) => {
                    self.finished = true;
                    return Some(Err(reason.to_error()));
                }
                None => {
                    self.finished = true;
                    return Some(Err(Error::Closed));
                }
            };
            match s.first() {
                b"!re" => return Some(Ok(s.row())),
                b"!trap" => match trap_error(&s) {
                    Error::Trap {
                        category: Some(2), ..
                    } => continue,
                    e => {
                        self.drain_done().await;
                        return Some(Err(e));
                    }
                },
                b"!done" => {
                    self.finished = true;
                    return None;
                }
                _ => continue,
            }
        }
    }

    async fn drain_done(&mut self) {
        self.finished = true;
        while let Some(Ok(s)) = self.rx.recv().await {
            if s.first() == b"!done" {
                break;
            }
        }
    }

    /// Sends `/cancel =tag=<this tag>` and waits for the command to end; rows still in flight
    /// are discarded.
    pub async fn cancel(mut self) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        let arg = format!("=tag={}", self.tag);
        let cancel = self.client.command(&["/cancel", &arg]).await;
        let timeout = self.client.inner.command_timeout;
        let drained = tokio::time::timeout(timeout, async {
            while let Some(ev) = self.rx.recv().await {
                match ev {
                    Ok(s) if s.first() == b"!done" => return Ok(()),
                    Ok(_) => {}
                    Err(r) => return Err(r.to_error()),
                }
            }
            Err(Error::Closed)
        })
        .await;
        self.finished = true;
        cancel?;
        drained.map_err(|_| Error::Timeout("cancel"))?
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if !self.finished {
            let arg = format!("=tag={}", self.tag);
            let tag = self.client.new_tag();
            let _ = self
                .client
                .send_raw(&[b"/cancel".as_slice(), arg.as_bytes()], tag);
        }
    }
}
