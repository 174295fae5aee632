//! Enrollment: `mtm-agent enroll --server URL --code CODE`.
//!
//! The agent loads or makes its ed25519 key in the data directory, sends only the public key with
//! the one-time code, and writes what the server returns (agent id, the control plane's key,
//! which it pins, and the broker account) into its configuration file, keeping every other
//! setting (router address and password, intervals, comments) as it was. Router credentials
//! never leave the device.
//!
//! In a RouterOS container the image's config is read-only in practice, so `run` enrolls by
//! itself when the config has no identity and `MTM_ENROLL_SERVER`/`MTM_ENROLL_CODE` are set; the
//! result then lives in `{data_dir}/enrollment.toml` and is read over the config at every start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mtm_common::enrollment::{EnrollRefusal, EnrollRequest, EnrollResponse};
use serde::{Deserialize, Serialize};

use crate::config::{AgentConfig, ConfigError};
use crate::http;
use crate::keyfile::load_or_create_key;
use crate::private_file::write_private;

/// File in the data directory holding an identity enrolled without a writable config.
pub const ENROLLMENT_FILE: &str = "enrollment.toml";

/// How long the whole enrollment request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why enrollment failed; each variant reads as advice for the technician.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The server could not be reached or spoke something else.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// The server refused the code.
    #[error("enrollment refused ({reason}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable reason: `unknown_code`, `used`, `expired`, `replaced`, `rate_limited`, ...
        reason: String,
        /// The server's sentence.
        message: String,
    },
    /// The server answered with something that is not an enrollment.
    #[error("unexpected answer from the server (HTTP {status}): {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// The key file could not be read or made.
    #[error(transparent)]
    Key(#[from] crate::error::AgentError),
    /// The config file could not be read or written.
    #[error("config file {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// What `mtm-agent enroll` needs.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// The control plane's base URL (`https://...`; `http://` only for tests on loopback).
    pub server: String,
    /// The one-time code.
    pub code: String,
    /// Config file to update (created if missing); `None`: `{data_dir}/enrollment.toml`.
    pub config: Option<PathBuf>,
    /// Data directory (key); `None`: `MTM_DATA_DIR`, the config's `data_dir`, or the default.
    pub data_dir: Option<PathBuf>,
    /// PEM CA for the server's certificate instead of the system's CA store.
    pub ca_file: Option<PathBuf>,
}

/// An enrolled identity: the server's reply to `POST /api/enroll` and where updates come from.
/// Also the form of `{data_dir}/enrollment.toml`. `Debug` leaves the MQTT password out.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Identity {
    /// What the server answered.
    #[serde(flatten)]
    pub enrolled: EnrollResponse,
    /// Where updates are downloaded: the server enrolled with (set by the agent, not the reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_server: Option<String>,
}

/// What enrolling did.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The identity received.
    pub identity: Identity,
    /// The file it was written to.
    pub written_to: PathBuf,
    /// The data directory holding the key.
    pub data_dir: PathBuf,
    /// The agent's public key, hex.
    pub public_key_hex: String,
}

