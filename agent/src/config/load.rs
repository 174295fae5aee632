//! Reading, overriding and validating an [`AgentConfig`].

use std::fmt;
use std::path::Path;

use super::{AgentConfig, ConfigError, TlsConfig};

impl AgentConfig {
    /// Read `path` (TOML), apply `MTM_*` environment overrides, and validate.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg = Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        cfg.apply_env(|name| std::env::var(name).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse TOML text (no environment, no validation). The error names the line but does not
    /// quote it, since the line may hold a password.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(n) => format!("line {n}: {}", e.message().trim()),
                None => e.message().trim().to_owned(),
            }
        })
    }

    /// Apply overrides from `lookup` (the process environment in [`AgentConfig::load`]).
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Env {
                name: name.into(),
                message: e.to_string(),
            })
        }
        if let Some(v) = lookup("MTM_AGENT_ID") {
            self.agent_id = v;
        }
        if let Some(v) = lookup("MTM_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = lookup("MTM_CONTROL_PLANE_KEY") {
            self.control_plane_key = v;
        }
        if let Some(v) = lookup("MTM_MQTT_HOST") {
            self.mqtt.host = v;
        }
        if let Some(v) = lookup("MTM_MQTT_PORT") {
            self.mqtt.port = parse("MTM_MQTT_PORT", &v)?;
        }
        if let Some(v) = lookup("MTM_MQTT_USERNAME") {
            self.mqtt.username = Some(v);
        }
        if let Some(v) = lookup("MTM_MQTT_PASSWORD") {
            self.mqtt.password = Some(v);
        }
        if let Some(v) = lookup("MTM_MQTT_CA_FILE") {
            self.mqtt.tls = Some(TlsConfig { ca_file: v.into() });
        }
        if let Some(v) = lookup("MTM_MQTT_RESEND_AFTER_S") {
            self.mqtt.resend_after_s = parse("MTM_MQTT_RESEND_AFTER_S", &v)?;
        }
        if let Some(v) = lookup("MTM_ROUTER_ADDR") {
            self.router.addr = v;
        }
        if let Some(v) = lookup("MTM_ROUTER_USERNAME") {
            self.router.username = v;
        }
        if let Some(v) = lookup("MTM_ROUTER_PASSWORD") {
            self.router.password = v;
        }
        if let Some(v) = lookup("MTM_STATUS_LISTEN") {
            self.status_listen = Some(parse("MTM_STATUS_LISTEN", &v)?);
        }
        if let Some(v) = lookup("MTM_LOG_JSON") {
            self.log_json = parse("MTM_LOG_JSON", &v)?;
        }
        if let Some(v) = lookup("MTM_RELEASE_KEY") {
            self.release_key = Some(v);
        }
        if let Some(v) = lookup("MTM_UPDATE_SERVER") {
            self.update_server = Some(v);
        }
        if let Some(v) = lookup("MTM_UPDATE_CA_FILE") {
            self.update_ca_file = Some(v.into());
        }
        Ok(())
    }

    /// Check every value that would otherwise fail later, with a message naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !mtm_common::topics::valid_agent_id(&self.agent_id) {
            return bad(format!(
                "agent_id {:?} must be 1-64 letters, digits, '-' or '_'",
                self.agent_id
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir must be set".into());
        }
        if let Err(e) = mtm_common::keys::parse_public_key(&self.control_plane_key) {
            return bad(format!("control_plane_key: {e}"));
        }
        if let Some(k) = &self.release_key {
            if let Err(e) = mtm_common::keys::parse_public_key(k) {
                return bad(format!("release_key: {e}"));
            }
        }
        if let Some(u) = &self.update_server {
            if let Err(e) = crate::http::Url::parse(u) {
                return bad(format!("update_server: {e}"));
            }
        }
        if self.mqtt.host.trim().is_empty() {
            return bad("mqtt.host must be set".into());
        }
        if self.mqtt.port == 0 {
            return bad("mqtt.port must not be 0".into());
        }
        if self.mqtt.keep_alive_s < 5 || self.mqtt.keep_alive_s > 3600 {
            return bad("mqtt.keep_alive_s must be between 5 and 3600".into());
        }
        if self.mqtt.resend_after_s == 0 || self.mqtt.resend_after_s > 3600 {
            return bad("mqtt.resend_after_s must be between 1 and 3600".into());
        }
        if self.mqtt.max_in_flight == 0 || self.mqtt.max_in_flight > 10_000 {
            return bad("mqtt.max_in_flight must be between 1 and 10000".into());
        }
        if self.mqtt.password.is_some() && self.mqtt.username.is_none() {
            return bad("mqtt.password is set but mqtt.username is not".into());
        }
        if let Some(pin) = &self.mqtt.tls_pin_sha256 {
            if self.mqtt.tls.is_some() {
                return bad("mqtt.tls and mqtt.tls_pin_sha256 exclude each other: a pinned broker certificate needs no CA".into());
            }
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad("mqtt.tls_pin_sha256 must be 64 hex characters".into());
            }
        }
        if let Some(tls) = &self.mqtt.tls {
            if !tls.ca_file.is_file() {
                return bad(format!(
                    "mqtt.tls.ca_file {} does not exist",
                    tls.ca_file.display()
                ));
            }
        }
        if self
            .router
            .addr
            .rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return bad(format!(
                "router.addr {:?} must be host:port",
                self.router.addr
            ));
        }
        if self.router.username.is_empty() {
            return bad("router.username must be set".into());
        }
        if self.router.insecure_self_signed && !self.router.tls {
            return bad("router.insecure_self_signed needs router.tls = true".into());
        }
        let i = &self.intervals;
        for (name, v) in [
            ("intervals.usage_poll_s", i.usage_poll_s),
            ("intervals.health_s", i.health_s),
            ("intervals.inventory_s", i.inventory_s),
        ] {
            if v == 0 || v > 86_400 {
                return bad(format!("{name} must be between 1 and 86400"));
            }
        }
        if !(60..=86_400).contains(&self.command_window_s) {
            return bad("command_window_s must be between 60 and 86400".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let cp = mtm_common::keys::public_key_hex(
            &mtm_common::keys::generate_signing_key().verifying_key(),
        );
        format!(
            r#"
agent_id = "cafe-1"
data_dir = "/tmp/x"
control_plane_key = "{cp}"
[mqtt]
host = "broker"
username = "cafe-1"
password = "s3cret-mqtt"
[router]
addr = "10.0.0.1:8728"
password = "s3cret-router"
"#
        )
    }

    #[test]
    fn parses_with_defaults_and_validates() {
        let cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.mqtt.port, 1883);
        assert_eq!(cfg.intervals.usage_poll_s, 10);
        assert_eq!(cfg.command_window_s, 600);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = sample().replace("[router]", "[router]\nadress = \"x\"");
        let err = AgentConfig::from_toml(&text).unwrap_err();
        assert!(err.contains("adress"), "{err}");
    }

    #[test]
    fn env_overrides_win_and_bad_values_are_named() {
        let mut cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.apply_env(|k| match k {
            "MTM_MQTT_PORT" => Some("1884".into()),
            "MTM_ROUTER_ADDR" => Some("10.0.0.2:8729".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.mqtt.port, 1884);
        assert_eq!(cfg.router.addr, "10.0.0.2:8729");
        let err = cfg
            .apply_env(|k| (k == "MTM_MQTT_PORT").then(|| "lots".into()))
            .unwrap_err();
        assert!(err.to_string().contains("MTM_MQTT_PORT"));
    }

    #[test]
    fn invalid_values_say_which_key() {
        let mut cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.control_plane_key = "nope".into();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("control_plane_key"));
        let mut cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.router.addr = "noport".into();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("router.addr"));
        let mut cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.agent_id = "a/b".into();
        assert!(cfg.validate().unwrap_err().to_string().contains("agent_id"));
        let mut cfg = AgentConfig::from_toml(&sample()).unwrap();
        cfg.mqtt.tls_pin_sha256 = Some("abc".into());
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("tls_pin_sha256"));
        cfg.mqtt.tls_pin_sha256 = Some("ab".repeat(32));
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn parse_errors_do_not_quote_the_line() {
        let text = sample().replace("password = \"s3cret-router\"", "password = s3cret-router");
        let err = AgentConfig::from_toml(&text).unwrap_err();
        assert!(err.starts_with("line "), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let cfg = AgentConfig::from_toml(&sample()).unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
    }
}
