//! Async RouterOS API client: one connection, tagged and pipelined commands.
//!
//! A reader task decodes reply sentences and routes them by `.tag` to the waiting command; a
//! writer task batches outgoing sentences. When the connection drops, every command in flight
//! is failed at once.

pub mod io;
mod login;
mod stream;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::proto::{encode_sentence, Sentence};
use crate::Row;

pub use io::{AsyncIo, BoxedIo};
pub use stream::Stream;

/// How the connection is secured.
#[derive(Clone, Debug)]
pub enum Tls {
    /// Plain TCP (service `api`, port 8728).
    Plain,
    /// API-SSL with certificate verification: against `ca_pem` if given, otherwise against the
    /// system store (`SSL_CERT_FILE` or /etc/ssl/certs/ca-certificates.crt).
    Verified {
        /// PEM bundle of trusted CA certificates.
        ca_pem: Option<Vec<u8>>,
        /// Name the certificate must be valid for (a DNS name or an IP address).
        server_name: String,
    },
    /// API-SSL accepting any certificate (explicit opt-in for routers with self-signed ones).
    InsecureSelfSigned,
}

/// Connection settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port`.
    pub addr: String,
    /// API user name.
    pub username: String,
    /// API password.
    pub password: String,
    /// Transport security.
    pub tls: Tls,
    /// Limit for TCP connect, TLS handshake and login together.
    pub connect_timeout: Duration,
    /// Limit for each command.
    pub command_timeout: Duration,
}

impl ClientConfig {
    /// Plain TCP settings with a 5 s connect and 10 s command timeout.
    pub fn plain(
        addr: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        ClientConfig {
            addr: addr.into(),
            username: username.into(),
            password: password.into(),
            tls: Tls::Plain,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of a command: `!re` rows and the attributes of `!done`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// One row per `!re` sentence.
    pub rows: Vec<Row>,
    /// Attributes of `!done` (e.g. `ret`).
    pub done: Row,
}

impl Reply {
    /// `=ret=` of `!done`, if present.
    pub fn ret(&self) -> Option<&str> {
        self.done.get("ret").map(String::as_str)
    }
}

/// Why the connection ended; turned into an [`Error`] for every waiter.
#[derive(Clone, Debug)]
pub(crate) enum CloseReason {
    Closed,
    Fatal(String),
    Protocol(String),
    Io(String),
}

impl CloseReason {
    pub(crate) fn to_error(&self) -> Error {
        match self {
            CloseReason::Closed => Error::Closed,
            CloseReason::Fatal(m) => Error::Fatal(m.clone()),
            CloseReason::Protocol(m) => Error::Protocol(m.clone()),
            CloseReason::Io(m) => Error::Io(std::io::Error::other(m.clone())),
        }
    }
}

pub(crate) type Event = Result<Sentence, CloseReason>;

/// Who waits for a tag's replies.
pub(crate) enum Waiter {
    /// A plain command: the reader assembles the reply and hands it over once, at `!done`.
    Command {
        reply: Reply,
        trap: Option<Error>,
        tx: oneshot::Sender<Result<Reply, Error>>,
    },
    /// A streaming command: every sentence is passed on.
    Stream(mpsc::UnboundedSender<Event>),
}

#[derive(Default)]
pub(crate) struct Shared {
    pending: BTreeMap<u64, Waiter>,
    closed: Option<CloseReason>,
    /// Fired once the connection has ended.
    ended: Arc<Notify>,
}

impl Shared {
    /// Marks the connection closed (first reason wins) and fails every waiter.
    pub(crate) fn close(&mut self, reason: CloseReason) {
        self.ended.notify_waiters();
        if self.closed.is_none() {
            self.closed = Some(reason.clone());
        }
        let reason = self.closed.clone().unwrap_or(reason);
        for (_, w) in std::mem::take(&mut self.pending) {
            match w {
                Waiter::Command { tx, .. } => {
                    let _ = tx.send(Err(reason.to_error()));
                }
                Waiter::Stream(tx) => {
                    let _ = tx.send(Err(reason.clone()));
                }
            }
        }
    }

    /// Routes one reply sentence; returns false when it belongs to no known command.
    pub(crate) fn dispatch(&mut self, s: Sentence) -> bool {
        // Our tags are decimal counters; anything else is not a reply we wait for.
        let Some(tag) = s.tag().and_then(parse_tag) else {
            return false;
        };
        let last = s.first() == b"!done";
        let delivered = match self.pending.get_mut(&tag) {
            Some(Waiter::Stream(tx)) => tx.send(Ok(s)).is_ok(),
            Some(Waiter::Command { reply, trap, .. }) => {
                match s.first() {
                    b"!re" => reply.rows.push(s.row()),
                    b"!trap" if trap.is_none() => *trap = Some(trap_error(&s)),
                    b"!done" => reply.done = s.row(),
                    // `!empty` (7.18+) only announces that no rows follow; unknown reply
                    // words are skipped, as librouteros does.
                    _ => {}
                }
                true
            }
            None => false,
        };
        if last || !delivered {
            if let Some(Waiter::Command { reply, trap, tx }) = self.pending.remove(&tag) {
                let _ = tx.send(match trap {
                    Some(e) => Err(e),
                    None => Ok(reply),
                });
            }
        }
        delivered
    }
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Mutex<Shared>>,
    out: mpsc::UnboundedSender<Vec<u8>>,
    next_tag: AtomicU64,
    pub(crate) command_timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A RouterOS API session. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Removes a command's routing entry however the command ends (done, error, timeout, drop).
pub(crate) struct PendingGuard {
    shared: Arc<Mutex<Shared>>,
    tag: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.lock() {
            s.pending.remove(&self.tag);
        }
    }
}

impl Client {
    /// Connects, sets up TLS if configured, and logs in (plain login, falling back to the
    /// MD5 challenge when the router answers with `=ret=`).
    pub async fn connect(cfg: &ClientConfig) -> Result<Client, Error> {
        let fut = async {
            let stream = io::open(cfg).await?;
            let client = Client::from_stream(stream, cfg.command_timeout);
            // A slow login is a connect failure, whichever of the two limits hit first.
            login::login(&client, &cfg.username, &cfg.password)
                .await
                .map_err(|e| match e {
                    Error::Timeout(_) => Error::Timeout("connect"),
                    e => e,
                })?;
            Ok::<_, Error>(client)
        };
        match tokio::time::timeout(cfg.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout("connect")),
        }
    }

    /// Wraps an established byte stream (already TLS-wrapped if needed) without logging in.
    pub fn from_stream(stream: io::BoxedIo, command_timeout: Duration) -> Client {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (out, out_rx) = mpsc::unbounded_channel();
        let (rd, wr) = tokio::io::split(stream);
        let reader = tokio::spawn(io::reader_task(rd, shared.clone()));
        let writer = tokio::spawn(io::writer_task(wr, out_rx, shared.clone()));
        Client {
            inner: Arc::new(Inner {
                shared,
                out,
                next_tag: AtomicU64::new(1),
                command_timeout,
                tasks: vec![reader, writer],
            }),
        }
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner
            .shared
            .lock()
            .map(|s| s.closed.is_some())
            .unwrap_or(true)
    }

    /// Runs one command and collects its reply. `words` is the command word followed by
    /// attribute (`=k=v`) and query (`?...`) words; any `.tag=` word is replaced by our own.
    /// A `!trap` becomes [`Error::Trap`] once the command's `!done` has arrived.
    pub async fn command(&self, words: &[&str]) -> Result<Reply, Error> {
        let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.command_bytes(&words).await
    }

    /// [`Client::command`] with byte words, for values that are not UTF-8.
    pub async fn command_bytes(&self, words: &[&[u8]]) -> Result<Reply, Error> {
        let fut = async {
            let (tx, rx) = oneshot::channel();
            let waiter = Waiter::Command {
                reply: Reply::default(),
                trap: None,
                tx,
            };
            let _guard = self.start_tagged(words, self.new_tag(), waiter)?;
            rx.await.unwrap_or(Err(Error::Closed))
        };
        match tokio::time::timeout(self.inner.command_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout("command")),
        }
    }

