//! The embedded broker's front door: an MQTT-aware proxy on the public listener that decides who
//! may say what, forwarding to rumqttd on a loopback-only port.
//!
//! rumqttd (0.20) checks a login but has no per-topic rules, so every packet a client sends
//! passes through here first (MQTT 3.1.1 only; the codec is rumqttc's):
//!
//! - CONNECT: the login is checked against the store (agents) or the server's own credentials;
//!   an agent must use its own client id (`mtm-agent-{id}`) and may set a last will only on its
//!   status topic. A refused connect never reaches rumqttd, so it cannot take over the real
//!   agent's session. The login is then replaced by the internal one that rumqttd accepts.
//! - PUBLISH: an agent may publish on its `up/` and `status/` topics only; anything else is
//!   dropped (QoS 1 acknowledged here, as Mosquitto does; QoS 2 ends the connection).
//! - SUBSCRIBE: an agent may subscribe to its own `down/` topic and the catalog only, literally;
//!   a SUBSCRIBE naming anything else is answered here with failure codes and not forwarded.
//!
//! With TLS configured (`broker::tls`), the listener speaks TLS only.
//!
//! The server's own account (the only other identity) is not limited. What rumqttd sends back is
//! copied unchanged, whole packet by whole packet, so answers made here fit in between.

use super::InternalCredentials;
use crate::store::Store;
use bytes::{Bytes, BytesMut};
use mtm_common::topics;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Login, Packet, PubAck, SubAck, SubscribeReasonCode,
};
use rumqttc::mqttbytes::{self, Protocol, QoS};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

/// How long a new connection may take to send its CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest CONNECT accepted (client id, will and login are small).
const MAX_CONNECT: usize = 16 * 1024;
/// Packets from rumqttd waiting to be written to one client.
const OUT_QUEUE: usize = 64;

/// Who a connection speaks for, decided at CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The server's own account: any topic, any client id.
    Server,
    /// An enrolled agent: its own topics only.
    Agent(String),
}

impl Identity {
    /// May this identity publish on `topic` (also checked for a last will)?
    pub fn may_publish(&self, topic: &str) -> bool {
        match self {
            Identity::Server => true,
            Identity::Agent(id) => topic == topics::up(id) || topic == topics::status(id),
        }
    }

    /// May this identity subscribe to `filter`? Agents name their topics literally: a wildcard
    /// would reach other agents' messages.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        match self {
            Identity::Server => true,
            Identity::Agent(id) => filter == topics::down(id) || filter == topics::PACKAGES,
        }
    }

    /// May this identity connect with `client_id`? An agent only with its own, so it can never
    /// take over another agent's session.
    pub fn may_use_client_id(&self, client_id: &str) -> bool {
        match self {
            Identity::Server => true,
            Identity::Agent(id) => client_id == topics::client_id(id),
        }
    }

    fn name(&self) -> &str {
        match self {
            Identity::Server => "server",
            Identity::Agent(id) => id,
        }
    }
}

/// Why a connection through the filter ended early.
#[derive(Debug, thiserror::Error)]
enum FilterError {
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("MQTT: {0}")]
    Mqtt(#[from] mqttbytes::Error),
    #[error("no CONNECT within {0:?}")]
    ConnectTimeout(Duration),
    #[error("the first packet was not CONNECT")]
    NotConnect,
    #[error("connect refused: {0:?}")]
    Refused(ConnectReturnCode),
    #[error("a second CONNECT")]
    SecondConnect,
    #[error("a QoS 2 publish on a topic it may not use: {0:?}")]
    ForbiddenQos2(String),
    #[error("closed")]
    Closed,
}

/// The front door's settings, shared by every connection.
pub struct Filter {
    store: Arc<dyn Store>,
    internal: InternalCredentials,
    upstream: SocketAddr,
    max_packet: usize,
    tls: Option<TlsAcceptor>,
}

impl Filter {
    /// A filter checking agents against `store`, forwarding to rumqttd at `upstream` with the
    /// `internal` login, refusing packets larger than `max_packet` bytes; with `tls`, clients
    /// must speak TLS.
    pub fn new(
        store: Arc<dyn Store>,
        internal: InternalCredentials,
        upstream: SocketAddr,
        max_packet: usize,
        tls: Option<TlsAcceptor>,
    ) -> Filter {
        Filter {
            store,
            internal,
            upstream,
            max_packet,
            tls,
        }
    }

