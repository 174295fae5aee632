//! `mtm-agent`: the edge agent beside each MikroTik router. It applies signed commands from the
//! control plane to the router exactly once (redb inbox), and reports what the router shows
//! (usage, health, inventory) exactly once (redb outbox, resent until acknowledged), over MQTT.

pub mod config;
pub mod error;
pub mod keyfile;
pub mod store;

pub use config::{AgentConfig, ConfigError, Intervals, MqttConfig, RouterConfig, TlsConfig};
pub use error::AgentError;
pub use keyfile::load_or_create_key;
