//! Server configuration: defaults, then a TOML file, then `MTM_*` environment variables.

use crate::mqtt::MqttConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("parsing {path}: {source}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Cause.
        source: toml::de::Error,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// Variable.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// Everything `mtm-server` needs to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Holds the SQLite file, the control-plane key (`cp.key`) and the JWT secret.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://...`; empty means `sqlite://{data_dir}/mtm.db`.
    pub database_url: String,
    /// HTTP listen address.
    pub http_bind: SocketAddr,
    /// Embedded or external broker.
    pub mqtt: MqttConfig,
    /// Length of voucher codes.
    pub token_code_len: usize,
    /// Mark cookies Secure and send HSTS even without an `https://` [`Self::external_url`].
    pub secure_cookies: bool,
    /// Where people reach this server (the management pages), e.g. `https://mtm.example.com`.
    /// An `https://` URL turns on Secure cookies and HSTS. Not the hotspot URL below.
    pub external_url: Option<String>,
    /// Public URL of the hotspot login page printed on vouchers (customers' side), if any.
    pub public_url: Option<String>,
    /// The reverse proxy in front of the server (its address as the server sees it): only on
    /// connections from it is `X-Forwarded-For` believed for the login limits.
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// `host:port` of the broker as agents reach it, handed out at enrollment; when unset, the
    /// address the embedded broker is bound to (or the external broker's host and port).
    pub mqtt_public_addr: Option<String>,
    /// The external broker is Mosquitto with the Dynamic Security plugin and the server's MQTT
    /// user administers it: the server creates and deletes each agent's login there.
    pub mqtt_dynsec: bool,
    /// This replica's MQTT client id at an external broker. Set (a different one per replica),
    /// the server keeps a persistent session there (clean session off): what the broker queued
    /// for this replica while it reconnected or restarted is delivered when it is back. Unset,
    /// each start takes a fresh random id and a clean session.
    pub mqtt_client_id: Option<String>,
    /// The embedded broker's listener speaks TLS only, with a self-signed certificate made at the
    /// first start (`DATA/mqtt-tls.crt`) whose SHA-256 agents pin at enrollment.
    pub mqtt_tls: bool,
    /// Lifetime of a new enrollment code, seconds.
    pub enrollment_code_ttl_s: u64,
    /// A router silent this long (seconds) while its location has an open shift raises
    /// `router_silent`; checked every quarter of it, at most every minute.
    pub router_silent_after_s: u64,
    /// SMTP server for e-mail notification channels: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host` (TLS); none means e-mail channels cannot send.
    pub smtp_url: Option<String>,
    /// The sender of notification e-mails, e.g. `mtm <alerts@example.com>`.
    pub smtp_from: Option<String>,
    /// Seconds between two signed chain checkpoints handed to the witnesses (agents, the export
    /// directory); 0 takes none except with the daily reports.
    pub checkpoint_every_s: u64,
    /// A directory outside the database (another disk, a mount the database owner cannot
    /// write) that gets every checkpoint as a line of `checkpoints-YYYY-MM-DD.jsonl`.
    pub checkpoint_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            http_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt: MqttConfig::default(),
            token_code_len: 8,
            secure_cookies: false,
            external_url: None,
            public_url: None,
            trusted_proxy: None,
            mqtt_public_addr: None,
            mqtt_dynsec: false,
            mqtt_client_id: None,
            mqtt_tls: false,
            enrollment_code_ttl_s: crate::enrollment::DEFAULT_CODE_TTL_S,
            router_silent_after_s: crate::silence::SILENT_AFTER_MS as u64 / 1000,
            smtp_url: None,
            smtp_from: None,
            checkpoint_every_s: crate::witness::DEFAULT_EVERY_S,
            checkpoint_dir: None,
        }
    }
}

