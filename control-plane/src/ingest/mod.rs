//! Ingest: verify what agents publish, apply a batch of them in one transaction, then ack.
//!
//! Order of checks for `up/{agent}`: topic, size, known sender, envelope, `from` == topic agent,
//! signature, body. A rejected message is counted by reason and logged once per (agent, reason);
//! nothing here can stop the loop.
//!
//! Each message's broker-level acknowledgement ticket (`Incoming::ack`, with a persistent
//! session) is held until the transaction that stored it committed, or until it was refused or
//! could not be stored (then the agent is asked to resend): a server killed before that leaves
//! the message with the broker, which sends it again.

use crate::commands::{Dispatcher, ResendTrigger};
use crate::link::IngestReceiver;
use crate::link_acks::AckTicket;
use crate::metrics::Metrics;
use crate::mqtt::Incoming;
use crate::store::{
    now_ms, ApplyOutcome, PendingCheck, SignedBatch, Store, StoreError, StoreResult, UpItem,
};
use mtm_common::{
    keys, topics, Envelope, UpMessage, WireError, CONTROL_PLANE_ID, MAX_ENVELOPE_BYTES,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// One agent's share of a batch, by agent and the key that verified it: its messages and their
/// broker tickets.
type AgentShare = ((String, String), (Vec<UpItem>, Vec<AckTicket>));

/// A batch checked and sorted, on its way from the verifying stage to the storing one.
struct Verified {
    shares: Vec<AgentShare>,
    /// Online/offline notices in order of arrival, applied once the shares are stored.
    statuses: Vec<StatusHint>,
}

/// An online/offline notice (the agent's connect message or its broker-published will).
struct StatusHint {
    agent: String,
    online: bool,
    /// Its broker ticket, acknowledged once the notice is recorded.
    _ack: Option<AckTicket>,
}

/// Whether a store error says the database could not be reached at all (rather than refused
/// something one batch carried).
fn database_away(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Db(
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        )
    )
}

/// Most messages taken into one batch.
const MAX_BATCH: usize = 256;

/// How far ahead of the server clock an up-message's `at` may be taken as when it was sealed:
/// clock skew between two NTP-synchronised machines, with the margin the agent allows the
/// control plane (its default command window).
pub const UP_AT_MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// How old an up-message's `at` may be taken as when it was sealed: the agent seals messages
/// when it queues them, so a router that was cut off for weeks still delivers what it queued
/// under their own dates.
pub const UP_AT_MAX_AGE_MS: i64 = 30 * 24 * 3600 * 1000;

/// Why a message was refused; `reason()` is the metrics label.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    /// Not an `up/{agent}` or `status/{agent}` topic.
    #[error("unexpected topic")]
    Topic,
    /// The agent id is not enrolled.
    #[error("unknown sender")]
    UnknownSender,
    /// The envelope's `from` is not the topic's agent.
    #[error("sender does not match topic")]
    SenderMismatch,
    /// The enrolled key does not parse.
    #[error("enrolled key unusable")]
    BadKey,
    /// Envelope-level failure (size, CBOR, version, signature, body).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The store failed while looking up the sender.
    #[error("store: {0}")]
    Store(String),
    /// Verified with a key the router lost to a re-enrollment before the batch was stored.
    #[error("signed with a replaced key")]
    KeyReplaced,
    /// A seq the store cannot hold (above `i64::MAX`): no agent counts that far, so it is a
    /// broken or hostile sender, refused rather than stored as a wrapped number.
    #[error("seq out of range")]
    Seq,
}

impl Reject {
    /// A short, stable label.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::Topic => "topic",
            Reject::UnknownSender => "unknown_sender",
            Reject::SenderMismatch => "sender_mismatch",
            Reject::BadKey => "bad_key",
            Reject::Wire(w) => w.reason(),
            Reject::Store(_) => "store",
            Reject::KeyReplaced => "key_replaced",
            Reject::Seq => "seq",
        }
    }
}

/// Most (agent, reason) pairs remembered as logged already.
const REJECT_LOG_CAP: usize = 1024;

/// What a batch's store stage hands to its checks: the agents whose messages were stored, and
/// the alert checks those messages recorded.
#[derive(Default)]
struct Stored {
    agents: Vec<String>,
    checks: Vec<PendingCheck>,
}

