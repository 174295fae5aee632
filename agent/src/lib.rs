//! `mtm-agent`: the edge agent beside each MikroTik router. It applies signed commands from the
//! control plane to the router exactly once (redb inbox), and reports what the router shows
//! (usage, health, inventory) exactly once (redb outbox, resent until acknowledged), over MQTT.
//!
//! Layout, one concern per module: [`config`], [`keyfile`], [`store`] (outbox, inbox,
//! baselines), [`downlink`] (verification), [`commands`] (router actions), [`telemetry`],
//! [`router`] (session), [`mqtt`] (broker link), [`runtime`] (tasks), [`status`] (HTTP),
//! [`agent`] (start/stop); [`enroll`] and [`router_script`] for setting a site up.

#![warn(missing_docs)]

pub mod agent;
pub mod backoff;
pub mod clock;
pub mod commands;
pub mod config;
pub mod downlink;
pub mod enroll;
pub mod error;
pub mod inflight;
pub mod keyfile;
pub mod mqtt;
pub mod router;
pub mod router_script;
pub mod runtime;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod test_support;
pub mod update;
pub mod upgrade;

pub use agent::{Agent, AgentHandle, AgentStatus};
pub use config::{AgentConfig, ConfigError, Intervals, MqttConfig, RouterConfig, TlsConfig};
pub use error::AgentError;
pub use keyfile::load_or_create_key;
