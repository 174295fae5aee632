//! Alert checks waiting to run: the evidence a batch stored, kept until its checks ran.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The checks one applied usage report or inventory still owes, written in the transaction
/// that applied it (so a crash after the commit cannot lose them) and deleted once they ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCheck {
    /// The router's agent.
    pub agent_id: String,
    /// The router.
    pub router_id: Uuid,
    /// The message's envelope seq.
    pub seq: u64,
    /// The message's envelope `at`: when the router was looked at.
    pub at: i64,
    /// What was seen.
    pub evidence: CheckEvidence,
}

/// What a pending check judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckEvidence {
    /// A usage report, with each token it names by id and the usage the store had summed
    /// for it (uptime seconds, bytes in + out) just before the report was applied, so the
    /// check judges the same figures whenever it runs.
    Usage {
        /// The report.
        report: mtm_common::UsageReport,
        /// Token id to (uptime seconds, bytes) before the report.
        before: BTreeMap<Uuid, (u64, u64)>,
    },
    /// An inventory.
    Inventory {
        /// The inventory.
        inventory: mtm_common::Inventory,
    },
}