/// The ingest stage: owns no state a replica would need from another.
pub struct Ingest {
    store: Arc<dyn Store>,
    dispatcher: Arc<Dispatcher>,
    metrics: Arc<Metrics>,
    logged: Mutex<HashSet<(String, &'static str)>>,
    /// Resends started off the loop, kept so tests can wait for them.
    followups: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Agents asked (or about to be asked) to resend after a failed batch: at most one
    /// request in flight per agent.
    resend_pending: Arc<Mutex<HashSet<String>>>,
    /// Whether checks may be pending that no pass of this process has in hand: at start
    /// (a server that stopped after a commit), and after a pass that could not run them all.
    /// The next pass then reads its agents' pending checks rather than take the batch's own.
    checks_left: std::sync::atomic::AtomicBool,
}

impl Ingest {
    /// An ingest stage applying to `store` and acking through `dispatcher`.
    pub fn new(store: Arc<dyn Store>, dispatcher: Arc<Dispatcher>, metrics: Arc<Metrics>) -> Self {
        Ingest {
            store,
            dispatcher,
            metrics,
            logged: Mutex::new(HashSet::new()),
            followups: Mutex::new(Vec::new()),
            resend_pending: Arc::new(Mutex::new(HashSet::new())),
            checks_left: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Consume messages until the channel closes, batching whatever has queued up.
    ///
    /// Three stages, each its own task, so each waits on the database while the others work:
    /// verifying the next batch, storing and acking this one, running the previous one's alert
    /// checks. On PostgreSQL a batch's store is a chain of round trips the one writer waits
    /// for in turn; verifying (a key read per sender, the signatures) and the checks (reads,
    /// then a transaction of their own) no longer add to it. Each stage hands on through a
    /// queue of one, so at most a few batches are in flight, and the order of batches is kept:
    /// the store stage takes them one at a time, as they were received.
    pub async fn run(self: Arc<Self>, mut rx: IngestReceiver) {
        let (to_store, mut verified) = tokio::sync::mpsc::channel::<Verified>(1);
        let (to_check, mut stored) = tokio::sync::mpsc::channel::<Stored>(1);
        // Dropped with this task (a server shutting down aborts it), which aborts the stages.
        let mut stages = tokio::task::JoinSet::new();
        let me = self.clone();
        stages.spawn(async move {
            while let Some(batch) = verified.recv().await {
                let stored = me.store_verified(batch).await;
                if !stored.agents.is_empty() && to_check.send(stored).await.is_err() {
                    break;
                }
            }
        });
        let me = self.clone();
        stages.spawn(async move {
            while let Some(mut pass) = stored.recv().await {
                // Batches stored while the last checks ran are checked in one pass.
                while let Ok(more) = stored.try_recv() {
                    pass.agents.extend(more.agents);
                    pass.checks.extend(more.checks);
                }
                me.run_checks(pass).await;
            }
        });
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Some(m) => batch.push(m),
                    None => break,
                }
            }
            let batch = self.verify_batch(batch).await;
            if to_store.send(batch).await.is_err() {
                break;
            }
        }
        drop(to_store);
        while stages.join_next().await.is_some() {}
    }

    /// Verify, apply and ack one batch, then run the alert checks it owes: the three stages of
    /// [`Ingest::run`] one after the other.
    pub async fn handle_batch(&self, batch: Vec<Incoming>) {
        let verified = self.verify_batch(batch).await;
        let stored = self.store_verified(verified).await;
        self.run_checks(stored).await;
    }

    /// Check every message of a batch and sort what passed by agent (and the key that verified
    /// it: a batch may straddle a re-enrollment); refused messages are counted and acked here.
    async fn verify_batch(&self, batch: Vec<Incoming>) -> Verified {
        let started = std::time::Instant::now();
        let verified = self.verify_each(batch).await;
        self.metrics
            .add_elapsed(&self.metrics.ingest_verify_us, started);
        verified
    }

