//! The queue from the MQTT event loop to ingest: never makes the event loop wait (drops, and
//! counts, once a byte budget is waiting), and hands messages out fairly between agents.
//!
//! Each agent has its own first-in, first-out queue, and ingest takes one message from each
//! agent with something waiting in turn. One agent flooding thousands of messages (a router
//! back after a long cut, a broken agent) then delays another agent's message by at most one
//! message per waiting agent, not by the whole flood; each agent's own messages keep their
//! order.
//!
//! The queue also notes when each agent was last heard ([`Heard`]): a message waiting here, or
//! one ingest is still storing, is proof of life that the database does not show yet.

use crate::metrics::Metrics;
use crate::mqtt::Incoming;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Per-agent queues and the turn order of the agents with something waiting.
#[derive(Default)]
struct Queues {
    by_agent: HashMap<String, VecDeque<Incoming>>,
    /// Agents with a non-empty queue, the next to be served first; each appears once.
    turn: VecDeque<String>,
}

impl Queues {
    fn push(&mut self, agent: &str, msg: Incoming) {
        match self.by_agent.get_mut(agent) {
            Some(q) => q.push_back(msg),
            None => {
                self.by_agent
                    .insert(agent.to_owned(), VecDeque::from([msg]));
                self.turn.push_back(agent.to_owned());
            }
        }
    }

    /// The oldest message of the agent whose turn it is; that agent goes to the back of the
    /// line if it has more.
    fn pop(&mut self) -> Option<Incoming> {
        let agent = self.turn.pop_front()?;
        let queue = self.by_agent.get_mut(&agent)?;
        let msg = queue.pop_front();
        if queue.is_empty() {
            self.by_agent.remove(&agent);
        } else {
            self.turn.push_back(agent);
        }
        msg
    }
}

/// Agents remembered by [`Heard`] at most; beyond that a new agent is not noted (its silence is
/// then judged by what the database holds, as before), so a flood of made-up topics cannot grow
/// memory without bound.
const MAX_HEARD: usize = 100_000;

/// When each agent's messages last reached this server (its clock, ms), before ingest stored
/// them. Only the topic is read: the broker lets each agent publish on its own topic alone
/// (the ACL in `broker/`), so a message on `up/<agent>` was sent with that agent's credentials.
#[derive(Default)]
pub struct Heard {
    at: Mutex<HashMap<String, i64>>,
}

impl Heard {
    /// Note that `agent` was heard at `at`.
    pub fn note(&self, agent: &str, at: i64) {
        let Ok(mut map) = self.at.lock() else {
            return;
        };
        if let Some(t) = map.get_mut(agent) {
            *t = (*t).max(at);
        } else if map.len() < MAX_HEARD {
            map.insert(agent.to_owned(), at);
        }
    }

    /// When `agent` was last heard, if it has been since this server started.
    pub fn last(&self, agent: &str) -> Option<i64> {
        self.at.lock().ok()?.get(agent).copied()
    }
}

struct Shared {
    queues: Mutex<Queues>,
    heard: Arc<Heard>,
    /// Payload bytes waiting.
    queued: AtomicUsize,
    budget: usize,
    /// Live senders; the receiver ends once there are none and nothing waits.
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
    wake: Notify,
    metrics: Arc<Metrics>,
}

/// The sending half, held by the event loop: never waits.
pub struct IngestSender {
    shared: Arc<Shared>,
}

/// The receiving half, read by ingest.
pub struct IngestReceiver {
    shared: Arc<Shared>,
}

/// A queue to ingest holding at most `budget` payload bytes.
pub fn ingest_queue(budget: usize, metrics: Arc<Metrics>) -> (IngestSender, IngestReceiver) {
    let shared = Arc::new(Shared {
        queues: Mutex::new(Queues::default()),
        heard: Arc::new(Heard::default()),
        queued: AtomicUsize::new(0),
        budget,
        senders: AtomicUsize::new(1),
        receiver_alive: AtomicBool::new(true),
        wake: Notify::new(),
        metrics,
    });
    (
        IngestSender {
            shared: shared.clone(),
        },
        IngestReceiver { shared },
    )
}

impl Clone for IngestSender {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::SeqCst);
        IngestSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for IngestSender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for IngestReceiver {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::SeqCst);
    }
}

impl IngestSender {
    /// When each agent was last heard, shared with the router-silence check.
    pub fn heard(&self) -> Arc<Heard> {
        self.shared.heard.clone()
    }