/// Enroll: key, request, config. Safe to repeat with a new code (the key stays).
pub async fn enroll(opts: &EnrollOptions) -> Result<Enrolled, EnrollError> {
    let url = http::Url::parse(opts.server.trim())?;
    if !url.tls && !url.is_loopback() {
        // Over plain HTTP anyone on the path could hand the agent their own control-plane key.
        return Err(http::HttpError::Url {
            url: opts.server.clone(),
            message: "plain http:// is only for this machine (tests); use https://".into(),
        }
        .into());
    }
    let existing = match &opts.config {
        Some(p) => read_optional(p)?,
        None => None,
    };
    let data_dir = match &opts.data_dir {
        Some(d) => d.clone(),
        None => match std::env::var_os("MTM_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => existing
                .as_deref()
                .and_then(|t| AgentConfig::from_toml(t).ok())
                .map(|c| c.data_dir)
                .unwrap_or_else(|| AgentConfig::default().data_dir),
        },
    };
    let data_dir = absolute(&data_dir);
    let key = load_or_create_key(&data_dir)?;
    let public_key_hex = mtm_common::keys::public_key_hex(&key.verifying_key());
    let request = EnrollRequest {
        code: opts.code.trim().to_owned(),
        public_key_hex: public_key_hex.clone(),
        agent_version: crate::version::VERSION.to_owned(),
    };
    let body = serde_json::to_vec(&request).map_err(|e| EnrollError::Unexpected {
        status: 0,
        message: format!("cannot encode the request: {e}"),
    })?;
    let reply =
        http::post_json(&url, "/api/enroll", &body, opts.ca_file.as_deref(), TIMEOUT).await?;
    let identity = Identity {
        enrolled: read_reply(&reply)?,
        update_server: Some(opts.server.trim().to_owned()),
    };
    let (path, text) = match &opts.config {
        Some(p) => (
            p.clone(),
            update_config(existing.as_deref().unwrap_or(""), &identity, &data_dir).map_err(
                |message| EnrollError::Config {
                    path: p.clone(),
                    message,
                },
            )?,
        ),
        None => (data_dir.join(ENROLLMENT_FILE), identity_toml(&identity)),
    };
    write_private(&path, text.as_bytes()).map_err(|e| EnrollError::Config {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(Enrolled {
        identity,
        written_to: path,
        data_dir,
        public_key_hex,
    })
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_owned();
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .unwrap_or_else(|_| p.to_owned())
}

fn read_optional(path: &Path) -> Result<Option<String>, EnrollError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EnrollError::Config {
            path: path.to_owned(),
            message: e.to_string(),
        }),
    }
}

fn read_reply(reply: &http::Response) -> Result<EnrollResponse, EnrollError> {
    if reply.status == 200 {
        let identity: EnrollResponse =
            serde_json::from_slice(&reply.body).map_err(|_| EnrollError::Unexpected {
                status: 200,
                message: "the reply is not an enrollment (is the URL the mtm server?)".into(),
            })?;
        let bad_release_key = identity
            .release_public_key
            .as_deref()
            .is_some_and(|k| mtm_common::keys::parse_public_key(k).is_err());
        if !mtm_common::topics::valid_agent_id(&identity.agent_id)
            || mtm_common::keys::parse_public_key(&identity.control_plane_public_key).is_err()
            || bad_release_key
            || identity.mqtt_host.is_empty()
            || identity.mqtt_port == 0
        {
            return Err(EnrollError::Unexpected {
                status: 200,
                message: "the enrollment reply has an invalid agent id, key or broker".into(),
            });
        }
        return Ok(identity);
    }
    if (300..400).contains(&reply.status) {
        return Err(EnrollError::Unexpected {
            status: reply.status,
            message: format!(
                "the server redirects to {}; use that URL",
                reply.location.as_deref().unwrap_or("another address")
            ),
        });
    }
    match serde_json::from_slice::<EnrollRefusal>(&reply.body) {
        Ok(r) => Err(EnrollError::Refused {
            status: reply.status,
            reason: r.reason,
            message: r.error,
        }),
        Err(_) => Err(EnrollError::Unexpected {
            status: reply.status,
            message: "no enrollment endpoint there (is the URL the mtm server?)".into(),
        }),
    }
}