impl ServerConfig {
    /// Defaults, overlaid by `file` (if given), overlaid by `MTM_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source,
                })?
            }
            None => ServerConfig::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Apply `MTM_*` overrides from `get` (the environment, or a map in tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                name: name.into(),
                message: e.to_string(),
            })
        }
        if let Some(v) = get("MTM_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("MTM_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("MTM_HTTP_BIND") {
            self.http_bind = parse("MTM_HTTP_BIND", &v)?;
        }
        if let Some(v) = get("MTM_MQTT_BIND") {
            self.mqtt = MqttConfig::Embedded {
                bind: parse("MTM_MQTT_BIND", &v)?,
            };
        }
        if let Some(host) = get("MTM_MQTT_HOST") {
            let port = match get("MTM_MQTT_PORT") {
                Some(p) => parse("MTM_MQTT_PORT", &p)?,
                None => 1883,
            };
            self.mqtt = MqttConfig::External {
                host,
                port,
                username: get("MTM_MQTT_USERNAME"),
                password: get("MTM_MQTT_PASSWORD"),
            };
        }
        if let Some(v) = get("MTM_TOKEN_CODE_LEN") {
            self.token_code_len = parse("MTM_TOKEN_CODE_LEN", &v)?;
        }
        if let Some(v) = get("MTM_SECURE_COOKIES") {
            self.secure_cookies = parse("MTM_SECURE_COOKIES", &v)?;
        }
        if let Some(v) = get("MTM_EXTERNAL_URL") {
            self.external_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_PUBLIC_URL") {
            self.public_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_TRUSTED_PROXY") {
            self.trusted_proxy = if v.is_empty() {
                None
            } else {
                Some(parse("MTM_TRUSTED_PROXY", &v)?)
            };
        }
        if let Some(v) = get("MTM_MQTT_PUBLIC_ADDR") {
            self.mqtt_public_addr = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_MQTT_DYNSEC") {
            self.mqtt_dynsec = parse("MTM_MQTT_DYNSEC", &v)?;
        }
        if let Some(v) = get("MTM_MQTT_CLIENT_ID") {
            self.mqtt_client_id = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_MQTT_TLS") {
            self.mqtt_tls = parse("MTM_MQTT_TLS", &v)?;
        }
        if let Some(v) = get("MTM_ROUTER_SILENT_AFTER_S") {
            self.router_silent_after_s = parse("MTM_ROUTER_SILENT_AFTER_S", &v)?;
        }
        if let Some(v) = get("MTM_SMTP_URL") {
            self.smtp_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_SMTP_FROM") {
            self.smtp_from = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("MTM_CHECKPOINT_EVERY_S") {
            self.checkpoint_every_s = parse("MTM_CHECKPOINT_EVERY_S", &v)?;
        }
        if let Some(v) = get("MTM_CHECKPOINT_DIR") {
            self.checkpoint_dir = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = get("MTM_ENROLLMENT_CODE_TTL_S") {
            self.enrollment_code_ttl_s = parse("MTM_ENROLLMENT_CODE_TTL_S", &v)?;
        }
        Ok(())
    }

    /// Cookies Secure and HSTS sent: asked for, or implied by an `https://` external URL.
    pub fn serves_https(&self) -> bool {
        self.secure_cookies
            || self
                .external_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }

    /// The mailer for e-mail channels, when `smtp_url` is set (then `smtp_from` must be too).
    pub fn mailer(&self) -> Result<Option<crate::notify::email::Mailer>, ConfigError> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        let env = |name: &str, message: String| ConfigError::Env {
            name: name.into(),
            message,
        };
        let from = self.smtp_from.as_deref().ok_or_else(|| {
            env(
                "MTM_SMTP_FROM",
                "needed with MTM_SMTP_URL: the address alerts are sent from".into(),
            )
        })?;
        crate::notify::email::Mailer::new(url, from)
            .map(Some)
            .map_err(|e| env("MTM_SMTP_URL", e.to_string()))
    }

    /// Refuse settings that cannot be meant: an external URL that is not `http(s)://host`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.external_url {
            let lower = u.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(ConfigError::Env {
                    name: "MTM_EXTERNAL_URL".into(),
                    message: format!("{u:?} must be http(s)://host, e.g. https://mtm.example.com"),
                });
            }
        }
        if let Some(id) = &self.mqtt_client_id {
            let fine = (1..=64).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !fine {
                return Err(ConfigError::Env {
                    name: "MTM_MQTT_CLIENT_ID".into(),
                    message: format!(
                        "{:?} must be 1 to 64 letters, digits, '-', '_' or '.'",
                        id.escape_debug().to_string()
                    ),
                });
            }
            if !matches!(self.mqtt, MqttConfig::External { .. }) {
                return Err(ConfigError::Env {
                    name: "MTM_MQTT_CLIENT_ID".into(),
                    message: "a persistent session is for an external broker; the embedded \
                              broker lives and dies with the server"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// The database URL, defaulting to a SQLite file in the data folder.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("mtm.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn smtp_settings_make_a_mailer_or_refuse_to_start() {
        let mut cfg = ServerConfig::default();
        assert!(cfg.mailer().unwrap().is_none(), "no SMTP: no mailer");
        cfg.smtp_url = Some("smtp://user:secret@127.0.0.1:2525".into());
        let err = cfg.mailer().unwrap_err().to_string();
        assert!(err.contains("MTM_SMTP_FROM"), "{err}");
        cfg.smtp_from = Some("mtm <alerts@example.com>".into());
        assert!(cfg.mailer().unwrap().is_some());
        cfg.smtp_url = Some("http://user:secret@mail.example.com".into());
        let err = cfg.mailer().unwrap_err().to_string();
        assert!(
            !err.contains("secret"),
            "the password is not repeated: {err}"
        );
        cfg.smtp_url = Some("smtps://mail.example.com".into());
        cfg.smtp_from = Some("not an address".into());
        assert!(cfg.mailer().is_err());
    }

    #[test]
    fn toml_then_env_override_defaults() {
        let cfg: ServerConfig = toml::from_str(
            r#"
            data_dir = "/srv/mtm"
            http_bind = "0.0.0.0:9000"
            [mqtt]
            mode = "embedded"
            bind = "0.0.0.0:1884"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.effective_database_url(), "sqlite:///srv/mtm/mtm.db");
        assert_eq!(cfg.token_code_len, 8);
        let mut cfg = cfg;
        let env: HashMap<&str, &str> = HashMap::from([
            ("MTM_MQTT_HOST", "broker"),
            ("MTM_DATABASE_URL", "postgres://db/mtm"),
            ("MTM_SECURE_COOKIES", "true"),
            ("MTM_MQTT_DYNSEC", "true"),
            ("MTM_TRUSTED_PROXY", "172.18.0.1"),
        ]);
        cfg.apply_env(|k| env.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(cfg.effective_database_url(), "postgres://db/mtm");
        assert!(cfg.secure_cookies);
        assert!(cfg.mqtt_dynsec);
        assert_eq!(cfg.trusted_proxy, Some([172, 18, 0, 1].into()));
        assert!(cfg.serves_https());
        assert!(toml::from_str::<ServerConfig>("mqtt_dynsec = true").is_ok_and(|c| c.mqtt_dynsec));
        assert!(
            matches!(cfg.mqtt, MqttConfig::External { ref host, port: 1883, .. } if host == "broker")
        );
        let bad = cfg.apply_env(|k| (k == "MTM_HTTP_BIND").then(|| "nonsense".to_string()));
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
        assert!(toml::from_str::<ServerConfig>("unknown_key = 1").is_err());
    }

    #[test]
    fn a_replica_client_id_is_checked_and_only_for_an_external_broker() {
        let external = MqttConfig::External {
            host: "broker".into(),
            port: 1883,
            username: None,
            password: None,
        };
        let mut cfg = ServerConfig {
            mqtt: external,
            ..ServerConfig::default()
        };
        let env = HashMap::from([("MTM_MQTT_CLIENT_ID", "mtm-replica-a")]);
        cfg.apply_env(|k| env.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(cfg.mqtt_client_id.as_deref(), Some("mtm-replica-a"));
        assert!(cfg.validate().is_ok());
        for bad in ["", "has space", "a/b", &"x".repeat(65)] {
            cfg.mqtt_client_id = Some(bad.to_string());
            assert!(cfg.validate().is_err(), "{bad:?} refused");
        }
        let embedded = ServerConfig {
            mqtt_client_id: Some("mtm-replica-a".into()),
            ..ServerConfig::default()
        };
        assert!(
            embedded.validate().is_err(),
            "no persistent session at the embedded broker"
        );
    }

    #[test]
    fn an_https_external_url_means_secure_cookies_and_the_hotspot_url_does_not() {
        let mut cfg = ServerConfig::default();
        assert!(!cfg.serves_https());
        let hotspot = HashMap::from([("MTM_PUBLIC_URL", "https://hotspot.example.com/login")]);
        cfg.apply_env(|k| hotspot.get(k).map(|v| v.to_string()))
            .unwrap();
        assert!(
            !cfg.serves_https(),
            "the voucher URL says nothing about this server"
        );
        let ext = HashMap::from([("MTM_EXTERNAL_URL", "https://mtm.example.com")]);
        cfg.apply_env(|k| ext.get(k).map(|v| v.to_string()))
            .unwrap();
        assert!(cfg.serves_https() && cfg.validate().is_ok());
        cfg.external_url = Some("mtm.example.com".into());
        assert!(cfg.validate().is_err());
    }
}
