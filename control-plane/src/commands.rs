//! Commands to agents: stored first (by the store, in the same transaction as what caused them),
//! then sealed with the control-plane key and published; resent whenever the agent comes back.

use crate::metrics::Metrics;
use crate::mqtt::{MqttError, Publisher};
use crate::store::{now_ms, Store, StoreError, StoredCommand};
use ed25519_dalek::SigningKey;
use mtm_common::{topics, Command, DownMessage, Envelope, CONTROL_PLANE_ID};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What prompted a resend of an agent's open commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResendTrigger {
    /// An unsigned `status/{agent}` = `online`: a hint anyone who can publish there may send,
    /// so it causes a resend only if that agent had none for [`STATUS_RESEND_INTERVAL_MS`].
    Status,
    /// A verified, new `Hello`: the agent really reconnected (a replayed Hello is a duplicate and
    /// never gets here), so it always resends; only the agent's own key can cause it, once per
    /// connection, and skipping it could leave a command undelivered until the next reconnect.
    Hello,
}

/// Least time between a resend and one caused by an unsigned status.
pub const STATUS_RESEND_INTERVAL_MS: i64 = 60_000;

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

/// Control-plane seqs a dispatcher reserves at once: one database write per this many
/// envelopes (every ack is one) rather than one each. A restart skips what was left of a block;
/// seqs must be unique and are, not gapless nor in order across replicas (agents refuse by
/// envelope time and command id, docs/architecture.md).
pub const SEQ_BLOCK: u64 = 256;