    /// [`Ingest::verify_batch`] without its timing.
    async fn verify_each(&self, batch: Vec<Incoming>) -> Verified {
        let mut per_agent: BTreeMap<(String, String), (Vec<UpItem>, Vec<AckTicket>)> =
            BTreeMap::new();
        let mut statuses: Vec<StatusHint> = Vec::new();
        for mut msg in batch {
            // Dropped (so acknowledged) at the end of this turn unless the message is to be
            // stored or is a notice; then it goes on with it.
            let ack = msg.ack.take();
            let Some(agent) = topics::agent_of(&msg.topic).map(str::to_owned) else {
                self.reject("?", Reject::Topic);
                continue;
            };
            if msg.topic == topics::status(&agent) {
                let online = match msg.payload.as_slice() {
                    topics::ONLINE => true,
                    topics::OFFLINE => false,
                    _ => {
                        self.reject(&agent, Reject::Topic);
                        continue;
                    }
                };
                statuses.push(StatusHint {
                    agent,
                    online,
                    _ack: ack,
                });
                continue;
            }
            if msg.topic != topics::up(&agent) {
                self.reject(&agent, Reject::Topic);
                continue;
            }
            match self.verify_signed(&agent, &msg.payload).await {
                Ok((item, key)) => {
                    // Back after an offline notice in the same batch: storing this marks the
                    // router online, which the notice (applied after the store) must not undo.
                    statuses.retain(|s| s.online || s.agent != agent);
                    let (items, acks) = per_agent.entry((agent, key)).or_default();
                    items.push(item);
                    acks.extend(ack);
                }
                Err(r) => {
                    if matches!(r, Reject::Store(_)) {
                        // Not refused, just not readable now: ask again once the store is
                        // back, as after a failed batch, rather than wait for the agent's
                        // retransmission backoff.
                        self.ask_resend(&agent, 1);
                    }
                    self.reject(&agent, r)
                }
            }
        }
        Verified {
            shares: per_agent.into_iter().collect(),
            statuses,
        }
    }

    /// Store every agent's share of a verified batch in one transaction (by agent, so router
    /// rows are locked in one order), ack each agent, then record the batch's online/offline
    /// notices. The agents stored, and the alert checks their messages owe.
    async fn store_verified(&self, batch: Verified) -> Stored {
        let started = std::time::Instant::now();
        let Verified { shares, statuses } = batch;
        let results = self.store_shares(&shares).await;
        let mut stored = Stored::default();
        for (((agent, _), (items, acks)), result) in shares.into_iter().zip(results) {
            if let Some(checks) = self.after_store(&agent, items, acks, result).await {
                stored.agents.push(agent);
                stored.checks.extend(checks);
            }
        }
        // After the store, which marks a router it heard from online: a notice that came later
        // (the router went away after its last report) is what the router is now.
        for s in statuses {
            self.status(&s.agent, s.online).await;
        }
        self.metrics
            .add_elapsed(&self.metrics.ingest_store_us, started);
        stored
    }

    /// Run the alert checks stored batches recorded in their transactions, all in one pass
    /// with one statement to forget them. They are taken as handed on in memory; the pending
    /// rows are read back only while checks may be left over (`checks_left`). What fails stays
    /// pending, for the next pass and the sweeper.
    async fn run_checks(&self, stored: Stored) {
        let Stored { mut agents, checks } = stored;
        if agents.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let pass = if self.checks_left.swap(false, Ordering::AcqRel) {
            // What is left runs first, in seq order with this batch's own, which it includes.
            agents.sort_unstable();
            agents.dedup();
            let agents: Vec<&str> = agents.iter().map(String::as_str).collect();
            crate::checks::run_pending(&*self.store, &agents, i64::MAX).await
        } else {
            crate::checks::run(&*self.store, checks).await
        };
        match pass {
            Ok(p) if p.left == 0 => {}
            Ok(_) => self.checks_left.store(true, Ordering::Release),
            Err(e) => {
                self.checks_left.store(true, Ordering::Release);
                tracing::error!(error = %e, "alert checks could not run; they stay pending");
            }
        }
        self.metrics
            .add_elapsed(&self.metrics.ingest_checks_us, started);
    }

    /// Check one `up/{agent}` payload and open it.
    pub async fn verify(&self, agent: &str, payload: &[u8]) -> Result<UpItem, Reject> {
        Ok(self.verify_signed(agent, payload).await?.0)
    }