    /// Accept connections on `listener` forever, each handled on its own task.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "broker filter: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let filter = self.clone();
            tokio::spawn(async move {
                let ended = match &filter.tls {
                    None => filter.handle(stream).await,
                    Some(tls) => {
                        // The handshake shares the CONNECT's deadline: an idle socket is dropped.
                        let accepted =
                            tokio::time::timeout(CONNECT_TIMEOUT, tls.accept(stream)).await;
                        match accepted {
                            Ok(Ok(stream)) => filter.handle(stream).await,
                            Ok(Err(e)) => Err(FilterError::Io(e)),
                            Err(_) => Err(FilterError::ConnectTimeout(CONNECT_TIMEOUT)),
                        }
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "broker filter: connection ended");
                }
            });
        }
    }

    /// Check one connection's CONNECT, then relay it to rumqttd under the rules.
    async fn handle<S>(&self, client: S) -> Result<(), FilterError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut client_rx, mut client_tx) = tokio::io::split(client);
        let mut buf = BytesMut::with_capacity(1024);
        let first = tokio::time::timeout(
            CONNECT_TIMEOUT,
            read_frame(&mut client_rx, &mut buf, MAX_CONNECT),
        )
        .await
        .map_err(|_| FilterError::ConnectTimeout(CONNECT_TIMEOUT))??;
        let Packet::Connect(mut connect) =
            Packet::read(&mut BytesMut::from(&first[..]), MAX_CONNECT)?
        else {
            return Err(FilterError::NotConnect);
        };
        let identity = match self.admit(&connect).await {
            Ok(identity) => identity,
            Err(code) => {
                // Refused here, the connect never reaches rumqttd: the real owner of the client
                // id stays connected.
                tracing::warn!(
                    client_id = ?connect.client_id,
                    user = ?connect.login.as_ref().map(|l| l.username.as_str()),
                    ?code,
                    "broker filter: connect refused"
                );
                let mut out = BytesMut::new();
                ConnAck::new(code, false).write(&mut out)?;
                client_tx.write_all(&out).await?;
                let _ = client_tx.shutdown().await;
                return Err(FilterError::Refused(code));
            }
        };
        connect.login = Some(Login::new(
            self.internal.username.clone(),
            self.internal.password.clone(),
        ));
        let mut rewritten = BytesMut::new();
        connect.write(&mut rewritten)?;
        let upstream = TcpStream::connect(self.upstream).await?;
        let _ = upstream.set_nodelay(true);
        let (mut up_rx, mut up_tx) = upstream.into_split();
        up_tx.write_all(&rewritten).await?;

        let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(OUT_QUEUE);
        let inbound = self.relay_inbound(&identity, &mut client_rx, buf, &mut up_tx, &out_tx);
        // rumqttd's packets are trusted; framing them keeps answers made here between packets.
        let outbound = async {
            let mut buf = BytesMut::with_capacity(4096);
            loop {
                let frame = read_frame(&mut up_rx, &mut buf, 2 * self.max_packet).await?;
                out_tx.send(frame).await.map_err(|_| FilterError::Closed)?;
            }
        };
        let writer = async {
            while let Some(frame) = out_rx.recv().await {
                client_tx.write_all(&frame).await?;
            }
            Ok::<(), FilterError>(())
        };
        // Whichever side ends first ends the connection; dropping both sockets tells rumqttd,
        // which then publishes the agent's last will as for any lost connection.
        let result = tokio::select! {
            r = inbound => r,
            r = outbound => r,
            r = writer => r,
        };
        let _ = up_tx.shutdown().await;
        result
    }

    /// Decide who `connect` speaks for, or the CONNACK code refusing it.
    async fn admit(&self, connect: &Connect) -> Result<Identity, ConnectReturnCode> {
        if connect.protocol != Protocol::V4 {
            return Err(ConnectReturnCode::RefusedProtocolVersion);
        }
        let Some(login) = &connect.login else {
            return Err(ConnectReturnCode::NotAuthorized);
        };
        let identity = if login.username == self.internal.username {
            if !constant_eq(login.password.as_bytes(), self.internal.password.as_bytes()) {
                return Err(ConnectReturnCode::BadUserNamePassword);
            }
            Identity::Server
        } else {
            if !topics::valid_agent_id(&login.username) {
                return Err(ConnectReturnCode::BadUserNamePassword);
            }
            match self
                .store
                .check_mqtt_password(&login.username, &login.password)
                .await
            {
                Ok(true) => Identity::Agent(login.username.clone()),
                Ok(false) => return Err(ConnectReturnCode::BadUserNamePassword),
                Err(e) => {
                    tracing::error!(error = %e, "broker filter: checking a login failed");
                    return Err(ConnectReturnCode::ServiceUnavailable);
                }
            }
        };
        if !identity.may_use_client_id(&connect.client_id) {
            return Err(ConnectReturnCode::BadClientId);
        }
        if let Some(will) = &connect.last_will {
            if !identity.may_publish(&will.topic) {
                return Err(ConnectReturnCode::NotAuthorized);
            }
        }
        Ok(identity)
    }

    /// Client to rumqttd: forward what `identity` may send, answer the rest here.
    async fn relay_inbound<R, W>(
        &self,
        identity: &Identity,
        client_rx: &mut R,
        mut buf: BytesMut,
        up_tx: &mut W,
        answers: &mpsc::Sender<Bytes>,
    ) -> Result<(), FilterError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            let frame = read_frame(client_rx, &mut buf, self.max_packet).await?;
            match verdict(identity, &frame, self.max_packet)? {
                Verdict::Forward => up_tx.write_all(&frame).await?,
                Verdict::Answer(packet) => {
                    let mut out = BytesMut::new();
                    packet.write(&mut out, usize::MAX)?;
                    answers
                        .send(out.freeze())
                        .await
                        .map_err(|_| FilterError::Closed)?;
                }
                Verdict::Drop => {}
            }
        }
    }
}

