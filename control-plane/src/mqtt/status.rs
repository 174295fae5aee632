//! What the control plane's MQTT client is doing (connected, subscribed, since when, last
//! progress), kept by the client (`link`) and read by `/readyz`, the resend loop and the
//! silence check.

use crate::store::now_ms;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use tokio::sync::watch;

/// The longest an agent waits between two attempts to reach the broker (its reconnect backoff's
/// cap, `agent/src/mqtt.rs`).
pub const AGENT_RECONNECT_MAX_MS: i64 = 60_000;

/// What the client is doing, shared with `/readyz`, the resend loop and the silence check.
pub struct LinkStatus {
    pub(crate) connected: AtomicBool,
    pub(crate) subscribed: AtomicBool,
    /// When the current subscription was confirmed (unix ms), 0 while not subscribed.
    pub(crate) subscribed_since: AtomicI64,
    /// When the last subscription was lost (unix ms), 0 if none was since the last one began.
    pub(crate) lost_at: AtomicI64,
    /// How long after the current subscription agents may still be reconnecting (ms): the
    /// outage that ended with it, up to [`AGENT_RECONNECT_MAX_MS`].
    pub(crate) reconnect_grace: AtomicI64,
    /// Last time the event loop returned anything (unix ms).
    pub(crate) last_poll: AtomicI64,
    /// Last ConnAck (unix ms).
    pub(crate) connected_at: AtomicI64,
    /// Last time a publish was queued, and last time one left for the broker (unix ms).
    pub(crate) last_queued: AtomicI64,
    pub(crate) last_outgoing: AtomicI64,
    /// When the last SUBSCRIBE was queued (unix ms).
    pub(crate) subscribe_sent: AtomicI64,
    /// Bumped at every confirmed (re)subscription.
    pub(crate) generation: watch::Sender<u64>,
    /// Times the watchdog replaced the client.
    pub(crate) restarts: AtomicU64,
}

impl Default for LinkStatus {
    fn default() -> Self {
        LinkStatus {
            connected: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            subscribed_since: AtomicI64::new(0),
            lost_at: AtomicI64::new(0),
            reconnect_grace: AtomicI64::new(0),
            last_poll: AtomicI64::new(now_ms()),
            connected_at: AtomicI64::new(0),
            last_queued: AtomicI64::new(0),
            last_outgoing: AtomicI64::new(0),
            subscribe_sent: AtomicI64::new(0),
            generation: watch::channel(0).0,
            restarts: AtomicU64::new(0),
        }
    }
}

impl LinkStatus {
    /// Connected to the broker.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Connected, and the broker confirmed both subscriptions.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }

    /// Since when (unix ms) the server has been listening without a break and agents have had
    /// time to come back, if it is listening now. After an outage of the link (the broker down,
    /// or the way to it) agents were cut off too, and each waits out its reconnect backoff
    /// before trying again: up to about as long as the outage lasted, at most
    /// [`AGENT_RECONNECT_MAX_MS`]. So the subscription counts from that much after it was
    /// confirmed; a router still unheard then is silent for reasons of its own. The first
    /// subscription of a process counts at once.
    pub fn listening_since(&self) -> Option<i64> {
        let since = self.subscribed_since.load(Ordering::SeqCst);
        let grace = self.reconnect_grace.load(Ordering::SeqCst);
        (self.subscribed() && since > 0).then_some(since.saturating_add(grace))
    }

    /// The broker confirmed the subscription at `now`; true if it was not standing before.
    pub(crate) fn mark_subscribed(&self, now: i64) -> bool {
        if self.subscribed() {
            return false;
        }
        let lost = self.lost_at.swap(0, Ordering::SeqCst);
        let grace = if lost > 0 {
            now.saturating_sub(lost).clamp(0, AGENT_RECONNECT_MAX_MS)
        } else {
            0
        };
        self.reconnect_grace.store(grace, Ordering::SeqCst);
        self.subscribed_since.store(now, Ordering::SeqCst);
        self.subscribed.store(true, Ordering::SeqCst);
        true
    }

    /// Watch the subscription generation: it changes after every confirmed (re)subscription.
    pub fn generations(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// How many times the watchdog replaced the client.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::SeqCst)
    }

    pub(crate) fn down(&self) {
        self.connected.store(false, Ordering::SeqCst);
        if self.subscribed.swap(false, Ordering::SeqCst) {
            self.lost_at.store(now_ms(), Ordering::SeqCst);
        }
        self.subscribed_since.store(0, Ordering::SeqCst);
    }

    /// Why the client needs replacing, if it does: the event loop has not returned for
    /// `stall`, it has been connected that long without a confirmed subscription, or publishes
    /// have been queued but none has left for that long.
    pub(crate) fn stalled(&self, now: i64, stall: i64) -> Option<&'static str> {
        if now - self.last_poll.load(Ordering::SeqCst) > stall {
            return Some("event loop returned nothing");
        }
        if !self.connected() {
            return None;
        }
        let connected_for = now - self.connected_at.load(Ordering::SeqCst);
        if !self.subscribed() && connected_for > stall {
            return Some("connected but never subscribed");
        }
        let queued = self.last_queued.load(Ordering::SeqCst);
        let out = self
            .last_outgoing
            .load(Ordering::SeqCst)
            .max(self.connected_at.load(Ordering::SeqCst));
        if queued > out && now - out > stall {
            return Some("publishes queued but none sent");
        }
        None
    }
}