    /// [`Ingest::verify`], and the enrolled key (hex) that verified it.
    async fn verify_signed(&self, agent: &str, payload: &[u8]) -> Result<(UpItem, String), Reject> {
        if payload.len() > MAX_ENVELOPE_BYTES {
            return Err(WireError::Oversized(payload.len()).into());
        }
        let router = self
            .store
            .router_by_agent(agent)
            .await
            .map_err(|e| Reject::Store(e.to_string()))?
            .ok_or(Reject::UnknownSender)?;
        let key = keys::parse_public_key(&router.public_key_hex).map_err(|_| Reject::BadKey)?;
        let env = Envelope::from_bytes(payload)?;
        if env.from != agent {
            return Err(Reject::SenderMismatch);
        }
        let message: UpMessage = env.open(&key, CONTROL_PLANE_ID)?;
        if i64::try_from(env.seq).is_err() {
            return Err(Reject::Seq);
        }
        let now = now_ms();
        let skew = now.saturating_sub(env.at);
        let at = if (-UP_AT_MAX_AHEAD_MS..=UP_AT_MAX_AGE_MS).contains(&skew) {
            env.at
        } else {
            // The agent's clock was wrong when it sealed this (a Pi without RTC before NTP, a
            // clock days ahead): its `at` will never become right, so refusing would strand
            // the message in the agent's outbox for good. Dated by its arrival instead, so it
            // lands in today's figures rather than 1970's.
            self.metrics.inc(&self.metrics.ingest_redated);
            self.note_redated(agent, env.at, skew);
            now
        };
        let item = UpItem {
            seq: env.seq,
            at,
            message,
        };
        Ok((item, router.public_key_hex))
    }

    /// Say once per agent that its clock is off and its messages are dated by arrival.
    fn note_redated(&self, agent: &str, at: i64, skew_ms: i64) {
        let first = self
            .logged
            .lock()
            .map(|mut l| {
                if l.len() >= REJECT_LOG_CAP {
                    l.clear();
                }
                l.insert((agent.to_owned(), "redated"))
            })
            .unwrap_or(true);
        if first {
            tracing::warn!(agent = %agent.escape_debug(), at, skew_s = skew_ms / 1000,
                "agent clock is off; its messages are dated by their arrival (logged once per agent)");
        }
    }

