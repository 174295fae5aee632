//! Many agents in one process, and what a runner needs of them as a whole.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agent::{spawn, AgentHandle, AgentSettings, Fault, Identity};
use crate::stats::Stats;

/// A running fleet.
pub struct Fleet {
    /// Every agent.
    pub agents: Vec<AgentHandle>,
    /// Shared counters.
    pub stats: Arc<Stats>,
}

impl Fleet {
    /// Start one agent per identity.
    pub fn start(identities: Vec<Identity>, settings: &AgentSettings) -> Fleet {
        let stats = Arc::new(Stats::default());
        let agents = identities
            .into_iter()
            .map(|id| spawn(id, settings.clone(), stats.clone()))
            .collect();
        Fleet { agents, stats }
    }

    /// Agents connected now.
    pub fn connected(&self) -> usize {
        self.agents
            .iter()
            .filter(|a| a.view.connected.load(Ordering::Relaxed))
            .count()
    }

    /// Agents connected whose `Hello` of this connection was acknowledged.
    pub fn greeted(&self) -> usize {
        self.agents
            .iter()
            .filter(|a| {
                a.view.connected.load(Ordering::Relaxed)
                    && a.view.hello_acked.load(Ordering::Relaxed)
            })
            .count()
    }

    /// Messages waiting in all outboxes.
    pub fn outbox_total(&self) -> u64 {
        self.agents
            .iter()
            .map(|a| a.view.outbox_len.load(Ordering::Relaxed))
            .sum()
    }

    /// Wait until every agent is connected with its `Hello` acknowledged and every outbox is
    /// empty; how long that took, or `None` after `limit`.
    pub async fn settled(&self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if self.greeted() == self.agents.len() && self.outbox_total() == 0 {
                return Some(start.elapsed());
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until every agent is connected with its `Hello` acknowledged (outboxes may still
    /// hold reports); how long that took, or `None` after `limit`.
    pub async fn online(&self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if self.greeted() == self.agents.len() {
                return Some(start.elapsed());
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until every agent's router holds at least `vouchers` vouchers; how long that took,
    /// or `None` after `limit`.
    pub async fn holding(&self, vouchers: usize, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if self
                .agents
                .iter()
                .all(|a| a.view.router().vouchers().len() >= vouchers)
            {
                return Some(start.elapsed());
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Inject `fault` into every agent at once.
    pub fn inject_all(&self, fault: Fault) {
        for a in &self.agents {
            let _ = a.faults.send(fault);
        }
    }

    /// Stop every agent (each says `offline`) and wait for them.
    pub async fn stop(self) {
        self.inject_all(Fault::Stop);
        for a in self.agents {
            let _ = a.task.await;
        }
    }
}