/// Seals and publishes everything the control plane sends to agents.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    key: SigningKey,
    metrics: Arc<Metrics>,
    last_resend: Mutex<HashMap<String, i64>>,
    /// What is left of the reserved block of seqs.
    seqs: tokio::sync::Mutex<std::ops::Range<u64>>,
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
            last_resend: Mutex::new(HashMap::new()),
            seqs: tokio::sync::Mutex::new(0..0),
        }
    }

    /// The next seq from the reserved block, reserving the next block (persisted before use)
    /// when it is spent.
    async fn next_seq(&self) -> Result<u64, StoreError> {
        let mut block = self.seqs.lock().await;
        if block.is_empty() {
            let first = self.store.next_cp_seqs(SEQ_BLOCK).await?;
            *block = first..first.saturating_add(SEQ_BLOCK);
        }
        block
            .next()
            .ok_or_else(|| StoreError::Corrupt("control plane seqs exhausted".into()))
    }

    /// Seal `msg` for `agent_id` (it names the recipient, so no other agent accepts it) with a
    /// fresh persisted seq and publish it on `down/{agent}`.
    pub async fn send_down(&self, agent_id: &str, msg: &DownMessage) -> Result<(), SendError> {
        let seq = self.next_seq().await?;
        let env = Envelope::seal(&self.key, CONTROL_PLANE_ID, agent_id, seq, now_ms(), msg)?;
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

    /// Send several stored commands (again) with one write in all, however many there are,
    /// marking the published ones sent (their seqs come from the reserved block). A command
    /// whose publish is refused stays `pending`, and [`resend_loop`] sends it later. Returns how
    /// many were published.
    pub async fn send_many(&self, cmds: &[StoredCommand]) -> Result<usize, SendError> {
        let mut sent = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            let msg = DownMessage::Command(Command {
                id: cmd.id,
                issued_at: cmd.issued_at,
                kind: cmd.kind.clone(),
            });
            let seq = self.next_seq().await?;
            let env = Envelope::seal(
                &self.key,
                CONTROL_PLANE_ID,
                &cmd.agent_id,
                seq,
                now_ms(),
                &msg,
            )?;
            match self
                .publisher
                .publish(&topics::down(&cmd.agent_id), env.to_bytes()?)
                .await
            {
                Ok(()) => sent.push(cmd.id),
                Err(e) => {
                    tracing::debug!(agent = %cmd.agent_id, error = %e, "command not published now; sent again later");
                }
            }
        }
        self.store.mark_commands_sent(&sent, now_ms()).await?;
        self.metrics
            .add(&self.metrics.commands_sent, sent.len() as u64);
        Ok(sent.len())
    }

    /// The public half of the key everything is sealed with (the one agents pin).
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
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

    /// Whether the broker link is connected and subscribed (always, without a live client).
    pub fn link_ready(&self) -> bool {
        self.publisher.ready()
    }

    /// The live client's status, if there is one.
    pub fn link(&self) -> Option<Arc<crate::link::LinkStatus>> {
        self.publisher.link()
    }

    /// Like [`Dispatcher::resend_open`], except that a [`ResendTrigger::Status`] is skipped
    /// (returning `None`) when this agent had a resend less than
    /// [`STATUS_RESEND_INTERVAL_MS`] before `now`.
    pub async fn resend_open_limited(
        &self,
        agent_id: &str,
        trigger: ResendTrigger,
        now: i64,
    ) -> Result<Option<usize>, SendError> {
        let due = match self.last_resend.lock() {
            Ok(mut last) => {
                let due = trigger == ResendTrigger::Hello
                    || last
                        .get(agent_id)
                        .is_none_or(|t| now.saturating_sub(*t) >= STATUS_RESEND_INTERVAL_MS);
                if due {
                    last.insert(agent_id.to_owned(), now);
                }
                due
            }
            // A poisoned map only loses the limit, never a resend.
            Err(_) => true,
        };
        if !due {
            tracing::debug!(agent = agent_id, ?trigger, "resend skipped: too soon");
            return Ok(None);
        }
        self.resend_open(agent_id).await.map(Some)
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

/// Keep commands moving whatever happened to the broker link: after every confirmed
/// (re)subscription, resend every router's open commands (anything queued before a reconnect
/// may never have left); every `every`, send the commands whose publish was refused (still
/// `pending`).
pub async fn resend_loop(
    store: Arc<dyn Store>,
    dispatcher: Arc<Dispatcher>,
    link: Arc<crate::link::LinkStatus>,
    every: std::time::Duration,
) {
    let mut generations = link.generations();
    // The subscription made at start counts too: open commands from before a restart go out.
    generations.mark_changed();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watching = true;
    loop {
        let everything = tokio::select! {
            changed = generations.changed(), if watching => {
                watching = changed.is_ok();
                true
            }
            _ = tick.tick() => false,
        };
        if !link.subscribed() {
            continue;
        }
        if everything {
            // Whatever agents published while this server was not subscribed reached no one:
            // ask each to publish its unacknowledged messages again now, and its checkpoints.
            ask_all_to_resend(&*store, &dispatcher).await;
        }
        match resend_all(&*store, &dispatcher, everything).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, everything, "resent commands"),
            Err(e) => tracing::warn!(error = %e, "could not resend commands; trying again"),
        }
    }
}

/// Ask every router's agent to publish its unacknowledged messages again.
async fn ask_all_to_resend(store: &dyn Store, dispatcher: &Dispatcher) {
    let routers = match store.list_routers().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "could not list routers to ask for resends");
            return;
        }
    };
    for r in routers {
        let msg = DownMessage::Resend { from_seq: 1 };
        if let Err(e) = dispatcher.send_down(&r.router.agent_id, &msg).await {
            tracing::warn!(agent = %r.router.agent_id, error = %e, "could not ask for a resend");
        }
        // A server started on a database restored from an older backup hears at once what the
        // agents witnessed, without waiting for them to reconnect.
        let ask = DownMessage::SendCheckpoints;
        if let Err(e) = dispatcher.send_down(&r.router.agent_id, &ask).await {
            tracing::warn!(agent = %r.router.agent_id, error = %e, "could not ask for checkpoints");
        }
    }
}

/// Send every open command (`everything`) or only those never published; how many went out.
async fn resend_all(
    store: &dyn Store,
    dispatcher: &Dispatcher,
    everything: bool,
) -> Result<usize, SendError> {
    let mut sent = 0;
    for r in store.list_routers().await? {
        for cmd in store.open_commands(&r.router.agent_id).await? {
            if everything || cmd.state == "pending" {
                dispatcher.send(&cmd).await?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}
