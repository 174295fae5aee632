//! Listeners and per-connection protocol handling: login state machine, tags, `/cancel`,
//! `/quit`, streaming commands.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::menus::{execute, trap, Exec, Out, Request, StreamSpec};
use super::query::{matches, project};
use super::state::{fmt_id, RouterState};
use super::{Power, SimConfig};
use crate::client::BoxedIo;
use crate::proto::{encode_len, encode_word, Decoder};

/// Sentences a client may send before logging in.
const MAX_BEFORE_LOGIN: u32 = 16;

/// What every connection shares.
pub struct Ctx {
    /// The router.
    pub state: Arc<Mutex<RouterState>>,
    /// How the simulator was started.
    pub cfg: SimConfig,
    /// On, off or rebooting.
    pub power: watch::Sender<Power>,
    /// Send empty `=name=` words as RouterOS does.
    pub emit_empty: bool,
    /// Behave as RouterOS before 6.43 (challenge login only).
    pub pre_643: bool,
    /// The MD5 challenge response is verified: RouterOS before 6.45.1 keeps passwords in a
    /// form it can check it with (and before 6.43 it is the only login), or `legacy_auth`.
    pub challenge_login: bool,
}

/// Lock the router state, even after a panic elsewhere.
pub fn lock(state: &Mutex<RouterState>) -> std::sync::MutexGuard<'_, RouterState> {
    // State stays consistent between statements; a panic elsewhere must not stop the router.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Latin-1 view of wire bytes: one char per byte, so bytes survive unchanged.
pub fn l1(b: &[u8]) -> String {
    if b.is_ascii() {
        // ASCII is the same in Latin-1 and UTF-8.
        return String::from_utf8_lossy(b).into_owned();
    }
    b.iter().map(|&c| c as char).collect()
}

/// Appends the Latin-1 bytes of `s` (see [`l1b`]) without an intermediate allocation.
fn push_l1(s: &str, out: &mut Vec<u8>) {
    if s.is_ascii() || s.chars().any(|c| (c as u32) > 255) {
        out.extend_from_slice(s.as_bytes());
    } else {
        out.extend(s.chars().map(|c| c as u8));
    }
}

