//! Test helpers: a raw API connection that shows exactly what the simulator sends.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use mtm_routeros::proto::{encode_sentence, Decoder};
use mtm_routeros::{Client, ClientConfig, SimConfig, SimHandle, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One reply sentence as text words.
pub type Words = Vec<String>;

/// A raw API connection.
pub struct Raw {
    pub stream: TcpStream,
    dec: Decoder,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
            dec: Decoder::new(),
        }
    }

    /// Connects and logs in as admin with an empty password.
    pub async fn login(addr: SocketAddr) -> Raw {
        let mut r = Raw::connect(addr).await;
        r.send(&["/login", "=name=admin", "=password="]).await;
        assert_eq!(r.recv().await, vec!["!done"]);
        r
    }

    pub async fn send(&mut self, words: &[&str]) {
        let mut buf = Vec::new();
        encode_sentence(words, &mut buf);
        self.stream.write_all(&buf).await.unwrap();
    }

    pub async fn send_bytes(&mut self, words: &[&[u8]]) {
        let mut buf = Vec::new();
        encode_sentence(words, &mut buf);
        self.stream.write_all(&buf).await.unwrap();
    }

    /// The next sentence as raw words; `None` on EOF. Panics after 5 s.
    pub async fn recv_raw(&mut self) -> Option<Vec<Vec<u8>>> {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(s) = self.dec.next_sentence().unwrap() {
                    return Some(s.words);
                }
                let mut buf = [0u8; 4096];
                let n = self.stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return None;
                }
                self.dec.extend(&buf[..n]);
            }
        })
        .await
        .expect("no reply within 5 s")
    }

    pub async fn recv(&mut self) -> Words {
        self.recv_raw()
            .await
            .expect("connection closed")
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect()
    }

    /// Replies up to and including the `!done` carrying `tag` (or any `!done` when None).
    pub async fn recv_until_done(&mut self, tag: Option<&str>) -> Vec<Words> {
        let mut all = Vec::new();
        loop {
            let s = self.recv().await;
            let is_done = s[0] == "!done"
                && match tag {
                    None => true,
                    Some(t) => s.iter().any(|w| *w == format!(".tag={t}")),
                };
            all.push(s);
            if is_done {
                return all;
            }
        }
    }

    pub async fn expect_eof(&mut self) {
        assert!(
            self.recv_raw().await.is_none(),
            "expected the server to close"
        );
    }
}

pub async fn sim() -> SimHandle {
    Simulator::start(SimConfig::default()).await.unwrap()
}

pub async fn sim_with(cfg: SimConfig) -> SimHandle {
    Simulator::start(cfg).await.unwrap()
}

pub async fn client(sim: &SimHandle) -> Client {
    Client::connect(&ClientConfig::plain(sim.addr().to_string(), "admin", ""))
        .await
        .unwrap()
}

/// Polls `f` until it is true or 5 s pass.
pub async fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
