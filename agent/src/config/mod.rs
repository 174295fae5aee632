//! Agent configuration: a TOML file, then `MTM_*` environment overrides, then validation.

mod load;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// An environment override could not be parsed.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A value is missing or out of range.
    #[error("config: {0}")]
    Invalid(String),
}

/// Everything one agent needs to know.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// This agent's id; topic-safe (letters, digits, `-`, `_`).
    pub agent_id: String,
    /// Where the redb file (`agent.redb`) and the key file (`agent.key`) live.
    pub data_dir: PathBuf,
    /// The control plane's ed25519 public key, hex; only commands it signed are obeyed.
    pub control_plane_key: String,
    /// The broker.
    pub mqtt: MqttConfig,
    /// The RouterOS API endpoint.
    pub router: RouterConfig,
    /// How often telemetry is gathered.
    pub intervals: Intervals,
    /// Control-plane envelopes whose time is further than this from the agent clock are
    /// refused. The control plane seals every (re)send afresh, so this only has to cover
    /// transit and clock skew; a replay of a captured envelope is useless once it has passed.
    pub command_window_s: u64,
    /// Where the local status endpoint listens, if anywhere.
    pub status_listen: Option<SocketAddr>,
    /// Log JSON lines instead of text.
    pub log_json: bool,
    /// The release key's ed25519 public key, hex, pinned; without it every `UpdateAgent` is
    /// refused.
    pub release_key: Option<String>,
    /// The control plane's URL updates are downloaded from (`https://`; `http://` only to
    /// loopback).
    pub update_server: Option<String>,
    /// PEM CA of the update server's certificate (default: the system's CA store).
    pub update_ca_file: Option<PathBuf>,
}

/// Default for [`AgentConfig::command_window_s`]: ten minutes. A connected agent receives a
/// down-message within a second of its sealing; one queued by the broker while the agent was away
/// is superseded by the fresh copies sealed when its Hello arrives. What is left is clock skew
/// between two NTP-synchronised machines plus a broker queue across a short reconnect.
pub const DEFAULT_COMMAND_WINDOW_S: u64 = 600;

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            agent_id: String::new(),
            data_dir: PathBuf::from("/var/lib/mtm-agent"),
            control_plane_key: String::new(),
            mqtt: MqttConfig::default(),
            router: RouterConfig::default(),
            intervals: Intervals::default(),
            command_window_s: DEFAULT_COMMAND_WINDOW_S,
            status_listen: None,
            log_json: false,
            release_key: None,
            update_server: None,
            update_ca_file: None,
        }
    }
}

/// Broker connection.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker host name or address.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Per-agent user name, if the broker wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// TLS to the broker, when set.
    pub tls: Option<TlsConfig>,
    /// TLS to the broker accepting exactly the certificate with this SHA-256 (hex, of its DER
    /// bytes), whatever its names or issuer: the embedded broker's own certificate, pinned at
    /// enrollment. Excludes `tls`.
    pub tls_pin_sha256: Option<String>,
    /// MQTT keep-alive, seconds.
    pub keep_alive_s: u64,
    /// A message the control plane has not acknowledged this many seconds after it was
    /// published is published again, in the same session; the wait doubles with each further
    /// try, up to eight times this.
    pub resend_after_s: u64,
    /// Most messages published and not yet acknowledged at once; newer ones wait in the outbox
    /// (where unsent telemetry is coalesced) until acknowledgements make room.
    pub max_in_flight: u32,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            username: None,
            password: None,
            tls: None,
            tls_pin_sha256: None,
            keep_alive_s: 30,
            resend_after_s: 20,
            max_in_flight: 100,
        }
    }
}

/// TLS towards the broker.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the CA certificate(s) the broker's certificate must chain to.
    pub ca_file: PathBuf,
}

/// RouterOS API endpoint.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// `host:port` of the API (8728 plain, 8729 API-SSL).
    pub addr: String,
    /// API user.
    pub username: String,
    /// API password.
    pub password: String,
    /// Use API-SSL.
    pub tls: bool,
    /// Accept the router's self-signed certificate (API-SSL only).
    pub insecure_self_signed: bool,
    /// PEM CA for a verified API-SSL certificate.
    pub ca_file: Option<PathBuf>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            addr: "192.168.88.1:8728".into(),
            username: "mtm-agent".into(),
            password: String::new(),
            tls: false,
            insecure_self_signed: false,
            ca_file: None,
        }
    }
}

/// Telemetry periods, seconds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Intervals {
    /// Usage poll (users and active sessions).
    pub usage_poll_s: u64,
    /// Health report.
    pub health_s: u64,
    /// Full inventory.
    pub inventory_s: u64,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            usage_poll_s: 10,
            health_s: 60,
            inventory_s: 300,
        }
    }
}

// Secrets never reach a log line, even through `{:?}`.
impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("agent_id", &self.agent_id)
            .field("data_dir", &self.data_dir)
            .field("control_plane_key", &self.control_plane_key)
            .field("mqtt", &self.mqtt)
            .field("router", &self.router)
            .field("intervals", &self.intervals)
            .field("command_window_s", &self.command_window_s)
            .field("status_listen", &self.status_listen)
            .field("log_json", &self.log_json)
            .field("release_key", &self.release_key)
            .field("update_server", &self.update_server)
            .finish()
    }
}

impl fmt::Debug for MqttConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("tls_pin_sha256", &self.tls_pin_sha256)
            .field("keep_alive_s", &self.keep_alive_s)
            .field("resend_after_s", &self.resend_after_s)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

impl fmt::Debug for RouterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterConfig")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("tls", &self.tls)
            .field("insecure_self_signed", &self.insecure_self_signed)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}
