//! What the fleet sent, what was acknowledged, and how long things took: shared by every
//! simulated agent, read by the runner and the benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

/// Counters for the whole fleet. All relaxed atomics: they are read after the fact.
#[derive(Debug, Default)]
pub struct Stats {
    /// Up-messages sealed and put in an outbox.
    pub enqueued: AtomicU64,
    /// Publishes of up-messages, resends included.
    pub published: AtomicU64,
    /// Up-messages removed from an outbox by an acknowledgement.
    pub acked: AtomicU64,
    /// Usage entries sealed.
    pub usage_entries: AtomicU64,
    /// Usage entries acknowledged.
    pub usage_entries_acked: AtomicU64,
    /// Commands received (first time).
    pub commands: AtomicU64,
    /// Commands received again (already in the inbox).
    pub commands_repeated: AtomicU64,
    /// Down-messages refused (signature, recipient, time window, undecodable).
    pub down_refused: AtomicU64,
    /// `Resend` requests answered.
    pub resend_requests: AtomicU64,
    /// Broker connections made (CONNACK accepted).
    pub connects: AtomicU64,
    /// Sessions that ended (link errors and injected faults).
    pub disconnects: AtomicU64,
    /// Why sessions ended or could not start: the client's error, by text, and how often.
    disconnect_reasons: Mutex<BTreeMap<String, u64>>,
    /// Acks from each publish's first send to its acknowledgement, milliseconds.
    ack_ms: Mutex<Vec<u32>>,
    /// When each voucher reached its simulated router.
    applied: Mutex<HashMap<Uuid, Instant>>,
}

impl Stats {
    /// Add one to `c`.
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Add `n` to `c`.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// A session ended, or could not start, because of `reason` (the MQTT client's error, with
    /// "connecting: " before it for the second). Only the error's kind is
    /// kept: a number in it (a packet id, a size) would make every one a reason of its own.
    pub fn disconnected_by(&self, reason: &str) {
        let kind: String = reason
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(120)
            .collect();
        if let Ok(mut m) = self.disconnect_reasons.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    /// Record one acknowledgement latency.
    pub fn ack_latency(&self, d: Duration) {
        let ms = u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        if let Ok(mut v) = self.ack_ms.lock() {
            v.push(ms);
        }
    }

    /// A voucher was made on its router now.
    pub fn voucher_applied(&self, token_id: Uuid) {
        if let Ok(mut m) = self.applied.lock() {
            m.entry(token_id).or_insert_with(Instant::now);
        }
    }

    /// When `token_id` reached its router, if it has.
    pub fn applied_at(&self, token_id: Uuid) -> Option<Instant> {
        self.applied.lock().ok()?.get(&token_id).copied()
    }

    /// A snapshot for printing.
    pub fn summary(&self) -> Summary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let acks = self.ack_ms.lock().map(|v| v.clone()).unwrap_or_default();
        Summary {
            enqueued: get(&self.enqueued),
            published: get(&self.published),
            acked: get(&self.acked),
            usage_entries: get(&self.usage_entries),
            usage_entries_acked: get(&self.usage_entries_acked),
            commands: get(&self.commands),
            commands_repeated: get(&self.commands_repeated),
            down_refused: get(&self.down_refused),
            resend_requests: get(&self.resend_requests),
            connects: get(&self.connects),
            disconnects: get(&self.disconnects),
            disconnect_reasons: self
                .disconnect_reasons
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            ack_ms: Percentiles::of(acks),
        }
    }
}

/// Fleet counters at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Up-messages sealed.
    pub enqueued: u64,
    /// Publishes, resends included.
    pub published: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Usage entries sealed.
    pub usage_entries: u64,
    /// Usage entries acknowledged.
    pub usage_entries_acked: u64,
    /// Commands received.
    pub commands: u64,
    /// Commands received again.
    pub commands_repeated: u64,
    /// Down-messages refused.
    pub down_refused: u64,
    /// Resend requests answered.
    pub resend_requests: u64,
    /// Connections made.
    pub connects: u64,
    /// Sessions ended.
    pub disconnects: u64,
    /// Why sessions ended or could not start (those with "connecting: " before the error), and
    /// how often.
    pub disconnect_reasons: BTreeMap<String, u64>,
    /// Publish-to-acknowledgement latency.
    pub ack_ms: Percentiles,
}

/// p50/p99/max of a sample, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Sample size.
    pub n: usize,
    /// Median.
    pub p50: u32,
    /// 95th percentile.
    pub p95: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
}

impl Percentiles {
    /// Percentiles of `v` (nearest rank).
    pub fn of(mut v: Vec<u32>) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        // A rank from a fraction of a sample count (< 2^53): the float holds it exactly and the
        // result is clamped into the sample, so nothing is cut off.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let at = |p: f64| v[(((v.len() as f64) * p).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            n: v.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: v[v.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = Percentiles::of((1..=100).collect());
        assert_eq!((p.n, p.p50, p.p95, p.p99, p.max), (100, 50, 95, 99, 100));
        assert_eq!(Percentiles::of(vec![]).n, 0);
        assert_eq!(Percentiles::of(vec![7]).p99, 7);
    }
}
