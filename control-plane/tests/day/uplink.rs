//! A site's uplink: a TCP relay between the agent and the broker that can be cut (every open
//! connection dropped, new ones refused) and restored, as a café's internet line goes down and
//! comes back while the router and its agent keep running.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One site's line to the broker.
pub struct Uplink {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Uplink {
    /// Listen on a loopback port relaying to `broker`; the agent is pointed at [`Uplink::addr`].
    pub async fn start(broker: SocketAddr) -> Arc<Uplink> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let link = Arc::new(Uplink { addr, up });
        let up_rx = link.up.subscribe();
        tokio::spawn(async move {
            while let Ok((agent, _)) = listener.accept().await {
                if !*up_rx.borrow() {
                    drop(agent);
                    continue;
                }
                tokio::spawn(relay(agent, broker, up_rx.clone()));
            }
        });
        link
    }

    /// Where the agent connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cut the line (`false`) or restore it (`true`).
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn relay(agent: TcpStream, broker: SocketAddr, mut up: watch::Receiver<bool>) {
    let Ok(broker) = TcpStream::connect(broker).await else {
        return;
    };
    let (mut ar, mut aw) = agent.into_split();
    let (mut br, mut bw) = broker.into_split();
    tokio::select! {
        _ = tokio::io::copy(&mut ar, &mut bw) => {}
        _ = tokio::io::copy(&mut br, &mut aw) => {}
        _ = up.wait_for(|u| !*u) => {}
    }
}