/// What to do with one packet from a client.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Pass it to rumqttd unchanged.
    Forward,
    /// Do not pass it on; send this to the client instead.
    Answer(Packet),
    /// Do not pass it on; nothing to answer.
    Drop,
}

/// The rules for one packet `frame` from a client speaking for `identity`.
fn verdict(identity: &Identity, frame: &[u8], max: usize) -> Result<Verdict, FilterError> {
    let packet = Packet::read(&mut BytesMut::from(frame), max)?;
    Ok(match packet {
        Packet::Connect(_) => return Err(FilterError::SecondConnect),
        Packet::Publish(p) if identity.may_publish(&p.topic) => Verdict::Forward,
        Packet::Publish(p) => {
            tracing::warn!(
                agent = identity.name(),
                topic = ?p.topic,
                "broker filter: publish on a topic it may not use dropped"
            );
            match p.qos {
                QoS::AtMostOnce => Verdict::Drop,
                QoS::AtLeastOnce => Verdict::Answer(Packet::PubAck(PubAck::new(p.pkid))),
                // Its PUBREL would reach rumqttd unannounced; such a client is not an agent.
                QoS::ExactlyOnce => return Err(FilterError::ForbiddenQos2(p.topic)),
            }
        }
        Packet::Subscribe(s) if s.filters.iter().all(|f| identity.may_subscribe(&f.path)) => {
            Verdict::Forward
        }
        Packet::Subscribe(s) => {
            tracing::warn!(
                agent = identity.name(),
                filters = ?s.filters.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
                "broker filter: subscribe to topics it may not read refused"
            );
            let codes = vec![SubscribeReasonCode::Failure; s.filters.len()];
            Verdict::Answer(Packet::SubAck(SubAck::new(s.pkid, codes)))
        }
        _ => Verdict::Forward,
    })
}

