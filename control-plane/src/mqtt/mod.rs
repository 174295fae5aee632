//! MQTT as the rest of the server sees it: where the broker is, the publishing interface, a
//! received message, and the client's status. The client itself is in `link`, the embedded
//! broker in `broker`.

mod status;

pub use status::{LinkStatus, AGENT_RECONNECT_MAX_MS};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
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
    fn link(&self) -> Option<Arc<LinkStatus>> {
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
