//! Agents' broker accounts: the one interface enrollment and revocation call, whichever broker
//! the server uses.
//!
//! - Embedded rumqttd behind [`filter`]: logins are checked against the store at connect time
//!   and each agent is held to its own topics and client id, so issuing needs nothing more;
//!   revoking also takes over the agent's open session, which the broker would otherwise keep.
//! - External Mosquitto with Dynamic Security (`mqtt_dynsec = true`): each agent gets its own
//!   dynsec client and role, created and deleted by the server; deleting makes Mosquitto drop the
//!   open session at once.
//! - Any other external broker: accounts are kept by hand (a password file); nothing to do here.

pub mod dynsec;
mod embedded;
mod evict;
pub mod filter;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use dynsec::{DynsecClient, DynsecError};
pub use embedded::{start_embedded, EmbeddedAddrs, InternalCredentials};

/// Why the broker did not take an account change.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Dynamic Security refused a command or did not answer in time.
    #[error("MQTT broker (dynamic security): {0}")]
    Dynsec(#[from] DynsecError),
}

/// Where agents' MQTT logins live besides the store.
#[derive(Clone, Default)]
pub enum BrokerAccounts {
    /// Only the store (an external broker whose accounts are kept by hand).
    #[default]
    StoreOnly,
    /// The embedded broker at `addr`; `login` is the server's own account on it, used to take
    /// over a revoked agent's session.
    Embedded {
        /// Where rumqttd itself listens (loopback, behind the filter).
        addr: SocketAddr,
        /// The server's username and password on it.
        login: (String, String),
    },
    /// Mosquitto's Dynamic Security plugin, administered over MQTT.
    Dynsec(Arc<DynsecClient>),
}

// The server's broker password never reaches a log line.
impl std::fmt::Debug for BrokerAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl BrokerAccounts {
    /// Short name for logs and audit entries.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerAccounts::StoreOnly => "store-only",
            BrokerAccounts::Embedded { .. } => "embedded",
            BrokerAccounts::Dynsec(_) => "dynsec",
        }
    }

    /// Give `agent_id` the login `password` on the broker, replacing any earlier one (and ending
    /// a session made with it). Called after the store has the new password.
    pub async fn issue(&self, agent_id: &str, password: &str) -> Result<(), BrokerError> {
        match self {
            // Both check the store (or a hand-kept file) at login.
            BrokerAccounts::StoreOnly | BrokerAccounts::Embedded { .. } => Ok(()),
            BrokerAccounts::Dynsec(d) => Ok(d.issue_agent(agent_id, password).await?),
        }
    }

    /// Remove `agent_id`'s broker login and end its open session. Called after the store has
    /// revoked it.
    pub async fn revoke(&self, agent_id: &str) -> Result<(), BrokerError> {
        match self {
            BrokerAccounts::StoreOnly => Ok(()),
            BrokerAccounts::Embedded {
                addr,
                login: (user, password),
            } => {
                // rumqttd checks passwords only at login: take over the open session too.
                evict::evict(*addr, agent_id, user, password).await;
                Ok(())
            }
            BrokerAccounts::Dynsec(d) => Ok(d.remove_agent(agent_id).await?),
        }
    }
}
