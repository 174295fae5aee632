//! The messages one broker session has published and the control plane has not acknowledged
//! yet, and when each is due to be published again.
//!
//! A QoS 1 publish only reaches the broker; the control plane may still fail to store it (its
//! database down, its client stuck) and never acknowledge it. Waiting for the next reconnect to
//! resend would strand such a message for as long as the link stays up, so the publisher asks
//! this tracker which messages are overdue and publishes them again, oldest first. The number
//! tracked is bounded: when it is full, newer messages wait in the outbox, where unsent
//! telemetry is coalesced instead of piling up.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::time::Duration;

use tokio::time::Instant;

/// The longest wait between two publications of one message, as a multiple of the first.
const MAX_BACKOFF_FACTOR: u32 = 8;

#[derive(Debug, Clone, Copy)]
struct Entry {
    due: Instant,
    tries: u32,
}

/// Published, unacknowledged messages by `seq`.
#[derive(Debug)]
pub struct InFlight {
    rows: BTreeMap<u64, Entry>,
    resend_after: Duration,
    max: usize,
}

impl InFlight {
    /// A tracker that republishes after `resend_after` (doubling per try, up to eight times
    /// that) and holds at most `max` messages.
    pub fn new(resend_after: Duration, max: usize) -> Self {
        InFlight {
            rows: BTreeMap::new(),
            resend_after,
            max: max.max(1),
        }
    }

    /// How many more messages may be published now.
    pub fn room(&self) -> usize {
        self.max.saturating_sub(self.rows.len())
    }

    /// How many are tracked.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `seq` was just handed to the broker client (first time or again).
    pub fn sent(&mut self, seq: u64, now: Instant) {
        let e = self.rows.entry(seq).or_insert(Entry { due: now, tries: 0 });
        e.tries = e.tries.saturating_add(1);
        let factor = 1u32
            .checked_shl(e.tries.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(MAX_BACKOFF_FACTOR);
        e.due = now + self.resend_after * factor;
    }

    /// Make every tracked message with `seq >= from` due now; returns how many.
    pub fn resend_from(&mut self, from: u64, now: Instant) -> usize {
        let mut n = 0;
        for e in self.rows.range_mut(from..).map(|(_, e)| e) {
            e.due = now;
            // The control plane asked: start the backoff over.
            e.tries = 0;
            n += 1;
        }
        n
    }

    /// The `seq`s between the lowest and the highest tracked, for asking the store which of
    /// them are still unacknowledged.
    pub fn span(&self) -> Option<RangeInclusive<u64>> {
        let first = *self.rows.keys().next()?;
        let last = *self.rows.keys().next_back()?;
        Some(first..=last)
    }

    /// Keep only the `seq`s still in the outbox (the rest were acknowledged or superseded).
    pub fn retain_present(&mut self, present: &BTreeSet<u64>) {
        self.rows.retain(|seq, _| present.contains(seq));
    }

    /// Stop tracking `seq`.
    pub fn forget(&mut self, seq: u64) {
        self.rows.remove(&seq);
    }

    /// The tracked `seq`s due at `now`, oldest first.
    pub fn due(&self, now: Instant) -> Vec<u64> {
        self.rows
            .iter()
            .filter(|(_, e)| e.due <= now)
            .map(|(seq, _)| *seq)
            .collect()
    }

    /// When the next message falls due, if any is tracked.
    pub fn next_due(&self) -> Option<Instant> {
        self.rows.values().map(|e| e.due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_messages_come_back_oldest_first_with_growing_waits() {
        let t0 = Instant::now();
        let s = Duration::from_secs(10);
        let mut f = InFlight::new(s, 3);
        f.sent(5, t0);
        f.sent(7, t0 + Duration::from_secs(1));
        assert_eq!(f.room(), 1);
        assert!(f.due(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(f.due(t0 + s), vec![5]);
        assert_eq!(f.due(t0 + s * 2), vec![5, 7]);
        assert_eq!(f.next_due(), Some(t0 + s));
        // Each further try waits twice as long, up to eight times the first wait.
        let mut now = t0 + s;
        let mut waits = Vec::new();
        for _ in 0..5 {
            f.sent(5, now);
            let due = f.rows[&5].due;
            waits.push((due - now).as_secs());
            now = due;
        }
        assert_eq!(waits, vec![20, 40, 80, 80, 80]);
    }

    #[test]
    fn a_resend_request_makes_later_messages_due_and_acks_prune() {
        let t0 = Instant::now();
        let mut f = InFlight::new(Duration::from_secs(10), 10);
        for seq in [3, 4, 6, 9] {
            f.sent(seq, t0);
        }
        assert_eq!(f.span(), Some(3..=9));
        assert_eq!(f.resend_from(5, t0), 2);
        assert_eq!(f.due(t0), vec![6, 9]);
        f.retain_present(&[4, 9].into_iter().collect());
        assert_eq!(f.len(), 2);
        assert_eq!(f.due(t0), vec![9]);
        f.forget(9);
        f.forget(4);
        assert!(f.is_empty());
        assert_eq!(f.span(), None);
        assert_eq!(f.next_due(), None);
    }
}
