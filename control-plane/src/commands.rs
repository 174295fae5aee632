//! Commands to agents: stored first (by the store, in the same transaction as what caused them),
//! then sealed with the control-plane key and published; resent whenever the agent comes back.

use crate::metrics::Metrics;
use crate::mqtt::{MqttError, Publisher};
use crate::store::{now_ms, Store, StoreError, StoredCommand};
use ed25519_dalek::SigningKey;
use mtm_common::{topics, Command, DownMessage, Envelope, CONTROL_PLANE_ID};
use std::sync::Arc;

/// Why a command or ack could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing failed.
    #[error("seal: {0}")]
    Seal(#[from] mtm_common::WireError),
    /// The broker client refused the publish.
    #[error(transparent)]
    Mqtt(#[from] MqttError),
}

/// Seals and publishes everything the control plane sends to agents.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    key: SigningKey,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    /// A dispatcher signing with `key`.
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Arc<dyn Publisher>,
        key: SigningKey,
        metrics: Arc<Metrics>,
    ) -> Self {
        Dispatcher {
            store,
            publisher,
            key,
            metrics,
        }
    }

    /// Seal `msg` with a fresh persisted seq and publish it on `down/{agent}`.
    pub async fn send_down(&self, agent_id: &str, msg: &DownMessage) -> Result<(), SendError> {
        let seq = self.store.next_cp_seq().await?;
        let env = Envelope::seal(&self.key, CONTROL_PLANE_ID, seq, now_ms(), msg)?;
        self.publisher
            .publish(&topics::down(agent_id), env.to_bytes()?)
            .await?;
        Ok(())
    }

    /// Send a stored command (again): new seq and `at`, same command id.
    pub async fn send(&self, cmd: &StoredCommand) -> Result<(), SendError> {
        let msg = DownMessage::Command(Command {
            id: cmd.id,
            issued_at: cmd.issued_at,
            kind: cmd.kind.clone(),
        });
        self.send_down(&cmd.agent_id, &msg).await?;
        self.store.mark_command_sent(cmd.id, now_ms()).await?;
        self.metrics.inc(&self.metrics.commands_sent);
        Ok(())
    }

    /// Acknowledge exactly the committed `seqs` from `agent_id` (see `DownMessage::AckSeqs`).
    pub async fn ack(
        &self,
        agent_id: &str,
        seqs: Vec<u64>,
        highest_seen: u64,
    ) -> Result<(), SendError> {
        self.send_down(agent_id, &DownMessage::AckSeqs { seqs, highest_seen })
            .await?;
        self.metrics.inc(&self.metrics.acks_sent);
        Ok(())
    }

    /// Resend every command the agent has not closed; returns how many were sent.
    pub async fn resend_open(&self, agent_id: &str) -> Result<usize, SendError> {
        let open = self.store.open_commands(agent_id).await?;
        for cmd in &open {
            self.send(cmd).await?;
        }
        if !open.is_empty() {
            tracing::info!(agent = agent_id, count = open.len(), "resent open commands");
        }
        Ok(open.len())
    }
}