fn l1_len(s: &str) -> usize {
    if s.is_ascii() || s.chars().any(|c| (c as u32) > 255) {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Back to wire bytes (chars above U+00FF cannot come from the wire; they become UTF-8).
pub fn l1b(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 256) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn encode_out(out: &Out, tag: Option<&str>, buf: &mut Vec<u8>) {
    encode_word(out.word.as_bytes(), buf);
    if let Some(t) = tag {
        encode_len(5 + l1_len(t), buf);
        buf.extend_from_slice(b".tag=");
        push_l1(t, buf);
    }
    for (k, v) in &out.attrs {
        encode_len(2 + l1_len(k) + l1_len(v), buf);
        buf.push(b'=');
        push_l1(k, buf);
        buf.push(b'=');
        push_l1(v, buf);
    }
    buf.push(0);
}

fn encode_all(outs: &[Out], tag: Option<&str>, buf: &mut Vec<u8>) {
    for o in outs {
        encode_out(o, tag, buf);
    }
}

/// Accepts connections until shutdown; while unreachable the port is closed.
pub async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, ctx: Arc<Ctx>) {
    let addr = listener.local_addr().ok();
    let mut listener = Some(listener);
    let mut power = ctx.power.subscribe();
    loop {
        let p = *power.borrow_and_update();
        match p {
            Power::Shutdown => return,
            Power::Unreachable => {
                listener = None;
                if power.changed().await.is_err() {
                    return;
                }
            }
            Power::Up => {
                let Some(l) = &listener else {
                    listener = rebind(addr).await;
                    continue;
                };
                tokio::select! {
                    r = l.accept() => {
                        if let Ok((tcp, _)) = r {
                            let _ = tcp.set_nodelay(true);
                            let ctx = ctx.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                let io: BoxedIo = match tls {
                                    None => Box::new(tcp),
                                    Some(acc) => match tokio::time::timeout(Duration::from_secs(10), acc.accept(tcp)).await {
                                        Ok(Ok(s)) => Box::new(s),
                                        _ => return,
                                    },
                                };
                                serve(io, ctx).await;
                            });
                        }
                    }
                    r = power.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

async fn rebind(addr: Option<SocketAddr>) -> Option<TcpListener> {
    let addr = addr?;
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

pub(crate) struct Conn {
    pub(crate) logged_in: bool,
    pub(crate) challenge: Option<[u8; 16]>,
    before_login: u32,
    streams: HashMap<String, JoinHandle<()>>,
    out_tx: mpsc::UnboundedSender<Vec<u8>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        for (_, h) in self.streams.drain() {
            h.abort();
        }
    }
}

/// Serves one API connection until the client leaves, `/quit`, or the router goes away.
pub async fn serve(io: BoxedIo, ctx: Arc<Ctx>) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let mut conn = Conn {
        logged_in: false,
        challenge: None,
        before_login: 0,
        streams: HashMap::new(),
        out_tx,
    };
    let mut power = ctx.power.subscribe();
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    // Reused across reads: replies for a whole batch of pipelined commands go out in one write.
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        if *power.borrow_and_update() != Power::Up {
            return;
        }
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                dec.extend(&buf[..n]);
                // Stream output queued earlier goes first, so cancel replies come after it.
                out.clear();
                while let Ok(b) = out_rx.try_recv() {
                    out.extend_from_slice(&b);
                }
                let mut close = false;
                loop {
                    match dec.next_sentence() {
                        Ok(Some(s)) => {
                            if handle(&mut conn, &ctx, &s.words, &mut out) {
                                close = true;
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(_) => { close = true; break; }
                    }
                }
                if !out.is_empty() && wr.write_all(&out).await.is_err() {
                    break;
                }
                if close {
                    let _ = wr.shutdown().await;
                    break;
                }
            }
            Some(first) = out_rx.recv() => {
                out.clear();
                out.extend_from_slice(&first);
                while let Ok(b) = out_rx.try_recv() {
                    out.extend_from_slice(&b);
                }
                if wr.write_all(&out).await.is_err() {
                    break;
                }
            }
            r = power.changed() => if r.is_err() { break },
        }
    }
}

/// `(major, minor, patch)` of a version string such as `6.45.1 (long-term)`; missing parts are 0.
fn version_parts(version: &str) -> (u32, u32, u32) {
    let v: Vec<u32> = version
        .split(' ')
        .next()
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    (at(0), at(1), at(2))
}

/// True when `version` is at least `major.minor`.
pub fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    version_parts(version) >= (major, minor, 0)
}

/// True when `version` is below `major.minor.patch`.
pub fn version_below(version: &str, major: u32, minor: u32, patch: u32) -> bool {
    version_parts(version) < (major, minor, patch)
}

/// Handles one sentence, appending replies to `out`; true means close the connection.
fn handle(conn: &mut Conn, ctx: &Ctx, words: &[Vec<u8>], out: &mut Vec<u8>) -> bool {
    let tag = words
        .iter()
        .skip(1)
        .find_map(|w| w.strip_prefix(b".tag="))
        .filter(|t| !t.is_empty())
        .map(l1);
    let tag = tag.as_deref();
    let mut req = Request::from_words(words);
    match req.command.as_str() {
        "/quit" => {
            // Never tagged: the reason is the bare next word.
            out.extend(fatal("session terminated on request"));
            return true;
        }
        "/login" => {
            let replies = super::login::login(conn, ctx, &req);
            encode_all(&replies, tag, out);
            return false;
        }
        _ => {}
    }
    if !conn.logged_in {
        conn.before_login += 1;
        if conn.before_login > MAX_BEFORE_LOGIN {
            out.extend(fatal("too many commands before login"));
            return true;
        }
        encode_all(&trap("not logged in", None), tag, out);
        return false;
    }
    if req.command == "/cancel" {
        cancel(conn, &req, tag, out);
        return false;
    }
    let exec = {
        let mut st = lock(&ctx.state);
        execute(&mut st, &mut req, ctx.emit_empty)
    };
    match exec {
        Exec::Done(replies) => encode_all(&replies, tag, out),
        Exec::Stream(spec) => {
            encode_all(&spec.initial, tag, out);
            let rx = lock(&ctx.state).changes.subscribe();
            let key = tag.unwrap_or("").to_string();
            let task = tokio::spawn(run_stream(
                spec,
                tag.map(str::to_string),
                ctx.state.clone(),
                rx,
                conn.out_tx.clone(),
            ));
            if let Some(old) = conn.streams.insert(key, task) {
                old.abort();
            }
        }
    }
    false
}

fn fatal(reason: &str) -> Vec<u8> {
    let mut b = Vec::new();
    encode_word(b"!fatal", &mut b);
    encode_word(&l1b(reason), &mut b);
    b.push(0);
    b
}

fn cancel(conn: &mut Conn, req: &Request, tag: Option<&str>, out: &mut Vec<u8>) {
    let targets: Vec<String> = match req.attrs.get("tag") {
        Some(t) => conn.streams.keys().filter(|k| *k == t).cloned().collect(),
        None => conn.streams.keys().cloned().collect(),
    };
    let interrupted = Out {
        word: "!trap",
        attrs: vec![
            ("category".into(), "2".into()),
            ("message".into(), "interrupted".into()),
        ],
    };
    let done = Out {
        word: "!done",
        attrs: vec![],
    };
    for t in &targets {
        if let Some(h) = conn.streams.remove(t) {
            h.abort();
        }
        let t = (!t.is_empty()).then_some(t.as_str());
        encode_out(&interrupted, t, out);
    }
    // Observed order: the interrupted trap, the cancel's own !done, the cancelled !done.
    encode_out(&done, tag, out);
    for t in &targets {
        encode_out(&done, (!t.is_empty()).then_some(t.as_str()), out);
    }
}

async fn run_stream(
    spec: StreamSpec,
    tag: Option<String>,
    state: Arc<Mutex<RouterState>>,
    mut rx: broadcast::Receiver<super::state::Change>,
    out: mpsc::UnboundedSender<Vec<u8>>,
) {
    loop {
        let change = match rx.recv().await {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if change.table != spec.table {
            continue;
        }
        let row = if change.dead {
            let mut r = super::Row::new();
            r.insert(".id".into(), fmt_id(change.id));
            r.insert(".dead".into(), "true".into());
            r
        } else {
            let Some(row) = lock(&state).row(spec.table, change.id) else {
                continue;
            };
            if !matches(&row, &spec.query) {
                continue;
            }
            let mut r = project(row, spec.proplist.as_deref());
            if spec.listen {
                r.insert(".id".into(), fmt_id(change.id));
            }
            r
        };
        let mut buf = Vec::new();
        encode_out(
            &Out {
                word: "!re",
                attrs: row.into_iter().collect(),
            },
            tag.as_deref(),
            &mut buf,
        );
        if out.send(buf).is_err() {
            return;
        }
    }
}
