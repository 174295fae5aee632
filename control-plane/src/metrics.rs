//! Counters for `/metrics` (Prometheus text format).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Process-wide counters; gauges come from the store when scraped.
#[derive(Default)]
pub struct Metrics {
    /// Messages applied from agents.
    pub ingest_applied: AtomicU64,
    /// Duplicate messages (acked again, not applied).
    pub ingest_duplicates: AtomicU64,
    /// Batches committed.
    pub ingest_batches: AtomicU64,
    /// Commands published (including resends).
    pub commands_sent: AtomicU64,
    /// Acks published.
    pub acks_sent: AtomicU64,
    /// Messages dropped before ingest because its queue was over budget (agents resend them).
    pub ingest_dropped: AtomicU64,
    /// Publishes refused because the broker link was down or its queue full.
    pub publish_refused: AtomicU64,
    /// Times the watchdog replaced the MQTT client.
    pub mqtt_restarts: AtomicU64,
    /// Batches the store could not apply (the agent is asked to resend).
    pub ingest_failed_batches: AtomicU64,
    /// Messages sealed by a clock far off the server's, dated by their arrival instead.
    pub ingest_redated: AtomicU64,
    /// Chain checkpoints an agent returned that the database does not match (rows missing or
    /// a forked history): someone cut the ledger or audit log short or restored an old backup.
    pub witness_disagreements: AtomicU64,
    /// Messages the MQTT client received from the broker (before ingest).
    pub mqtt_received: AtomicU64,
    /// Broker-level acknowledgements (PUBACK) sent after ingest was done with a message (with
    /// a persistent session; otherwise the client acknowledges on receipt and this stays 0).
    pub mqtt_acked: AtomicU64,
    /// Microseconds the ingest spent verifying batches (one of its three stages).
    pub ingest_verify_us: AtomicU64,
    /// Microseconds the ingest spent storing and acknowledging batches.
    pub ingest_store_us: AtomicU64,
    /// Microseconds the ingest spent running alert checks.
    pub ingest_checks_us: AtomicU64,
    rejects: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Add one to a counter.
    pub fn inc(&self, c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Add `n` to a counter.
    pub fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Add the time since `started` to a microsecond counter.
    pub fn add_elapsed(&self, c: &AtomicU64, started: std::time::Instant) {
        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        c.fetch_add(us, Ordering::Relaxed);
    }

    /// Count one rejected message.
    pub fn reject(&self, reason: &'static str) {
        if let Ok(mut m) = self.rejects.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// Rejects so far by reason.
    pub fn rejects(&self) -> BTreeMap<&'static str, u64> {
        self.rejects.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Render counters plus the given gauges.
    pub fn render(&self, commands_open: u64, agents_online: u64, routers: u64) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(
            "mtm_ingest_applied_total",
            "Agent messages applied.",
            g(&self.ingest_applied),
        );
        counter(
            "mtm_ingest_duplicates_total",
            "Duplicate agent messages acked again.",
            g(&self.ingest_duplicates),
        );
        counter(
            "mtm_ingest_batches_total",
            "Ingest batches committed.",
            g(&self.ingest_batches),
        );
        counter(
            "mtm_commands_sent_total",
            "Commands published to agents.",
            g(&self.commands_sent),
        );
        counter(
            "mtm_acks_sent_total",
            "Acks published to agents.",
            g(&self.acks_sent),
        );
        counter(
            "mtm_ingest_dropped_total",
            "Agent messages dropped before ingest (queue over budget).",
            g(&self.ingest_dropped),
        );
        counter(
            "mtm_publish_refused_total",
            "Publishes refused (broker link down or queue full).",
            g(&self.publish_refused),
        );
        counter(
            "mtm_mqtt_restarts_total",
            "MQTT clients replaced by the watchdog.",
            g(&self.mqtt_restarts),
        );
        counter(
            "mtm_ingest_failed_batches_total",
            "Agent batches the store could not apply.",
            g(&self.ingest_failed_batches),
        );
        counter(
            "mtm_ingest_redated_total",
            "Agent messages sealed by a clock far off, dated by their arrival.",
            g(&self.ingest_redated),
        );
        counter(
            "mtm_witness_disagreements_total",
            "Agent-witnessed chain checkpoints the database does not match.",
            g(&self.witness_disagreements),
        );
        counter(
            "mtm_mqtt_received_total",
            "Messages the MQTT client received from the broker.",
            g(&self.mqtt_received),
        );
        counter(
            "mtm_mqtt_acked_total",
            "PUBACKs sent once ingest was done with the message (persistent session).",
            g(&self.mqtt_acked),
        );
        // Busy time per stage: the stage whose figure grows by nearly a second a second is the
        // one holding ingest back.
        out.push_str("# HELP mtm_ingest_stage_seconds_total Time the ingest spent in each of its stages.\n# TYPE mtm_ingest_stage_seconds_total counter\n");
        for (stage, c) in [
            ("verify", &self.ingest_verify_us),
            ("store", &self.ingest_store_us),
            ("checks", &self.ingest_checks_us),
        ] {
            out.push_str(&format!(
                "mtm_ingest_stage_seconds_total{{stage=\"{stage}\"}} {:.3}\n",
                g(c) as f64 / 1e6
            ));
        }
        out.push_str("# HELP mtm_ingest_rejects_total Agent messages rejected, by reason.\n# TYPE mtm_ingest_rejects_total counter\n");
        for (reason, n) in self.rejects() {
            out.push_str(&format!(
                "mtm_ingest_rejects_total{{reason=\"{reason}\"}} {n}\n"
            ));
        }
        for (name, help, v) in [
            (
                "mtm_commands_pending",
                "Commands not yet closed by their agent.",
                commands_open,
            ),
            (
                "mtm_agents_online",
                "Agents whose status is online.",
                agents_online,
            ),
            ("mtm_routers", "Routers enrolled.", routers),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
        out
    }
}
