//! The enrollment exchange, `POST /api/enroll` (JSON over HTTPS): what `mtm-agent enroll` sends
//! and what the control plane answers. Unlike the rest of this crate it does not cross the
//! broker, but both sides must agree on it byte for byte all the same.

use serde::{Deserialize, Serialize};

/// Body of `POST /api/enroll`: the one-time code and the public half of the key the agent made
/// on the device. Router credentials never leave the device, so they have no field here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time code.
    pub code: String,
    /// The ed25519 public key the agent made on the device, hex.
    pub public_key_hex: String,
    /// The agent's version.
    #[serde(default)]
    pub agent_version: String,
}

/// What an enrolled agent needs (`200 OK`); the MQTT password is shown this once and stored
/// only hashed by the server. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    /// Its agent id (also its MQTT username).
    pub agent_id: String,
    /// Broker host agents dial.
    pub mqtt_host: String,
    /// Broker port.
    pub mqtt_port: u16,
    /// MQTT username.
    pub mqtt_username: String,
    /// MQTT password.
    pub mqtt_password: String,
    /// The control plane's public key, hex, for the agent to pin.
    pub control_plane_public_key: String,
    /// The release public key, hex, when the server has one; an agent whose config names no
    /// release key pins this one (a key in the device's config stays the stronger choice: it
    /// does not trust the server for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_public_key: Option<String>,
    /// When the broker speaks TLS with its own certificate: that certificate's SHA-256 (hex, of
    /// its DER bytes), which the agent pins instead of trusting a CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_tls_pin_sha256: Option<String>,
}

impl std::fmt::Debug for EnrollResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollResponse")
            .field("agent_id", &self.agent_id)
            .field("mqtt_host", &self.mqtt_host)
            .field("mqtt_port", &self.mqtt_port)
            .field("mqtt_username", &self.mqtt_username)
            .field("mqtt_password", &"<redacted>")
            .field("control_plane_public_key", &self.control_plane_public_key)
            .field("release_public_key", &self.release_public_key)
            .field("mqtt_tls_pin_sha256", &self.mqtt_tls_pin_sha256)
            .finish()
    }
}

/// The body of every refusal: a sentence for people and a stable reason for the agent
/// (`unknown_code`, `used`, `expired`, `replaced`, `rate_limited`, `broker`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRefusal {
    /// The sentence (an agent that gets only the reason still knows why).
    #[serde(default)]
    pub error: String,
    /// The stable reason.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_stays_out_of_debug_and_unknown_request_fields_are_refused() {
        let r = EnrollResponse {
            agent_id: "cafe-1".into(),
            mqtt_host: "mtm.example".into(),
            mqtt_port: 8883,
            mqtt_username: "cafe-1".into(),
            mqtt_password: "s3cret-pass".into(),
            control_plane_public_key: "ab".into(),
            release_public_key: None,
            mqtt_tls_pin_sha256: None,
        };
        assert!(!format!("{r:?}").contains("s3cret-pass"));
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("release_public_key"));
        assert_eq!(serde_json::from_str::<EnrollResponse>(&json).unwrap(), r);
        let sneaky = r#"{"code":"C","public_key_hex":"ab","router_password":"x"}"#;
        assert!(serde_json::from_str::<EnrollRequest>(sneaky).is_err());
        let old = r#"{"code":"C","public_key_hex":"ab"}"#;
        assert_eq!(
            serde_json::from_str::<EnrollRequest>(old)
                .unwrap()
                .agent_version,
            ""
        );
    }
}