    /// Starts a streaming command (`listen`, `print =follow=`, ...). Rows arrive through the
    /// returned [`Stream`] until it is cancelled or the router ends it.
    pub async fn stream(&self, words: &[&str]) -> Result<Stream, Error> {
        let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        let tag = self.new_tag();
        let (tx, rx) = mpsc::unbounded_channel();
        let guard = self.start_tagged(&words, tag, Waiter::Stream(tx))?;
        Ok(Stream::new(self.clone(), tag, rx, guard))
    }

    /// Sends `/quit` and waits (briefly) for the router to close the connection.
    pub async fn close(self) {
        let ended = match self.inner.shared.lock() {
            Ok(s) => s.ended.clone(),
            Err(_) => return,
        };
        // Registered before checking, so the end cannot slip between check and wait.
        let notified = ended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        let mut buf = Vec::new();
        encode_sentence(&[b"/quit".as_slice()], &mut buf);
        let _ = self.inner.out.send(buf);
        let _ = tokio::time::timeout(Duration::from_secs(2), notified).await;
    }

    pub(crate) fn new_tag(&self) -> u64 {
        self.inner.next_tag.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers the tag, then sends the sentence with `.tag=` appended.
    pub(crate) fn start_tagged(
        &self,
        words: &[&[u8]],
        tag: u64,
        waiter: Waiter,
    ) -> Result<PendingGuard, Error> {
        if words.is_empty() {
            return Err(Error::Protocol("empty command".into()));
        }
        {
            let mut s = self
                .inner
                .shared
                .lock()
                .map_err(|_| Error::Protocol("client state poisoned".into()))?;
            if let Some(r) = &s.closed {
                return Err(r.to_error());
            }
            s.pending.insert(tag, waiter);
        }
        let guard = PendingGuard {
            shared: self.inner.shared.clone(),
            tag,
        };
        self.send_raw(words, tag)?;
        Ok(guard)
    }

    /// Queues a sentence with the given tag, not tracking its replies.
    pub(crate) fn send_raw(&self, words: &[&[u8]], tag: u64) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(64);
        for w in words.iter().filter(|w| !w.starts_with(b".tag=")) {
            crate::proto::encode_word(w, &mut buf);
        }
        let t = format!(".tag={tag}");
        crate::proto::encode_word(t.as_bytes(), &mut buf);
        buf.push(0);
        self.inner.out.send(buf).map_err(|_| Error::Closed)
    }
}

fn parse_tag(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 19 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Parses the trap attributes into an [`Error::Trap`].
pub(crate) fn trap_error(s: &Sentence) -> Error {
    let row = s.row();
    Error::Trap {
        message: row.get("message").cloned().unwrap_or_default(),
        category: row.get("category").and_then(|c| c.parse().ok()),
    }
}
