//! MQTT topic names. Every topic starts with [`PREFIX`]; see docs/mqtt-api.md.

/// Prefix of every mtm topic; the version lets a future protocol run beside this one.
pub const PREFIX: &str = "mtm/v1";

/// Retained, signed catalog of token packages.
pub const PACKAGES: &str = "mtm/v1/packages";

/// What a single control plane subscribes to for all agents' messages.
pub const UP_ALL: &str = "mtm/v1/up/+";

/// What several control-plane replicas subscribe to so each message is ingested once.
pub const UP_SHARED: &str = "$share/mtm/mtm/v1/up/+";

/// Retained online/offline status of all agents.
pub const STATUS_ALL: &str = "mtm/v1/status/+";

/// Agent to control plane: hello, health, usage, inventory, command results (QoS 1).
pub fn up(agent_id: &str) -> String {
    format!("{PREFIX}/up/{agent_id}")
}

/// Control plane to agent: commands and acknowledgements (QoS 1).
pub fn down(agent_id: &str) -> String {
    format!("{PREFIX}/down/{agent_id}")
}

/// Retained `online`/`offline`, the agent's last will.
pub fn status(agent_id: &str) -> String {
    format!("{PREFIX}/status/{agent_id}")
}

/// The MQTT client id an agent always connects with; brokers let its login use no other.
pub fn client_id(agent_id: &str) -> String {
    format!("mtm-agent-{agent_id}")
}

/// The agent id in an `up/{id}` or `status/{id}` topic.
pub fn agent_of(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let (kind, id) = rest.split_once('/')?;
    match kind {
        "up" | "status" | "down" if valid_agent_id(id) => Some(id),
        _ => None,
    }
}

/// Agent ids are short and topic-safe: ASCII letters, digits, `-` and `_`.
pub fn valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Payload of a retained status message while the agent is connected.
pub const ONLINE: &[u8] = b"online";
/// Payload of the last will.
pub const OFFLINE: &[u8] = b"offline";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        assert_eq!(up("r-1"), "mtm/v1/up/r-1");
        assert_eq!(agent_of(&up("r-1")), Some("r-1"));
        assert_eq!(agent_of(&status("r_2")), Some("r_2"));
        assert_eq!(agent_of("mtm/v1/up/a/b"), None);
        assert_eq!(agent_of("mtm/v1/up/+"), None);
        assert_eq!(agent_of("other/v1/up/x"), None);
    }
}
