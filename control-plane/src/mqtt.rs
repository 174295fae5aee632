//! MQTT: the embedded rumqttd broker (agents authenticated against the store) and the control
//! plane's publishing interface; the client itself is in `link`.

use crate::store::Store;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum MqttConfig {
    /// Run rumqttd inside the server, listening on `bind` (port 0 picks a free port).
    Embedded {
        /// Listen address.
        bind: SocketAddr,
    },
    /// Use an external broker (Mosquitto, EMQX, ...); replicas share ingest.
    External {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Username, if the broker wants one.
        #[serde(default)]
        username: Option<String>,
        /// Password, if the broker wants one (never logged).
        #[serde(default)]
        password: Option<String>,
    },
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig::Embedded {
            bind: SocketAddr::from(([127, 0, 0, 1], 1884)),
        }
    }
}

/// Why MQTT setup or a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The broker could not be started.
    #[error("broker: {0}")]
    Broker(String),
    /// A publish could not be queued.
    #[error("publish: {0}")]
    Publish(String),
}

/// Publishes payloads; the real one is rumqttc, tests use a recorder.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publish at QoS 1, not retained.
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError>;

    /// Connected and subscribed, so a publish can go out and answers come back.
    fn ready(&self) -> bool {
        true
    }

    /// The live client's status, when there is one (not for test recorders).
    fn link(&self) -> Option<Arc<crate::link::LinkStatus>> {
        None
    }
}

/// One message received from the broker.
#[derive(Debug)]
pub struct Incoming {
    /// Topic it arrived on.
    pub topic: String,
    /// Raw payload.
    pub payload: Vec<u8>,
    /// Its place in the broker-level acknowledgement order, with a persistent session: the
    /// PUBACK goes out once this is dropped, so it is kept until the message is committed (or
    /// refused). `None` when the client acknowledges on receipt, and in tests.
    pub ack: Option<crate::link_acks::AckTicket>,
}

/// The server's own broker credentials in embedded mode; made fresh at every start.
#[derive(Clone)]
pub struct InternalCredentials {
    /// Username (not an agent id pattern agents could register: it contains a dot).
    pub username: String,
    /// Random password.
    pub password: String,
}

impl InternalCredentials {
    /// Fresh random credentials.
    pub fn generate() -> Self {
        InternalCredentials {
            username: "mtm.control-plane".into(),
            password: hex::encode(rand::random::<[u8; 32]>()),
        }
    }
}

/// Where a started embedded broker listens.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedAddrs {
    /// The filter in front of rumqttd, where agents connect.
    pub public: SocketAddr,
    /// rumqttd itself, on loopback, taking only the server's own login.
    pub internal: SocketAddr,
}

/// Start rumqttd on a loopback port and the filter in front of it on `bind`
/// (`broker::filter`): agents log in there with their agent id and MQTT password, checked
/// against the store, and may use their own topics and client id only.
///
/// With `tls`, the filter's listener speaks TLS only.
///
/// rumqttd runs on its own threads and cannot be stopped; it lives as long as the process. The
/// filter runs on the caller's runtime.
pub fn start_embedded(
    bind: SocketAddr,
    store: Arc<dyn Store>,
    internal: InternalCredentials,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<EmbeddedAddrs, MqttError> {
    let broker_err = |e: std::io::Error| MqttError::Broker(e.to_string());
    let public = TcpListener::bind(bind).map_err(broker_err)?;
    public.set_nonblocking(true).map_err(broker_err)?;
    let public_addr = public.local_addr().map_err(broker_err)?;
    let public = tokio::net::TcpListener::from_std(public).map_err(broker_err)?;
    let internal_addr = {
        // rumqttd does not report the port it bound, so find a free one first.
        let l = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).map_err(broker_err)?;
        l.local_addr().map_err(broker_err)?
    };
    let max_packet = mtm_common::MAX_ENVELOPE_BYTES + 4096;
    let mut connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: max_packet,
        max_inflight_count: 200,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    // Only the server's own login: the filter replaces every agent's login by it, so nothing
    // reaches rumqttd around the filter's rules (not even from this machine).
    let expected = internal.clone();
    connections.set_auth_handler(move |_client_id: String, user: String, pass: String| {
        let ok = user == expected.username
            && crate::broker::filter::constant_eq(pass.as_bytes(), expected.password.as_bytes());
        async move { ok }
    });
    let server = rumqttd::ServerSettings {
        name: "mtm-v4".into(),
        listen: internal_addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("mtm-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(|e| MqttError::Broker(e.to_string()))?;
    let filter =
        crate::broker::filter::Filter::new(store, internal, internal_addr, max_packet, tls);
    tokio::spawn(Arc::new(filter).serve(public));
    Ok(EmbeddedAddrs {
        public: public_addr,
        internal: internal_addr,
    })
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::sync::Mutex;

    /// Records every publish, for tests.
    #[derive(Default)]
    pub struct Recorder {
        pub sent: Mutex<Vec<(String, Vec<u8>)>>,
    }

    #[async_trait]
    impl Publisher for Recorder {
        async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError> {
            self.sent.lock().unwrap().push((topic.to_owned(), payload));
            Ok(())
        }
    }

    impl Recorder {
        /// Every `DownMessage` sent to `agent`, opened with the control plane's key.
        pub fn down_to(
            &self,
            agent: &str,
            cp: &ed25519_dalek::VerifyingKey,
        ) -> Vec<(u64, mtm_common::DownMessage)> {
            let topic = mtm_common::topics::down(agent);
            self.sent
                .lock()
                .unwrap()
                .iter()
                .filter(|(t, _)| *t == topic)
                .map(|(_, p)| {
                    let env = mtm_common::Envelope::from_bytes(p).unwrap();
                    assert_eq!(env.from, mtm_common::CONTROL_PLANE_ID);
                    (env.seq, env.open(cp, agent).unwrap())
                })
                .collect()
        }
    }
}