    /// Hand `msg` to ingest without waiting; false if it was dropped (queue over budget) or
    /// ingest has stopped.
    pub fn offer(&self, msg: Incoming) -> bool {
        let s = &self.shared;
        if !s.receiver_alive.load(Ordering::SeqCst) {
            return false;
        }
        // Heard even if the message is dropped below: the agent is alive and sends it again.
        // Only its own up-messages: a status `offline` is the broker's will, said for an
        // agent that is gone.
        if let Some(agent) = mtm_common::topics::agent_of(&msg.topic)
            .filter(|a| msg.topic == mtm_common::topics::up(a))
        {
            s.heard.note(agent, crate::store::now_ms());
        }
        let len = msg.payload.len().max(1);
        let before = s.queued.fetch_add(len, Ordering::SeqCst);
        if before.saturating_add(len) > s.budget {
            s.queued.fetch_sub(len, Ordering::SeqCst);
            s.metrics.inc(&s.metrics.ingest_dropped);
            return false;
        }
        // Messages on a topic naming no agent share one queue; ingest refuses them.
        let agent = mtm_common::topics::agent_of(&msg.topic)
            .unwrap_or("")
            .to_owned();
        match s.queues.lock() {
            Ok(mut q) => q.push(&agent, msg),
            Err(_) => {
                s.queued.fetch_sub(len, Ordering::SeqCst);
                return false;
            }
        }
        s.wake.notify_one();
        true
    }
}

impl IngestReceiver {
    /// The next message if one is waiting: the oldest of the agent whose turn it is.
    pub fn try_recv(&mut self) -> Option<Incoming> {
        let m = self.shared.queues.lock().ok()?.pop()?;
        self.shared
            .queued
            .fetch_sub(m.payload.len().max(1), Ordering::SeqCst);
        Some(m)
    }

    /// The next message, waiting for one; None once every sender is gone and nothing waits.
    pub async fn recv(&mut self) -> Option<Incoming> {
        loop {
            if let Some(m) = self.try_recv() {
                return Some(m);
            }
            if self.shared.senders.load(Ordering::SeqCst) == 0 {
                return None;
            }
            // `notify_one` leaves a permit when no one waits, so an offer between the check
            // above and this await is not missed.
            self.shared.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(agent: &str, n: u8) -> Incoming {
        Incoming {
            topic: mtm_common::topics::up(agent),
            payload: vec![n],
            ack: None,
        }
    }

    #[tokio::test]
    async fn agents_take_turns_and_each_keeps_its_order() {
        let (tx, mut rx) = ingest_queue(1 << 20, Arc::new(Metrics::default()));
        for n in 0..100 {
            assert!(tx.offer(up("flood", n)));
        }
        assert!(tx.offer(up("quiet", 0)));
        assert!(tx.offer(up("quiet", 1)));
        let mut seen = Vec::new();
        while let Some(m) = rx.try_recv() {
            seen.push((m.topic.clone(), m.payload[0]));
        }
        // The quiet agent's messages come second and fourth, not after the flood's hundred.
        assert_eq!(seen[1], (mtm_common::topics::up("quiet"), 0));
        assert_eq!(seen[3], (mtm_common::topics::up("quiet"), 1));
        let flood: Vec<u8> = seen
            .iter()
            .filter(|(t, _)| t == &mtm_common::topics::up("flood"))
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(
            flood,
            (0..100).collect::<Vec<u8>>(),
            "one agent's order kept"
        );
    }

    #[tokio::test]
    async fn the_receiver_ends_once_every_sender_is_gone() {
        let (tx, mut rx) = ingest_queue(1 << 20, Arc::new(Metrics::default()));
        let tx2 = tx.clone();
        assert!(tx2.offer(up("a", 1)));
        drop(tx);
        drop(tx2);
        assert!(
            rx.recv().await.is_some(),
            "what was queued is still handed out"
        );
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_an_offer() {
        let (tx, mut rx) = ingest_queue(1 << 20, Arc::new(Metrics::default()));
        let waiter = tokio::spawn(async move { rx.recv().await.map(|m| m.payload) });
        tokio::task::yield_now().await;
        assert!(tx.offer(up("a", 7)));
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, Some(vec![7]));
    }

    #[test]
    fn an_agent_is_heard_when_its_message_arrives_not_when_it_is_stored() {
        let (tx, _rx) = ingest_queue(1 << 20, Arc::new(Metrics::default()));
        let heard = tx.heard();
        assert_eq!(heard.last("a"), None);
        let before = crate::store::now_ms();
        assert!(tx.offer(up("a", 1)));
        assert!(heard.last("a").is_some_and(|t| t >= before));
        assert_eq!(heard.last("b"), None, "only the agent whose topic it was");
        heard.note("a", 5);
        assert!(
            heard.last("a").is_some_and(|t| t >= before),
            "never goes back"
        );
    }

    #[test]
    fn offers_fail_once_ingest_stopped() {
        let (tx, rx) = ingest_queue(1 << 20, Arc::new(Metrics::default()));
        drop(rx);
        assert!(!tx.offer(up("a", 1)));
    }
}