/// `text` (an agent config, possibly empty) with the identity and `data_dir` set, and
/// `update_server` and `release_key` from the enrollment where the config names none; every
/// other key and comment kept.
pub fn update_config(text: &str, id: &Identity, data_dir: &Path) -> Result<String, String> {
    use toml_edit::{value, DocumentMut, Item, Table};
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        // The message may quote a line with a password: keep only the position.
        format!("not valid TOML ({:?})", e.span())
    })?;
    doc["agent_id"] = value(id.enrolled.agent_id.as_str());
    doc["data_dir"] = value(data_dir.display().to_string());
    doc["control_plane_key"] = value(id.enrolled.control_plane_public_key.as_str());
    // What the technician put in the config wins over what the server says.
    if let (false, Some(server)) = (doc.contains_key("update_server"), &id.update_server) {
        doc["update_server"] = value(server.as_str());
    }
    if let (false, Some(key)) = (
        doc.contains_key("release_key"),
        &id.enrolled.release_public_key,
    ) {
        doc["release_key"] = value(key.as_str());
    }
    if !doc.contains_key("mqtt") {
        doc["mqtt"] = Item::Table(Table::new());
    }
    // A [mqtt] table or an inline `mqtt = { ... }`; other keys in it (tls, keep-alive) stay.
    let mqtt = doc["mqtt"]
        .as_table_like_mut()
        .ok_or_else(|| "mqtt is not a table".to_owned())?;
    mqtt.insert("host", value(id.enrolled.mqtt_host.as_str()));
    mqtt.insert("port", value(i64::from(id.enrolled.mqtt_port)));
    mqtt.insert("username", value(id.enrolled.mqtt_username.as_str()));
    mqtt.insert("password", value(id.enrolled.mqtt_password.as_str()));
    // The broker's own certificate, pinned; a re-enrollment against a plain broker drops it.
    match &id.enrolled.mqtt_tls_pin_sha256 {
        Some(pin) => {
            mqtt.insert("tls_pin_sha256", value(pin.as_str()));
        }
        None => {
            mqtt.remove("tls_pin_sha256");
        }
    }
    let out = doc.to_string();
    AgentConfig::from_toml(&out).map_err(|e| format!("after the update: {e}"))?;
    Ok(out)
}

fn identity_toml(id: &Identity) -> String {
    format!(
        "# Written by `mtm-agent enroll`; read over the config file at every start.\n{}",
        toml::to_string(id).unwrap_or_default()
    )
}

/// Load the config for `run`/`check`: the file, then `MTM_*` variables, then an identity in
/// `{data_dir}/enrollment.toml` if there is one; with no identity anywhere and
/// `MTM_ENROLL_SERVER` and `MTM_ENROLL_CODE` set, enroll first. Then validate.
pub async fn load_config(path: &Path) -> Result<AgentConfig, EnrollError> {
    let cfg_err = |e: ConfigError| EnrollError::Config {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| EnrollError::Config {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut cfg = AgentConfig::from_toml(&text).map_err(|message| EnrollError::Config {
        path: path.to_owned(),
        message,
    })?;
    cfg.apply_env(|n| std::env::var(n).ok()).map_err(cfg_err)?;
    let file = cfg.data_dir.join(ENROLLMENT_FILE);
    if !file.exists() && cfg.agent_id.is_empty() {
        let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        if let (Some(server), Some(code)) = (env("MTM_ENROLL_SERVER"), env("MTM_ENROLL_CODE")) {
            tracing::info!(server, "no identity yet: enrolling");
            enroll(&EnrollOptions {
                server,
                code,
                config: None,
                data_dir: Some(cfg.data_dir.clone()),
                ca_file: std::env::var_os("MTM_ENROLL_CA_FILE").map(PathBuf::from),
            })
            .await?;
        }
    }
    if let Some(text) = read_optional(&file)? {
        let id: Identity = toml::from_str(&text).map_err(|e| EnrollError::Config {
            path: file.clone(),
            message: e.message().to_owned(),
        })?;
        apply_identity(&mut cfg, &id);
    }
    cfg.validate().map_err(cfg_err)?;
    Ok(cfg)
}

/// Put an enrolled identity into a config.
pub fn apply_identity(cfg: &mut AgentConfig, id: &Identity) {
    cfg.agent_id = id.enrolled.agent_id.clone();
    cfg.control_plane_key = id.enrolled.control_plane_public_key.clone();
    cfg.mqtt.host = id.enrolled.mqtt_host.clone();
    cfg.mqtt.port = id.enrolled.mqtt_port;
    cfg.mqtt.username = Some(id.enrolled.mqtt_username.clone());
    cfg.mqtt.password = Some(id.enrolled.mqtt_password.clone());
    cfg.mqtt.tls_pin_sha256 = id.enrolled.mqtt_tls_pin_sha256.clone();
    if cfg.update_server.is_none() {
        cfg.update_server = id.update_server.clone();
    }
    if cfg.release_key.is_none() {
        cfg.release_key = id.enrolled.release_public_key.clone();
    }
}