    /// Store every agent's share of a batch: in one transaction where the database has one
    /// writer, else split into `IngestStore::ingest_writers` runs of agents stored side by side,
    /// each in its own transaction (in agent order, so router rows are locked in one order).
    /// One result per share, in order.
    async fn store_shares(&self, shares: &[AgentShare]) -> Vec<StoreResult<ApplyOutcome>> {
        let batches: Vec<SignedBatch> = shares
            .iter()
            .map(|((agent, key), (items, _))| SignedBatch {
                agent_id: agent,
                signed_by: key,
                items,
            })
            .collect();
        let writers = self.store.ingest_writers().clamp(1, batches.len().max(1));
        let per_writer = batches.len().div_ceil(writers).max(1);
        let runs = batches
            .chunks(per_writer)
            .map(|run| self.store_together(run));
        futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Store agents' shares in one transaction (on PostgreSQL one commit, so one WAL flush, for
    /// the lot). When that fails for a reason one share may own (a row the store refuses), each
    /// share is tried on its own so the others are not held back by it; when the database
    /// itself is away, all failed alike and trying each would only wait on it again. One result
    /// per share, in order.
    async fn store_together(&self, batches: &[SignedBatch<'_>]) -> Vec<StoreResult<ApplyOutcome>> {
        let e = match self.store.apply_up_many(batches, now_ms()).await {
            Ok(results) => return results,
            Err(e) => e,
        };
        if batches.len() == 1 || database_away(&e) {
            let reason = e.to_string();
            return batches
                .iter()
                .map(|_| Err(StoreError::Invalid(reason.clone())))
                .collect();
        }
        tracing::warn!(error = %e, agents = batches.len(),
            "a batch could not be stored in one transaction; storing each agent's share alone");
        let mut results = Vec::with_capacity(batches.len());
        for b in batches {
            let one = self
                .store
                .apply_up_many(std::slice::from_ref(b), now_ms())
                .await;
            results.push(one.and_then(|mut r| {
                r.pop()
                    .unwrap_or_else(|| Err(StoreError::Invalid("no result for the share".into())))
            }));
        }
        results
    }

    /// Finish one agent's share once the store answered: on success count it, ack it and run
    /// what its messages start; `acks` (the broker's tickets) are dropped either way. The
    /// alert checks it owes if it was stored (the caller runs them).
    async fn after_store(
        &self,
        agent: &str,
        items: Vec<UpItem>,
        acks: Vec<AckTicket>,
        result: StoreResult<ApplyOutcome>,
    ) -> Option<Vec<PendingCheck>> {
        let outcome = match result {
            Ok(o) => {
                drop(acks);
                o
            }
            Err(StoreError::KeyReplaced) => {
                // The old device's: refused like a bad signature, never asked for again.
                self.reject(agent, Reject::KeyReplaced);
                return None;
            }
            Err(e) => {
                // Not acked to the agent: it keeps the messages and sends them again, asked
                // to below. Acked to the broker (as `acks` drops on return): it would send
                // them again only after a reconnect, holding its in-flight window meanwhile.
                tracing::error!(agent, error = %e, "could not apply batch");
                self.metrics.reject("store");
                self.metrics.inc(&self.metrics.ingest_failed_batches);
                let from_seq = items.iter().map(|i| i.seq).min().unwrap_or(1);
                self.ask_resend(agent, from_seq);
                return None;
            }
        };
        self.metrics.inc(&self.metrics.ingest_batches);
        self.metrics
            .add(&self.metrics.ingest_applied, outcome.applied as u64);
        self.metrics
            .add(&self.metrics.ingest_duplicates, outcome.duplicates as u64);
        // Exactly this batch's seqs: all are committed now (applied, or stored before).
        let seqs = items.iter().map(|i| i.seq).collect();
        if let Err(e) = self.dispatcher.ack(agent, seqs, outcome.last_seq).await {
            tracing::warn!(agent, error = %e, "could not ack");
        }
        // A health report may show that a silence this router was alerted for was the uplink's.
        for item in &items {
            if let UpMessage::Health(h) = &item.message {
                let explained =
                    crate::silence::explain_silence(&*self.store, agent, h, item.at, now_ms())
                        .await;
                if let Err(e) = explained {
                    tracing::error!(agent, error = %e, "silence check failed");
                }
            }
        }
        // Checkpoints an agent returned are compared with the chains as they are now, so a
        // database cut short or started from an older backup shows as soon as agents answer.
        for item in &items {
            if let UpMessage::Checkpoints(c) = &item.message {
                let key = self.dispatcher.verifying_key();
                match crate::witness::check_returned(&*self.store, &key, agent, c).await {
                    Ok(n) => self.metrics.add(&self.metrics.witness_disagreements, n),
                    Err(e) => tracing::error!(agent, error = %e, "checkpoint check failed"),
                }
            }
        }
        if outcome.saw_hello {
            // Off the ingest loop: a router with many open commands must not hold up others.
            let (store, dispatcher, agent) = (
                self.store.clone(),
                self.dispatcher.clone(),
                agent.to_owned(),
            );
            self.follow_up(async move {
                let resent = dispatcher
                    .resend_open_limited(&agent, ResendTrigger::Hello, now_ms())
                    .await;
                if let Err(e) = resent {
                    tracing::warn!(agent, error = %e, "could not resend commands");
                }
                // Its witnessed chain checkpoints come back and are kept for `audit verify`.
                let asked = dispatcher
                    .send_down(&agent, &mtm_common::DownMessage::SendCheckpoints)
                    .await;
                if let Err(e) = asked {
                    tracing::warn!(agent, error = %e, "could not ask for checkpoints");
                }
                // A router that missed a catalog change gets the current one.
                let synced = crate::catalog::sync_catalog(&*store, &dispatcher, &agent).await;
                if let Err(e) = synced {
                    tracing::warn!(agent, error = %e, "could not queue the catalog");
                }
            });
        }
        Some(outcome.checks)
    }

    /// Record an online/offline notice from `status/{agent}`.
    async fn status(&self, agent: &str, online: bool) {
        match self.store.router_by_agent(agent).await {
            Ok(Some(_)) => {}
            Ok(None) => return self.reject(agent, Reject::UnknownSender),
            Err(e) => return self.reject(agent, Reject::Store(e.to_string())),
        }
        // Unsigned, so only a hint: it sets the online flag shown to people, never `last_seen`
        // (which only verified messages move), and buys at most one resend a minute.
        if let Err(e) = self.store.set_router_online(agent, online).await {
            tracing::error!(agent, error = %e, "could not record status");
            return;
        }
        if online {
            let (dispatcher, agent) = (self.dispatcher.clone(), agent.to_owned());
            self.follow_up(async move {
                let resent = dispatcher
                    .resend_open_limited(&agent, ResendTrigger::Status, now_ms())
                    .await;
                if let Err(e) = resent {
                    tracing::warn!(agent, error = %e, "could not resend commands");
                }
            });
        }
    }

    /// Ask `agent` to publish again from `from_seq`, once the store can take it: the request
    /// waits a moment (doubling while the store still fails, since sealing it needs the store
    /// too) so a database outage is not met by a storm of resends.
    fn ask_resend(&self, agent: &str, from_seq: u64) {
        let first = self
            .resend_pending
            .lock()
            .map(|mut p| p.insert(agent.to_owned()))
            .unwrap_or(false);
        if !first {
            return;
        }
        let (dispatcher, pending, agent) = (
            self.dispatcher.clone(),
            self.resend_pending.clone(),
            agent.to_owned(),
        );
        self.follow_up(async move {
            let mut delay = std::time::Duration::from_secs(1);
            loop {
                tokio::time::sleep(delay).await;
                let asked = dispatcher
                    .send_down(&agent, &mtm_common::DownMessage::Resend { from_seq })
                    .await;
                match asked {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(agent, error = %e, "could not ask for a resend yet");
                        delay = (delay * 2).min(std::time::Duration::from_secs(30));
                    }
                }
            }
            if let Ok(mut p) = pending.lock() {
                p.remove(&agent);
            }
        });
    }

    /// Run `work` beside the ingest loop.
    fn follow_up(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let task = tokio::spawn(work);
        if let Ok(mut f) = self.followups.lock() {
            f.retain(|t| !t.is_finished());
            f.push(task);
        }
    }

    /// Wait for every resend started so far.
    pub async fn settle(&self) {
        let tasks: Vec<_> = match self.followups.lock() {
            Ok(mut f) => f.drain(..).collect(),
            Err(_) => return,
        };
        for t in tasks {
            let _ = t.await;
        }
    }

    fn reject(&self, agent: &str, r: Reject) {
        let reason = r.reason();
        self.metrics.reject(reason);
        let first = self
            .logged
            .lock()
            .map(|mut l| {
                // Bounded: a topic can name any agent id a client likes. Past the cap the set
                // starts over (a few lines logged twice) rather than growing.
                if l.len() >= REJECT_LOG_CAP {
                    l.clear();
                }
                l.insert((agent.to_owned(), reason))
            })
            .unwrap_or(true);
        if !first {
            return;
        }
        if let Reject::Wire(WireError::Version(v)) = r {
            // Nothing this agent sends will be accepted until it is updated: say so loudly.
            tracing::error!(
                agent = %agent.escape_debug(),
                version = v,
                ours = mtm_common::PROTOCOL_VERSION,
                "agent speaks another protocol version; its messages are refused until it is updated"
            );
        } else {
            tracing::warn!(agent = %agent.escape_debug(), reason, error = %r, "rejected agent message (logged once per agent and reason)");
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reject_log_tests {
    use super::*;

    #[tokio::test]
    async fn the_set_of_logged_rejects_stays_bounded() {
        let app = crate::testutil::test_app().await;
        let s = &app.state;
        let ingest = Ingest::new(s.store.clone(), s.dispatcher.clone(), s.metrics.clone());
        for i in 0..5 * REJECT_LOG_CAP {
            ingest.reject(&format!("made-up-{i}"), Reject::Topic);
        }
        let len = ingest.logged.lock().map_or(0, |l| l.len());
        assert!(len <= REJECT_LOG_CAP, "{len}");
    }
}
