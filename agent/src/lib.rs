//! `mtm-agent`: the edge agent beside each MikroTik router. It applies signed commands from the
//! control plane to the router exactly once (redb inbox), and reports what the router shows
//! (usage, health, inventory) exactly once (redb outbox, resent until acknowledged), over MQTT.
//!
//! Layout, one concern per module, each importing only modules below it (docs/architecture.md
//! draws the graph): [`agent`] (start/stop) over [`runtime`] (tasks) and [`mqtt`] (broker
//! link, with [`downlink`] verification and [`inflight`]); [`commands`] and [`batch`] (router
//! actions) and [`telemetry`] over [`hotspot`] (router operations both use) and [`router`]
//! (session);
//! [`update`] (signed self-update); [`status`] (HTTP); [`store`] (outbox, inbox, baselines);
//! [`config`], [`keyfile`], [`private_file`], [`http`], [`tls`], [`version`]; [`enroll`] and
//! [`router_script`] for setting a site up.

#![warn(missing_docs)]

pub mod agent;
pub mod backoff;
pub mod batch;
pub mod clock;
pub mod commands;
pub mod config;
pub mod downlink;
pub mod enroll;
pub mod error;
pub mod hotspot;
pub mod http;
pub mod inflight;
pub mod keyfile;
pub mod mac_lock;
pub mod mqtt;
pub mod private_file;
pub mod router;
pub mod router_script;
pub mod runtime;
pub mod status;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod tls;
pub mod update;
pub mod version;

pub use agent::{Agent, AgentHandle};
pub use config::{AgentConfig, ConfigError, Intervals, MqttConfig, RouterConfig, TlsConfig};
pub use error::AgentError;
pub use keyfile::load_or_create_key;
pub use status::AgentStatus;