/// Read one whole MQTT packet (fixed header and all) from `rx`, keeping any bytes after it in
/// `buf`; a packet longer than `max` ends the connection.
async fn read_frame<R>(rx: &mut R, buf: &mut BytesMut, max: usize) -> Result<Bytes, FilterError>
where
    R: AsyncRead + Unpin,
{
    loop {
        match mqttbytes::check(buf.iter(), max) {
            Ok(header) => return Ok(buf.split_to(header.frame_length()).freeze()),
            Err(mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if rx.read_buf(buf).await? == 0 {
            return Err(FilterError::Closed);
        }
    }
}

/// Compare secrets in time independent of where they differ.
pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::mqttbytes::v4::{Publish, Subscribe, SubscribeFilter};

    fn agent(id: &str) -> Identity {
        Identity::Agent(id.into())
    }

    fn frame(p: Packet) -> Vec<u8> {
        let mut b = BytesMut::new();
        p.write(&mut b, usize::MAX).unwrap();
        b.to_vec()
    }

    #[test]
    fn an_agent_publishes_only_on_its_own_up_and_status_topics() {
        let a = agent("a-1");
        assert!(a.may_publish("mtm/v1/up/a-1"));
        assert!(a.may_publish("mtm/v1/status/a-1"));
        for t in [
            "mtm/v1/up/b-1",
            "mtm/v1/status/b-1",
            "mtm/v1/down/a-1",
            "mtm/v1/down/b-1",
            "mtm/v1/packages",
            "mtm/v1/up/a-1/x",
            "mtm/v1/up/+",
        ] {
            assert!(!a.may_publish(t), "{t}");
        }
        assert!(Identity::Server.may_publish("mtm/v1/down/b-1"));
    }

    #[test]
    fn an_agent_subscribes_only_to_its_own_down_topic_and_the_catalog_literally() {
        let a = agent("a-1");
        assert!(a.may_subscribe("mtm/v1/down/a-1"));
        assert!(a.may_subscribe("mtm/v1/packages"));
        for f in [
            "mtm/v1/#",
            "#",
            "mtm/v1/down/+",
            "mtm/v1/down/b-1",
            "mtm/v1/up/a-1",
            "mtm/v1/status/+",
            "$share/g/mtm/v1/down/a-1",
        ] {
            assert!(!a.may_subscribe(f), "{f}");
        }
    }

    #[test]
    fn an_agent_connects_only_with_its_own_client_id() {
        let a = agent("a-1");
        assert!(a.may_use_client_id("mtm-agent-a-1"));
        assert!(!a.may_use_client_id("mtm-agent-b-1"));
        assert!(!a.may_use_client_id(""));
        assert!(Identity::Server.may_use_client_id("mtm-agent-b-1"));
    }

    #[test]
    fn forbidden_packets_are_answered_here_and_allowed_ones_forwarded() {
        let a = agent("a-1");
        let mut own = Publish::new("mtm/v1/up/a-1", QoS::AtLeastOnce, b"x".to_vec());
        own.pkid = 3;
        assert_eq!(
            verdict(&a, &frame(Packet::Publish(own)), 1024).unwrap(),
            Verdict::Forward
        );
        let mut other = Publish::new("mtm/v1/down/b-1", QoS::AtLeastOnce, b"x".to_vec());
        other.pkid = 4;
        assert_eq!(
            verdict(&a, &frame(Packet::Publish(other)), 1024).unwrap(),
            Verdict::Answer(Packet::PubAck(PubAck::new(4)))
        );
        let q0 = Publish::new("mtm/v1/up/b-1", QoS::AtMostOnce, b"x".to_vec());
        assert_eq!(
            verdict(&a, &frame(Packet::Publish(q0)), 1024).unwrap(),
            Verdict::Drop
        );
        let mut q2 = Publish::new("mtm/v1/up/b-1", QoS::ExactlyOnce, b"x".to_vec());
        q2.pkid = 5;
        assert!(verdict(&a, &frame(Packet::Publish(q2)), 1024).is_err());

        let mut mixed = Subscribe::new_many([
            SubscribeFilter::new("mtm/v1/down/a-1".into(), QoS::AtLeastOnce),
            SubscribeFilter::new("mtm/v1/#".into(), QoS::AtLeastOnce),
        ]);
        mixed.pkid = 6;
        assert_eq!(
            verdict(&a, &frame(Packet::Subscribe(mixed)), 1024).unwrap(),
            Verdict::Answer(Packet::SubAck(SubAck::new(
                6,
                vec![SubscribeReasonCode::Failure; 2]
            )))
        );
        let mut own_sub = Subscribe::new("mtm/v1/down/a-1", QoS::AtLeastOnce);
        own_sub.pkid = 7;
        assert_eq!(
            verdict(&a, &frame(Packet::Subscribe(own_sub)), 1024).unwrap(),
            Verdict::Forward
        );
        assert!(verdict(&a, &frame(Packet::Connect(Connect::new("x"))), 1024).is_err());
        assert_eq!(
            verdict(&a, &frame(Packet::PingReq), 1024).unwrap(),
            Verdict::Forward
        );
    }
}
